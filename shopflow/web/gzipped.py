"""A kept page gzipped once, into pieces that a visitor's own text is put between.

A guest's product page differs from the next guest's only in the form token. Compressing
the whole page for each answer would cost a thread hop and a deflate every time; instead
the page is split at the token's placeholder, each piece deflated once on its own (ending
in a full flush: byte-aligned, no reference back into an earlier piece), and an answer
joins the pieces with the token as a stored (uncompressed) block between them, then adds
gzip's header and trailer (the CRC-32 and length of the page as sent). RFC 1951 3.2.4,
RFC 1952 2.3.
"""

from __future__ import annotations

import struct
import zlib

LEVEL = 6
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, no time, unknown OS


def pieces(body: bytes, placeholder: bytes) -> tuple[bytes, ...]:
    """`body` split at `placeholder`, each piece raw-deflated on its own; the last one ends
    the stream."""
    parts = body.split(placeholder)
    packed = []
    for n, part in enumerate(parts):
        deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        end = zlib.Z_FINISH if n == len(parts) - 1 else zlib.Z_FULL_FLUSH
        packed.append(deflate.compress(part) + deflate.flush(end))
    return tuple(packed)


def _stored(text: bytes) -> bytes:
    """A non-final stored block (at a byte boundary, as a full flush leaves the stream)."""
    return b"".join(
        b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk
        for chunk in (text[i : i + 0xFFFF] for i in range(0, len(text), 0xFFFF))
    )


def join(packed: tuple[bytes, ...], text: bytes, plain: bytes) -> bytes:
    """The gzip stream of `plain`: the pieces with `text` stored between each two."""
    trailer = struct.pack("<II", zlib.crc32(plain), len(plain) & 0xFFFFFFFF)
    return HEADER + _stored(text).join(packed) + trailer
