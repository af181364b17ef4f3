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


async def insert_account_token(
    ex: Executor, token_hash: bytes, purpose: str, user_id: UUID, ttl_seconds: int
) -> None:
    await ex.execute(
        "INSERT INTO account_tokens (token_hash, purpose, user_id, expires_at)"
        " VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        token_hash,
        purpose,
        user_id,
        ttl_seconds,
    )


async def usable_account_token(ex: Executor, token_hash: bytes, purpose: str) -> bool:
    return bool(
        await ex.fetchval(
            "SELECT 1 FROM account_tokens WHERE token_hash = $1 AND purpose = $2"
            " AND used_at IS NULL AND expires_at > now()",
            token_hash,
            purpose,
        )
    )


async def spend_account_token(ex: Executor, token_hash: bytes, purpose: str) -> UUID | None:
    """Mark a usable token used, once; the user it was for, or None."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "UPDATE account_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = $2"
        " AND used_at IS NULL AND expires_at > now() RETURNING user_id",
        token_hash,
        purpose,
    )


async def set_password(ex: Executor, user_id: UUID, password_hash: str) -> str:
    """Set the password; a reset link proves the address too. The user's email."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "UPDATE users SET password_hash = $2, email_verified = true, updated_at = now()"
        " WHERE id = $1 RETURNING email",
        user_id,
        password_hash,
    )


async def mark_email_verified(ex: Executor, user_id: UUID) -> None:
    await ex.execute("UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1", user_id)


async def set_status(ex: Executor, email: str, status: str) -> UUID | None:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "UPDATE users SET status = $2, updated_at = now() WHERE lower(email) = lower($1) RETURNING id",
        email,
        status,
    )
