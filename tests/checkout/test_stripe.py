"""Stripe end to end against localstripe: PaymentIntents, signed webhooks, refunds, replays,
late and lost webhooks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from shopflow.app import create_app
from shopflow.checkout.tasks import expire_orders, reconcile_payments
from shopflow.keys import REDIS, SETTINGS
from shopflow.platform.embedded import free_port
from shopflow.platform.outbox import enqueue_job
from tests.conftest import metric_samples, sign_in
from tests.providers import stripe

from .conftest import (
    Shop,
    add,
    checkout,
    eventually,
    new_cart,
    pay_with_card,
    run_worker,
    status_of,
    stock,
)

Shop_ = tuple[web.Application, TestClient]


async def _order(
    client: TestClient, shop: Shop, sku: str = "SHIRT-S", quantity: int = 1
) -> tuple[dict[str, Any], str]:
    """An order paid through Stripe, and its PaymentIntent's id."""
    cart = await new_cart(client)
    await add(client, cart, shop.variants[sku], quantity)
    resp = await checkout(client, cart, provider="stripe")
    assert resp.status == 201, await resp.text()
    placed = await resp.json()
    return placed, placed["payment"]["client_secret"].split("_secret_")[0]


async def _paid_unannounced(client: TestClient, shop: Shop, stripe_server: str) -> tuple[dict[str, Any], str]:
    """An order whose card payment succeeds at Stripe with no webhook sent: the test plays them."""
    placed, intent = await _order(client, shop)
    await _quiet_webhooks(stripe_server)
    assert await pay_with_card(stripe_server, intent) == "succeeded"
    return placed, intent


