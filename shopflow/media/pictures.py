"""A ready media's picture: the URLs and srcsets of its variants, as pages use them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .ladder import VariantFormat
from .models import Picture, Source
from .storage import public_url

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
