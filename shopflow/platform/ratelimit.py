"""Rate limits in Redis: GCRA in atomic Lua scripts, shared by every process.

A limit "N/S" allows N requests per S seconds, in bursts of up to N. Over it, the caller
gets 429 with Retry-After and the RateLimit-* headers.

`RateLimiter.hit` checks one request per Redis call, for the limits on sign-in and the like.
`AddressLimit`, the general limit on the whole API, must not cost every request a round
trip: each process counts locally and settles its counts with Redis a few times a second.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

import redis.exceptions
from aiohttp import web
from redis.asyncio import Redis

from .errors import RateLimited
from .redisx import repeat

# KEYS: bucket. ARGV: now (ms), emission interval (ms), burst (requests).
# Returns {allowed, remaining, retry after (ms), reset (ms)}.
_GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
"""

# Charge requests already served. KEYS: buckets. ARGV: now (ms), emission interval (ms),
# burst, then one count per bucket. Returns, per bucket, how long (ms) until it may send
# its next request (0: now).
_CHARGE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local waits = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  tat = tat + tonumber(ARGV[3 + i]) * interval
  redis.call('SET', key, tat, 'PX', math.max(1, math.ceil(tat - now)))
  waits[i] = math.max(0, math.ceil(tat - (burst - 1) * interval - now))
end
return waits
"""
log = logging.getLogger("shopflow.ratelimit")


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """'10/60' -> 10 requests per 60 seconds."""
        count, _, seconds = text.partition("/")
        if not (count.isdigit() and seconds.isdigit() and int(count) >= 1 and int(seconds) >= 1):
            raise ValueError("a limit is N/S: N requests per S seconds, both at least 1")
        return cls(int(count), int(seconds))


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str = "rl:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._gcra = redis.register_script(_GCRA)

    async def hit(self, name: str, subject: str, limit: Limit) -> None:
        """Count one request of `subject` against `limit`; raises RateLimited when over it."""
        interval = limit.seconds * 1000 / limit.count
        allowed, remaining, retry_ms, reset_ms = await self._gcra(
            keys=[f"{self.prefix}{name}:{subject}"],
            args=[int(time.time() * 1000), interval, limit.count],
        )
        if not allowed:
            raise refusal(name, limit, int(retry_ms) / 1000, int(remaining), int(reset_ms) / 1000)


def refusal(name: str, limit: Limit, retry: float, remaining: int = 0, reset: float = 0) -> RateLimited:
    """The 429 for `limit`, when the caller may come back in `retry` seconds."""
    retry_after = max(1, math.ceil(retry))
    return RateLimited(
        f"too many {name} requests; try again in {retry_after} s",
        headers={
            "Retry-After": str(retry_after),
            "RateLimit-Limit": str(limit.count),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(max(1, math.ceil(max(reset, retry)))),
        },
    )


class AddressLimit:
    """The general limit per client address on the whole API.

    Each process counts its requests per address and every `every` seconds charges them to
    the shared GCRA buckets in one script run; an address found over the limit there is
    refused by the process until it is back under. Between settlements, a process refuses
    an address on its own once it has sent a whole burst. So an address gets at most its
    limit plus, in each process, what it sends in one interval (at most a burst), for one
    Redis call per process and interval rather than one per request.
    """

    def __init__(
        self, redis: Redis, limit: Limit, trusted_proxies: tuple[Network, ...], every: float
    ) -> None:
        self.limit = limit
        self.trusted_proxies = trusted_proxies
        self.every = every
        self.pending: dict[str, int] = {}  # requests per address since the last settlement
        self.blocked: dict[str, float] = {}  # address -> when (monotonic) it may come back
        self._charge = redis.register_script(_CHARGE)
        self._failing = False  # the last settlement did not reach Redis

    def admit(self, request: web.Request) -> RateLimited | None:
        """None when the request may go on, else the refusal to answer with."""
        address = client_ip(request, self.trusted_proxies)
        until = self.blocked.get(address)
        if until is not None:
            wait = until - time.monotonic()
            if wait > 0:
                return refusal("API", self.limit, wait)
            del self.blocked[address]
        count = self.pending.get(address, 0) + 1
        if count > self.limit.count:
            self.blocked[address] = time.monotonic() + self.every
            return refusal("API", self.limit, self.every)
        self.pending[address] = count
        return None

    async def settle(self) -> None:
        pending, self.pending = self.pending, {}
        if not pending:
            return
        interval = self.limit.seconds * 1000 / self.limit.count
        waits = await self._charge(
            keys=[f"rl:api:{address}" for address in pending],
            args=[int(time.time() * 1000), interval, self.limit.count, *pending.values()],
        )
        now = time.monotonic()
        self.blocked = {a: t for a, t in self.blocked.items() if t > now}
        for address, wait_ms in zip(pending, waits, strict=True):
            if int(wait_ms) > 0:
                self.blocked[address] = now + int(wait_ms) / 1000

    async def run(self) -> None:
        """Settle every `every` seconds until cancelled; run as a background task."""
        await repeat(self.every, self._settle_or_say)

    async def _settle_or_say(self) -> None:
        try:
            await self.settle()
        except (OSError, redis.exceptions.RedisError) as e:
            # Fail open: the counts are dropped, and each process only holds an address
            # to a burst per interval until Redis is back. Said once, not twice a second.
            if not self._failing:
                log.warning("cannot settle the API rate limit; only local bursts are limited: %r", e)
            self._failing = True
        else:
            if self._failing:
                log.info("the API rate limit is settled with Redis again")
            self._failing = False


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(request: web.Request, trusted_proxies: tuple[Network, ...]) -> str:
    """The caller's address. X-Forwarded-For counts only when the direct peer is a trusted
    proxy; then the nearest address in it that is not a trusted proxy is the client."""
    peer = request.remote or ""
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
