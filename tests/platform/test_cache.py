"""The Redis cache: single-flight loads and invalidation that beats in-flight loads."""

from __future__ import annotations

import asyncio

import redis.asyncio

from shopflow.platform.cache import Cache
from shopflow.platform.metrics import Metrics


async def test_concurrent_misses_share_one_load(redis_url: str) -> None:
    client = redis.asyncio.from_url(redis_url)
    cache = Cache(client, ttl=60, metrics=Metrics())
    loads = 0

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return b'{"v":1}'

    results = await asyncio.gather(*(cache.get_or_load("t", "k", load) for _ in range(500)))
    assert loads == 1
    assert set(results) == {b'{"v":1}'}
    assert await cache.get_or_load("t", "k", load) == b'{"v":1}' and loads == 1
    await client.aclose()


async def test_invalidation_during_a_load_keeps_the_stale_value_out(redis_url: str) -> None:
    client = redis.asyncio.from_url(redis_url)
    cache = Cache(client, ttl=60, metrics=Metrics())
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_stale_load() -> bytes:
        started.set()
        await release.wait()
        return b"stale"

    flight = asyncio.ensure_future(cache.get_or_load("t", "k", slow_stale_load))
    await started.wait()
    await cache.invalidate("k")  # a write lands while the load is reading old data
    release.set()
    assert await flight == b"stale"  # the caller who asked before the write may see it

    async def fresh_load() -> bytes:
        return b"fresh"

    assert await cache.get_or_load("t", "k", fresh_load) == b"fresh"
    assert await client.get("cache:k") == b"fresh"
    await client.aclose()


async def test_failed_load_is_not_cached_and_reaches_every_waiter(redis_url: str) -> None:
    client = redis.asyncio.from_url(redis_url)
    cache = Cache(client, ttl=60, metrics=Metrics())

    async def failing() -> bytes:
        await asyncio.sleep(0.01)
        raise ConnectionError("db down")

    results = await asyncio.gather(
        *(cache.get_or_load("t", "k", failing) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await client.get("cache:k") is None
    await client.aclose()
