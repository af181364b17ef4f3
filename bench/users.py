"""The account benchmarks: the dashboard and order history at a million orders.

Seeds 1,000,000 orders over 100,000 customers (one of them with 20,000) with COPY, fills
the summary rows in one statement, ANALYZEs, then at N connections reads the dashboard and
the first and a deep page of the order history, for the 20,000-order customer and for
random customers, each against a bare aiohttp + asyncpg one-row primary-key SELECT run
right before it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from subprocess import Popen
from typing import Any

import asyncpg
import orjson
from redis.asyncio import Redis

from bench.load import Result, drive, get_each
from shopflow.auth.sessions import Sessions
from shopflow.auth.tokens import AccessTokens
from shopflow.platform.embedded import free_port
from shopflow.platform.pagination import encode_cursor
from shopflow.platform.settings import Settings

CUSTOMERS, ORDERS, BIG = 100_000, 1_000_000, 20_000
SIGNED_IN = 2_000  # random customers given a session
Process = Callable[..., AbstractContextManager[Popen[bytes]]]
ADDRESS = orjson.dumps(
    {"name": "B", "line1": "1 Main St", "city": "X", "postal_code": "1", "country": "US"}
).decode()
# (status, payment status, refunded in full): mostly delivered, as in a shop that has run a while
STATES = [("delivered", "paid", False)] * 14 + [
    ("pending_payment", "pending", False),
    ("cancelled", "cancelled", False),
    ("refunded", "refunded", True),
    ("paid", "paid", False),
    ("fulfilled", "paid", False),
    ("partially_refunded", "partially_refunded", False),
]
SUMMARIES = """
INSERT INTO customer_summaries
       (user_id, currency, orders_count, open_orders_count, lifetime_spend, last_order_at)
SELECT user_id, currency, count(*), count(*) FILTER (WHERE order_is_open(status)),
       sum(order_spend(payment_status, total, refunded)), max(created_at)
  FROM orders WHERE user_id IS NOT NULL GROUP BY user_id, currency
"""


def _orders(
    user_ids: list[uuid.UUID], order_ids: list[uuid.UUID], start: datetime
) -> Iterator[tuple[Any, ...]]:
    """The orders' rows: the first BIG for the first customer, the rest dealt round the others."""
    rng = random.Random(11)
    others = len(user_ids) - 1
    span = 3 * 365 * 86400
    for i, order_id in enumerate(order_ids):
        user = user_ids[0] if i < BIG else user_ids[1 + i % others]
        status, payment, refunded_all = STATES[i % len(STATES)]
        subtotal = 1000 + (i % 50) * 100
        total = subtotal + 500
        refunded = total if refunded_all else (500 if payment == "partially_refunded" else 0)
        at = start + timedelta(seconds=rng.randrange(span))
        brief = orjson.dumps([{"name": name, "sku": sku, "quantity": 1} for _, sku, name in _lines_of(i)])
        yield (
            order_id, f"SF-B{i:09d}", user, f"c{i % 97}@bench.example", status, "USD", subtotal, 500, 0,
            total, refunded, ADDRESS, ADDRESS, "manual", payment, at, at, brief.decode(),
        )  # fmt: skip


def _lines_of(i: int) -> list[tuple[int, str, str]]:
    """The i-th order's lines: (line number, SKU, name)."""
    return [(n, f"SKU-{(i + n) % 5000}", f"Bench thing {(i + n) % 5000}") for n in range(1, 2 + i % 3)]


def _lines(order_ids: list[uuid.UUID]) -> Iterator[tuple[Any, ...]]:
    for i, order_id in enumerate(order_ids):
        for n, sku, name in _lines_of(i):
            yield order_id, n, sku, name, 500, 1, 500


