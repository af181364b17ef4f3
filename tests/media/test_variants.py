"""The worker's part: an original's variants made with real pyvips into real storage, once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
import pyvips

from shopflow.media.ladder import Ladder, original_key
from shopflow.media.local import LocalStorage
from shopflow.media.models import MediaStatus
from shopflow.media.variants import make_variants
from shopflow.platform.db import Database
from shopflow.platform.settings import Settings

LADDER = Ladder(widths=(160, 320))


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = await Database.open(settings, min_size=1, max_size=2)
    yield db
    await db.pool.close()


def photo(width: int = 400, height: int = 300) -> bytes:
    image = pyvips.Image.xyz(width, height).extract_band(0).linear(0.5, 30).cast("uchar")
    return bytes(image.bandjoin([image, image]).copy(interpretation="srgb").jpegsave_buffer(Q=90))


async def uploaded(db: asyncpg.Connection, storage: LocalStorage, data: bytes) -> UUID:
    sha = hashlib.sha256(data).hexdigest()
    await storage.put(original_key(sha), data, "image/jpeg")
    return await db.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO media (sha256, content_type, bytes) VALUES ($1, 'image/jpeg', $2) RETURNING id",
        sha,
        len(data),
    )


async def variants_of(db: asyncpg.Connection, media_id: UUID) -> list[dict[str, object]]:
    return list(json.loads(await db.fetchval("SELECT variants FROM media WHERE id = $1", media_id)))


async def test_variants_are_made_once_and_the_media_becomes_ready(
    database: Database, db: asyncpg.Connection, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "media")
    media_id = await uploaded(db, storage, photo())
    assert await make_variants(database, storage, LADDER, media_id) == MediaStatus.READY
    row = await db.fetchrow("SELECT * FROM media WHERE id = $1", media_id)
    assert (row["status"], row["width"], row["height"], row["ladder"]) == ("ready", 400, 300, LADDER.digest)
    assert row["placeholder"]
    listed = await variants_of(db, media_id)
    assert sorted((v["width"], v["format"]) for v in listed) == sorted(
        (w, f) for w in (160, 320) for f in ("avif", "webp", "jpeg")
    )
    stored = {str(v["key"]): await storage.get(str(v["key"])) for v in listed}
    assert all(len(data) == v["bytes"] for v, data in zip(listed, stored.values(), strict=True))

    # Run again (a job delivered twice): nothing changes; with the row put back to processing
    # (a crash after storing), the same keys get the same bytes.
    assert await make_variants(database, storage, LADDER, media_id) == MediaStatus.READY
    await db.execute("UPDATE media SET status = 'processing' WHERE id = $1", media_id)
    assert await make_variants(database, storage, LADDER, media_id) == MediaStatus.READY
    again = await variants_of(db, media_id)
    assert again == listed and {str(v["key"]): await storage.get(str(v["key"])) for v in again} == stored


async def test_a_new_ladder_replaces_the_old_variants(
    database: Database, db: asyncpg.Connection, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "media")
    media_id = await uploaded(db, storage, photo())
    await make_variants(database, storage, LADDER, media_id)
    old = [str(v["key"]) for v in await variants_of(db, media_id)]
    wider = Ladder(widths=(160, 320, 400))
    assert await make_variants(database, storage, wider, media_id) == MediaStatus.READY
    assert await db.fetchval("SELECT ladder FROM media WHERE id = $1", media_id) == wider.digest
    assert not [key for key in old if await storage.exists(key)]


async def test_a_broken_original_fails_with_its_code(
    database: Database, db: asyncpg.Connection, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "media")
    media_id = await uploaded(db, storage, photo()[:2000])  # truncated
    assert await make_variants(database, storage, LADDER, media_id) == MediaStatus.FAILED
    row = await db.fetchrow("SELECT status, error_code FROM media WHERE id = $1", media_id)
    assert (row["status"], row["error_code"]) == ("failed", "corrupt_image")
    assert await make_variants(database, storage, LADDER, media_id) == MediaStatus.FAILED  # not again
