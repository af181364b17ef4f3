"""The users component's SQL: profiles, preferences and the address book (its own tables only)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..platform.addresses import ADDRESS_FIELDS
from ..platform.db import Executor
from .models import DefaultKind

BOOK_COLUMNS = f"id, label, {', '.join(ADDRESS_FIELDS)}, is_default_shipping, is_default_billing, created_at"
WRITABLE = frozenset({"label", *ADDRESS_FIELDS})
NEWEST_FIRST = "ORDER BY created_at DESC, id DESC"


async def fetch_profile(ex: Executor, user_id: UUID) -> asyncpg.Record | None:
    return await ex.fetchrow("SELECT phone, locale FROM profiles WHERE user_id = $1", user_id)


async def fetch_at_a_glance(ex: Executor, user_id: UUID) -> asyncpg.Record:
    """What the dashboard shows of this component in one statement: the profile's phone and
    locale, the default wishlist's item count and the default shipping address (as JSON)."""
    row = await ex.fetchrow(
        "SELECT p.phone, p.locale,"
        " (SELECT count(*) FROM wishlist_items i JOIN wishlists w ON w.id = i.wishlist_id"
        "   WHERE w.user_id = u.user_id AND w.is_default) AS wishlist_count,"
        f" (SELECT to_jsonb(a) FROM (SELECT {BOOK_COLUMNS} FROM addresses"
        "   WHERE user_id = u.user_id AND is_default_shipping) a) AS default_address"
        " FROM (SELECT $1::uuid AS user_id) u LEFT JOIN profiles p ON p.user_id = u.user_id",
        user_id,
    )
    assert row is not None
    return row


async def upsert_profile(ex: Executor, user_id: UUID, changes: dict[str, Any]) -> asyncpg.Record:
    """Set the phone and locale that `changes` names (null clears the phone); the profile."""
    row = await ex.fetchrow(
        "INSERT INTO profiles (user_id, phone, locale) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id) DO UPDATE SET"
        " phone = CASE WHEN $4 THEN excluded.phone ELSE profiles.phone END,"
        " locale = CASE WHEN $5 THEN excluded.locale ELSE profiles.locale END,"
        " updated_at = now()"
        " RETURNING phone, locale",
        user_id,
        changes.get("phone"),
        changes.get("locale"),
        "phone" in changes,
        "locale" in changes,
    )
    assert row is not None
    return row


async def lock_book(ex: Executor, user_id: UUID) -> None:
    """Lock the user's profile row (made if need be) until the transaction ends: the address
    book's writes of one user run one at a time."""
    await ex.execute(
        "INSERT INTO profiles (user_id) VALUES ($1)"
        " ON CONFLICT (user_id) DO UPDATE SET updated_at = profiles.updated_at",
        user_id,
    )


async def fetch_preferences(ex: Executor, user_id: UUID) -> asyncpg.Record:
    """The preferences row's fields (all null when never set) and the profile's locale."""
    row = await ex.fetchrow(
        "SELECT p.theme, p.language, p.currency, p.marketing_opt_in, p.marketing_opt_in_at, f.locale"
        " FROM (SELECT $1::uuid AS user_id) u"
        " LEFT JOIN preferences p ON p.user_id = u.user_id"
        " LEFT JOIN profiles f ON f.user_id = u.user_id",
        user_id,
    )
    assert row is not None
    return row


async def put_preferences(
    ex: Executor, user_id: UUID, theme: str, language: str, currency: str, marketing_opt_in: bool
) -> asyncpg.Record:
    """Replace the preferences; the consent's time moves only when the consent changes (from
    the default, no consent, for a first write)."""
    row = await ex.fetchrow(
        "INSERT INTO preferences (user_id, theme, language, currency, marketing_opt_in, marketing_opt_in_at)"
        " VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 THEN now() END)"
        " ON CONFLICT (user_id) DO UPDATE SET theme = excluded.theme, language = excluded.language,"
        " currency = excluded.currency, marketing_opt_in = excluded.marketing_opt_in,"
        " marketing_opt_in_at = CASE WHEN preferences.marketing_opt_in <> excluded.marketing_opt_in"
        " THEN now() ELSE preferences.marketing_opt_in_at END,"
        " updated_at = now()"
        " RETURNING theme, language, currency, marketing_opt_in, marketing_opt_in_at",
        user_id,
        theme,
        language,
        currency,
        marketing_opt_in,
    )
    assert row is not None
    return row


