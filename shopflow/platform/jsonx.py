"""JSON in and out with orjson."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg.pgproto.pgproto
import orjson
from aiohttp import web

if TYPE_CHECKING:
    from .errors import AppError

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


def _default(value: Any) -> str:
    # asyncpg's UUID is not uuid.UUID, so orjson does not know it; both print canonically.
    if isinstance(value, asyncpg.pgproto.pgproto.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return raw_json_response(dumps(data), status, headers)


def raw_json_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None, content_type: str = JSON
) -> web.Response:
    return web.Response(body=body, status=status, headers=headers, content_type=content_type)


def problem_response(exc: AppError, request_id: str) -> web.Response:
    """`exc` as a problem+json response that names the request."""
    body = exc.problem()
    body["request_id"] = request_id
    return web.Response(body=dumps(body), status=exc.status, headers=exc.headers, content_type=PROBLEM_JSON)
