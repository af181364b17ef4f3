"""A small catalog built through the staff API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class Catalog:
    categories: dict[str, str] = field(default_factory=dict)  # slug -> id
    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # slug -> detail


async def add_category(client: Any, staff: dict[str, str], slug: str, parent: str | None = None) -> str:
    resp = await client.post(
        "/api/v1/categories", json={"slug": slug, "name": slug.title(), "parent_id": parent}, headers=staff
    )
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


async def add_product(
    client: Any,
    staff: dict[str, str],
    name: str,
    *,
    price: int,
    on_hand: int = 5,
    category: str | None = None,
    description: str = "",
    status: str = "active",
    sku: str | None = None,
) -> dict[str, Any]:
    body = {
        "name": name,
        "description": description,
        "category_id": category,
        "status": status,
        "variants": [
            {
                "sku": sku or name.upper().replace(" ", "-"),
                "name": "Default",
                "price": {"amount": price, "currency": "USD"},
                "on_hand": on_hand,
            }
        ],
    }
    resp = await client.post("/api/v1/products", json=body, headers=staff)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


@pytest.fixture
async def catalog(client: Any, staff: dict[str, str]) -> Catalog:
    c = Catalog()
    c.categories["home"] = await add_category(client, staff, "home")
    c.categories["kitchen"] = await add_category(client, staff, "kitchen", c.categories["home"])
    c.categories["garden"] = await add_category(client, staff, "garden")
    for name, price, on_hand, category, description in [
        ("Red Ceramic Mug", 1200, 5, "kitchen", "A sturdy mug for your morning coffee."),
        ("Coffee Grinder", 4500, 0, "kitchen", "Grinds beans evenly."),
        ("Garden Hose", 2500, 3, "garden", "Waters plants. Also rinses coffee cups outdoors."),
        ("Blue Mug", 900, 2, "home", "A small mug."),
    ]:
        p = await add_product(
            client,
            staff,
            name,
            price=price,
            on_hand=on_hand,
            category=c.categories[category],
            description=description,
        )
        c.products[p["slug"]] = p
    return c