async def seed(dsn: str) -> tuple[float, list[uuid.UUID]]:
    """Customers, orders, lines and summary rows; the seconds it took and the customers' ids
    (the 20,000-order one first)."""
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        user_ids = [uuid.uuid4() for _ in range(CUSTOMERS)]
        order_ids = [uuid.uuid4() for _ in range(ORDERS)]
        now = datetime.now(UTC)
        async with conn.transaction():
            # the trigger's row-at-a-time upserts would cost more than the load: one INSERT after
            await conn.execute("ALTER TABLE orders DISABLE TRIGGER customer_summaries_follow")
            await conn.copy_records_to_table(
                "users",
                records=(
                    (u, f"customer{n}@bench.example", f"Customer {n}", True, now)
                    for n, u in enumerate(user_ids)
                ),
                columns=["id", "email", "name", "email_verified", "created_at"],
            )
            await conn.copy_records_to_table(
                "orders",
                records=_orders(user_ids, order_ids, now - timedelta(days=3 * 365)),
                columns=[
                    "id", "number", "user_id", "email", "status", "currency", "subtotal", "shipping", "tax",
                    "total", "refunded", "shipping_address", "billing_address", "payment_provider",
                    "payment_status", "created_at", "updated_at", "lines_brief",
                ],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "order_lines",
                records=_lines(order_ids),
                columns=["order_id", "line_no", "sku", "name", "unit_price", "quantity", "line_total"],
            )
            await conn.execute(SUMMARIES)
            await conn.execute("ALTER TABLE orders ENABLE TRIGGER customer_summaries_follow")
        await conn.execute("VACUUM ANALYZE users, orders, order_lines, customer_summaries")
        return time.perf_counter() - started, user_ids
    finally:
        await conn.close()


async def cursors(dsn: str, user_id: uuid.UUID, positions: list[int]) -> list[str]:
    """Cursors of the customer's history that start pages after these positions (newest 0)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT created_at, id FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC", user_id
        )
        return [encode_cursor([rows[p]["created_at"].isoformat(), str(rows[p]["id"])]) for p in positions]
    finally:
        await conn.close()


async def later_pages(dsn: str, user_ids: list[uuid.UUID]) -> list[str]:
    """For each customer, a cursor past their 5th latest order (their history's second half)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT u, o.created_at, o.id FROM unnest($1::uuid[]) WITH ORDINALITY AS x(u, n),"
            " LATERAL (SELECT created_at, id FROM orders WHERE user_id = x.u"
            "          ORDER BY created_at DESC, id DESC OFFSET 4 LIMIT 1) o ORDER BY x.n",
            user_ids,
        )
        return [encode_cursor([r["created_at"].isoformat(), str(r["id"])]) for r in rows]
    finally:
        await conn.close()


async def sign_in(settings: Settings, user_ids: list[uuid.UUID]) -> list[str]:
    """Bearer headers for these customers, through auth's sessions and tokens (no bcrypt)."""
    redis = Redis.from_url(settings.redis_url)
    sessions = Sessions(redis, settings.session_idle_timeout, settings.session_lifetime)
    tokens = AccessTokens(
        settings.jwt_secret.get_secret_value().encode(),
        settings.jwt_algorithm,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.access_token_ttl,
    )
    try:
        headers = []
        for user_id in user_ids:
            session = await sessions.start(user_id, "customer")
            headers.append(f"Bearer {tokens.issue(user_id, session.session_id, 'customer')}")
        return headers
    finally:
        await redis.aclose()


async def explain(dsn: str, user_id: uuid.UUID, cursor_at: tuple[datetime, uuid.UUID]) -> str:
    """The plan and time of the big customer's deep page, as the shop asks for it."""
    from shopflow.checkout.history_queries import NEXT_PAGE

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + NEXT_PAGE, user_id, 21, *cursor_at)
        return "\n".join("    " + r[0] for r in rows)
    finally:
        await conn.close()


