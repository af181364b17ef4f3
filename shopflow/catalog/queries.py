"""The catalog's SQL. Every function takes an executor: the pool or a connection."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from ..platform.db import Executor

_MONEY = "json_build_object('amount', {0}, 'currency', {1})"
_PRICE_RANGE = (
    "CASE WHEN p.price_min IS NULL THEN NULL ELSE json_build_object('min', "
    + _MONEY.format("p.price_min", "p.currency")
    + ", 'max', "
    + _MONEY.format("p.price_max", "p.currency")
    + ") END"
)
_LISTED = "p.status = 'active' AND p.price_min IS NOT NULL"
_IN_STOCK = (
    "EXISTS (SELECT 1 FROM variants v JOIN stock s ON s.sku = v.sku"
    " WHERE v.product_id = p.id AND s.on_hand > s.reserved)"
)

# A product's images in order, as three arrays (NULL when it has none) beside its document:
# the catalog asks the media component which of them are ready to show.
_IMAGES = """CROSS JOIN LATERAL (
    SELECT array_agg(i.id ORDER BY i.position) AS image_ids,
           array_agg(i.media_id ORDER BY i.position) AS image_media,
           array_agg(i.alt ORDER BY i.position) AS image_alts
    FROM product_images i WHERE i.product_id = p.id) images"""

# The product document is built by PostgreSQL in one round trip (without its images, which
# come beside it) and cached as it comes once they are added.
_DETAIL = f"""
SELECT json_build_object(
    'id', p.id, 'slug', p.slug, 'name', p.name, 'description', p.description,
    'status', p.status,
    'category', CASE WHEN c.id IS NULL THEN NULL
                     ELSE json_build_object('id', c.id, 'slug', c.slug, 'name', c.name) END,
    'attributes', p.attributes,
    'variants', coalesce((
        SELECT json_agg(json_build_object(
                   'id', v.id, 'sku', v.sku, 'name', v.name, 'options', v.options,
                   'price', {_MONEY.format("v.price_amount", "v.currency")},
                   'position', v.position,
                   'stock_available', coalesce(s.on_hand - s.reserved, 0))
               ORDER BY v.position, v.sku)
        FROM variants v LEFT JOIN stock s ON s.sku = v.sku
        WHERE v.product_id = p.id), '[]'::json),
    'price_range', {_PRICE_RANGE},
    'created_at', p.created_at, 'updated_at', p.updated_at)::text AS doc,
    images.image_ids, images.image_media, images.image_alts
FROM products p LEFT JOIN categories c ON c.id = p.category_id
{_IMAGES}
"""


async def fetch_product(ex: Executor, product_id: UUID, *, listed_only: bool) -> asyncpg.Record | None:
    """The product document (`doc`, without `images`) and its images' arrays; drafts and
    archived ones only if asked."""
    where = "p.id = $1 AND p.status = 'active'" if listed_only else "p.id = $1"
    return await ex.fetchrow(f"{_DETAIL} WHERE {where}", product_id)


async def slug_taken(ex: Executor, slug: str) -> bool:
    return bool(await ex.fetchval("SELECT 1 FROM products WHERE slug = $1", slug))


async def fetch_listed_id(ex: Executor, slug: str) -> UUID | None:
    """The id of the listed product with this slug."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "SELECT id FROM products WHERE slug = $1 AND status = 'active'", slug
    )


@dataclass(frozen=True)
class ListFilter:
    q: str | None
    category_ids: list[UUID] | None
    min_price: int | None
    max_price: int | None
    in_stock: bool
    sort: str
    after: list[Any] | None  # the keyset position a cursor carries, without its sort name
    limit: int


# sort -> (key expressions, direction); the last key is always p.id, for a total order.
SORTS: dict[str, tuple[tuple[str, ...], str]] = {
    "relevance": (("ts_rank(p.search, query)::float8", "p.id"), "DESC"),
    "price_asc": (("p.price_min", "p.id"), "ASC"),
    "price_desc": (("p.price_min", "p.id"), "DESC"),
    "newest": (("p.created_at", "p.id"), "DESC"),
}
KEY_CASTS = {"relevance": "float8", "price_asc": "bigint", "price_desc": "bigint", "newest": "timestamptz"}


