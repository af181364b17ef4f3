"""The checkout benchmarks: add to cart against the hello-world, placing an order against a
bare one-row-update handler, and a flash sale of 100 units to 1,000 buyers at once."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from subprocess import Popen

import aiohttp
import asyncpg

from bench.load import Result, drive, post_each
from shopflow.platform.embedded import free_port

ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
ORDER = json.dumps({"email": "buyer@example.com", "shipping_address": ADDRESS, "payment_provider": "manual"})
FLASH_UNITS, FLASH_BUYERS = 100, 1000
Process = Callable[..., AbstractContextManager[Popen[bytes]]]


async def stock_the_shop(dsn: str) -> tuple[list[str], str]:
    """200 variants with plenty of stock, and one flash-sale SKU with 100; their ids."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            product = (
                "INSERT INTO products (slug, name, status, currency)"
                " VALUES ($1, $2, 'active', 'USD') RETURNING id"
            )
            tee = await conn.fetchval(product, "bench-tee", "Bench Tee")
            rows = await conn.fetch(
                "INSERT INTO variants (product_id, sku, name, price_amount, currency)"
                " SELECT $1, 'TEE-' || g, 'Size ' || g, 1999, 'USD' FROM generate_series(1, 200) g"
                " RETURNING id, sku",
                tee,
            )
            await conn.execute(
                "INSERT INTO stock (sku, on_hand) SELECT sku, 1000000000 FROM variants WHERE product_id = $1",
                tee,
            )
            lamp = await conn.fetchval(product, "flash-lamp", "Flash Lamp")
            flash = await conn.fetchval(
                "INSERT INTO variants (product_id, sku, name, price_amount, currency)"
                " VALUES ($1, 'FLASH-1', 'Lamp', 4999, 'USD') RETURNING id",
                lamp,
            )
            await conn.execute("INSERT INTO stock (sku, on_hand) VALUES ('FLASH-1', $1)", FLASH_UNITS)
        return [str(r["id"]) for r in rows], str(flash)
    finally:
        await conn.close()


async def carts_holding(dsn: str, variants: list[str], count: int) -> list[str]:
    """`count` guest carts, the n-th holding one of variants[n % len]."""
    conn = await asyncpg.connect(dsn)
    try:
        ids = [
            str(r["id"])
            for r in await conn.fetch(
                "INSERT INTO carts (expires_at) SELECT now() + interval '1 day' FROM generate_series(1, $1)"
                " RETURNING id",
                count,
            )
        ]
        await conn.execute(
            "INSERT INTO cart_items (cart_id, variant_id, quantity) SELECT c, v, 1"
            " FROM unnest($1::uuid[], $2::uuid[]) AS x(c, v)",
            ids,
            [variants[i % len(variants)] for i in range(count)],
        )
        return ids
    finally:
        await conn.close()


async def flash_sale(base: str, carts: list[str]) -> tuple[float, Counter[int]]:
    """Every buyer checks out at once; the seconds the burst took and the statuses."""
    connector = aiohttp.TCPConnector(limit=len(carts))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def buy(cart: str) -> int:
            async with http.post(
                f"{base}/api/v1/carts/{cart}/checkout",
                data=ORDER,
                headers={"Content-Type": "application/json"},
            ) as resp:
                await resp.read()
                return resp.status

        started = time.perf_counter()
        statuses = await asyncio.gather(*(buy(c) for c in carts))
        return time.perf_counter() - started, Counter(statuses)


