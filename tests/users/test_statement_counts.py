"""A dashboard and an order page cost the same SQL statements for a customer with 3 orders
as for one with 3,000: counted as the driver sends them, on every connection of the app's
pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from shopflow.keys import DB
from tests.client import expect
from tests.conftest import sign_in

# `count` orders of one customer, each with two lines, half delivered and half unpaid.
SEED = """
WITH o AS (
  INSERT INTO orders (number, user_id, email, status, payment_status, currency, subtotal, shipping,
                      tax, total, shipping_address, billing_address, payment_provider, created_at,
                      lines_brief)
  SELECT 'SF-' || $2 || '-' || i, $1, $2 || '@example.com',
         CASE WHEN i % 2 = 0 THEN 'delivered' ELSE 'pending_payment' END,
         CASE WHEN i % 2 = 0 THEN 'paid' ELSE 'pending' END,
         'USD', 1000, 0, 0, 1000, '{"country": "GB"}', '{"country": "GB"}', 'manual',
         now() - make_interval(mins => i),
         '[{"name": "Thing 1", "sku": "SKU-1", "quantity": 1},
           {"name": "Thing 2", "sku": "SKU-2", "quantity": 1}]'
    FROM generate_series(1, $3) i
  RETURNING id
)
INSERT INTO order_lines (order_id, line_no, sku, name, unit_price, quantity, line_total)
SELECT o.id, n, 'SKU-' || n, 'Thing ' || n, 500, 1, 500 FROM o, generate_series(1, 2) n
"""
PROBE = "SELECT 1"  # the readiness probe's, on its own clock


async def count_statements(app: web.Application) -> Callable[[Callable[[], Awaitable[Any]]], Awaitable[int]]:
    """A function that runs a request and answers how many statements it sent."""
    pool = app[DB].pool
    seen: list[str] = []
    held = [await pool.acquire() for _ in range(pool.get_max_size())]  # every connection the pool makes
    for conn in held:
        conn.add_query_logger(lambda record: seen.append(record.query))
    for conn in held:
        await pool.release(conn)

    async def run(request: Callable[[], Awaitable[Any]]) -> int:
        await asyncio.sleep(0)
        seen.clear()
        await request()
        await asyncio.sleep(0)  # the loggers are called soon after each statement
        return sum(1 for query in seen if query != PROBE)

    return run


async def test_a_long_history_costs_no_more_statements(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    customers = {}
    for name, orders in (("few", 3), ("many", 3000)):
        headers = await sign_in(client, app, f"{name}@example.com")
        user_id = await db.fetchval("SELECT id FROM users WHERE email = $1", f"{name}@example.com")
        await db.execute(SEED, user_id, name, orders)
        customers[name] = headers
    counted = await count_statements(app)

    async def costs(headers: dict[str, str]) -> dict[str, int]:
        async def dashboard() -> None:
            board = await expect(await client.get("/api/v1/me/dashboard", headers=headers), 200)
            assert len(board["recent_orders"]) == min(5, board["orders_count"])

        async def first_page() -> None:
            await expect(await client.get("/api/v1/me/orders?limit=2", headers=headers), 200)

        async def next_page() -> None:
            page = await expect(await client.get("/api/v1/me/orders?limit=2", headers=headers), 200)
            await expect(
                await client.get(f"/api/v1/me/orders?cursor={page['next_cursor']}", headers=headers), 200
            )

        return {
            "dashboard": await counted(dashboard),
            "first page": await counted(first_page),
            "first and next page": await counted(next_page),
        }

    few, many = await costs(customers["few"]), await costs(customers["many"])
    assert few == many == {"dashboard": 3, "first page": 1, "first and next page": 2}
    board = await expect(await client.get("/api/v1/me/dashboard", headers=customers["many"]), 200)
    assert board["orders_count"] == 3000 and board["open_orders_count"] == 1500
    assert board["lifetime_spend"]["amount"] == 1500 * 1000
