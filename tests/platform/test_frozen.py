"""PostgreSQL and Redis frozen (SIGSTOP) under a running shop: the server never answers nor
closes, so only the client's own timeouts end the wait. Requests are answered 503 with
Retry-After, /readyz answers within its bound, and everything recovers on SIGCONT.

Each test freezes servers of its own, never the session's."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from shopflow.app import create_app
from shopflow.keys import AUTH
from shopflow.platform.embedded import EmbeddedPostgres, EmbeddedRedis
from shopflow.platform.migrate import migrate
from tests.checkout.conftest import add_product

BOUND = aiohttp.ClientTimeout(total=5)  # the test's patience: a hang fails it, not a slow answer


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """A server process and its children stopped while this lasts, as a hung machine."""
    pids = [pid, *_children(pid)]
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in pids:
            os.kill(p, signal.SIGCONT)


@pytest.fixture
async def postgres(tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path / "pg", durable=False)
    try:
        await asyncio.to_thread(server.start)
        await migrate(server.url)
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", durable=False)
    try:
        await asyncio.to_thread(server.start)
        yield server
    finally:
        server.stop()


def postmaster(server: EmbeddedPostgres) -> int:
    return int((server.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])


async def answer(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with session.request(method, url, timeout=BOUND, **kwargs) as resp:
        return resp.status, (resp.headers.get("Retry-After"), await resp.json())


async def test_a_frozen_postgres_is_503_at_once_and_comes_back(
    postgres: EmbeddedPostgres, make_settings: Any, make_client: Any
) -> None:
    app = create_app(make_settings(database_url=postgres.url, db_pool_min=4))
    client = await make_client(app)
    conn = await asyncpg.connect(postgres.url)
    try:
        product_id, _ = await add_product(conn, "linen-shirt", {"SHIRT-S": (2500, 10)})
    finally:
        await conn.close()
    base = f"http://127.0.0.1:{client.port}"
    async with aiohttp.ClientSession(base) as session:
        assert (await answer(session, "POST", "/api/v1/carts"))[0] == 201
        with frozen(postmaster(postgres)):
            calls = [
                answer(session, "GET", f"/api/v1/products/{product_id}"),  # not cached yet
                answer(session, "GET", "/api/v1/products?q=shirt"),
                *(answer(session, "POST", "/api/v1/carts") for _ in range(6)),  # more than the pool holds
            ]
            for status, (retry_after, problem) in await asyncio.gather(*calls):
                assert status == 503 and retry_after and problem["code"] == "unavailable"
            status, (retry_after, ready) = await answer(session, "GET", "/readyz")
            assert status == 503 and ready["checks"]["postgres"].startswith("down") and retry_after
            assert (await answer(session, "GET", "/healthz"))[0] == 200
        for _ in range(50):  # connections to the frozen server are gone; new ones are made
            if (await answer(session, "GET", "/readyz"))[0] == 200:
                break
            await asyncio.sleep(0.1)
        assert (await answer(session, "GET", f"/api/v1/products/{product_id}"))[0] == 200
        assert (await answer(session, "POST", "/api/v1/carts"))[0] == 201


async def test_a_frozen_redis_fails_closed_at_once_and_reads_go_on(
    redis_server: EmbeddedRedis, make_settings: Any, make_client: Any, db: asyncpg.Connection
) -> None:
    app = create_app(make_settings(redis_url=redis_server.url))
    client = await make_client(app)
    product_id, _ = await add_product(db, "linen-shirt", {"SHIRT-S": (2500, 10)})
    signed_in = {"Authorization": f"Bearer {app[AUTH].tokens.issue(uuid.uuid4(), 'a-session', 'customer')}"}
    base = f"http://127.0.0.1:{client.port}"
    assert redis_server.proc is not None
    async with aiohttp.ClientSession(base) as session:
        with frozen(redis_server.proc.pid):
            assert (await answer(session, "GET", f"/api/v1/products/{product_id}"))[0] == 200
            assert (await answer(session, "GET", "/api/v1/products?q=shirt"))[0] == 200
            status, (retry_after, _) = await answer(session, "GET", "/api/v1/auth/session", headers=signed_in)
            assert status == 503 and retry_after
            status, (_, ready) = await answer(session, "GET", "/readyz")
            assert status == 200 and ready["status"] == "degraded"
        for _ in range(50):
            if (await answer(session, "GET", "/readyz"))[1][1]["status"] == "ok":
                break
            await asyncio.sleep(0.1)
        assert (await answer(session, "GET", "/readyz"))[1][1]["status"] == "ok"
