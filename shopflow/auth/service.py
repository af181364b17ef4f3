"""Accounts, sign-in and sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from ..platform.db import Database, Executor
from ..platform.ratelimit import Limit
from . import queries
from .backoff import LoginBackoff
from .errors import EmailTaken, InvalidCredentials, InvalidToken, WeakPassword
from .passwords import PasswordHasher, is_common
from .sessions import Sessions
from .tokens import AccessTokens, Claims


@dataclass(frozen=True)
class AuthLimits:
    login_ip: Limit
    login_account: Limit
    register_ip: Limit
    refresh_ip: Limit


@dataclass(frozen=True)
class Auth:
    """The component's shared parts, made once per process."""

    passwords: PasswordHasher
    tokens: AccessTokens
    sessions: Sessions
    backoff: LoginBackoff
    limits: AuthLimits


def user_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "email_verified": row["email_verified"],
        "role": row["role"],
        "created_at": row["created_at"],
    }


def check_password(password: str, email: str) -> None:
    """Refuse passwords on the common list, and the email address itself."""
    if is_common(password) or password.lower() == email.lower():
        raise WeakPassword(
            "choose a less common password",
            errors=[{"field": "password", "message": "is too common"}],
        )


async def create_user(
    ex: Executor, passwords: PasswordHasher, email: str, password: str, name: str, role: str = "customer"
) -> asyncpg.Record:
    """A new account with a password; 409 when the email has one already."""
    check_password(password, email)
    hashed = await passwords.hash(password)
    try:
        return await queries.insert_user(ex, email, name, hashed, role)
    except asyncpg.UniqueViolationError:
        raise EmailTaken("an account with this email exists; sign in instead") from None


async def _signed_in(auth: Auth, user: asyncpg.Record) -> dict[str, Any]:
    sid, refresh_token = await auth.sessions.start(user["id"], user["role"])
    return {
        "user": user_json(user),
        "access_token": auth.tokens.issue(user["id"], sid, user["role"]),
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": auth.tokens.ttl,
    }


async def register(db: Database, auth: Auth, email: str, password: str, name: str) -> dict[str, Any]:
    """Open a customer account and sign it in."""
    return await _signed_in(auth, await create_user(db, auth.passwords, email, password, name))


async def login(db: Database, auth: Auth, email: str, password: str) -> dict[str, Any]:
    """Sign in with email and password. Unknown emails cost the same and fail the same way."""
    await auth.backoff.check(email)
    user = await queries.fetch_user_by_email(db, email)
    ok = await auth.passwords.verify(password, user["password_hash"] if user else None)
    if not ok or user is None or user["status"] != "active":
        await auth.backoff.failed(email)
        raise InvalidCredentials("wrong email or password")
    await auth.backoff.succeeded(email)
    return await _signed_in(auth, user)


async def refresh(db: Database, auth: Auth, refresh_token: str) -> dict[str, Any]:
    """A new token pair for a refresh token, which is spent; its reuse revokes the session."""
    rotation = await auth.sessions.rotate(refresh_token)
    if rotation.outcome != "ok" or rotation.user_id is None or rotation.refresh_token is None:
        raise InvalidToken("the refresh token is not valid")
    user = await queries.fetch_user(db, rotation.user_id)
    sid = refresh_token.partition(".")[0]
    if user is None or user["status"] != "active":
        await auth.sessions.end(rotation.user_id, sid)
        raise InvalidToken("the refresh token is not valid")
    return {
        "user": user_json(user),
        "access_token": auth.tokens.issue(user["id"], sid, user["role"]),
        "refresh_token": rotation.refresh_token,
        "token_type": "Bearer",
        "expires_in": auth.tokens.ttl,
    }


async def authenticate(auth: Auth, token: str) -> Claims:
    """The claims of an access token whose session is still alive."""
    claims = auth.tokens.check(token)
    if not await auth.sessions.alive(claims.session_id):
        raise InvalidToken("the session has ended")
    return claims


async def logout(auth: Auth, claims: Claims) -> None:
    await auth.sessions.end(claims.user_id, claims.session_id)


async def logout_all(auth: Auth, user_id: UUID) -> None:
    await auth.sessions.end_all(user_id)


async def current_user(db: Database, claims: Claims) -> asyncpg.Record:
    user = await queries.fetch_user(db, claims.user_id)
    if user is None:
        raise InvalidToken("the account is gone")
    return user
