"""A two-tier cache of pre-serialised JSON: this process's memory, then Redis.

- Single flight: concurrent misses for one key in a process share one load.
- Fenced fills: each Redis key has a version key; a load stores its result only if the
  version did not move while it read, so an invalidation that lands during a load is
  never overwritten by the stale result.
- Invalidations evict this process's copy at once and are published on a Redis channel so
  every other process evicts its copy too. Should the subscription drop, the local tier is
  cleared and its short TTL bounds what a missed message could leave behind.
- Namespace versions (`version("listing")`, `bump("listing")`) invalidate a whole family of
  keys, such as every cached listing page, by changing the version their keys include.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .metrics import Metrics

log = logging.getLogger("shopflow.cache")

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
CHANNEL = "cache:invalidate"
Loader = Callable[[], Awaitable[bytes | None]]


class _Flight:
    __slots__ = ("future", "invalidated")

    def __init__(self) -> None:
        self.future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self.invalidated = False


class Cache:
    def __init__(
        self,
        redis: Redis,
        metrics: Metrics,
        *,
        ttl: int,
        local_ttl: float,
        local_max: int = 10_000,
        namespaces: tuple[str, ...] = (),
        prefix: str = "cache:",
    ) -> None:
        self.redis = redis
        self.metrics = metrics
        self.ttl = ttl
        self.local_ttl = local_ttl if ttl else 0
        self.local_max = local_max
        self.prefix = prefix
        self._set_if_version = redis.register_script(_SET_IF_VERSION)
        self._local: dict[str, tuple[float, bytes]] = {}
        self._flights: dict[str, _Flight] = {}
        self._versions = dict.fromkeys(namespaces, 0)

    async def get_or_load(self, name: str, key: str, load: Loader, ttl: int | None = None) -> bytes | None:
        """The cached bytes for `key`, else `load()`'s (`None`, for not found, is not cached)."""
        if not self.ttl:
            return await load()
        local = self._local.get(key)
        if local is not None and local[0] > time.monotonic():
            self.metrics.cache_hit(name)
            return local[1]
        flight = self._flights.get(key)
        if flight is not None:
            return await asyncio.shield(flight.future)
        flight = self._flights[key] = _Flight()
        try:
            value = await self._fetch(name, key, load, ttl or self.ttl)
        except BaseException as exc:
            flight.future.set_exception(exc)
            flight.future.exception()  # retrieved: the waiters may all be gone
            raise
        finally:
            del self._flights[key]
        flight.future.set_result(value)
        if value is not None and not flight.invalidated and self.local_ttl:
            self._remember(key, value)
        return value

    async def _fetch(self, name: str, key: str, load: Loader, ttl: int) -> bytes | None:
        full = self.prefix + key
        version, value = await self.redis.mget(full + ":v", full)
        if value is not None:
            self.metrics.cache_hit(name, tier="redis")
            return bytes(value)
        self.metrics.cache_load(name)
        value = await load()
        if value is not None:
            expected = version.decode() if version is not None else ""
            expires = max(1, int(ttl * random.uniform(0.9, 1.0)))
            await self._set_if_version(keys=[full, full + ":v"], args=[value, expected, expires])
        return value

    def _remember(self, key: str, value: bytes) -> None:
        if len(self._local) >= self.local_max:
            del self._local[next(iter(self._local))]  # the oldest entry
        # Jitter, so keys loaded together do not all expire together and reload in a burst.
        self._local[key] = (time.monotonic() + self.local_ttl * random.uniform(0.8, 1.0), value)

    def _evict(self, key: str) -> None:
        self._local.pop(key, None)
        flight = self._flights.get(key)
        if flight is not None:
            flight.invalidated = True

    async def invalidate(self, *keys: str) -> None:
        """Drop `keys` in every process and fence off any load of them already in flight."""
        if not self.ttl:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in keys:
                full = self.prefix + key
                pipe.incr(full + ":v")
                pipe.expire(full + ":v", VERSION_TTL)
                pipe.delete(full)
            pipe.publish(CHANNEL, "\n".join("k:" + k for k in keys))
            await pipe.execute()
        for key in keys:
            self._evict(key)

    def version(self, namespace: str) -> int:
        """This process's view of a namespace's version (declared at construction), for keys."""
        return self._versions[namespace]

    async def bump(self, namespace: str) -> None:
        """Move a namespace to a new version in every process, orphaning its cached keys."""
        if not self.ttl:
            return
        version = await self.redis.incr(f"{self.prefix}ns:{namespace}")
        self._versions[namespace] = max(self._versions[namespace], version)
        await self.redis.publish(CHANNEL, f"n:{namespace}:{version}")

    def _apply(self, message: str) -> None:
        for line in message.split("\n"):
            kind, _, rest = line.partition(":")
            if kind == "k":
                self._evict(rest)
            elif kind == "n":
                namespace, _, version = rest.rpartition(":")
                if namespace in self._versions:
                    self._versions[namespace] = max(self._versions[namespace], int(version))

    async def listen(self) -> None:
        """Apply other processes' invalidations until cancelled; run as a background task."""
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    await self._load_versions()
                    async for message in pubsub.listen():
                        self._apply(message["data"].decode())
            except (RedisError, OSError) as e:
                log.warning("cache invalidation feed lost; local cache cleared: %r", e)
                self._local.clear()
                await asyncio.sleep(1)

    async def _load_versions(self) -> None:
        namespaces = list(self._versions)
        if namespaces:
            values = await self.redis.mget([f"{self.prefix}ns:{n}" for n in namespaces])
            for namespace, value in zip(namespaces, values, strict=True):
                self._versions[namespace] = max(self._versions[namespace], int(value or 0))