async def _post_event(
    client: TestClient, event: dict[str, Any], at: int | None = None, secret: str = stripe.WEBHOOK_SECRET
) -> int:
    payload, signature = stripe.signed(event, at, secret)
    resp = await client.post(
        "/api/v1/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )
    return resp.status


async def test_card_payment_refund_and_the_webhook(
    stripe_shop: Shop_, stripe_server: str, shop: Shop, db: asyncpg.Connection
) -> None:
    app, client = stripe_shop
    placed, intent = await _order(client, shop, quantity=2)
    order_id, payment = placed["order"]["id"], placed["payment"]
    assert payment["provider"] == "stripe" and payment["client_secret"].startswith("pi_")

    assert await pay_with_card(stripe_server, intent) == "succeeded"

    async def paid() -> bool:
        return await status_of(client, placed) == "paid"

    await eventually(paid)  # localstripe posts payment_intent.succeeded a second later
    assert await stock(db, "SHIRT-S") == (8, 0)
    staff = await sign_in(client, app, "staff@shop.example", "staff")
    part = await client.post(f"/api/v1/orders/{order_id}/refund", json={"amount": 500}, headers=staff)
    assert part.status == 200 and (await part.json())["status"] == "partially_refunded"
    assert await db.fetchval("SELECT provider_ref FROM refunds") is not None  # a Stripe refund id
    # Stripe then reports the refund; the order knows it already
    charge = {"object": "charge", "id": "ch_1", "payment_intent": intent, "amount_refunded": 500}
    assert await _post_event(client, stripe.event("evt_refund_1", "charge.refunded", charge)) == 200
    assert await db.fetchval("SELECT count(*) FROM refunds") == 1


async def test_a_declined_card_leaves_the_order_open(
    stripe_shop: Shop_, stripe_server: str, shop: Shop, db: asyncpg.Connection
) -> None:
    _, client = stripe_shop
    placed, intent = await _order(client, shop)
    assert await pay_with_card(stripe_server, intent, "4000000000000341") == "declined"

    async def failed() -> bool:
        return await db.fetchval("SELECT payment_status FROM orders") == "failed"

    await eventually(failed)
    assert await status_of(client, placed) == "pending_payment"
    sample = metric_samples(await (await client.get("/metrics")).text())
    assert sample['payment_failures_total{provider="stripe",reason="failed"}'] == 1
    assert sample['orders_placed_total{provider="stripe"}'] == 1


async def test_replayed_and_concurrent_events_make_one_transition(
    stripe_shop: Shop_, stripe_server: str, shop: Shop, db: asyncpg.Connection, make_settings: Any
) -> None:
    _, client = stripe_shop
    placed, intent = await _paid_unannounced(client, shop, stripe_server)
    event = stripe.event("evt_paid_1", "payment_intent.succeeded", {"object": "payment_intent", "id": intent})
    assert [await _post_event(client, event) for _ in range(3)] == [200, 200, 200]
    others = [
        stripe.event(f"evt_paid_{i}", "payment_intent.succeeded", {"object": "payment_intent", "id": intent})
        for i in range(2, 12)
    ]
    statuses = await asyncio.gather(*(_post_event(client, e) for e in others))
    assert set(statuses) == {200}
    history = await db.fetch("SELECT status FROM order_history ORDER BY id")
    assert [h["status"] for h in history] == ["pending_payment", "paid"]
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 1
    # an older failure arriving late cannot move the order back: the intent is re-read
    late = stripe.event(
        "evt_failed_0", "payment_intent.payment_failed", {"object": "payment_intent", "id": intent}
    )
    assert await _post_event(client, late) == 200
    assert await status_of(client, placed) == "paid"


async def test_bad_signatures_and_stale_events_change_nothing(
    stripe_shop: Shop_, stripe_server: str, shop: Shop, db: asyncpg.Connection
) -> None:
    _, client = stripe_shop
    placed, intent = await _paid_unannounced(client, shop, stripe_server)
    event = stripe.event("evt_x", "payment_intent.succeeded", {"object": "payment_intent", "id": intent})
    assert await _post_event(client, event, secret="whsec_forged") == 400
    assert await _post_event(client, event, at=int(time.time()) - 301) == 400
    unsigned = await client.post("/api/v1/webhooks/stripe", json=event)
    assert unsigned.status == 400 and (await unsigned.json())["code"] == "bad_signature"
    assert await status_of(client, placed) == "pending_payment"
    assert await db.fetchval("SELECT count(*) FROM payment_events") == 0


async def test_a_lost_webhook_is_made_good_by_the_reconcile_job(
    stripe_shop: Shop_, stripe_server: str, shop: Shop, db: asyncpg.Connection
) -> None:
    app, client = stripe_shop
    placed, _ = await _paid_unannounced(client, shop, stripe_server)
    await db.execute("UPDATE orders SET updated_at = now() - interval '1 hour'")
    await run_worker(app[SETTINGS], reconcile_payments)
    assert await status_of(client, placed) == "paid"
    assert await stock(db, "SHIRT-S") == (9, 0)


async def test_a_payment_after_the_order_closed_is_refunded_once(
    stripe_shop: Shop_, stripe_server: str, shop: Shop, db: asyncpg.Connection
) -> None:
    app, client = stripe_shop
    placed, intent = await _order(client, shop, sku="SHIRT-L")  # the last one
    order_id = placed["order"]["id"]
    await _quiet_webhooks(stripe_server)
    # the reservation expires and someone else buys the shirt
    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second'")
    await run_worker(app[SETTINGS], expire_orders)
    other = await new_cart(client)
    await add(client, other, shop.variants["SHIRT-L"], 1)
    assert (await checkout(client, other)).status == 201
    # then the first buyer's payment goes through
    await db.execute("UPDATE orders SET updated_at = now() - interval '1 hour' WHERE id = $1", order_id)
    assert await pay_with_card(stripe_server, intent) == "succeeded"
    event = stripe.event("evt_late", "payment_intent.succeeded", {"object": "payment_intent", "id": intent})
    assert await _post_event(client, event) == 200
    assert await db.fetchval("SELECT payment_status FROM orders WHERE id = $1", order_id) == "paid"
    await run_worker(app[SETTINGS])  # the refund job the event queued
    job = await db.fetchval("SELECT id FROM job_outbox")
    await enqueue_job(app[REDIS], job, attempt="again")  # delivered twice: refunds once
    await run_worker(app[SETTINGS])
    row = await db.fetchrow(
        "SELECT status, payment_status, refunded, total FROM orders WHERE id = $1", order_id
    )
    assert (row["status"], row["payment_status"], row["refunded"]) == ("cancelled", "refunded", row["total"])
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE order_id = $1", order_id) == 1
    assert await stock(db, "SHIRT-L") == (1, 1)  # held for the other buyer, never below zero


async def test_a_late_payment_with_stock_left_revives_the_order(
    stripe_shop: Shop_, stripe_server: str, shop: Shop, db: asyncpg.Connection
) -> None:
    app, client = stripe_shop
    placed, intent = await _order(client, shop, sku="SHIRT-M", quantity=2)
    await _quiet_webhooks(stripe_server)
    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second'")
    await run_worker(app[SETTINGS], expire_orders)
    assert await stock(db, "SHIRT-M") == (3, 0)
    assert await pay_with_card(stripe_server, intent) == "succeeded"
    event = stripe.event("evt_late2", "payment_intent.succeeded", {"object": "payment_intent", "id": intent})
    assert await _post_event(client, event) == 200
    assert await status_of(client, placed) == "paid"
    assert await stock(db, "SHIRT-M") == (1, 0)


async def _quiet_webhooks(stripe_server: str) -> None:
    """Send localstripe's own webhooks nowhere, so a test can play the events itself."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        hook = {"url": "http://127.0.0.1:9/nowhere", "secret": stripe.WEBHOOK_SECRET}
        await http.post(f"{stripe_server}/_config/webhooks/shopflow", data=hook)


async def test_when_stripe_is_down_nothing_is_held_and_the_cart_can_try_again(
    make_settings: Any, make_client: Any, shop: Shop, db: asyncpg.Connection
) -> None:
    settings = make_settings(**stripe.shop_settings(f"http://127.0.0.1:{free_port()}"))  # nothing listens
    client = await make_client(create_app(settings))
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-M"], 3)
    down = await checkout(client, cart, provider="stripe")
    assert down.status == 503 and "Retry-After" in down.headers
    assert await stock(db, "SHIRT-M") == (3, 0)
    assert await db.fetchval("SELECT status FROM orders") == "cancelled"
    sample = metric_samples(await (await client.get("/metrics")).text())
    assert sample['payment_failures_total{provider="stripe",reason="not_started"}'] == 1
    assert sample['orders_cancelled_total{reason="payment_not_started"}'] == 1
    assert (await checkout(client, cart, provider="manual")).status == 201


async def test_a_refund_while_stripe_is_down_is_503_and_changes_nothing(
    stripe_shop: Shop_,
    stripe_server: str,
    shop: Shop,
    db: asyncpg.Connection,
    make_settings: Any,
    make_client: Any,
) -> None:
    app, client = stripe_shop
    placed, intent = await _paid_unannounced(client, shop, stripe_server)
    event = stripe.event("evt_ok", "payment_intent.succeeded", {"object": "payment_intent", "id": intent})
    assert await _post_event(client, event) == 200
    cut_off = make_settings(**stripe.shop_settings(f"http://127.0.0.1:{free_port()}"))
    other = await make_client(create_app(cut_off))  # another process, which cannot reach Stripe
    staff = await sign_in(other, app, "staff@shop.example", "staff")
    resp = await other.post(f"/api/v1/orders/{placed['order']['id']}/refund", json={}, headers=staff)
    assert resp.status == 503 and "Retry-After" in resp.headers
    row = await db.fetchrow("SELECT status, refunded FROM orders")
    assert (row["status"], row["refunded"]) == ("paid", 0)
    assert await db.fetchval("SELECT count(*) FROM refunds") == 0
