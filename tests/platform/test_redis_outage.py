"""Redis killed and restarted under a running shop: what goes on, what fails closed, and
that everything comes back without a restart and without serving what it knows is stale.

Each test runs its own redis-server (with an append-only file, so what was in Redis before
the outage is there again after it, as with a managed Redis), never the session's one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio
import redis.exceptions
from arq.connections import ArqRedis

from shopflow.app import create_app
from shopflow.catalog import service
from shopflow.checkout import settlement
from shopflow.jobs import job_context
from shopflow.keys import AUTH, CACHE, CHECKOUT, DB
from shopflow.platform.embedded import EmbeddedRedis
from tests.checkout.conftest import add, add_product, checkout, new_cart
from tests.conftest import sign_in
from workers.settings import build_worker


class Outage:
    """A redis-server the test may kill (SIGKILL, as a crash) and start again on its port."""

    def __init__(self, data_dir: Path) -> None:
        self.server = EmbeddedRedis(data_dir, durable=True)

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self) -> None:
        await asyncio.to_thread(self.server.start)
        client = redis.asyncio.from_url(self.url)
        try:
            for _ in range(200):  # while it loads its data, it takes no settings
                try:
                    await client.config_set("appendfsync", "always")  # a kill loses no write
                    return
                except redis.exceptions.ResponseError:
                    await asyncio.sleep(0.02)
            pytest.fail("redis-server never finished loading")
        finally:
            await client.aclose()

    async def kill(self) -> None:
        proc = self.server.proc
        assert proc is not None and proc.poll() is None
        proc.kill()
        await asyncio.to_thread(proc.wait)


@pytest.fixture
async def outage(tmp_path: Path) -> AsyncIterator[Outage]:
    o = Outage(tmp_path / "redis")
    try:
        await o.start()
        yield o
    finally:
        o.server.stop()


async def listed(db: asyncpg.Connection, slug: str, sku: str, price: int) -> tuple[str, str]:
    """A product on sale with one variant of 10 units; its id and the variant's."""
    product_id, variants = await add_product(db, slug, {sku: (price, 10)})
    await db.execute("UPDATE products SET price_min = $2, price_max = $2 WHERE id = $1", product_id, price)
    return product_id, variants[sku]


async def eventually(check: Callable[[], Awaitable[bool]], tries: int = 300) -> None:
    """Wait, a bounded number of times, for another task or process to make `check` true."""
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"still not so after {tries} tries")


async def status(client: Any, path: str, **kwargs: Any) -> int:
    resp = await client.get(path, **kwargs)
    await resp.read()
    return int(resp.status)


async def product(client: Any, key: str) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/products/{key}")
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


def price_of(doc: dict[str, Any]) -> int:
    return int(doc["variants"][0]["price"]["amount"])


async def metric(client: Any, line_start: str) -> float:
    text = await (await client.get("/metrics")).text()
    lines = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    assert lines, f"no {line_start} in /metrics"
    return float(lines[0].split()[-1])


