"""What a signed-in user changes about their account: its name, its email address (through a
single-use link mailed to the new address) and its password (every other session ends).

The email change's link is `{public_url}/verify-email?token=…`, the page the registration's
verification link opens: it posts the token to POST /api/v1/auth/email/verify, which tells
the two kinds of token apart.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from arq.connections import ArqRedis

from ..platform.db import Database, Executor
from ..platform.mail import enqueue_mail, queue_mail
from . import queries
from .errors import EmailTaken, InvalidToken, WeakPassword, WrongPassword
from .service import CHANGE_EMAIL, Auth, _token_hash, hash_new_password

CHANGE_EMAIL_PATH = "verify-email"


@dataclass(frozen=True, slots=True)
class Account:
    """An account as auth keeps it, without its password hash."""

    id: UUID
    email: str
    name: str
    role: str
    email_verified: bool
    status: str
    created_at: datetime
    updated_at: datetime
    has_password: bool


@dataclass(frozen=True, slots=True)
class LinkedProvider:
    provider: str
    email: str | None  # the address the provider gave when it was linked
    linked_at: datetime


@dataclass(frozen=True, slots=True)
class SignInMethods:
    password: bool
    providers: tuple[LinkedProvider, ...]


async def account(ex: Executor, user_id: UUID, lock: bool = False) -> Account | None:
    """The account, if it exists; with `lock`, its row stays locked until the transaction ends."""
    row = await queries.fetch_account(ex, user_id, lock)
    return Account(**dict(row)) if row is not None else None


async def rename(ex: Executor, user_id: UUID, name: str) -> Account | None:
    """Change the account's name; the account, or None if there is none with this id."""
    row = await queries.set_name(ex, user_id, name)
    return Account(**dict(row)) if row is not None else None


async def check_password(db: Database, auth: Auth, user_id: UUID, password: str) -> asyncpg.Record:
    """The user's row if `password` is theirs, else 403. Misses count in the login backoff,
    whose wait (429) applies here too, so a stolen session cannot guess the password faster
    than the sign-in form can."""
    user = await queries.fetch_user(db, user_id)
    if user is None:  # erased while its session lived
        raise InvalidToken("the account is gone")
    await auth.backoff.check(user["email"])
    if not await auth.passwords.verify(password, user["password_hash"]):
        await auth.backoff.failed(user["email"])
        raise WrongPassword("the password is not right")
    await auth.backoff.succeeded(user["email"])
    return user


def _change_mails(auth: Auth, user: asyncpg.Record, new_email: str, token: str) -> tuple[str, str, str]:
    """The subject and body of the link to the new address, and the old address's notice."""
    ttl = auth.mail.email_token_ttl
    link = f"{auth.mail.public_url.rstrip('/')}/{CHANGE_EMAIL_PATH}?token={token}"
    confirm = (
        f"Hello {user['name']},\n\nConfirm that this is the new email address of your account at "
        f"{auth.mail.public_url}:\n\n{link}\n\nThe link works once, for {ttl // 60} minutes. Until it "
        f"is used, the account keeps its current address.\n"
    )
    notice = (
        f"Hello {user['name']},\n\nSomeone signed in to your account asked to change its email address "
        f"to {new_email}. The change happens when the link mailed there is used. If this was not you, "
        "reset your password now; the change will not happen unless that link is used.\n"
    )
    return "Confirm your new email address", confirm, notice


async def request_email_change(
    db: Database, auth: Auth, queue: ArqRedis, user_id: UUID, password: str, new_email: str
) -> None:
    """Mail a link to `new_email` that makes it the account's address, and a notice to the
    current one; 403 for a wrong password, 409 if another account has `new_email`. A newer
    request's link replaces an older one's."""
    user = await check_password(db, auth, user_id, password)
    if new_email == user["email"]:
        raise EmailTaken("this is the account's address already")
    owner = await queries.fetch_user_by_email(db, new_email)
    if owner is not None and owner["id"] != user_id:
        raise EmailTaken("another account uses this address")
    token = secrets.token_urlsafe(32)
    subject, confirm, notice = _change_mails(auth, user, new_email, token)
    async with db.transaction() as conn:
        await queries.void_account_tokens(conn, user_id, (CHANGE_EMAIL,))
        await queries.insert_email_change_token(
            conn, _token_hash(token), user_id, new_email, auth.mail.email_token_ttl
        )
        mails = [
            await queue_mail(conn, new_email, subject, confirm),
            await queue_mail(conn, user["email"], "Your email address is being changed", notice),
        ]
    for mail_id in mails:
        await enqueue_mail(queue, mail_id)


async def change_password(
    db: Database, auth: Auth, queue: ArqRedis, user_id: UUID, session_id: str, current: str, new: str
) -> None:
    """Replace the password after checking the current one (403); every session but
    `session_id` ends, failed sign-ins are forgotten, and the account is told by mail."""
    user = await check_password(db, auth, user_id, current)
    try:
        hashed = await hash_new_password(auth.passwords, new, user["email"])
    except WeakPassword as e:
        raise WeakPassword(e.detail, errors=[{"field": "new_password", "message": "is too common"}]) from None
    body = (
        f"Hello {user['name']},\n\nThe password of your account was changed, and every other "
        "session signed out. If this was not you, reset your password now.\n"
    )
    async with db.transaction() as conn:
        if not await queries.replace_password(conn, user_id, user["password_hash"], hashed):
            raise WrongPassword("the password was changed meanwhile; sign in again")
        mail_id = await queue_mail(conn, user["email"], "Your password was changed", body)
    await auth.sessions.end_others(user_id, session_id)
    await auth.backoff.succeeded(user["email"])
    await enqueue_mail(queue, mail_id)


async def sign_in_methods(ex: Executor, user_id: UUID) -> SignInMethods:
    """How the account signs in: whether it has a password, and the providers linked to it."""
    found = await account(ex, user_id)
    providers = tuple(
        LinkedProvider(r["provider"], r["email"], r["created_at"])
        for r in await queries.fetch_identities(ex, user_id)
    )
    return SignInMethods(bool(found and found.has_password), providers)


async def signed_in_at(auth: Auth, session_id: str) -> datetime | None:
    """When the session's user signed in (a refresh is no sign-in), while the session lives."""
    at = await auth.sessions.started_at(session_id)
    return datetime.fromtimestamp(at, UTC) if at is not None else None


async def delete_account(conn: Executor, user_id: UUID) -> bool:
    """Delete the account in the caller's transaction; its identities, account tokens and every
    table keyed by the user (ON DELETE CASCADE) go with it. Whether it was there."""
    return await queries.delete_user(conn, user_id)


async def end_account(auth: Auth, user_id: UUID, email: str) -> None:
    """After an account is deleted: every session and refresh token ends, and the sign-in
    failures counted for its email are forgotten."""
    await auth.sessions.end_all(user_id)
    await auth.backoff.succeeded(email)
