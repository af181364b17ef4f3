"""A ready media's picture: the URLs and srcsets of its variants, as pages use them."""

from __future__ import annotations

import base64
import functools
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from .ladder import VariantFormat
from .models import Picture, Source
from .storage import public_url
from .thumbhash import thumbhash_to_rgba

# The `<img src>` for browsers that read no srcset: the widest JPEG up to this width.
FALLBACK_WIDTH = 1280
MODERN = (VariantFormat.AVIF, VariantFormat.WEBP)  # as `<source>`s, best first


def picture_of(
    width: int, height: int, placeholder: str, variants: Sequence[Mapping[str, Any]], cdn_url: str
) -> Picture:
    """The picture of a media made into `variants` (its row's `[{width, format, key, …}]`)."""
    srcsets: dict[VariantFormat, list[str]] = {fmt: [] for fmt in VariantFormat}
    jpegs: list[tuple[int, str]] = []
    for v in sorted(variants, key=lambda v: int(v["width"])):
        fmt, url = VariantFormat(v["format"]), public_url(v["key"], cdn_url)
        srcsets[fmt].append(f"{url} {v['width']}w")
        if fmt is VariantFormat.JPEG:
            jpegs.append((int(v["width"]), url))
    fallback = [url for w, url in jpegs if w <= FALLBACK_WIDTH] or [jpegs[0][1]]
    return Picture(
        width=width,
        height=height,
        placeholder=placeholder,
        url=fallback[-1],
        srcset=", ".join(srcsets[VariantFormat.JPEG]),
        sources=tuple(Source(f.mime, ", ".join(srcsets[f])) for f in MODERN),
    )


PLACEHOLDER_SIDE = 12  # pixels: the terms a ThumbHash holds need no more, and the browser smooths it


@functools.lru_cache(maxsize=8192)
def placeholder_url(placeholder: str) -> str:
    """The picture's ThumbHash as a small PNG `data:` URL, to show until the picture comes
    (about a millisecond to make, once per hash; a bad hash gives an empty string)."""
    try:
        width, height, rgba = thumbhash_to_rgba(
            base64.b64decode(placeholder, validate=True), PLACEHOLDER_SIDE
        )
    except (ValueError, IndexError, ZeroDivisionError):
        return ""
    rows = b"".join(b"\x00" + rgba[y * width * 4 : (y + 1) * width * 4] for y in range(height))
    png = b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in (
            (b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),  # 8-bit RGBA
            (b"IDAT", zlib.compress(rows, 9)),
            (b"IEND", b""),
        )
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
