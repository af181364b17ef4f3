"""The rules of products' images: staff place, move and remove them, each write under the
product's row lock so that its positions stay 0..n-1 whatever requests race; the product's
cached document and every listing page (thumbnails) are dropped after."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

import asyncpg

from ..media.interface import MediaStatus, media_status, pictures
from ..platform.cache import Cache
from ..platform.db import Database, Executor
from . import queries
from .errors import ImageNotFound, MediaFailed, ProductNotFound, TooManyImages, UnknownMedia
from .models import MAX_IMAGES, ImageCreate, ImageKey, ImageUpdate
from .pictures import PlacedImage
from .service import LISTING, product_cache_key


def _unknown_media(media_id: UUID) -> UnknownMedia:
    return UnknownMedia(f"no media {media_id}", errors=[{"field": "media_id", "message": "unknown"}])


async def _lock(conn: asyncpg.Connection, product_id: UUID) -> None:
    if not await queries.lock_product(conn, product_id):
        raise ProductNotFound(f"no product {product_id}")


async def _placed(db: Database, row: asyncpg.Record, cdn_url: str) -> PlacedImage:
    ready = await pictures(db, [row["media_id"]], cdn_url)
    return PlacedImage(
        id=row["id"],
        product_id=row["product_id"],
        media_id=row["media_id"],
        alt=row["alt"],
        position=row["position"],
        picture=ready.get(row["media_id"]),
    )


async def _changed(cache: Cache, *product_ids: UUID) -> None:
    await cache.invalidate(*(product_cache_key(p) for p in product_ids))  # Redis down: the cache fences
    await cache.bump(LISTING)  # a thumbnail may have changed


async def add_image(
    db: Database, cache: Cache, product_id: UUID, body: ImageCreate, cdn_url: str
) -> PlacedImage:
    """Place a media on the product at `body.position` (by default after the last). A media
    still processing is accepted and shows once it is ready; one that failed is refused."""
    status = await media_status(db, body.media_id)
    if status is None:
        raise _unknown_media(body.media_id)
    if status is MediaStatus.FAILED:
        raise MediaFailed(
            f"media {body.media_id} failed to process; upload the image again",
            errors=[{"field": "media_id", "message": "failed"}],
        )
    try:
        async with db.transaction() as conn:
            await _lock(conn, product_id)
            count = await queries.count_images(conn, product_id)
            if count >= MAX_IMAGES:
                raise TooManyImages(f"a product has at most {MAX_IMAGES} images; remove one first")
            position = count if body.position is None else min(body.position, count)
            row = await queries.insert_image(conn, product_id, body.media_id, body.alt, position)
    except asyncpg.ForeignKeyViolationError:  # the media was deleted since its status was read
        raise _unknown_media(body.media_id) from None
    await _changed(cache, product_id)
    return await _placed(db, row, cdn_url)


async def update_image(
    db: Database, cache: Cache, key: ImageKey, body: ImageUpdate, cdn_url: str
) -> PlacedImage:
    """Change an image's alt text or move it (the others close up or make room); a position
    past the last means the last."""
    changes = body.changes()
    async with db.transaction() as conn:
        await _lock(conn, key.product_id)
        image = await queries.fetch_image(conn, key.product_id, key.image_id)
        if image is None:
            raise ImageNotFound(f"product {key.product_id} has no image {key.image_id}")
        old = new = image["position"]
        if "position" in changes:
            new = min(changes["position"], await queries.count_images(conn, key.product_id) - 1)
        row = await queries.update_image(conn, key.product_id, key.image_id, old, new, changes.get("alt"))
    await _changed(cache, key.product_id)
    return await _placed(db, row, cdn_url)


async def remove_image(db: Database, cache: Cache, key: ImageKey) -> None:
    """Take an image off its product (the media stays); the ones after it close up."""
    async with db.transaction() as conn:
        await _lock(conn, key.product_id)
        if not await queries.delete_image(conn, key.product_id, key.image_id):
            raise ImageNotFound(f"product {key.product_id} has no image {key.image_id}")
    await _changed(cache, key.product_id)


async def media_changed(db: Executor, cache: Cache, media_ids: Collection[UUID]) -> None:
    """Drop the cached documents of the products showing any of `media_ids`, and every
    listing page if there are any (their thumbnails)."""
    if not media_ids:
        return
    if products := await queries.fetch_products_showing(db, media_ids):
        await _changed(cache, *products)
