"""What a sign-in, a registration or a password reset asks of the process around the rules:
the rate limits that guard passwords and mail, and the guest's cart and wishlist folded into
the account once signed in. The API's routes and the storefront's pages both call these, so
a browser form is held to the same limits as a JSON client."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from ..keys import AUTH, CHECKOUT, DB, LIMITER, REDIS, SETTINGS
from ..platform.errors import AppError
from ..platform.ratelimit import Limit, client_ip
from . import service
from .service import SignedIn
from .tokens import Claims


async def throttle(request: web.Request, name: str, limit: Limit, subject: str | None = None) -> None:
    """Count the request against `limit` for `subject`, by default the client's address."""
    if subject is None:
        subject = client_ip(request, request.app[SETTINGS].trusted_proxies)
    await request.app[LIMITER].hit(name, subject, limit)


async def password_sign_in(
    request: web.Request,
    email: str,
    password: str,
    cart_id: UUID | None = None,
    wishlist_id: UUID | None = None,
) -> SignedIn:
    """Sign in with email and password under the address and account limits and the login
    backoff (429 with Retry-After); a guest cart and wishlist are folded in, and what could
    not be is said in the answer (`cart_error`, `wishlist_error`), never a failed sign-in."""
    app = request.app
    settings = app[SETTINGS]
    await throttle(request, "login", settings.rate_limit_login_ip)
    await throttle(request, "login-account", settings.rate_limit_login_account, email.lower())
    signed = await service.login(app[DB], app[AUTH], app[REDIS], email, password)
    signed.pair.update(await fold_guest(app, signed.pair["user"]["id"], cart_id, wishlist_id))
    return signed


async def open_account(
    request: web.Request,
    email: str,
    password: str,
    name: str,
    cart_id: UUID | None = None,
    wishlist_id: UUID | None = None,
) -> SignedIn:
    """Open an account (a verification link is mailed) and sign it in, under the address's
    registration limit; a guest cart and wishlist are folded in as at sign-in."""
    app = request.app
    await throttle(request, "register", app[SETTINGS].rate_limit_register_ip)
    signed = await service.register(app[DB], app[AUTH], app[REDIS], email, password, name)
    signed.pair.update(await fold_guest(app, signed.pair["user"]["id"], cart_id, wishlist_id))
    return signed


async def fold_guest(
    app: web.Application, user_id: UUID, cart_id: UUID | None, wishlist_id: UUID | None
) -> dict[str, Any]:
    """Fold a guest's cart into the account's cart and their wishlist into its default list:
    {"cart": ...} and the problem codes of what could not be (a stale, spent or someone
    else's id does not stop a sign-in)."""
    # Checkout and users import auth's interface, which imports this module: theirs are
    # imported when first used, so that no import cycle forms.
    from ..checkout.interface import merge_guest_cart
    from ..users.interface import fold_guest_wishlist

    folded: dict[str, Any] = {}
    if cart_id is not None:
        try:
            folded["cart"] = await merge_guest_cart(app[CHECKOUT], cart_id, user_id)
        except AppError as e:
            folded["cart_error"] = e.code
    if wishlist_id is not None:
        try:
            await fold_guest_wishlist(app[DB], wishlist_id, user_id)
        except AppError as e:
            folded["wishlist_error"] = e.code
    return folded


async def send_reset_link(request: web.Request, email: str) -> None:
    """Mail a reset link if the address has an account, under the address and account
    limits; the same silence either way."""
    app = request.app
    settings = app[SETTINGS]
    await throttle(request, "forgot", settings.rate_limit_forgot_ip)
    await throttle(request, "forgot-account", settings.rate_limit_forgot_account, email.lower())
    await service.forgot_password(app[DB], app[AUTH], app[REDIS], email)


async def reset_password(request: web.Request, token: str, password: str) -> None:
    """Set a new password with a reset link's token, under the address's limit; every session ends."""
    app = request.app
    await throttle(request, "forgot", app[SETTINGS].rate_limit_forgot_ip)
    await service.reset_password(app[DB], app[AUTH], token, password)


async def reset_link_usable(app: web.Application, token: str) -> bool:
    """Whether a reset link's token would still set a password (nothing is spent)."""
    return await service.reset_token_usable(app[DB], token)


async def sign_out(app: web.Application, claims: Claims) -> None:
    """End the caller's session: its access and refresh tokens and its cookie stop working."""
    await service.logout(app[AUTH], claims)
