"""Rate limits in Redis: GCRA, one atomic Lua script per check, shared by every process.

A limit "N/S" allows N requests per S seconds, in bursts of up to N. Over it, the caller
gets 429 with Retry-After and the RateLimit-* headers.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from .errors import RateLimited

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
            retry = max(1, math.ceil(int(retry_ms) / 1000))
            raise RateLimited(
                f"too many {name} requests; try again in {retry} s",
                headers={
                    "Retry-After": str(retry),
                    "RateLimit-Limit": str(limit.count),
                    "RateLimit-Remaining": str(remaining),
                    "RateLimit-Reset": str(max(1, math.ceil(int(reset_ms) / 1000))),
                },
            )


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
