"""Pictures for the demo shop, drawn here (no files to ship) and put through the same upload
and worker pipeline as any other image."""

from __future__ import annotations

import asyncio
import colorsys
from collections.abc import AsyncIterator, Sequence
from uuid import UUID

import pyvips
from arq.connections import ArqRedis

from ..platform.db import Database
from . import service
from .storage import Storage

SIZE = 800
GOLDEN = 0.381966  # hues this far apart never repeat and stay distinct


def _rgb(hue: float, lightness: float, saturation: float) -> list[int]:
    return [round(255 * c) for c in colorsys.hls_to_rgb(hue, lightness, saturation)]


def draw(n: int, size: int = SIZE) -> bytes:
    """The `n`th picture: a shaded circle, box or triangle with a soft shadow on a tinted
    ground, as a JPEG."""
    hue = (n * GOLDEN) % 1
    xyz = pyvips.Image.xyz(size, size)
    x, y = xyz[0], xyz[1]
    c, r = size / 2, size * 0.3
    masks = (
        ((x - c) ** 2 + (y - c) ** 2) < r * r,
        ((x - c).abs() < r) & ((y - c).abs() < r * 0.8),
        ((y - (c - r)) > (x - c).abs() * 1.6) & (y < c + r),
    )
    mask = masks[n % len(masks)]
    small = mask.resize(1 / 8)  # the shadow is blurred small: a large blur at full size is slow
    shadow = small.embed(4, 6, small.width, small.height).gaussblur(3).resize(8) * (0.35 / 255)
    light = (pyvips.Image.xyz(size, 1)[0] / size).replicate(1, size)  # from the left
    ground = pyvips.Image.black(size, size, bands=3).new_from_image(_rgb(hue, 0.93, 0.35)) * (1 - shadow)
    fill = pyvips.Image.black(size, size, bands=3).new_from_image(_rgb(hue, 0.55, 0.65)) * (
        1.15 - 0.35 * light
    )
    image = mask.ifthenelse(fill, ground).cast("uchar").copy(interpretation="srgb")
    return bytes(image.jpegsave_buffer(Q=88))


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def upload_pictures(
    db: Database, queue: ArqRedis, storage: Storage, names: Sequence[str], max_bytes: int
) -> list[UUID]:
    """Draw a picture for each name and upload it (its alt text the name); the media ids,
    processing in the workers."""
    ids = []
    for n, name in enumerate(names):
        data = await asyncio.to_thread(draw, n)
        async with storage.spool(_once(data), max_bytes) as spooled:
            ids.append(await service.upload(db, queue, storage, spooled, name, None))
    return ids
