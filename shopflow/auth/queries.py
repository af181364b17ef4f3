"""The auth component's SQL."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ..platform.db import Executor

USER_COLUMNS = "id, email, name, password_hash, role, email_verified, status, created_at"


async def insert_user(
    ex: Executor, email: str, name: str, password_hash: str | None, role: str
) -> asyncpg.Record:
    row = await ex.fetchrow(
        "INSERT INTO users (email, name, password_hash, role) VALUES ($1, $2, $3, $4)"
        f" RETURNING {USER_COLUMNS}",
        email,
        name,
        password_hash,
        role,
    )
    assert row is not None
    return row


async def fetch_user_by_email(ex: Executor, email: str) -> asyncpg.Record | None:
    return await ex.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email)


async def fetch_user(ex: Executor, user_id: UUID) -> asyncpg.Record | None:
    return await ex.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", user_id)
