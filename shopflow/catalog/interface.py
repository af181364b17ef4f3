"""What other components may call."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from ..platform.cache import Cache
from .service import LISTING, product_cache_key


@dataclass(frozen=True)
class StockMove:
    """A committed change to a product's units available."""

    product_id: UUID
    crossed: bool  # one of its SKUs ran out or came back: listings' `in_stock` changed too


async def stock_changed(cache: Cache, moves: Collection[StockMove]) -> None:
    """After a commit that moved stock: the products' documents are dropped in every process,
    and every listing page too when something ran out or came back."""
    if not moves:
        return
    await cache.invalidate(*{product_cache_key(m.product_id) for m in moves})
    if any(m.crossed for m in moves):
        await cache.bump(LISTING)
