"""Slow and greedy clients against a real server on loopback, with short timeouts: headers
sent a line at a time (slowloris), bodies that trickle, more connections than one address
may hold, a loop too busy to start requests in time, and requests aiohttp cannot parse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from shopflow.app import create_app
from tests.client import expect
from tests.conftest import metric_samples

OTHER_ADDRESS = "127.0.0.2"  # loopback too: a client other than the attacker's 127.0.0.1
BOUND = 5.0  # seconds the test waits for what the server should do well before


class RawClient:
    """A TCP connection that sends what it is told, as slowly as it is told, and keeps
    what the server sends as it arrives (a reset after it loses nothing)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.received = bytearray()
        self._reading = asyncio.create_task(self._read(reader))

    @classmethod
    async def open(cls, port: int, address: str = "127.0.0.1") -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
        return cls(reader, writer)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                self.received += chunk

    async def send(self, data: bytes) -> bool:
        """Whether the server still took it."""
        if self._reading.done():
            return False
        try:
            self.writer.write(data)
            await self.writer.drain()
        except ConnectionError:
            return False
        return True

    async def until_closed(self) -> bytes:
        """All the server sent before it closed the connection."""
        await asyncio.wait_for(asyncio.shield(self._reading), BOUND)
        return bytes(self.received)

    def close(self) -> None:
        self._reading.cancel()
        self.writer.close()


@contextlib.asynccontextmanager
async def trickling(clients: list[RawClient], every: float, line: bytes) -> AsyncIterator[None]:
    """Every client sends `line` each `every` seconds while this lasts."""

    async def trickle(client: RawClient) -> None:
        while True:
            if not await client.send(line):
                return
            await asyncio.sleep(every)

    tasks = [asyncio.create_task(trickle(c)) for c in clients]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def other_client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(OTHER_ADDRESS, 0)))


async def test_slowloris_is_cut_off_and_one_address_holds_few_connections(
    make_client: Any, make_settings: Any, caplog: Any
) -> None:
    app = create_app(make_settings(header_timeout=0.5, max_connections_per_address=20))
    client = await make_client(app)
    port = client.port
    attackers = [await RawClient.open(port) for _ in range(30)]
    caplog.set_level(logging.WARNING, "shopflow.http")
    async with trickling(attackers, 0.1, b"X-Slow: 1\r\n"), await other_client() as other:
        for a in attackers:
            await a.send(b"GET /api/v1/products HTTP/1.1\r\nHost: shop\r\n")
        # Meanwhile another client is served, the API and the probes alike.
        for path in ("/api/v1/products", "/healthz", "/readyz"):
            async with other.get(f"http://127.0.0.1:{port}{path}") as resp:
                assert resp.status == 200, path
        answers = await asyncio.gather(*(a.until_closed() for a in attackers))
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
    assert len(refused) == 10 and all(b"Retry-After: 1" in a for a in refused)
    assert answers.count(b"") == 20  # the connections within the cap: closed when their time ran out
    for a in attackers:
        a.close()

    metrics = metric_samples(await (await client.get("/metrics")).text())
    assert metrics['http_connections_shed_total{reason="address_cap"}'] == 10
    assert metrics['http_connections_shed_total{reason="slow_headers"}'] == 20
    await asyncio.sleep(1.2)  # the next report
    assert any("connections shed" in r.getMessage() and "127.0.0.1" in r.getMessage() for r in caplog.records)


async def test_a_connection_that_never_sends_is_closed(make_client: Any, make_settings: Any) -> None:
    client = await make_client(create_app(make_settings(header_timeout=0.5)))
    silent = await RawClient.open(client.port)
    assert await silent.until_closed() == b""
    silent.close()


async def test_an_idle_keep_alive_connection_is_closed(make_client: Any, make_settings: Any) -> None:
    client = await make_client(create_app(make_settings(keepalive_timeout=0.5)))
    conn = await RawClient.open(client.port)
    await conn.send(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n")
    answer = await conn.until_closed()  # answered, then closed once idle for long enough
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"status":"ok"}')
    conn.close()


async def test_slow_bodies_hold_no_request_slot(make_client: Any, make_settings: Any) -> None:
    settings = make_settings(body_read_timeout=0.5, max_concurrent_requests=5)
    client = await make_client(create_app(settings))
    cart = await expect(await client.post("/api/v1/carts"), 201)
    path = f"/api/v1/carts/{cart['id']}/items"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: shop\r\n"
        "Content-Type: application/json\r\nContent-Length: 65536\r\n\r\n"
    )
    senders = [await RawClient.open(client.port) for _ in range(10)]
    for s in senders:
        await s.send(head.encode() + b'{"variant_id": "')
    async with trickling(senders, 2.0, b" "):  # a byte every two seconds: slower than allowed
        await asyncio.sleep(0.2)  # every body is being read
        for probe in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(probe)).status == 200, probe
        await expect(await client.post("/api/v1/carts"), 201)
        answers = await asyncio.gather(*(s.until_closed() for s in senders))
    assert answers == [b""] * 10
    for s in senders:
        s.close()
    metrics = metric_samples(await (await client.get("/metrics")).text())
    assert metrics['http_connections_shed_total{reason="slow_body"}'] == 10
    assert metrics["http_requests_in_flight"] == 0


async def test_requests_that_waited_too_long_to_start_are_shed(make_client: Any, make_settings: Any) -> None:
    async def busy(request: web.Request) -> web.Response:
        until = time.perf_counter() + 0.03  # CPU work: a process whose loop has more to do than time
        while time.perf_counter() < until:
            pass
        return web.Response(text="done")

    app = create_app(make_settings(max_queue_delay=0.1))
    app.router.add_get("/test/busy", busy)
    client = await make_client(app)
    url = f"http://127.0.0.1:{client.port}/test/busy"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def get() -> tuple[int, str | None, bytes]:
            async with session.get(url) as resp:
                return resp.status, resp.headers.get("Retry-After"), await resp.read()

        answers = await asyncio.gather(*(get() for _ in range(40)))
    done = [a for a in answers if a[0] == 200]
    shed = [a for a in answers if a[0] == 503]
    assert done and shed and len(done) + len(shed) == 40
    assert all(retry == "1" and orjson.loads(body)["code"] == "unavailable" for _, retry, body in shed)
    metrics = metric_samples(await (await client.get("/metrics")).text())
    assert metrics['http_requests_shed_total{reason="queued"}'] == len(shed)


async def test_a_url_or_header_too_long_is_problem_json(client: Any, caplog: Any) -> None:
    long_url = await client.get("/api/v1/products?q=" + "a" * 9000, headers={"X-Request-ID": "r1"})
    problem = await expect(long_url, 414, "uri_too_long")
    assert problem["request_id"] and long_url.headers["X-Request-ID"] == problem["request_id"]

    long_header = await client.get("/api/v1/products", headers={"X-Long": "b" * 9000})
    await expect(long_header, 431, "headers_too_large")
    many = await client.get("/api/v1/products", headers={f"X-H{i}": "c" for i in range(200)})
    await expect(many, 431, "headers_too_large")
    garbage = await RawClient.open(client.port)
    await garbage.send(b"GET / HTTP/1.1\r\nHost shop\r\n\r\n")
    answer = await garbage.until_closed()
    assert b" 400 " in answer.split(b"\r\n")[0] and b'"code":"bad_request"' in answer
    garbage.close()
    assert (await client.get("/healthz")).status == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # the client's error, not ours
