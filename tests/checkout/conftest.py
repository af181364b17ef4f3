"""A small shop to buy from: products with variants and stock, written straight to the tables."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest
import stripe as StripeSdk
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from arq import cron

from shopflow.app import create_app
from shopflow.platform.settings import Settings
from tests.providers import paypal, stripe
from tests.providers.paypal import PayPalServer
from tests.providers.stripe import localstripe
from workers.settings import build_worker

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


@dataclass
class Shop:
    variants: dict[str, str]  # sku -> variant id
    product_id: str


async def add_product(
    db: asyncpg.Connection, slug: str, skus: dict[str, tuple[int, int]], status: str = "active"
) -> tuple[str, dict[str, str]]:
    """A product whose variants are `sku: (price, on_hand)`; its id and sku -> variant id."""
    product_id = await db.fetchval(
        "INSERT INTO products (slug, name, status, currency) VALUES ($1, $2, $3, 'USD') RETURNING id",
        slug,
        slug.replace("-", " ").title(),
        status,
    )
    variants = {}
    for sku, (price, on_hand) in skus.items():
        variants[sku] = str(
            await db.fetchval(
                "INSERT INTO variants (product_id, sku, name, price_amount, currency)"
                " VALUES ($1, $2, $2, $3, 'USD') RETURNING id",
                product_id,
                sku,
                price,
            )
        )
        await db.execute("INSERT INTO stock (sku, on_hand) VALUES ($1, $2)", sku, on_hand)
    return str(product_id), variants


@pytest.fixture
async def shop(db: asyncpg.Connection) -> Shop:
    product_id, variants = await add_product(
        db, "linen-shirt", {"SHIRT-S": (2500, 10), "SHIRT-M": (2500, 3), "SHIRT-L": (2700, 1)}
    )
    return Shop(variants, product_id)


async def new_cart(client: Any, headers: dict[str, str] | None = None) -> str:
    resp = await client.post("/api/v1/carts", headers=headers or {})
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


async def add(
    client: Any, cart: str, variant: str, quantity: int, headers: dict[str, str] | None = None
) -> Any:
    return await client.post(
        f"/api/v1/carts/{cart}/items",
        json={"variant_id": variant, "quantity": quantity},
        headers=headers or {},
    )


async def checkout(
    client: Any, cart: str, headers: dict[str, str] | None = None, provider: str = "manual", **extra: Any
) -> Any:
    body = {"email": "ada@example.com", "shipping_address": ADDRESS, "payment_provider": provider, **extra}
    return await client.post(f"/api/v1/carts/{cart}/checkout", json=body, headers=headers or {})


def buyer(placed: dict[str, Any]) -> dict[str, str]:
    """The headers of whoever holds a guest order's secret, as answered at checkout."""
    return {"X-Order-Token": placed["order_token"]}


async def status_of(client: Any, placed: dict[str, Any]) -> str:
    """A guest order's status, as its buyer sees it."""
    resp = await client.get(f"/api/v1/orders/{placed['order']['id']}", headers=buyer(placed))
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["status"])


async def stock(db: asyncpg.Connection, sku: str) -> tuple[int, int]:
    row = await db.fetchrow("SELECT on_hand, reserved FROM stock WHERE sku = $1", sku)
    return row["on_hand"], row["reserved"]


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[str]:
    with localstripe() as url:
        yield url


@pytest.fixture
async def stripe_shop(
    make_settings: Callable[..., Settings], make_client: Any, stripe_server: str
) -> tuple[web.Application, TestClient]:
    """A shop taking Stripe through localstripe, whose webhooks come to this shop."""
    settings = make_settings(**stripe.shop_settings(stripe_server))
    app = create_app(settings)
    client = await make_client(app)
    hook = {"url": str(client.make_url("/api/v1/webhooks/stripe")), "secret": stripe.WEBHOOK_SECRET}
    async with aiohttp.ClientSession() as http:
        await http.delete(f"{stripe_server}/_config/data")
        await http.post(f"{stripe_server}/_config/webhooks/shopflow", data=hook)
    return app, client


@pytest.fixture
async def paypal_server() -> AsyncIterator[PayPalServer]:
    fake = PayPalServer()
    server = TestServer(fake.app())
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@pytest.fixture
async def paypal_shop(
    make_settings: Callable[..., Any], make_client: Any, paypal_server: PayPalServer
) -> tuple[web.Application, TestClient]:
    app = create_app(
        make_settings(
            paypal_client_id=paypal.CLIENT_ID,
            paypal_client_secret=paypal.SECRET,
            paypal_webhook_id=paypal.WEBHOOK_ID,
            paypal_api_base=paypal_server.base_url,
        )
    )
    return app, await make_client(app)


async def pay_with_card(stripe_server: str, intent_id: str, number: str = "4242424242424242") -> str:
    """What Stripe.js does in the buyer's browser: attach a card and confirm; the status."""
    http = StripeSdk.AIOHTTPClient()
    sdk = StripeSdk.StripeClient(stripe.SECRET_KEY, base_addresses={"api": stripe_server}, http_client=http)
    try:
        card = {"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}
        method = await sdk.v1.payment_methods.create_async(params={"type": "card", "card": card})  # type: ignore[typeddict-item]
        await sdk.v1.payment_intents.update_async(intent_id, params={"payment_method": method.id})
        try:
            return (await sdk.v1.payment_intents.confirm_async(intent_id)).status
        except StripeSdk.CardError:
            return "declined"
    finally:
        await http.close_async()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    """Wait for something another process does (a webhook arriving)."""
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"still not so after {seconds} s")


async def run_worker(settings: Settings, job: Any = None) -> None:
    """Run a real worker in burst mode: the cron `job` at start, then whatever is queued."""
    jobs = [cron(job, run_at_startup=True)] if job is not None else []
    worker = build_worker(settings, burst=True, poll_delay=0.01, cron_jobs=jobs)
    await worker.main()
    await worker.close()
