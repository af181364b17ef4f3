"""`shopflow dev`'s supervisor: a process or embedded server that dies is started again, with
backoff, and stopping stops them all."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis.asyncio

from shopflow.platform.embedded import EmbeddedRedis
from shopflow.supervisor import Process, Supervisor


async def eventually(check: Callable[[], bool], tries: int = 400) -> None:
    for _ in range(tries):
        if check():
            return
        await asyncio.sleep(0.025)
    pytest.fail(f"still not so after {tries} tries")


def python(code: str) -> Process:
    return Process([sys.executable, "-c", code])


async def test_a_child_that_exits_is_started_again_and_stop_ends_them_all() -> None:
    flaky, steady = python("import sys; sys.exit(3)"), python("import time; time.sleep(120)")
    children = {"flaky": flaky, "steady": steady}
    for child in children.values():
        child.start()
    supervisor = Supervisor(children, every=0.02, backoff=(0.01, 0.05))
    stop = asyncio.Event()
    task = asyncio.ensure_future(supervisor.run(stop))
    try:
        await eventually(lambda: supervisor.restarts["flaky"] >= 3)
        assert supervisor.restarts["steady"] == 0 and steady.alive()
    finally:
        stop.set()
        await task
        supervisor.stop_all()
    assert not flaky.alive() and not steady.alive()


async def test_an_embedded_redis_that_dies_comes_back_on_its_port(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", durable=False)
    url = server.start()
    supervisor = Supervisor({"redis": server}, every=0.02, backoff=(0.01, 0.05))
    stop = asyncio.Event()
    task = asyncio.ensure_future(supervisor.run(stop))
    client = redis.asyncio.from_url(url)
    try:
        assert server.proc is not None
        server.proc.kill()
        await eventually(lambda: supervisor.restarts["redis"] == 1 and server.alive())
        assert await client.ping()
    finally:
        stop.set()
        await task
        supervisor.stop_all()
        await client.aclose()
    assert not server.alive()
