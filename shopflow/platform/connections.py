"""What one client may hold of a web process: connections, and the time it takes to send.

aiohttp waits as long as a client likes for a request's headers and body, and accepts
every connection offered, so one machine trickling bytes could hold every file descriptor
(slowloris) or every request slot. Here each connection is held to a policy:

- the headers of a request must arrive within `header_timeout` of its first byte;
- a body must keep coming: each read within `body_timeout` (unless we stopped reading);
- an idle keep-alive connection closes after `keepalive_timeout` (aiohttp's own timer);
- one address may hold `per_address` connections (trusted proxies excepted), the process
  `total`; more are answered 503 and closed at once.

What is shed is counted in `http_connections_shed_total{reason}` and summed up in one log
line a second. A request aiohttp cannot parse because a line is too long, or has too many
headers, is answered 414 or 431 as problem+json and logged as the client's error.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from ..keys import CONNECTIONS
from . import errors
from .jsonx import PROBLEM_JSON, dumps, problem_response
from .metrics import Metrics

if TYPE_CHECKING:
    from ipaddress import IPv4Network, IPv6Network

    from .middleware import Traffic

log = logging.getLogger("shopflow.http")


class Phase(IntEnum):
    IDLE = 0  # between requests: aiohttp's keep-alive timer applies
    HEADERS = 1  # a request has begun and its headers are not all here
    BODY = 2  # its body is still arriving


class Shed:
    """Why a connection was closed on the client: the `reason` label of the counter."""

    ADDRESS_CAP = "address_cap"
    TOTAL_CAP = "total_cap"
    SLOW_HEADERS = "slow_headers"
    SLOW_BODY = "slow_body"


def _refusal(detail: str) -> bytes:
    problem = errors.Unavailable(detail).problem()
    body = dumps(problem)
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class Connections:
    """The policy, and the connections of one process it watches."""

    def __init__(
        self,
        *,
        header_timeout: float,
        body_timeout: float,
        per_address: int,
        total: int,
        trusted: Iterable[IPv4Network | IPv6Network],
        metrics: Metrics,
        traffic: Traffic,
    ) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.per_address = per_address
        self.total = total
        self.trusted = tuple(trusted)
        self.traffic = traffic  # request ids and headers for the answers given here
        self.open: set[Connection] = set()
        self.by_address = Counter[str]()
        self._shed = metrics.counter("http_connections_shed", "Connections closed on the client", ("reason",))
        self._unreported = Counter[tuple[str, str]]()  # (reason, address) since the last log line
        metrics.gauge("http_connections_open", "Client connections open", lambda: len(self.open))
        self._full = _refusal("too many connections; retry shortly")

    def admit(self, conn: Connection) -> bool:
        """Whether a new connection may stay; if not, it was answered 503."""
        reason = None
        if len(self.open) >= self.total:
            reason = Shed.TOTAL_CAP
        elif self.by_address[conn.address] >= self.per_address and not self._trusted(conn.address):
            reason = Shed.ADDRESS_CAP
        if reason is not None:
            self.shed(conn, reason, self._full)
            return False
        self.open.add(conn)
        self.by_address[conn.address] += 1
        return True

    def forget(self, conn: Connection) -> None:
        if conn in self.open:
            self.open.discard(conn)
            self.by_address[conn.address] -= 1
            if not self.by_address[conn.address]:
                del self.by_address[conn.address]

    def shed(self, conn: Connection, reason: str, answer: bytes = b"") -> None:
        self._shed.inc(reason)
        self._unreported[reason, conn.address] += 1
        if answer and conn.transport is not None:
            conn.transport.write(answer)
        conn.force_close()

    def _trusted(self, address: str) -> bool:
        if not self.trusted:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def sweep(self, now: float) -> None:
        """Close the connections too slow to send what they began."""
        late = [c for c in self.open if c.deadline and c.deadline <= now]
        for conn in late:
            if conn.phase == Phase.BODY and conn.not_reading():
                conn.deadline = now + self.body_timeout  # we stopped reading, not the client
                continue
            self.forget(conn)
            self.shed(conn, Shed.SLOW_HEADERS if conn.phase == Phase.HEADERS else Shed.SLOW_BODY)

    def report(self) -> None:
        """One log line for what was shed since the last one."""
        if not self._unreported:
            return
        by_reason = Counter[str]()
        for (reason, _), n in self._unreported.items():
            by_reason[reason] += n
        (_, address), most = self._unreported.most_common(1)[0]
        self._unreported.clear()
        summary = ", ".join(f"{n} {reason}" for reason, n in sorted(by_reason.items()))
        log.warning("connections shed: %s (most from %s: %d)", summary, address, most)

    async def run(self, every: float) -> None:
        """Sweep every `every` seconds and report each second, until cancelled."""
        loop = asyncio.get_running_loop()
        next_report = loop.time() + 1.0
        while True:
            await asyncio.sleep(every)
            now = loop.time()
            self.sweep(now)
            if now >= next_report:
                self.report()
                next_report = now + 1.0


class Connection(RequestHandler):
    """aiohttp's protocol, with the deadlines of the policy and the time each request
    arrived (so that the middleware can tell how long it waited for the loop)."""

    __slots__ = ("address", "body", "deadline", "phase", "policy", "received_at", "request_line")

    def __init__(self, manager: ConnectionServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.policy = manager.policy
        self.address = ""
        self.phase = Phase.IDLE
        self.deadline = 0.0  # when the client is too slow; 0: no deadline
        self.received_at = 0.0  # when the last request's headers were complete
        self.request_line = b""  # the start of the last request, to tell a long URL from long headers
        self.body: StreamReader | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) else "local"
        # the first request must begin and end its headers in time, like every other
        self.phase, self.deadline = Phase.HEADERS, self._loop.time() + self.policy.header_timeout
        self.policy.admit(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.policy.forget(self)
        super().connection_lost(exc)

    def not_reading(self) -> bool:
        return self._reading_paused or self._buffer_paused

    def data_received(self, data: bytes) -> None:
        count = self._request_count
        if self.phase == Phase.IDLE and data:
            self.phase, self.request_line = Phase.HEADERS, data[:200]
            self.deadline = self._loop.time() + self.policy.header_timeout
        elif self.phase == Phase.HEADERS and not self.request_line:
            self.request_line = data[:200]
        super().data_received(data)
        if self._request_count != count:  # a request's headers are complete
            self.received_at = time.perf_counter()  # the middleware's clock
            payload = self._messages[-1][1] if self._messages else None
            self.body = payload if payload is not None and not payload.is_eof() else None
            self._await_body(self._loop.time())
        elif self.phase == Phase.BODY:
            self._await_body(self._loop.time())

    def _await_body(self, now: float) -> None:
        if self.body is None or self.body.is_eof():
            self.phase, self.deadline, self.body = Phase.IDLE, 0.0, None
        else:
            self.phase, self.deadline = Phase.BODY, now + self.policy.body_timeout

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request aiohttp could not parse: the client's error, as problem+json."""
        if not isinstance(exc, HttpProcessingError) or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        problem = self._parse_problem(exc)
        rid = self.policy.traffic.new_request_id()
        log.info(
            "unparsable request from %s: %s",
            self.address,
            exc.message,
            extra={"request_id": rid, "status": problem.status},
        )
        response = problem_response(problem, rid)
        response.headers.update({**self.policy.traffic.headers, "X-Request-ID": rid})
        response.force_close()
        return response

    def _parse_problem(self, exc: HttpProcessingError) -> errors.AppError:
        if isinstance(exc, LineTooLong):
            line = exc.args[0] if isinstance(exc.args[0], bytes) else b""
            first_line = self.request_line.split(b"\n", 1)[0]
            if b" " + line.removesuffix(b"...")[:40] in first_line:
                return errors.URITooLong("the request's URL is longer than this server reads")
            return errors.HeadersTooLarge("a request header is longer than this server reads")
        if "Too many headers" in exc.message:
            return errors.HeadersTooLarge("the request has more headers than this server reads")
        return errors.BadRequest(f"the request is not valid HTTP: {exc.message}")


class ConnectionServer(web.Server):
    """aiohttp's low-level server, making `Connection`s."""

    def __init__(self, *args: Any, policy: Connections, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy

    def __call__(self) -> Connection:
        return Connection(self, loop=self._loop, **self._kwargs)


class ShopRunner(web.AppRunner):
    """An AppRunner whose server holds connections to the app's `Connections` policy."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return ConnectionServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            policy=self.app[CONNECTIONS],
            **server._kwargs,
        )


async def connections_ctx(app: web.Application) -> AsyncIterator[None]:
    policy = app[CONNECTIONS]
    task = asyncio.create_task(policy.run(min(1.0, policy.header_timeout / 4, policy.body_timeout / 4)))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    policy.report()
