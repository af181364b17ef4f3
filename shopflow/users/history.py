"""A customer's order history and their dashboard: what checkout keeps of their orders and
auth of their account, through those components' interfaces.

A dashboard is two statements and an order page one, however long the history: nothing
here counts or sums over orders (checkout keeps a summary row per customer for that).
"""

from __future__ import annotations

from uuid import UUID

from ..auth import interface as auth
from ..checkout import interface as checkout
from ..platform.db import Executor
from .errors import AccountGone
from .models import DashboardRecord

RECENT_ORDERS = 5


async def order_history(
    ex: Executor, user_id: UUID, cursor: str | None, limit: int
) -> checkout.CustomerOrderPage:
    """A page of the customer's orders, newest first."""
    return await checkout.customer_orders(ex, user_id, cursor, limit)


async def dashboard(ex: Executor, user_id: UUID, currency: str) -> DashboardRecord:
    """The customer's account, latest orders, open orders and spend, from their summary row."""
    account = await auth.fetch_account(ex, user_id)
    if account is None:
        raise AccountGone("this account no longer exists")
    orders = await checkout.customer_overview(ex, user_id, currency, RECENT_ORDERS)
    return DashboardRecord(
        user=account,
        recent_orders=orders.recent_orders,
        orders_count=orders.orders_count,
        open_orders_count=orders.open_orders_count,
        lifetime_spend=orders.lifetime_spend,
        wishlist_count=0,  # wishlists are another part of this component: see its merge notes
        default_address=None,  # likewise the address book
    )
