"""The account's doors as pages: sign in, register, sign out, a forgotten password, the
reset link and the email verification link. Plain forms (CSRF-checked, redirect-after-post)
over auth's own flows, so a browser is held to the API's limits, backoff and answers; a
guest's cart and wishlist come along into the account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from aiohttp import web

from ..auth import interface as auth
from ..checkout import interface as checkout
from ..keys import CHECKOUT, DB, SETTINGS
from ..platform.errors import AppError, RateLimited, Unavailable
from . import csrf
from .cart import guest_cart_id, keep_cart, keep_count
from .forms import page
from .signin_form import (
    EMAIL_MAX,
    MESSAGES,
    TOKEN_MAX,
    account_fields,
    has_control,
    password_message,
    retry_text,
)
from .wishlist import guest_wishlist_id, keep_wishlist

routes = web.RouteTableDef()
SIGNIN, REGISTER, SIGNOUT = "/signin", "/register", "/signout"
FORGOT, RESET, VERIFY = "/forgot-password", "/reset-password", "/verify-email"
DEFAULT_NEXT = "/account"
NEXT_MAX = 512  # what the provider sign-in's start takes
PROVIDER_NAMES = {"google": "Google", "facebook": "Facebook"}
SIGNIN_NOTICES = {"password_reset": "Your password has been changed. Sign in with the new one."}
BAD_LINK = "This link is not valid any more: it has expired or has been used."


def next_path(value: str | None) -> str:
    """`value` when it is a path on this site (one leading "/", no scheme or host), else the
    account page: never a way off the site."""
    if not value or len(value) > NEXT_MAX:
        return DEFAULT_NEXT
    return value if auth.safe_next(value) == value else DEFAULT_NEXT


def _forget_guest(response: web.StreamResponse, request: web.Request) -> None:
    """Drop the guest's cart and wishlist cookies: both are the account's now (or gone)."""
    if guest_cart_id(request) is not None:
        keep_cart(response, request, None)
    if guest_wishlist_id(request) is not None:
        keep_wishlist(response, request, None)


def _provider_links(request: web.Request, nxt: str) -> list[tuple[str, str]]:
    """(name, start URL) of each provider the shop offers; the guest's cart and wishlist go
    along, so the provider's callback folds them into the account as a password sign-in does."""
    params = {"next": nxt}
    cart_id, wishlist_id = guest_cart_id(request), guest_wishlist_id(request)
    if cart_id is not None:
        params["cart_id"] = str(cart_id)
    if wishlist_id is not None:
        params["wishlist_id"] = str(wishlist_id)
    return [
        (PROVIDER_NAMES.get(name, name.title()), f"/api/v1/auth/oauth/{name}/start?{urlencode(params)}")
        for name in auth.providers(request.app)
    ]


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _problem_text(e: AppError) -> str:
    """What a refused attempt tells the visitor: how long to wait, or that the shop is busy."""
    if isinstance(e, RateLimited):
        return f"Too many attempts. Please wait {retry_text(e.headers.get('Retry-After'))}, then try again."
    return "The shop is busy for a moment. Please try again shortly."


async def _door(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
) -> web.Response:
    """An account-access page: private (a typed address or a link's token), not for indexing."""
    response = await page(request, template, dict(context), status=status, private=True)
    response.headers["Referrer-Policy"] = "no-referrer"  # a reset or verification link's token stays here
    return response


async def _signed_in(request: web.Request, who: csrf.Visitor, signed: Any, nxt: str) -> web.Response:
    """The new session's cookies (the one before it ended), the guest's cookies dropped, 303 to `nxt`."""
    if who.claims is not None:
        await auth.sign_out(request.app, who.claims)
    response = _see_other(nxt)
    auth.set_browser_cookies(response, request.app[SETTINGS], signed)
    _forget_guest(response, request)
    cart = await checkout.open_cart_of(request.app[CHECKOUT], UUID(str(signed.pair["user"]["id"])))
    keep_count(response, request, cart.item_count if cart else 0)  # the account's cart, in the header
    return response


# Sign in


