"""A local PayPal REST server: OAuth2 client credentials, Orders v2 (create, get, capture),
capture refunds and verify-webhook-signature, with PayPal's shapes and error bodies.

`GET /checkoutnow?token=…` stands for the buyer approving the payment at PayPal. Events for
the shop's webhook are signed by `signed_event`; the verify call accepts only those.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import string
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CLIENT_ID, SECRET, WEBHOOK_ID = "paypal-test-client", "paypal-test-secret", "WH-TEST-1"
_SIGNING_KEY = b"paypal-test-signing-key"


def _id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(17))


def _error(status: int, name: str, issue: str) -> web.Response:
    body = {"name": name, "message": issue, "debug_id": _id().lower(), "details": [{"issue": issue}]}
    return web.json_response(body, status=status)


def _signature(transmission_id: str, at: str, webhook_id: str, event: dict[str, Any]) -> str:
    crc = zlib.crc32(json.dumps(event, sort_keys=True, separators=(",", ":")).encode())
    message = f"{transmission_id}|{at}|{webhook_id}|{crc}".encode()
    return base64.b64encode(hmac.new(_SIGNING_KEY, message, hashlib.sha256).digest()).decode()


def signed_event(event: dict[str, Any], webhook_id: str = WEBHOOK_ID) -> tuple[bytes, dict[str, str]]:
    """An event's body and the PAYPAL-* headers PayPal sends with it."""
    transmission_id, at = secrets.token_hex(8), "2026-11-25T12:00:00Z"
    headers = {
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "PAYPAL-CERT-URL": "https://api.paypal.com/v1/notifications/certs/CERT-1",
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-SIG": _signature(transmission_id, at, webhook_id, event),
        "PAYPAL-TRANSMISSION-TIME": at,
        "Content-Type": "application/json",
    }
    return json.dumps(event).encode(), headers


