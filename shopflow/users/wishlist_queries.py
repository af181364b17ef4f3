"""The wishlists' SQL. Every function takes an executor: the pool or a connection."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from ..platform.db import Executor

LIST_COLUMNS = (
    "id, name, is_default, share_token_hash IS NOT NULL AS shared, created_at, updated_at, expires_at"
)
ITEM_COLUMNS = "product_id, added_at, notify_back_in_stock, notify_price_drop"
# A guest's list is anyone's who holds its id, until it expires.
_GUEST = "user_id IS NULL AND expires_at > now()"


# Lists


async def insert_default(ex: Executor, user_id: UUID, name: str) -> None:
    """Make the customer's default list unless it exists (or another request is making it)."""
    await ex.execute(
        "INSERT INTO wishlists (user_id, name, is_default) VALUES ($1, $2, true)"
        " ON CONFLICT (user_id) WHERE is_default DO NOTHING",
        user_id,
        name,
    )


async def fetch_default(ex: Executor, user_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    sql = f"SELECT {LIST_COLUMNS} FROM wishlists WHERE user_id = $1 AND is_default"
    return await ex.fetchrow(sql + (" FOR UPDATE" if lock else ""), user_id)


async def fetch_list(ex: Executor, wishlist_id: UUID, user_id: UUID | None) -> asyncpg.Record | None:
    """The customer's list (`user_id`), or a live guest's list (None)."""
    owner = "user_id = $2" if user_id is not None else f"{_GUEST} AND $2::uuid IS NULL"
    return await ex.fetchrow(
        f"SELECT {LIST_COLUMNS} FROM wishlists WHERE id = $1 AND {owner}", wishlist_id, user_id
    )


async def touch_list(ex: Executor, wishlist_id: UUID, user_id: UUID | None, ttl: int) -> bool:
    """Lock the list for a change to its items and note the change (a guest's list lives
    `ttl` seconds from now); whether it is the caller's (or a live guest's) list."""
    owner = "user_id = $2" if user_id is not None else f"{_GUEST} AND $2::uuid IS NULL"
    found = await ex.fetchval(
        f"""UPDATE wishlists SET updated_at = now(),
                   expires_at = CASE WHEN user_id IS NULL THEN now() + make_interval(secs => $3) END
            WHERE id = $1 AND {owner} RETURNING 1""",
        wishlist_id,
        user_id,
        ttl,
    )
    return bool(found)


async def fetch_lists(ex: Executor, user_id: UUID) -> list[asyncpg.Record]:
    """The customer's lists: the default first, then the others as they were made."""
    return await ex.fetch(
        f"SELECT {LIST_COLUMNS} FROM wishlists WHERE user_id = $1 ORDER BY is_default DESC, created_at, id",
        user_id,
    )


async def count_lists(ex: Executor, user_id: UUID) -> int:
    return await ex.fetchval("SELECT count(*) FROM wishlists WHERE user_id = $1", user_id)  # type: ignore[no-any-return]


async def insert_list(ex: Executor, user_id: UUID, name: str) -> asyncpg.Record:
    row = await ex.fetchrow(
        f"INSERT INTO wishlists (user_id, name) VALUES ($1, $2) RETURNING {LIST_COLUMNS}", user_id, name
    )
    assert row is not None
    return row


async def insert_guest_list(ex: Executor, name: str, ttl: int) -> asyncpg.Record:
    row = await ex.fetchrow(
        f"""INSERT INTO wishlists (name, expires_at) VALUES ($1, now() + make_interval(secs => $2))
            RETURNING {LIST_COLUMNS}""",
        name,
        ttl,
    )
    assert row is not None
    return row


async def rename_list(ex: Executor, wishlist_id: UUID, user_id: UUID, name: str) -> asyncpg.Record | None:
    return await ex.fetchrow(
        f"""UPDATE wishlists SET name = $3, updated_at = now() WHERE id = $1 AND user_id = $2
            RETURNING {LIST_COLUMNS}""",
        wishlist_id,
        user_id,
        name,
    )


async def delete_list(ex: Executor, wishlist_id: UUID, user_id: UUID) -> bool:
    """Delete one of the customer's named lists (never the default); whether it was deleted."""
    deleted = await ex.fetchval(
        "DELETE FROM wishlists WHERE id = $1 AND user_id = $2 AND NOT is_default RETURNING 1",
        wishlist_id,
        user_id,
    )
    return bool(deleted)


async def set_share_hash(ex: Executor, wishlist_id: UUID, user_id: UUID, token_hash: bytes | None) -> bool:
    """Replace (or with None revoke) the list's share link; whether the list is the customer's."""
    found = await ex.fetchval(
        "UPDATE wishlists SET share_token_hash = $3, updated_at = now()"
        " WHERE id = $1 AND user_id = $2 RETURNING 1",
        wishlist_id,
        user_id,
        token_hash,
    )
    return bool(found)


async def fetch_shared(ex: Executor, token_hash: bytes) -> asyncpg.Record | None:
    return await ex.fetchrow(
        f"SELECT {LIST_COLUMNS} FROM wishlists WHERE share_token_hash = $1 AND user_id IS NOT NULL",
        token_hash,
    )


async def lock_guest_list(ex: Executor, wishlist_id: UUID) -> bool:
    """Lock a live guest's list for folding it into an account; whether there is one."""
    found = await ex.fetchval(f"SELECT 1 FROM wishlists WHERE id = $1 AND {_GUEST} FOR UPDATE", wishlist_id)
    return bool(found)


async def delete_guest_list(ex: Executor, wishlist_id: UUID) -> None:
    await ex.execute("DELETE FROM wishlists WHERE id = $1 AND user_id IS NULL", wishlist_id)


async def delete_expired_guest_lists(ex: Executor) -> int:
    done = await ex.execute("DELETE FROM wishlists WHERE user_id IS NULL AND expires_at < now()")
    return int(done.split()[-1])


# Items


async def fetch_items(
    ex: Executor, wishlist_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """A page of the list's items, newest first, after the keyset position `after`."""
    if after is None:
        return await ex.fetch(
            f"""SELECT {ITEM_COLUMNS} FROM wishlist_items WHERE wishlist_id = $1
                ORDER BY added_at DESC, product_id DESC LIMIT $2""",
            wishlist_id,
            limit,
        )
    return await ex.fetch(
        f"""SELECT {ITEM_COLUMNS} FROM wishlist_items
            WHERE wishlist_id = $1 AND (added_at, product_id) < ($2, $3)
            ORDER BY added_at DESC, product_id DESC LIMIT $4""",
        wishlist_id,
        after[0],
        after[1],
        limit,
    )


async def fetch_item(ex: Executor, wishlist_id: UUID, product_id: UUID) -> asyncpg.Record | None:
    return await ex.fetchrow(
        f"SELECT {ITEM_COLUMNS} FROM wishlist_items WHERE wishlist_id = $1 AND product_id = $2",
        wishlist_id,
        product_id,
    )


async def count_items(ex: Executor, wishlist_id: UUID) -> int:
    return await ex.fetchval("SELECT count(*) FROM wishlist_items WHERE wishlist_id = $1", wishlist_id)  # type: ignore[no-any-return]


async def insert_item(
    ex: Executor,
    wishlist_id: UUID,
    product_id: UUID,
    back_in_stock: bool,
    price_drop: bool,
    watch: int | None,
) -> asyncpg.Record:
    row = await ex.fetchrow(
        f"""INSERT INTO wishlist_items
                (wishlist_id, product_id, notify_back_in_stock, notify_price_drop, watch_price)
            VALUES ($1, $2, $3, $4, $5) RETURNING {ITEM_COLUMNS}""",
        wishlist_id,
        product_id,
        back_in_stock,
        price_drop,
        watch,
    )
    assert row is not None
    return row


async def update_flags(
    ex: Executor,
    wishlist_id: UUID,
    product_id: UUID,
    back_in_stock: bool | None,
    price_drop: bool | None,
    watch: int | None,
) -> asyncpg.Record | None:
    """Set the flags given (None: left as they are); asking for a price drop again watches
    from `watch`, and not asking forgets the price."""
    return await ex.fetchrow(
        f"""UPDATE wishlist_items SET
                notify_back_in_stock = coalesce($3, notify_back_in_stock),
                notify_price_drop = coalesce($4, notify_price_drop),
                watch_price = CASE WHEN $4 IS NULL THEN watch_price WHEN $4 THEN $5 END
            WHERE wishlist_id = $1 AND product_id = $2 RETURNING {ITEM_COLUMNS}""",
        wishlist_id,
        product_id,
        back_in_stock,
        price_drop,
        watch,
    )


async def delete_item(ex: Executor, wishlist_id: UUID, product_id: UUID) -> None:
    await ex.execute(
        "DELETE FROM wishlist_items WHERE wishlist_id = $1 AND product_id = $2", wishlist_id, product_id
    )


async def move_items(ex: Executor, source: UUID, target: UUID, room: int) -> int:
    """Copy the newest `room` items of `source` that `target` lacks into it (no notices: a
    guest asked for none); how many. The caller holds both lists' locks."""
    done = await ex.execute(
        """INSERT INTO wishlist_items (wishlist_id, product_id, added_at)
           SELECT $2, i.product_id, i.added_at FROM wishlist_items i
           WHERE i.wishlist_id = $1 AND NOT EXISTS (
               SELECT 1 FROM wishlist_items t WHERE t.wishlist_id = $2 AND t.product_id = i.product_id)
           ORDER BY i.added_at DESC LIMIT $3""",
        source,
        target,
        room,
    )
    return int(done.split()[-1])


# Notices: customers' lists only (a guest has no address to write to).


async def claim_back_in_stock(ex: Executor, product_id: UUID) -> list[UUID]:
    """Clear the back-in-stock requests for the product, once each; the customers who made them."""
    rows = await ex.fetch(
        """UPDATE wishlist_items i SET notify_back_in_stock = false FROM wishlists w
           WHERE w.id = i.wishlist_id AND w.user_id IS NOT NULL
             AND i.product_id = $1 AND i.notify_back_in_stock
           RETURNING w.user_id""",
        product_id,
    )
    return list(dict.fromkeys(r["user_id"] for r in rows))


async def claim_price_drop(ex: Executor, product_id: UUID, price: int) -> list[asyncpg.Record]:
    """Watch the product from `price` on where it is below the price watched; the customers
    (`user_id`) and the price each watched (`was`)."""
    return await ex.fetch(
        """WITH due AS (
               SELECT i.wishlist_id, i.watch_price AS was, w.user_id
               FROM wishlist_items i JOIN wishlists w ON w.id = i.wishlist_id
               WHERE i.product_id = $1 AND i.notify_price_drop AND i.watch_price > $2
                 AND w.user_id IS NOT NULL
               FOR UPDATE OF i)
           UPDATE wishlist_items i SET watch_price = $2 FROM due
           WHERE i.wishlist_id = due.wishlist_id AND i.product_id = $1
           RETURNING due.user_id, due.was""",
        product_id,
        price,
    )


async def fetch_for_export(ex: Executor, user_id: UUID) -> list[asyncpg.Record]:
    """The customer's lists, oldest first, each with its items as stored (JSON), for an export."""
    return await ex.fetch(
        "SELECT w.id, w.name, w.is_default, w.share_token_hash IS NOT NULL AS shared, w.created_at,"
        " coalesce(jsonb_agg(jsonb_build_object('product_id', i.product_id, 'added_at', i.added_at,"
        "   'notify_back_in_stock', i.notify_back_in_stock, 'notify_price_drop', i.notify_price_drop,"
        "   'watch_price', i.watch_price) ORDER BY i.added_at) FILTER (WHERE i.product_id IS NOT NULL),"
        "   '[]') AS items"
        " FROM wishlists w LEFT JOIN wishlist_items i ON i.wishlist_id = w.id"
        " WHERE w.user_id = $1 GROUP BY w.id ORDER BY w.created_at, w.id",
        user_id,
    )