async def test_the_shop_degrades_while_redis_is_down_and_recovers(
    outage: Outage, make_settings: Any, make_client: Any, db: asyncpg.Connection
) -> None:
    app = create_app(make_settings(redis_url=outage.url, rate_limit_api_settle=0.05))
    client = await make_client(app)
    shirt, variant = await listed(db, "linen-shirt", "SHIRT-S", 2500)
    mug, _ = await listed(db, "blue-mug", "MUG", 900)
    headers = await sign_in(client, app, "ada@example.com")
    reads = [
        f"/api/v1/products/{shirt}",  # cached before the outage
        "/api/v1/products?limit=5",  # cached before the outage
        "/api/v1/categories",  # cached before the outage
        "/api/v1/products/linen-shirt",
        f"/api/v1/products/{mug}",
        "/api/v1/products?q=mug",
        "/api/v1/products?sort=price_asc&limit=1",
    ]
    for path in reads[:3]:
        assert await status(client, path) == 200

    await outage.kill()
    for _ in range(3):
        assert [await status(client, path) for path in reads] == [200] * len(reads)

    cart = await new_cart(client)  # a guest: carts and checkout need no Redis
    assert (await add(client, cart, variant, 2)).status == 201
    placed = await checkout(client, cart, headers={"Idempotency-Key": "outage-1"})
    assert placed.status == 201, await placed.text()
    replay = await checkout(client, cart, headers={"Idempotency-Key": "outage-1"})
    assert replay.status == 201 and replay.headers["Idempotent-Replayed"] == "true"
    # A payment commits and hands its mail to the workers; that hand-over fails, the
    # payment stands and the mail waits in the outbox for the relay.
    order_id = uuid.UUID((await placed.json())["order"]["id"])
    await settlement.mark_paid(app[CHECKOUT], order_id, "paid at the counter")
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order_id) == "paid"
    assert await db.fetchval("SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL") == 1

    resp = await client.get("/api/v1/auth/session", headers=headers)  # fails closed
    assert resp.status == 503 and int(resp.headers["Retry-After"]) >= 1
    assert (await resp.json())["code"] == "unavailable"
    resp = await client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "x" * 12})
    assert resp.status == 503 and int(resp.headers["Retry-After"]) >= 1
    assert (await resp.json())["code"] == "unavailable"

    resp = await client.get("/readyz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "degraded"
    assert body["checks"]["postgres"] == "ok" and body["checks"]["redis"].startswith("down")
    assert await metric(client, "redis_up") == 0
    assert await metric(client, "postgres_up") == 1

    await outage.start()

    async def session_works() -> bool:
        return await status(client, "/api/v1/auth/session", headers=headers) == 200

    async def ready() -> bool:
        resp = await client.get("/readyz")
        return resp.status == 200 and (await resp.json())["status"] == "ok"

    await eventually(session_works)
    await eventually(ready)
    assert await metric(client, "redis_up") == 1

    async def served_from_the_cache() -> bool:
        before = await metric(client, 'cache_loads_total{cache="product"}')
        await product(client, shirt)
        await product(client, shirt)
        return await metric(client, 'cache_loads_total{cache="product"}') == before

    await eventually(served_from_the_cache)
    assert [await status(client, path) for path in reads] == [200] * len(reads)


async def test_no_stale_document_is_served_after_redis_comes_back(
    outage: Outage, make_settings: Any, make_client: Any, db: asyncpg.Connection
) -> None:
    settings = make_settings(redis_url=outage.url)
    a, b = create_app(settings), create_app(settings)  # two web processes
    client_a, client_b = await make_client(a), await make_client(b)
    shirt, _ = await listed(db, "linen-shirt", "SHIRT-S", 2500)
    for client in (client_a, client_b):  # cached in each process and in Redis
        assert price_of(await product(client, shirt)) == 2500
        assert price_of(await product(client, "linen-shirt")) == 2500

    await outage.kill()
    # A price change whose invalidation never reaches Redis (written straight to the
    # table), and a staff write through the catalog's rules, whose invalidation fails.
    await db.execute("UPDATE variants SET price_amount = 3100 WHERE sku = 'SHIRT-S'")
    await db.execute("UPDATE products SET price_min = 3100, price_max = 3100 WHERE id = $1", shirt)
    level = await service.set_stock(a[DB], a[CACHE], "SHIRT-S", 4)
    assert level["on_hand"] == 4
    assert await db.fetchval("SELECT on_hand FROM stock WHERE sku = 'SHIRT-S'") == 4
    for client in (client_a, client_b):  # while Redis is down, PostgreSQL answers
        doc = await product(client, shirt)
        assert (price_of(doc), doc["variants"][0]["stock_available"]) == (3100, 4)

    await outage.start()

    async def both_caches_back() -> bool:
        return all(getattr(app[CACHE], "live", False) for app in (a, b))

    await eventually(both_caches_back)
    c = create_app(settings)  # a process started after the outage reads Redis first
    client_c = await make_client(c)
    for client in (client_a, client_b, client_c, client_a, client_b, client_c):
        for key in (shirt, "linen-shirt"):
            doc = await product(client, key)
            assert (price_of(doc), doc["variants"][0]["stock_available"]) == (3100, 4)

    # and the cache works again: a write now reaches every process
    await service.set_stock(b[DB], b[CACHE], "SHIRT-S", 7)

    async def everyone_sees_seven() -> bool:
        docs = [await product(client, shirt) for client in (client_a, client_b, client_c)]
        return all(d["variants"][0]["stock_available"] == 7 for d in docs)

    await eventually(everyone_sees_seven)


async def test_a_hung_redis_fails_fast_and_reads_go_on(
    make_settings: Any, make_client: Any, db: asyncpg.Connection
) -> None:
    """A Redis that accepts connections and never answers (a hung server, a half-open
    network): the shop starts, reads come from PostgreSQL, session checks answer 503."""
    writers: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncio.timeout(60):  # a bound on the test, not a measurement
            app = create_app(make_settings(redis_url=f"redis://127.0.0.1:{port}/0", request_timeout=120))
            client = await make_client(app)
            shirt, _ = await listed(db, "linen-shirt", "SHIRT-S", 2500)
            assert price_of(await product(client, shirt)) == 2500
            assert await status(client, "/api/v1/products?q=shirt") == 200
            token = app[AUTH].tokens.issue(uuid.uuid4(), "some-session", "customer")
            resp = await client.get("/api/v1/auth/session", headers={"Authorization": f"Bearer {token}"})
            assert resp.status == 503 and resp.headers["Retry-After"]
            assert (await resp.json())["code"] == "unavailable"
            resp = await client.get("/readyz")
            assert resp.status == 200 and (await resp.json())["checks"]["redis"].startswith("down")
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_worker_waits_out_an_outage_and_carries_on(
    outage: Outage, make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await outage.kill()  # down from the start, then twice more while it works
    settings = make_settings(redis_url=outage.url)
    worker = build_worker(settings, poll_delay=0.02, cron_jobs=[], handle_signals=False)
    task = asyncio.ensure_future(worker.main())

    async def enqueue(job_id: str) -> None:
        pool = ArqRedis.from_url(outage.url)
        try:
            assert await pool.enqueue_job("heartbeat", _job_id=job_id) is not None
        finally:
            await pool.aclose()

    async def waiting() -> bool:
        return task.done() or bool(getattr(worker, "waiting_for_redis", False))

    async def completed(n: int) -> bool:
        assert not task.done(), task.exception()
        return bool(worker.jobs_complete == n)

    try:
        for n in (1, 2):
            await eventually(waiting)
            assert not task.done(), task.exception()
            await outage.start()
            await enqueue(f"job-{n}")
            await eventually(lambda n=n: completed(n))  # type: ignore[misc]
            await outage.kill()
        await eventually(waiting)
        assert not task.done(), task.exception()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()  # with Redis down too
    assert worker.jobs_failed == 0
    assert job_context(worker.ctx).db.pool.is_closing()  # its shutdown ran
    said = [r for r in caplog.records if r.name == "shopflow.worker" and r.levelno == logging.WARNING]
    # a line or two per outage (Redis may answer PING while it still loads its data), not
    # one per failed attempt
    assert 3 <= len(said) <= 6
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
