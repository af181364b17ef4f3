"""Opaque keyset cursors and the list envelope."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from .errors import Invalid


def encode_cursor(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).rstrip(b"=").decode()


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> list[Any]:
    """The position in `cursor`, which must hold values of the types in `shape`."""
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        position = None
    if (
        not isinstance(position, list)
        or len(position) != len(shape)
        or not all(isinstance(v, t) and not isinstance(v, bool) for v, t in zip(position, shape, strict=True))
    ):
        raise Invalid(
            "the cursor is not valid", errors=[{"field": "cursor", "message": "not a cursor this list made"}]
        )
    return position