# A listed product's summary (`doc`, without `thumbnail`) and its images' arrays.
_SUMMARY = f"""json_build_object(
            'id', p.id, 'slug', p.slug, 'name', p.name, 'category_id', p.category_id,
            'price_range', {_PRICE_RANGE}, 'in_stock', {_IN_STOCK},
            'created_at', p.created_at)::text AS doc,
            images.image_ids, images.image_media, images.image_alts"""


async def list_products(ex: Executor, f: ListFilter) -> list[asyncpg.Record]:
    """One page (plus one row, to tell whether more follow) of listed product summaries
    (`doc`, without `thumbnail`), each with its images' arrays."""
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = [_LISTED]
    source = "products p"
    if f.q is not None:
        source += f", websearch_to_tsquery('english', {arg(f.q)}) query"
        where.append("p.search @@ query")
    if f.category_ids is not None:
        where.append(f"p.category_id = ANY({arg(f.category_ids)}::uuid[])")
    if f.min_price is not None:
        where.append(f"p.price_min >= {arg(f.min_price)}")
    if f.max_price is not None:
        where.append(f"p.price_min <= {arg(f.max_price)}")
    if f.in_stock:
        where.append(_IN_STOCK)
    keys, direction = SORTS[f.sort]
    if f.after is not None:
        op = "<" if direction == "DESC" else ">"
        where.append(
            f"({keys[0]}, p.id) {op} ({arg(f.after[0])}::{KEY_CASTS[f.sort]}, {arg(f.after[1])}::uuid)"
        )
    # The page is chosen first and its documents built after, so the stock check in each
    # summary runs for the rows shown, not for every row that matched.
    sql = f"""
        WITH page AS (
            SELECT {keys[0]} AS sort_key, p.id
            FROM {source}
            WHERE {" AND ".join(where)}
            ORDER BY {", ".join(f"{k} {direction}" for k in keys)}
            LIMIT {arg(f.limit + 1)})
        SELECT page.sort_key, p.id, {_SUMMARY}
        FROM page JOIN products p ON p.id = page.id
        {_IMAGES}
        ORDER BY page.sort_key {direction}, page.id {direction}"""
    return await ex.fetch(sql, *args)


async def fetch_categories(ex: Executor) -> list[asyncpg.Record]:
    return await ex.fetch("SELECT id, parent_id, slug, name FROM categories ORDER BY position, name, id")


async def insert_category(ex: Executor, slug: str, name: str, parent_id: UUID | None, position: int) -> UUID:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO categories (slug, name, parent_id, position) VALUES ($1, $2, $3, $4) RETURNING id",
        slug,
        name,
        parent_id,
        position,
    )


async def insert_product(ex: Executor, fields: dict[str, Any]) -> UUID:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO products (slug, name, description, category_id, attributes, status, currency)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        fields["slug"],
        fields["name"],
        fields["description"],
        fields["category_id"],
        fields["attributes"],
        fields["status"],
        fields["currency"],
    )


PRODUCT_COLUMNS = frozenset({"name", "slug", "description", "category_id", "attributes", "status"})


async def update_product(ex: Executor, product_id: UUID, changes: dict[str, Any]) -> str | None:
    """Apply `changes` (columns of PRODUCT_COLUMNS); the product's slug before them, or None."""
    columns = sorted(changes)
    assert set(columns) <= PRODUCT_COLUMNS
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    return await ex.fetchval(  # type: ignore[no-any-return]
        f"""UPDATE products p SET {sets}, updated_at = now()
            FROM products old WHERE old.id = p.id AND p.id = $1 RETURNING old.slug""",
        product_id,
        *(changes[c] for c in columns),
    )


async def fetch_product_slug(ex: Executor, product_id: UUID, *, lock: bool = False) -> str | None:
    sql = "SELECT slug FROM products WHERE id = $1"
    return await ex.fetchval(sql + (" FOR UPDATE" if lock else ""), product_id)  # type: ignore[no-any-return]


async def insert_variant(ex: Executor, product_id: UUID, v: dict[str, Any]) -> UUID:
    variant_id = await ex.fetchval(
        "INSERT INTO variants (product_id, sku, name, options, price_amount, currency, position)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        product_id,
        v["sku"],
        v["name"],
        v["options"],
        v["price"]["amount"],
        v["price"]["currency"],
        v["position"],
    )
    await ex.execute("INSERT INTO stock (sku, on_hand) VALUES ($1, $2)", v["sku"], v["on_hand"])
    return variant_id  # type: ignore[no-any-return]


