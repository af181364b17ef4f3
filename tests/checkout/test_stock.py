"""Stock is never oversold: reservations under concurrency, expiry and the sweeper job."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from shopflow.checkout.tasks import expire_orders
from shopflow.platform.settings import Settings

from .conftest import Shop, add, checkout, new_cart, run_worker, stock


async def test_fifty_buyers_for_the_last_unit(client: Any, shop: Shop, db: asyncpg.Connection) -> None:
    carts = [await new_cart(client) for _ in range(50)]
    for cart in carts:
        assert (await add(client, cart, shop.variants["SHIRT-L"], 1)).status == 201
    answers = await asyncio.gather(*(checkout(client, cart) for cart in carts))
    statuses = sorted(a.status for a in answers)
    assert statuses == [201] + [409] * 49
    refused = next(a for a in answers if a.status == 409)
    assert (await refused.json())["short"] == [{"sku": "SHIRT-L", "requested": 1, "available": 0}]
    assert await stock(db, "SHIRT-L") == (1, 1)
    assert await db.fetchval("SELECT count(*) FROM orders") == 1


async def test_two_carts_that_together_want_more_than_there_is(
    client: Any, shop: Shop, db: asyncpg.Connection
) -> None:
    first, second = await new_cart(client), await new_cart(client)
    for cart in (first, second):
        await add(client, cart, shop.variants["SHIRT-M"], 2)
        await add(client, cart, shop.variants["SHIRT-S"], 1)
    assert (await checkout(client, first)).status == 201
    short = await checkout(client, second)
    body = await short.json()
    assert short.status == 409 and body["code"] == "out_of_stock"
    assert body["short"] == [{"sku": "SHIRT-M", "requested": 2, "available": 1}]
    assert await stock(db, "SHIRT-M") == (3, 2) and await stock(db, "SHIRT-S") == (
        10,
        1,
    )  # nothing held for it


async def test_an_expired_reservation_frees_the_stock_once(
    client: Any, shop: Shop, db: asyncpg.Connection, settings: Settings
) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-L"], 1)
    order_id = (await (await checkout(client, cart)).json())["order"]["id"]
    again = await new_cart(client)
    await add(client, again, shop.variants["SHIRT-L"], 1)
    assert (await checkout(client, again)).status == 409

    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second'")
    for _ in range(2):  # a second run finds nothing to do
        await run_worker(settings, expire_orders)
    assert await stock(db, "SHIRT-L") == (1, 0)
    history = await db.fetch("SELECT status FROM order_history WHERE order_id = $1 ORDER BY id", order_id)
    assert [h["status"] for h in history] == ["pending_payment", "cancelled"]
    retry = await new_cart(client)
    await add(client, retry, shop.variants["SHIRT-L"], 1)
    assert (await checkout(client, retry)).status == 201


async def test_a_variant_once_ordered_is_not_deleted(
    client: Any, shop: Shop, staff: dict[str, str], db: asyncpg.Connection
) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    order_id = (await (await checkout(client, cart)).json())["order"]["id"]
    assert (await client.post(f"/api/v1/orders/{order_id}/cancel", headers=staff)).status == 200
    assert await stock(db, "SHIRT-S") == (10, 0)  # nothing reserved, but the order names its stock

    resp = await client.delete(f"/api/v1/variants/{shop.variants['SHIRT-S']}", headers=staff)
    assert resp.status == 409, await resp.text()
    assert (await resp.json())["code"] == "variant_ordered"
    assert await stock(db, "SHIRT-S") == (10, 0)
    unsold = await client.delete(f"/api/v1/variants/{shop.variants['SHIRT-M']}", headers=staff)
    assert unsold.status == 204
