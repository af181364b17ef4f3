"""A small catalog built through the staff API."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest

from shopflow.platform.db import Executor


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


LADDER = "abcdefabcdef"
WIDTHS = (160, 320)
EXTENSIONS = {"avif": "avif", "webp": "webp", "jpeg": "jpg"}


def variants(sha: str) -> list[dict[str, Any]]:
    """A ready media's variants as its row lists them (the bytes need not exist)."""
    return [
        {
            "width": w,
            "height": w * 3 // 4,
            "format": fmt,
            "key": f"variants/{sha}/{LADDER}/{w}.{ext}",
            "bytes": 1000 + w,
        }
        for w in WIDTHS
        for fmt, ext in EXTENSIONS.items()
    ]


async def add_media(db: Executor, status: str = "ready", alt: str = "") -> str:
    """The id of a new media row as the media component leaves one: `ready` with its
    variants, `processing`, or `failed`. (Test setup: the catalog itself never touches it.)"""
    sha = hashlib.sha256(uuid4().bytes).hexdigest()
    ready = status == "ready"
    media_id = await db.fetchval(
        """INSERT INTO media (sha256, content_type, bytes, alt, status, error_code, error_detail,
                              width, height, placeholder, ladder, variants)
           VALUES ($1, 'image/jpeg', 12345, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb) RETURNING id""",
        sha,
        alt,
        status,
        "corrupt" if status == "failed" else None,
        "the image could not be decoded" if status == "failed" else None,
        640 if ready else None,
        480 if ready else None,
        "AAAA" if ready else None,
        LADDER if ready else None,
        json.dumps(variants(sha) if ready else []),
    )
    return str(media_id)


CATALOG = [
    ("Red Ceramic Mug", 1200, 5, "kitchen", "A sturdy mug for your morning coffee."),
    ("Coffee Grinder", 4500, 0, "kitchen", "Grinds beans evenly."),
    ("Garden Hose", 2500, 3, "garden", "Waters plants. Also rinses coffee cups outdoors."),
    ("Blue Mug", 900, 2, "home", "A small mug."),
]


async def build_catalog(
    client: Any, staff: dict[str, str], products: list[tuple[str, int, int, str, str]]
) -> Catalog:
    """Categories home > kitchen and garden, and `products` (name, price, on hand, category,
    description) made through the staff API."""
    c = Catalog()
    c.categories["home"] = await add_category(client, staff, "home")
    c.categories["kitchen"] = await add_category(client, staff, "kitchen", c.categories["home"])
    c.categories["garden"] = await add_category(client, staff, "garden")
    for name, price, on_hand, category, description in products:
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


@pytest.fixture
async def catalog(client: Any, staff: dict[str, str]) -> Catalog:
    return await build_catalog(client, staff, CATALOG)
