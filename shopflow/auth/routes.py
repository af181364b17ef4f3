"""The auth component's HTTP routes."""

from __future__ import annotations

from aiohttp import web

from ..keys import AUTH, DB, SETTINGS
from ..platform.endpoint import endpoint
from ..platform.jsonx import json_response
from . import flows, service
from .errors import OAuthFailed
from .interface import PRINCIPAL, cookie_names, require_user, set_browser_cookies, set_oauth_state
from .models import (
    Accepted,
    AuthorizeUrl,
    Forgot,
    Login,
    OAuthCallback,
    OAuthStart,
    ProviderName,
    Refresh,
    Register,
    ResetPassword,
    SessionInfo,
    SignedInWithCart,
    TokenPair,
    VerifyEmail,
)
from .oauth import safe_next

routes = web.RouteTableDef()
TAGS = ("auth",)


def _signed_in(app: web.Application, signed: service.SignedIn, status: int = 200) -> web.Response:
    """The token pair for apps, and the session and CSRF cookies for browsers."""
    response = json_response(signed.pair, status=status)
    set_browser_cookies(response, app[SETTINGS], signed)
    return response


def _signed_out(app: web.Application) -> web.Response:
    response = web.Response(status=204)
    set_browser_cookies(response, app[SETTINGS], None)
    return response


@routes.post("/api/v1/auth/register")
@endpoint(
    summary="Open an account and sign in",
    tags=TAGS,
    body=Register,
    response=TokenPair,
    status=201,
    errors=(409, 422, 429),
)
async def register(request: web.Request, body: Register) -> web.Response:
    signed = await flows.open_account(request, body.email, body.password, body.name)
    return _signed_in(request.app, signed, status=201)


@routes.post("/api/v1/auth/login")
@endpoint(
    summary="Sign in with email and password; a guest `cart_id` and `wishlist_id` are folded in",
    tags=TAGS,
    body=Login,
    response=SignedInWithCart,
    errors=(401, 429),
)
async def login(request: web.Request, body: Login) -> web.Response:
    signed = await flows.password_sign_in(request, body.email, body.password, body.cart_id, body.wishlist_id)
    return _signed_in(request.app, signed)


@routes.post("/api/v1/auth/refresh")
@endpoint(
    summary="Trade a refresh token for a new pair",
    tags=TAGS,
    body=Refresh,
    response=TokenPair,
    errors=(401, 429),
)
async def refresh(request: web.Request, body: Refresh) -> web.Response:
    app = request.app
    await flows.throttle(request, "refresh", app[SETTINGS].rate_limit_refresh_ip)
    return json_response(await service.refresh(app[DB], app[AUTH], body.refresh_token))


@routes.post("/api/v1/auth/logout")
@endpoint(summary="End this session", tags=TAGS, status=204, guard=require_user)
async def logout(request: web.Request) -> web.Response:
    await flows.sign_out(request.app, request[PRINCIPAL])
    return _signed_out(request.app)


@routes.post("/api/v1/auth/logout-all")
@endpoint(summary="End every session of this account", tags=TAGS, status=204, guard=require_user)
async def logout_all(request: web.Request) -> web.Response:
    await service.logout_all(request.app[AUTH], request[PRINCIPAL].user_id)
    return _signed_out(request.app)


@routes.get("/api/v1/auth/session")
@endpoint(
    summary="Who is signed in, and in which session (no database read: the token and the session)",
    tags=TAGS,
    response=SessionInfo,
    guard=require_user,
)
async def session(request: web.Request) -> web.Response:
    claims = request[PRINCIPAL]
    return json_response({"user_id": claims.user_id, "role": claims.role, "session_id": claims.session_id})


@routes.post("/api/v1/auth/password/forgot")
@endpoint(
    summary="Mail a password reset link (202 whether or not the account exists)",
    tags=TAGS,
    body=Forgot,
    response=Accepted,
    status=202,
    errors=(429,),
)
async def forgot_password(request: web.Request, body: Forgot) -> web.Response:
    await flows.send_reset_link(request, body.email)
    detail = "If an account uses this address, a link to reset its password is on its way."
    return json_response({"detail": detail}, status=202)