def run_users(
    args: argparse.Namespace, env: dict[str, str], dsn: str, redis_url: str, process: Process, row: str
) -> None:
    took, user_ids = asyncio.run(seed(dsn))
    print(
        f"seeded {CUSTOMERS:,} customers, {ORDERS:,} orders and their lines (COPY), summary rows in one"
        f" INSERT … SELECT, VACUUM ANALYZE: {took:.1f} s"
    )
    big = user_ids[0]
    deep = asyncio.run(cursors(dsn, big, list(range(10_000, 19_900, 450))))
    randoms = random.Random(7).sample(user_ids[1:], SIGNED_IN)
    settings = Settings(
        database_url=dsn,
        redis_url=redis_url,
        jwt_secret=env["SHOPFLOW_JWT_SECRET"],
        password_pepper=env["SHOPFLOW_PASSWORD_PEPPER"],
    )
    ports = {name: free_port() for name in ("select", "shop")}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    shop = [sys.executable, "-m", "shopflow", "serve", "--host", "127.0.0.1", "--port", str(ports["shop"])]
    select = [sys.executable, "-m", "bench.baseline_db", str(ports["select"]), dsn]
    with process(select, base["select"] + "/"), process(shop, base["shop"] + "/readyz", env):
        # signed in now: access tokens live for minutes
        bearers = asyncio.run(sign_in(settings, [big, *randoms]))
        later = asyncio.run(later_pages(dsn, randoms))
        mine, theirs = {"Authorization": bearers[0]}, bearers[1:]
        seconds, connections = args.seconds, args.connections

        def one(paths: list[str]) -> Callable[[], Result]:
            return lambda: drive(base["shop"], paths, connections=connections, seconds=seconds, headers=mine)

        def each(requests: list[tuple[str, str]]) -> Callable[[], Result]:
            return lambda: get_each(base["shop"], requests, connections=connections, seconds=seconds)

        scenarios = [
            # no SQL: the JWT and the session's Redis check every /me request pays, for scale
            ("GET /auth/session (reference)", one(["/api/v1/auth/session"])),
            ("dashboard, 20,000 orders", one(["/api/v1/me/dashboard"])),
            ("orders page 1, 20,000 orders", one(["/api/v1/me/orders"])),
            ("orders deep page, 20,000 orders", one([f"/api/v1/me/orders?cursor={c}" for c in deep])),
            ("dashboard, random customers", each([("/api/v1/me/dashboard", b) for b in theirs])),
            ("orders page 1, random customers", each([("/api/v1/me/orders", b) for b in theirs])),
            (
                "orders page 2, random customers",
                each([(f"/api/v1/me/orders?cursor={c}", b) for c, b in zip(later, theirs, strict=True)]),
            ),
        ]
        print(
            f"\n{connections} connections; each scenario {args.rounds} times, each right after a"
            f" {seconds} s run of the baseline;\nratio = median of the pairs; deep page: cursors"
            " 10,000-19,900 orders down\n"
        )
        print(row.format("scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "ratio", "target"))
        baseline = []

        def pk_select() -> Result:
            return drive(base["select"], ["/row"], connections=connections, seconds=seconds)

        for name, run in scenarios:
            drive(base["shop"], ["/healthz"], connections=connections, seconds=1)
            run()  # warm up
            pairs = [(pk_select(), run()) for _ in range(args.rounds)]
            baseline += [b.rps for b, _ in pairs]
            ratio = statistics.median(r.rps / b.rps for b, r in pairs)
            r = sorted((r for _, r in pairs), key=lambda x: x.rps)[len(pairs) // 2]
            ok = ratio >= 0.3 and r.p95_ms <= 20 and not r.errors
            figures = (f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p95_ms:.2f}", f"{r.p99_ms:.2f}", r.errors)
            verdict = "" if "reference" in name else f">= 0.3x, p95 <= 20 ms  {'ok' if ok else 'MISSED'}"
            print(row.format(name, *figures, f"{ratio:.2f}x", verdict), flush=True)
        print(
            "\nbaseline (bare aiohttp + uvloop + asyncpg, one-row primary-key SELECT):"
            f" median {statistics.median(baseline):,.0f} req/s"
        )
    plan = asyncio.run(explain(dsn, big, asyncio.run(_deep_position(dsn, big))))
    print(f"\nthe 20,000-order customer's orders 15,001-15,021, as the shop reads them:\n{plan}")


async def _deep_position(dsn: str, user_id: uuid.UUID) -> tuple[datetime, uuid.UUID]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT created_at, id FROM orders WHERE user_id = $1"
            " ORDER BY created_at DESC, id DESC OFFSET 15000 LIMIT 1",
            user_id,
        )
        assert row is not None
        return row["created_at"], row["id"]
    finally:
        await conn.close()
