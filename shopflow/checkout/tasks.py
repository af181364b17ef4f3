"""The checkout component's arq jobs. Each may run twice, or in two workers at once, and
still have one effect: every change is a conditional UPDATE on the state it moves from."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from ..jobs import job_context
from ..platform.idempotency import forget_old_keys
from ..platform.outbox import enqueue_job, pending_jobs, run_outbox_job
from . import cart_queries, orders, queries, settlement

OUTBOX_HANDLERS = {"refund_order": settlement.refund_order}


async def expire_orders(ctx: dict[str, Any]) -> int:
    """Cancel unpaid orders whose reservation expired, releasing their stock; how many."""
    co = job_context(ctx).checkout
    expired = 0
    for order_id in await queries.expired_orders(co.db):
        expired += await orders.expire(co, order_id)
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
