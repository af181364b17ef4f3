"""Versioned SQL migrations: shopflow/migrations/NNNN_name.sql, applied in order, each once.

Each file runs in its own transaction and is recorded with its SHA-256. A PostgreSQL
advisory lock makes N processes starting together apply each migration exactly once.
An applied migration whose file has since changed stops everything: history is immutable.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
FILENAME = re.compile(r"^(\d{4})_(\w+)\.sql$")
LOCK_KEY = 0x5F5F_5348_4F50  # any constant shared by every ShopFlow process


class MigrationError(Exception):
    """The migration files and the database's record of them disagree."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return found


async def _applied(conn: asyncpg.Connection) -> dict[int, str]:
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version integer PRIMARY KEY,
               name text NOT NULL,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    return {r["version"]: r["checksum"] for r in rows}


def _check_unchanged(migrations: list[Migration], applied: dict[int, str]) -> None:
    for m in migrations:
        if m.version in applied and applied[m.version] != m.checksum:
            raise MigrationError(
                f"migration {m.version:04d}_{m.name} was changed after it was applied; "
                "add a new migration instead"
            )


async def migrate(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply the pending migrations; the ones applied now are returned."""
    migrations = load_migrations(directory)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        try:
            applied = await _applied(conn)
            _check_unchanged(migrations, applied)
            done = []
            for m in migrations:
                if m.version in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        m.version,
                        m.name,
                        m.checksum,
                    )
                done.append(m)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        await conn.close()


async def status(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[tuple[Migration, bool]]:
    """Each migration with whether it is applied; a changed one raises."""
    migrations = load_migrations(directory)
    conn = await asyncpg.connect(dsn)
    try:
        applied = await _applied(conn)
    finally:
        await conn.close()
    _check_unchanged(migrations, applied)
    return [(m, m.version in applied) for m in migrations]
