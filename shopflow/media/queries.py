"""The media component's SQL: its rows in `media` (and the outbox jobs that process them)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ..platform.db import Executor


async def fetch_media(ex: Executor, media_id: UUID) -> asyncpg.Record | None:
    return await ex.fetchrow("SELECT * FROM media WHERE id = $1", media_id)


async def set_ready(
    ex: Executor,
    media_id: UUID,
    ladder: str,
    width: int,
    height: int,
    placeholder: str,
    variants: list[dict[str, Any]],
) -> asyncpg.Record | None:
    """Record the variants made with `ladder`; the row as it was before, if it still exists."""
    return await ex.fetchrow(
        "UPDATE media m SET status = 'ready', ladder = $2, width = $3, height = $4, placeholder = $5,"
        " variants = $6, error_code = NULL, error_detail = NULL, updated_at = now()"
        " FROM media old WHERE m.id = $1 AND old.id = m.id RETURNING old.ladder, old.variants",
        media_id,
        ladder,
        width,
        height,
        placeholder,
        variants,
    )


async def set_failed(ex: Executor, media_id: UUID, ladder: str, code: str, detail: str) -> None:
    await ex.execute(
        "UPDATE media SET status = 'failed', ladder = $2, error_code = $3, error_detail = $4,"
        " updated_at = now() WHERE id = $1",
        media_id,
        ladder,
        code,
        detail,
    )


async def ladder_in_use(ex: Executor, sha256: str, ladder: str, other_than: UUID) -> bool:
    """Whether another media row of the same bytes still lists the variants of `ladder`."""
    return bool(
        await ex.fetchval(
            "SELECT EXISTS (SELECT 1 FROM media WHERE sha256 = $1 AND ladder = $2 AND id <> $3)",
            sha256,
            ladder,
            other_than,
        )
    )


async def fetch_status(ex: Executor, media_id: UUID) -> str | None:
    return await ex.fetchval("SELECT status FROM media WHERE id = $1", media_id)  # type: ignore[no-any-return]


async def fetch_ready(ex: Executor, media_ids: Collection[UUID]) -> list[asyncpg.Record]:
    return await ex.fetch(
        "SELECT id, width, height, placeholder, variants FROM media"
        " WHERE id = ANY($1::uuid[]) AND status = 'ready'",
        list(media_ids),
    )


async def lock_bytes(conn: Executor, sha256: str) -> None:
    """Until the transaction ends, no other upload or delete of the same bytes goes on."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", f"media:{sha256}")


async def insert_media(
    ex: Executor, sha256: str, content_type: str, size: int, alt: str, created_by: UUID | None
) -> UUID:
    return await ex.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO media (sha256, content_type, bytes, alt, created_by) VALUES ($1, $2, $3, $4, $5)"
        " RETURNING id",
        sha256,
        content_type,
        size,
        alt,
        created_by,
    )


async def fetch_page(ex: Executor, limit: int, after: tuple[datetime, UUID] | None) -> list[asyncpg.Record]:
    """Newest first, from after `after` (created_at, id)."""
    if after is None:
        return await ex.fetch("SELECT * FROM media ORDER BY created_at DESC, id DESC LIMIT $1", limit)
    return await ex.fetch(
        "SELECT * FROM media WHERE (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $1",
        limit,
        *after,
    )


async def delete_media(conn: Executor, media_id: UUID) -> asyncpg.Record | None:
    """Delete the row (RestrictViolationError while a product shows it); what it named."""
    return await conn.fetchrow("DELETE FROM media WHERE id = $1 RETURNING sha256, ladder, variants", media_id)


async def bytes_in_use(ex: Executor, sha256: str) -> bool:
    return bool(await ex.fetchval("SELECT EXISTS (SELECT 1 FROM media WHERE sha256 = $1)", sha256))


async def fetch_twin(ex: Executor, sha256: str, ladder: str, other_than: UUID) -> asyncpg.Record | None:
    """Another media of the same bytes made ready with `ladder`: its variants are these too."""
    return await ex.fetchrow(
        "SELECT width, height, placeholder, variants FROM media"
        " WHERE sha256 = $1 AND ladder = $2 AND status = 'ready' AND id <> $3 LIMIT 1",
        sha256,
        ladder,
        other_than,
    )


async def fetch_outdated(ex: Executor, ladder: str, after: UUID | None, limit: int) -> list[UUID]:
    """Media not made with `ladder` (or failed), by id from after `after`, that no pending
    job will process already."""
    rows = await ex.fetch(
        "SELECT id FROM media m WHERE (ladder IS DISTINCT FROM $1 OR status = 'failed') AND id > $2"
        " AND NOT EXISTS (SELECT 1 FROM job_outbox j WHERE j.done_at IS NULL"
        " AND j.function = 'process_media' AND j.args ->> 0 = m.id::text)"
        " ORDER BY id LIMIT $3",
        ladder,
        after or UUID(int=0),
        limit,
    )
    return [r["id"] for r in rows]
