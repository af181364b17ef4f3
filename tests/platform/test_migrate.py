"""Migrations: in order, once each, safe when many processes start together."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shopflow.platform.migrate import MIGRATIONS_DIR, MigrationError, load_migrations, migrate, status
from tests.conftest import with_database


@pytest.fixture
async def empty_db(servers: dict[str, str]) -> Any:
    admin = await asyncpg.connect(servers["postgres"])
    await admin.execute("DROP DATABASE IF EXISTS migrate_test WITH (FORCE)")
    await admin.execute("CREATE DATABASE migrate_test")
    yield with_database(servers["postgres"], "migrate_test")
    await admin.execute("DROP DATABASE migrate_test WITH (FORCE)")
    await admin.close()


async def test_concurrent_migrators_apply_each_migration_once(empty_db: str) -> None:
    results = await asyncio.gather(*(migrate(empty_db) for _ in range(6)))
    files = load_migrations()
    applied = [m.version for done in results for m in done]
    assert sorted(applied) == [m.version for m in files]
    conn = await asyncpg.connect(empty_db)
    try:
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["checksum"]) for r in rows] == [(m.version, m.checksum) for m in files]
        assert await conn.fetchval("SELECT count(*) FROM products") == 0
    finally:
        await conn.close()
    assert await migrate(empty_db) == []
    assert all(applied for _, applied in await status(empty_db))


async def test_changed_migration_is_an_error(empty_db: str, tmp_path: Path) -> None:
    (tmp_path / "0001_one.sql").write_text("CREATE TABLE one (id int);")
    assert [m.name for m in await migrate(empty_db, tmp_path)] == ["one"]
    (tmp_path / "0001_one.sql").write_text("CREATE TABLE one (id bigint);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(empty_db, tmp_path)
    with pytest.raises(MigrationError):
        await status(empty_db, tmp_path)


async def test_failed_migration_rolls_back_and_stops(empty_db: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE ok (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")
    with pytest.raises(asyncpg.PostgresError):
        await migrate(empty_db, tmp_path)
    conn = await asyncpg.connect(empty_db)
    try:
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT array_agg(version) FROM schema_migrations") == [1]
    finally:
        await conn.close()


def test_misnamed_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "one.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        load_migrations(tmp_path)


def test_shipped_migrations_are_numbered_in_order() -> None:
    versions = [m.version for m in load_migrations(MIGRATIONS_DIR)]
    assert versions == list(range(1, len(versions) + 1))