async def fetch_addresses(ex: Executor, user_id: UUID) -> list[asyncpg.Record]:
    return await ex.fetch(f"SELECT {BOOK_COLUMNS} FROM addresses WHERE user_id = $1 {NEWEST_FIRST}", user_id)


async def fetch_address(ex: Executor, user_id: UUID, address_id: UUID) -> asyncpg.Record | None:
    return await ex.fetchrow(
        f"SELECT {BOOK_COLUMNS} FROM addresses WHERE id = $2 AND user_id = $1", user_id, address_id
    )


async def fetch_default(ex: Executor, user_id: UUID, kind: DefaultKind) -> asyncpg.Record | None:
    return await ex.fetchrow(f"SELECT {BOOK_COLUMNS} FROM addresses WHERE user_id = $1 AND {kind}", user_id)


async def count_addresses(ex: Executor, user_id: UUID) -> int:
    return await ex.fetchval("SELECT count(*) FROM addresses WHERE user_id = $1", user_id)  # type: ignore[no-any-return]


async def insert_address(
    ex: Executor, user_id: UUID, fields: dict[str, Any], defaults: list[DefaultKind]
) -> UUID:
    columns = [name for name in fields if name in WRITABLE]
    names = ", ".join([*columns, *defaults])
    values = ", ".join(f"${i}" for i in range(2, len(columns) + 2))
    values += "".join(", true" for _ in defaults)
    return await ex.fetchval(  # type: ignore[no-any-return]
        f"INSERT INTO addresses (user_id, {names}) VALUES ($1, {values}) RETURNING id",
        user_id,
        *(fields[c] for c in columns),
    )


async def update_address(ex: Executor, user_id: UUID, address_id: UUID, changes: dict[str, Any]) -> None:
    columns = [name for name in changes if name in WRITABLE]
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=3))
    await ex.execute(
        f"UPDATE addresses SET {sets}, updated_at = now() WHERE id = $2 AND user_id = $1",
        user_id,
        address_id,
        *(changes[c] for c in columns),
    )


async def clear_default(ex: Executor, user_id: UUID, kind: DefaultKind) -> None:
    """No address of the user is the default of this kind (another is about to be)."""
    await ex.execute(f"UPDATE addresses SET {kind} = false WHERE user_id = $1 AND {kind}", user_id)


async def set_default(ex: Executor, user_id: UUID, address_id: UUID, kind: DefaultKind) -> None:
    await ex.execute(
        f"UPDATE addresses SET {kind} = true WHERE id = $2 AND user_id = $1 AND NOT {kind}",
        user_id,
        address_id,
    )


async def fill_defaults(ex: Executor, user_id: UUID) -> None:
    """Make the newest address the default of each kind that has none: a book that is not
    empty always has both."""
    missing = " OR ".join(
        f"NOT EXISTS (SELECT 1 FROM addresses WHERE user_id = $1 AND {kind})" for kind in DefaultKind
    )
    sets = ", ".join(
        f"{kind} = {kind} OR NOT EXISTS (SELECT 1 FROM addresses WHERE user_id = $1 AND {kind})"
        for kind in DefaultKind
    )
    await ex.execute(
        f"UPDATE addresses SET {sets} WHERE ({missing})"
        f" AND id = (SELECT id FROM addresses WHERE user_id = $1 {NEWEST_FIRST} LIMIT 1)",
        user_id,
    )


async def delete_address(ex: Executor, user_id: UUID, address_id: UUID) -> bool:
    return bool(
        await ex.fetchval(
            "DELETE FROM addresses WHERE id = $2 AND user_id = $1 RETURNING 1", user_id, address_id
        )
    )
