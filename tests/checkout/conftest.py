"""A small shop to buy from: products with variants and stock, written straight to the tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

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


async def stock(db: asyncpg.Connection, sku: str) -> tuple[int, int]:
    row = await db.fetchrow("SELECT on_hand, reserved FROM stock WHERE sku = $1", sku)
    return row["on_hand"], row["reserved"]
