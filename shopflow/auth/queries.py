"""The auth component's SQL."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ..platform.db import Executor

USER_COLUMNS = "id, email, name, password_hash, role, email_verified, status, created_at"
ACCOUNT_COLUMNS = (
    "id, email, name, role, email_verified, status, created_at, updated_at,"
    " password_hash IS NOT NULL AS has_password"
)


async def insert_user(
    ex: Executor, email: str, name: str, password_hash: str | None, role: str, email_verified: bool = False
) -> asyncpg.Record:
    row = await ex.fetchrow(
        "INSERT INTO users (email, name, password_hash, role, email_verified) VALUES ($1, $2, $3, $4, $5)"
        f" RETURNING {USER_COLUMNS}",
        email,
        name,
        password_hash,
        role,
        email_verified,
    )
    assert row is not None
    return row


async def fetch_user_by_email(ex: Executor, email: str) -> asyncpg.Record | None:
    return await ex.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email)


async def fetch_user(ex: Executor, user_id: UUID) -> asyncpg.Record | None:
    return await ex.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", user_id)


async def fetch_identity_user(ex: Executor, provider: str, subject: str) -> asyncpg.Record | None:
    return await ex.fetchrow(
        f"SELECT {', '.join('u.' + c for c in USER_COLUMNS.split(', '))} FROM oauth_identities i"
        " JOIN users u ON u.id = i.user_id WHERE i.provider = $1 AND i.subject = $2",
        provider,
        subject,
    )


async def insert_identity(
    ex: Executor, provider: str, subject: str, user_id: UUID, email: str | None
) -> UUID:
    """Link the identity to `user_id` unless it is linked already; the user it belongs to."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO oauth_identities (provider, subject, user_id, email) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (provider, subject) DO UPDATE SET user_id = oauth_identities.user_id"
        " RETURNING user_id",
        provider,
        subject,
        user_id,
        email,
    )


async def lock_ways_in(ex: Executor, user_id: UUID) -> list[str]:
    """The providers linked to the account, and "password" when it has one; the account row
    stays locked until the transaction ends, so two unlinks cannot remove the last way in."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "SELECT array_remove(ARRAY(SELECT provider FROM oauth_identities WHERE user_id = u.id)"
        " || CASE WHEN u.password_hash IS NULL THEN NULL ELSE 'password' END, NULL)"
        " FROM users u WHERE u.id = $1 FOR UPDATE",
        user_id,
    )


async def delete_identity(ex: Executor, user_id: UUID, provider: str) -> None:
    await ex.execute("DELETE FROM oauth_identities WHERE user_id = $1 AND provider = $2", user_id, provider)


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


async def mark_email_verified(ex: Executor, user_id: UUID) -> str:
    """Mark the account's address verified; the address."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1 RETURNING email", user_id
    )


async def set_status(ex: Executor, email: str, status: str) -> UUID | None:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "UPDATE users SET status = $2, updated_at = now() WHERE lower(email) = lower($1) RETURNING id",
        email,
        status,
    )


async def insert_email_change_token(
    ex: Executor, token_hash: bytes, user_id: UUID, new_email: str, ttl_seconds: int
) -> None:
    await ex.execute(
        "INSERT INTO account_tokens (token_hash, purpose, user_id, new_email, expires_at)"
        " VALUES ($1, 'change_email', $2, $3, now() + make_interval(secs => $4))",
        token_hash,
        user_id,
        new_email,
        ttl_seconds,
    )


async def spend_email_token(ex: Executor, token_hash: bytes) -> asyncpg.Record | None:
    """Mark a usable verification or email-change token used, once: its user_id, purpose and
    new_email (an email change's), or None."""
    return await ex.fetchrow(
        "UPDATE account_tokens SET used_at = now() WHERE token_hash = $1"
        " AND purpose IN ('verify_email', 'change_email') AND used_at IS NULL AND expires_at > now()"
        " RETURNING user_id, purpose, new_email",
        token_hash,
    )


async def void_account_tokens(ex: Executor, user_id: UUID, purposes: tuple[str, ...]) -> None:
    """Spend the user's unused tokens of these purposes: their links stop working."""
    await ex.execute(
        "UPDATE account_tokens SET used_at = now()"
        " WHERE user_id = $1 AND purpose = ANY($2::text[]) AND used_at IS NULL",
        user_id,
        list(purposes),
    )


async def set_email(ex: Executor, user_id: UUID, email: str) -> None:
    """A new, verified address (UniqueViolationError if another account has it)."""
    await ex.execute(
        "UPDATE users SET email = $2, email_verified = true, updated_at = now() WHERE id = $1",
        user_id,
        email,
    )


async def set_name(ex: Executor, user_id: UUID, name: str) -> asyncpg.Record | None:
    return await ex.fetchrow(
        f"UPDATE users SET name = $2, updated_at = now() WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}",
        user_id,
        name,
    )


async def replace_password(ex: Executor, user_id: UUID, old_hash: str, new_hash: str) -> bool:
    """Set the password if it is still the one checked; whether it was."""
    return bool(
        await ex.fetchval(
            "UPDATE users SET password_hash = $3, updated_at = now()"
            " WHERE id = $1 AND password_hash = $2 RETURNING 1",
            user_id,
            old_hash,
            new_hash,
        )
    )


async def fetch_account(ex: Executor, user_id: UUID, lock: bool = False) -> asyncpg.Record | None:
    """The account without its password hash; locked until the transaction ends with `lock`."""
    return await ex.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1" + (" FOR UPDATE" if lock else ""), user_id
    )


async def fetch_identities(ex: Executor, user_id: UUID) -> list[asyncpg.Record]:
    return await ex.fetch(
        "SELECT provider, email, created_at FROM oauth_identities WHERE user_id = $1 ORDER BY created_at",
        user_id,
    )


async def delete_user(ex: Executor, user_id: UUID) -> bool:
    """Delete the account; what it owns goes with it (ON DELETE CASCADE). Whether it was there."""
    return await ex.execute("DELETE FROM users WHERE id = $1", user_id) == "DELETE 1"


async def fetch_recipients(ex: Executor, user_ids: list[UUID]) -> list[asyncpg.Record]:
    """The address and name of those of `user_ids` whose accounts are active."""
    return await ex.fetch(
        "SELECT id, email, name FROM users WHERE id = ANY($1::uuid[]) AND status = 'active'", user_ids
    )
