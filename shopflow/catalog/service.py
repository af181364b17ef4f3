"""The catalog's rules: reads through the cache, writes in transactions that invalidate it."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from arq.connections import ArqRedis

from ..platform.cache import Cache
from ..platform.db import Database, Executor
from ..platform.errors import Invalid
from ..platform.jsonx import dumps
from ..platform.outbox import enqueue_job, queue_job
from ..platform.pagination import decode_cursor, encode_cursor
from . import queries
from .errors import (
    ProductNotFound,
    SkuNotFound,
    SkuTaken,
    SlugTaken,
    StockReserved,
    UnknownCategory,
    VariantNotFound,
    VariantOrdered,
    WrongCurrency,
)
from .models import (
    PRODUCT_CHANGED,
    CategoryCreate,
    ProductChange,
    ProductCreate,
    ProductQuery,
    ProductUpdate,
    VariantCreate,
    VariantUpdate,
)
from .pictures import product_document, summary_documents

CATEGORY_TREE_KEY = "catalog:categories"
LISTING = "listing"  # the cache namespace of listing pages: any catalog write bumps it
CACHE_NAMESPACES = (LISTING,)
CURSOR_SHAPES: dict[str, tuple[type, ...]] = {
    "relevance": (str, float, UUID),
    "price_asc": (str, int, UUID),
    "price_desc": (str, int, UUID),
    "newest": (str, datetime, UUID),
}


@dataclass(frozen=True)
class Shop:
    """What the catalog's writes take from the settings."""

    currency: str  # every price's
    cdn_url: str  # where image URLs point (settings.media_cdn_url; empty: this origin's /media/)


def product_cache_key(product_id: UUID) -> str:
    return f"catalog:product:{product_id}"


def _product_keys(product_id: UUID, *slugs: str | None) -> list[str]:
    return [product_cache_key(product_id)] + [f"catalog:slug:{s}" for s in slugs if s]


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", errors=[{"field": field, "message": message}])


def _position(cursor: str, sort: str) -> list[Any]:
    """The keyset position in a listing cursor, checked to be one this sort order made."""
    name, key, last_id = decode_cursor(cursor, CURSOR_SHAPES[sort])
    if name != sort:
        raise _invalid("cursor", "the cursor belongs to another sort order")
    return [key, last_id]


def parse_key(id_or_slug: str) -> UUID | str:
    try:
        return UUID(id_or_slug)
    except ValueError:
        return id_or_slug


@contextmanager
def _constraints(category_field: str = "category_id") -> Iterator[None]:
    """Turn the database's uniqueness and reference checks into the catalog's errors."""
    try:
        yield
    except asyncpg.UniqueViolationError as e:
        if e.constraint_name == "variants_sku_key":
            raise SkuTaken("another variant has this SKU") from None
        raise SlugTaken("another item has this slug") from None
    except asyncpg.ForeignKeyViolationError:
        raise UnknownCategory(
            "there is no such category", errors=[{"field": category_field, "message": "unknown"}]
        ) from None


# Reads


async def product_json(db: Database, cache: Cache, id_or_slug: str, cdn_url: str) -> bytes:
    """A listed product's document, from the cache when it is there. A slug is cached as
    the product's id, so that a document has one key to drop when its stock moves."""
    key = parse_key(id_or_slug)
    product_id = key if isinstance(key, UUID) else await _product_id(db, cache, key)

    async def load() -> bytes | None:
        row = await queries.fetch_product(db, product_id, listed_only=True)
        return await product_document(db, row, cdn_url) if row is not None else None

    doc = await cache.get_or_load("product", product_cache_key(product_id), load)
    if doc is None:
        raise ProductNotFound(f"no product {id_or_slug!r}")
    return doc


async def _product_id(db: Database, cache: Cache, slug: str) -> UUID:
    async def load() -> bytes | None:
        product_id = await queries.fetch_listed_id(db, slug)
        return product_id.bytes if product_id is not None else None

    found = await cache.get_or_load("slug", f"catalog:slug:{slug}", load)
    if found is None:
        raise ProductNotFound(f"no product {slug!r}")
    return UUID(bytes=found)


async def category_tree(db: Database, cache: Cache) -> bytes:
    """The category tree as `{"items": [node…]}`, each node with its `children`."""

    async def load() -> bytes:
        nodes = {
            r["id"]: {
                "id": r["id"],
                "slug": r["slug"],
                "name": r["name"],
                "parent_id": r["parent_id"],
                "children": [],
            }
            for r in await queries.fetch_categories(db)
        }
        roots: list[dict[str, Any]] = []
        for node in nodes.values():
            parent = nodes.get(node["parent_id"])
            (parent["children"] if parent else roots).append(node)
        return dumps({"items": roots})

    tree = await cache.get_or_load("categories", CATEGORY_TREE_KEY, load)
    assert tree is not None
    return tree


