"""Making an original's variants: the worker's part of the media component.

The job may run twice, or after a crash half-way: the variants' keys derive from the
original's hash and the ladder's digest, so a second run writes the same bytes under the
same keys, and the row says `ready` only once every variant is stored. The same bytes
uploaded again take the variants already made. No transaction is open while pixels are
worked on.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from ..platform.db import Database
from . import queries
from .failures import MediaError, MediaErrorCode
from .ladder import Ladder, Processed, original_key, variant_key
from .models import MediaStatus
from .processing import process
from .storage import ObjectMissing, Storage

PUTS_AT_ONCE = 8  # variants sent to storage together


async def make_variants(db: Database, storage: Storage, ladder: Ladder, media_id: UUID) -> MediaStatus | None:
    """Make and store the ladder's variants of one media's original; its status after, None if
    it was deleted meanwhile. Ready with this ladder already: nothing to do."""
    row = await queries.fetch_media(db, media_id)
    if row is None:
        return None
    if row["ladder"] == ladder.digest and row["status"] == MediaStatus.READY:
        return MediaStatus.READY
    sha = row["sha256"]
    if twin := await queries.fetch_twin(db, sha, ladder.digest, media_id):
        listed = list(twin["variants"])
        made = Processed(twin["width"], twin["height"], twin["placeholder"], [])
    else:
        try:
            original = await storage.get(original_key(sha))
            made = await asyncio.to_thread(process, original, ladder)
        except ObjectMissing:
            return await _failed(
                db, media_id, ladder, MediaError(MediaErrorCode.ORIGINAL_MISSING, "not in storage")
            )
        except MediaError as e:
            return await _failed(db, media_id, ladder, e)
        listed = await _store(storage, sha, ladder, made)
    before = await queries.set_ready(
        db, media_id, ladder.digest, made.width, made.height, made.placeholder, listed
    )
    if before is None:  # deleted while it was made: what only it used goes too
        if not await queries.ladder_in_use(db, sha, ladder.digest, media_id):
            await storage.delete(v["key"] for v in listed)
        return None
    if (
        before["ladder"] not in (None, ladder.digest)  # made anew: the old ones go
        and not await queries.ladder_in_use(db, sha, before["ladder"], media_id)
    ):
        await storage.delete(v["key"] for v in before["variants"])
    return MediaStatus.READY


async def _store(storage: Storage, sha: str, ladder: Ladder, made: Processed) -> list[dict[str, Any]]:
    """Put the variants in storage; their records for the row."""
    listed, puts = [], []
    for v in made.variants:
        key = variant_key(sha, ladder.digest, v.width, v.format)
        listed.append(
            {"width": v.width, "height": v.height, "format": v.format, "key": key, "bytes": len(v.data)}
        )
        puts.append((key, v.data, v.format.mime))
    for start in range(0, len(puts), PUTS_AT_ONCE):
        await asyncio.gather(*(storage.put(*put) for put in puts[start : start + PUTS_AT_ONCE]))
    return listed


async def _failed(db: Database, media_id: UUID, ladder: Ladder, error: MediaError) -> MediaStatus:
    await queries.set_failed(db, media_id, ladder.digest, error.code, error.detail)
    return MediaStatus.FAILED
