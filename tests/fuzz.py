"""Random input for any endpoint: whatever arrives, the answer is a success or a 4xx,
never a 5xx (and, through the test client, always within the contract)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def bodies(fields: list[str], values: st.SearchStrategy[Any] = json_values) -> st.SearchStrategy[Any]:
    """Any JSON, or objects made of these field names with any values."""
    return json_values | st.dictionaries(st.sampled_from(fields), values, max_size=6)


def run_examples(test: Any) -> Any:
    """Hypothesis drives a sync function; it runs in a thread and sends requests to the loop."""
    return asyncio.to_thread(
        settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)(
            test
        )
    )


async def fuzz_bodies(
    client: TestClient, headers: dict[str, str], targets: list[tuple[str, str]], strategy: Any
) -> None:
    """Send random JSON bodies to `targets` (method, path); none may cause a server error."""
    loop = asyncio.get_running_loop()

    async def send(method: str, path: str, body: bytes) -> int:
        async with client.request(
            method, path, data=body, headers={**headers, "Content-Type": "application/json"}
        ) as resp:
            return int(resp.status)

    @given(target=st.sampled_from(targets), body=strategy)
    def check(target: tuple[str, str], body: Any) -> None:
        status = asyncio.run_coroutine_threadsafe(send(*target, json.dumps(body).encode()), loop).result()
        assert status < 500, (target, body)

    await run_examples(check)


async def fuzz_queries(client: TestClient, path: str, strategy: Any) -> None:
    """Send random query strings to `path`; none may cause a server error."""
    loop = asyncio.get_running_loop()

    async def send(params: dict[str, str]) -> int:
        async with client.get(path, params=params) as resp:
            return int(resp.status)

    @given(params=strategy)
    def check(params: dict[str, str]) -> None:
        status = asyncio.run_coroutine_threadsafe(send(params), loop).result()
        assert status < 500, params

    await run_examples(check)