async def _category_ids(db: Database, cache: Cache, id_or_slug: str) -> list[UUID]:
    """The category named by id or slug, with all its descendants."""

    def find(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
        for node in nodes:
            if id_or_slug in (node["id"], node["slug"]):
                return node
            found = find(node["children"])
            if found:
                return found
        return None

    def collect(node: dict[str, Any]) -> Iterator[UUID]:
        yield UUID(node["id"])
        for child in node["children"]:
            yield from collect(child)

    root = find(orjson.loads(await category_tree(db, cache))["items"])
    if root is None:
        raise UnknownCategory(
            "there is no such category", errors=[{"field": "category", "message": "unknown"}]
        )
    return list(collect(root))


async def list_products(db: Database, cache: Cache, query: ProductQuery, ttl: int, cdn_url: str) -> bytes:
    """One page of listed product summaries, as the list envelope, cached for `ttl` seconds."""
    params = query.model_dump_json(exclude_defaults=True)
    key = f"catalog:list:{cache.version(LISTING)}:{hashlib.sha256(params.encode()).hexdigest()[:32]}"

    async def load() -> bytes:
        return await _list_products(db, cache, query, cdn_url)

    page = await cache.get_or_load("listing", key, load, ttl)
    assert page is not None
    return page


async def _list_products(db: Database, cache: Cache, query: ProductQuery, cdn_url: str) -> bytes:
    if query.sort == "relevance" and not query.q:
        raise _invalid("sort", "relevance needs a search query q")
    sort = query.sort or ("relevance" if query.q else "newest")
    after = _position(query.cursor, sort) if query.cursor else None
    category_ids = await _category_ids(db, cache, query.category) if query.category else None
    rows = await queries.list_products(
        db,
        queries.ListFilter(
            q=query.q or None,
            category_ids=category_ids,
            min_price=query.min_price,
            max_price=query.max_price,
            in_stock=bool(query.in_stock),
            sort=sort,
            after=after,
            limit=query.limit,
        ),
    )
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        sort_key = last["sort_key"].isoformat() if sort == "newest" else last["sort_key"]
        next_cursor = encode_cursor([sort, sort_key, str(last["id"])])
    items = b",".join(await summary_documents(db, rows, cdn_url))
    return b'{"items":[' + items + b'],"next_cursor":' + orjson.dumps(next_cursor) + b"}"


# Writes


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:180] or "product"


async def _staff_view(db: Database, product_id: UUID, cdn_url: str) -> bytes:
    row = await queries.fetch_product(db, product_id, listed_only=False)
    if row is None:
        raise ProductNotFound(f"no product {product_id}")
    return await product_document(db, row, cdn_url)


def _check_currency(price: dict[str, Any], currency: str, field: str) -> None:
    if price["currency"] != currency:
        raise WrongCurrency(
            f"prices are in {currency}", errors=[{"field": field, "message": f"must be {currency}"}]
        )


async def _invalidate(cache: Cache, *keys: str) -> None:
    """After a catalog write: drop the cached documents it changed and every listing page.
    With Redis down the write still stands and this does not fail: the cache fences itself
    off everything cached before once Redis is back (see platform/cache.py)."""
    await cache.invalidate(*keys)
    await cache.bump(LISTING)


async def _free_slug(conn: asyncpg.Connection, name: str) -> str:
    """A slug made from the name, with a random suffix if the plain one is taken."""
    slug = slugify(name)
    if await queries.slug_taken(conn, slug):
        slug += "-" + secrets.token_hex(3)
    return slug


async def product_changed(conn: Executor, product_id: UUID, change: ProductChange) -> UUID:
    """Write the job telling whoever waits on the product what changed, in the change's transaction."""
    return await queue_job(conn, PRODUCT_CHANGED, str(product_id), change.value)


async def _hand_over(queue: ArqRedis | None, job_id: UUID | None) -> None:
    """After the commit: ask a worker to run the job now (without a queue, the relay will)."""
    if queue is not None and job_id is not None:
        await enqueue_job(queue, job_id)


async def create_category(db: Database, cache: Cache, body: CategoryCreate) -> UUID:
    """Add a category; the tree's cache is dropped."""
    with _constraints(category_field="parent_id"):
        category_id = await queries.insert_category(db, body.slug, body.name, body.parent_id, body.position)
    await _invalidate(cache, CATEGORY_TREE_KEY)
    return category_id


async def create_product(db: Database, cache: Cache, body: ProductCreate, shop: Shop) -> bytes:
    """Add a product with its variants and their stock in one transaction."""
    fields = body.model_dump(exclude={"variants"})
    fields["currency"] = shop.currency
    variants = [v.model_dump() for v in body.variants]
    for i, v in enumerate(variants):
        _check_currency(v["price"], shop.currency, f"variants[{i}].price.currency")
    async with db.transaction() as conn:
        if body.slug is None:
            fields["slug"] = await _free_slug(conn, body.name)
        with _constraints():
            product_id = await queries.insert_product(conn, fields)
            for v in variants:
                await queries.insert_variant(conn, product_id, v)
        await queries.refresh_prices(conn, product_id)
    await _invalidate(cache, *_product_keys(product_id, fields["slug"]))
    return await _staff_view(db, product_id, shop.cdn_url)


