"""The asyncpg pool behind a small wrapper that bounds how long a request waits for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol, cast

import asyncpg
import orjson

from .errors import Unavailable
from .settings import Settings


class Executor(Protocol):
    """A pool wrapper or a connection (inside a transaction): what queries.py functions take."""

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...
    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None: ...
    async def fetchval(self, query: str, *args: Any) -> Any: ...
    async def execute(self, query: str, *args: Any) -> str: ...


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            schema="pg_catalog",
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's default reset on release, a round trip per query: ShopFlow never
    changes session state (no SET, LISTEN or session locks on pooled connections), and
    asyncpg still rolls back any transaction left open before this runs."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 20,
    statement_timeout: float = 10.0,
    command_timeout: float = 2.0,
    connect_timeout: float = 2.0,
) -> asyncpg.Pool:
    """The pool; a server that stops answering (frozen, cut off) fails a query after
    `command_timeout` and a connect after `connect_timeout`, whatever the server does."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        timeout=connect_timeout,
        init=_init_connection,
        reset=_keep_session,
        server_settings={
            "statement_timeout": str(int(statement_timeout * 1000)),
            "jit": "off",  # JIT compilation costs more than it saves on short OLTP queries
            "application_name": "shopflow",
            "TimeZone": "UTC",  # what PostgreSQL writes as text (JSON documents it renders) is UTC
        },
    )
    assert pool is not None
    return pool


class Database:
    """The shared pool; waiting longer than `acquire_timeout` for a connection is a 503."""

    def __init__(self, pool: asyncpg.Pool, acquire_timeout: float) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        if self.pool.get_idle_size():
            # A connection is free: skip the timeout, whose timer task costs more than the query.
            conn = await self.pool.acquire()
        else:
            try:
                conn = await self.pool.acquire(timeout=self.acquire_timeout)
            except TimeoutError:
                raise Unavailable("the database is busy") from None
        try:
            yield cast(asyncpg.Connection, conn)  # a pool proxy that behaves as a connection
        finally:
            await self.pool.release(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.connection() as conn:
            try:
                async with conn.transaction():
                    yield conn
            except TimeoutError:
                # The server did not answer in time: its connection is not worth a ROLLBACK
                # that would wait as long again; closing it ends the transaction too.
                conn.terminate()
                raise

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.connection() as conn:
            return await conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with self.connection() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        async with self.connection() as conn:
            return await conn.execute(query, *args)

    @classmethod
    async def open(cls, settings: Settings, min_size: int, max_size: int) -> Database:
        """A pool on `settings.database_url` with the settings' timeouts; close its `pool`."""
        pool = await create_pool(
            settings.database_url,
            min_size=min_size,
            max_size=max_size,
            statement_timeout=settings.db_statement_timeout,
            command_timeout=settings.db_command_timeout,
            connect_timeout=settings.db_connect_timeout,
        )
        return cls(pool, settings.db_acquire_timeout)

    def in_use(self) -> int:
        return self.pool.get_size() - self.pool.get_idle_size()
