"""The sitemap: one file while the products fit in one, else an index of files that list
every listed product once, each file within the protocol's 50,000 URLs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import asyncpg

from shopflow.catalog import seed
from shopflow.web import pages, seo
from tests.catalog.conftest import Catalog

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
BASE = "http://localhost:8080"


async def xml(client: Any, path: str) -> ET.Element:
    resp = await client.get(path)
    text = await resp.text()
    assert resp.status == 200, f"{path}: {resp.status}: {text[:300]}"
    assert resp.content_type == "application/xml"
    return ET.fromstring(text)


def locs(root: ET.Element, tag: str) -> list[str]:
    return [e.text or "" for e in root.findall(f"s:{tag}/s:loc", NS)]


async def every_url(client: Any) -> list[str]:
    """The page URLs the sitemap leads to, following an index to its files."""
    root = await xml(client, "/sitemap.xml")
    if root.tag == f"{{{NS['s']}}}urlset":
        return locs(root, "url")
    urls = []
    for loc in locs(root, "sitemap"):
        assert loc.startswith(BASE)
        found = locs(await xml(client, loc.removeprefix(BASE)), "url")
        assert 0 < len(found) <= max(pages.SITEMAP_PRODUCTS, 60), loc
        urls += found
    return urls


async def listed_slugs(db: asyncpg.Connection) -> set[str]:
    rows = await db.fetch("SELECT slug FROM products WHERE status = 'active' AND price_min IS NOT NULL")
    return {r["slug"] for r in rows}


def test_a_sitemap_file_stays_within_the_protocol() -> None:
    assert 0 < seo.SITEMAP_PRODUCTS <= 50_000 - 1000  # room for the home and category pages


async def test_a_small_shop_has_one_sitemap_with_last_changes(
    client: Any, staff: dict[str, str], shop: Catalog, db: asyncpg.Connection
) -> None:
    mug = shop.products["blue-mug"]
    resp = await client.patch(f"/api/v1/products/{mug['id']}", json={"status": "draft"}, headers=staff)
    assert resp.status == 200, await resp.text()
    root = await xml(client, "/sitemap.xml")
    assert root.tag.endswith("urlset")
    urls = locs(root, "url")
    assert urls[0] == f"{BASE}/"
    assert {f"{BASE}/c/{c}" for c in ("home", "kitchen", "garden")} <= set(urls)
    products = {u.removeprefix(f"{BASE}/p/") for u in urls if "/p/" in u}
    assert products == await listed_slugs(db) and "blue-mug" not in products  # a draft is not listed
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", e.text or "") for e in root.findall("s:url/s:lastmod", NS))
    assert len(root.findall("s:url/s:lastmod", NS)) == len(products)


async def test_more_products_than_a_file_holds_make_an_index(
    client: Any, db: asyncpg.Connection, monkeypatch: Any
) -> None:
    await seed.seed(db, 250)
    monkeypatch.setattr(pages, "SITEMAP_PRODUCTS", 100)
    root = await xml(client, "/sitemap.xml")
    assert root.tag.endswith("sitemapindex")
    files = locs(root, "sitemap")
    assert files[0] == f"{BASE}/sitemaps/pages.xml" and len(files) == 1 + 3  # 100 + 100 + 50
    urls = await every_url(client)
    assert len(urls) == len(set(urls))  # each page once
    products = {u.removeprefix(f"{BASE}/p/") for u in urls if "/p/" in u}
    assert products == await listed_slugs(db) and len(products) == 250
    categories = await db.fetchval("SELECT count(*) FROM categories")
    assert len(urls) == 250 + categories + 1


async def test_the_index_grows_and_shrinks_with_the_catalog(
    client: Any, db: asyncpg.Connection, monkeypatch: Any
) -> None:
    await seed.seed(db, 30)
    monkeypatch.setattr(pages, "SITEMAP_PRODUCTS", 30)
    assert (await xml(client, "/sitemap.xml")).tag.endswith("urlset")  # exactly full: one file
    first = await db.fetchval("SELECT id FROM products ORDER BY id LIMIT 1")
    await db.execute("UPDATE products SET status = 'archived' WHERE id = $1", first)
    monkeypatch.setattr(pages, "SITEMAP_PRODUCTS", 10)
    files = locs(await xml(client, "/sitemap.xml"), "sitemap")
    assert len(files) == 1 + 3  # 29 listed: 10 + 10 + 9
    assert len(await every_url(client)) == len(set(await every_url(client)))


async def test_an_unknown_sitemap_file_is_404(client: Any, db: asyncpg.Connection) -> None:
    await seed.seed(db, 3)
    for path in (
        "/sitemaps/products-nonsense.xml",
        "/sitemaps/products-ffffffff-ffff-4fff-bfff-ffffffffffff.xml",
    ):
        resp = await client.get(path)
        assert resp.status == 404, path
