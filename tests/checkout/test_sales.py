"""Business metrics: what the shop sold, counted once it committed, by the process that did it."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from arq import cron

from shopflow.checkout.tasks import expire_orders
from shopflow.keys import REDIS, SETTINGS
from shopflow.platform.outbox import enqueue_job
from shopflow.platform.settings import Settings
from tests.client import expect
from tests.conftest import metric_samples
from tests.providers import stripe
from workers.settings import build_worker

from .conftest import Shop, add, buyer, checkout, new_cart, pay_with_card
from .test_stripe import Shop_, _order, _post_event, _quiet_webhooks


async def _scrape(client: TestClient) -> dict[str, float]:
    resp = await client.get("/metrics")
    assert resp.status == 200
    return metric_samples(await resp.text())


async def _work(settings: Settings, job: Any = None) -> dict[str, float]:
    """Run a real worker in burst mode (the cron `job` at start, then what is queued); what
    its metrics say after."""
    worker = build_worker(
        settings, burst=True, poll_delay=0.01, cron_jobs=[cron(job, run_at_startup=True)] if job else []
    )
    try:
        await worker.main()
        return metric_samples((await worker.ctx["metrics"].exposition()).decode())
    finally:
        await worker.close()


async def _place(client: TestClient, shop: Shop, sku: str, quantity: int) -> tuple[str, int, dict[str, str]]:
    """A guest order: its id, total and its buyer's headers."""
    cart = await new_cart(client)
    await add(client, cart, shop.variants[sku], quantity)
    placed = await expect(await checkout(client, cart), 201)
    order = placed["order"]
    return order["id"], order["totals"]["total"]["amount"], buyer(placed)


async def test_orders_money_and_refusals_are_counted_with_their_labels(
    client: TestClient, shop: Shop, staff: dict[str, str]
) -> None:
    before = await _scrape(client)
    assert before['orders_placed_total{provider="manual"}'] == 0  # every series from zero
    assert before['payment_failures_total{provider="manual",reason="failed"}'] == 0

    paid, paid_total, _ = await _place(client, shop, "SHIRT-S", 2)
    for _ in range(2):  # marking it paid again changes nothing, and counts nothing
        assert (await client.post(f"/api/v1/orders/{paid}/mark-paid", headers=staff)).status == 200
    part = await client.post(f"/api/v1/orders/{paid}/refund", json={"amount": 1000}, headers=staff)
    assert part.status == 200
    too_much = await client.post(f"/api/v1/orders/{paid}/refund", json={"amount": 10**6}, headers=staff)
    assert too_much.status == 422  # refused: nothing counted

    dropped, _, its_buyer = await _place(client, shop, "SHIRT-M", 1)
    assert (await client.post(f"/api/v1/orders/{dropped}/cancel", headers=its_buyer)).status == 200

    returned, returned_total, _ = await _place(client, shop, "SHIRT-S", 1)
    assert (await client.post(f"/api/v1/orders/{returned}/mark-paid", headers=staff)).status == 200
    assert (await client.post(f"/api/v1/orders/{returned}/cancel", headers=staff)).status == 200

    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-L"], 2)  # one in stock
    short = await checkout(client, cart)
    assert short.status == 409 and (await short.json())["code"] == "out_of_stock"

    after = await _scrape(client)
    assert after['orders_placed_total{provider="manual"}'] == 3
    assert after['orders_paid_total{provider="manual"}'] == 2
    assert after['orders_cancelled_total{reason="buyer"}'] == 1
    assert after['orders_cancelled_total{reason="staff"}'] == 1
    assert after['orders_cancelled_total{reason="expired"}'] == 0
    assert after['order_refunds_total{provider="manual",reason="staff"}'] == 1
    assert after['order_refunds_total{provider="manual",reason="cancelled"}'] == 1
    assert after['revenue_minor_units_total{currency="USD"}'] == paid_total + returned_total
    assert after['refunded_minor_units_total{currency="USD"}'] == 1000 + returned_total
    assert after["checkout_out_of_stock_total"] == 1
    assert not [k for k in after if "stripe" in k or "paypal" in k]  # providers not offered


async def test_expiry_is_counted_by_the_worker_that_did_it(
    client: TestClient, app: Any, shop: Shop, db: asyncpg.Connection
) -> None:
    await _place(client, shop, "SHIRT-M", 1)
    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second'")
    worker = await _work(app[SETTINGS], expire_orders)
    assert worker['orders_cancelled_total{reason="expired"}'] == 1
    assert worker['worker_jobs_total{function="cron:expire_orders",outcome="success"}'] == 1
    assert (await _scrape(client))['orders_cancelled_total{reason="expired"}'] == 0  # not the web's


async def test_a_late_payment_is_revenue_and_its_refund_is_counted_once(
    stripe_shop: Shop_, stripe_server: str, shop: Shop, db: asyncpg.Connection
) -> None:
    app, client = stripe_shop
    placed, intent = await _order(client, shop, sku="SHIRT-L")  # the last one
    total = placed["order"]["totals"]["total"]["amount"]
    await _quiet_webhooks(stripe_server)
    # the reservation expires and someone else buys the shirt; then the payment comes
    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second'")
    await _work(app[SETTINGS], expire_orders)
    await _place(client, shop, "SHIRT-L", 1)
    assert await pay_with_card(stripe_server, intent) == "succeeded"
    event = stripe.event("evt_late", "payment_intent.succeeded", {"object": "payment_intent", "id": intent})
    assert await _post_event(client, event) == 200
    web = await _scrape(client)
    assert web['revenue_minor_units_total{currency="USD"}'] == total
    assert web['orders_paid_total{provider="stripe"}'] == 0  # the order stays cancelled

    first = await _work(app[SETTINGS])  # the refund job the event queued
    await enqueue_job(app[REDIS], await db.fetchval("SELECT id FROM job_outbox"), attempt="again")
    second = await _work(app[SETTINGS])  # delivered again: nothing more to give back
    refunds = 'order_refunds_total{provider="stripe",reason="late_payment"}'
    assert (first[refunds], second[refunds]) == (1, 0)
    assert first['refunded_minor_units_total{currency="USD"}'] == total