async def _signin_page(
    request: web.Request,
    nxt: str,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
    problem: str | None = None,
) -> web.Response:
    context = {
        "title": "Sign in",
        "next": nxt,
        "values": values,
        "errors": errors,
        "problem": problem,
        "notice": SIGNIN_NOTICES.get(request.query.get("notice", "")),
        "providers": _provider_links(request, nxt),
    }
    return await _door(request, "signin.html", context, status=status)


@routes.get(SIGNIN)
async def signin_form(request: web.Request) -> web.Response:
    nxt = next_path(request.query.get("next"))
    if (await csrf.visitor(request)).claims is not None:
        return _see_other(nxt)
    return await _signin_page(request, nxt, {"email": ""}, {})


@routes.post(SIGNIN)
async def signin(request: web.Request) -> web.Response:
    who, form = await csrf.checked_form(request)
    nxt = next_path(form.get("next"))
    email, password = form.get("email", "").strip(), form.get("password", "")
    errors = {}
    if not email or len(email) > EMAIL_MAX or has_control(email):
        errors["email"] = MESSAGES["email"]
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return await _signin_page(request, nxt, {"email": email}, errors, status=422)
    try:
        signed = await auth.password_sign_in(
            request, email, password, guest_cart_id(request), guest_wishlist_id(request)
        )
    except auth.InvalidCredentials:
        wrong = "The email address or the password is not right."
        return await _signin_page(request, nxt, {"email": email}, {}, status=422, problem=wrong)
    except (RateLimited, Unavailable) as e:
        problem = _problem_text(e)
        return await _signin_page(request, nxt, {"email": email}, {}, status=e.status, problem=problem)
    return await _signed_in(request, who, signed, nxt)


# Register


async def _register_page(
    request: web.Request,
    nxt: str,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
    problem: str | None = None,
) -> web.Response:
    context = {
        "title": "Create an account",
        "next": nxt,
        "values": values,
        "errors": errors,
        "problem": problem,
        "providers": _provider_links(request, nxt),
    }
    return await _door(request, "register.html", context, status=status)


@routes.get(REGISTER)
async def register_form(request: web.Request) -> web.Response:
    nxt = next_path(request.query.get("next"))
    if (await csrf.visitor(request)).claims is not None:
        return _see_other(nxt)
    return await _register_page(request, nxt, {"name": "", "email": ""}, {})


@routes.post(REGISTER)
async def register(request: web.Request) -> web.Response:
    who, form = await csrf.checked_form(request)
    nxt = next_path(form.get("next"))
    values, body, errors = account_fields(form)
    if body is None:
        return await _register_page(request, nxt, values, errors, status=422)
    try:
        signed = await auth.open_account(
            request, body.email, body.password, body.name, guest_cart_id(request), guest_wishlist_id(request)
        )
    except auth.EmailTaken:
        taken = {"email": "An account uses this email address already. Sign in, or reset its password."}
        return await _register_page(request, nxt, values, taken, status=409)
    except auth.WeakPassword:
        weak = {"password": MESSAGES["weak_password"]}
        return await _register_page(request, nxt, values, weak, status=422)
    except (RateLimited, Unavailable) as e:
        return await _register_page(request, nxt, values, {}, status=e.status, problem=_problem_text(e))
    return await _signed_in(request, who, signed, nxt)


# Sign out


@routes.post(SIGNOUT)
async def signout(request: web.Request) -> web.Response:
    response = _see_other("/")
    who = await csrf.visitor(request)
    if who.claims is not None:  # signing out nobody needs no token
        await csrf.checked_form(request)
        await auth.sign_out(request.app, who.claims)
    auth.set_browser_cookies(response, request.app[SETTINGS], None)
    keep_count(response, request, 0)
    return response


# Forgotten password


async def _forgot_page(
    request: web.Request, email: str, errors: dict[str, str], *, status: int = 200, problem: str | None = None
) -> web.Response:
    context = {
        "title": "Forgot your password?",
        "values": {"email": email},
        "errors": errors,
        "problem": problem,
        "sent": request.method == "GET" and request.query.get("sent") == "1",
        "minutes": request.app[SETTINGS].reset_token_ttl // 60,
    }
    return await _door(request, "forgot.html", context, status=status)


