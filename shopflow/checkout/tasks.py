"""The checkout component's arq jobs. Each may run twice, or in two workers at once, and
still have one effect: every change is a conditional UPDATE on the state it moves from."""

from __future__ import annotations

from typing import Any

from ..platform.idempotency import forget_old_keys
from . import orders, queries


async def expire_orders(ctx: dict[str, Any]) -> int:
    """Cancel unpaid orders whose reservation expired, releasing their stock; how many."""
    db = ctx["db"]
    expired = 0
    for order_id in await queries.expired_orders(db):
        expired += await orders.expire(db, order_id)
    return expired


async def clean_up(ctx: dict[str, Any]) -> tuple[int, int]:
    """Delete expired carts and Idempotency-Keys past their replay window."""
    db = ctx["db"]
    return await queries.delete_expired_carts(db), await forget_old_keys(db)
