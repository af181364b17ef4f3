"""localstripe (a stateful Stripe API server) for the tests, and Stripe-signed events."""

from __future__ import annotations

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

from shopflow.platform.embedded import free_port

SECRET_KEY = "sk_test_shopflow"
WEBHOOK_SECRET = "whsec_shopflow_test"


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
