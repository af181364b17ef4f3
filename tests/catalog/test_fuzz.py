"""Random input to every catalog endpoint: a 4xx or a success, never a 5xx."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.catalog.conftest import Catalog
from tests.fuzz import bodies, fuzz_bodies, fuzz_queries

FIELDS = [
    "name",
    "slug",
    "description",
    "category_id",
    "attributes",
    "status",
    "variants",
    "sku",
    "price",
    "amount",
    "currency",
    "on_hand",
    "options",
    "position",
    "parent_id",
]
QUERY_KEYS = ["q", "category", "min_price", "max_price", "in_stock", "sort", "limit", "cursor"]


async def test_random_bodies_never_cause_a_server_error(
    client: Any, staff: dict[str, str], catalog: Catalog
) -> None:
    product = next(iter(catalog.products.values()))
    targets = [
        ("POST", "/api/v1/products"),
        ("PATCH", f"/api/v1/products/{product['id']}"),
        ("POST", f"/api/v1/products/{product['id']}/variants"),
        ("PATCH", f"/api/v1/variants/{product['variants'][0]['id']}"),
        ("PUT", f"/api/v1/inventory/{product['variants'][0]['sku']}"),
        ("POST", "/api/v1/categories"),
    ]
    await fuzz_bodies(client, staff, targets, bodies(FIELDS))


async def test_random_query_strings_never_cause_a_server_error(client: Any, catalog: Catalog) -> None:
    queries = st.dictionaries(st.sampled_from(QUERY_KEYS), st.text(max_size=30), max_size=4)
    await fuzz_queries(client, "/api/v1/products", queries)
