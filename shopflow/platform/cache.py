"""A Redis cache of pre-serialised JSON with single-flight loading and race-free invalidation.

Each cached key has a version key. A loader reads the version before it reads the database
and stores its result only if the version is still the same, so a write that invalidates
while a load is in flight can never be overwritten by the stale load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from .metrics import Metrics

# KEYS: value, version. ARGV: value, expected version ("" = none), ttl seconds.
_SET_IF_VERSION = """
local v = redis.call('GET', KEYS[2]) or ''
if v == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  return 1
end
return 0
"""
VERSION_TTL = 86400


class Cache:
    def __init__(self, redis: Redis, ttl: int, metrics: Metrics, prefix: str = "cache:") -> None:
        self.redis = redis
        self.ttl = ttl
        self.metrics = metrics
        self.prefix = prefix
        self._set_if_version = redis.register_script(_SET_IF_VERSION)
        self._flights: dict[str, asyncio.Future[bytes | None]] = {}

    async def get_or_load(
        self, name: str, key: str, load: Callable[[], Awaitable[bytes | None]]
    ) -> bytes | None:
        """The cached bytes for `key`, else `load()`'s, with one load per key at a time.

        `None` from the loader (not found) is not cached.
        """
        full = self.prefix + key
        if self.ttl:
            hit = await self.redis.get(full)
            if hit is not None:
                self.metrics.cache.labels(name, "hit").inc()
                return bytes(hit)
        self.metrics.cache.labels(name, "miss").inc()
        flight = self._flights.get(full)
        if flight is not None:
            return await asyncio.shield(flight)
        flight = asyncio.get_running_loop().create_future()
        self._flights[full] = flight
        self.metrics.cache_loads.labels(name).inc()
        try:
            value = await self._load(full, load)
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # mark retrieved: waiters may be gone
            raise
        else:
            flight.set_result(value)
            return value
        finally:
            del self._flights[full]

    async def _load(self, full: str, load: Callable[[], Awaitable[bytes | None]]) -> bytes | None:
        if not self.ttl:
            return await load()
        version = await self.redis.get(full + ":v")
        value = await load()
        if value is not None:
            expected = version.decode() if version is not None else ""
            await self._set_if_version(keys=[full, full + ":v"], args=[value, expected, self.ttl])
        return value

    async def invalidate(self, *keys: str) -> None:
        """Drop `keys` and fence off any load of them already in flight."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in keys:
                full = self.prefix + key
                pipe.incr(full + ":v")
                pipe.expire(full + ":v", VERSION_TTL)
                pipe.delete(full)
            await pipe.execute()
