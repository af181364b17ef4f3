"""Idempotency-Key, and bad input of every kind answered 4xx, never 500."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from .conftest import ADDRESS, Shop, add, checkout, new_cart


async def test_one_key_five_times_at_once_makes_one_order(
    client: Any, shop: Shop, db: asyncpg.Connection
) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    key = {"Idempotency-Key": "checkout-0001"}
    answers = await asyncio.gather(*(checkout(client, cart, key) for _ in range(5)))
    bodies = {a.status: await a.text() for a in answers}
    assert set(bodies) <= {201, 409} and 201 in bodies
    for a in answers:
        if a.status == 409:
            assert (await a.json())["code"] in ("idempotency_key_in_use", "cart_checked_out")
    assert await db.fetchval("SELECT count(*) FROM orders") == 1
    replay = await checkout(client, cart, key)
    assert replay.status == 201 and await replay.text() == bodies[201]
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = await checkout(client, cart, key, email="someone@example.com")
    assert other.status == 422 and (await other.json())["code"] == "idempotency_key_reused"


async def test_a_failed_request_does_not_spend_its_key(client: Any, shop: Shop) -> None:
    cart = await new_cart(client)
    key = {"Idempotency-Key": "k-2"}
    assert (await checkout(client, cart, key)).status == 422  # empty cart
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    assert (await checkout(client, cart, key)).status == 201


@pytest.mark.parametrize("quantity", [0, -1, 100, 2.5, "1", None, True])
async def test_bad_quantities(client: Any, shop: Shop, quantity: Any) -> None:
    cart = await new_cart(client)
    resp = await client.post(
        f"/api/v1/carts/{cart}/items", json={"variant_id": shop.variants["SHIRT-S"], "quantity": quantity}
    )
    assert resp.status == 422
    assert (await resp.json())["errors"][0]["field"] == "quantity"


async def test_the_cart_holds_at_most_99_of_a_variant(client: Any, shop: Shop) -> None:
    cart = await new_cart(client)
    assert (await add(client, cart, shop.variants["SHIRT-S"], 60)).status == 201
    over = await add(client, cart, shop.variants["SHIRT-S"], 40)
    assert over.status == 422 and (await over.json())["code"] == "quantity_limit"


async def test_unknown_archived_and_malformed_variants(
    client: Any, shop: Shop, db: asyncpg.Connection
) -> None:
    cart = await new_cart(client)
    unknown = await add(client, cart, "00000000-0000-4000-8000-000000000000", 1)
    assert unknown.status == 422 and (await unknown.json())["code"] == "unknown_variant"
    assert (await add(client, cart, "not-a-uuid", 1)).status == 422
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    await db.execute("UPDATE products SET status = 'archived'")
    assert (await add(client, cart, shop.variants["SHIRT-M"], 1)).status == 422
    shown = await (await client.get(f"/api/v1/carts/{cart}")).json()
    assert shown["items"][0]["available"] is False and shown["subtotal"]["amount"] == 0
    refused = await checkout(client, cart)
    assert refused.status == 409 and (await refused.json())["code"] == "items_unavailable"


async def test_a_client_sent_price_is_refused(client: Any, shop: Shop) -> None:
    cart = await new_cart(client)
    resp = await client.post(
        f"/api/v1/carts/{cart}/items",
        json={"variant_id": shop.variants["SHIRT-S"], "quantity": 1, "unit_price": 1},
    )
    assert resp.status == 422


@pytest.mark.parametrize(
    "change",
    [
        {"shipping_address": None},
        {"shipping_address": {**ADDRESS, "country": "XX"}},
        {"shipping_address": {**ADDRESS, "country": "gb"}},
        {"shipping_address": {**ADDRESS, "city": None}},
        {"shipping_address": {k: v for k, v in ADDRESS.items() if k != "line1"}},
        {"shipping_address": {**ADDRESS, "line2": None, "region": None, "phone": "not a phone"}},
        {"billing_address": {"name": "x"}},
        {"email": None},
        {"email": "nobody"},
        {"payment_provider": "bitcoin"},
        {"payment_provider": "stripe"},  # no keys configured: not offered
        {"total": 1},
    ],
)
async def test_bad_checkout_bodies(
    client: Any, shop: Shop, db: asyncpg.Connection, change: dict[str, Any]
) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    body = {"email": "ada@example.com", "shipping_address": ADDRESS, "payment_provider": "manual", **change}
    resp = await client.post(f"/api/v1/carts/{cart}/checkout", json=body)
    assert resp.status == 422, await resp.text()
    assert await db.fetchval("SELECT reserved FROM stock WHERE sku = 'SHIRT-S'") == 0


async def test_empty_cart_unknown_cart_and_bad_ids(client: Any) -> None:
    cart = await new_cart(client)
    empty = await checkout(client, cart)
    assert empty.status == 422 and (await empty.json())["code"] == "empty_cart"
    assert (await checkout(client, "00000000-0000-4000-8000-000000000000")).status == 404
    assert (await client.get("/api/v1/carts/nope")).status == 404
    assert (await client.get("/api/v1/orders/nope")).status == 404
    assert (await client.patch(f"/api/v1/carts/{cart}/items/nope", json={"quantity": 1})).status == 404


def _cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/events?cursor=WzkyMjMzNzIwMzY4NTQ3NzU4MDhd",  # [9223372036854775808]: past bigint
        "/api/v1/events?cursor=" + _cursor([-(2**63) - 1]),
        "/api/v1/events?cursor=" + _cursor([2**64]),
        "/api/v1/events?cursor=" + _cursor([1.0]),
        "/api/v1/events?cursor=" + _cursor([True]),
        "/api/v1/events?cursor=" + _cursor(["1"]),
        "/api/v1/events?cursor=" + _cursor([[1]]),
        "/api/v1/events?cursor=" + _cursor({"id": 1}),
        "/api/v1/events?cursor=" + _cursor([1, 2]),
        "/api/v1/events?cursor=WzFlNDAwXQ",  # [1e400]
        "/api/v1/orders?cursor=" + _cursor(["0001-01-01T00:00:00+14:00", str(uuid4())]),
        "/api/v1/orders?cursor=" + _cursor(["9999-12-31T23:59:59-14:00", str(uuid4())]),
        "/api/v1/orders?cursor=" + _cursor(["2026-01-01T00:00:00", str(uuid4())]),  # no time zone
        "/api/v1/orders?cursor=" + _cursor(["2026-01-01T00:00:00+00:00", "not-a-uuid"]),
        "/api/v1/orders?cursor=" + _cursor(["2026-01-01T00:00:00+00:00", [str(uuid4())]]),
        "/api/v1/orders?cursor=" + _cursor([1767225600, str(uuid4())]),
        "/api/v1/orders?cursor=" + _cursor(["2026-01-01T00:00:00\u0000+00:00", str(uuid4())]),
    ],
)
async def test_cursors_a_list_did_not_make_are_422(client: Any, staff: dict[str, str], query: str) -> None:
    resp = await client.get(query, headers=staff)
    assert resp.status == 422, await resp.text()
    body = await resp.json()
    assert body["code"] == "validation_failed" and [e["field"] for e in body["errors"]] == ["cursor"]


@pytest.mark.parametrize("bound", ["0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-14:00"])
async def test_order_list_dates_at_the_ends_of_the_calendar(
    client: Any, staff: dict[str, str], bound: str
) -> None:
    for name in ("from", "to"):
        resp = await client.get(f"/api/v1/orders?{name}={bound}", headers=staff)
        assert resp.status == 422, await resp.text()
        assert [e["field"] for e in (await resp.json())["errors"]] == [name]
