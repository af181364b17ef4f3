"""The checkout component's arq jobs. Each may run twice, or in two workers at once, and
still have one effect: every change is a conditional UPDATE on the state it moves from."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from ..platform.idempotency import forget_old_keys
from ..platform.outbox import enqueue_job, pending_jobs, run_outbox_job
from . import cart_queries, orders, queries, settlement
from .sales import CancelReason

OUTBOX_HANDLERS = {"refund_order": settlement.refund_order}


async def expire_orders(ctx: dict[str, Any]) -> int:
    """Cancel unpaid orders whose reservation expired, releasing their stock; how many."""
    db = ctx["db"]
    expired = 0
    for order_id in await queries.expired_orders(db):
        if await orders.expire(db, order_id):
            ctx["sales"].cancelled(CancelReason.EXPIRED)
            expired += 1
    return expired


async def reconcile_payments(ctx: dict[str, Any]) -> int:
    """Ask the providers about orders whose webhook is late: a lost webhook still pays its
    order, and money for an order cancelled meanwhile goes back."""
    return await settlement.reconcile(
        ctx["db"], ctx["redis"], ctx["sales"], ctx["payments"], ctx["settings"].reconcile_after
    )


async def run_job(ctx: dict[str, Any], job_id: str) -> bool:
    """Run one outbox job, once, whatever the number of deliveries."""
    return await run_outbox_job(ctx["db"], OUTBOX_HANDLERS, ctx, UUID(job_id))


async def relay_jobs(ctx: dict[str, Any]) -> int:
    """Enqueue again outbox jobs still pending a minute after they were written."""
    pending = await pending_jobs(ctx["db"])
    minute = int(time.time() // 60)
    for job_id in pending:
        await enqueue_job(ctx["redis"], job_id, attempt=f"relay-{minute}")
    return len(pending)


async def clean_up(ctx: dict[str, Any]) -> tuple[int, int]:
    """Delete expired carts and Idempotency-Keys past their replay window."""
    db = ctx["db"]
    return await cart_queries.delete_expired_carts(db), await forget_old_keys(db)
