"""A customer's order history and their dashboard: what checkout keeps of their orders and
auth of their account, through those components' interfaces.

A dashboard is three statements and an order page one, however long the history: nothing
here counts or sums over orders (checkout keeps a summary row per customer for that).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import TypeAdapter

from ..auth import interface as auth
from ..checkout import interface as checkout
from ..platform.db import Executor
from . import queries
from .models import BookEntry, DashboardRecord
from .service import profile_of

RECENT_ORDERS = 5
BOOK_ENTRY = TypeAdapter(BookEntry)  # the default address, as the query gives it (JSON)


async def order_history(
    ex: Executor, user_id: UUID, cursor: str | None, limit: int
) -> checkout.CustomerOrderPage:
    """A page of the customer's orders, newest first."""
    return await checkout.customer_orders(ex, user_id, cursor, limit)


async def dashboard(ex: Executor, user_id: UUID, currency: str) -> DashboardRecord:
    """The customer's profile, latest orders, open orders and spend (from their summary row),
    default wishlist's size and default shipping address: three statements."""
    mine = await queries.fetch_at_a_glance(ex, user_id)
    user = profile_of(await auth.account(ex, user_id), mine)
    orders = await checkout.customer_overview(ex, user_id, currency, RECENT_ORDERS)
    address = mine["default_address"]
    return DashboardRecord(
        user=user,
        recent_orders=orders.recent_orders,
        orders_count=orders.orders_count,
        open_orders_count=orders.open_orders_count,
        lifetime_spend=orders.lifetime_spend,
        wishlist_count=mine["wishlist_count"],
        default_address=BOOK_ENTRY.validate_python(address) if address else None,
    )
