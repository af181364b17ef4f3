"""Test images, made here by pyvips or by hand byte by byte: the hostile corpus and its goldens."""

from __future__ import annotations

import struct
import zlib

import pyvips

RED, GREEN, BLUE, WHITE = (220, 30, 30), (30, 200, 40), (30, 40, 220), (250, 250, 250)


def solid(width: int, height: int, rgb: tuple[int, ...]) -> pyvips.Image:
    """One colour (three bands, or four with alpha), 8-bit sRGB."""
    image = pyvips.Image.black(width, height).new_from_image(list(rgb)).cast("uchar")
    return image.copy(interpretation="srgb")


def golden() -> pyvips.Image:
    """64x48, a different colour in each quadrant: every flip and turn of it looks different."""
    tl, tr, bl, br = (solid(32, 24, c) for c in (RED, GREEN, BLUE, WHITE))
    return pyvips.Image.arrayjoin([tl, tr, bl, br], across=2)


def photo(width: int, height: int) -> pyvips.Image:
    """Smooth colour fields with grain: compresses like a photograph, not like noise or flat fills."""
    bands = [pyvips.Image.perlin(width, height, cell_size=c, seed=s) for c, s in ((90, 1), (50, 2), (130, 3))]
    image = bands[0].bandjoin(bands[1:]) * 110 + 128 + pyvips.Image.gaussnoise(width, height, sigma=6)
    return image.cast("uchar").copy(interpretation="srgb")


def stored_for(orientation: int, upright: pyvips.Image) -> pyvips.Image:
    """What a camera stores so that EXIF `orientation`, applied, shows `upright` (EXIF 2.32, 4.6.4)."""
    # Each orientation says how to turn the stored pixels upright; store the inverse of that.
    inverse = {
        1: lambda i: i,
        2: lambda i: i.fliphor(),
        3: lambda i: i.rot180(),
        4: lambda i: i.flipver(),
        5: lambda i: i.rot90().fliphor(),  # transpose: its own inverse
        6: lambda i: i.rot270(),  # shown turned 90 degrees clockwise
        7: lambda i: i.rot270().fliphor(),  # transverse: its own inverse
        8: lambda i: i.rot90(),  # shown turned 90 degrees anticlockwise
    }[orientation](upright)
    stored = inverse.copy()
    stored.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return stored


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 40_000) -> bytes:
    """A valid ~200 KB PNG of side x side 1-bit pixels: 1.6 GB once decoded to bytes."""
    row = bytes(1 + side // 8)  # filter byte, then the packed row
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row * 1000) for _ in range(side // 1000)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale, not interlaced
    chunks = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def gif_frames(frames: int) -> bytes:
    """A looping 1x1 GIF of `frames` frames, 23 bytes each."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    control = b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # 0.1 s a frame
    pixel = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"  # LZW of one pixel
    return screen + loop + (control + pixel) * frames + b"\x3b"


# EXIF types: ASCII 2, LONG 4, RATIONAL 5, UNDEFINED 7, BYTE 1.
_TYPE_SIZES = {1: 1, 2: 1, 4: 4, 5: 8, 7: 1}


def _ifd(entries: list[tuple[int, int, int, bytes]], start: int, next_ifd: int = 0) -> bytes:
    """A little-endian TIFF IFD at offset `start`: values over 4 bytes follow it."""
    out_of_line = start + 2 + 12 * len(entries) + 4
    table, data = [struct.pack("<H", len(entries))], b""
    for tag, kind, count, value in entries:
        assert len(value) == _TYPE_SIZES[kind] * count
        if len(value) <= 4:
            table.append(struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00"))
        else:
            table.append(struct.pack("<HHII", tag, kind, count, out_of_line + len(data)))
            data += value + b"\x00" * (len(value) % 2)
    return b"".join(table) + struct.pack("<I", next_ifd) + data


def _rationals(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack("<II", n, d) for n, d in pairs)


def exif_with_gps(make: bytes) -> bytes:
    """An EXIF block (APP1 payload) naming a camera maker and a position: 51.5 N, 0.12 W."""
    method = b"ASCII\x00\x00\x00GPS-FIX"
    gps_entries = [
        (0x0000, 1, 4, b"\x02\x03\x00\x00"),  # GPSVersionID
        (0x0001, 2, 2, b"N\x00"),
        (0x0002, 5, 3, _rationals((51, 1), (30, 1), (0, 1))),
        (0x0003, 2, 2, b"W\x00"),
        (0x0004, 5, 3, _rationals((0, 1), (7, 1), (12, 1))),
        (0x001B, 7, len(method), method),  # GPSProcessingMethod
    ]
    make = make + b"\x00"
    ifd0_size = len(_ifd([(0x010F, 2, len(make), make), (0x8825, 4, 1, b"\x00" * 4)], 8))
    gps_at = 8 + ifd0_size + ifd0_size % 2
    ifd0 = _ifd([(0x010F, 2, len(make), make), (0x8825, 4, 1, struct.pack("<I", gps_at))], 8)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0.ljust(gps_at - 8, b"\x00") + _ifd(gps_entries, gps_at)
    return b"Exif\x00\x00" + tiff


def xmp_with_gps() -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.0N"'
        b' exif:GPSLongitude="0,7.2W"/></rdf:RDF></x:xmpmeta>'
    )


def jpeg_html_polyglot(jpeg: bytes, html: bytes) -> bytes:
    """A JPEG that is also an HTML page: the markup in a comment segment and again after the end."""
    comment = b"\xff\xfe" + struct.pack(">H", len(html) + 2) + html
    return jpeg[:2] + comment + jpeg[2:] + html


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, version: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24) + payload)


def heic(width: int, height: int, coded: bytes = bytes(range(200))) -> bytes:
    """A HEIF whose one image is HEVC-coded (`coded` stands in for the stream), as phones make."""
    hvcc = _box(  # HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3): Main profile, no arrays
        b"hvcC",
        bytes([1, 1])
        + struct.pack(">I", 0x60000000)
        + bytes(6)
        + bytes([90])
        + struct.pack(">H", 0xF000)
        + bytes([0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F, 0]),
    )
    ispe = _full_box(b"ispe", 0, struct.pack(">II", width, height))
    ipma = _full_box(b"ipma", 0, struct.pack(">IHB", 1, 1, 2) + bytes([0x81, 0x02]))  # item 1: hvcC, ispe
    infe = _full_box(b"infe", 2, struct.pack(">HH", 1, 0) + b"hvc1\x00")
    items = (
        _full_box(b"hdlr", 0, bytes(4) + b"pict" + bytes(13))
        + _full_box(b"pitm", 0, struct.pack(">H", 1))
        + _full_box(b"iinf", 0, struct.pack(">H", 1) + infe)
        + _box(b"iprp", _box(b"ipco", hvcc + ispe) + ipma)
    )

    def iloc(at: int) -> bytes:  # 4-byte offsets and lengths; one extent
        return _full_box(
            b"iloc", 0, bytes([0x44, 0x40]) + struct.pack(">HHHIHII", 1, 1, 0, 0, 1, at, len(coded))
        )

    ftyp = _box(b"ftyp", b"heic" + bytes(4) + b"mif1heic")
    at = len(ftyp) + len(_full_box(b"meta", 0, iloc(0) + items)) + 8
    return ftyp + _full_box(b"meta", 0, iloc(at) + items) + _box(b"mdat", coded)
