"""What the signed-in customer's pages share: guests sent to sign in first, the posted form
read (its CSRF token checked), and what is wrong with it said per field in words a person reads."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..auth.interface import Claims
from ..platform.errors import RateLimited
from . import csrf

SIGNIN_PATH = "/signin"
PageHandler = Callable[[web.Request, Claims], Awaitable[web.StreamResponse]]
FormHandler = Callable[[web.Request, Claims, dict[str, str]], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def to_signin(next_page: str) -> web.Response:
    """Sign in first, then back to `next_page`."""
    return see_other(f"{SIGNIN_PATH}?next={quote(next_page, safe='/')}")


def account_page(handler: PageHandler) -> Handler:
    """A page for the signed-in customer; a guest is sent to sign in, then back here."""

    @functools.wraps(handler)
    async def page(request: web.Request) -> web.StreamResponse:
        who = await csrf.visitor(request)
        if who.claims is None:
            return to_signin(request.path_qs)
        return await handler(request, who.claims)

    return page


def form_page_of(path: str) -> str:
    """The page a form posting to `path` is on: /account/addresses/1/delete -> /account/addresses."""
    return "/" + "/".join(path.strip("/").split("/")[:2])


def account_form(handler: FormHandler) -> Handler:
    """A form of the signed-in customer's, its CSRF token checked (403 when wrong); a guest is
    sent to sign in, then to the page the form is on."""

    @functools.wraps(handler)
    async def post(request: web.Request) -> web.StreamResponse:
        if (await csrf.visitor(request)).claims is None:
            return to_signin(form_page_of(request.path))
        who, fields = await csrf.checked_form(request)
        assert who.claims is not None
        return await handler(request, who.claims, fields)

    return post


@dataclass
class Form:
    """What a person typed (to show again) and what is wrong with it, by field ("form": the
    whole form)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def read(posted: Mapping[str, str], names: Iterable[str], messages: Mapping[str, str]) -> Form:
    """The named fields, trimmed; a field holding a NUL or another control character is wrong
    as it stands (the database would refuse it)."""
    values = {name: posted.get(name, "").strip() for name in names}
    errors = {n: messages[n] for n, v in values.items() if any(ord(c) < 32 or ord(c) == 127 for c in v)}
    return Form(values, errors)


def checked(model: type[M], body: dict[str, Any], form: Form, messages: Mapping[str, str]) -> M | None:
    """`body` as `model` takes it (as JSON, as the API's routes take it); None, with a message
    on each wrong field of `form`, when it is wrong (or the form was already)."""
    try:
        parsed = model.model_validate_json(orjson.dumps(body))
    except ValidationError as e:
        for error in e.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            key = name if name in messages else "form"
            form.errors.setdefault(key, messages.get(key, "Check the details below."))
        return None
    return None if form.errors else parsed


def wait_message(error: RateLimited) -> str:
    """A 429 in words: how long to wait."""
    seconds = error.headers.get("Retry-After", "")
    after = f"in {seconds} seconds" if seconds.isdigit() and int(seconds) < 120 else "in a few minutes"
    return f"Too many tries. For your safety, please wait and try again {after}."
