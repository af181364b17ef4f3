"""The checkout component's arq jobs. Each may run twice, or in two workers at once, and
still have one effect: every change is a conditional UPDATE on the state it moves from."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from ..jobs import job_context
from ..platform.idempotency import forget_old_keys
from ..platform.outbox import enqueue_job, pending_jobs, run_outbox_job
from . import cart_queries, orders, settlement

OUTBOX_HANDLERS = {"refund_order": settlement.refund_order}
# Expired orders cancelled per transaction: short enough that a checkout waiting for the
# same stock rows barely notices, large enough that a backlog of thousands goes in seconds.
EXPIRY_BATCH = 250
# Seconds a run goes on starting batches; its cron's timeout leaves room for the last one,
# so a run is never cut inside a batch (a cut one would roll back whole anyway).
EXPIRY_RUN = 40.0


async def expire_orders(ctx: dict[str, Any]) -> int:
    """Cancel unpaid orders whose reservation expired, releasing their stock, until none is
    left or the run's time is up (the next run goes on); how many."""
    co = job_context(ctx).checkout
    until = time.monotonic() + EXPIRY_RUN
    expired = 0
    while batch := await orders.expire_batch(co, EXPIRY_BATCH):
        expired += batch
        if batch < EXPIRY_BATCH or time.monotonic() > until:
            break
    return expired


async def reconcile_payments(ctx: dict[str, Any]) -> int:
    """Ask the providers about orders whose webhook is late: a lost webhook still pays its
    order, and money for an order cancelled meanwhile goes back."""
    context = job_context(ctx)
    return await settlement.reconcile(context.checkout, context.settings.reconcile_after)


async def run_job(ctx: dict[str, Any], job_id: str) -> bool:
    """Run one outbox job, once, whatever the number of deliveries."""
    co = job_context(ctx).checkout
    return await run_outbox_job(co.db, OUTBOX_HANDLERS, co, UUID(job_id))


async def relay_jobs(ctx: dict[str, Any]) -> int:
    """Enqueue again outbox jobs still pending a minute after they were written."""
    context = job_context(ctx)
    pending = await pending_jobs(context.db)
    minute = int(time.time() // 60)
    for job_id in pending:
        await enqueue_job(context.queue, job_id, attempt=f"relay-{minute}")
    return len(pending)


async def clean_up(ctx: dict[str, Any]) -> tuple[int, int]:
    """Delete expired carts and Idempotency-Keys past their replay window."""
    db = job_context(ctx).db
    return await cart_queries.delete_expired_carts(db), await forget_old_keys(db)
