"""The two-tier cache: single flight, fenced fills, invalidation across processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio

from shopflow.platform.cache import Cache
from shopflow.platform.metrics import Metrics


@pytest.fixture
async def make_cache(redis_url: str) -> AsyncIterator[Callable[..., Cache]]:
    """Caches as separate processes would have them: own client, own listener."""
    clients, listeners = [], []

    def make(**options: Any) -> Cache:
        client = redis.asyncio.from_url(redis_url)
        clients.append(client)
        cache = Cache(client, Metrics(), **{"ttl": 60, "local_ttl": 30, "namespaces": ("ns",), **options})
        listeners.append(asyncio.ensure_future(cache.listen()))
        return cache

    yield make
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    for client in clients:
        await client.aclose()


def loader(value: bytes, delay: float = 0.0) -> tuple[Callable[[], Any], list[int]]:
    calls = [0]

    async def load() -> bytes:
        calls[0] += 1
        await asyncio.sleep(delay)
        return value

    return load, calls


async def eventually(check: Callable[[], Any], within: float = 3.0) -> None:
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - the state lives in another client
            await asyncio.sleep(0.02)


async def test_concurrent_misses_share_one_load(make_cache: Any) -> None:
    cache = make_cache()
    load, calls = loader(b'{"v":1}', delay=0.05)
    results = await asyncio.gather(*(cache.get_or_load("t", "k", load) for _ in range(500)))
    assert calls == [1]
    assert set(results) == {b'{"v":1}'}
    assert await cache.get_or_load("t", "k", load) == b'{"v":1}' and calls == [1]
    other_process = make_cache()
    assert await other_process.get_or_load("t", "k", load) == b'{"v":1}' and calls == [1]  # from Redis


async def test_invalidation_during_a_load_keeps_the_stale_value_out(make_cache: Any) -> None:
    cache = make_cache()
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
    assert await cache.redis.get(cache.redis_key("k")) is None

    fresh, _ = loader(b"fresh")
    assert await cache.get_or_load("t", "k", fresh) == b"fresh"
    assert await cache.redis.get(cache.redis_key("k")) == b"fresh"


async def test_invalidation_reaches_every_process(make_cache: Any) -> None:
    a, b = make_cache(), make_cache()
    await asyncio.sleep(0.1)  # both subscribed
    old, _ = loader(b"old")
    assert await a.get_or_load("t", "k", old) == b"old"
    assert await b.get_or_load("t", "k", old) == b"old"
    await a.invalidate("k")
    new, calls = loader(b"new")
    assert await a.get_or_load("t", "k", new) == b"new"

    async def b_sees_new() -> bool:
        return bool(await b.get_or_load("t", "k", new) == b"new")

    await eventually(b_sees_new)
    assert calls == [1]  # b took a's fresh value from Redis


async def test_namespace_versions_move_in_every_process(make_cache: Any) -> None:
    a, b = make_cache(), make_cache()
    await asyncio.sleep(0.1)
    assert a.version("ns") == b.version("ns") == 0
    await a.bump("ns")
    moved = a.version("ns")
    assert moved > 0

    async def b_moved() -> bool:
        return b.version("ns") == moved

    await eventually(b_moved)
    late = make_cache()  # a process that starts later reads the current version

    async def late_caught_up() -> bool:
        return late.version("ns") == moved

    await eventually(late_caught_up)


async def test_failed_load_is_not_cached_and_reaches_every_waiter(make_cache: Any) -> None:
    cache = make_cache()

    async def failing() -> bytes:
        await asyncio.sleep(0.01)
        raise ConnectionError("db down")

    results = await asyncio.gather(
        *(cache.get_or_load("t", "k", failing) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await cache.redis.get(cache.redis_key("k")) is None


async def test_ttl_zero_turns_the_cache_off(make_cache: Any) -> None:
    cache = make_cache(ttl=0)
    load, calls = loader(b"x")
    for _ in range(3):
        assert await cache.get_or_load("t", "k", load) == b"x"
    assert calls == [3]


async def test_versions_keep_moving_after_redis_loses_its_data(make_cache: Any) -> None:
    """A Redis restarted without its data must not send a namespace back to a version
    whose pages some process still holds."""
    cache = make_cache()
    await cache.bump("ns")
    first = cache.version("ns")
    await cache.redis.flushdb()
    await cache.bump("ns")
    assert cache.version("ns") > first
