"""The Redis client every process uses, set up to fail fast when Redis is away.

Left to their defaults, redis-py waits on a silent server for as long as the OS lets it
(no read timeout), and arq's `create_pool` pings five times a second apart before giving
up, so a process could not even start without Redis. Here a connect or a reply takes at
most `timeout` seconds, a command is never retried (a refused connection fails at once),
and nothing is asked of Redis until the first command: whoever can do without Redis (the
catalog's cache, the job enqueues after a commit, the per-address limit) falls back at
once, and whoever cannot (sessions, sign-in limits) answers 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis.exceptions
from arq.connections import ArqRedis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

# What a Redis that is down, restarting or unreachable raises (BusyLoadingError, while it
# loads its data after a restart, is a ConnectionError; ReadOnlyError, a replica just after
# a failover, is what a write meets there).
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    OSError,
)


def connect(url: str, timeout: float) -> ArqRedis:
    """A client for `url` (a pool, connecting on first use) that gives up after `timeout` s."""
    client: ArqRedis = ArqRedis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        # No retries, said explicitly: newer redis-py versions retry three times by default.
        retry=Retry(NoBackoff(), 0),
    )
    return client


def stop_if_cancelled() -> None:
    """In a background loop that talks to Redis (or waits for a pool connection): stop if the
    task was cancelled, even when the cancellation got lost. With a socket timeout, redis-py
    sends through `asyncio.wait_for` (as asyncpg's pool waits), which on Python 3.11 can
    swallow a cancellation that lands just as the send completes (cpython#86296, fixed in
    3.12); the task still counts the request, so a loop that checks stops as asked instead
    of holding up the shutdown for ever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def repeat(seconds: float, step: Callable[[], Awaitable[object]]) -> None:
    """Await `step()` every `seconds` until cancelled, a cancellation swallowed by a step
    included (see `stop_if_cancelled`); run as a background task."""
    while True:
        await asyncio.sleep(seconds)
        await step()
        stop_if_cancelled()
