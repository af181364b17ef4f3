"""The signed-in user's profile and preferences.

The name and email address are auth's, read and changed through auth's interface (as are
the email and password changes, which the routes ask of auth directly: its password rules,
sessions and mail outbox); the phone and locale are this component's `profiles` row, the
preferences its `preferences` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg
from arq.connections import ArqRedis

from ..auth import interface as auth
from ..platform.db import Database
from ..platform.ratelimit import Limit, RateLimiter
from . import queries
from .errors import AccountGone
from .models import (
    DEFAULT_LOCALE,
    PreferencesIn,
    PreferencesRecord,
    ProfilePatch,
    ProfileRecord,
    Theme,
)


def profile_of(account: auth.Account | None, row: asyncpg.Record | None) -> ProfileRecord:
    """The profile from auth's account and this component's row (phone, locale), if any."""
    if account is None:
        raise AccountGone("the account is gone")
    return ProfileRecord(
        id=account.id,
        email=account.email,
        name=account.name,
        phone=row["phone"] if row else None,
        locale=(row["locale"] if row else None) or DEFAULT_LOCALE,
        email_verified=account.email_verified,
        created_at=account.created_at,
    )


async def profile(db: Database, user_id: UUID) -> ProfileRecord:
    """The user's profile."""
    return profile_of(await auth.account(db, user_id), await queries.fetch_profile(db, user_id))


async def update_profile(db: Database, user_id: UUID, patch: ProfilePatch) -> ProfileRecord:
    """Change the name, phone (null removes it) and locale that the patch names."""
    changes = patch.changes()
    async with db.transaction() as conn:
        account: auth.Account | None
        if "name" in changes:
            account = await auth.rename(conn, user_id, changes["name"])
        else:
            account = await auth.account(conn, user_id)
        if account is None:
            raise AccountGone("the account is gone")
        row: asyncpg.Record | None
        if changes.keys() & {"phone", "locale"}:
            row = await queries.upsert_profile(conn, user_id, changes)
        else:
            row = await queries.fetch_profile(conn, user_id)
        return profile_of(account, row)


async def preferences(db: Database, user_id: UUID, shop_currency: str) -> PreferencesRecord:
    """The user's preferences; never set: the system theme, the profile's locale as the
    language, the shop's currency, and no marketing."""
    row = await queries.fetch_preferences(db, user_id)
    if row["theme"] is None:
        return PreferencesRecord(Theme.SYSTEM, row["locale"] or DEFAULT_LOCALE, shop_currency, False, None)
    return _preferences(row)


def _preferences(row: asyncpg.Record) -> PreferencesRecord:
    return PreferencesRecord(
        Theme(row["theme"]),
        row["language"],
        row["currency"],
        row["marketing_opt_in"],
        row["marketing_opt_in_at"],
    )


async def put_preferences(db: Database, user_id: UUID, body: PreferencesIn) -> PreferencesRecord:
    """Replace the preferences; the consent's time moves only when the consent changes."""
    try:
        row = await queries.put_preferences(
            db, user_id, body.theme, body.language, body.currency, body.marketing_opt_in
        )
    except asyncpg.ForeignKeyViolationError:  # erased while the request ran
        raise AccountGone("the account is gone") from None
    return _preferences(row)


async def set_theme(db: Database, user_id: UUID, theme: Theme, shop_currency: str) -> PreferencesRecord:
    """Choose the storefront's theme; the other preferences stay (their defaults, if never set)."""
    now = await preferences(db, user_id, shop_currency)
    chosen = PreferencesIn(
        theme=theme, language=now.language, currency=now.currency, marketing_opt_in=now.marketing_opt_in
    )
    return await put_preferences(db, user_id, chosen)


@dataclass(frozen=True)
class Credentials:
    """What changing a signed-in account's email address or password works with: auth, and
    the limits those password checks count against."""

    db: Database
    auth: auth.Auth
    queue: ArqRedis
    limiter: RateLimiter
    password_checks: Limit  # per account: the sign-in form's limit
    email_changes: Limit  # links mailed per account: the forgotten-password form's limit


async def _check_password_allowed(c: Credentials, user_id: UUID) -> None:
    """Password checks of one account count against the login's per-account limit (429)."""
    await c.limiter.hit("password-check", str(user_id), c.password_checks)


async def change_email(c: Credentials, user_id: UUID, password: str, new_email: str) -> None:
    """Mail a link that makes `new_email` the account's address when used (auth's
    request_email_change: 403 wrong password, 409 taken); 429 past the limits."""
    await _check_password_allowed(c, user_id)
    await c.limiter.hit("email-change", str(user_id), c.email_changes)
    await auth.request_email_change(c.db, c.auth, c.queue, user_id, password, new_email)


async def change_password(c: Credentials, user_id: UUID, session_id: str, current: str, new: str) -> None:
    """Replace the password (auth's change_password: 403 wrong current one, 422 too common);
    every session but `session_id` ends; 429 past the limit."""
    await _check_password_allowed(c, user_id)
    await auth.change_password(c.db, c.auth, c.queue, user_id, session_id, current, new)
