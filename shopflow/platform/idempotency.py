"""Idempotency-Key on unsafe requests: the first response to a key is replayed.

The same key with the same body replays the first answer (status and body) for at least
24 hours; with another body it is 422; while the first request still runs, 409. A request
that fails (4xx, 5xx) leaves no record, so it can be retried with the same key: a failure
changed nothing, since every change happens in one transaction.

Crashes lose nothing and block nobody:

- A request holds its key by a lease: `Leases` renews those of every key its process is
  running, in one UPDATE every fifth of the lease. A process that dies, or cannot reach
  the database, stops renewing, and the next request with the key and the same body takes
  it over once the lease has run out (seconds, not minutes).
- What a request creates (an order) is named on its key by `Claim.made`, in the very
  transaction that creates it. A request that takes over a key naming something does not
  do the work again: it `resume`s from what was made (finds the order, starts its payment
  if that never happened) and answers as the first would have.
- Each hold has its own token, and every write on the key checks it: a request whose key
  was taken over (its process stalled past the lease) can neither create anything under
  the key nor overwrite the answer of the request that took it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID, uuid4

import asyncpg
from aiohttp import web

from .db import Database, Executor
from .errors import Conflict, Invalid
from .redisx import repeat

KEEP = "24 hours"
HEADER = "Idempotency-Key"
log = logging.getLogger("shopflow.idempotency")


class KeyReused(Invalid):
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used with another request"


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is still running"


@dataclass(frozen=True)
class Claim:
    """One request's hold on its key; what it writes there, it writes while the hold is its own."""

    scope: str  # the endpoint and the caller
    key: str
    token: UUID

    async def made(self, conn: Executor, resource: UUID) -> None:
        """Name what the request creates, in the transaction that creates it, so that a retry
        after a crash finds it; 409 (rolling the creation back) if a retry took the key over."""
        await self._write(conn, resource)

    async def undone(self, conn: Executor) -> None:
        """What the request made is undone in this transaction: a retry starts afresh."""
        await self._write(conn, None)

    async def _write(self, conn: Executor, resource: UUID | None) -> None:
        # clock_timestamp(): a transaction that waited long still leaves a fresh lease
        done = await conn.execute(
            "UPDATE idempotency_keys SET resource_id = $4, locked_at = clock_timestamp()"
            " WHERE scope = $1 AND key = $2 AND claim = $3",
            self.scope,
            self.key,
            self.token,
            resource,
        )
        if done == "UPDATE 0":
            raise KeyInUse("a retry with this Idempotency-Key took the request over; it answers instead")


class Leases:
    """The keys this process is running, their leases renewed together in the background."""

    def __init__(self, db: Database, lease: float) -> None:
        self.db = db
        self.lease = lease  # seconds a hold lasts unless renewed
        self.every = lease / 5
        self._held: set[Claim] = set()
        self._failing = False

    @contextmanager
    def hold(self, claim: Claim) -> Iterator[None]:
        self._held.add(claim)
        try:
            yield
        finally:
            self._held.discard(claim)

    async def run(self) -> None:
        """Renew the leases of the keys held, while any are; run as a background task."""
        await repeat(self.every, self._renew_held)

    async def _renew_held(self) -> None:
        if not self._held:
            return
        try:
            async with asyncio.timeout(self.lease):  # a lost connection must not stall renewals
                await self._renew(list(self._held))
        except Exception as e:  # the database is away: the leases run out, as they should
            if not self._failing:
                log.warning("cannot renew the leases of Idempotency-Keys: %r", e)
            self._failing = True
        else:
            if self._failing:
                log.info("the leases of Idempotency-Keys are renewed again")
            self._failing = False

    async def _renew(self, claims: list[Claim]) -> None:
        # a key row locked by its own request's transaction (being marked) is skipped, not
        # waited for: it is renewed by that very write
        await self.db.execute(
            "UPDATE idempotency_keys i SET locked_at = now() FROM ("
            "  SELECT k.scope, k.key FROM idempotency_keys k"
            "  JOIN unnest($1::text[], $2::text[], $3::uuid[]) AS c (scope, key, claim)"
            "    ON k.scope = c.scope AND k.key = c.key AND k.claim = c.claim"
            "  FOR UPDATE OF k SKIP LOCKED"
            ") AS held WHERE i.scope = held.scope AND i.key = held.key",
            [c.scope for c in claims],
            [c.key for c in claims],
            [c.token for c in claims],
        )


Run = Callable[[Claim | None], Awaitable[web.Response]]
Resume = Callable[[UUID, Claim], Awaitable[web.Response]]


