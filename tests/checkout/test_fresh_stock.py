"""What a shopper sees of stock is never stale: every move of units available reaches the
catalog's cached documents in every process (two apps here, each with its own cache)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from shopflow.app import create_app
from shopflow.checkout.tasks import expire_orders
from shopflow.platform.settings import Settings

from .conftest import Shop, add, buyer, checkout, new_cart, run_worker


async def within_a_second(read: Callable[[], Awaitable[Any]], expected: Any) -> None:
    """`read()` gives `expected` within a second (the bound the shop promises)."""
    for _ in range(20):
        if (seen := await read()) == expected:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"still {seen!r} after a second, not {expected!r}")


@pytest.fixture
async def reader(make_client: Any, settings: Settings) -> TestClient:
    """A second app, as another process would be: its own pools and its own local cache."""
    return await make_client(create_app(settings))


def views(client: TestClient, shop: Shop, sku: str) -> Callable[[], Awaitable[Any]]:
    """What the catalog shows of `sku`: detail by id and by slug, the listing's `in_stock`,
    and whether the in-stock listing has the product."""

    async def read() -> Any:
        by_id = await (await client.get(f"/api/v1/products/{shop.product_id}")).json()
        by_slug = await (await client.get("/api/v1/products/linen-shirt")).json()
        listing = await (await client.get("/api/v1/products")).json()
        in_stock = await (await client.get("/api/v1/products?in_stock=true")).json()
        return (
            next(v["stock_available"] for v in by_id["variants"] if v["sku"] == sku),
            next(v["stock_available"] for v in by_slug["variants"] if v["sku"] == sku),
            listing["items"][0]["in_stock"],
            [p["id"] for p in in_stock["items"]] == [shop.product_id],
        )

    return read


@pytest.fixture
async def one_left(db: asyncpg.Connection, shop: Shop) -> Shop:
    """The shirt, listed, with a single unit left in all: the others are sold out."""
    await db.execute("UPDATE products SET price_min = 2500, price_max = 2700")
    await db.execute("UPDATE stock SET on_hand = 0 WHERE sku <> 'SHIRT-L'")
    return shop


async def test_the_last_unit_held_then_released_shows_in_the_other_process(
    client: TestClient, reader: TestClient, one_left: Shop
) -> None:
    read = views(reader, one_left, "SHIRT-L")
    assert await read() == (1, 1, True, True)  # now cached in the reader
    other = await new_cart(reader)
    await add(reader, other, one_left.variants["SHIRT-L"], 1)
    cart = await new_cart(client)
    await add(client, cart, one_left.variants["SHIRT-L"], 1)
    placed = await (await checkout(client, cart)).json()
    await within_a_second(read, (0, 0, False, False))
    line = (await (await reader.get(f"/api/v1/carts/{other}")).json())["items"][0]
    assert (line["stock_available"], line["available"]) == (0, False)
    cancel = await client.post(f"/api/v1/orders/{placed['order']['id']}/cancel", headers=buyer(placed))
    assert cancel.status == 200
    await within_a_second(read, (1, 1, True, True))


async def test_expiry_in_the_worker_shows_in_the_web_process(
    client: TestClient, reader: TestClient, one_left: Shop, settings: Settings, db: asyncpg.Connection
) -> None:
    read = views(reader, one_left, "SHIRT-L")
    cart = await new_cart(client)
    await add(client, cart, one_left.variants["SHIRT-L"], 1)
    assert (await checkout(client, cart)).status == 201
    await within_a_second(read, (0, 0, False, False))
    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second'")
    await run_worker(settings, expire_orders)
    await within_a_second(read, (1, 1, True, True))


async def test_a_paid_order_cancelled_puts_its_units_back_in_view(
    client: TestClient, reader: TestClient, one_left: Shop, staff: dict[str, str]
) -> None:
    read = views(reader, one_left, "SHIRT-L")
    cart = await new_cart(client)
    await add(client, cart, one_left.variants["SHIRT-L"], 1)
    placed = await (await checkout(client, cart)).json()
    order = placed["order"]["id"]
    assert (await client.post(f"/api/v1/orders/{order}/mark-paid", headers=staff)).status == 200
    await within_a_second(read, (0, 0, False, False))
    assert (await client.post(f"/api/v1/orders/{order}/cancel", headers=staff)).status == 200
    await within_a_second(read, (1, 1, True, True))


async def test_units_set_by_staff_show_in_the_other_process(
    client: TestClient, reader: TestClient, one_left: Shop, staff: dict[str, str]
) -> None:
    read = views(reader, one_left, "SHIRT-L")
    assert await read() == (1, 1, True, True)
    resp = await client.put("/api/v1/inventory/SHIRT-L", json={"on_hand": 0}, headers=staff)
    assert resp.status == 200
    await within_a_second(read, (0, 0, False, False))
    resp = await client.put("/api/v1/inventory/SHIRT-L", json={"on_hand": 7}, headers=staff)
    await within_a_second(read, (7, 7, True, True))
