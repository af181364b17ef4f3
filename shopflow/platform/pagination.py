"""Opaque keyset cursors and the list envelope.

A cursor comes back from the client, so whatever it holds is checked before it reaches
SQL: a value that the column's type cannot take (an id past bigint, a time that cannot be
moved to UTC, a NUL in text) would fail in the driver or the database, a 500 instead of
the 422 that a cursor this list did not make deserves.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from .errors import Invalid

BIGINT = range(-(2**63), 2**63)


def encode_cursor(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).rstrip(b"=").decode()


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> list[Any]:
    """The position in `cursor`: one value per type in `shape` (str, int, float, UUID or
    datetime; the last two written as text), each one SQL can take; else 422."""
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(position, list) or len(position) != len(shape):
            raise ValueError("not a position of this shape")
        return [_value(v, kind) for v, kind in zip(position, shape, strict=True)]
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise Invalid(
            "the cursor is not valid", errors=[{"field": "cursor", "message": "not a cursor this list made"}]
        ) from None


def _value(value: Any, kind: type) -> Any:
    """`value` as `kind`, if it is one a column of that kind holds; else ValueError."""
    if kind is int and type(value) is int and value in BIGINT:  # bool is no int here
        return value
    if kind is float and type(value) is float and math.isfinite(value):
        return value
    if not isinstance(value, str) or "\x00" in value:  # PostgreSQL text holds no NUL
        raise ValueError(f"not a {kind.__name__}")
    if kind is str:
        return value
    if kind is UUID:
        return UUID(value)
    if kind is datetime:
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError("no time zone")
        at.astimezone(UTC)  # OverflowError at the ends of the calendar, as the driver would
        return at
    raise ValueError(f"not a {kind.__name__}")
