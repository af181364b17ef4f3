"""PayPal: Orders v2 over its REST API (intent CAPTURE), an OAuth2 client-credentials token
kept until it expires, webhooks verified by PayPal's verify-webhook-signature call."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import aiohttp
import orjson

from ..platform.errors import BadRequest, Conflict, Unavailable
from .errors import ProviderRefused
from .models import ProviderState
from .payments import Charge, Started

ZERO_DECIMAL = frozenset({"HUF", "JPY", "TWD"})  # PayPal takes these in whole units
SIGNATURE_HEADERS = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}


class NotApproved(Conflict):
    code = "payment_not_approved"
    title = "The buyer has not approved the payment yet"


class NotCaptured(Conflict):
    code = "payment_not_captured"
    title = "There is no payment to refund"


class BadWebhook(BadRequest):
    code = "bad_signature"
    title = "The webhook signature does not verify"


def paypal_amount(amount: int, currency: str) -> dict[str, str]:
    value = str(amount) if currency in ZERO_DECIMAL else f"{amount // 100}.{amount % 100:02d}"
    return {"currency_code": currency, "value": value}


class PayPal:
    name = "paypal"

    def __init__(self, client_id: str, secret: str, webhook_id: str, api_base: str, public_url: str) -> None:
        self.basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self.webhook_id = webhook_id
        self.base = api_base.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20, connect=5))
        self._token: tuple[str, float] | None = None  # (token, monotonic expiry)
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.http.close()

    async def _access_token(self) -> str:
        async with self._token_lock:  # one fetch when it runs out, however many callers wait
            if self._token is None or self._token[1] <= time.monotonic():
                data = await self._call(
                    "POST",
                    "/v1/oauth2/token",
                    headers={"Authorization": self.basic},
                    data={"grant_type": "client_credentials"},
                )
                self._token = (data["access_token"], time.monotonic() + int(data["expires_in"]) - 60)
            return self._token[0]

    async def _api(
        self, method: str, path: str, body: Any = None, request_id: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {await self._access_token()}", "Prefer": "return=representation"}
        if request_id is not None:
            headers["PayPal-Request-Id"] = request_id  # PayPal runs a request with this id once
        return await self._call(method, path, json=body, headers=headers)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.http.request(method, self.base + path, **kwargs) as resp:
                data = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise Unavailable("PayPal cannot be reached; try again", retry_after=5) from None
        if not isinstance(data, dict):
            data = {}
        issues = [d.get("issue") for d in data.get("details", []) if isinstance(d, dict)]
        if "ORDER_NOT_APPROVED" in issues:
            raise NotApproved("approve the payment at PayPal first")
        if status in (400, 404, 409, 422):  # PayPal said no to this request: say why
            raise ProviderRefused(
                f"PayPal refused: {data.get('name', status)} {' '.join(map(str, issues))}".strip()
            )
        if status >= 400:  # our credentials, or PayPal itself: try again later
            raise Unavailable(f"PayPal failed the request ({status} {data.get('name', '')})", retry_after=5)
        return data

    async def start(self, charge: Charge) -> Started:
        back = f"{self.public_url}/checkout/paypal?order={charge.order_id}"
        order = await self._api(
            "POST",
            "/v2/checkout/orders",
            {
                "intent": "CAPTURE",
                "purchase_units": [
                    {
                        "reference_id": str(charge.order_id),
                        "custom_id": str(charge.order_id),
                        "invoice_id": charge.number,
                        "amount": paypal_amount(charge.amount, charge.currency),
                    }
                ],
                "payment_source": {
                    "paypal": {
                        "email_address": charge.email,  # prefills PayPal's sign-in
                        "experience_context": {
                            "return_url": back,
                            "cancel_url": f"{back}&cancelled=1",
                            "user_action": "PAY_NOW",
                        },
                    }
                },
            },
            request_id=f"order-{charge.order_id}",
        )
        return Started(ref=order["id"], approve_url=_approve_url(order))

    async def payable(self, ref: str) -> Started:
        """Where the buyer approves the payment again, while PayPal still waits for them."""
        order = await self._api("GET", f"/v2/checkout/orders/{ref}")
        waiting = order.get("status") in ("CREATED", "PAYER_ACTION_REQUIRED")
        return Started(ref=ref, approve_url=_approve_url(order) if waiting else None)

    async def capture(self, ref: str) -> None:
        """Take the money the buyer approved; a second call changes nothing."""
        order = await self._api("GET", f"/v2/checkout/orders/{ref}")
        if order["status"] == "APPROVED":
            await self._api("POST", f"/v2/checkout/orders/{ref}/capture", {}, request_id=f"capture-{ref}")
        elif order["status"] != "COMPLETED":
            raise NotApproved("approve the payment at PayPal first")

    async def status(self, ref: str) -> ProviderState:
        """Where the payment stands; approved when the buyer agreed and it waits for capture."""
        order = await self._api("GET", f"/v2/checkout/orders/{ref}")
        if order["status"] == "APPROVED":
            return ProviderState.APPROVED
        if order["status"] == "VOIDED":
            return ProviderState.CANCELLED
        captures = _captures(order)
        if any(c["status"] in ("COMPLETED", "REFUNDED", "PARTIALLY_REFUNDED") for c in captures):
            return ProviderState.PAID
        if any(c["status"] == "DECLINED" for c in captures):
            return ProviderState.FAILED
        return ProviderState.PENDING

    async def refund(self, ref: str | None, charge: Charge, amount: int, key: str) -> str | None:
        order = await self._api("GET", f"/v2/checkout/orders/{ref}")
        taken = ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")  # refunded: a retry, which PayPal replays
        capture = next((c for c in _captures(order) if c["status"] in taken), None)
        if capture is None:
            raise NotCaptured("PayPal holds no payment for this order to refund")
        refund = await self._api(
            "POST",
            f"/v2/payments/captures/{capture['id']}/refund",
            {"amount": paypal_amount(amount, charge.currency)},
            request_id=key,
        )
        return str(refund["id"])

    async def refunded(self, ref: str) -> int:
        """How much of the order's payment has been refunded, in minor units."""
        order = await self._api("GET", f"/v2/checkout/orders/{ref}")
        units = order.get("purchase_units") or [{}]
        total = 0
        for refund in units[0].get("payments", {}).get("refunds", []):
            if refund["status"] == "COMPLETED":
                value, currency = refund["amount"]["value"], refund["amount"]["currency_code"]
                total += int(value) if currency in ZERO_DECIMAL else round(float(value) * 100)
        return total

    async def cancel(self, ref: str | None) -> None:
        return None  # an uncaptured PayPal order lapses by itself; nothing was taken

    async def event(self, payload: bytes, headers: Any) -> dict[str, Any]:
        """The event, if PayPal confirms it sent it to our webhook."""
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise BadWebhook("the body is not a PayPal event") from None
        fields = {name: headers.get(header, "") for name, header in SIGNATURE_HEADERS.items()}
        if not all(fields.values()) or not isinstance(event, dict):
            raise BadWebhook("the PayPal signature headers are missing")
        answer = await self._api(
            "POST",
            "/v1/notifications/verify-webhook-signature",
            {**fields, "webhook_id": self.webhook_id, "webhook_event": event},
        )
        if answer.get("verification_status") != "SUCCESS":
            raise BadWebhook("PayPal did not confirm the webhook signature")
        return event


def _approve_url(order: dict[str, Any]) -> str | None:
    links = order.get("links", [])
    return next((link["href"] for link in links if link.get("rel") in ("approve", "payer-action")), None)


def _captures(order: dict[str, Any]) -> list[dict[str, Any]]:
    units = order.get("purchase_units") or [{}]
    return list(units[0].get("payments", {}).get("captures", []))
