"""What other components may call."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ..platform.cache import Cache
from ..platform.db import Executor
from ..platform.redisx import repeat
from . import images, queries
from .models import PRODUCT_CHANGED, ProductChange, ProductSummary
from .pictures import summary_documents
from .service import LISTING, product_cache_key, product_changed

__all__ = [
    "PRODUCT_CHANGED",
    "ListedProduct",
    "ProductChange",
    "ProductSummary",
    "StockMove",
    "StockNotices",
    "listed_products",
    "media_changed",
    "product_summaries",
]


@dataclass(frozen=True)
class StockMove:
    """A committed change to a product's units available."""

    product_id: UUID
    crossed: bool  # one of its SKUs ran out or came back: listings' `in_stock` changed too


class StockNotices:
    """Stock moves reach the catalog's cache in batches: the products moved since the last
    batch have their documents dropped in every process (and every listing page, when
    something ran out or came back) in one Redis pipeline every `every` seconds, rather than
    one per order, so a busy checkout pays next to nothing and a shopper sees the truth
    within `every` plus the pub/sub hop. Run `run()` as a background task; `flush()` on the
    way out."""

    def __init__(self, cache: Cache, every: float = 0.05) -> None:
        self.cache = cache
        self.every = every
        self._products: set[UUID] = set()
        self._crossed = False

    def moved(self, moves: Collection[StockMove]) -> None:
        """Note moves that have committed."""
        for move in moves:
            self._products.add(move.product_id)
            self._crossed |= move.crossed

    async def flush(self) -> None:
        products, crossed = self._products, self._crossed
        if not products:
            return
        self._products, self._crossed = set(), False
        await self.cache.invalidate(*(product_cache_key(p) for p in products))  # Redis down: the cache fences
        if crossed:
            await self.cache.bump(LISTING)

    async def run(self) -> None:
        await repeat(self.every, self.flush)


async def media_changed(db: Executor, cache: Cache, media_ids: Collection[UUID]) -> None:
    """Media became ready, or were made again: drop the cached documents of every product
    showing any of them, and the listing pages (thumbnails) if any product does."""
    await images.media_changed(db, cache, media_ids)


@dataclass(frozen=True)
class ListedProduct:
    """A product on sale now, as those who wait on it need it."""

    id: UUID
    name: str
    slug: str
    price: int  # its lowest price, minor units
    currency: str
    in_stock: bool  # one of its SKUs has units available


async def listed_products(db: Executor, product_ids: Collection[UUID]) -> dict[UUID, ListedProduct]:
    """Those of `product_ids` listed in the shop now (drafts, archived and unknown ones are not), by id."""
    if not product_ids:
        return {}
    rows = await queries.fetch_listed_states(db, product_ids)
    return {
        r["id"]: ListedProduct(r["id"], r["name"], r["slug"], r["price_min"], r["currency"], r["in_stock"])
        for r in rows
    }


async def product_summaries(db: Executor, product_ids: Collection[UUID], cdn_url: str) -> dict[UUID, bytes]:
    """The summary documents (as GET /api/v1/products shows them: price range, in stock,
    thumbnail) of those of `product_ids` that are listed, by id: one query for the products
    and at most two for their thumbnails, however many they are."""
    if not product_ids:
        return {}
    rows = await queries.fetch_summaries(db, product_ids)
    docs = await summary_documents(db, rows, cdn_url)
    return {row["id"]: doc for row, doc in zip(rows, docs, strict=True)}


async def stock_came_back(conn: Executor, moves: Collection[StockMove]) -> list[UUID]:
    """In the transaction of released stock: tell whoever waits on a product whose SKU had no
    units available and has some now (moves that release and cross zero); the outbox jobs'
    ids, for the caller to hand over after the commit."""
    products = sorted({move.product_id for move in moves if move.crossed})
    return [await product_changed(conn, p, ProductChange.RESTOCKED) for p in products]


@dataclass(frozen=True)
class ProductLink:
    """Where a listed product's page is, for a sitemap."""

    id: UUID
    slug: str
    updated_at: datetime


async def product_links(db: Executor, start: UUID | None, limit: int) -> list[ProductLink]:
    """Listed products in id order from `start` (the first when None), at most `limit`: one
    keyset page of the whole catalog."""
    rows = await queries.fetch_links(db, start, limit)
    return [ProductLink(r["id"], r["slug"], r["updated_at"]) for r in rows]


async def product_link_starts(db: Executor, every: int) -> list[UUID]:
    """Where each run of `every` listed products starts, in id order (`product_links`'s
    `start` for each page): one short answer, however large the catalog."""
    return await queries.fetch_link_starts(db, every)