async def refresh_prices(ex: Executor, product_id: UUID) -> bool:
    """Recompute the product's price range from its variants; whether its lowest price went
    down (the caller holds the product's row lock, so `old` is the row as it was)."""
    lowered = await ex.fetchval(
        """UPDATE products p SET price_min = v.lo, price_max = v.hi, updated_at = now()
           FROM (SELECT min(price_amount) lo, max(price_amount) hi
                 FROM variants WHERE product_id = $1) v, products old
           WHERE p.id = $1 AND old.id = p.id
           RETURNING v.lo < old.price_min""",
        product_id,
    )
    return bool(lowered)


async def fetch_variant_owner(ex: Executor, variant_id: UUID) -> asyncpg.Record | None:
    """The variant's product id and slug, locking the product row for the write to come."""
    return await ex.fetchrow(
        """SELECT p.id AS product_id, p.slug, v.sku FROM variants v JOIN products p ON p.id = v.product_id
           WHERE v.id = $1 FOR UPDATE OF p""",
        variant_id,
    )


async def update_variant(ex: Executor, variant_id: UUID, changes: dict[str, Any]) -> None:
    columns = {
        "name": changes.get("name"),
        "options": changes.get("options"),
        "position": changes.get("position"),
        "price_amount": changes["price"]["amount"] if "price" in changes else None,
    }
    await ex.execute(
        """UPDATE variants SET name = coalesce($2, name), options = coalesce($3, options),
                  position = coalesce($4, position), price_amount = coalesce($5, price_amount)
           WHERE id = $1""",
        variant_id,
        *columns.values(),
    )


async def delete_variant_unreserved(ex: Executor, variant_id: UUID) -> bool:
    """Delete the variant unless some of its stock is reserved; whether it was deleted."""
    deleted = await ex.fetchval(
        """DELETE FROM variants v WHERE v.id = $1
             AND NOT EXISTS (SELECT 1 FROM stock s WHERE s.sku = v.sku AND s.reserved > 0)
           RETURNING 1""",
        variant_id,
    )
    return bool(deleted)


async def set_on_hand(ex: Executor, sku: str, on_hand: int) -> asyncpg.Record | None:
    """Set the stock on hand unless it would fall below what is reserved."""
    return await ex.fetchrow(
        """UPDATE stock s SET on_hand = $2, updated_at = now()
           FROM variants v JOIN products p ON p.id = v.product_id
           WHERE s.sku = $1 AND v.sku = s.sku AND s.reserved <= $2
           RETURNING s.sku, s.on_hand, s.reserved, p.id AS product_id, p.slug""",
        sku,
        on_hand,
    )


async def fetch_stock(ex: Executor, sku: str) -> asyncpg.Record | None:
    return await ex.fetchrow("SELECT sku, on_hand, reserved FROM stock WHERE sku = $1", sku)


# Images. Their writes run under the product's row lock (`lock_product`), so a product's
# positions stay 0..n-1 whatever requests race.

IMAGE_COLUMNS = "id, product_id, media_id, alt, position"


async def lock_product(ex: Executor, product_id: UUID) -> bool:
    """Lock the product's row for a change to its images; whether the product exists."""
    return bool(await ex.fetchval("SELECT 1 FROM products WHERE id = $1 FOR NO KEY UPDATE", product_id))


async def count_images(ex: Executor, product_id: UUID) -> int:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "SELECT count(*) FROM product_images WHERE product_id = $1", product_id
    )


async def fetch_image(ex: Executor, product_id: UUID, image_id: UUID) -> asyncpg.Record | None:
    return await ex.fetchrow(
        f"SELECT {IMAGE_COLUMNS} FROM product_images WHERE id = $1 AND product_id = $2", image_id, product_id
    )


async def insert_image(
    ex: Executor, product_id: UUID, media_id: UUID, alt: str, position: int
) -> asyncpg.Record:
    """Insert the image at `position` (at most the number of images), the ones from there on
    moving one along: one statement, so the positions are unique again when it ends."""
    row = await ex.fetchrow(
        f"""WITH shifted AS (
                UPDATE product_images SET position = position + 1
                WHERE product_id = $1 AND position >= $4)
            INSERT INTO product_images (product_id, media_id, alt, position)
            VALUES ($1, $2, $3, $4) RETURNING {IMAGE_COLUMNS}""",
        product_id,
        media_id,
        alt,
        position,
    )
    assert row is not None
    return row


