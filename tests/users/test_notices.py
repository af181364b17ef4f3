"""Back-in-stock and price-drop notices: a real worker runs the catalog's product_changed job
and mails, through the mail outbox, the customers who asked, once per change."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from shopflow.platform.settings import Settings
from tests.catalog.conftest import add_product
from tests.checkout.conftest import add, checkout, new_cart, run_worker
from tests.client import expect
from tests.conftest import sign_in


async def mails(db: asyncpg.Connection) -> list[tuple[str, str]]:
    """The notices written so far: (to, subject), oldest first."""
    rows = await db.fetch(
        "SELECT to_address, subject FROM mail_outbox WHERE subject LIKE 'Linen Shirt%' ORDER BY created_at"
    )
    return [(r["to_address"], r["subject"]) for r in rows]


async def stock(client: TestClient, staff: dict[str, str], on_hand: int) -> None:
    await expect(await client.put("/api/v1/inventory/SHIRT-1", json={"on_hand": on_hand}, headers=staff), 200)


async def price(client: TestClient, staff: dict[str, str], variant: str, amount: int) -> None:
    body = {"price": {"amount": amount, "currency": "USD"}}
    await expect(await client.patch(f"/api/v1/variants/{variant}", json=body, headers=staff), 200)


async def jobs(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT count(*) FROM job_outbox WHERE function = 'product_changed'"))


async def test_back_in_stock_is_mailed_once_per_restock_to_those_who_asked(
    client: TestClient,
    app: web.Application,
    db: asyncpg.Connection,
    staff: dict[str, str],
    settings: Settings,
) -> None:
    shirt = (await add_product(client, staff, "Linen Shirt", price=2500, on_hand=0, sku="SHIRT-1"))["id"]
    ada = await sign_in(client, app, "ada@example.com")
    eve = await sign_in(client, app, "eve@example.com")
    ask = {"product_id": shirt, "notify_back_in_stock": True}
    await expect(await client.post("/api/v1/me/wishlist", json=ask, headers=ada), 201)
    lid = (await expect(await client.post("/api/v1/me/wishlists", json={"name": "Gifts"}, headers=ada), 201))[
        "id"
    ]
    await expect(await client.post(f"/api/v1/me/wishlists/{lid}/items", json=ask, headers=ada), 201)
    await expect(await client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=eve), 201)
    guest = (await expect(await client.post("/api/v1/wishlists"), 201))["id"]
    await expect(await client.post(f"/api/v1/wishlists/{guest}/items", json={"product_id": shirt}), 201)

    await stock(client, staff, 5)
    assert await jobs(db) == 1
    await run_worker(settings)
    await run_worker(settings)  # delivered again: nothing more
    back = [("ada@example.com", "Linen Shirt is back in stock")]  # one mail, though on two of her lists
    assert await mails(db) == back
    assert await db.fetchval("SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL") == 0

    # The job itself, run again (as after a crash before it was marked done), sends nothing twice.
    await db.execute("UPDATE job_outbox SET done_at = NULL")
    await run_worker(settings)
    assert await mails(db) == back

    await stock(client, staff, 3)  # more of what was there: no news
    assert await jobs(db) == 1
    await stock(client, staff, 0)
    await stock(client, staff, 2)  # back again, but Ada was told already and has not asked again
    await run_worker(settings)
    assert await jobs(db) == 2 and await mails(db) == back

    resp = await client.patch(
        f"/api/v1/me/wishlist/{shirt}", json={"notify_back_in_stock": True}, headers=ada
    )
    assert (await expect(resp, 200))["notify_back_in_stock"] is True
    await stock(client, staff, 0)
    await stock(client, staff, 1)
    await run_worker(settings)
    assert await mails(db) == back * 2


async def test_a_price_drop_is_mailed_when_below_the_price_last_seen(
    client: TestClient,
    app: web.Application,
    db: asyncpg.Connection,
    staff: dict[str, str],
    settings: Settings,
) -> None:
    product = await add_product(client, staff, "Linen Shirt", price=2500, sku="SHIRT-1")
    shirt, variant = product["id"], product["variants"][0]["id"]
    ada = await sign_in(client, app, "ada@example.com")
    ask = {"product_id": shirt, "notify_price_drop": True}
    added = await expect(await client.post("/api/v1/me/wishlist", json=ask, headers=ada), 201)
    assert added["notify_price_drop"] is True

    await price(client, staff, variant, 2000)
    await run_worker(settings)
    await run_worker(settings)
    dropped = ("ada@example.com", "Linen Shirt now from 20.00 USD")
    assert await mails(db) == [dropped]
    body = await db.fetchval("SELECT body FROM mail_outbox WHERE subject = $1", dropped[1])
    assert "it was 25.00 USD" in body and "/products/linen-shirt" in body

    await price(client, staff, variant, 2600)  # up: no job
    assert await jobs(db) == 1
    await price(client, staff, variant, 2200)  # down, but not below what Ada was told
    await run_worker(settings)
    assert await jobs(db) == 2 and await mails(db) == [dropped]
    await price(client, staff, variant, 1500)
    await run_worker(settings)
    assert await mails(db) == [dropped, ("ada@example.com", "Linen Shirt now from 15.00 USD")]

    # Asking no more: no more mail.
    await client.patch(f"/api/v1/me/wishlist/{shirt}", json={"notify_price_drop": False}, headers=ada)
    await price(client, staff, variant, 1000)
    await run_worker(settings)
    assert len(await mails(db)) == 2


async def test_nobody_is_told_once_the_account_is_gone_or_disabled(
    client: TestClient,
    app: web.Application,
    db: asyncpg.Connection,
    staff: dict[str, str],
    settings: Settings,
) -> None:
    shirt = (await add_product(client, staff, "Linen Shirt", price=2500, on_hand=0, sku="SHIRT-1"))["id"]
    ask: dict[str, Any] = {"product_id": shirt, "notify_back_in_stock": True}
    for email in ("ada@example.com", "eve@example.com"):
        await expect(
            await client.post("/api/v1/me/wishlist", json=ask, headers=await sign_in(client, app, email)), 201
        )
    await db.execute("DELETE FROM users WHERE email = 'ada@example.com'")
    await db.execute("UPDATE users SET status = 'disabled' WHERE email = 'eve@example.com'")
    await stock(client, staff, 5)
    await run_worker(settings)
    assert await mails(db) == []
    assert await db.fetchval("SELECT count(*) FROM job_outbox WHERE done_at IS NULL") == 0


async def test_stock_given_back_by_a_cancelled_order_is_news_too(
    client: TestClient,
    app: web.Application,
    db: asyncpg.Connection,
    staff: dict[str, str],
    settings: Settings,
) -> None:
    shirt = await add_product(client, staff, "Linen Shirt", price=2500, on_hand=1, sku="SHIRT-1")
    cart = await new_cart(client)
    await expect(await add(client, cart, shirt["variants"][0]["id"], 1), 201)
    order = (await expect(await checkout(client, cart), 201))["order"]  # holds the last one
    ada = await sign_in(client, app, "ada@example.com")
    ask = {"product_id": shirt["id"], "notify_back_in_stock": True}
    await expect(await client.post("/api/v1/me/wishlist", json=ask, headers=ada), 201)
    assert await jobs(db) == 0

    await expect(await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=staff), 200)
    assert await jobs(db) == 1
    await run_worker(settings)
    assert await mails(db) == [("ada@example.com", "Linen Shirt is back in stock")]
