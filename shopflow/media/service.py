"""The media component's rules: an upload kept once and queued for the workers, media read,
listed, deleted and made anew after a ladder change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import asyncpg
from arq.connections import ArqRedis

from ..platform.db import Database
from ..platform.outbox import enqueue_job, queue_job
from ..platform.pagination import decode_cursor, encode_cursor
from . import queries
from .errors import MediaInUse, MediaNotFound, NotAnImage
from .ladder import Ladder, VariantFormat, original_key
from .models import Failure, Media, MediaStatus, VariantRef
from .pictures import picture_of
from .sniff import sniff
from .storage import Spooled, Storage, public_url

REPROCESS_BATCH = 500


async def upload(
    db: Database, queue: ArqRedis, storage: Storage, spooled: Spooled, alt: str, created_by: UUID | None
) -> UUID:
    """Keep an upload's bytes (once, by their hash) and queue them for processing, in the
    same transaction as the media row; its id. 415 unless the bytes begin as an image we take."""
    kind = sniff(spooled.head)
    if kind is None:
        raise NotAnImage("the file is not a JPEG, PNG, WebP, GIF, AVIF, HEIF or TIFF image")
    await storage.keep(spooled)  # outside the transaction: a 25 MB write to S3 takes a while
    async with db.transaction() as conn:
        await queries.lock_bytes(conn, spooled.sha256)
        if not await storage.exists(original_key(spooled.sha256)):
            await storage.keep(spooled)  # a delete of the same bytes removed them meanwhile
        media_id = await queries.insert_media(conn, spooled.sha256, kind.mime, spooled.size, alt, created_by)
        job_id = await queue_job(conn, "process_media", str(media_id))
    await enqueue_job(queue, job_id)
    return media_id


async def get_media(db: Database, media_id: UUID, cdn_url: str) -> Media:
    row = await queries.fetch_media(db, media_id)
    if row is None:
        raise MediaNotFound(f"no media {media_id}")
    return media_of(row, cdn_url)


async def list_media(
    db: Database, limit: int, cursor: str | None, cdn_url: str
) -> tuple[list[Media], str | None]:
    """A page of media, newest first, and the cursor of the next page (None at the end)."""
    after = None
    if cursor:  # an empty one is the first page, as in the catalog
        at, media_id = decode_cursor(cursor, (datetime, UUID))
        after = (at, media_id)
    rows = await queries.fetch_page(db, limit + 1, after)
    page = [media_of(r, cdn_url) for r in rows[:limit]]
    if len(rows) <= limit:
        return page, None
    last = rows[limit - 1]
    return page, encode_cursor([last["created_at"].isoformat(), str(last["id"])])


async def delete_media(db: Database, storage: Storage, media_id: UUID) -> None:
    """Delete a media that no product shows, and its bytes unless another media has the same."""
    try:
        async with db.transaction() as conn:
            row = await queries.delete_media(conn, media_id)
            if row is None:
                raise MediaNotFound(f"no media {media_id}")
            sha = row["sha256"]
            # Held while the bytes go, so an upload of the same bytes waits and then sees them gone.
            await queries.lock_bytes(conn, sha)
            if not await queries.bytes_in_use(conn, sha):
                await storage.delete([original_key(sha), *(v["key"] for v in row["variants"])])
            elif not await queries.ladder_in_use(conn, sha, row["ladder"], media_id):
                await storage.delete(v["key"] for v in row["variants"])
    except asyncpg.RestrictViolationError:
        raise MediaInUse("a product shows this media: remove it from the product first") from None


async def reprocess(
    db: Database,
    queue: ArqRedis,
    ladder: Ladder,
    media_ids: list[UUID] | None,
    progress: Callable[[int], None],
) -> int:
    """Queue the given media (or every one not made with `ladder`, or failed) to be made
    anew, in batches that commit as they go; stopped half-way, run it again to go on."""
    queued, after = 0, None
    while True:
        batch = (
            media_ids
            if media_ids is not None
            else await queries.fetch_outdated(db, ladder.digest, after, REPROCESS_BATCH)
        )
        if not batch:
            return queued
        async with db.transaction() as conn:
            jobs = [await queue_job(conn, "process_media", str(m)) for m in batch]
        for job_id in jobs:
            await enqueue_job(queue, job_id)
        queued += len(batch)
        progress(queued)
        if media_ids is not None:
            return queued
        after = batch[-1]


def media_of(row: asyncpg.Record, cdn_url: str) -> Media:
    """A media row as clients see it."""
    ready = row["status"] == MediaStatus.READY
    picture = (
        picture_of(row["width"], row["height"], row["placeholder"], row["variants"], cdn_url)
        if ready
        else None
    )
    return Media(
        id=row["id"],
        status=MediaStatus(row["status"]),
        error=Failure(row["error_code"], row["error_detail"]) if row["error_code"] else None,
        alt=row["alt"],
        content_type=row["content_type"],
        bytes=row["bytes"],
        width=row["width"],
        height=row["height"],
        placeholder=row["placeholder"],
        variants=tuple(
            VariantRef(
                v["width"], v["height"], VariantFormat(v["format"]), public_url(v["key"], cdn_url), v["bytes"]
            )
            for v in row["variants"]
        )
        if ready
        else (),
        url=picture.url if picture else None,
        srcset=picture.srcset if picture else None,
        sources=picture.sources if picture else (),
        created_at=row["created_at"],
    )