async def update_image(
    ex: Executor, product_id: UUID, image_id: UUID, old: int, new: int, alt: str | None
) -> asyncpg.Record:
    """Move the image from position `old` to `new` (the ones between closing up or making
    room) and set its alt text unless `alt` is None: one statement."""
    row = await ex.fetchrow(
        f"""WITH changed AS (
                UPDATE product_images SET
                    position = CASE WHEN id = $2 THEN $4::int
                                    WHEN $4::int < $3::int THEN position + 1
                                    ELSE position - 1 END,
                    alt = CASE WHEN id = $2 THEN coalesce($5, alt) ELSE alt END
                WHERE product_id = $1
                  AND (id = $2 OR position BETWEEN least($3::int, $4::int) AND greatest($3::int, $4::int))
                RETURNING {IMAGE_COLUMNS})
            SELECT {IMAGE_COLUMNS} FROM changed WHERE id = $2""",
        product_id,
        image_id,
        old,
        new,
        alt,
    )
    assert row is not None
    return row


async def delete_image(ex: Executor, product_id: UUID, image_id: UUID) -> bool:
    """Delete the image, the ones after it closing up; whether it was the product's."""
    deleted = await ex.fetchval(
        """WITH gone AS (
               DELETE FROM product_images WHERE id = $2 AND product_id = $1 RETURNING position),
           closed AS (
               UPDATE product_images i SET position = i.position - 1 FROM gone
               WHERE i.product_id = $1 AND i.position > gone.position)
           SELECT 1 FROM gone""",
        product_id,
        image_id,
    )
    return bool(deleted)


async def fetch_products_showing(ex: Executor, media_ids: Collection[UUID]) -> list[UUID]:
    """The products with an image of any of `media_ids`."""
    rows = await ex.fetch(
        "SELECT DISTINCT product_id FROM product_images WHERE media_id = ANY($1::uuid[])", list(media_ids)
    )
    return [r["product_id"] for r in rows]


# What other components read: listed products by id.


async def fetch_summaries(ex: Executor, product_ids: Collection[UUID]) -> list[asyncpg.Record]:
    """The summaries (`doc`, without `thumbnail`) and images' arrays of those of `product_ids`
    that are listed."""
    return await ex.fetch(
        f"SELECT p.id, {_SUMMARY} FROM products p {_IMAGES} WHERE p.id = ANY($1::uuid[]) AND {_LISTED}",
        list(product_ids),
    )


async def fetch_listed_states(ex: Executor, product_ids: Collection[UUID]) -> list[asyncpg.Record]:
    """Name, lowest price and whether it can be bought now, of those of `product_ids` listed."""
    return await ex.fetch(
        f"""SELECT p.id, p.name, p.slug, p.price_min, p.currency, {_IN_STOCK} AS in_stock
            FROM products p WHERE p.id = ANY($1::uuid[]) AND {_LISTED}""",
        list(product_ids),
    )


async def lock_available(ex: Executor, sku: str) -> int | None:
    """The SKU's units available, its stock row locked for the change to come."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "SELECT on_hand - reserved FROM stock WHERE sku = $1 FOR UPDATE", sku
    )


async def fetch_links(ex: Executor, start: UUID | None, limit: int) -> list[asyncpg.Record]:
    """Listed products' ids, slugs and last changes in id order, from `start` on (keyset)."""
    return await ex.fetch(
        f"""SELECT p.id, p.slug, p.updated_at FROM products p
            WHERE {_LISTED} AND ($1::uuid IS NULL OR p.id >= $1) ORDER BY p.id LIMIT $2""",
        start,
        limit,
    )


async def fetch_link_starts(ex: Executor, every: int) -> list[UUID]:
    """The id of every `every`th listed product in id order, from the first: where each run
    of `every` starts."""
    rows = await ex.fetch(
        f"""SELECT id FROM (SELECT p.id, row_number() OVER (ORDER BY p.id) AS n
                              FROM products p WHERE {_LISTED}) s
            WHERE n % $1 = 1 ORDER BY id""",
        every,
    )
    return [r["id"] for r in rows]
