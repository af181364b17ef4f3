"""The signed-in customer's profile (name, phone, locale; a new email address; a new
password) and preferences (theme, language, currency, marketing), and the theme switcher every
page's footer carries: a guest's choice is kept in the `theme` cookie, a customer's in their
preferences (and the cookie)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ..auth import interface as auth
from ..auth.interface import Claims
from ..keys import DB, SETTINGS
from ..platform.errors import Invalid, RateLimited
from ..users import interface as users
from . import csrf
from .customer import Form, account_form, account_page, checked, read, see_other, wait_message
from .forms import page
from .render import THEME_COOKIE, THEMES

routes = web.RouteTableDef()
PROFILE_PATH = "/account/profile"
PREFERENCES_PATH = "/account/preferences"
THEME_COOKIE_AGE = 365 * 86400
MESSAGES = {
    "name": "Enter your name.",
    "phone": "Enter a phone number with its country code, like +44 20 7946 0000.",
    "locale": "Enter a language code, like en or de-DE.",
    "new_email": "Enter an email address, like name@example.com.",
    "password": "Enter your current password.",
    "current_password": "Enter your current password.",
    "new_password": "Choose a new password of 8 to 128 characters.",
    "theme": "Choose light, dark or the same as your device.",
    "language": "Enter a language code, like en or de-DE.",
    "currency": "Choose a currency from the list.",
    "form": "Check the details below.",
}
WRONG_PASSWORD = "That password is not right."
NOTICES = {
    "saved": "Your changes have been saved.",
    "email_sent": (
        "Check your mail: we sent a link to your new address. Your address changes when you use it."
    ),
    "password_changed": "Your password has been changed. Every other device has been signed out.",
}
THEME_NAMES = {"light": "Light", "dark": "Dark", "system": "Same as my device"}
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "NZD", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK")
PHONE_SEPARATORS = re.compile(r"[\s().\-/]")


def keep_theme(response: web.StreamResponse, request: web.Request, theme: str) -> None:
    """The browser's theme cookie: what a guest chose, and a customer's once signed out."""
    response.set_cookie(
        THEME_COOKIE,
        theme,
        path="/",
        httponly=True,
        secure=not request.app[SETTINGS].dev,
        samesite="Lax",
        max_age=THEME_COOKIE_AGE,
    )


def back_to(text: str) -> str:
    """A path of this site to go back to; anything else (another site, a scheme) is home."""
    if not text.startswith("/") or text.startswith(("//", "/\\")) or any(ord(c) < 33 for c in text):
        return "/"
    return text[:2000]


# Profile


def _phone(text: str) -> str | None:
    """The phone as E.164: separators people type dropped, 00 read as +; empty removes it."""
    digits = PHONE_SEPARATORS.sub("", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    return digits or None


async def _profile_page(
    request: web.Request, claims: Claims, form: Form, *, status: int = 200, problem: str = ""
) -> web.Response:
    me = await users.profile(request.app[DB], claims.user_id)
    values = {"name": me.name, "phone": me.phone or "", "locale": me.locale, "new_email": ""} | form.values
    context = {
        "me": me,
        "values": values,
        "errors": form.errors,
        "problem": problem,
        "notice": NOTICES.get(request.query.get("notice", "")),
    }
    return await page(request, "account/profile.html", context, status=status, private=True)


@routes.get(PROFILE_PATH)
@account_page
async def show_profile(request: web.Request, claims: Claims) -> web.Response:
    return await _profile_page(request, claims, Form({}))


@routes.post(PROFILE_PATH)
@account_form
async def save_profile(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    form = read(posted, ("name", "phone", "locale"), MESSAGES)
    body = {
        "name": form.values["name"],
        "phone": _phone(form.values["phone"]),
        "locale": form.values["locale"],
    }
    patch = checked(users.ProfilePatch, body, form, MESSAGES)
    if patch is None:
        return await _profile_page(request, claims, form, status=422)
    await users.update_profile(request.app[DB], claims.user_id, patch)
    return see_other(f"{PROFILE_PATH}?notice=saved")


def _password(posted: dict[str, str], name: str, form: Form) -> str:
    """A password as typed (spaces may be part of it); one no account can have is wrong."""
    password = posted.get(name, "")
    if not password or len(password) > 128 or any(ord(c) < 32 for c in password):
        form.errors.setdefault(name, MESSAGES[name])
    return password


@routes.post(PROFILE_PATH + "/email")
@account_form
async def change_email(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    form = read(posted, ("new_email",), MESSAGES)
    password = _password(posted, "password", form)
    change = checked(
        users.EmailChange, {"new_email": form.values["new_email"], "password": password}, form, MESSAGES
    )
    if change is None:
        return await _profile_page(request, claims, form, status=422)
    try:
        await users.change_email(
            users.credentials(request.app), claims.user_id, change.password, change.new_email
        )
    except auth.WrongPassword:
        form.errors["password"] = WRONG_PASSWORD
    except auth.EmailTaken as e:
        mine = "already" in e.detail
        form.errors["new_email"] = (
            "This is your address already." if mine else "Another account uses this address."
        )
    except RateLimited as e:
        return await _profile_page(request, claims, form, status=429, problem=wait_message(e))
    if form.errors:
        return await _profile_page(request, claims, form, status=422)
    return see_other(f"{PROFILE_PATH}?notice=email_sent")


@routes.post(PROFILE_PATH + "/password")
@account_form
async def change_password(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    form = Form({})
    body = {
        "current_password": _password(posted, "current_password", form),
        "new_password": _password(posted, "new_password", form),
    }
    change = checked(users.PasswordChange, body, form, MESSAGES)
    if change is None:
        return await _profile_page(request, claims, form, status=422)
    try:
        await users.change_password(
            users.credentials(request.app),
            claims.user_id,
            claims.session_id,
            change.current_password,
            change.new_password,
        )
    except auth.WrongPassword:
        form.errors["current_password"] = WRONG_PASSWORD
    except auth.WeakPassword:
        form.errors["new_password"] = "That password is too common: choose one that is harder to guess."
    except RateLimited as e:
        return await _profile_page(request, claims, form, status=429, problem=wait_message(e))
    if form.errors:
        return await _profile_page(request, claims, form, status=422)
    return see_other(f"{PROFILE_PATH}?notice=password_changed")


# Preferences


async def _preferences_page(
    request: web.Request, claims: Claims, form: Form, *, status: int = 200
) -> web.Response:
    app = request.app
    now = await users.preferences(app[DB], claims.user_id, app[SETTINGS].currency)
    values: dict[str, Any] = {
        "theme": now.theme.value,
        "language": now.language,
        "currency": now.currency,
        "marketing_opt_in": now.marketing_opt_in,
    } | form.values
    currencies = dict.fromkeys((app[SETTINGS].currency, *CURRENCIES, now.currency))
    context = {
        "values": values,
        "errors": form.errors,
        "themes": THEME_NAMES,
        "currencies": list(currencies),
        "notice": NOTICES.get(request.query.get("notice", "")),
    }
    return await page(request, "account/preferences.html", context, status=status, private=True)


@routes.get(PREFERENCES_PATH)
@account_page
async def show_preferences(request: web.Request, claims: Claims) -> web.Response:
    return await _preferences_page(request, claims, Form({}))


@routes.post(PREFERENCES_PATH)
@account_form
async def save_preferences(request: web.Request, claims: Claims, posted: dict[str, str]) -> web.Response:
    form = read(posted, ("theme", "language", "currency"), MESSAGES)
    opted_in = posted.get("marketing_opt_in") == "on"
    body = {**form.values, "marketing_opt_in": opted_in}
    chosen = checked(users.PreferencesIn, body, form, MESSAGES)
    if chosen is None:
        form.values["marketing_opt_in"] = "on" if opted_in else ""
        return await _preferences_page(request, claims, form, status=422)
    await users.put_preferences(request.app[DB], claims.user_id, chosen)
    response = see_other(f"{PREFERENCES_PATH}?notice=saved")
    keep_theme(response, request, chosen.theme.value)
    return response


@routes.post("/theme")
async def switch_theme(request: web.Request) -> web.Response:
    """The footer's switcher: light, dark or the system's, then back to the page it is on."""
    who, posted = await csrf.checked_form(request)
    theme = posted.get("theme", "")
    if theme not in THEMES:
        raise Invalid("choose light, dark or system")
    if who.claims is not None:
        await users.set_theme(
            request.app[DB], who.claims.user_id, users.Theme(theme), request.app[SETTINGS].currency
        )
    response = see_other(back_to(posted.get("back", "/")))
    keep_theme(response, request, theme)
    return response