@routes.get(FORGOT)
async def forgot_form(request: web.Request) -> web.Response:
    return await _forgot_page(request, "", {})


@routes.post(FORGOT)
async def forgot(request: web.Request) -> web.Response:
    _, form = await csrf.checked_form(request)
    email = form.get("email", "").strip()
    if not email or len(email) > EMAIL_MAX or has_control(email) or "@" not in email:
        return await _forgot_page(request, email, {"email": MESSAGES["email"]}, status=422)
    try:
        await auth.send_reset_link(request, email)
    except (RateLimited, Unavailable) as e:
        return await _forgot_page(request, email, {}, status=e.status, problem=_problem_text(e))
    return _see_other(f"{FORGOT}?sent=1")


# The reset link


async def _reset_page(
    request: web.Request, token: str, errors: dict[str, str], *, status: int = 200, problem: str | None = None
) -> web.Response:
    context = {"title": "Choose a new password", "token": token, "errors": errors, "problem": problem}
    return await _door(request, "reset.html", context, status=status)


def _usable_text(token: str) -> str:
    return token if 0 < len(token) <= TOKEN_MAX and not has_control(token) else ""


@routes.get(RESET)
async def reset_form(request: web.Request) -> web.Response:
    token = _usable_text(request.query.get("token", ""))
    if not token or not await auth.reset_link_usable(request.app, token):
        return await _reset_page(request, "", {}, status=400, problem=BAD_LINK)
    return await _reset_page(request, token, {})


@routes.post(RESET)
async def reset(request: web.Request) -> web.Response:
    _, form = await csrf.checked_form(request)
    token, password = _usable_text(form.get("token", "")), form.get("password", "")
    if not token:
        return await _reset_page(request, "", {}, status=400, problem=BAD_LINK)
    wrong = password_message(password)
    if wrong:
        return await _reset_page(request, token, {"password": wrong}, status=422)
    try:
        await auth.reset_password(request, token, password)
    except auth.InvalidAccountToken:
        return await _reset_page(request, "", {}, status=400, problem=BAD_LINK)
    except auth.WeakPassword:
        return await _reset_page(request, token, {"password": MESSAGES["weak_password"]}, status=422)
    except (RateLimited, Unavailable) as e:
        return await _reset_page(request, token, {}, status=e.status, problem=_problem_text(e))
    response = _see_other(f"{SIGNIN}?{urlencode({'notice': 'password_reset'})}")
    auth.set_browser_cookies(response, request.app[SETTINGS], None)  # every session has ended
    return response


# The verification link


async def _verify_page(
    request: web.Request, token: str, *, status: int = 200, problem: str | None = None
) -> web.Response:
    context: dict[str, Any] = {
        "title": "Confirm your email address",
        "token": token,
        "errors": {},
        "problem": problem,
    }
    return await _door(request, "verify.html", context, status=status)


@routes.get(VERIFY)
async def verify_form(request: web.Request) -> web.Response:
    # Only a POST spends the token: mail scanners that fetch links must not use it up.
    token = _usable_text(request.query.get("token", ""))
    if not token:
        return await _verify_page(request, "", status=400, problem=BAD_LINK)
    return await _verify_page(request, token)


@routes.post(VERIFY)
async def verify(request: web.Request) -> web.Response:
    _, form = await csrf.checked_form(request)
    token = _usable_text(form.get("token", ""))
    try:
        if not token:
            raise auth.InvalidAccountToken()
        await auth.verify_email(request.app[DB], token)
    except auth.InvalidAccountToken:
        return await _verify_page(request, "", status=400, problem=BAD_LINK)
    except auth.EmailTaken:
        taken = "Another account uses this email address now, so it cannot be yours as well."
        return await _verify_page(request, "", status=409, problem=taken)
    return _see_other(f"{DEFAULT_NEXT}?notice=email_verified")
