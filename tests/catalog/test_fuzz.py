"""Random input to every catalog endpoint: a 4xx or a success, never a 5xx."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.catalog.conftest import Catalog

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
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
bodies = json_values | st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
QUERY_KEYS = ["q", "category", "min_price", "max_price", "in_stock", "sort", "limit", "cursor"]
queries = st.dictionaries(st.sampled_from(QUERY_KEYS), st.text(max_size=30), max_size=4)


def run_examples(test: Any) -> Any:
    """Hypothesis drives a sync function; it runs in a thread and sends requests to the loop."""
    return asyncio.to_thread(
        settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)(
            test
        )
    )


async def test_random_bodies_never_cause_a_server_error(
    client: Any, staff: dict[str, str], catalog: Catalog
) -> None:
    loop = asyncio.get_running_loop()
    product = next(iter(catalog.products.values()))
    targets = [
        ("POST", "/api/v1/products"),
        ("PATCH", f"/api/v1/products/{product['id']}"),
        ("POST", f"/api/v1/products/{product['id']}/variants"),
        ("PATCH", f"/api/v1/variants/{product['variants'][0]['id']}"),
        ("PUT", f"/api/v1/inventory/{product['variants'][0]['sku']}"),
        ("POST", "/api/v1/categories"),
    ]

    async def send(method: str, path: str, body: bytes) -> int:
        headers = {**staff, "Content-Type": "application/json"}
        async with client.request(method, path, data=body, headers=headers) as resp:
            return int(resp.status)

    @given(target=st.sampled_from(targets), body=bodies)
    def check(target: tuple[str, str], body: Any) -> None:
        status = asyncio.run_coroutine_threadsafe(send(*target, json.dumps(body).encode()), loop).result()
        assert status < 500, (target, body)

    await run_examples(check)


async def test_random_query_strings_never_cause_a_server_error(client: Any, catalog: Catalog) -> None:
    loop = asyncio.get_running_loop()

    async def send(params: dict[str, str]) -> int:
        async with client.get("/api/v1/products", params=params) as resp:
            return int(resp.status)

    @given(params=queries)
    def check(params: dict[str, str]) -> None:
        status = asyncio.run_coroutine_threadsafe(send(params), loop).result()
        assert status < 500, params

    await run_examples(check)
