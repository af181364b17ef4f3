"""Idempotency-Key across crashes: a request whose process dies loses nothing and blocks its
key for seconds only; a retry finishes what it started, never does it twice."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from shopflow.app import create_app
from shopflow.platform.embedded import free_port
from shopflow.platform.settings import Settings
from tests.conftest import JWT_SECRET, PEPPER
from tests.providers import stripe
from tests.providers.paypal import PayPalServer
from tests.providers.stripe import StripeFront

from .conftest import ADDRESS, Shop, add, buyer, eventually, new_cart

LEASE = 1.0  # seconds; the default is 5


def _body(provider: str = "manual", **extra: Any) -> bytes:
    body = {"email": "ada@example.com", "shipping_address": ADDRESS, "payment_provider": provider, **extra}
    return json.dumps(body).encode()


async def _post(client: Any, path: str, body: bytes, key: str, **headers: str) -> Any:
    sent = {"Idempotency-Key": key, "Content-Type": "application/json", **headers}
    return await client.post(path, data=body, headers=sent)


async def _claimed(db: asyncpg.Connection, scope: str, key: str, body: bytes, age: float) -> None:
    """The key's row as a request leaves it whose lease was last renewed `age` seconds ago
    (its process died then, before making anything)."""
    await db.execute(
        "INSERT INTO idempotency_keys (scope, key, request_hash, claim, locked_at)"
        " VALUES ($1, $2, $3, $4, now() - make_interval(secs => $5))",
        scope,
        key,
        hashlib.sha256(body).digest(),
        uuid4(),
        age,
    )


@asynccontextmanager
async def _front(stripe_server: str, hold: str | None) -> AsyncIterator[tuple[StripeFront, str]]:
    front = StripeFront(stripe_server, hold)
    server = TestServer(front.app)
    await server.start_server()
    try:
        yield front, str(server.make_url("")).rstrip("/")
    finally:
        front.released.set()
        await server.close()


@asynccontextmanager
async def _serving(
    database_url: str, redis_url: str, stripe_base: str
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """`shopflow serve` in a process of its own, taking Stripe at `stripe_base`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SHOPFLOW_ENV="test",
        SHOPFLOW_ACCESS_LOG="false",
        SHOPFLOW_JWT_SECRET=JWT_SECRET,
        SHOPFLOW_PASSWORD_PEPPER=PEPPER,
        SHOPFLOW_STRIPE_SECRET_KEY=stripe.SECRET_KEY,
        SHOPFLOW_STRIPE_WEBHOOK_SECRET=stripe.WEBHOOK_SECRET,
        SHOPFLOW_STRIPE_API_BASE=stripe_base,
        SHOPFLOW_IDEMPOTENCY_LEASE=str(LEASE),
    )
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "shopflow", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                assert proc.returncode is None, "shopflow serve exited"
                try:
                    async with http.get(base + "/readyz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        yield base, proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _killed_inside_payment_start(
    base: str, proc: asyncio.subprocess.Process, front: StripeFront, path: str, body: bytes, key: str
) -> None:
    """Send the checkout to the process, and SIGKILL it while Stripe holds its request."""

    async def first() -> None:
        async with aiohttp.ClientSession() as http:
            sent = {"Idempotency-Key": key, "Content-Type": "application/json"}
            async with http.post(base + path, data=body, headers=sent) as resp:
                raise AssertionError(f"the first request was answered: {resp.status}")

    request = asyncio.create_task(first())
    await asyncio.wait_for(front.arrived.wait(), 30)
    proc.kill()
    await proc.wait()
    assert isinstance((await asyncio.gather(request, return_exceptions=True))[0], aiohttp.ClientError)


async def _retry_until_answered(client: Any, path: str, body: bytes, key: str, seconds: float) -> Any:
    """Retry as a client would, every 0.2 s; the first answer other than 409 in use."""
    deadline = time.monotonic() + seconds
    while True:
        resp = await _post(client, path, body, key)
        if resp.status != 409:
            return resp
        assert (await resp.json())["code"] == "idempotency_key_in_use"
        assert time.monotonic() < deadline, f"the key is still in use after {seconds} s"
        await asyncio.sleep(0.2)


