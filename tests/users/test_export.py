"""GET /api/v1/me/export: everything the shop holds about the caller, streamed as one JSON
document; nobody else's data in it, and a long order history in batches."""

from __future__ import annotations

from typing import Any

import aiohttp
import asyncpg
import orjson
from aiohttp.test_utils import TestClient

from tests.checkout.conftest import add, add_product, new_cart
from tests.client import expect

PASSWORD = "correct horse battery staple"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "Flat 3",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "phone": "+44 20 7946 0000",
}


async def register(client: TestClient, email: str, name: str) -> dict[str, Any]:
    """A new account through the API: its token pair, and `headers` to call as it."""
    pair = await expect(
        await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": name}),
        201,
    )
    pair["headers"] = {"Authorization": f"Bearer {pair['access_token']}"}
    return dict(pair)


async def place_order(
    client: TestClient,
    variant: str,
    headers: dict[str, str],
    email: str,
    address: dict[str, Any],
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Put one of `variant` in a new cart and check it out (manual payment); the order."""
    cart = await new_cart(client, headers)
    await expect(await add(client, cart, variant, 1, headers), 201)
    body = {"email": email, "shipping_address": address, "payment_provider": "manual"}
    extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    placed = await expect(
        await client.post(f"/api/v1/carts/{cart}/checkout", json=body, headers={**headers, **extra}), 201
    )
    return dict(placed["order"])


async def export_of(client: TestClient, headers: dict[str, str]) -> tuple[dict[str, Any], bytes]:
    """The caller's export, parsed and as sent (the test client checks it against `Export`)."""
    resp = await client.get("/api/v1/me/export", headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/json"
    assert resp.headers["Transfer-Encoding"] == "chunked"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="shopflow-export-')
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Request-ID"]
    raw = await resp.read()
    return orjson.loads(raw), raw


async def pieces_of_export(client: TestClient, headers: dict[str, str]) -> int:
    """In how many chunks the export arrives, read as a plain client reads it."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(client.make_url("/api/v1/me/export"), headers=headers) as resp,
    ):
        assert resp.status == 200
        return len([chunk async for chunk, _ in resp.content.iter_chunks()])


async def test_the_export_holds_the_callers_data_and_nobody_elses(
    client: TestClient, db: asyncpg.Connection, staff: dict[str, str]
) -> None:
    shirt, variants = await add_product(db, "linen-shirt", {"SHIRT-S": (2500, 10), "SHIRT-M": (2500, 10)})
    # listed with its prices, as the catalog's own writes leave it: wishlists show listed products
    await db.execute("UPDATE products SET price_min = 2500, price_max = 2700 WHERE id = $1::uuid", shirt)
    ada = await register(client, "ada@example.com", "Ada Lovelace")
    mine = ada["headers"]
    await expect(await client.patch("/api/v1/me", json={"phone": "+14155550123"}, headers=mine), 200)
    prefs = {"theme": "dark", "language": "en-GB", "currency": "EUR", "marketing_opt_in": True}
    await expect(await client.put("/api/v1/me/preferences", json=prefs, headers=mine), 200)
    await expect(await client.post("/api/v1/me/addresses", json=ADDRESS, headers=mine), 201)
    await expect(await client.post("/api/v1/me/wishlist", json={"product_id": str(shirt)}, headers=mine), 201)
    bob = await register(client, "bob@example.net", "Bob Other")
    paid = await place_order(client, variants["SHIRT-S"], ada["headers"], "ada@example.com", ADDRESS)
    await expect(await client.post(f"/api/v1/orders/{paid['id']}/mark-paid", headers=staff), 200)
    refund = {"amount": 500, "reason": "a loose button"}
    await expect(await client.post(f"/api/v1/orders/{paid['id']}/refund", json=refund, headers=staff), 200)
    unpaid = await place_order(client, variants["SHIRT-M"], ada["headers"], "ada@example.com", ADDRESS)
    theirs = await place_order(
        client, variants["SHIRT-S"], bob["headers"], "bob@example.net", {**ADDRESS, "name": "Bob Other"}
    )
    cart = await new_cart(client, ada["headers"])
    await expect(await add(client, cart, variants["SHIRT-M"], 2, ada["headers"]), 201)
    await db.execute(
        "INSERT INTO oauth_identities (provider, subject, user_id, email) VALUES ('google', 'g-7', $1, $2)",
        ada["user"]["id"],
        "ada.l@gmail.example",
    )

    doc, raw = await export_of(client, ada["headers"])
    assert list(doc) == [
        *("exported_at", "profile", "sign_in_methods", "orders", "carts"),
        *("preferences", "addresses", "wishlists", "consents"),
    ]
    profile = doc["profile"]
    assert (profile["phone"], profile["locale"]) == ("+14155550123", "en")
    assert doc["preferences"]["theme"] == "dark" and doc["preferences"]["currency"] == "EUR"
    assert [(a["line1"], a["is_default_shipping"]) for a in doc["addresses"]] == [(ADDRESS["line1"], True)]
    assert [(w["is_default"], [i["product_id"] for i in w["items"]]) for w in doc["wishlists"]] == [
        (True, [str(shirt)])
    ]
    assert profile["id"] == ada["user"]["id"] and profile["email"] == "ada@example.com"
    assert (profile["name"], profile["role"], profile["status"]) == ("Ada Lovelace", "customer", "active")
    methods = doc["sign_in_methods"]
    assert methods["password"] is True
    assert [(p["provider"], p["email"]) for p in methods["providers"]] == [("google", "ada.l@gmail.example")]
    assert [o["id"] for o in doc["orders"]] == [unpaid["id"], paid["id"]]  # newest first
    first = doc["orders"][1]
    assert first["status"] == "partially_refunded"
    assert first["shipping_address"] == {**ADDRESS, "region": None}
    assert first["items"][0]["sku"] == "SHIRT-S" and first["totals"]["refunded"]["amount"] == 500
    assert [r["amount"]["amount"] for r in first["refunds"]] == [500]
    assert first["refunds"][0]["reason"] == "a loose button"
    assert [h["status"] for h in first["history"]] == ["pending_payment", "paid", "partially_refunded"]
    assert doc["orders"][0]["status"] == "pending_payment" and doc["orders"][0]["refunds"] == []
    assert [c["id"] for c in doc["carts"]] == [cart]
    assert [(i["sku"], i["quantity"]) for i in doc["carts"][0]["items"]] == [("SHIRT-M", 2)]
    assert [(c["purpose"], c["given"]) for c in doc["consents"]] == [("marketing", True)]
    assert doc["consents"][0]["at"] is not None
    for other in (b"bob@example.net", b"Bob Other", theirs["id"].encode(), theirs["number"].encode()):
        assert other not in raw

    # Bob's export is his alone.
    doc, raw = await export_of(client, bob["headers"])
    assert [o["id"] for o in doc["orders"]] == [theirs["id"]] and doc["carts"] == []
    assert doc["sign_in_methods"]["providers"] == []
    assert doc["addresses"] == doc["wishlists"] == [] and doc["preferences"]["theme"] == "system"
    assert doc["consents"] == [{"purpose": "marketing", "given": False, "at": None}]
    assert b"ada" not in raw.lower() and paid["id"].encode() not in raw


async def seed_orders(
    db: asyncpg.Connection, user_id: str, email: str, count: int, prefix: str = "SF-BULK-"
) -> None:
    """`count` paid orders of the user (numbered `prefix`1, 2, ... newest first), a minute
    apart, each with a line and a history row, written straight to the tables."""
    address = orjson.dumps(ADDRESS).decode()
    await db.execute(
        """
        WITH o AS (
          INSERT INTO orders (number, user_id, email, currency, subtotal, shipping, tax, total,
                              shipping_address, billing_address, payment_provider, status,
                              payment_status, created_at)
          SELECT $5 || g, $1::uuid, $2, 'USD', 2500, 500, 600, 3600, $3::jsonb, $3::jsonb,
                 'manual', 'paid', 'paid', now() - make_interval(mins => g)
          FROM generate_series(1, $4::int) g RETURNING id, created_at
        ), lines AS (
          INSERT INTO order_lines (order_id, line_no, sku, name, unit_price, quantity, line_total)
          SELECT id, 1, 'SHIRT-S', 'Linen Shirt S', 2500, 1, 2500 FROM o
        )
        INSERT INTO order_history (order_id, status, note, at)
        SELECT id, 'paid', 'payment recorded by staff', created_at FROM o
        """,
        user_id,
        email,
        address,
        count,
        prefix,
    )


async def test_a_long_history_streams_in_batches(client: TestClient, db: asyncpg.Connection) -> None:
    ada = await register(client, "ada@example.com", "Ada Lovelace")
    bob = await register(client, "bob@example.net", "Bob Other")
    await seed_orders(db, ada["user"]["id"], "ada@example.com", 2000)
    await seed_orders(db, bob["user"]["id"], "bob@example.net", 30, "SF-BOB-")

    doc, raw = await export_of(client, ada["headers"])
    orders = doc["orders"]
    assert len(orders) == 2000 and len({o["id"] for o in orders}) == 2000
    assert [o["number"] for o in orders[:2]] == ["SF-BULK-1", "SF-BULK-2"]  # newest first
    assert orders[-1]["number"] == "SF-BULK-2000"
    assert all(o["items"][0]["sku"] == "SHIRT-S" and len(o["history"]) == 1 for o in orders)
    assert await pieces_of_export(client, ada["headers"]) > 1  # written as it was read
    assert b"bob@example.net" not in raw and b"SF-BOB-" not in raw


async def test_the_export_needs_a_signed_in_caller(client: TestClient) -> None:
    await expect(await client.get("/api/v1/me/export"), 401, "invalid_token")