@routes.post("/api/v1/auth/password/reset")
@endpoint(
    summary="Set a new password with a reset link's token; every session ends",
    tags=TAGS,
    body=ResetPassword,
    status=204,
    errors=(400, 422, 429),
)
async def reset_password(request: web.Request, body: ResetPassword) -> web.Response:
    await flows.reset_password(request, body.token, body.password)
    return web.Response(status=204)


@routes.post("/api/v1/auth/email/verify")
@endpoint(
    summary="Confirm an email address with its verification token, or an email change with the"
    " token mailed to the new address (409: another account took that address meanwhile)",
    tags=TAGS,
    body=VerifyEmail,
    status=204,
    errors=(400, 409),
)
async def verify_email(request: web.Request, body: VerifyEmail) -> web.Response:
    await service.verify_email(request.app[DB], body.token)
    return web.Response(status=204)


@routes.get("/api/v1/auth/oauth/{provider}/start")
@endpoint(
    summary="Sign in through Google or Facebook: 302 to the provider (state, nonce and PKCE S256)",
    tags=TAGS,
    query=OAuthStart,
    status=302,
    path={"provider": ProviderName},
    errors=(404, 429),
)
async def oauth_start(request: web.Request, query: OAuthStart) -> web.Response:
    app = request.app
    await flows.throttle(request, "oauth", app[SETTINGS].rate_limit_oauth_ip)
    name, next_path = request.match_info["provider"], safe_next(query.next)
    url, state = await app[AUTH].oauth.begin(
        name, next_path, cart_id=query.cart_id, wishlist_id=query.wishlist_id
    )
    response = _redirect(url)
    set_oauth_state(response, app[SETTINGS], state)
    return response


@routes.post("/api/v1/auth/oauth/{provider}/link")
@endpoint(
    summary="Link Google or Facebook to the signed-in account: the provider URL to open in this browser",
    tags=TAGS,
    query=OAuthStart,
    response=AuthorizeUrl,
    guard=require_user,
    path={"provider": ProviderName},
    errors=(404,),
)
async def oauth_link(request: web.Request, query: OAuthStart) -> web.Response:
    app = request.app
    user_id = request[PRINCIPAL].user_id
    url, state = await app[AUTH].oauth.begin(request.match_info["provider"], safe_next(query.next), user_id)
    response = json_response({"authorize_url": url})
    set_oauth_state(response, app[SETTINGS], state)
    return response


@routes.delete("/api/v1/auth/oauth/{provider}")
@endpoint(
    summary="Unlink Google or Facebook from the signed-in account (not its only way to sign in)",
    tags=TAGS,
    status=204,
    guard=require_user,
    path={"provider": ProviderName},
    errors=(404, 409),
)
async def oauth_unlink(request: web.Request) -> web.Response:
    await service.unlink_identity(request.app[DB], request[PRINCIPAL].user_id, request.match_info["provider"])
    return web.Response(status=204)


@routes.get("/api/v1/auth/oauth/{provider}/callback")
@endpoint(
    summary="Where the provider sends the browser back: 302 to `next` with a session, or 400",
    tags=TAGS,
    query=OAuthCallback,
    status=302,
    path={"provider": ProviderName},
    errors=(400, 403, 404, 409, 429),
)
async def oauth_callback(request: web.Request, query: OAuthCallback) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    await flows.throttle(request, "oauth", settings.rate_limit_oauth_ip)
    oauth, name = app[AUTH].oauth, request.match_info["provider"]
    oauth.provider(name)  # an unknown provider is 404 before anything else
    if query.error:
        raise OAuthFailed(f"the provider did not sign you in ({query.error})")
    browser_state = request.cookies.get(cookie_names(settings)[2], "")
    identity, flow = await oauth.finish(name, query.state, browser_state, query.code)
    response = _redirect(flow.next_path)
    if flow.link_user is not None:
        await service.link_identity(app[DB], flow.link_user, identity)
    else:
        signed = await service.provider_sign_in(app[DB], app[AUTH], identity)
        set_browser_cookies(response, settings, signed)
        await flows.fold_guest(app, signed.pair["user"]["id"], flow.cart_id, flow.wishlist_id)
    set_oauth_state(response, settings, None)
    return response


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})