async def _crash_and_retry(
    hold: str,
    make_settings: Callable[..., Settings],
    make_client: Any,
    stripe_server: str,
    shop: Shop,
    db: asyncpg.Connection,
) -> StripeFront:
    """A Stripe checkout whose process is killed while Stripe holds its request (`hold`), then
    retried against another process, which answers it; the Stripe front."""
    async with _front(stripe_server, hold) as (front, stripe_base):
        settings = make_settings(**stripe.shop_settings(stripe_base), idempotency_lease=LEASE)
        client = await make_client(create_app(settings))
        cart = await new_cart(client)
        await add(client, cart, shop.variants["SHIRT-S"], 2)
        path, body, key = f"/api/v1/carts/{cart}/checkout", _body("stripe"), "crash-1"
        async with _serving(settings.database_url, settings.redis_url, stripe_base) as (base, proc):
            await _killed_inside_payment_start(base, proc, front, path, body, key)
        assert await db.fetchval("SELECT count(*) FROM orders") == 1  # placed before the kill

        answer = await _retry_until_answered(client, path, body, key, seconds=10 * LEASE)
        assert answer.status == 201, await answer.text()
        placed = await answer.json()
        replay = await _post(client, path, body, key)
        assert replay.status == 201 and replay.headers["Idempotent-Replayed"] == "true"
        assert await replay.json() == placed
    order = await db.fetchrow(
        "SELECT id, status, payment_ref, reserved FROM orders, stock WHERE sku = 'SHIRT-S'"
    )
    assert await db.fetchval("SELECT count(*) FROM orders") == 1
    assert placed["order"]["id"] == str(order["id"]) and order["status"] == "pending_payment"
    assert order["reserved"] == 2  # held once
    assert placed["payment"]["client_secret"].startswith(order["payment_ref"])
    reached = await client.get(f"/api/v1/orders/{order['id']}", headers=buyer(placed))
    assert reached.status == 200  # the guest's secret, answered again, opens the order
    return front


@pytest.mark.parametrize(
    "hold",
    [
        "before",  # the retry starts the payment the dead process never did
        "after",  # the same PaymentIntent: the order's key made Stripe answer it again
    ],
)
async def test_a_checkout_killed_while_stripe_held_it_is_finished_by_a_retry(
    hold: str,
    make_settings: Callable[..., Settings],
    make_client: Any,
    stripe_server: str,
    shop: Shop,
    db: asyncpg.Connection,
) -> None:
    front = await _crash_and_retry(hold, make_settings, make_client, stripe_server, shop, db)
    assert front.created == 1


async def test_a_claim_left_by_a_dead_process_is_taken_over_at_once(
    client: Any, shop: Shop, db: asyncpg.Connection
) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    path, body = f"/api/v1/carts/{cart}/checkout", _body()
    await _claimed(db, f"POST {path} guest", "live", body, age=0)  # renewed just now
    await _claimed(db, f"POST {path} guest", "dead", body, age=6)  # the default lease is 5 s
    live = await _post(client, path, body, "live")
    assert live.status == 409 and (await live.json())["code"] == "idempotency_key_in_use"
    dead = await _post(client, path, body, "dead")
    assert dead.status == 201, await dead.text()
    assert await db.fetchval("SELECT count(*) FROM orders") == 1
    other = await _post(client, path, _body(email="eve@example.com"), "dead")
    assert other.status == 422 and (await other.json())["code"] == "idempotency_key_reused"


async def _lose_the_answer(db: asyncpg.Connection, key: str) -> None:
    """Make the key's row what a process leaves when it dies after the change committed,
    before its answer was kept: claimed long ago, naming what it made, with no answer."""
    done = await db.execute(
        "UPDATE idempotency_keys SET status = NULL, body = NULL, locked_at = now() - interval '90 seconds'"
        " WHERE key = $1 AND resource_id IS NOT NULL",
        key,
    )
    assert done == "UPDATE 1"


