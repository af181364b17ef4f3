"""The checkout component's arq jobs. Each may run twice, or in two workers at once, and
still have one effect: every change is a conditional UPDATE on the state it moves from."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..jobs import JobContext, job_context
from ..platform.idempotency import forget_old_keys
from . import cart_queries, orders, settlement

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


async def refund_order(conn: Any, context: JobContext, order_id: str) -> Callable[[], None] | None:
    """Outbox job: give back a payment that arrived for an order that cannot be filled."""
    return await settlement.refund_order(conn, context.checkout, order_id)


async def clean_up(ctx: dict[str, Any]) -> tuple[int, int]:
    """Delete expired carts and Idempotency-Keys past their replay window."""
    db = job_context(ctx).db
    return await cart_queries.delete_expired_carts(db), await forget_old_keys(db)
