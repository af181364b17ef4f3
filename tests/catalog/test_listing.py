"""Listing: full-text search, filters, sorts and keyset pagination."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import uuid4

import pytest

from tests.catalog.conftest import Catalog, add_product

RELEVANCE_1E400 = b'["relevance",1e400,"00000000-0000-4000-8000-000000000000"]'  # a double's infinity


def cursor_of(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).rstrip(b"=").decode()


async def names(client: Any, query: str) -> list[str]:
    resp = await client.get(f"/api/v1/products?{query}")
    assert resp.status == 200, await resp.text()
    return [p["name"] for p in (await resp.json())["items"]]


async def test_search_ranks_name_matches_above_description_matches(client: Any, catalog: Catalog) -> None:
    found = await names(client, "q=coffee")
    assert found[0] == "Coffee Grinder"
    assert set(found) == {"Coffee Grinder", "Red Ceramic Mug", "Garden Hose"}
    assert set(await names(client, "q=mugs")) == {"Blue Mug", "Red Ceramic Mug"}  # stemmed
    assert await names(client, "q=teapot") == []
    assert await names(client, "q=" + "%22unbalanced") == []  # any text is a valid query


async def test_category_includes_descendants(client: Any, catalog: Catalog) -> None:
    assert set(await names(client, "category=home")) == {"Red Ceramic Mug", "Coffee Grinder", "Blue Mug"}
    by_id = await names(client, f"category={catalog.categories['kitchen']}")
    assert set(by_id) == {"Red Ceramic Mug", "Coffee Grinder"}
    resp = await client.get("/api/v1/products?category=nowhere")
    assert resp.status == 422
    assert (await resp.json())["errors"][0]["field"] == "category"


async def test_price_range_stock_and_sorts(client: Any, catalog: Catalog) -> None:
    assert await names(client, "min_price=1000&max_price=3000&sort=price_asc") == [
        "Red Ceramic Mug",
        "Garden Hose",
    ]
    assert await names(client, "sort=price_desc") == [
        "Coffee Grinder",
        "Garden Hose",
        "Red Ceramic Mug",
        "Blue Mug",
    ]
    assert "Coffee Grinder" not in await names(client, "in_stock=true")
    assert await names(client, "sort=newest") == [
        "Blue Mug",
        "Garden Hose",
        "Coffee Grinder",
        "Red Ceramic Mug",
    ]


async def test_summaries_have_the_documented_shape(client: Any, catalog: Catalog) -> None:
    from shopflow.catalog.models import ProductPage

    body = await (await client.get("/api/v1/products?limit=2")).json()
    page = ProductPage.model_validate(body)
    assert len(page.items) == 2 and page.next_cursor
    assert body["items"][0]["price_range"]["min"] == {"amount": 900, "currency": "USD"}


async def test_drafts_are_not_listed(client: Any, staff: dict[str, str], catalog: Catalog) -> None:
    await add_product(client, staff, "Secret Mug", price=100, status="draft")
    assert "Secret Mug" not in await names(client, "q=mug")


async def walk(client: Any, query: str, limit: int, between_pages: Any = None) -> list[str]:
    seen, cursor = [], None
    while True:
        url = f"/api/v1/products?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = await (await client.get(url)).json()
        seen += [p["name"] for p in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        if between_pages:
            await between_pages()
            between_pages = None


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc"])
async def test_pages_stay_stable_while_products_are_inserted(
    client: Any, staff: dict[str, str], catalog: Catalog, sort: str
) -> None:
    before = await walk(client, f"sort={sort}", 10)
    inserted = 0

    async def insert_more() -> None:
        nonlocal inserted
        for price in (1, 1150, 99999):
            inserted += 1
            await add_product(client, staff, f"Late Product {inserted}", price=price)

    paged = await walk(client, f"sort={sort}", 1, insert_more)
    originals = [n for n in paged if not n.startswith("Late")]
    assert originals == before  # nothing skipped, nothing twice
    assert len(paged) == len(set(paged))


async def test_search_pages_by_relevance(client: Any, catalog: Catalog) -> None:
    assert await walk(client, "q=coffee", 1) == await names(client, "q=coffee")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("min_price=-1", "min_price"),
        ("max_price=1.5", "max_price"),
        ("sort=cheapest", "sort"),
        ("sort=relevance", "sort"),
        ("in_stock=maybe", "in_stock"),
        ("in_stock=1", "in_stock"),  # query text is what the schema names: true or false
        ("limit=+5", "limit"),
        ("limit=%205", "limit"),
        ("cursor=abc%21", "cursor"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=WzEsMiwzXQ", "cursor"),  # valid base64 JSON, wrong shape
        ("sort=price_asc&cursor=" + cursor_of(["price_asc", 2**70, str(uuid4())]), "cursor"),
        ("sort=price_asc&cursor=" + cursor_of(["price_asc", 100, "not-a-uuid"]), "cursor"),
        ("cursor=" + cursor_of(["newest", "yesterday", str(uuid4())]), "cursor"),
        ("cursor=" + cursor_of(["newest", "2026-01-01T00:00:00", str(uuid4())]), "cursor"),
        ("cursor=" + cursor_of(["newest", "0001-01-01T00:00:00+14:00", str(uuid4())]), "cursor"),
        ("cursor=" + cursor_of(["newest", "9999-12-31T23:59:59-14:00", str(uuid4())]), "cursor"),
        ("cursor=" + cursor_of(["newest", "2026-01-01T00:00:00+00:00", [str(uuid4())]]), "cursor"),
        ("cursor=" + cursor_of(["newest", {"at": 1}, str(uuid4())]), "cursor"),
        ("cursor=" + cursor_of(["newest\u0000", "2026-01-01T00:00:00+00:00", str(uuid4())]), "cursor"),
        ("sort=price_asc&cursor=" + cursor_of(["price_asc", 2**63, str(uuid4())]), "cursor"),
        ("sort=price_asc&cursor=" + cursor_of(["price_asc", 2**64, str(uuid4())]), "cursor"),
        ("sort=price_asc&cursor=" + cursor_of(["price_asc", True, str(uuid4())]), "cursor"),
        ("sort=price_asc&cursor=" + cursor_of(["price_asc", 1.5, str(uuid4())]), "cursor"),
        ("q=mug&cursor=" + base64.urlsafe_b64encode(RELEVANCE_1E400).decode(), "cursor"),
        ("min_price=" + "9" * 30, "min_price"),
        ("q=" + "x" * 201, "q"),
    ],
)
async def test_bad_query_is_422_naming_the_field(client: Any, query: str, field: str) -> None:
    resp = await client.get(f"/api/v1/products?{query}")
    assert resp.status == 422
    body = await resp.json()
    assert body["code"] == "validation_failed"
    assert [e["field"] for e in body["errors"]] == [field]


async def test_cursor_of_another_sort_is_refused(client: Any, catalog: Catalog) -> None:
    cursor = (await (await client.get("/api/v1/products?sort=newest&limit=1")).json())["next_cursor"]
    resp = await client.get(f"/api/v1/products?sort=price_asc&cursor={cursor}")
    assert resp.status == 422
