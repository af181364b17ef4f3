"""Whether the services a process depends on answer: PostgreSQL and Redis.

`/readyz` asks on every call and a background probe every few seconds. The last answers
are the gauges `postgres_up` and `redis_up` on `/metrics`; a change is logged once, and a
dependency may react to one (the Redis pool drops its idle connections, which a restarted
server no longer knows).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .metrics import Metrics
from .redisx import repeat

log = logging.getLogger("shopflow.dependencies")
OK = "ok"


@dataclass(frozen=True)
class Dependency:
    check: Callable[[], Awaitable[object]]  # raises when the dependency does not answer
    on_change: Callable[[bool], Awaitable[None]] | None = None  # called with whether it is up


class Dependencies:
    def __init__(self, metrics: Metrics, timeout: float = 1.0) -> None:
        self.metrics = metrics
        self.timeout = timeout
        self._deps: dict[str, Dependency] = {}
        self.state: dict[str, str] = {}  # name -> "ok" or "down: <what was raised>"
        self._lock = asyncio.Lock()  # one check at a time, so each change is seen once

    def add(self, name: str, dependency: Dependency) -> None:
        self._deps[name] = dependency
        self.state[name] = OK
        up = f"1 while {name} answers, else 0 (across processes: the least)"
        self.metrics.gauge(f"{name}_up", up, lambda: float(self.up(name)), aggregate="min")

    def up(self, name: str) -> bool:
        return self.state.get(name) == OK

    async def check(self) -> dict[str, str]:
        """Ask every dependency now; what each answered."""
        async with self._lock:
            names = list(self._deps)
            found = await asyncio.gather(*(self._ask(self._deps[n]) for n in names))
            for name, now in zip(names, found, strict=True):
                before, self.state[name] = self.state.get(name), now
                if (before == OK) != (now == OK):
                    await self._changed(name, now)
            return dict(self.state)

    async def _ask(self, dependency: Dependency) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                await dependency.check()
        except Exception as e:
            return f"down: {type(e).__name__}"
        return OK

    async def _changed(self, name: str, now: str) -> None:
        if now == OK:
            log.info("%s answers again", name)
        else:
            log.warning("%s is %s", name, now)
        on_change = self._deps[name].on_change
        if on_change is not None:
            try:
                async with asyncio.timeout(self.timeout):  # /readyz waits for this
                    await on_change(now == OK)
            except Exception:
                log.warning("reacting to %s's change failed", name, exc_info=True)

    async def probe(self, every: float) -> None:
        """Ask every `every` seconds until cancelled; run as a background task."""
        await repeat(every, self.check)