def run_checkout(args: argparse.Namespace, env: dict[str, str], dsn: str, process: Process, row: str) -> None:
    variants, flash = asyncio.run(stock_the_shop(dsn))
    # 4,000 shoppers, each adding 5 variants; taken in turn, so concurrent requests are for
    # different carts, as they would be in a shop
    shoppers = asyncio.run(carts_holding(dsn, variants, 4000))
    adds = [
        (f"/api/v1/carts/{cart}/items", json.dumps({"variant_id": variants[j], "quantity": 1}))
        for j in range(100, 105)
        for cart in shoppers
    ]
    orders = [
        (f"/api/v1/carts/{cart}/checkout", ORDER)
        for cart in asyncio.run(carts_holding(dsn, variants, 60_000))
    ]
    ports = {name: free_port() for name in ("hello", "update", "shop")}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    shop = [sys.executable, "-m", "shopflow", "serve", "--host", "127.0.0.1", "--port", str(ports["shop"])]
    with (
        process([sys.executable, "-m", "bench.baseline", str(ports["hello"])], base["hello"] + "/"),
        process([sys.executable, "-m", "bench.baseline_db", str(ports["update"]), dsn], base["update"] + "/"),
        process(shop, base["shop"] + "/readyz", env),
    ):
        seconds, connections = args.seconds, args.connections

        def hello() -> Result:
            return drive(base["hello"], ["/"], connections=connections, seconds=seconds)

        def update() -> Result:
            return post_each(base["update"], [("/", "{}")], connections=connections, seconds=seconds)

        def against(
            baseline: Callable[[], Result], requests: list[tuple[str, str]], once: bool
        ) -> tuple[float, Result, float]:
            """Median ratio over rounds of baseline-then-shop; `once`: each request works once
            (a cart checks out once), so later rounds start past what earlier ones sent."""
            runs = []
            for _ in range(args.rounds):
                runs.append(
                    (baseline(), post_each(base["shop"], requests, connections=connections, seconds=seconds))
                )
                if once:
                    requests = requests[int(runs[-1][1].rps * seconds * 1.1) + 2 * connections :]
            ratio = statistics.median(r.rps / b.rps for b, r in runs)
            middle = sorted((r for _, r in runs), key=lambda x: x.rps)[len(runs) // 2]
            return ratio, middle, statistics.median(b.rps for b, _ in runs)

        def show(name: str, ratio: float, r: Result, verdict: str) -> None:
            figures = (f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p95_ms:.2f}", f"{r.p99_ms:.2f}", r.errors)
            print(row.format(name, *figures, f"{ratio:.2f}x", verdict), flush=True)

        post_each(base["shop"], adds, connections=connections, seconds=2)  # warm up
        ratio, r, hello_rps = against(hello, adds, once=False)
        show("add to cart", ratio, r, f">= 0.2x hello-world  {'ok' if ratio >= 0.2 else 'MISSED'}")
        ratio, r, update_rps = against(update, orders, once=True)
        ok = ratio >= 0.25 and r.p99_ms <= 100
        show(
            "place order (manual payment)",
            ratio,
            r,
            f">= 0.25x row update, p99 <= 100 ms  {'ok' if ok else 'MISSED'}",
        )

        print(
            f"\nbaselines: hello-world median {hello_rps:,.0f} req/s; bare one-row update in a transaction"
            f" (aiohttp + asyncpg) median {update_rps:,.0f} req/s = {update_rps / hello_rps:.2f}x hello-world"
        )
        buyers = asyncio.run(carts_holding(dsn, [flash], FLASH_BUYERS))
        took, statuses = asyncio.run(flash_sale(base["shop"], buyers))
        sold = asyncio.run(_sold(dsn))
        no_5xx = not any(s >= 500 for s in statuses)
        fine = statuses[201] == FLASH_UNITS == sold and no_5xx and took < 10
        print(
            f"\nflash sale: {FLASH_BUYERS:,} buyers at once for {FLASH_UNITS} units:"
            f" answered in {took:.2f} s;"
            f" statuses {dict(sorted(statuses.items()))}; units held by orders {sold}"
            f"  {'ok' if fine else 'MISSED'}"
        )


async def _sold(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval("SELECT coalesce(sum(quantity), 0) FROM reservations WHERE sku = 'FLASH-1'")
        )
    finally:
        await conn.close()
