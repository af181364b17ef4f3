"""A two-tier cache of pre-serialised JSON: this process's memory, then Redis.

- Single flight: concurrent misses for one key in a process share one load.
- Fenced fills: each Redis key has a version key; a load stores its result only if the
  version did not move while it read, so an invalidation that lands during a load is
  never overwritten by the stale result.
- Invalidations evict this process's copy at once and are published on a Redis channel so
  every other process evicts its copy too.
- Namespace versions (`version("listing")`, `bump("listing")`) invalidate a whole family of
  keys, such as every cached listing page, by changing the version their keys include.

Redis may go away; the cache then steps aside rather than fail or serve what it cannot
vouch for:

- A process that is not subscribed to the invalidation feed cannot hear of writes made
  elsewhere, so it keeps no copies of its own meanwhile; and a process that lost Redis
  reads nothing from it until it has fenced the cache (below). Until then every read goes
  to the loader, still one load per key at a time. A Redis error on a read does the same.
- Every Redis key carries the cache's generation, and a *fence* moves the generation on,
  which retires everything cached before it at once. A write whose invalidation does not
  reach Redis still stands (it is committed; failing the request would only invite a
  retry of a write that happened), but it leaves the old document in Redis, to be served
  once Redis is back. So a process fences when an invalidation of its own fails, and
  whenever it gets the feed back after losing it: in an outage every process loses the
  feed, so the fence happens even if the writer itself is gone by then, and writes made
  behind the cache's back while Redis was away (say, straight in SQL) are covered too. The
  price is a cold cache after each outage, refilled one load per key.
- Counters (the generation, namespace versions) only move forward, and never below the
  Redis server's clock in milliseconds, so they keep moving even after Redis lost its data.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeout

from .metrics import Metrics
from .redisx import UNAVAILABLE, stop_if_cancelled

log = logging.getLogger("shopflow.cache")

# KEYS: generation, value, version. ARGV: expected generation, expected version ("" =
# none), value, ttl seconds.
_SET_IF_VERSION = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
if (redis.call('GET', KEYS[3]) or '') ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return 1
"""
# KEYS: generation. ARGV: key prefix, version ttl, channel, message, then the keys. The
# keys are built here from the current generation (so a writer that has not heard of a
# fence yet still invalidates the right ones), which a single Redis server allows.
_INVALIDATE = """
local gen = redis.call('GET', KEYS[1]) or '0'
for i = 5, #ARGV do
  local full = ARGV[1] .. gen .. ':' .. ARGV[i]
  redis.call('INCR', full .. ':v')
  redis.call('EXPIRE', full .. ':v', ARGV[2])
  redis.call('DEL', full)
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return gen
"""
# Move a counter on: one more, and at least the server's clock in ms. KEYS: counter.
# ARGV: channel, message prefix (the new value is appended and published).
_ADVANCE = """
local t = redis.call('TIME')
local value = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if value <= current then value = current + 1 end
value = string.format('%d', value)
redis.call('SET', KEYS[1], value)
redis.call('PUBLISH', ARGV[1], ARGV[2] .. value)
return value
"""
VERSION_TTL = 86400
CHANNEL = "cache:invalidate"
HEARTBEAT = 1.0  # seconds of silence on the feed before it is pinged; as long again, it is lost
RECONNECT = (0.1, 2.0)  # seconds before trying the feed again: first, and at most (doubling)
READ_BACKOFF = 1.0  # seconds reads skip Redis after a Redis error on a read
PING = "shopflow-cache"
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
        self.live = False  # subscribed to the feed and in step with it: local copies are safe
        self._gen_key = prefix + "gen"
        self._gen = 0
        self._fence_due = False
        self._skip_redis_until = 0.0
        self._set_if_version = redis.register_script(_SET_IF_VERSION)
        self._invalidate = redis.register_script(_INVALIDATE)
        self._advance = redis.register_script(_ADVANCE)
        self._local: dict[str, tuple[float, bytes]] = {}
        self._flights: dict[str, _Flight] = {}
        self._versions = dict.fromkeys(namespaces, 0)

    async def get_or_load(self, name: str, key: str, load: Loader, ttl: int | None = None) -> bytes | None:
        """The cached bytes for `key`, else `load()`'s (`None`, for not found, is not cached)."""
        if not self.ttl:
            return await load()
        if self.live:
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
        # A flight that the feed's loss, return or a fence overtook is not kept either.
        if value is not None and not flight.invalidated and self.live and self.local_ttl:
            self._remember(key, value)
        return value

    async def _fetch(self, name: str, key: str, load: Loader, ttl: int) -> bytes | None:
        if self._fence_due or time.monotonic() < self._skip_redis_until:
            self.metrics.cache_load(name)
            return await load()
        gen, full = self._gen, self.redis_key(key)
        try:
            current, version, value = await self.redis.mget(self._gen_key, full + ":v", full)
        except UNAVAILABLE as e:
            self._skip_redis(e)
            self.metrics.cache_load(name)
            return await load()
        if int(current or 0) != gen:  # fenced (or Redis lost its data), and not heard of yet
            self._adopt(int(current or 0))
            self.metrics.cache_load(name)
            return await load()
        if value is not None:
            self.metrics.cache_hit(name, tier="redis")
            return bytes(value)
        self.metrics.cache_load(name)
        value = await load()
        if value is not None:
            expected = version.decode() if version is not None else ""
            expires = max(1, int(ttl * random.uniform(0.9, 1.0)))
            try:
                await self._set_if_version(
                    keys=[self._gen_key, full, full + ":v"], args=[gen, expected, value, expires]
                )
            except UNAVAILABLE as e:
                self._skip_redis(e)
        return value

    def redis_key(self, key: str) -> str:
        """Where `key`'s value lives in Redis in the current generation."""
        return f"{self.prefix}{self._gen}:{key}"

    def _skip_redis(self, error: BaseException) -> None:
        if time.monotonic() >= self._skip_redis_until:
            log.warning("cache reads go to the source for %s s: Redis failed: %r", READ_BACKOFF, error)
        self._skip_redis_until = time.monotonic() + READ_BACKOFF

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

    def _drop_local(self) -> None:
        """Forget this process's copies, and keep loads in flight from adding any."""
        self._local.clear()
        for flight in self._flights.values():
            flight.invalidated = True

    def _adopt(self, gen: int) -> None:
        if gen != self._gen:
            self._gen = gen
            self._drop_local()

    async def invalidate(self, *keys: str) -> None:
        """Drop `keys` in every process and fence off any load of them already in flight."""
        if not self.ttl:
            return
        for key in keys:
            self._evict(key)
        message = "\n".join("k:" + k for k in keys)
        try:
            await self._invalidate(
                keys=[self._gen_key], args=[self.prefix, VERSION_TTL, CHANNEL, message, *keys]
            )
        except UNAVAILABLE as e:
            self._missed(e)

    def version(self, namespace: str) -> int:
        """This process's view of a namespace's version (declared at construction), for keys."""
        return self._versions[namespace]

    async def bump(self, namespace: str) -> None:
        """Move a namespace to a new version in every process, orphaning its cached keys."""
        if not self.ttl:
            return
        try:
            version = await self._advance(
                keys=[f"{self.prefix}ns:{namespace}"], args=[CHANNEL, f"n:{namespace}:"]
            )
        except UNAVAILABLE as e:
            self._missed(e)
            return
        self._versions[namespace] = max(self._versions[namespace], int(version))

    def _missed(self, error: BaseException) -> None:
        """An invalidation did not reach Redis: distrust this process's copies and fence the
        cache as soon as Redis answers (the listener does it)."""
        log.warning("a cache invalidation did not reach Redis (%r); fencing the cache once it answers", error)
        self._fence_due = True
        self._drop_local()

    def _apply(self, message: str) -> None:
        for line in message.split("\n"):
            kind, _, rest = line.partition(":")
            if kind == "k":
                self._evict(rest)
            elif kind == "n":
                namespace, _, version = rest.rpartition(":")
                if namespace in self._versions:
                    self._versions[namespace] = max(self._versions[namespace], int(version))
            elif kind == "g" and int(rest) > self._gen:
                self._adopt(int(rest))

    async def listen(self) -> None:
        """Apply other processes' invalidations until cancelled; run as a background task.
        Without the feed, the cache steps aside; with it back, it fences and catches up."""
        delay, lost_logged = RECONNECT[0], False
        while True:
            stop_if_cancelled()
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    await self._catch_up()
                    if lost_logged:
                        log.info("cache invalidation feed is back; the cache is in use again")
                    delay, lost_logged = RECONNECT[0], False
                    await self._follow(pubsub)
            except (RedisError, OSError) as e:
                if not lost_logged:
                    log.warning("cache invalidation feed lost; reads go to the source till it is back: %r", e)
                    lost_logged = True
                self.live = False
                self._fence_due = True
                self._drop_local()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT[1])

    async def _catch_up(self) -> None:
        """Once subscribed: fence if anything may have been missed, then take Redis's counters."""
        if self._fence_due:
            await self._fence()
        namespaces = list(self._versions)
        values = await self.redis.mget([self._gen_key, *(f"{self.prefix}ns:{n}" for n in namespaces)])
        self._gen = int(values[0] or 0)  # as Redis has it, even lower: it may have lost its data
        for namespace, value in zip(namespaces, values[1:], strict=True):
            self._versions[namespace] = max(self._versions[namespace], int(value or 0))
        self._drop_local()
        self.live = True

    async def _fence(self) -> None:
        self._fence_due = False  # first: a failure meanwhile asks for another
        try:
            gen = int(await self._advance(keys=[self._gen_key], args=[CHANNEL, "g:"]))
        except BaseException:
            self._fence_due = True
            raise
        self._adopt(max(gen, self._gen))
        log.info("cache fenced: what was cached before is no longer served", extra={"generation": gen})

    async def _follow(self, pubsub: PubSub) -> None:
        """Apply the feed's messages; ping it when it is quiet, and give up on it when a ping
        goes unanswered (a Redis that hangs rather than closes the connection)."""
        pinged = False
        while True:
            stop_if_cancelled()
            if self._fence_due:  # an invalidation of ours failed while the feed stayed up
                await self._fence()
            message = await pubsub.get_message(timeout=HEARTBEAT)
            if message is None:
                if pinged:
                    raise RedisTimeout("the cache invalidation feed stopped answering")
                await pubsub.ping(PING)
                pinged = True
                continue
            pinged = False
            if message["type"] == "message":
                self._apply(message["data"].decode())