async def test_a_checkout_whose_answer_was_lost_answers_with_its_order(
    client: Any, shop: Shop, db: asyncpg.Connection
) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-M"], 2)
    path, body = f"/api/v1/carts/{cart}/checkout", _body()
    first = await _post(client, path, body, "lost-1")
    assert first.status == 201
    placed = await first.json()
    await _lose_the_answer(db, "lost-1")

    again = await _post(client, path, body, "lost-1")
    assert again.status == 201, await again.text()
    found = await again.json()
    assert found["order"]["id"] == placed["order"]["id"] and found["order_token"] == placed["order_token"]
    assert found["order"]["items"] == placed["order"]["items"] and found["payment"] == placed["payment"]
    assert await db.fetchval("SELECT count(*) FROM orders") == 1
    assert await db.fetchval("SELECT reserved FROM stock WHERE sku = 'SHIRT-M'") == 2
    replay = await _post(client, path, body, "lost-1")
    assert replay.headers["Idempotent-Replayed"] == "true" and await replay.json() == found


async def test_a_paypal_checkout_whose_answer_was_lost_has_one_paypal_order(
    paypal_shop: Any, paypal_server: PayPalServer, shop: Shop, db: asyncpg.Connection
) -> None:
    _, client = paypal_shop
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    path, body = f"/api/v1/carts/{cart}/checkout", _body("paypal")
    placed = await (await _post(client, path, body, "pp-lost")).json()
    await _lose_the_answer(db, "pp-lost")
    # and the payment was never attached, as when the process died inside PayPal's call
    await db.execute("UPDATE orders SET payment_ref = NULL")

    again = await _post(client, path, body, "pp-lost")
    assert again.status == 201, await again.text()
    found = await again.json()
    assert found["order"]["id"] == placed["order"]["id"]
    assert found["payment"]["approve_url"] == placed["payment"]["approve_url"]
    assert len(paypal_server.orders) == 1  # PayPal answered the order's request id again
    assert await db.fetchval("SELECT payment_ref FROM orders") in paypal_server.orders


async def test_a_refund_whose_answer_was_lost_is_never_made_twice(
    client: Any, shop: Shop, db: asyncpg.Connection, staff: dict[str, str]
) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 2)
    order = (await (await _post(client, f"/api/v1/carts/{cart}/checkout", _body(), "order-1")).json())[
        "order"
    ]
    assert (await client.post(f"/api/v1/orders/{order['id']}/mark-paid", headers=staff)).status == 200
    path, body = f"/api/v1/orders/{order['id']}/refund", json.dumps({"amount": 1000}).encode()
    refunded = await _post(client, path, body, "refund-1", **staff)
    assert refunded.status == 200 and (await refunded.json())["totals"]["refunded"]["amount"] == 1000
    await _lose_the_answer(db, "refund-1")

    again = await _post(client, path, body, "refund-1", **staff)
    assert again.status == 200, await again.text()
    assert (await again.json())["totals"]["refunded"]["amount"] == 1000
    assert await db.fetchval("SELECT count(*) FROM refunds") == 1


async def test_a_capture_whose_answer_was_lost_answers_the_paid_order(
    paypal_shop: Any, paypal_server: PayPalServer, shop: Shop, db: asyncpg.Connection
) -> None:
    _, client = paypal_shop
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    placed = await (await _post(client, f"/api/v1/carts/{cart}/checkout", _body("paypal"), "pp-1")).json()
    async with aiohttp.ClientSession() as http:
        await http.get(placed["payment"]["approve_url"], allow_redirects=False)  # the buyer approves
    path = f"/api/v1/orders/{placed['order']['id']}/capture"
    captured = await _post(client, path, b"", "capture-1", **buyer(placed))
    assert captured.status == 200 and (await captured.json())["status"] == "paid"
    await _lose_the_answer(db, "capture-1")

    again = await _post(client, path, b"", "capture-1", **buyer(placed))
    assert again.status == 200, await again.text()
    assert (await again.json())["status"] == "paid"
    ref = await db.fetchval("SELECT payment_ref FROM orders")
    assert len(paypal_server.orders[ref]["purchase_units"][0]["payments"]["captures"]) == 1


