"""The signed-in customer's account: the dashboard, the order history, the data export and
erasing the account. Guests are sent to sign in first (customer.py). Every page calls the
users component's interface, as the API's routes do; `routes` also holds the account's other
pages (profile, addresses, wishlist), so that the app adds them with one line."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ..auth import interface as auth
from ..auth.interface import Claims, set_browser_cookies
from ..keys import AUTH, DB, SETTINGS
from ..platform.errors import Invalid, RateLimited
from ..users import interface as users
from . import addresses, profile, wishlist
from .checkout import STATUS_NAMES
from .customer import Form, account_form, account_page, see_other, wait_message
from .forms import page

pages = web.RouteTableDef()
ORDERS_PER_PAGE = 20
DELETE_MESSAGES = {
    "password": "Enter your password.",
    "form": "Check the details below.",
}


def documents(fragments: tuple[orjson.Fragment, ...]) -> list[dict[str, Any]]:
    """The JSON documents a component made (orders), as the templates read them."""
    found: list[dict[str, Any]] = orjson.loads(orjson.dumps(list(fragments)))
    return found


@pages.get("/account")
@account_page
async def dashboard(request: web.Request, claims: Claims) -> web.Response:
    app = request.app
    mine = await users.dashboard(app[DB], claims.user_id, app[SETTINGS].currency)
    context = {
        "me": mine,
        "recent": documents(mine.recent_orders),
        "status_names": STATUS_NAMES,
        "title": "Your account",
    }
    return await page(request, "account/dashboard.html", context, private=True)


@pages.get("/account/orders")
@account_page
async def orders(request: web.Request, claims: Claims) -> web.Response:
    cursor = request.query.get("cursor") or None
    try:
        found = await users.order_history(request.app[DB], claims.user_id, cursor, ORDERS_PER_PAGE)
    except Invalid:  # a cursor this list did not make: its first page
        return see_other("/account/orders")
    context = {
        "orders": documents(found.items),
        "next_cursor": found.next_cursor,
        "older": bool(cursor),
        "status_names": STATUS_NAMES,
    }
    return await page(request, "account/orders.html", context, private=True)


@pages.get("/account/export")
@account_page
async def export(request: web.Request, claims: Claims) -> web.Response:
    return await page(request, "account/export.html", {}, private=True)


async def _delete_page(
    request: web.Request, claims: Claims, form: Form, *, status: int = 200, problem: str = ""
) -> web.Response:
    account = await auth.account(request.app[DB], claims.user_id)
    context = {
        "has_password": bool(account and account.has_password),
        "values": form.values,
        "errors": form.errors,
        "problem": problem,
    }
    return await page(request, "account/delete.html", context, status=status, private=True)


@pages.get("/account/delete")
@account_page
async def confirm_delete(request: web.Request, claims: Claims) -> web.Response:
    return await _delete_page(request, claims, Form({}))


@pages.post("/account/delete")
@account_form
async def delete(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    app = request.app
    password = posted.get("password", "")  # as typed: spaces may be part of it
    form = Form({})
    if len(password) > 128 or "\x00" in password:
        form.errors["password"] = "That password is not right."
        return await _delete_page(request, claims, form, status=422)
    try:
        await users.erase_account(app[DB], app[AUTH], claims.user_id, claims.session_id, password or None)
    except users.PasswordRequired:
        form.errors["password"] = DELETE_MESSAGES["password"]
        return await _delete_page(request, claims, form, status=422)
    except auth.WrongPassword:
        form.errors["password"] = "That password is not right."
        return await _delete_page(request, claims, form, status=422)
    except users.ReauthenticationRequired:
        problem = "For your safety, sign in again, then delete your account within 10 minutes."
        return await _delete_page(request, claims, form, status=403, problem=problem)
    except RateLimited as e:
        return await _delete_page(request, claims, form, status=429, problem=wait_message(e))
    response = see_other("/?notice=account_deleted")
    set_browser_cookies(response, app[SETTINGS], None)  # the session names nobody now
    return response


routes = [*pages, *profile.routes, *addresses.routes, *wishlist.routes]
