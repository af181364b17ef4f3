"""Product detail, the cache in front of it, and the staff writes that invalidate it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
import pytest

from shopflow.catalog.models import ProductDetail
from tests.catalog.conftest import Catalog, add_product


def by_name(catalog: Catalog, name: str) -> dict[str, Any]:
    return next(p for p in catalog.products.values() if p["name"] == name)


async def detail(client: Any, key: str) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/products/{key}")
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_detail_by_id_and_slug(client: Any, catalog: Catalog) -> None:
    mug = by_name(catalog, "Red Ceramic Mug")
    doc = await detail(client, mug["id"])
    ProductDetail.model_validate(doc)
    assert doc == await detail(client, mug["slug"])
    assert doc["category"]["slug"] == "kitchen"
    assert doc["variants"][0]["stock_available"] == 5
    assert doc["price_range"] == {
        "min": {"amount": 1200, "currency": "USD"},
        "max": {"amount": 1200, "currency": "USD"},
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", doc["created_at"])


async def test_unknown_and_unlisted_products_are_404(
    client: Any, staff: dict[str, str], catalog: Catalog
) -> None:
    draft = await add_product(client, staff, "Draft Lamp", price=100, status="draft")
    for key in ("no-such-thing", "00000000-0000-0000-0000-000000000000", draft["id"], draft["slug"]):
        resp = await client.get(f"/api/v1/products/{key}")
        assert resp.status == 404
        assert (await resp.json())["code"] == "product_not_found"


async def test_writes_invalidate_the_cached_detail(
    client: Any, staff: dict[str, str], catalog: Catalog, app: Any
) -> None:
    from shopflow.keys import CACHE, REDIS

    mug = by_name(catalog, "Red Ceramic Mug")
    await detail(client, mug["id"])
    await detail(client, mug["slug"])
    assert await app[REDIS].exists(app[CACHE].redis_key(f"catalog:product:{mug['id']}"))

    sku = mug["variants"][0]["sku"]
    resp = await client.put(f"/api/v1/inventory/{sku}", json={"on_hand": 42}, headers=staff)
    assert await resp.json() == {"sku": sku, "on_hand": 42, "reserved": 0, "available": 42}
    assert (await detail(client, mug["id"]))["variants"][0]["stock_available"] == 42
    assert (await detail(client, mug["slug"]))["variants"][0]["stock_available"] == 42

    resp = await client.patch(
        f"/api/v1/products/{mug['id']}", json={"name": "Crimson Mug", "slug": "crimson-mug"}, headers=staff
    )
    assert resp.status == 200
    assert (await detail(client, mug["id"]))["name"] == "Crimson Mug"
    assert (await detail(client, "crimson-mug"))["name"] == "Crimson Mug"
    assert (await client.get(f"/api/v1/products/{mug['slug']}")).status == 404

    variant = mug["variants"][0]["id"]
    resp = await client.patch(
        f"/api/v1/variants/{variant}", json={"price": {"amount": 1500, "currency": "USD"}}, headers=staff
    )
    assert resp.status == 200
    assert (await detail(client, mug["id"]))["price_range"]["max"]["amount"] == 1500

    assert (await client.delete(f"/api/v1/products/{mug['id']}", headers=staff)).status == 204
    assert (await client.get(f"/api/v1/products/{mug['id']}")).status == 404
    assert (await client.get("/api/v1/products/crimson-mug")).status == 404


async def test_a_thousand_concurrent_misses_make_one_load(client: Any, catalog: Catalog) -> None:
    mug = by_name(catalog, "Blue Mug")
    responses = await asyncio.gather(*(client.get(f"/api/v1/products/{mug['id']}") for _ in range(1000)))
    bodies = {await r.read() for r in responses}
    assert {r.status for r in responses} == {200}
    assert len(bodies) == 1
    metrics = await (await client.get("/metrics")).text()
    assert 'cache_loads_total{cache="product"} 1.0' in metrics


async def test_variants_add_update_delete(
    client: Any, staff: dict[str, str], catalog: Catalog, db: asyncpg.Connection
) -> None:
    hose = by_name(catalog, "Garden Hose")
    resp = await client.post(
        f"/api/v1/products/{hose['id']}/variants",
        json={
            "sku": "HOSE-30M",
            "name": "30 m",
            "options": {"length": "30m"},
            "price": {"amount": 4000, "currency": "USD"},
            "on_hand": 2,
        },
        headers=staff,
    )
    assert resp.status == 201
    doc = await resp.json()
    assert [v["sku"] for v in doc["variants"]] == ["GARDEN-HOSE", "HOSE-30M"]
    assert doc["price_range"]["max"]["amount"] == 4000
    assert (await detail(client, hose["id"]))["price_range"]["max"]["amount"] == 4000

    new_variant = doc["variants"][1]["id"]
    await db.execute("UPDATE stock SET reserved = 1 WHERE sku = 'HOSE-30M'")
    resp = await client.delete(f"/api/v1/variants/{new_variant}", headers=staff)
    assert resp.status == 409
    assert (await resp.json())["code"] == "stock_reserved"
    await db.execute("UPDATE stock SET reserved = 0 WHERE sku = 'HOSE-30M'")
    assert (await client.delete(f"/api/v1/variants/{new_variant}", headers=staff)).status == 204
    assert (await detail(client, hose["id"]))["price_range"]["max"]["amount"] == 2500
    assert (await client.delete(f"/api/v1/variants/{new_variant}", headers=staff)).status == 404
    assert (await client.delete("/api/v1/variants/not-a-uuid", headers=staff)).status == 404


async def test_inventory_rules(
    client: Any, staff: dict[str, str], catalog: Catalog, db: asyncpg.Connection
) -> None:
    assert (await client.put("/api/v1/inventory/NOPE", json={"on_hand": 1}, headers=staff)).status == 404
    assert (await client.put("/api/v1/inventory/BLUE-MUG", json={"on_hand": -1}, headers=staff)).status == 422
    assert (
        await client.put("/api/v1/inventory/BLUE-MUG", json={"on_hand": "3"}, headers=staff)
    ).status == 422
    await db.execute("UPDATE stock SET reserved = 2 WHERE sku = 'BLUE-MUG'")
    resp = await client.put("/api/v1/inventory/BLUE-MUG", json={"on_hand": 1}, headers=staff)
    assert resp.status == 409
    assert (await resp.json())["reserved"] == 2
    resp = await client.put("/api/v1/inventory/BLUE-MUG", json={"on_hand": 2}, headers=staff)
    assert await resp.json() == {"sku": "BLUE-MUG", "on_hand": 2, "reserved": 2, "available": 0}


def _variant(**over: Any) -> dict[str, Any]:
    return {"sku": "NEW-1", "name": "One", "price": {"amount": 100, "currency": "USD"}, **over}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"name": "X", "variants": [_variant(price={"amount": 12.5, "currency": "USD"})]},
            422,
            "validation_failed",
        ),
        (
            {"name": "X", "variants": [_variant(price={"amount": -1, "currency": "USD"})]},
            422,
            "validation_failed",
        ),
        (
            {"name": "X", "variants": [_variant(price={"amount": 100, "currency": "EUR"})]},
            422,
            "wrong_currency",
        ),
        ({"name": "X", "variants": [_variant(sku="bad sku!")]}, 422, "validation_failed"),
        ({"name": "X", "variants": [_variant(sku="BLUE-MUG")]}, 409, "sku_taken"),
        ({"name": "X", "variants": [_variant(), _variant()]}, 409, "sku_taken"),
        ({"name": "X", "slug": "blue-mug"}, 409, "slug_taken"),
        ({"name": "X", "slug": "Not A Slug"}, 422, "validation_failed"),
        ({"name": "X", "category_id": "00000000-0000-0000-0000-000000000000"}, 422, "unknown_category"),
        ({"name": "X", "role": "admin"}, 422, "validation_failed"),
        ({"name": None}, 422, "validation_failed"),
        ({"name": ""}, 422, "validation_failed"),
        ({"name": "X", "status": "deleted"}, 422, "validation_failed"),
        ({"name": "X", "attributes": []}, 422, "validation_failed"),
    ],
)
async def test_bad_product_bodies(
    client: Any, staff: dict[str, str], catalog: Catalog, body: dict[str, Any], status: int, code: str
) -> None:
    resp = await client.post("/api/v1/products", json=body, headers=staff)
    assert resp.status == status, await resp.text()
    assert (await resp.json())["code"] == code


async def test_failed_create_leaves_nothing_behind(
    client: Any, staff: dict[str, str], catalog: Catalog, db: asyncpg.Connection
) -> None:
    body = {"name": "Half", "slug": "half", "variants": [_variant(sku="HALF-1"), _variant(sku="BLUE-MUG")]}
    assert (await client.post("/api/v1/products", json=body, headers=staff)).status == 409
    assert await db.fetchval("SELECT count(*) FROM products WHERE slug = 'half'") == 0
    assert await db.fetchval("SELECT count(*) FROM stock WHERE sku = 'HALF-1'") == 0


async def test_bad_patches(client: Any, staff: dict[str, str], catalog: Catalog) -> None:
    mug = by_name(catalog, "Blue Mug")
    url = f"/api/v1/products/{mug['id']}"
    assert (await client.patch(url, json={}, headers=staff)).status == 422
    assert (await client.patch(url, json={"name": None}, headers=staff)).status == 422
    assert (await client.patch(url, json={"slug": "red-ceramic-mug"}, headers=staff)).status == 409
    assert (await client.patch(url, json={"category_id": None}, headers=staff)).status == 200
    missing = "/api/v1/products/00000000-0000-0000-0000-000000000000"
    assert (await client.patch(missing, json={"name": "Y"}, headers=staff)).status == 404


async def test_slug_is_made_from_the_name_and_kept_unique(
    client: Any, staff: dict[str, str], catalog: Catalog
) -> None:
    first = await add_product(client, staff, "Tea Pot", price=100, sku="TP-1")
    second = await add_product(client, staff, "Tea Pot", price=100, sku="TP-2")
    assert first["slug"] == "tea-pot"
    assert second["slug"].startswith("tea-pot-") and second["slug"] != first["slug"]


async def test_category_tree(client: Any, staff: dict[str, str], catalog: Catalog) -> None:
    tree = (await (await client.get("/api/v1/categories")).json())["items"]
    assert [n["slug"] for n in tree] == ["garden", "home"] or [n["slug"] for n in tree] == ["home", "garden"]
    home = next(n for n in tree if n["slug"] == "home")
    assert [c["slug"] for c in home["children"]] == ["kitchen"]
    resp = await client.post(
        "/api/v1/categories", json={"slug": "bath", "name": "Bath", "parent_id": home["id"]}, headers=staff
    )
    assert resp.status == 201
    tree = (await (await client.get("/api/v1/categories")).json())["items"]
    home = next(n for n in tree if n["slug"] == "home")
    assert {c["slug"] for c in home["children"]} == {"kitchen", "bath"}
    dup = await client.post("/api/v1/categories", json={"slug": "bath", "name": "Bath"}, headers=staff)
    assert dup.status == 409
    orphan = {"slug": "orphan", "name": "Orphan", "parent_id": "00000000-0000-0000-0000-000000000000"}
    resp = await client.post("/api/v1/categories", json=orphan, headers=staff)
    assert resp.status == 422
    assert (await resp.json())["errors"] == [{"field": "parent_id", "message": "unknown"}]
