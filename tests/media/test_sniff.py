"""`sniff`: the allowed types by their magic bytes, and nothing else."""

from __future__ import annotations

import struct

import pytest

from shopflow.media.sniff import SNIFF_BYTES, ImageType, sniff
from tests.media.corpus import RED, solid


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    """An ISO-BMFF file's first box, as AVIF, HEIF and MP4 files start."""
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 4 + len(body)) + body + b"\x00\x00\x00\x08mdat"


ENCODED = {
    ImageType.JPEG: lambda i: i.jpegsave_buffer(),
    ImageType.PNG: lambda i: i.pngsave_buffer(),
    ImageType.WEBP: lambda i: i.webpsave_buffer(),
    ImageType.GIF: lambda i: i.gifsave_buffer(),
    ImageType.AVIF: lambda i: i.heifsave_buffer(compression="av1"),
    ImageType.TIFF: lambda i: i.tiffsave_buffer(),
}


@pytest.mark.parametrize("kind", list(ENCODED))
def test_an_encoded_image_is_named_by_its_first_bytes(kind: ImageType) -> None:
    data = ENCODED[kind](solid(16, 16, RED))
    assert sniff(data[:SNIFF_BYTES]) is kind
    assert kind.mime == f"image/{kind.value}"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ImageType.JPEG),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ImageType.PNG),
        (b"GIF87a\x01\x00\x01\x00", ImageType.GIF),
        (b"GIF89a\x01\x00\x01\x00", ImageType.GIF),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", ImageType.WEBP),
        (b"RIFF\x24\x00\x00\x00WEBPVP8L", ImageType.WEBP),
        (b"RIFF\x24\x00\x00\x00WEBPVP8X", ImageType.WEBP),
        (ftyp(b"avif", b"mif1", b"miaf"), ImageType.AVIF),
        (ftyp(b"avis", b"msf1", b"avif"), ImageType.AVIF),
        (ftyp(b"mif1", b"avif", b"miaf"), ImageType.AVIF),
        (ftyp(b"heic", b"mif1", b"heic"), ImageType.HEIF),
        (ftyp(b"heix", b"mif1"), ImageType.HEIF),
        (ftyp(b"mif1", b"heic"), ImageType.HEIF),
        (ftyp(b"msf1", b"hevc"), ImageType.HEIF),
        (b"II*\x00\x08\x00\x00\x00", ImageType.TIFF),
        (b"MM\x00*\x00\x00\x00\x08", ImageType.TIFF),
    ],
)
def test_every_allowed_signature(head: bytes, kind: ImageType) -> None:
    assert sniff(head) is kind


@pytest.mark.parametrize(
    "head",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",  # a ZIP (or .docx, .jar) renamed photo.jpg
        b"%PDF-1.7\n",
        b"<!DOCTYPE html><html><script>alert(1)</script>",
        b"BM\x36\x00\x0c\x00\x00\x00",  # BMP
        b"\x00\x00\x01\x00\x01\x00",  # ICO
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"RIFF\x24\x00\x00\x00WEBPJUNK",
        ftyp(b"isom", b"iso2", b"mp41"),  # an MP4 video
        ftyp(b"jxl "),
        b"\x00\x00\x00\x0cftypavif",  # a box too short to hold its brands
        b"\xff\xd8",
        b"GIF8",
        b"",
    ],
)
def test_anything_else_is_none(head: bytes) -> None:
    assert sniff(head) is None


def test_a_brand_past_the_ftyp_box_does_not_count() -> None:
    head = ftyp(b"isom", b"mp41") + b"avif"
    assert sniff(head) is None
