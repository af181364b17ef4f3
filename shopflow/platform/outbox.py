"""Jobs through a transactional outbox.

A service writes the job with `queue_job` in the transaction whose change calls for it, and
after the commit asks arq to run it (`enqueue_job`). The worker's `run_outbox_job` locks the
row, runs the handler in the same transaction and marks the row done, so the job's database
effect happens once however often it is delivered (what the handler leaves for after the
commit, such as counting its effect, runs once it has committed); a relay re-enqueues rows
still pending a minute later, so a Redis outage or a crashed worker delays a job but never
loses it.

A long job (image processing) must not hold a transaction open while it works, so its
handler is `Leased`: the row is claimed for `lease` seconds in a short transaction, the
handler runs with no transaction open, and the row is marked done after. The handler is
idempotent by itself; the lease only keeps a second delivery from doing the work twice
at the same time. A worker that dies mid-job leaves the lease to run out, and the relay
then hands the job to another.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from arq.connections import ArqRedis

from .db import Database, Executor

log = logging.getLogger("shopflow.outbox")
# (connection, the context its caller gives, *args) → what to do once the job has committed, if
# anything (awaited if it gives an awaitable: handing mail the job wrote to the workers)
Handler = Callable[..., Awaitable[Callable[[], Awaitable[None] | None] | None]]


@dataclass(frozen=True)
class Leased:
    """A handler that runs with no transaction open: (the context its caller gives, *args)."""

    run: Callable[..., Awaitable[object]]


async def queue_job(ex: Executor, function: str, *args: Any) -> UUID:
    """Write a job to the outbox, in the caller's transaction; its id."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO job_outbox (function, args) VALUES ($1, $2) RETURNING id", function, list(args)
    )


async def enqueue_job(queue: ArqRedis, job_id: UUID, attempt: str = "first") -> None:
    """Ask a worker to run an outbox job now; failing here is fine, the relay will."""
    try:
        await queue.enqueue_job("run_job", str(job_id), _job_id=f"outbox:{job_id}:{attempt}")
    except Exception:
        log.warning("job %s left for the relay", job_id, exc_info=True)


_DONE = "UPDATE job_outbox SET done_at = now() WHERE id = $1"


async def run_outbox_job(
    db: Database, handlers: Mapping[str, Handler | Leased], context: Any, job_id: UUID, lease: float
) -> bool:
    """Run one outbox job unless it ran already or another worker holds it; whether this
    call ran it. A `Leased` handler's row is held for `lease` seconds while it works."""
    async with db.transaction() as conn:
        row = await conn.fetchrow(
            "SELECT function, args FROM job_outbox WHERE id = $1 AND done_at IS NULL"
            " AND (leased_until IS NULL OR leased_until < now()) FOR UPDATE SKIP LOCKED",
            job_id,
        )
        if row is None:
            return False  # done already, or running in another worker now
        handler = handlers[row["function"]]
        if isinstance(handler, Leased):
            await conn.execute(
                "UPDATE job_outbox SET leased_until = now() + make_interval(secs => $2) WHERE id = $1",
                job_id,
                lease,
            )
        else:
            after = await handler(conn, context, *row["args"])
            await conn.execute(_DONE, job_id)
    if isinstance(handler, Leased):
        try:
            await handler.run(context, *row["args"])
        except Exception:
            # Given back at once for the relay, rather than when the lease would run out.
            await db.execute("UPDATE job_outbox SET leased_until = NULL WHERE id = $1", job_id)
            raise
        await db.execute(_DONE, job_id)
    elif after is not None and (pending := after()) is not None:
        await pending
    return True


async def pending_jobs(db: Database, limit: int = 500) -> list[UUID]:
    """Jobs still pending a minute after they were written, and not held by a worker: for the relay."""
    rows = await db.fetch(
        "SELECT id FROM job_outbox WHERE done_at IS NULL AND created_at < now() - interval '1 minute'"
        " AND (leased_until IS NULL OR leased_until < now()) ORDER BY created_at LIMIT $1",
        limit,
    )
    return [r["id"] for r in rows]


async def backlog(ex: Executor) -> tuple[int, float]:
    """Jobs not done yet, and the age in seconds of the oldest (0 when none)."""
    return await backlog_of(ex, "job_outbox", "done_at")


async def backlog_of(ex: Executor, table: str, done: str) -> tuple[int, float]:
    """Rows of an outbox `table` whose `done` time is not set, and the age in seconds of the
    oldest (0 when none)."""
    row = await ex.fetchrow(
        "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8"
        f" FROM {table} WHERE {done} IS NULL"
    )
    assert row is not None
    return row[0], row[1]
