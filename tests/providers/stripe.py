"""localstripe (a stateful Stripe API server) for the tests, and Stripe-signed events."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from aiohttp import web

from shopflow.platform.embedded import free_port

SECRET_KEY = "sk_test_shopflow"
WEBHOOK_SECRET = "whsec_shopflow_test"


def shop_settings(api_base: str) -> dict[str, str]:
    """The settings of a shop taking Stripe at `api_base` (localstripe, or a front of it)."""
    return {
        "stripe_secret_key": SECRET_KEY,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_api_base": api_base,
    }


@contextmanager
def localstripe() -> Iterator[str]:
    """Run localstripe on a free port; its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def signed(event: dict[str, Any], at: int | None = None, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """An event's body and its Stripe-Signature header, as Stripe makes them."""
    payload = json.dumps(event).encode()
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={at},v1={mac}"


def event(event_id: str, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2024-06-20",
        "data": {"object": obj},
    }


class StripeFront:
    """Stripe in front of localstripe, with two things localstripe lacks: a POST sent again
    with its Idempotency-Key gets the first answer, as Stripe does for 24 hours; and
    PaymentIntent creations can be held, to catch a shop process inside one. `hold` is
    "before" (Stripe never sees it) or "after" (Stripe made the intent; the answer never
    leaves); `arrived` is set when one is held; `created` counts those Stripe made."""

    def __init__(self, upstream: str, hold: str | None = None) -> None:
        self.upstream = upstream
        self.hold = hold
        self.arrived = asyncio.Event()
        self.released = asyncio.Event()  # set to let held requests end (the test's teardown)
        self.created = 0
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key in self.answers:
            status, body = self.answers[key]
            return web.Response(status=status, body=body, content_type="application/json")
        creating = request.method == "POST" and request.path == "/v1/payment_intents"
        if creating and self.hold == "before":
            await self._held()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                request.method, self.upstream + request.path_qs, data=await request.read(), headers=headers
            ) as resp,
        ):
            status, body = resp.status, await resp.read()
        if request.method == "POST" and key is not None:
            self.answers[key] = (status, body)
        self.created += creating and status == 200
        if creating and self.hold == "after":
            await self._held()
        return web.Response(status=status, body=body, content_type="application/json")

    async def _held(self) -> None:
        self.hold = None  # the next one goes through: it is the retry's
        self.arrived.set()
        await self.released.wait()
