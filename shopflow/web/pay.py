"""Paying a placed order in the browser: Stripe's card step (Stripe.js and its Payment Element,
loaded on this page only, with a CSP that lets that origin in here alone) and the return from
PayPal (the approved payment captured through checkout, as the API's capture route does).
Either way the buyer ends on the order page, which says where the payment stands."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from ..checkout import interface as checkout
from ..keys import CHECKOUT, SETTINGS
from ..platform.errors import NotFound, Unavailable
from . import csrf
from .cart import last_order_cookie_name, order_path
from .checkout import order_of
from .forms import page
from .payment import stripe_ready, stripe_security_policy, with_notice

routes = web.RouteTableDef()


@routes.get("/orders/{order}/pay")
async def pay(request: web.Request) -> web.Response:
    """The pay step of an order waiting for payment: Stripe's element, or off to PayPal."""
    who = await csrf.visitor(request)
    token = request.query.get("token", "")[:100]
    order_id, caller = order_of(request, who, token)
    co, settings = request.app[CHECKOUT], request.app[SETTINGS]
    back = order_path(order_id, token or None)
    try:
        step = await checkout.payment_step(co, order_id, caller)
    except (Unavailable, checkout.ProviderRefused, checkout.ProviderUnavailable):
        return web.Response(status=303, headers={"Location": with_notice(back, "pay_later")})
    if step.approve_url:
        return web.Response(status=303, headers={"Location": step.approve_url})
    if not step.client_secret or not stripe_ready(settings, co):
        return web.Response(status=303, headers={"Location": back})  # nothing to pay here
    order = await checkout.visible_order(co.db, order_id, caller)
    context = {
        "order": order,
        "token": token,
        "stripe_js": settings.stripe_js_url,
        "stripe_key": settings.stripe_publishable_key,
        "client_secret": step.client_secret,
        "return_path": back,
        "title": f"Pay for order {order.number}",
    }
    response = await page(request, "pay.html", context, private=True)
    response.headers["Content-Security-Policy"] = stripe_security_policy(settings)
    return response


def guest_secret(request: web.Request, order_id: UUID) -> str | None:
    """The secret of the guest order this browser placed last (its cookie), if it is this one."""
    kept = request.cookies.get(last_order_cookie_name(request.app[SETTINGS]), "")
    found, _, secret = kept.partition(".")
    return secret or None if found == str(order_id) else None


async def _captured(request: web.Request, order_id: UUID, caller: checkout.Caller) -> str | None:
    """Capture what the buyer approved at PayPal; the notice the order page shows."""
    try:
        order = await checkout.capture(request.app[CHECKOUT], order_id, caller, None)
    except checkout.InvalidTransition:  # settled already (the webhook came first, or a reload)
        return None
    except checkout.NotApproved:
        return "not_paid"
    except (checkout.ProviderRefused, Unavailable):
        return "pay_later"
    return "paid" if order.status == checkout.OrderStatus.PAID else "declined"


@routes.get("/checkout/paypal")
async def paypal_return(request: web.Request) -> web.Response:
    """Where PayPal sends the buyer back: approved, the payment is captured; cancelled, the
    order page says so and offers to pay again."""
    who = await csrf.visitor(request)
    try:
        order_id = UUID(request.query.get("order", ""))
    except ValueError:
        raise NotFound("no such order") from None
    token = guest_secret(request, order_id) if who.claims is None else None
    caller = checkout.Caller(who.claims.user_id if who.claims else None, order_token=token)
    if request.query.get("cancelled"):
        await checkout.visible_order(request.app[CHECKOUT].db, order_id, caller)  # 404 for others
        notice: str | None = "not_paid"
    else:
        notice = await _captured(request, order_id, caller)
    return web.Response(status=303, headers={"Location": with_notice(order_path(order_id, token), notice)})