async def idempotent(
    request: web.Request, leases: Leases, caller: str, run: Run, resume: Resume
) -> web.Response:
    """`run(claim)`'s response, or the one a previous request with the same key got; or,
    taking over from one that died having made something, `resume(what it made, claim)`'s."""
    key = request.headers.get(HEADER)
    if key is None:
        return await run(None)
    if not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
        raise Invalid(
            "the Idempotency-Key must be 1-255 printable ASCII characters",
            errors=[{"field": HEADER, "message": "1-255 printable ASCII characters"}],
        )
    claim = Claim(f"{request.method} {request.path} {caller}", key, uuid4())
    digest = hashlib.sha256(await request.read()).digest()
    claimed = await _claim(leases, claim, digest)
    if claimed is None:
        return await _replay(leases.db, claim, digest)
    made: UUID | None = claimed["resource_id"]
    with leases.hold(claim):
        try:
            response = await (resume(made, claim) if made is not None else run(claim))
        except BaseException:
            await _let_go(leases.db, claim)
            raise
        await _answer(leases.db, claim, response)
    return response


async def _claim(leases: Leases, claim: Claim, digest: bytes) -> asyncpg.Record | None:
    """The key's row (what it names as made) if this request is the key's first, or takes
    over one whose lease ran out; else None."""
    return await leases.db.fetchrow(
        "INSERT INTO idempotency_keys (scope, key, request_hash, claim, locked_at)"
        " VALUES ($1, $2, $3, $4, now())"
        " ON CONFLICT (scope, key) DO UPDATE SET claim = $4, locked_at = now(), created_at = now()"
        " WHERE idempotency_keys.status IS NULL AND idempotency_keys.request_hash = $3"
        " AND (idempotency_keys.locked_at IS NULL"
        "      OR idempotency_keys.locked_at < now() - make_interval(secs => $5))"
        " RETURNING resource_id",
        claim.scope,
        claim.key,
        digest,
        claim.token,
        leases.lease,
    )


async def _let_go(db: Database, claim: Claim) -> None:
    """After a failure: forget the key, unless it names something made (then the next request
    with it resumes from that, at once)."""
    try:
        await db.execute(
            "WITH gone AS (DELETE FROM idempotency_keys"
            "              WHERE scope = $1 AND key = $2 AND claim = $3 AND resource_id IS NULL)"
            " UPDATE idempotency_keys SET locked_at = NULL"
            " WHERE scope = $1 AND key = $2 AND claim = $3 AND resource_id IS NOT NULL",
            claim.scope,
            claim.key,
            claim.token,
        )
    except Exception:  # the database is away: the lease runs out instead
        log.warning("could not let go of an Idempotency-Key after a failure", exc_info=True)


async def _answer(db: Database, claim: Claim, response: web.Response) -> None:
    """Keep the answer for replays; if that fails, the buyer still gets it now, and a retry
    resumes from what the key names once the lease runs out."""
    try:
        await db.execute(
            "UPDATE idempotency_keys SET status = $4, body = $5, locked_at = NULL"
            " WHERE scope = $1 AND key = $2 AND claim = $3",
            claim.scope,
            claim.key,
            claim.token,
            response.status,
            response.body,
        )
    except Exception:
        log.warning("could not keep the answer to an Idempotency-Key", exc_info=True)


async def _replay(db: Database, claim: Claim, digest: bytes) -> web.Response:
    row = await db.fetchrow(
        "SELECT request_hash, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2",
        claim.scope,
        claim.key,
    )
    if row is None:
        raise KeyInUse("the first request with this key just failed; retry")
    if row["request_hash"] != digest:
        raise KeyReused("this Idempotency-Key was sent with another request body; use a new key")
    if row["status"] is None:
        raise KeyInUse("a request with this Idempotency-Key is still running; retry shortly")
    response = web.Response(status=row["status"], body=row["body"], content_type="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


async def forget_old_keys(db: Database) -> int:
    """Delete keys past their replay window; how many."""
    done = await db.execute(f"DELETE FROM idempotency_keys WHERE created_at < now() - interval '{KEEP}'")
    return int(done.split()[-1])


async def forget_keys(ex: Executor, caller: str, resources: Sequence[UUID], mentions: Collection[str]) -> int:
    """Delete, in the caller's transaction, the keys whose kept answers may name a person: those
    of their requests (the scope ends with `caller`), those naming what was made for them
    (`resources`: their orders, refunded by staff too), and any whose answer holds one of
    `mentions` (their email addresses) as written or in lower case. How many."""
    found = sorted({m.encode() for m in mentions} | {m.lower().encode() for m in mentions})
    done = await ex.execute(
        "DELETE FROM idempotency_keys WHERE right(scope, length($1) + 1) = ' ' || $1"
        " OR resource_id = ANY($2::uuid[])"
        " OR EXISTS (SELECT 1 FROM unnest($3::bytea[]) AS m WHERE position(m IN body) > 0)",
        caller,
        list(resources),
        found,
    )
    return int(done.split()[-1])