@dataclass
class PayPalServer:
    base_url: str = ""
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # PayPal-Request-Id
    tokens: set[str] = field(default_factory=set)
    token_fetches: int = 0
    decline_next: bool = False
    hold_refunds: asyncio.Event | None = None  # set: a refund is made, then its answer waits

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/oauth2/token", self.token)
        app.router.add_post("/v2/checkout/orders", self.create)
        app.router.add_get("/v2/checkout/orders/{id}", self.show)
        app.router.add_post("/v2/checkout/orders/{id}/capture", self.capture)
        app.router.add_post("/v2/payments/captures/{id}/refund", self.refund)
        app.router.add_post("/v1/notifications/verify-webhook-signature", self.verify)
        app.router.add_get("/checkoutnow", self.approve)
        return app

    async def token(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        form = await request.post()
        if request.headers.get("Authorization") != expected or form.get("grant_type") != "client_credentials":
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client Authentication failed"}, status=401
            )
        self.token_fetches += 1
        token = "A21AA" + secrets.token_urlsafe(32)
        self.tokens.add(token)
        return web.json_response(
            {
                "scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": 32400,
                "nonce": _id(),
            }
        )

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens

    async def _once(self, request: web.Request, run: Any) -> web.Response:
        """PayPal-Request-Id: the same id gets the first answer again."""
        if not self._authorized(request):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN")
        key = request.headers.get("PayPal-Request-Id")
        if key and key in self.replies:
            status, body = self.replies[key]
            return web.json_response(body, status=status)
        status, body = await run()
        if key and status < 400:
            self.replies[key] = (status, body)
        return web.json_response(body, status=status)

    async def create(self, request: web.Request) -> web.Response:
        async def run() -> tuple[int, dict[str, Any]]:
            body = await request.json()
            if body.get("intent") != "CAPTURE" or not body.get("purchase_units"):
                return 400, {"name": "INVALID_REQUEST", "details": [{"issue": "MISSING_REQUIRED_PARAMETER"}]}
            order_id = _id()
            context = body.get("payment_source", {}).get("paypal", {}).get("experience_context", {})
            self.orders[order_id] = order = {
                "id": order_id,
                "intent": "CAPTURE",
                "status": "PAYER_ACTION_REQUIRED",
                "purchase_units": body["purchase_units"],
                "return_url": context.get("return_url"),
                "links": [
                    {
                        "href": f"{self.base_url}/v2/checkout/orders/{order_id}",
                        "rel": "self",
                        "method": "GET",
                    },
                    {
                        "href": f"{self.base_url}/checkoutnow?token={order_id}",
                        "rel": "payer-action",
                        "method": "GET",
                    },
                ],
            }
            return 200, order

        return await self._once(request, run)

    async def show(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN")
        order = self.orders.get(request.match_info["id"])
        return web.json_response(order) if order else _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")

    async def approve(self, request: web.Request) -> web.Response:
        order = self.orders[request.query["token"]]
        if order["status"] == "PAYER_ACTION_REQUIRED":
            order["status"] = "APPROVED"
        raise web.HTTPFound(f"{order['return_url']}&token={order['id']}&PayerID=BUYER1")

    async def capture(self, request: web.Request) -> web.Response:
        async def run() -> tuple[int, dict[str, Any]]:
            order = self.orders.get(request.match_info["id"])
            if order is None:
                return 404, {"name": "RESOURCE_NOT_FOUND", "details": [{"issue": "INVALID_RESOURCE_ID"}]}
            if order["status"] == "COMPLETED":
                return 422, {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "ORDER_ALREADY_CAPTURED"}]}
            if order["status"] != "APPROVED":
                return 422, {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "ORDER_NOT_APPROVED"}]}
            unit = order["purchase_units"][0]
            declined, self.decline_next = self.decline_next, False
            capture = {
                "id": _id(),
                "status": "DECLINED" if declined else "COMPLETED",
                "amount": unit["amount"],
                "custom_id": unit.get("custom_id"),
                "supplementary_data": {"related_ids": {"order_id": order["id"]}},
            }
            unit["payments"] = {"captures": [capture], "refunds": []}
            order["status"] = "COMPLETED"
            return 201, order

        return await self._once(request, run)

    async def refund(self, request: web.Request) -> web.Response:
        async def run() -> tuple[int, dict[str, Any]]:
            found = [
                (o, c)
                for o in self.orders.values()
                for u in o["purchase_units"]
                for c in u.get("payments", {}).get("captures", [])
                if c["id"] == request.match_info["id"]
            ]
            if not found:
                return 404, {"name": "RESOURCE_NOT_FOUND", "details": [{"issue": "INVALID_RESOURCE_ID"}]}
            order, capture = found[0]
            payments = order["purchase_units"][0]["payments"]
            amount = (await request.json()).get("amount") or capture["amount"]
            cents = lambda a: round(float(a["value"]) * 100)  # noqa: E731
            done = sum(cents(r["amount"]) for r in payments["refunds"])
            if done + cents(amount) > cents(capture["amount"]):
                return 422, {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "REFUND_AMOUNT_EXCEEDED"}]}
            refund = {"id": _id(), "status": "COMPLETED", "amount": amount}
            payments["refunds"].append(refund)
            full = done + cents(amount) == cents(capture["amount"])
            capture["status"] = "REFUNDED" if full else "PARTIALLY_REFUNDED"
            self.replies[request.headers.get("PayPal-Request-Id", "")] = (201, refund)
            if self.hold_refunds is not None:
                await self.hold_refunds.wait()
            return 201, refund

        return await self._once(request, run)

    async def verify(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN")
        body = await request.json()
        expected = _signature(
            body["transmission_id"], body["transmission_time"], body["webhook_id"], body["webhook_event"]
        )
        ok = body["webhook_id"] == WEBHOOK_ID and hmac.compare_digest(expected, body["transmission_sig"])
        return web.json_response({"verification_status": "SUCCESS" if ok else "FAILURE"})
