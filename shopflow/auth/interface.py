"""What other components may call: who is asking, and the seams that guard endpoints."""

from __future__ import annotations

import hmac
from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from aiohttp import web

from ..keys import AUTH, SETTINGS
from ..platform.db import Executor
from ..platform.endpoint import guard
from ..platform.errors import Forbidden
from ..platform.settings import Settings
from . import credentials, errors, flows, models, oauth, queries, service
from .errors import CsrfFailed, InvalidToken
from .service import SignedIn, authenticate, authenticate_cookie
from .tokens import Claims as Claims

PRINCIPAL = web.RequestKey("principal", Claims)
STAFF_ROLES = frozenset({"staff", "admin"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_names(settings: Settings) -> tuple[str, str, str]:
    """The session, CSRF and provider sign-in cookies' names: __Host- bound to our origin,
    outside dev."""
    prefix = "" if settings.dev else "__Host-"
    return f"{prefix}shopflow_session", f"{prefix}shopflow_csrf", f"{prefix}shopflow_oauth"


def set_browser_cookies(response: web.StreamResponse, settings: Settings, signed: SignedIn | None) -> None:
    """Give a browser its session (HttpOnly) and CSRF (readable) cookies, or take them back."""
    session_name, csrf_name, _ = cookie_names(settings)
    values = (signed.cookie, signed.pair["csrf_token"]) if signed else ("", "")
    for name, value, httponly in ((session_name, values[0], True), (csrf_name, values[1], False)):
        response.set_cookie(
            name,
            value,
            path="/",
            httponly=httponly,
            secure=not settings.dev,
            samesite="Lax",
            max_age=settings.session_lifetime if signed else 0,
        )


def set_oauth_state(response: web.StreamResponse, settings: Settings, state: str | None) -> None:
    """Bind a provider sign-in to this browser (SameSite=Lax: the provider's redirect back
    is a top-level navigation, which carries it), or forget it."""
    response.set_cookie(
        cookie_names(settings)[2],
        state or "",
        path="/",
        httponly=True,
        secure=not settings.dev,
        samesite="Lax",
        max_age=settings.oauth_state_ttl if state else 0,
    )


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


# A browser session's unsafe request without its CSRF token is refused with 403.
@guard(statuses=(401,), unsafe_statuses=(403,))
async def require_user(request: web.Request) -> Claims:
    """The signed-in caller, else 401: a bearer access token of a live session, or a
    browser session cookie, which on unsafe methods must come with its CSRF token."""
    auth = request.app[AUTH]
    token = bearer_token(request)
    if token is not None:
        claims = await authenticate(auth, token)
    else:
        cookie = request.cookies.get(cookie_names(request.app[SETTINGS])[0])
        if not cookie:
            raise InvalidToken("sign in first", headers={"WWW-Authenticate": "Bearer"})
        claims = await authenticate_cookie(auth, cookie)
        if request.method not in SAFE_METHODS:
            given = request.headers.get("X-CSRF-Token", "")
            if not hmac.compare_digest(given.encode(), auth.tokens.csrf_token(claims.session_id).encode()):
                raise CsrfFailed("send the session's CSRF token in X-CSRF-Token")
    request[PRINCIPAL] = claims
    return claims


@guard(optional=True, statuses=(401,), unsafe_statuses=(403,))
async def optional_user(request: web.Request) -> Claims | None:
    """The signed-in caller when the request carries credentials (which must then be
    good), else None: for endpoints guests may use too."""
    if bearer_token(request) is None and not request.cookies.get(cookie_names(request.app[SETTINGS])[0]):
        return None
    return await require_user(request)


async def browser_user(request: web.Request) -> Claims | None:
    """The signed-in user behind a browser's session cookie, with no CSRF check: for the
    storefront's pages, whose forms carry the token in a field they check themselves. None
    without the cookie or with an ended session."""
    cookie = request.cookies.get(cookie_names(request.app[SETTINGS])[0])
    if not cookie:
        return None
    try:
        return await authenticate_cookie(request.app[AUTH], cookie)
    except InvalidToken:
        return None


def csrf_token(request: web.Request, claims: Claims) -> str:
    """The CSRF token of the caller's session."""
    return request.app[AUTH].tokens.csrf_token(claims.session_id)


@guard(statuses=(401, 403))
async def require_staff(request: web.Request) -> Claims:
    """A signed-in staff member or admin; customers get 403."""
    claims = await require_user(request)
    if claims.role not in STAFF_ROLES:
        raise Forbidden("staff only")
    return claims


# The signed-in user's own account, for the users component (see credentials.py).
Auth = service.Auth
Account = credentials.Account
SignInMethods = credentials.SignInMethods
LinkedProvider = credentials.LinkedProvider
account = credentials.account
rename = credentials.rename
check_password = credentials.check_password
request_email_change = credentials.request_email_change
change_password = credentials.change_password
sign_in_methods = credentials.sign_in_methods
signed_in_at = credentials.signed_in_at
delete_account = credentials.delete_account
end_account = credentials.end_account


@dataclass(frozen=True)
class Recipient:
    """Where to write to an account holder."""

    email: str
    name: str


async def recipients(ex: Executor, user_ids: Collection[UUID]) -> dict[UUID, Recipient]:
    """The active accounts among `user_ids`, by id: those a notice may be mailed to."""
    rows = await queries.fetch_recipients(ex, list(user_ids))
    return {r["id"]: Recipient(r["email"], r["name"]) for r in rows}


# Sign-in, registration and password reset as the API and the storefront's pages both run
# them (limits, backoff, the guest's cart and wishlist folded in): see flows.py.
Register = models.Register
InvalidCredentials = errors.InvalidCredentials
EmailTaken = errors.EmailTaken
WeakPassword = errors.WeakPassword
InvalidAccountToken = errors.InvalidAccountToken
password_sign_in = flows.password_sign_in
open_account = flows.open_account
send_reset_link = flows.send_reset_link
reset_password = flows.reset_password
reset_link_usable = flows.reset_link_usable
sign_out = flows.sign_out
verify_email = service.verify_email
safe_next = oauth.safe_next


def providers(app: web.Application) -> tuple[str, ...]:
    """The names of the providers this shop offers sign-in through ("facebook", "google")."""
    return tuple(sorted(app[AUTH].oauth.providers))


WrongPassword = errors.WrongPassword
