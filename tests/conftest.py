"""Real PostgreSQL and Redis for the whole session; each test gets its own database.

DATABASE_URL and REDIS_URL name servers to use; without them the embedded servers are
started from their wheels in a temporary directory.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest
import redis.asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from shopflow.app import create_app
from shopflow.auth.service import create_user
from shopflow.keys import AUTH, DB, TRAFFIC
from shopflow.platform.embedded import EmbeddedPostgres, EmbeddedRedis
from shopflow.platform.migrate import migrate
from shopflow.platform.settings import Settings
from tests.client import ContractClient, ShopServer

JWT_SECRET = "test-jwt-secret-" + "0123456789abcdef" * 3
PEPPER = "test-pepper-0123456789"
TEMPLATE = "shopflow_test_template"
# A request that hangs fails its test with a traceback well before the test's own timeout.
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=60)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, str]]:
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        yield {"postgres": os.environ["DATABASE_URL"], "redis": os.environ["REDIS_URL"]}
        return
    with tempfile.TemporaryDirectory(prefix="shopflow-test-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=False)
        rd = EmbeddedRedis(Path(tmp) / "redis", durable=False)
        try:
            yield {"postgres": pg.start(), "redis": rd.start()}
        finally:
            rd.stop()
            pg.stop()


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)


@pytest.fixture(scope="session")
def template_db(servers: dict[str, str]) -> str:
    """A database with every migration applied, copied for each test."""
    import asyncio

    async def build() -> None:
        conn = await _admin(servers["postgres"])
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
            await conn.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await conn.close()
        await migrate(with_database(servers["postgres"], TEMPLATE))

    asyncio.run(build())
    return TEMPLATE


@pytest.fixture
async def database_url(servers: dict[str, str], template_db: str) -> AsyncIterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    conn = await _admin(servers["postgres"])
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {template_db} STRATEGY FILE_COPY")
        yield with_database(servers["postgres"], name)
        await conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await conn.close()


@pytest.fixture
async def redis_url(servers: dict[str, str]) -> AsyncIterator[str]:
    client = redis.asyncio.from_url(servers["redis"])
    await client.flushdb()
    await client.aclose()
    yield servers["redis"]


@pytest.fixture
def make_settings(database_url: str, redis_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "data_dir": tmp_path / "data",  # local media lands here, not in the working tree
            "database_url": database_url,
            "redis_url": redis_url,
            "jwt_secret": JWT_SECRET,
            "password_pepper": PEPPER,
            "bcrypt_cost": 4,
            "access_log": False,
            "db_pool_min": 1,
            "db_pool_max": 10,
            "worker_metrics_port": 0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def make_client(
    make_settings: Any,
) -> AsyncIterator[Callable[[web.Application], Awaitable[TestClient]]]:
    """Starts test servers for apps; closes them before the test's database is dropped."""
    clients: list[TestClient] = []

    async def make(app: web.Application) -> TestClient:
        client = ContractClient(ShopServer(app), timeout=CLIENT_TIMEOUT)
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        report_stuck_requests(client)
        await client.close()


def report_stuck_requests(client: TestClient) -> None:
    """Print where requests still running at the end of a test are stuck (pytest shows it
    with a failure), since closing the server waits for them."""
    if client.app is None:
        return
    for task in client.app[TRAFFIC].deadlines:
        stack = "".join(traceback.format_list(traceback.extract_stack(task.get_stack()[-1])))
        print(f"a request still running at the end of the test:\n{stack}", file=sys.stderr)


@pytest.fixture
async def client(make_client: Any, app: web.Application) -> TestClient:
    return await make_client(app)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test's database, for arranging and checking rows."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


def metric_samples(text: str) -> dict[str, float]:
    """Prometheus text as each sample's name and labels (as written) to its value."""
    lines = (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {sample: float(value) for sample, value in lines}


async def sign_in(
    client: TestClient, app: web.Application, email: str, role: str = "customer"
) -> dict[str, str]:
    """Bearer headers of a new account with `role`, signed in through the API."""
    password = "correct horse battery staple"
    await create_user(app[DB], app[AUTH].passwords, email, password, email.split("@")[0], role)
    resp = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}


@pytest.fixture
async def staff(client: TestClient, app: web.Application) -> dict[str, str]:
    """Headers of a signed-in staff member."""
    return await sign_in(client, app, "staff@shop.example", "staff")