async def update_product(
    db: Database, cache: Cache, product_id: UUID, body: ProductUpdate, shop: Shop
) -> bytes:
    """Change a product's fields; archiving takes it out of the shop."""
    changes = body.changes()
    with _constraints():
        old_slug = await queries.update_product(db, product_id, changes)
    if old_slug is None:
        raise ProductNotFound(f"no product {product_id}")
    await _invalidate(cache, *_product_keys(product_id, old_slug, changes.get("slug")))
    return await _staff_view(db, product_id, shop.cdn_url)


async def add_variant(
    db: Database,
    cache: Cache,
    product_id: UUID,
    body: VariantCreate,
    shop: Shop,
    queue: ArqRedis | None = None,
) -> bytes:
    """Add a variant (and its stock row) to a product; a lower price is news for those waiting."""
    v = body.model_dump()
    _check_currency(v["price"], shop.currency, "price.currency")
    async with db.transaction() as conn:
        slug = await queries.fetch_product_slug(conn, product_id, lock=True)
        if slug is None:
            raise ProductNotFound(f"no product {product_id}")
        with _constraints():
            await queries.insert_variant(conn, product_id, v)
        job_id = None
        if await queries.refresh_prices(conn, product_id):
            job_id = await product_changed(conn, product_id, ProductChange.REPRICED)
    await _hand_over(queue, job_id)
    await _invalidate(cache, *_product_keys(product_id, slug))
    return await _staff_view(db, product_id, shop.cdn_url)


async def update_variant(
    db: Database,
    cache: Cache,
    variant_id: UUID,
    body: VariantUpdate,
    shop: Shop,
    queue: ArqRedis | None = None,
) -> bytes:
    """Change a variant's name, options, price or position; a lower lowest price is news for
    those waiting on the product."""
    changes = body.changes()
    if "price" in changes:
        _check_currency(changes["price"], shop.currency, "price.currency")
    async with db.transaction() as conn:
        owner = await queries.fetch_variant_owner(conn, variant_id)
        if owner is None:
            raise VariantNotFound(f"no variant {variant_id}")
        await queries.update_variant(conn, variant_id, changes)
        job_id = None
        if await queries.refresh_prices(conn, owner["product_id"]):
            job_id = await product_changed(conn, owner["product_id"], ProductChange.REPRICED)
    await _hand_over(queue, job_id)
    await _invalidate(cache, *_product_keys(owner["product_id"], owner["slug"]))
    return await _staff_view(db, owner["product_id"], shop.cdn_url)


async def delete_variant(db: Database, cache: Cache, variant_id: UUID) -> None:
    """Remove a variant and its stock, unless some of that stock is reserved or an order
    names it (orders keep the stock they took or gave back)."""
    async with db.transaction() as conn:
        owner = await queries.fetch_variant_owner(conn, variant_id)
        if owner is None:
            raise VariantNotFound(f"no variant {variant_id}")
        try:
            deleted = await queries.delete_variant_unreserved(conn, variant_id)
        except asyncpg.ForeignKeyViolationError:
            raise VariantOrdered(f"{owner['sku']} is in orders; archive its product instead") from None
        if not deleted:
            raise StockReserved(f"{owner['sku']} has reserved stock; it cannot be removed now")
        await queries.refresh_prices(conn, owner["product_id"])
    await _invalidate(cache, *_product_keys(owner["product_id"], owner["slug"]))


async def set_stock(
    db: Database, cache: Cache, sku: str, on_hand: int, queue: ArqRedis | None = None
) -> dict[str, Any]:
    """Set the units on hand for a SKU; never below what is reserved. Units coming back to a
    SKU that had none available are news for those waiting on its product."""
    job_id = None
    async with db.transaction() as conn:
        before = await queries.lock_available(conn, sku)
        row = await queries.set_on_hand(conn, sku, on_hand)
        if row is not None and before is not None and before <= 0 < row["on_hand"] - row["reserved"]:
            job_id = await product_changed(conn, row["product_id"], ProductChange.RESTOCKED)
    await _hand_over(queue, job_id)
    if row is None:
        current = await queries.fetch_stock(db, sku)
        if current is None:
            raise SkuNotFound(f"no SKU {sku!r}")
        raise StockReserved(
            f"{current['reserved']} units of {sku} are reserved; on_hand cannot go below that",
            extra={"reserved": current["reserved"]},
        )
    await _invalidate(cache, *_product_keys(row["product_id"], row["slug"]))
    return {
        "sku": row["sku"],
        "on_hand": row["on_hand"],
        "reserved": row["reserved"],
        "available": row["on_hand"] - row["reserved"],
    }
