"""Handlers declare what they take and give; the same declaration validates and documents.

    @routes.post("/api/v1/products")
    @endpoint(summary="Create a product", body=ProductCreate, response=ProductDetail,
              status=201, guard=require_staff)
    async def create_product(request: web.Request, body: ProductCreate) -> web.Response: ...

The wrapper runs the guard, parses the query string and the JSON body into the models
(or raises 400/415/422), and passes them on as `query=` and `body=`. What the wrapper does
not see is declared too, so the document can say it: `path=` the types of the path
parameters (a value outside one names nothing: 404), `idempotent=True` for handlers that
honour an Idempotency-Key, `headers=` other request headers a handler reads, and
`responses=` statuses other than `status` answered with a model rather than a problem,
`answers=` those answered with a body of a media type, or none (206 and 304 of a file);
`raw_body=` the media type of a body the handler reads itself (with `raw_schema=` its
schema); `makes=` says where the answer names something other endpoints take in their path (the
document links them, so a client, or a test, can follow from one to the other).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, wraps
from typing import Any, TypeVar
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from .errors import Invalid, MalformedJSON, NotFound, UnsupportedMediaType

Guard = Callable[[web.Request], Awaitable[Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)
G = TypeVar("G", bound=Guard)


class Body(BaseModel):
    """Base of request bodies: unknown fields and type coercion are refused.

    JSON has one kind of number, so `2.0` is the integer 2 (as JSON Schema's `integer`
    says); `2.5`, `"2"` and `true` are not integers.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _integral_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, float) and value.is_integer() and info.field_name in _int_fields(cls):
            return int(value)
        return value


@cache
def _int_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of `model` that hold an integer (or an optional one)."""
    return frozenset(name for name, f in model.model_fields.items() if f.annotation in (int, int | None))


class Query(BaseModel):
    """Base of query strings: values arrive as text and are converted, from the text their
    schema names only: integers in digits, booleans as true or false, times in RFC 3339."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _exact_text(cls, value: Any, info: ValidationInfo) -> Any:
        form = _text_forms(cls).get(info.field_name or "")
        if form is None or not isinstance(value, str):
            return value
        pattern, expected = form
        if not pattern.fullmatch(value):
            raise ValueError(f"must be {expected}")
        return value.upper() if pattern is _RFC3339 else value  # the parser takes T and Z only

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            try:  # as the driver will: at the ends of the calendar, the offset overflows
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("out of the range of times the shop keeps") from None
        return value


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})", re.I
)
_FORMS = {
    int: (re.compile(r"-?[0-9]+"), "an integer in digits"),
    bool: (re.compile(r"true|false"), "true or false"),
    datetime: (_RFC3339, "an RFC 3339 date-time with its offset"),
}


@cache
def _text_forms(model: type[BaseModel]) -> dict[str, tuple[re.Pattern[str], str]]:
    """The text form each typed field of a query model must arrive in."""
    forms = {}
    for name, f in model.model_fields.items():
        for kind, form in _FORMS.items():
            if f.annotation in (kind, kind | None):
                forms[name] = form
    return forms


@dataclass(frozen=True)
class Endpoint:
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    guard: Guard | None
    errors: tuple[int, ...]  # refusals by the endpoint's own rules, besides those derived
    path: Mapping[str, Any] = field(default_factory=dict)
    idempotent: bool = False
    media_type: str = "application/json"  # of the `status` response
    headers: Mapping[str, str] = field(default_factory=dict)  # header -> what it carries
    responses: Mapping[int, type[BaseModel]] = field(default_factory=dict)
    raw_body: str | None = None  # a body the handler reads itself, of this media type
    makes: Mapping[str, str] = field(default_factory=dict)  # path parameter -> JSON pointer in the answer
    answers: Mapping[int, str | None] = field(default_factory=dict)  # status -> media type of its body
    raw_schema: Mapping[str, Any] = field(default_factory=dict)  # of `raw_body`, for the document


@dataclass(frozen=True)
class GuardSpec:
    """What a guard answers, for the document: `optional` guards let guests through."""

    optional: bool
    statuses: tuple[int, ...]  # on every request
    unsafe_statuses: tuple[int, ...]  # on POST, PUT, PATCH and DELETE only


ENDPOINT_ATTR = "__endpoint__"
GUARD_ATTR = "__guard__"


def guard(
    *, optional: bool = False, statuses: tuple[int, ...] = (401,), unsafe_statuses: tuple[int, ...] = ()
) -> Callable[[G], G]:
    """Declare what a guard function answers when it refuses a request."""

    def mark(fn: G) -> G:
        setattr(fn, GUARD_ATTR, GuardSpec(optional, statuses, unsafe_statuses))
        return fn

    return mark


def field_path(loc: tuple[int | str, ...]) -> str:
    """('items', 0, 'quantity') -> 'items[0].quantity'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def invalid(exc: ValidationError, prefix: tuple[str, ...] = ()) -> Invalid:
    return Invalid(
        "the request has invalid fields",
        errors=[
            {"field": field_path(prefix + tuple(e["loc"])), "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ],
    )


def _no_nul(field: str) -> Invalid:
    # PostgreSQL text cannot hold U+0000, so it is refused here rather than failing there.
    return Invalid(
        "text may not contain NUL characters", errors=[{"field": field, "message": "contains NUL"}]
    )


# A JSON \u0000 escape: "\u0000" preceded by an even number of backslashes.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def path_uuid(request: web.Request, name: str) -> UUID:
    """A UUID path parameter; anything else names nothing, so 404."""
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise NotFound(f"no {name} {request.match_info[name]!r}") from None


def parse_query(request: web.Request, model: type[M]) -> M:
    query = dict(request.query)
    for name, value in query.items():
        if "\x00" in value:
            raise _no_nul(name)
    try:
        return model.model_validate(query)
    except ValidationError as e:
        raise invalid(e) from None


async def parse_body(request: web.Request, model: type[M]) -> M:
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = await request.read()
    if b"\\u0000" in raw and _NUL_ESCAPE.search(raw):
        raise _no_nul("body")
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        if any(err["type"] == "json_invalid" for err in e.errors()):
            raise MalformedJSON("the body is not valid JSON") from None
        raise invalid(e) from None


def endpoint(
    *,
    summary: str,
    tags: tuple[str, ...] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    guard: Guard | None = None,
    errors: tuple[int, ...] = (),
    path: Mapping[str, Any] | None = None,
    idempotent: bool = False,
    media_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
    responses: Mapping[int, type[BaseModel]] | None = None,
    raw_body: str | None = None,
    makes: Mapping[str, str] | None = None,
    answers: Mapping[int, str | None] | None = None,
    raw_schema: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Awaitable[web.StreamResponse]]], Handler]:
    spec = Endpoint(
        summary,
        tags,
        body,
        query,
        response,
        status,
        guard,
        errors,
        path or {},
        idempotent,
        media_type,
        headers or {},
        responses or {},
        raw_body,
        makes or {},
        answers or {},
        raw_schema or {},
    )

    def wrap(handler: Callable[..., Awaitable[web.StreamResponse]]) -> Handler:
        if guard is None and query is None and body is None:
            setattr(handler, ENDPOINT_ATTR, spec)  # nothing to check: no wrapper to pay for
            return handler

        @wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if guard is not None:
                await guard(request)
            kwargs: dict[str, Any] = {}
            if query is not None:
                kwargs["query"] = parse_query(request, query)
            if body is not None:
                kwargs["body"] = await parse_body(request, body)
            return await handler(request, **kwargs)

        setattr(wrapper, ENDPOINT_ATTR, spec)
        return wrapper

    return wrap
