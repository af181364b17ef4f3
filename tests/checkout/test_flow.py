"""Cart → checkout → payment → fulfilment → delivery, and the ways off that road."""

from __future__ import annotations

from typing import Any

import asyncpg

from shopflow.keys import REDIS
from tests.conftest import sign_in

from .conftest import Shop, add, add_product, buyer, checkout, new_cart, stock


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
    await db.execute("UPDATE order_events SET created_at = created_at - interval '1 minute'")
    feed = await (await client.get("/api/v1/events?limit=3", headers=staff)).json()
    assert [e["type"] for e in feed["items"]] == ["order.placed", "order.paid", "order.fulfilled"]
    rest = await client.get(f"/api/v1/events?cursor={feed['next_cursor']}", headers=staff)
    assert [e["type"] for e in (await rest.json())["items"]] == ["order.delivered"]
    assert (await client.get("/api/v1/events", headers=await sign_in(client, app, "c@x.io"))).status == 403
    mail_id = await db.fetchval("SELECT id FROM mail_outbox WHERE subject LIKE 'Order % is confirmed'")
    assert await app[REDIS].exists(f"arq:job:mail:{mail_id}:first")  # handed to a worker at once


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
    placed = await (await checkout(client, cart)).json()
    oid = placed["order"]["id"]
    assert await stock(db, "SHIRT-M") == (3, 3)
    resp = await client.post(f"/api/v1/orders/{oid}/cancel", headers=buyer(placed))
    assert resp.status == 200 and (await resp.json())["status"] == "cancelled"
    assert await stock(db, "SHIRT-M") == (3, 0)
    assert (await client.post(f"/api/v1/orders/{oid}/cancel", headers=buyer(placed))).status == 409


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


async def test_signing_in_folds_the_guest_cart_into_the_users(
    client: Any, app: Any, shop: Shop, db: asyncpg.Connection
) -> None:
    await sign_in(client, app, "ada@example.com")  # the account exists
    login = {"email": "ada@example.com", "password": "correct horse battery staple"}
    first = await client.post("/api/v1/auth/login", json=login)
    bearer = {"Authorization": f"Bearer {(await first.json())['access_token']}"}
    mine = await new_cart(client, bearer)
    await add(client, mine, shop.variants["SHIRT-S"], 60, bearer)

    guest = await new_cart(client)
    await add(client, guest, shop.variants["SHIRT-S"], 50)
    await add(client, guest, shop.variants["SHIRT-M"], 2)
    other, variants = await add_product(db, "old-hat", {"HAT-1": (900, 5)})
    await add(client, guest, variants["HAT-1"], 1)
    await db.execute("UPDATE products SET status = 'archived' WHERE id = $1", other)

    resp = await client.post("/api/v1/auth/login", json={**login, "cart_id": guest})
    cart = (await resp.json())["cart"]
    assert cart["id"] == mine
    assert {i["sku"]: i["quantity"] for i in cart["items"]} == {"SHIRT-S": 99, "SHIRT-M": 2}
    assert cart["dropped"] == [{"sku": "HAT-1", "name": "Old Hat - HAT-1"}]
    assert (await (await client.get(f"/api/v1/carts/{guest}")).json())["items"] == []  # moved over
    again = await client.post("/api/v1/auth/login", json={**login, "cart_id": guest})
    assert again.status == 200 and (await again.json())["cart_error"] == "cart_checked_out"


async def test_cancelling_a_paid_order_restocks_and_refunds_but_not_once_shipped(
    client: Any, shop: Shop, db: asyncpg.Connection, staff: dict[str, str]
) -> None:
    orders = []
    for _ in range(2):
        cart = await new_cart(client)
        await add(client, cart, shop.variants["SHIRT-S"], 2)
        placed = await (await checkout(client, cart)).json()
        await client.post(f"/api/v1/orders/{placed['order']['id']}/mark-paid", headers=staff)
        orders.append(placed)
    assert await stock(db, "SHIRT-S") == (6, 0)
    cancelled = await (
        await client.post(f"/api/v1/orders/{orders[0]['order']['id']}/cancel", headers=buyer(orders[0]))
    ).json()
    assert cancelled["status"] == "cancelled" and cancelled["payment"]["status"] == "refunded"
    assert cancelled["totals"]["refunded"] == cancelled["totals"]["total"]
    assert await stock(db, "SHIRT-S") == (8, 0)
    body = {"carrier": "UPS", "tracking_number": "1Z999"}
    second = orders[1]["order"]["id"]
    await client.post(f"/api/v1/orders/{second}/fulfill", json=body, headers=staff)
    late = await client.post(f"/api/v1/orders/{second}/cancel", headers=buyer(orders[1]))
    assert late.status == 409 and (await late.json())["code"] == "invalid_order_state"


async def test_staff_list_orders_by_status_and_date(
    client: Any, app: Any, shop: Shop, db: asyncpg.Connection, staff: dict[str, str]
) -> None:
    ids = []
    for _ in range(3):
        cart = await new_cart(client)
        await add(client, cart, shop.variants["SHIRT-S"], 1)
        ids.append((await (await checkout(client, cart)).json())["order"]["id"])
    await client.post(f"/api/v1/orders/{ids[0]}/mark-paid", headers=staff)
    await db.execute("UPDATE orders SET created_at = now() - interval '3 days' WHERE id = $1", ids[2])

    first = await (await client.get("/api/v1/orders?limit=2", headers=staff)).json()
    assert [o["id"] for o in first["items"]] == [ids[1], ids[0]] and first["next_cursor"]
    second = await (
        await client.get(f"/api/v1/orders?limit=2&cursor={first['next_cursor']}", headers=staff)
    ).json()
    assert [o["id"] for o in second["items"]] == [ids[2]] and second["next_cursor"] is None
    paid = await (await client.get("/api/v1/orders?status=paid", headers=staff)).json()
    assert [o["id"] for o in paid["items"]] == [ids[0]]
    since = (await db.fetchval("SELECT now() - interval '1 day'")).isoformat()
    recent = await client.get("/api/v1/orders", params={"from": since}, headers=staff)
    assert {o["id"] for o in (await recent.json())["items"]} == {ids[0], ids[1]}
    assert (await client.get("/api/v1/orders?status=lost", headers=staff)).status == 422
    for moment in ("0", "2026-01-01", "2026-01-01T00:00:00"):  # RFC 3339, with its offset
        assert (await client.get("/api/v1/orders", params={"from": moment}, headers=staff)).status == 422
    assert (await client.get("/api/v1/orders?cursor=garbage", headers=staff)).status == 422
    customer = await sign_in(client, app, "c@example.com")
    assert (await client.get("/api/v1/orders", headers=customer)).status == 403
