"""A customer's order history, their dashboard, the summary row behind it through every
change an order goes through, and guest orders that join an account once its email is
verified."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from shopflow.checkout.tasks import expire_orders
from shopflow.keys import SETTINGS
from tests.checkout.conftest import ADDRESS, add, add_product, checkout, new_cart, run_worker
from tests.client import expect
from tests.conftest import sign_in

# The summary rows as the orders table says they should be (open: waiting for payment, to
# ship, or on the way; spend: money taken less money refunded).
RECOMPUTED = """
SELECT user_id, currency, count(*) AS orders_count,
       count(*) FILTER (WHERE status IN ('pending_payment', 'paid', 'fulfilled')) AS open_orders_count,
       sum(CASE WHEN payment_status IN ('paid', 'partially_refunded', 'refunded')
                THEN total - refunded ELSE 0 END) AS lifetime_spend,
       max(created_at) AS last_order_at
  FROM orders WHERE user_id IS NOT NULL GROUP BY user_id, currency
"""
KEPT = (
    "SELECT user_id, currency, orders_count, open_orders_count, lifetime_spend, last_order_at"
    " FROM customer_summaries"
)


async def assert_summaries_follow(db: asyncpg.Connection) -> None:
    def rows(records: list[asyncpg.Record]) -> set[tuple[Any, ...]]:
        return {tuple(r) for r in records}

    assert rows(await db.fetch(KEPT)) == rows(await db.fetch(RECOMPUTED))


@pytest.fixture
async def variants(db: asyncpg.Connection) -> dict[str, str]:
    _, found = await add_product(db, "linen-shirt", {"SHIRT-S": (2500, 50), "SHIRT-M": (2700, 50)})
    return found


async def place(
    client: TestClient, variants: dict[str, str], headers: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """An order of one S and two M shirts, paid by hand; the checkout's answer."""
    cart = await new_cart(client, headers)
    await expect(await add(client, cart, variants["SHIRT-S"], 1, headers), 201)
    await expect(await add(client, cart, variants["SHIRT-M"], 2, headers), 201)
    return dict(await expect(await checkout(client, cart, headers, **extra), 201))


