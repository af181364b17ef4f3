"""A customer's own data in checkout: their orders read whole for an export (in keyset
batches, so a long history never sits in memory), their open cart, and their orders made
anonymous when they erase their account.

Erased orders stay for the books: amounts, tax, lines (SKUs, names, prices), status,
payment, shipments and refunds are kept; the buyer's email becomes `ERASED_EMAIL`, and of
each address only the country, the region and the postal area are kept (see
`privacy_queries._AREA`: the first three letters and digits of the postal code, the first two
of a code of four or fewer). What names the person in free text kept with the orders
(history and event notes, refund reasons) is replaced with `redact.ERASED`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from uuid import UUID

import asyncpg

from ..platform import redact
from ..platform.db import Executor
from . import privacy_queries
from .carts import Caller, show_cart
from .context import Checkout
from .order_views import order_record
from .records import CartRecord, Money, OrderRecord

# A reserved domain (RFC 2606): nothing is ever delivered there, and platform.mail sends nothing to it.
ERASED_EMAIL = "erased@erased.invalid"
EXPORT_BATCH = 250  # orders per query of an export
ERASE_BATCH = 1000  # orders per statement of an erasure


@dataclass(frozen=True, slots=True)
class RefundRecord:
    amount: Money
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ExportedOrderRecord(OrderRecord):
    """An order as its buyer's export shows it: the order, and the refunds made on it."""

    refunds: tuple[RefundRecord, ...]


def _exported_order(row: asyncpg.Record) -> ExportedOrderRecord:
    order = order_record(row)
    refunds = tuple(
        RefundRecord(Money(r["amount"], row["currency"]), r["reason"], datetime.fromisoformat(r["at"]))
        for r in row["refunds"]
    )
    return ExportedOrderRecord(**{f.name: getattr(order, f.name) for f in fields(order)}, refunds=refunds)


async def exported_orders(
    ex: Executor, user_id: UUID, batch: int = EXPORT_BATCH
) -> AsyncIterator[tuple[ExportedOrderRecord, ...]]:
    """The user's orders, whole, newest first, a batch at a time."""
    after: tuple[datetime, UUID] | None = None
    while True:
        rows = await privacy_queries.fetch_orders_for_export(ex, user_id, after, batch)
        if rows:
            yield tuple(_exported_order(r) for r in rows)
        if len(rows) < batch:
            return
        after = (rows[-1]["created_at"], rows[-1]["id"])


async def open_cart_of(co: Checkout, user_id: UUID) -> CartRecord | None:
    """The user's open cart, priced now, if they have one."""
    cart_id = await privacy_queries.fetch_open_cart_id(co.db, user_id)
    if cart_id is None:
        return None
    return await show_cart(co.db, cart_id, Caller(user_id), co.pricing.currency)


@dataclass(frozen=True)
class ErasedOrders:
    """What anonymising a user's orders took out of them, for the rest of an erasure to find."""

    order_ids: tuple[UUID, ...]
    emails: frozenset[str]  # the addresses the orders were placed with
    names: frozenset[str]  # on their shipping and billing addresses
    phones: frozenset[str]


def _chunks(ids: list[UUID], size: int) -> Iterable[list[UUID]]:
    return (ids[i : i + size] for i in range(0, len(ids), size))


async def anonymise_orders(conn: Executor, user_id: UUID, known: Iterable[str]) -> ErasedOrders:
    """Take the person out of the user's orders, in the caller's transaction (run it before the
    user row goes: orders.user_id is then set to NULL). `known`: what else names them (the
    account's email and name), to be replaced in the orders' notes too."""
    order_ids = await privacy_queries.fetch_order_ids(conn, user_id)
    emails: set[str] = set()
    names: set[str] = set()
    phones: set[str] = set()
    for chunk in _chunks(order_ids, ERASE_BATCH):
        for row in await privacy_queries.anonymise(conn, chunk, ERASED_EMAIL):
            emails.add(row["email"])
            names.update(n for n in (row["ship_name"], row["bill_name"]) if n)
            phones.update(p for p in (row["ship_phone"], row["bill_phone"]) if p)
    pattern = redact.pattern([*known, *emails, *names, *phones])
    if pattern is not None:
        for chunk in _chunks(order_ids, ERASE_BATCH):
            await privacy_queries.scrub_notes(conn, chunk, pattern, redact.ERASED)
    return ErasedOrders(tuple(order_ids), frozenset(emails), frozenset(names), frozenset(phones))
