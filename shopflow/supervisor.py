"""`shopflow dev`'s supervisor: what it started is started again when it dies.

A child is anything that can be started, asked whether it is alive, and stopped: the web
process, the worker, and the embedded PostgreSQL and Redis. One that dies is started again
after a backoff that doubles while it keeps dying soon after each start, so a child that
cannot start does not spin; the rest keep running meanwhile (they ride out the outage).
Stopping the supervisor stops them all, the last started first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

log = logging.getLogger("shopflow.supervisor")


class Child(Protocol):
    def start(self) -> object: ...
    def alive(self) -> bool: ...
    def stop(self) -> None: ...


class Process:
    """A command run as a child process."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Supervisor:
    def __init__(
        self,
        children: Mapping[str, Child],
        *,
        every: float = 0.5,
        backoff: tuple[float, float] = (0.5, 30.0),
        steady: float = 60.0,
    ) -> None:
        self.children = dict(children)  # started already, in this order
        self.every = every  # seconds between looks at the children
        self.backoff = backoff  # seconds before a restart: the first, and at most (doubling)
        self.steady = steady  # seconds alive after which a child's backoff starts over
        self.restarts = dict.fromkeys(self.children, 0)
        self._failures = dict.fromkeys(self.children, 0)  # deaths soon after a start, in a row
        self._started = dict.fromkeys(self.children, time.monotonic())
        self._due: dict[str, float] = {}  # dead child -> when to start it again

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the children, starting again those that die, until `stop` is set."""
        while not stop.is_set():
            now = time.monotonic()
            for name, child in self.children.items():
                if name in self._due:
                    if now >= self._due[name] and not stop.is_set():
                        await self._restart(name, child)
                elif not child.alive():
                    self._died(name, now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)

    def _died(self, name: str, now: float) -> None:
        if now - self._started[name] >= self.steady:
            self._failures[name] = 0
        delay = min(self.backoff[0] * 2 ** self._failures[name], self.backoff[1])
        self._failures[name] += 1
        self._due[name] = now + delay
        log.warning("%s stopped; starting it again in %.1f s", name, delay)

    async def _restart(self, name: str, child: Child) -> None:
        del self._due[name]
        self._started[name] = time.monotonic()
        try:
            await asyncio.to_thread(child.start)  # an embedded server waits until it listens
        except Exception as e:
            log.warning("%s did not start again: %s", name, e)
            return  # still dead: the next look schedules another try, later
        self.restarts[name] += 1
        log.info("%s started again", name)

    def stop_all(self) -> None:
        stop_all(self.children)


def stop_all(children: Mapping[str, Child]) -> None:
    """Stop every child, the last started first."""
    for name, child in reversed(list(children.items())):
        try:
            child.stop()
        except Exception as e:
            log.warning("could not stop %s: %s", name, e)
