"""The variant ladder: which widths and encodings exist, their records, and their storage keys.

Keys are content-addressed: the original's SHA-256, then a digest of the ladder's output
parameters, so every stored object is immutable and a settings change makes new keys
instead of overwriting what caches already hold.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..platform.settings import Settings

# Bump when the pipeline's output changes for the same ladder (a new resampler, say), so
# reprocessing writes new keys instead of replacing bytes behind immutable URLs.
PIPELINE_VERSION = 1
# WebP's limit on either side; AVIF and JPEG allow more, but every variant has all three.
MAX_VARIANT_SIDE = 16383

_SHA256 = re.compile(r"[0-9a-f]{64}")
_DIGEST = re.compile(r"[0-9a-f]{12}")


class VariantFormat(StrEnum):
    """The encodings every ladder width is made in, best first (the order of `<source>`s)."""

    AVIF = "avif"
    WEBP = "webp"
    JPEG = "jpeg"

    @property
    def mime(self) -> str:
        return f"image/{self.value}"

    @property
    def extension(self) -> str:
        return "jpg" if self is VariantFormat.JPEG else self.value


DEFAULT_WIDTHS = (160, 320, 480, 640, 960, 1280, 1600, 1920, 2560)


@dataclass(frozen=True)
class Ladder:
    """The widths and encoder settings every image is processed with, and the limits it must meet."""

    widths: tuple[int, ...] = DEFAULT_WIDTHS
    avif_quality: int = 52
    avif_effort: int = 2  # libvips' default 4 costs ~4.5x the time for ~16 % fewer bytes
    webp_quality: int = 78
    jpeg_quality: int = 80
    max_pixels: int = 50_000_000
    # AVIF and HEIF are decoded whole (libheif), at ~15 bytes a pixel with the encoders' share:
    # 28 MP peaks near 450 MB, where a streamed 50 MP JPEG stays under 400.
    max_heif_pixels: int = 28_000_000
    # Only the first frame is ever decoded, so frames cost no pixels; the cap bounds the header
    # scan of hostile files. 360-degree product spins run to 24-72 frames, promo loops to a
    # few hundred; 500 frames is 20 s at 25 fps.
    max_frames: int = 500
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        widths = self.widths
        if not widths or list(widths) != sorted(set(widths)) or widths[0] < 1:
            raise ValueError("ladder widths must be positive, unique and ascending")
        if widths[-1] > MAX_VARIANT_SIDE:
            raise ValueError(f"ladder widths must be at most {MAX_VARIANT_SIDE}")
        for name in ("avif_quality", "webp_quality", "jpeg_quality"):
            if not 1 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must be between 1 and 100")
        if not 0 <= self.avif_effort <= 9:
            raise ValueError("avif_effort must be between 0 and 9")
        if min(self.max_pixels, self.max_heif_pixels, self.max_frames) < 1:
            raise ValueError("max_pixels, max_heif_pixels and max_frames must be positive")
        object.__setattr__(self, "digest", self._digest())

    def _digest(self) -> str:
        # Only what changes the output bytes: a new limit must not re-key every variant.
        params = (
            f"v{PIPELINE_VERSION};w={','.join(map(str, self.widths))};avif={self.avif_quality},"
            f"{self.avif_effort};webp={self.webp_quality};jpeg={self.jpeg_quality}"
        )
        return hashlib.sha256(params.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Variant:
    """One encoded image of the ladder."""

    width: int
    height: int
    format: VariantFormat
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Processed:
    """What processing an original gives: its upright size, a ThumbHash placeholder, the variants."""

    width: int
    height: int
    placeholder: str  # base64 ThumbHash of the upright, sRGB image
    variants: list[Variant]


def ladder_of(settings: Settings) -> Ladder:
    """The ladder the settings name (`media_widths`, the qualities and limits)."""
    return Ladder(
        widths=settings.media_widths,
        avif_quality=settings.media_avif_quality,
        avif_effort=settings.media_avif_effort,
        webp_quality=settings.media_webp_quality,
        jpeg_quality=settings.media_jpeg_quality,
        max_pixels=settings.media_max_pixels,
        max_heif_pixels=settings.media_max_heif_pixels,
        max_frames=settings.media_max_frames,
    )


def plan_widths(width: int, height: int, ladder: Ladder) -> tuple[int, ...]:
    """The widths an upright width x height image is made in; empty if none fits an encoder."""
    # Every rung no wider than the image, or its own width when it is narrower than them all.
    rungs = [w for w in ladder.widths if w <= width] or [width]
    # Heights rounded up and kept strictly under the limit: the resizer's rounding cannot cross it.
    return tuple(w for w in rungs if math.ceil(height * w / width) < MAX_VARIANT_SIDE)


def original_key(sha256: str) -> str:
    """The storage key of an original, by the SHA-256 (lower-case hex) of its bytes."""
    return f"originals/{_checked(sha256, _SHA256, 'sha256')}"


def variant_key(original_sha256: str, ladder_digest: str, width: int, fmt: VariantFormat) -> str:
    """The storage key of one variant: `variants/<sha256>/<ladder digest>/<width>.<ext>`."""
    sha = _checked(original_sha256, _SHA256, "sha256")
    digest = _checked(ladder_digest, _DIGEST, "ladder digest")
    if not 1 <= width <= MAX_VARIANT_SIDE:
        raise ValueError(f"variant width out of range: {width}")
    return f"variants/{sha}/{digest}/{width}.{VariantFormat(fmt).extension}"


def _checked(value: str, pattern: re.Pattern[str], what: str) -> str:
    # Keys become file paths in local storage: nothing but the expected hex gets in.
    if not pattern.fullmatch(value):
        raise ValueError(f"not a {what}: {value!r}")
    return value
