"""The database baselines: bare aiohttp + asyncpg handlers that update one row in a
transaction (POST /) or read one row by its primary key (GET /row).
`python -m bench.baseline_db PORT DSN`."""

from __future__ import annotations

import random
import sys
from collections.abc import AsyncIterator

import asyncpg
import orjson
import uvloop
from aiohttp import web

ROWS = 1000
POOL = web.AppKey("pool", asyncpg.Pool)


async def update(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn, conn.transaction():
        n = await conn.fetchval(
            "UPDATE bench_rows SET n = n + 1 WHERE id = $1 RETURNING n", random.randrange(ROWS)
        )
    return web.Response(body=orjson.dumps({"n": n}), content_type="application/json")


async def select(request: web.Request) -> web.Response:
    n = await request.app[POOL].fetchval("SELECT n FROM bench_rows WHERE id = $1", random.randrange(ROWS))
    return web.Response(body=orjson.dumps({"n": n}), content_type="application/json")


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    port, dsn = int(sys.argv[1]), sys.argv[2]

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        pool = app[POOL] = await asyncpg.create_pool(dsn, min_size=2, max_size=20)
        await pool.execute("CREATE TABLE IF NOT EXISTS bench_rows (id int PRIMARY KEY, n bigint NOT NULL)")
        await pool.execute(
            f"INSERT INTO bench_rows SELECT g, 0 FROM generate_series(0, {ROWS - 1}) g ON CONFLICT DO NOTHING"
        )
        yield
        await pool.close()

    app = web.Application()
    app.cleanup_ctx.append(pool_ctx)
    app.router.add_post("/", update)
    app.router.add_get("/", ready)
    app.router.add_get("/row", select)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
