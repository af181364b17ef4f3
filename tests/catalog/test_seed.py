"""The demo shop seed."""

from __future__ import annotations

from typing import Any

import asyncpg

from shopflow.catalog import seed


async def test_seed_builds_a_browsable_shop(db: asyncpg.Connection, client: Any) -> None:
    assert await seed.is_empty(db)
    assert await seed.seed(db, 300) == 300
    assert not await seed.is_empty(db)
    assert await db.fetchval("SELECT count(*) FROM categories WHERE parent_id IS NULL") >= 10
    assert await db.fetchval("SELECT count(*) FROM categories WHERE parent_id IS NOT NULL") >= 10
    per_product = await db.fetch("SELECT count(*) AS n FROM variants GROUP BY product_id")
    assert len(per_product) == 300
    assert {r["n"] for r in per_product} <= {1, 2, 3, 4, 5}
    assert await db.fetchval("SELECT count(*) FROM stock") == sum(r["n"] for r in per_product)
    wrong_price_min = await db.fetchval(
        "SELECT count(*) FROM products p"
        " WHERE price_min <> (SELECT min(price_amount) FROM variants WHERE product_id = p.id)"
    )
    assert wrong_price_min == 0

    tree = (await (await client.get("/api/v1/categories")).json())["items"]
    assert len(tree) >= 10 and all(node["children"] for node in tree)
    page = await (await client.get(f"/api/v1/products?category={tree[0]['slug']}&limit=5")).json()
    assert len(page["items"]) == 5
    first = page["items"][0]
    assert (await client.get(f"/api/v1/products/{first['slug']}")).status == 200
    found = await (await client.get("/api/v1/products?q=mug")).json()
    assert found["items"] and all("mug" in p["name"].lower() for p in found["items"])


async def test_seed_is_deterministic(db: asyncpg.Connection) -> None:
    await seed.seed(db, 50)
    first = await db.fetch("SELECT slug FROM products ORDER BY slug")
    await seed.reset(db)
    await seed.seed(db, 50)
    assert await db.fetch("SELECT slug FROM products ORDER BY slug") == first
