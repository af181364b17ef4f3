"""What an upload is, from its first bytes alone: no pyvips, no file name, no Content-Type.

The web process answers 415 for anything `sniff` does not name, so SVG (scripts), PDF, HTML
and archives renamed `.jpg` never reach a decoder; the worker checks again before decoding.
"""

from __future__ import annotations

from enum import StrEnum

# Enough of the head for every signature below, an ISO-BMFF `ftyp` box with its brands included.
SNIFF_BYTES = 64

_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_WEBP_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"VP8X"})
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


class ImageType(StrEnum):
    """The image types an upload may be."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    GIF = "gif"
    AVIF = "avif"
    HEIF = "heif"
    TIFF = "tiff"

    @property
    def mime(self) -> str:
        return f"image/{self.value}"


def sniff(head: bytes) -> ImageType | None:
    """The allowed image type that `head` (the first SNIFF_BYTES or more) starts as, else None."""
    for magic, name in _SIGNATURES:
        if head.startswith(magic):
            return ImageType(name)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:16] in _WEBP_CHUNKS:
        return ImageType.WEBP
    return _sniff_isobmff(head)


def _sniff_isobmff(head: bytes) -> ImageType | None:
    """AVIF or HEIF from the `ftyp` box's major and compatible brands (ISO/IEC 14496-12 4.3)."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[:4], "big")
    if size < 16 or size % 4:
        return None
    end = min(size, len(head))
    # The major brand, then (after the 4-byte minor version) the compatible brands.
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return ImageType.AVIF
    if brands & _HEIF_BRANDS:
        return ImageType.HEIF
    return None
