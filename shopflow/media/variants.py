"""Making an original's variants: the worker's part of the media component.

The job may run twice, or after a crash half-way: the variants' keys derive from the
original's hash and the ladder's digest, so a second run writes the same bytes under the
same keys, and the row says `ready` only once every variant is stored. No transaction is
open while pixels are worked on.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from ..platform.db import Database
from . import queries
from .failures import MediaError
from .ladder import Ladder, original_key, variant_key
from .models import MediaStatus
from .processing import process
from .storage import Storage

PUTS_AT_ONCE = 8  # variants sent to storage together


async def make_variants(db: Database, storage: Storage, ladder: Ladder, media_id: UUID) -> MediaStatus | None:
    """Make and store the ladder's variants of one media's original; its status after, None if
    it was deleted meanwhile. Done already with this ladder: nothing to do."""
    row = await queries.fetch_media(db, media_id)
    if row is None:
        return None
    if row["ladder"] == ladder.digest and row["status"] != MediaStatus.PROCESSING:
        return MediaStatus(row["status"])
    sha = row["sha256"]
    original = await storage.get(original_key(sha))
    try:
        made = await asyncio.to_thread(process, original, ladder)
    except MediaError as e:
        await queries.set_failed(db, media_id, ladder.digest, e.code, e.detail)
        return MediaStatus.FAILED
    listed, puts = [], []
    for v in made.variants:
        key = variant_key(sha, ladder.digest, v.width, v.format)
        listed.append(
            {"width": v.width, "height": v.height, "format": v.format, "key": key, "bytes": len(v.data)}
        )
        puts.append((key, v.data, v.format.mime))
    for start in range(0, len(puts), PUTS_AT_ONCE):
        await asyncio.gather(*(storage.put(*put) for put in puts[start : start + PUTS_AT_ONCE]))
    before = await queries.set_ready(
        db, media_id, ladder.digest, made.width, made.height, made.placeholder, listed
    )
    if (
        before is not None
        and before["ladder"] not in (None, ladder.digest)  # reprocessed: the old ones go
        and not await queries.ladder_in_use(db, sha, before["ladder"], media_id)
    ):
        await storage.delete(v["key"] for v in before["variants"])
    return MediaStatus.READY
