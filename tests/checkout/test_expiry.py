"""The expiry job under a backlog: every expired order released in one run, in batches
that each commit whole, with the stock and the counters right."""

from __future__ import annotations

import time

import asyncpg
from arq import cron

from shopflow.checkout.tasks import expire_orders
from shopflow.platform.settings import Settings
from tests.conftest import metric_samples
from workers.settings import build_worker

from .conftest import add_product

# Pending orders, written as checkout writes them (the order, its reservations, the stock
# held); `expired` of them past their reservation, the rest still within it.
BACKLOG = """
WITH o AS (
  INSERT INTO orders (number, email, currency, subtotal, shipping, tax, total,
                      shipping_address, billing_address, payment_provider, created_at)
  SELECT 'SF-BACK-' || i, 'buyer' || i || '@example.com', 'USD', 3000, 0, 0, 3000,
         '{"country": "GB"}', '{"country": "GB"}', 'manual', now() - interval '1 hour'
  FROM generate_series(1, $1) i
  RETURNING id, number
), r AS (
  INSERT INTO reservations (order_id, sku, quantity, expires_at)
  SELECT id, sku, quantity,
         CASE WHEN substr(number, 9)::int <= $2 THEN now() - interval '1 minute'
              ELSE now() + interval '10 minutes' END
  FROM o, LATERAL (VALUES ('MUG-RED', 1), ('MUG-BLUE', 2)) AS x(sku, quantity)
  WHERE sku = 'MUG-RED' OR substr(number, 9)::int % 3 = 0
  RETURNING sku, quantity
), h AS (
  INSERT INTO order_history (order_id, status, note) SELECT id, 'pending_payment', 'order placed' FROM o
)
UPDATE stock SET reserved = stock.reserved + t.n
FROM (SELECT sku, sum(quantity) AS n FROM r GROUP BY sku) t WHERE stock.sku = t.sku
"""


async def _held(db: asyncpg.Connection) -> dict[str, tuple[int, int]]:
    """Per SKU: units reserved in stock, and units the held reservations add up to."""
    rows = await db.fetch(
        "SELECT s.sku, s.reserved, coalesce(sum(r.quantity) FILTER (WHERE r.state = 'held'), 0) AS held"
        " FROM stock s LEFT JOIN reservations r ON r.sku = s.sku GROUP BY s.sku"
    )
    return {r["sku"]: (r["reserved"], r["held"]) for r in rows}


async def _work(settings: Settings, seconds: float = 60) -> dict[str, float]:
    """One burst of a real worker running the expiry job at start (for at most `seconds`);
    what its metrics say."""
    # at start, and on the clock only half a minute from now: once in a short burst
    later = (time.localtime().tm_sec + 30) % 60
    job = cron(expire_orders, run_at_startup=True, second=later, timeout=seconds)
    worker = build_worker(settings, burst=True, poll_delay=0.01, cron_jobs=[job])
    try:
        await worker.main()
        return metric_samples((await worker.ctx["metrics"].exposition()).decode())
    finally:
        await worker.close()


async def test_a_backlog_of_expired_orders_is_released_in_one_run(
    settings: Settings, db: asyncpg.Connection
) -> None:
    await add_product(db, "mug", {"MUG-RED": (1000, 20_000), "MUG-BLUE": (1000, 20_000)})
    await db.execute(BACKLOG, 3300, 3000)  # 3000 expired, 300 not yet
    assert (await _held(db))["MUG-RED"] == (3300, 3300)

    metrics = await _work(settings)

    statuses = dict(await db.fetch("SELECT status, count(*) FROM orders GROUP BY status"))
    assert statuses == {"cancelled": 3000, "pending_payment": 300}
    assert await _held(db) == {"MUG-RED": (300, 300), "MUG-BLUE": (200, 200)}
    assert await db.fetchval("SELECT count(*) FROM order_history WHERE status = 'cancelled'") == 3000
    assert await db.fetchval("SELECT count(*) FROM order_events WHERE type = 'order.cancelled'") == 3000
    assert metrics['orders_cancelled_total{reason="expired"}'] == 3000
    assert metrics['worker_jobs_total{function="cron:expire_orders",outcome="success"}'] == 1


async def test_a_run_cut_off_mid_batch_leaves_nothing_half_done(
    settings: Settings, db: asyncpg.Connection, database_url: str
) -> None:
    await add_product(db, "mug", {"MUG-RED": (1000, 20_000), "MUG-BLUE": (1000, 20_000)})
    await db.execute(BACKLOG, 600, 600)
    # a checkout holds one SKU's stock row, so the first batch waits for it; then the job's
    # time is up and the worker cancels it, as arq does at the cron's timeout
    blocker = await asyncpg.connect(database_url)
    try:
        async with blocker.transaction():
            await blocker.execute("SELECT 1 FROM stock WHERE sku = 'MUG-BLUE' FOR UPDATE")
            cut = await _work(settings, seconds=1)
            assert cut['worker_jobs_total{function="cron:expire_orders",outcome="timeout"}'] == 1
    finally:
        await blocker.close()
    # whatever committed before the cut is whole: stock matches the reservations, and each
    # order's status its reservations
    assert all(reserved == held for reserved, held in (await _held(db)).values())
    assert not await db.fetchval(
        "SELECT count(*) FROM orders o JOIN reservations r ON r.order_id = o.id"
        " WHERE (o.status = 'cancelled') = (r.state = 'held')"
    )

    await _work(settings)  # the next run does the rest
    assert await db.fetchval("SELECT count(*) FROM orders WHERE status = 'cancelled'") == 600
    assert await _held(db) == {"MUG-RED": (0, 0), "MUG-BLUE": (0, 0)}
