"""The signed-in customer's address book: the list, an address added or changed (checkout's
fields and messages), deleted, or made the default shipping or billing address."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from ..auth.interface import Claims
from ..keys import DB
from ..platform.errors import NotFound
from ..users import interface as users
from .checkout_form import ADDRESS, COUNTRY_CHOICES
from .checkout_form import MESSAGES as ADDRESS_MESSAGES
from .customer import Form, account_form, account_page, checked, read, see_other
from .forms import page

routes = web.RouteTableDef()
BOOK_PATH = "/account/addresses"
FIELDS = ("label", *ADDRESS)
OPTIONAL = frozenset({"label", "line2", "region", "phone"})
MESSAGES = {
    **ADDRESS_MESSAGES,
    "label": "Shorten the label to 50 characters.",
    "form": "Check the details below.",
}
FULL = (
    f"Your address book holds {users.MAX_ADDRESSES} addresses, as many as it can. "
    "Delete one you no longer use to add another."
)
NOTICES = {
    "added": "The address has been added.",
    "saved": "The address has been saved.",
    "deleted": "The address has been deleted.",
    "shipping": "That is now your default shipping address.",
    "billing": "That is now your default billing address.",
}
KINDS = {"shipping": "is_default_shipping", "billing": "is_default_billing"}


def _address_id(request: web.Request) -> UUID:
    try:
        return UUID(request.match_info["address"])
    except ValueError:
        raise NotFound("no such address in your address book") from None


def _read(posted: dict[str, str]) -> Form:
    form = read(posted, FIELDS, MESSAGES)
    form.values["country"] = form.values["country"].upper()
    return form


def _body(form: Form, *, nulls: bool) -> dict[str, Any]:
    """The address as the users component takes it: an empty optional field is none (null in
    a change, which removes it; absent in a new address)."""
    body: dict[str, Any] = {}
    for name in FIELDS:
        value = form.values[name]
        if value or name not in OPTIONAL:
            body[name] = value
        elif nulls:
            body[name] = None
    return body


@routes.get(BOOK_PATH)
@account_page
async def book(request: web.Request, claims: Claims) -> web.Response:
    entries = await users.list_addresses(request.app[DB], claims.user_id)
    context = {
        "addresses": entries,
        "full": len(entries) >= users.MAX_ADDRESSES,
        "full_message": FULL,
        "notice": NOTICES.get(request.query.get("notice", "")),
    }
    return await page(request, "account/addresses.html", context, private=True)


async def _form_page(
    request: web.Request, form: Form, *, address_id: UUID | None = None, status: int = 200, problem: str = ""
) -> web.Response:
    values = dict.fromkeys((*FIELDS, "default_shipping", "default_billing"), "") | form.values
    context = {
        "values": values,
        "errors": form.errors,
        "address_id": address_id,
        "countries": COUNTRY_CHOICES,
        "problem": problem,
    }
    return await page(request, "account/address.html", context, status=status, private=True)


@routes.get(BOOK_PATH + "/new")
@account_page
async def new(request: web.Request, claims: Claims) -> web.Response:
    return await _form_page(request, Form({"country": request.query.get("country", "US")[:2].upper()}))


@routes.post(BOOK_PATH)
@account_form
async def add(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    form = _read(posted)
    defaults = {kind: posted.get(f"default_{kind}") == "on" for kind in KINDS}
    body = _body(form, nulls=False) | {KINDS[k]: chosen for k, chosen in defaults.items()}
    form.values |= {f"default_{k}": "on" if chosen else "" for k, chosen in defaults.items()}
    new_address = checked(users.NewBookAddress, body, form, MESSAGES)
    if new_address is None:
        return await _form_page(request, form, status=422)
    try:
        await users.add_address(request.app[DB], claims.user_id, new_address)
    except users.AddressBookFull:
        return await _form_page(request, form, status=409, problem=FULL)
    return see_other(f"{BOOK_PATH}?notice=added")


@routes.get(BOOK_PATH + "/{address}")
@account_page
async def edit(request: web.Request, claims: Claims) -> web.Response:
    address_id = _address_id(request)
    entries = await users.list_addresses(request.app[DB], claims.user_id)
    entry = next((e for e in entries if e.id == address_id), None)
    if entry is None:
        raise NotFound("no such address in your address book")
    form = Form({name: getattr(entry, name) or "" for name in FIELDS})
    return await _form_page(request, form, address_id=address_id)


@routes.post(BOOK_PATH + "/{address}")
@account_form
async def save(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    address_id = _address_id(request)
    form = _read(posted)
    patch = checked(users.BookAddressPatch, _body(form, nulls=True), form, MESSAGES)
    if patch is None:
        return await _form_page(request, form, address_id=address_id, status=422)
    await users.update_address(request.app[DB], claims.user_id, address_id, patch)  # another's: 404
    return see_other(f"{BOOK_PATH}?notice=saved")


@routes.post(BOOK_PATH + "/{address}/delete")
@account_form
async def delete(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    await users.delete_address(request.app[DB], claims.user_id, _address_id(request))
    return see_other(f"{BOOK_PATH}?notice=deleted")


@routes.post(BOOK_PATH + "/{address}/default")
@account_form
async def make_default(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    address_id = _address_id(request)
    kind = posted.get("kind", "")
    if kind not in KINDS:
        return see_other(BOOK_PATH)
    patch = users.BookAddressPatch.model_validate({KINDS[kind]: True})
    await users.update_address(request.app[DB], claims.user_id, address_id, patch)
    return see_other(f"{BOOK_PATH}?notice={kind}")
