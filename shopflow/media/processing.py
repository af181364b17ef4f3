"""An original into its ladder of variants with pyvips; synchronous, for a worker thread.

1. Check before any decode: the magic bytes (`sniff`), then a lazy header-only open that
   must pick the loader those bytes name, with at most `max_pixels` pixels (AVIF and HEIF,
   decoded whole, `max_heif_pixels`) and `max_frames` frames. A bomb costs a header read.
2. Decode once into the largest rung (shrink-on-load for JPEG and WebP), upright for all
   eight EXIF orientations, converted to sRGB from CMYK or any embedded profile, 8-bit,
   alpha kept; an animation gives its first frame.
3. Each rung is resized from that image and encoded as AVIF, WebP and progressive JPEG
   (flattened on white: JPEG has no alpha), every one with all metadata dropped. libvips'
   encoders are single-threaded and pyvips releases the GIL, so a few threads encode at once.
4. A ThumbHash of a 100 px version is the placeholder.

Every libvips failure leaves as a `MediaError` with a stable code; the output is the same
bytes for the same original and ladder, so a job that runs twice writes the same variants.
"""

from __future__ import annotations

import base64
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypedDict

import pyvips

from .failures import MediaError, MediaErrorCode
from .ladder import Ladder, Processed, Variant, VariantFormat, plan_widths
from .sniff import SNIFF_BYTES, ImageType, sniff
from .thumbhash import MAX_SIDE as THUMBHASH_SIDE
from .thumbhash import rgba_to_thumbhash

# The one libvips loader each sniffed type may be read by: nothing else ever parses an upload.
LOADERS: dict[ImageType, str] = {
    ImageType.JPEG: "jpegload_buffer",
    ImageType.PNG: "pngload_buffer",
    ImageType.WEBP: "webpload_buffer",
    ImageType.GIF: "gifload_buffer",
    ImageType.AVIF: "heifload_buffer",
    ImageType.HEIF: "heifload_buffer",
    ImageType.TIFF: "tiffload_buffer",
}
# Types whose shrink-on-load decodes the same pixels at a smaller scale. libvips' thumbnail
# would read HEIF's embedded thumbnail and a TIFF's pyramid pages instead: content an
# uploader controls separately from the image itself, so those are resized from the image.
_SHRINK_ON_LOAD = frozenset({ImageType.JPEG, ImageType.WEBP})
_DECODED_WHOLE = frozenset({ImageType.AVIF, ImageType.HEIF})  # so held to ladder.max_heif_pixels
_UNBOUNDED = 10_000_000  # libvips' largest coordinate: a height that never binds a width-led resize
_ORIENTATIONS_ACROSS = frozenset({5, 6, 7, 8})  # the EXIF orientations that swap width and height
# Relative encoding cost per pixel, to start the slowest encodes first (measured at effort 2).
_COST = {VariantFormat.AVIF: 20, VariantFormat.WEBP: 6, VariantFormat.JPEG: 1}
_WHITE = [255.0, 255.0, 255.0]
_NOISE = ("source: bad seek", "unable to ")  # libvips' retry and wrapper lines in an error


class _Profile(TypedDict, total=False):
    output_profile: str


@dataclass(frozen=True)
class _Header:
    kind: ImageType
    width: int  # upright, after the EXIF orientation
    height: int
    has_profile: bool
    codec: str | None  # HEIF's: "av1" (AVIF) or "hevc" (HEIC)


def process(original: bytes, ladder: Ladder, *, threads: int | None = None) -> Processed:
    """The variants and placeholder of an original, or MediaError; `threads` encode at once."""
    # Default: one encoder per CPU, at most 4 (libaom already threads inside one encode).
    _configure_libvips()
    header = _read_header(original, ladder)
    widths = plan_widths(header.width, header.height, ladder)
    if not widths:
        raise MediaError(
            MediaErrorCode.UNSUPPORTED_DIMENSIONS,
            f"{header.width}x{header.height} is too tall and narrow for any variant",
        )
    master = _decode(original, header, widths[-1])
    try:
        rungs = [_resized(master, w) for w in widths]
        variants = _encode_all(rungs, ladder, threads or min(4, os.cpu_count() or 1))
        placeholder = _placeholder(master)
    except pyvips.Error as e:
        raise MediaError(MediaErrorCode.ENCODE_FAILED, _describe(e)) from e
    return Processed(header.width, header.height, placeholder, variants)


@functools.cache
def _configure_libvips() -> None:
    # No loader marked untrusted (SVG, and whatever else libvips marks) ever runs in this
    # process, and long-running workers keep no operation cache of past images.
    pyvips.block_untrusted_set(True)
    pyvips.cache_set_max(0)


def _read_header(original: bytes, ladder: Ladder) -> _Header:
    kind = sniff(original[:SNIFF_BYTES])
    if kind is None:
        raise MediaError(MediaErrorCode.UNSUPPORTED_FORMAT, "not a JPEG, PNG, WebP, GIF, AVIF, HEIF or TIFF")
    try:
        image = pyvips.Image.new_from_buffer(original, "", access="sequential", fail_on="error")
    except pyvips.Error as e:
        raise MediaError(MediaErrorCode.CORRUPT_IMAGE, _describe(e)) from e
    loader = _str_field(image, "vips-loader")
    if loader != LOADERS[kind]:
        raise MediaError(MediaErrorCode.UNSUPPORTED_FORMAT, f"{kind} by its magic bytes, read by {loader}")
    width, height = image.width, image.height
    limit = ladder.max_heif_pixels if kind in _DECODED_WHOLE else ladder.max_pixels
    if width * height > limit:
        raise MediaError(MediaErrorCode.IMAGE_TOO_LARGE, f"{width}x{height} {kind} is over {limit:,} pixels")
    frames = _int_field(image, "n-pages", 1)
    if frames > ladder.max_frames:
        raise MediaError(MediaErrorCode.TOO_MANY_FRAMES, f"{frames} frames, over {ladder.max_frames}")
    if _int_field(image, "orientation", 1) in _ORIENTATIONS_ACROSS:
        width, height = height, width
    has_profile = bool(image.get_typeof("icc-profile-data"))
    return _Header(kind, width, height, has_profile, _str_field(image, "heif-compression"))


