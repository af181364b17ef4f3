"""The media component's SQL: its rows in `media` and `product_images`."""

from __future__ import annotations

from collections.abc import Collection
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