async def test_a_request_that_outlives_its_lease_keeps_its_key(
    make_settings: Callable[..., Settings],
    make_client: Any,
    stripe_server: str,
    shop: Shop,
    db: asyncpg.Connection,
) -> None:
    """Its process renews the lease: a retry meanwhile is 409, then gets the first's answer."""
    async with _front(stripe_server, "before") as (front, stripe_base):
        settings = make_settings(**stripe.shop_settings(stripe_base), idempotency_lease=LEASE)
        client = await make_client(create_app(settings))
        cart = await new_cart(client)
        await add(client, cart, shop.variants["SHIRT-S"], 1)
        path, body = f"/api/v1/carts/{cart}/checkout", _body("stripe")
        first = asyncio.create_task(_post(client, path, body, "slow-1"))
        await asyncio.wait_for(front.arrived.wait(), 10)
        await asyncio.sleep(3 * LEASE)  # held by Stripe for three leases
        busy = await _post(client, path, body, "slow-1")
        assert busy.status == 409 and (await busy.json())["code"] == "idempotency_key_in_use"
        front.released.set()
        assert (await first).status == 201
    replay = await _post(client, path, body, "slow-1")
    assert replay.status == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert await db.fetchval("SELECT count(*) FROM orders") == 1


async def test_a_request_whose_key_was_taken_over_makes_nothing(
    client: Any, shop: Shop, db: asyncpg.Connection, database_url: str
) -> None:
    """Stalled past its lease (here: waiting for its cart), a request finds its key taken over
    by a retry, and places no order: the retry does."""
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    path, body = f"/api/v1/carts/{cart}/checkout", _body()
    locker = await asyncpg.connect(database_url)
    try:
        async with locker.transaction():
            await locker.execute("SELECT 1 FROM carts WHERE id = $1 FOR UPDATE", cart)
            stalled = asyncio.create_task(_post(client, path, body, "stall-1"))

            async def waiting() -> bool:
                return bool(await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'stall-1'"))

            await eventually(waiting)
            # what a retry's takeover writes, the stalled request's lease having run out
            await db.execute("UPDATE idempotency_keys SET claim = $1 WHERE key = 'stall-1'", uuid4())
    finally:
        await locker.close()
    refused = await stalled
    assert refused.status == 409 and (await refused.json())["code"] == "idempotency_key_in_use"
    assert await db.fetchval("SELECT count(*) FROM orders") == 0
    assert await db.fetchval("SELECT resource_id FROM idempotency_keys WHERE key = 'stall-1'") is None


async def test_a_payment_that_cannot_start_frees_the_key_for_a_retry(
    make_settings: Callable[..., Settings],
    make_client: Any,
    stripe_shop: Any,
    shop: Shop,
    db: asyncpg.Connection,
) -> None:
    down = make_settings(**stripe.shop_settings(f"http://127.0.0.1:{free_port()}"))  # nothing listens
    cut_off = await make_client(create_app(down))
    cart = await new_cart(cut_off)
    await add(cut_off, cart, shop.variants["SHIRT-S"], 1)
    path, body = f"/api/v1/carts/{cart}/checkout", _body("stripe")
    failed = await _post(cut_off, path, body, "retry-1")
    assert failed.status == 503
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0  # no record of a failure
    _, client = stripe_shop  # Stripe answers again
    placed = await _post(client, path, body, "retry-1")
    assert placed.status == 201, await placed.text()
    statuses = [r["status"] for r in await db.fetch("SELECT status FROM orders ORDER BY created_at")]
    assert statuses == ["cancelled", "pending_payment"]