def _decode(original: bytes, header: _Header, width: int) -> pyvips.Image:
    """The image at `width`, upright, sRGB, 8 bits a band, with or without alpha, in memory."""
    # An untagged image is taken as sRGB already: the profile transform costs more than the
    # decode, so it runs only for images that carry a profile (CMYK without one is converted
    # from libvips' built-in CMYK profile either way).
    profile = _Profile(output_profile="srgb") if header.has_profile else _Profile()
    try:
        if header.kind in _SHRINK_ON_LOAD:
            # The loader's fail_on, through option_string: thumbnail's own fail_on does not
            # reach a shrinking JPEG load in libvips 8.18, and a truncated file would pass.
            image = pyvips.Image.thumbnail_buffer(
                original, width, option_string="fail_on=error", height=_UNBOUNDED, size="down", **profile
            )
        else:
            image = pyvips.Image.new_from_buffer(original, "", access="sequential", fail_on="error")
            image = image.thumbnail_image(width, height=_UNBOUNDED, size="down", **profile)
        image = _srgb8(image)
        if image.bands not in (3, 4):
            raise MediaError(MediaErrorCode.UNSUPPORTED_FORMAT, f"{image.bands} bands after sRGB conversion")
        return image.copy_memory()
    except pyvips.Error as e:
        # pyvips-binary has no HEVC decoder (patents): a phone's HEIC is a format this build
        # cannot read, not a broken file, and the uploader needs to hear which.
        code = MediaErrorCode.UNSUPPORTED_FORMAT if header.codec == "hevc" else MediaErrorCode.CORRUPT_IMAGE
        raise MediaError(code, _describe(e)) from e


def _srgb8(image: pyvips.Image) -> pyvips.Image:
    """sRGB (with alpha if any), 8 bits a band, from greyscale, 16-bit or any other space."""
    if image.interpretation != "srgb":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _resized(master: pyvips.Image, width: int) -> pyvips.Image:
    if width == master.width:
        return master
    return master.thumbnail_image(width, height=_UNBOUNDED, no_rotate=True).copy_memory()


def _encode_all(rungs: list[pyvips.Image], ladder: Ladder, threads: int) -> list[Variant]:
    """Every rung in every format, ordered by width then format; slowest encodes start first."""
    jobs = [(rung, fmt) for rung in rungs for fmt in VariantFormat]
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i][0].width * jobs[i][0].height * _COST[jobs[i][1]])

    def encode(i: int) -> bytes:
        return _encode(*jobs[i], ladder)

    if threads > 1:
        with ThreadPoolExecutor(threads, thread_name_prefix="media-encode") as pool:
            done = dict(zip(order, pool.map(encode, order), strict=True))
    else:
        done = {i: encode(i) for i in order}
    return [Variant(rung.width, rung.height, fmt, done[i]) for i, (rung, fmt) in enumerate(jobs)]


def _encode(image: pyvips.Image, fmt: VariantFormat, ladder: Ladder) -> bytes:
    # keep="none": no EXIF (GPS, camera), XMP, IPTC or ICC profile leaves; the pixels are sRGB.
    if fmt is VariantFormat.AVIF:
        return image.heifsave_buffer(
            compression="av1", Q=ladder.avif_quality, effort=ladder.avif_effort, bitdepth=8, keep="none"
        )
    if fmt is VariantFormat.WEBP:
        return image.webpsave_buffer(Q=ladder.webp_quality, effort=4, keep="none")
    if image.bands == 4:
        image = image.flatten(background=_WHITE)
    return image.jpegsave_buffer(Q=ladder.jpeg_quality, interlace=True, optimize_coding=True, keep="none")


def _placeholder(master: pyvips.Image) -> str:
    small = master.thumbnail_image(THUMBHASH_SIDE, height=THUMBHASH_SIDE, no_rotate=True)
    if small.bands == 3:
        small = small.bandjoin(255)
    thumbhash = rgba_to_thumbhash(small.width, small.height, bytes(small.write_to_memory()))
    return base64.b64encode(thumbhash).decode("ascii")


def _int_field(image: pyvips.Image, name: str, default: int) -> int:
    value = image.get(name) if image.get_typeof(name) else default
    return value if isinstance(value, int) else default


def _str_field(image: pyvips.Image, name: str) -> str | None:
    value = image.get(name) if image.get_typeof(name) else None
    return value if isinstance(value, str) else None


def _describe(error: pyvips.Error) -> str:
    """libvips' own words, less its retries and wrappers, short enough for a media row."""
    lines = [line.strip() for line in f"{error.detail}\n{error.message}".splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(_NOISE)] or lines
    return "; ".join(dict.fromkeys(useful))[:300] or "libvips failed"
