"""`make bench`: the catalog under load, each figure a ratio to a baseline of the same run.

Starts embedded PostgreSQL and Redis, seeds 100,000 products, starts a bare aiohttp
hello-world (the baseline) and ShopFlow (`serve`, one process, access log off), and drives
each with wrk on loopback. The machine is shared and noisy: read the ratios, not the times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.auth import run_auth
from bench.checkout import run_checkout
from bench.load import Result, drive, ensure_wrk, wait_until_up
from bench.media import run_media
from bench.media_delivery import run_delivery, run_uploads
from bench.users import run_users
from bench.web import run_web
from shopflow.catalog import seed
from shopflow.catalog.seed import ADJECTIVES, MATERIALS
from shopflow.platform.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from shopflow.platform.migrate import migrate
from shopflow.platform.settings import Settings


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str  # "baseline", "shop" or "uncached"
    paths: list[str]
    min_ratio: float | None = None  # of the hello-world baseline's req/s
    max_p95_ms: float | None = None


@contextmanager
def process(
    args: list[str], url: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, once it answers `url`."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url)
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


async def prepare(dsn: str, products: int) -> tuple[float, list[str], list[str]]:
    """Migrate and seed; the seconds the seed took, sample product ids, category slugs."""
    await migrate(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await seed.seed(conn, products)
        took = time.perf_counter() - started
        ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM products ORDER BY random() LIMIT 2000")]
        slugs = [r["slug"] for r in await conn.fetch("SELECT slug FROM categories")]
    finally:
        await conn.close()
    return took, ids, slugs


def scenarios(ids: list[str], slugs: list[str]) -> list[Scenario]:
    detail = [f"/api/v1/products/{i}" for i in ids]
    words = MATERIALS + ADJECTIVES + ["mug", "boot", "jacket", "lamp", "tea", "leather boot", "wool sweater"]
    search = [f"/api/v1/products?q={w.replace(' ', '+')}" for w in words]
    listing = [f"/api/v1/products?category={s}&limit=24" for s in slugs]
    return [
        Scenario("GET /healthz", "shop", ["/healthz"], min_ratio=0.85),
        Scenario("product detail, cached", "shop", detail, min_ratio=0.6),
        Scenario("product detail, uncached", "uncached", detail, min_ratio=0.25),
        Scenario("search ?q=, cached pages", "shop", search, max_p95_ms=50),
        Scenario("search ?q=, uncached", "uncached", search, max_p95_ms=50),
        Scenario("category listing (24), cached", "shop", listing, min_ratio=0.25),
        Scenario("category listing (24), uncached", "uncached", listing),
    ]


def verdict(s: Scenario, ratio: float, r: Result) -> str:
    if s.min_ratio is not None:
        return f">= {s.min_ratio}x  {'ok' if ratio >= s.min_ratio else 'MISSED'}"
    if s.max_p95_ms is not None:
        return f"p95 <= {s.max_p95_ms:g} ms  {'ok' if r.p95_ms <= s.max_p95_ms else 'MISSED'}"
    return ""


def main() -> None:
    p = argparse.ArgumentParser(prog="bench", description=__doc__)
    p.add_argument("--products", type=int, default=100_000)
    p.add_argument("--seconds", type=int, default=5, help="per measurement")
    p.add_argument("--rounds", type=int, default=3, help="baseline/scenario pairs per scenario")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--soak", type=int, default=100_000, help="session soak cycles")
    p.add_argument(
        "suite",
        nargs="?",
        choices=("all", "catalog", "auth", "checkout", "media", "users", "web"),
        default="all",
    )
    args = p.parse_args()
    ensure_wrk()

    with tempfile.TemporaryDirectory(prefix="shopflow-bench-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=False)
        redis = EmbeddedRedis(Path(tmp) / "redis", durable=False)
        try:
            dsn, redis_url = pg.start(), redis.start()
            env = {
                **os.environ,
                "DATABASE_URL": dsn,
                "REDIS_URL": redis_url,
                "SHOPFLOW_ACCESS_LOG": "false",
                "SHOPFLOW_ENV": "production",
                "SHOPFLOW_LOG_LEVEL": "WARNING",
                "SHOPFLOW_JWT_SECRET": secrets.token_urlsafe(48),
                "SHOPFLOW_PASSWORD_PEPPER": secrets.token_urlsafe(16),
                # wrk is one address: the general limit stays on (its cost is measured) but high
                "SHOPFLOW_RATE_LIMIT_API_IP": "100000000/1",
                "SHOPFLOW_DATA_DIR": str(Path(tmp) / "data"),
            }
            if args.suite in ("all", "catalog"):
                took, ids, slugs = asyncio.run(prepare(dsn, args.products))
                print(f"seeded {args.products:,} products in {took:.1f} s (COPY)\n")
                run_catalog(args, env, ids, slugs)
            if args.suite in ("all", "auth"):
                asyncio.run(migrate(dsn))
                print(
                    "\nauth:\n"
                    + ROW.format(
                        "scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "ratio", "target"
                    )
                )
                run_auth(args, env, redis_url, process, ROW)
            if args.suite in ("all", "checkout"):
                asyncio.run(migrate(dsn))
                print(
                    "\ncheckout:\n"
                    + ROW.format(
                        "scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "ratio", "target"
                    )
                )
                run_checkout(args, env, dsn, process, ROW)
            if args.suite in ("all", "media"):
                asyncio.run(migrate(dsn))
                print("\nmedia:")
                run_media(args)
                run_delivery(args, env, Path(tmp), process, ROW)
                run_uploads(args, env, Path(tmp), process, ROW)
            if args.suite in ("all", "users"):
                asyncio.run(migrate(dsn))
                print("\nusers (order history and the dashboard):")
                run_users(args, env, dsn, redis_url, process, ROW)
            if args.suite in ("all", "web"):
                print("\nstorefront pages:")
                settings = Settings(
                    database_url=dsn,
                    redis_url=redis_url,
                    data_dir=Path(tmp) / "data",
                    jwt_secret=env["SHOPFLOW_JWT_SECRET"],
                    password_pepper=env["SHOPFLOW_PASSWORD_PEPPER"],
                )
                run_web(args, env, settings, process, ROW)
        finally:
            redis.stop()
            pg.stop()


ROW = "{:34} {:>9} {:>7} {:>7} {:>7} {:>6} {:>7}  {}"


def run_catalog(args: argparse.Namespace, env: dict[str, str], ids: list[str], slugs: list[str]) -> None:
    ports = {name: free_port() for name in ("baseline", "shop", "uncached")}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    shop = [sys.executable, "-m", "shopflow", "serve", "--host", "127.0.0.1", "--port"]
    uncached_env = {**env, "SHOPFLOW_CACHE_TTL": "0"}
    with (
        process([sys.executable, "-m", "bench.baseline", str(ports["baseline"])], base["baseline"] + "/"),
        process([*shop, str(ports["shop"])], base["shop"] + "/readyz", env),
        process([*shop, str(ports["uncached"])], base["uncached"] + "/readyz", uncached_env),
    ):

        def measure(server: str, paths: list[str]) -> Result:
            return drive(base[server], paths, connections=args.connections, seconds=args.seconds)

        print(
            f"{args.connections} connections, wrk on loopback. Each scenario runs {args.rounds} times,"
            f" each run right after\na {args.seconds} s run of the hello-world baseline;"
            " ratio = median of the pairs.\n"
        )
        row = ROW
        print(row.format("scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "ratio", "target"))
        baselines: list[float] = []
        for s in scenarios(ids, slugs):
            drive(base[s.server], s.paths, connections=args.connections, seconds=3)  # warm up
            pairs = [(measure("baseline", ["/"]), measure(s.server, s.paths)) for _ in range(args.rounds)]
            baselines += [b.rps for b, _ in pairs]
            ratio = statistics.median(r.rps / b.rps for b, r in pairs)
            r = pairs[sorted(range(len(pairs)), key=lambda i: pairs[i][1].rps)[len(pairs) // 2]][1]
            figures = (f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p95_ms:.2f}", f"{r.p99_ms:.2f}", r.errors)
            print(row.format(s.name, *figures, f"{ratio:.2f}x", verdict(s, ratio, r)), flush=True)
        median = statistics.median(baselines)
        print(f"\nbaseline (bare aiohttp + uvloop + orjson hello-world): median {median:,.0f} req/s")


if __name__ == "__main__":
    main()
