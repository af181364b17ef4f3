"""Cart → checkout → payment → fulfilment → delivery, and the ways off that road."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.conftest import sign_in

from .conftest import Shop, add, checkout, new_cart, stock


async def test_guest_cart_to_delivered_order(
    client: Any, app: Any, shop: Shop, db: asyncpg.Connection, staff: dict[str, str]
) -> None:
    cart = await new_cart(client)
    resp = await add(client, cart, shop.variants["SHIRT-S"], 2)
    assert resp.status == 201
    body = await resp.json()
    assert body["subtotal"] == {"amount": 5000, "currency": "USD"} and body["item_count"] == 2
    assert (await add(client, cart, shop.variants["SHIRT-L"], 1)).status == 201

    placed = await checkout(client, cart)
    assert placed.status == 201, await placed.text()
    order = (await placed.json())["order"]
    assert order["status"] == "pending_payment" and order["number"].startswith("SF-")
    totals = order["totals"]
    assert totals["subtotal"]["amount"] == 7700 and totals["shipping"]["amount"] == 1500
    assert totals["total"]["amount"] == 9200
    assert await stock(db, "SHIRT-S") == (10, 2) and await stock(db, "SHIRT-L") == (1, 1)
    assert (await checkout(client, cart)).status == 409  # a cart checks out once

    oid = order["id"]
    paid = await client.post(f"/api/v1/orders/{oid}/mark-paid", headers=staff)
    assert paid.status == 200 and (await paid.json())["status"] == "paid"
    assert await stock(db, "SHIRT-S") == (8, 0) and await stock(db, "SHIRT-L") == (0, 0)
    ship = await client.post(
        f"/api/v1/orders/{oid}/fulfill", json={"carrier": "DHL", "tracking_number": "JD0001"}, headers=staff
    )
    assert ship.status == 200
    done = await client.post(f"/api/v1/orders/{oid}/deliver", headers=staff)
    doc = await done.json()
    assert doc["status"] == "delivered"
    assert [h["status"] for h in doc["history"]] == ["pending_payment", "paid", "fulfilled", "delivered"]
    assert doc["shipments"][0]["tracking_number"] == "JD0001"
    assert (await client.post(f"/api/v1/orders/{oid}/deliver", headers=staff)).status == 409
    assert (
        await db.fetchval("SELECT count(*) FROM mail_outbox WHERE subject LIKE 'Order % is confirmed'") == 1
    )


async def test_signed_in_orders_are_private(client: Any, app: Any, shop: Shop) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    eve = await sign_in(client, app, "eve@example.com")
    cart = await new_cart(client, ada)
    assert await new_cart(client, ada) == cart  # one open cart per user
    assert (await client.get(f"/api/v1/carts/{cart}")).status == 404
    assert (await client.get(f"/api/v1/carts/{cart}", headers=eve)).status == 404
    await add(client, cart, shop.variants["SHIRT-M"], 1, ada)
    placed = await checkout(client, cart, ada)
    oid = (await placed.json())["order"]["id"]
    assert (await client.get(f"/api/v1/orders/{oid}", headers=ada)).status == 200
    assert (await client.get(f"/api/v1/orders/{oid}", headers=eve)).status == 404
    assert (await client.get(f"/api/v1/orders/{oid}")).status == 404


async def test_cancel_before_payment_releases_stock(client: Any, shop: Shop, db: asyncpg.Connection) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-M"], 3)
    oid = (await (await checkout(client, cart)).json())["order"]["id"]
    assert await stock(db, "SHIRT-M") == (3, 3)
    resp = await client.post(f"/api/v1/orders/{oid}/cancel")
    assert resp.status == 200 and (await resp.json())["status"] == "cancelled"
    assert await stock(db, "SHIRT-M") == (3, 0)
    assert (await client.post(f"/api/v1/orders/{oid}/cancel")).status == 409


async def test_refunds_partial_then_full(client: Any, shop: Shop, staff: dict[str, str]) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    oid = (await (await checkout(client, cart)).json())["order"]["id"]
    assert (
        await client.post(f"/api/v1/orders/{oid}/refund", json={"amount": 100}, headers=staff)
    ).status == 409
    await client.post(f"/api/v1/orders/{oid}/mark-paid", headers=staff)
    part = await client.post(f"/api/v1/orders/{oid}/refund", json={"amount": 1000}, headers=staff)
    doc = await part.json()
    assert doc["status"] == "partially_refunded" and doc["totals"]["refunded"]["amount"] == 1000
    too_much = await client.post(f"/api/v1/orders/{oid}/refund", json={"amount": 10**6}, headers=staff)
    assert too_much.status == 422
    rest = await client.post(f"/api/v1/orders/{oid}/refund", json={}, headers=staff)
    doc = await rest.json()
    assert doc["status"] == "refunded" and doc["totals"]["refunded"] == doc["totals"]["total"]
