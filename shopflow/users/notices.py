"""Back-in-stock and price-drop notices: what the catalog's `product_changed` job does for
the customers whose lists ask to hear about the product.

Each notice is claimed in the same transaction as the mail that carries it (a back-in-stock
request is cleared, a price-drop request watches from the new price on), so the job, run
any number of times, mails each customer once per change; asking again re-arms it. Guests'
lists ask for nothing (there is nobody to write to), and an account that is gone, or
disabled, is not written to.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ..auth.interface import Recipient, recipients
from ..catalog.interface import ListedProduct, ProductChange, listed_products
from ..platform.mail import queue_mail
from . import wishlist_queries as q


def _money(amount: int, currency: str) -> str:
    return f"{amount // 100}.{amount % 100:02d} {currency}"


def _back_in_stock(product: ListedProduct, link: str, to: Recipient) -> tuple[str, str]:
    return f"{product.name} is back in stock", (
        f"Hello {to.name},\n\n{product.name}, on your wishlist, can be bought again:\n\n{link}\n\n"
        "You asked to hear when it came back; we will not write about it again unless you ask again.\n"
    )


def _price_drop(product: ListedProduct, link: str, to: Recipient, was: int) -> tuple[str, str]:
    now = _money(product.price, product.currency)
    return f"{product.name} now from {now}", (
        f"Hello {to.name},\n\n{product.name}, on your wishlist, now costs from {now} "
        f"(it was {_money(was, product.currency)}):\n\n{link}\n\n"
        "We will write again only if it goes lower still.\n"
    )


async def notify_watchers(
    conn: asyncpg.Connection, public_url: str, product_id: UUID, change: ProductChange
) -> list[UUID]:
    """Write the notices a change to the product calls for, in the caller's transaction; the
    mail written. A product not on sale (or, for a restock, sold out again) tells nobody yet."""
    product = (await listed_products(conn, [product_id])).get(product_id)
    if product is None:
        return []
    link = f"{public_url.rstrip('/')}/products/{product.slug}"
    if change == ProductChange.RESTOCKED:
        if not product.in_stock:
            return []
        users = await q.claim_back_in_stock(conn, product_id)
        to = await recipients(conn, users)
        mails = [(to[u].email, *_back_in_stock(product, link, to[u])) for u in users if u in to]
    else:
        was: dict[UUID, int] = {}
        for row in await q.claim_price_drop(conn, product_id, product.price):
            was[row["user_id"]] = max(was.get(row["user_id"], 0), row["was"])
        to = await recipients(conn, was)
        mails = [(to[u].email, *_price_drop(product, link, to[u], w)) for u, w in was.items() if u in to]
    return [await queue_mail(conn, address, subject, body) for address, subject, body in mails]