async def test_the_history_pages_newest_first_with_lines(
    client: TestClient, app: web.Application, variants: dict[str, str]
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    placed = [(await place(client, variants, ada))["order"] for _ in range(3)]
    other = await sign_in(client, app, "bob@example.com")

    first = await expect(await client.get("/api/v1/me/orders?limit=2", headers=ada), 200)
    assert [o["id"] for o in first["items"]] == [placed[2]["id"], placed[1]["id"]]
    item = first["items"][0]
    assert item["number"] == placed[2]["number"] and item["status"] == "pending_payment"
    assert item["lines"] == [
        {"name": "Linen Shirt - SHIRT-S", "sku": "SHIRT-S", "quantity": 1},
        {"name": "Linen Shirt - SHIRT-M", "sku": "SHIRT-M", "quantity": 2},
    ]
    assert item["totals"]["subtotal"] == {"amount": 2500 + 2 * 2700, "currency": "USD"}
    assert item["totals"]["total"] == placed[2]["totals"]["total"]
    assert item["totals"]["refunded"] == {"amount": 0, "currency": "USD"}
    assert datetime.fromisoformat(item["placed_at"]) == datetime.fromisoformat(placed[2]["created_at"])

    second = await expect(
        await client.get(f"/api/v1/me/orders?limit=2&cursor={first['next_cursor']}", headers=ada), 200
    )
    assert [o["id"] for o in second["items"]] == [placed[0]["id"]] and second["next_cursor"] is None
    whole = await expect(await client.get("/api/v1/me/orders", headers=ada), 200)
    assert len(whole["items"]) == 3 and whole["next_cursor"] is None

    assert (await expect(await client.get("/api/v1/me/orders", headers=other), 200))["items"] == []
    await expect(await client.get("/api/v1/me/orders"), 401, "invalid_token")
    for bad in ("limit=0", "limit=101", "limit=ten", "cursor=bm90IGEgY3Vyc29y", "cursor=%21%21"):
        await expect(await client.get(f"/api/v1/me/orders?{bad}", headers=ada), 422, "validation_failed")
    # a cursor made for another list (the staff's, of the same shape) reads only the caller's orders
    theirs = await expect(
        await client.get(f"/api/v1/me/orders?cursor={first['next_cursor']}", headers=other), 200
    )
    assert theirs["items"] == []


async def test_the_dashboard_reads_the_summary_and_the_latest_five(
    client: TestClient,
    app: web.Application,
    db: asyncpg.Connection,
    variants: dict[str, str],
    staff: dict[str, str],
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    empty = await expect(await client.get("/api/v1/me/dashboard", headers=ada), 200)
    assert empty["user"]["email"] == "ada@example.com" and empty["recent_orders"] == []
    assert empty["open_orders_count"] == 0 and empty["orders_count"] == 0
    assert empty["lifetime_spend"] == {"amount": 0, "currency": app[SETTINGS].currency}
    assert empty["wishlist_count"] == 0 and empty["default_address"] is None

    placed = [(await place(client, variants, ada))["order"] for _ in range(6)]
    await expect(await client.post(f"/api/v1/orders/{placed[0]['id']}/mark-paid", headers=staff), 200)
    await expect(await client.post(f"/api/v1/orders/{placed[1]['id']}/cancel", headers=ada), 200)

    board = await expect(await client.get("/api/v1/me/dashboard", headers=ada), 200)
    assert [o["id"] for o in board["recent_orders"]] == [o["id"] for o in reversed(placed[1:])]
    assert board["recent_orders"][-1]["status"] == "cancelled"
    assert board["orders_count"] == 6 and board["open_orders_count"] == 5
    assert board["lifetime_spend"] == placed[0]["totals"]["total"]
    assert board["wishlist_count"] == 0 and board["default_address"] is None

    # The default address and the default wishlist's size come from the users component's tables.
    home = await expect(await client.post("/api/v1/me/addresses", json=ADDRESS, headers=ada), 201)
    shirt = await db.fetchval("SELECT product_id FROM variants WHERE id = $1::uuid", variants["SHIRT-S"])
    await db.execute("UPDATE products SET price_min = 2500, price_max = 2700 WHERE id = $1", shirt)
    await expect(await client.post("/api/v1/me/wishlist", json={"product_id": str(shirt)}, headers=ada), 201)
    board = await expect(await client.get("/api/v1/me/dashboard", headers=ada), 200)
    assert board["wishlist_count"] == 1 and board["default_address"] == home
    await expect(await client.get("/api/v1/me/dashboard"), 401, "invalid_token")


async def test_the_summary_row_follows_every_change_of_an_order(
    client: TestClient,
    app: web.Application,
    variants: dict[str, str],
    staff: dict[str, str],
    db: asyncpg.Connection,
) -> None:
    ada = await sign_in(client, app, "ada@example.com")

    async def order() -> str:
        oid = str((await place(client, variants, ada))["order"]["id"])
        await assert_summaries_follow(db)
        return oid

    async def post(path: str, status: int = 200, **body: Any) -> None:
        await expect(await client.post(path, json=body, headers=staff), status)
        await assert_summaries_follow(db)

    shipped = await order()  # placed → paid → fulfilled → delivered → partly, then wholly refunded
    await post(f"/api/v1/orders/{shipped}/mark-paid")
    await post(f"/api/v1/orders/{shipped}/fulfill", carrier="UPS", tracking_number="1Z")
    await post(f"/api/v1/orders/{shipped}/deliver")
    await post(f"/api/v1/orders/{shipped}/refund", amount=1000)
    await post(f"/api/v1/orders/{shipped}/refund")
    unpaid = await order()  # cancelled before payment
    await expect(await client.post(f"/api/v1/orders/{unpaid}/cancel", headers=ada), 200)
    await assert_summaries_follow(db)
    paid = await order()  # cancelled after payment: refunded in full
    await post(f"/api/v1/orders/{paid}/mark-paid")
    await expect(await client.post(f"/api/v1/orders/{paid}/cancel", headers=ada), 200)
    await assert_summaries_follow(db)

    late = await order()  # expired unpaid, then paid late while its stock is still there
    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE state = 'held'")
    await run_worker(app[SETTINGS], expire_orders)
    await assert_summaries_follow(db)
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", late) == "cancelled"
    await post(f"/api/v1/orders/{late}/mark-paid")
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", late) == "paid"

    board = await expect(await client.get("/api/v1/me/dashboard", headers=ada), 200)
    kept = await db.fetchrow("SELECT * FROM customer_summaries")
    assert (board["orders_count"], board["open_orders_count"]) == (4, 1) == (kept["orders_count"], 1)
    assert board["lifetime_spend"]["amount"] == kept["lifetime_spend"] > 0

    # raw changes the API never makes: an order moving between accounts, an order deleted,
    # an account erased (its orders stay, without it)
    bob = await sign_in(client, app, "bob@example.com")
    bobs = str((await place(client, variants, bob))["order"]["id"])
    await db.execute(
        "UPDATE orders SET user_id = (SELECT id FROM users WHERE email = 'bob@example.com') WHERE id = $1",
        late,
    )
    await assert_summaries_follow(db)
    await db.execute("DELETE FROM orders WHERE id = $1", bobs)
    await assert_summaries_follow(db)
    await db.execute("DELETE FROM users WHERE email = 'ada@example.com'")
    await assert_summaries_follow(db)
    assert await db.fetchval("SELECT count(*) FROM customer_summaries") == 1  # bob's, with `late`
    assert await db.fetchval("SELECT count(*) FROM orders WHERE user_id IS NULL") == 3


async def verification_token(db: asyncpg.Connection, email: str) -> str:
    body = await db.fetchval(
        "SELECT body FROM mail_outbox WHERE to_address = $1 AND subject LIKE 'Confirm%'"
        " ORDER BY created_at DESC LIMIT 1",
        email,
    )
    found = re.search(r"token=([\w-]+)", body)
    assert found is not None
    return found[1]


async def test_guest_orders_become_the_account_s_once_its_email_is_verified(
    client: TestClient, variants: dict[str, str], db: asyncpg.Connection
) -> None:
    guest = await place(client, variants, email="Grace@Example.com")
    stranger = await place(client, variants, email="someone.else@example.com")
    signed = await expect(
        await client.post(
            "/api/v1/auth/register",
            json={"email": "grace@example.com", "password": "a long and unusual passphrase", "name": "Grace"},
        ),
        201,
    )
    grace = {"Authorization": f"Bearer {signed['access_token']}"}
    order_id = guest["order"]["id"]

    assert (await expect(await client.get("/api/v1/me/orders", headers=grace), 200))["items"] == []
    await expect(await client.get(f"/api/v1/orders/{order_id}", headers=grace), 404, "order_not_found")
    token = await verification_token(db, "grace@example.com")
    await expect(await client.post("/api/v1/auth/email/verify", json={"token": token}), 204)

    page = await expect(await client.get("/api/v1/me/orders", headers=grace), 200)
    assert [o["id"] for o in page["items"]] == [order_id]
    await expect(await client.get(f"/api/v1/orders/{order_id}", headers=grace), 200)
    board = await expect(await client.get("/api/v1/me/dashboard", headers=grace), 200)
    assert board["orders_count"] == 1 and board["open_orders_count"] == 1
    assert await db.fetchval("SELECT user_id FROM orders WHERE id = $1", stranger["order"]["id"]) is None
    await assert_summaries_follow(db)

    # a guest order placed with the address after it was verified joins at the next sign-in
    later = await place(client, variants, email="grace@example.com")
    await expect(
        await client.post(
            "/api/v1/auth/login",
            json={"email": "grace@example.com", "password": "a long and unusual passphrase"},
        ),
        200,
    )
    page = await expect(await client.get("/api/v1/me/orders", headers=grace), 200)
    assert [o["id"] for o in page["items"]] == [later["order"]["id"], order_id]
    await assert_summaries_follow(db)
