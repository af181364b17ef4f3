"""DELETE /api/v1/me: the account erased, its orders kept for the books without the person,
and then no row anywhere in the database holds the person's email, name or phone."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shopflow.app import create_app
from shopflow.checkout.interface import ERASED_EMAIL
from shopflow.keys import AUTH
from tests.auth.test_oauth import CSRF, SESSION, Browser
from tests.checkout.conftest import add, add_product, new_cart
from tests.client import expect
from tests.providers import oauth
from tests.providers.oauth import Provider
from tests.users.test_export import ADDRESS as SEEDED
from tests.users.test_export import PASSWORD, place_order, register, seed_orders

EMAIL = "Zelda.Quincey-Marlowe@erasure.example"
NAME = "Zelda Quincey-Marlowe"
PHONE = "+44 20 7946 0958"
PROFILE_PHONE = "+442079460958"  # the same, as the profile keeps it (E.164)
ADDRESS = {
    "name": NAME,
    "line1": "221B Quillfeather Mews",
    "line2": "Flat 9",
    "city": "Marlowe Bridge",
    "region": "Greater London",
    "postal_code": "NW1 6XE",
    "country": "GB",
    "phone": PHONE,
}
# What is left of an address on an erased order.
ANONYMOUS = {
    **dict.fromkeys(("name", "line1", "line2", "city", "phone", "postal_code")),
    "region": "Greater London",
    "country": "GB",
    "postal_area": "NW1",
}
# Columns that may keep the person's email, name or phone after an erasure, for the books:
# none. An entry here is (table, column), with the reason next to it.
ALLOWED: frozenset[tuple[str, str]] = frozenset()


async def rows_holding(db: asyncpg.Connection, needle: str) -> list[tuple[str, str, int]]:
    """Every (table, column, rows) in the public schema with a value holding `needle`, any
    case: text, JSON and every other type as text, bytea as its bytes (as written or lower-cased)."""
    columns = await db.fetch(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
        " ORDER BY c.table_name, c.ordinal_position"
    )
    found = []
    for c in columns:
        table, column = c["table_name"], c["column_name"]
        if c["data_type"] == "bytea":
            test = f'position($1::bytea IN "{column}") > 0 OR position($2::bytea IN "{column}") > 0'
            args: tuple[Any, ...] = (needle.encode(), needle.lower().encode())
        else:
            test = f'strpos(lower("{column}"::text), lower($1)) > 0'
            args = (needle,)
        count = await db.fetchval(f'SELECT count(*) FROM "{table}" WHERE {test}', *args)
        if count:
            found.append((table, column, count))
    return found


async def assert_nowhere(db: asyncpg.Connection, *needles: str) -> None:
    for needle in needles:
        found = [f for f in await rows_holding(db, needle) if (f[0], f[1]) not in ALLOWED]
        assert found == [], f"{needle!r} is still in {found}"


async def test_an_erased_account_leaves_no_trace_but_its_orders_for_the_books(
    client: TestClient, app: web.Application, db: asyncpg.Connection, staff: dict[str, str]
) -> None:
    shirt, variants = await add_product(db, "linen-shirt", {"SHIRT-S": (2500, 10), "SHIRT-M": (2700, 10)})
    # listed with its prices, as the catalog's own writes leave it: wishlists show listed products
    await db.execute("UPDATE products SET price_min = 2500, price_max = 2700 WHERE id = $1::uuid", shirt)
    zelda = await register(client, EMAIL, NAME)
    me = zelda["headers"]
    # Her profile, address book, preferences and wishlists.
    await expect(await client.patch("/api/v1/me", json={"phone": PROFILE_PHONE}, headers=me), 200)
    await expect(await client.post("/api/v1/me/addresses", json=ADDRESS, headers=me), 201)
    prefs = {"theme": "dark", "language": "en-GB", "currency": "GBP", "marketing_opt_in": True}
    await expect(await client.put("/api/v1/me/preferences", json=prefs, headers=me), 200)
    await expect(await client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=me), 201)
    await expect(await client.post("/api/v1/me/wishlists", json={"name": f"For {NAME}"}, headers=me), 201)
    wrong = {"email": EMAIL, "password": "not the password"}
    await expect(await client.post("/api/v1/auth/login", json=wrong), 401, "invalid_credentials")
    # Paid (a confirmation mailed), refunded in part with a reason naming her, shipped; placed
    # with an Idempotency-Key, and refunded with one.
    paid = await place_order(client, variants["SHIRT-S"], me, EMAIL, ADDRESS, idempotency_key="zq-1")
    await expect(await client.post(f"/api/v1/orders/{paid['id']}/mark-paid", headers=staff), 200)
    refund = {"amount": 700, "reason": f"goodwill, agreed with {NAME} on {PHONE}"}
    refunded = await client.post(
        f"/api/v1/orders/{paid['id']}/refund", json=refund, headers={**staff, "Idempotency-Key": "r-1"}
    )
    await expect(refunded, 200)
    ship = {"carrier": "DHL", "tracking_number": "JD0000123"}
    await expect(await client.post(f"/api/v1/orders/{paid['id']}/fulfill", json=ship, headers=staff), 200)
    unpaid = await place_order(client, variants["SHIRT-M"], me, EMAIL.lower(), ADDRESS)
    cart = await new_cart(client, me)
    await expect(await add(client, cart, variants["SHIRT-M"], 3, me), 201)
    await db.execute(
        "INSERT INTO oauth_identities (provider, subject, user_id, email) VALUES ('google', 'g-zq', $1, $2)",
        zelda["user"]["id"],
        EMAIL,
    )
    bystander = await place_order(
        client, variants["SHIRT-S"], {}, "bea@example.com", {**ADDRESS, "name": "Bea Stander", "phone": None}
    )
    # The search finds them where they are before the erasure.
    needles = (EMAIL, NAME, PHONE, PROFILE_PHONE)
    where = {needle: {t for t, _, _ in await rows_holding(db, needle)} for needle in needles}
    assert where[EMAIL] >= {"users", "oauth_identities", "orders", "mail_outbox", "idempotency_keys"}
    assert where[NAME] >= {"users", "orders", "order_history", "order_events", "refunds", "mail_outbox"}
    assert where[NAME] >= {"addresses", "wishlists"}
    assert where[PHONE] >= {"orders", "order_history", "order_events", "refunds", "idempotency_keys"}
    assert where[PROFILE_PHONE] >= {"profiles"}

    await expect(await client.delete("/api/v1/me", json={"password": PASSWORD}, headers=me), 204)

    await assert_nowhere(db, *needles)
    orders = {
        r["id"]: r
        for r in await db.fetch("SELECT * FROM orders WHERE id = ANY($1::uuid[])", [paid["id"], unpaid["id"]])
    }
    for placed in (paid, unpaid):  # the books: amounts, tax, country, region and postal area
        order = orders[UUID(placed["id"])]
        assert order["user_id"] is None and order["email"] == ERASED_EMAIL
        for total in ("subtotal", "shipping", "tax", "total"):
            assert order[total] == placed["totals"][total]["amount"]
        for column in ("shipping_address", "billing_address"):
            assert orjson.loads(order[column]) == ANONYMOUS
    kept_paid = orders[UUID(paid["id"])]
    assert (kept_paid["status"], kept_paid["refunded"]) == ("fulfilled", 700)
    assert await db.fetchval("SELECT sku FROM order_lines WHERE order_id = $1", paid["id"]) == "SHIRT-S"
    reason = await db.fetchval("SELECT reason FROM refunds WHERE order_id = $1", paid["id"])
    assert reason == "goodwill, agreed with [erased] on [erased]"
    assert await db.fetchval("SELECT email FROM orders WHERE id = $1", bystander["id"]) == "bea@example.com"
    gone = "SELECT count(*) FROM {} WHERE {} = $1"
    tables = ("users", "oauth_identities", "profiles", "preferences", "addresses", "wishlists")
    for table, column in (("carts", "id"), *((t, "id" if t == "users" else "user_id") for t in tables)):
        value = cart if table == "carts" else zelda["user"]["id"]
        assert await db.fetchval(gone.format(table, column), value) == 0

    await expect(await client.get("/api/v1/auth/session", headers=me), 401, "invalid_token")
    refresh = {"refresh_token": zelda["refresh_token"]}
    await expect(await client.post("/api/v1/auth/refresh", json=refresh), 401, "invalid_token")
    assert not await app[AUTH].backoff.redis.exists(f"login_fail:{EMAIL.lower()}")
    again = await register(client, EMAIL, NAME)
    assert again["user"]["id"] != zelda["user"]["id"]


async def test_a_wrong_or_missing_password_keeps_the_account(
    client: TestClient, db: asyncpg.Connection
) -> None:
    ada = await register(client, "ada@example.com", "Ada Lovelace")
    wrong = await client.delete("/api/v1/me", json={"password": "not it at all"}, headers=ada["headers"])
    await expect(wrong, 403, "wrong_password")
    await expect(await client.delete("/api/v1/me", json={}, headers=ada["headers"]), 422, "password_required")
    unknown = await client.delete("/api/v1/me", json={"password": PASSWORD, "x": 1}, headers=ada["headers"])
    await expect(unknown, 422, "validation_failed")
    await expect(await client.delete("/api/v1/me", json={"password": PASSWORD}), 401, "invalid_token")
    assert await db.fetchval("SELECT count(*) FROM users WHERE email = 'ada@example.com'") == 1
    await expect(await client.get("/api/v1/auth/session", headers=ada["headers"]), 200)


async def test_an_account_without_a_password_needs_a_sign_in_in_the_last_ten_minutes(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    user_id = await db.fetchval(
        "INSERT INTO users (email, name, email_verified) VALUES ('oauth.only@example.com', 'Olly', true)"
        " RETURNING id"
    )
    sessions, tokens = app[AUTH].sessions, app[AUTH].tokens
    old = await sessions.start(user_id, "customer")
    await sessions.redis.hset(f"sess:{old.session_id}", "at", int(time.time()) - 11 * 60)  # type: ignore[misc]
    bearer = {"Authorization": f"Bearer {tokens.issue(user_id, old.session_id, 'customer')}"}
    await expect(await client.delete("/api/v1/me", json={}, headers=bearer), 403, "reauthentication_required")
    # A refresh is no sign-in.
    pair = await expect(
        await client.post("/api/v1/auth/refresh", json={"refresh_token": old.refresh_token}), 200
    )
    refreshed = {"Authorization": f"Bearer {pair['access_token']}"}
    await expect(
        await client.delete("/api/v1/me", json={}, headers=refreshed), 403, "reauthentication_required"
    )

    fresh = await sessions.start(user_id, "customer")
    signed_in = {"Authorization": f"Bearer {tokens.issue(user_id, fresh.session_id, 'customer')}"}
    await expect(await client.delete("/api/v1/me", json={}, headers=signed_in), 204)
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user_id) == 0
    await expect(await client.get("/api/v1/auth/session", headers=refreshed), 401, "invalid_token")


@pytest.fixture
async def provider() -> AsyncIterator[TestServer]:
    server = TestServer(Provider().app())
    await server.start_server()
    yield server
    await server.close()


async def test_a_google_account_is_erased_from_the_browser_it_signed_in_with(
    make_settings: Any, make_client: Any, provider: TestServer, db: asyncpg.Connection
) -> None:
    base = str(provider.make_url("")).rstrip("/")
    app = create_app(
        make_settings(
            google_client_id=oauth.CLIENT_ID,
            google_client_secret=oauth.CLIENT_SECRET,
            google_authorize_url=f"{base}/google/authorize",
            google_token_url=f"{base}/google/token",
            google_jwks_url=f"{base}/google/jwks",
        )
    )
    browser = Browser(await make_client(app), provider)
    assert (await browser.sign_in("google")).status == 302
    assert await rows_holding(db, "grace@example.com")
    no_csrf = await browser.get("/api/v1/me", method="DELETE", json={})
    await expect(no_csrf, 403, "csrf_failed")
    erased = await browser.get(
        "/api/v1/me", method="DELETE", json={}, headers={"X-CSRF-Token": browser.cookies[CSRF]}
    )
    await expect(erased, 204)
    assert SESSION not in browser.cookies  # the browser's session cookie is taken back
    await assert_nowhere(db, "grace@example.com", "g-1001")


async def test_a_long_history_is_erased_in_batches(client: TestClient, db: asyncpg.Connection) -> None:
    zelda = await register(client, EMAIL, NAME)
    await seed_orders(db, zelda["user"]["id"], EMAIL, 2500)
    phone = SEEDED["phone"]  # on the seeded orders' addresses
    await db.execute("UPDATE order_history SET note = $1", f"called {phone}")
    await expect(
        await client.delete("/api/v1/me", json={"password": PASSWORD}, headers=zelda["headers"]), 204
    )
    assert await db.fetchval("SELECT count(*) FROM orders WHERE email = $1", ERASED_EMAIL) == 2500
    assert await db.fetchval("SELECT count(*) FROM order_history WHERE note = 'called [erased]'") == 2500
    await assert_nowhere(db, EMAIL, NAME, phone, SEEDED["name"], SEEDED["line1"])
