"""PayPal Orders v2 end to end against a local PayPal server."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
from aiohttp.test_utils import TestClient

from shopflow.checkout.tasks import expire_orders, reconcile_payments
from shopflow.keys import CHECKOUT, REDIS, SETTINGS
from tests.conftest import sign_in
from tests.providers import paypal
from tests.providers.paypal import PayPalServer, signed_event
from workers.outbox import relay_jobs

from .conftest import Shop, add, buyer, checkout, eventually, new_cart, run_worker, stock


async def _place(client: TestClient, shop: Shop, quantity: int = 1) -> dict[str, Any]:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], quantity)
    resp = await checkout(client, cart, provider="paypal")
    assert resp.status == 201, await resp.text()
    return await resp.json()  # type: ignore[no-any-return]


async def _approve(approve_url: str) -> None:
    """The buyer approves at PayPal, which sends them back to the shop."""
    async with aiohttp.ClientSession() as http, http.get(approve_url, allow_redirects=False) as resp:
        assert (
            resp.status == 302
            and "/checkout/paypal?order="
            in urlsplit(resp.headers["Location"]).path + "?" + urlsplit(resp.headers["Location"]).query
        )


async def test_approve_capture_refund(
    paypal_shop: Any, paypal_server: PayPalServer, shop: Shop, db: asyncpg.Connection
) -> None:
    app, client = paypal_shop
    placed = await _place(client, shop, quantity=2)
    order_id, approve_url = placed["order"]["id"], placed["payment"]["approve_url"]
    assert placed["payment"]["provider"] == "paypal" and approve_url.startswith(paypal_server.base_url)
    early = await client.post(f"/api/v1/orders/{order_id}/capture", headers=buyer(placed))
    assert early.status == 409 and (await early.json())["code"] == "payment_not_approved"

    await _approve(approve_url)
    key = {"Idempotency-Key": "capture-1", **buyer(placed)}
    captured = await client.post(f"/api/v1/orders/{order_id}/capture", headers=key)
    assert captured.status == 200, await captured.text()
    assert (await captured.json())["status"] == "paid"
    again = await client.post(f"/api/v1/orders/{order_id}/capture", headers=key)
    assert again.status == 200 and again.headers["Idempotent-Replayed"] == "true"
    paid = await client.post(f"/api/v1/orders/{order_id}/capture", headers=buyer(placed))  # not a retry
    assert paid.status == 409 and (await paid.json())["code"] == "invalid_order_state"
    ref = await db.fetchval("SELECT payment_ref FROM orders")
    assert len(paypal_server.orders[ref]["purchase_units"][0]["payments"]["captures"]) == 1
    assert await stock(db, "SHIRT-S") == (8, 0)

    staff = await sign_in(client, app, "staff@shop.example", "staff")
    part = await client.post(f"/api/v1/orders/{order_id}/refund", json={"amount": 2000}, headers=staff)
    assert part.status == 200 and (await part.json())["status"] == "partially_refunded"
    rest = await client.post(f"/api/v1/orders/{order_id}/refund", json={}, headers=staff)
    assert (await rest.json())["status"] == "refunded"
    refunds = paypal_server.orders[ref]["purchase_units"][0]["payments"]["refunds"]
    assert [r["amount"]["value"] for r in refunds] == ["20.00", "45.00"]
    assert paypal_server.token_fetches == 1  # the token is kept until it expires


async def test_an_approval_webhook_completes_the_order(
    paypal_shop: Any, paypal_server: PayPalServer, shop: Shop, db: asyncpg.Connection
) -> None:
    _, client = paypal_shop
    placed = await _place(client, shop)
    await _approve(placed["payment"]["approve_url"])
    ref = await db.fetchval("SELECT payment_ref FROM orders")
    event = {
        "id": "WH-EVT-1",
        "event_type": "CHECKOUT.ORDER.APPROVED",
        "resource": {"id": ref, "status": "APPROVED"},
    }
    body, headers = signed_event(event)
    for _ in range(3):
        resp = await client.post("/api/v1/webhooks/paypal", data=body, headers=headers)
        assert resp.status == 200
    assert (
        await (await client.get(f"/api/v1/orders/{placed['order']['id']}", headers=buyer(placed))).json()
    )["status"] == "paid"
    assert await db.fetchval("SELECT count(*) FROM order_history WHERE status = 'paid'") == 1


async def test_a_forged_event_is_refused(
    paypal_shop: Any, paypal_server: PayPalServer, shop: Shop, db: asyncpg.Connection
) -> None:
    _, client = paypal_shop
    placed = await _place(client, shop)
    await _approve(placed["payment"]["approve_url"])
    ref = await db.fetchval("SELECT payment_ref FROM orders")
    event = {"id": "WH-EVT-2", "event_type": "CHECKOUT.ORDER.APPROVED", "resource": {"id": ref}}
    body, headers = signed_event(event, webhook_id="WH-SOMEONE-ELSE")
    forged = await client.post("/api/v1/webhooks/paypal", data=body, headers=headers)
    assert forged.status == 400 and (await forged.json())["code"] == "bad_signature"
    unsigned = await client.post("/api/v1/webhooks/paypal", json=event)
    assert unsigned.status == 400
    assert await db.fetchval("SELECT status FROM orders") == "pending_payment"


async def test_an_approval_nobody_captured_is_completed_by_the_reconcile_job(
    paypal_shop: Any, paypal_server: PayPalServer, shop: Shop, db: asyncpg.Connection
) -> None:
    app, client = paypal_shop
    placed = await _place(client, shop)
    await _approve(placed["payment"]["approve_url"])  # then the buyer's browser closes
    await db.execute("UPDATE orders SET updated_at = now() - interval '1 hour'")
    await run_worker(app[SETTINGS], reconcile_payments)
    assert (
        await (await client.get(f"/api/v1/orders/{placed['order']['id']}", headers=buyer(placed))).json()
    )["status"] == "paid"


async def test_an_approval_for_a_cancelled_order_is_never_captured(
    paypal_shop: Any, paypal_server: PayPalServer, shop: Shop, db: asyncpg.Connection
) -> None:
    app, client = paypal_shop
    placed = await _place(client, shop)
    order_id = placed["order"]["id"]
    await _approve(placed["payment"]["approve_url"])
    assert (await client.post(f"/api/v1/orders/{order_id}/cancel", headers=buyer(placed))).status == 200
    late = await client.post(f"/api/v1/orders/{order_id}/capture", headers=buyer(placed))
    assert late.status == 409
    await db.execute("UPDATE orders SET updated_at = now() - interval '1 hour'")
    await run_worker(app[SETTINGS], reconcile_payments)
    ref = await db.fetchval("SELECT payment_ref FROM orders")
    assert "payments" not in paypal_server.orders[ref]["purchase_units"][0]  # no money taken
    assert await db.fetchval("SELECT status FROM orders") == "cancelled"


async def test_a_worker_killed_in_the_middle_of_a_refund_refunds_once(
    paypal_shop: Any, paypal_server: PayPalServer, shop: Shop, db: asyncpg.Connection
) -> None:
    app, client = paypal_shop
    placed = await _place(client, shop)
    await _approve(placed["payment"]["approve_url"])
    ref = await db.fetchval("SELECT payment_ref FROM orders")
    await app[CHECKOUT].payments.get("paypal").capture(ref)  # PayPal takes the money, but the news is late:
    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second'")
    await run_worker(app[SETTINGS], expire_orders)
    await db.execute("UPDATE stock SET on_hand = 0 WHERE sku = 'SHIRT-S'")  # and the stock is gone

    settings = app[SETTINGS]
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SHOPFLOW_ENV": "test",
        "SHOPFLOW_PAYPAL_CLIENT_ID": paypal.CLIENT_ID,
        "SHOPFLOW_PAYPAL_CLIENT_SECRET": paypal.SECRET,
        "SHOPFLOW_PAYPAL_WEBHOOK_ID": paypal.WEBHOOK_ID,
        "SHOPFLOW_PAYPAL_API_BASE": paypal_server.base_url,
    }
    paypal_server.hold_refunds = asyncio.Event()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "shopflow", "worker", env=env)
    try:
        event = {
            "id": "WH-CAP-1",
            "event_type": "PAYMENT.CAPTURE.COMPLETED",
            "resource": {"id": "CAP1", "supplementary_data": {"related_ids": {"order_id": ref}}},
        }
        body, headers = signed_event(event)
        assert (await client.post("/api/v1/webhooks/paypal", data=body, headers=headers)).status == 200

        async def refunded_at_paypal() -> bool:
            return bool(paypal_server.orders[ref]["purchase_units"][0]["payments"]["refunds"])

        await eventually(refunded_at_paypal, 30)  # the worker's refund reached PayPal...
    finally:
        proc.kill()  # ...and the worker dies before it can record it
        await proc.wait()
    paypal_server.hold_refunds.set()
    assert await db.fetchval("SELECT payment_status FROM orders") == "paid"  # its transaction rolled back

    await db.execute("UPDATE job_outbox SET created_at = now() - interval '2 minutes'")
    await app[REDIS].delete("arq:queue")  # the dead worker's delivery is gone; the relay has the job
    await run_worker(settings, relay_jobs)
    row = await db.fetchrow("SELECT status, payment_status, refunded, total FROM orders")
    assert (row["status"], row["payment_status"], row["refunded"]) == ("cancelled", "refunded", row["total"])
    assert len(paypal_server.orders[ref]["purchase_units"][0]["payments"]["refunds"]) == 1
    assert await db.fetchval("SELECT count(*) FROM refunds") == 1
