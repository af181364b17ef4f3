"""Checkout and the order page: one plain form (email, shipping address, payment), shipping
and tax shown before the order is placed, mistakes shown on the form again (never an error
page), and a placed order answered with a redirect (303) to its page. The order is placed by
checkout's own service function, as the API places it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from ..auth import interface as auth
from ..checkout import interface as checkout
from ..keys import CHECKOUT, DB
from ..platform.errors import NotFound, Unavailable
from ..users import interface as users
from . import csrf
from .cart import caller_of, current_cart, keep_cart, keep_last_order, order_path, to_cart
from .checkout_form import ADDRESS, COUNTRY_CHOICES, CheckoutForm, checkout_request, read_form
from .country_names import country_name
from .forms import page

routes = web.RouteTableDef()
# The providers these pages can take payment through (Stripe and PayPal need their own steps).
PAGE_PROVIDERS = ("manual",)
PROVIDER_NAMES = {"manual": "Pay later: the shop tells you how"}
# How the order page names a payment, and where it stands.
PAID_WITH = {"manual": "Manual payment", "stripe": "Card", "paypal": "PayPal"}
PAYMENT_STATES = {
    "pending": "waiting for payment",
    "paid": "paid",
    "failed": "failed",
    "cancelled": "cancelled",
    "partially_refunded": "partly refunded",
    "refunded": "refunded",
}
ORDER_NOTICES = {
    "cancelled": "Your order has been cancelled. Anything you paid is refunded.",
    "too_late": "This order can no longer be cancelled.",
}
STATUS_NAMES = {
    "pending_payment": "Awaiting payment",
    "paid": "Paid",
    "fulfilled": "Shipped",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
    "partially_refunded": "Partly refunded",
    "refunded": "Refunded",
}


def _default_country(co: checkout.Checkout) -> str:
    named = [code for code in co.pricing.shipping_rates if code != "default"]
    return named[0] if named else "US"


async def _form_page(
    request: web.Request,
    cart: checkout.CartRecord,
    form: CheckoutForm,
    *,
    status: int = 200,
    problem: str | None = None,
    short: list[dict[str, Any]] | None = None,
    updated: bool = False,
) -> web.Response:
    co = request.app[CHECKOUT]
    totals = co.pricing.totals(cart.subtotal.amount, form.values["country"])
    context = {
        "cart": cart,
        "values": form.values,
        "errors": form.errors,
        "totals": {k: {"amount": v, "currency": cart.currency} for k, v in totals.items()},
        "countries": COUNTRY_CHOICES,
        "country_name": country_name,
        "providers": [(p, PROVIDER_NAMES[p]) for p in PAGE_PROVIDERS if p in co.payments.providers],
        "problem": problem,
        "short": short or [],
        "updated": updated,  # the totals were asked for: the keyboard's focus goes to them
    }
    return await page(request, "checkout.html", context, status=status, private=True)


@routes.get("/checkout")
async def show(request: web.Request) -> web.Response:
    who = await csrf.visitor(request)
    cart = await current_cart(request, who)
    if cart is None or not cart.items:
        return to_cart()
    form = read_form(request.query, _default_country(request.app[CHECKOUT]))
    if who.claims is not None and not request.query:
        await _prefill(request, who.claims.user_id, form.values)
    return await _form_page(request, cart, CheckoutForm(form.values))


async def _prefill(request: web.Request, user_id: UUID, values: dict[str, str]) -> None:
    """A signed-in customer's form starts from their email and default shipping address (a
    copy: what they change here stays with this order)."""
    db = request.app[DB]
    if (account := await auth.account(db, user_id)) is not None:
        values["email"] = account.email
    if (book := await users.default_address(db, user_id)) is not None:
        values.update({name: getattr(book, name) or "" for name in ADDRESS})


def _shortages(cart: checkout.CartRecord, error: checkout.OutOfStock) -> list[dict[str, Any]]:
    names = {line.sku: line.name for line in cart.items}
    return [{"name": names.get(s.sku, s.sku), "sku": s.sku, "available": s.available} for s in error.short]


@routes.post("/checkout")
async def place(request: web.Request) -> web.Response:
    who, posted = await csrf.checked_form(request)
    cart = await current_cart(request, who)
    if cart is None or not cart.items:
        return to_cart()
    co = request.app[CHECKOUT]
    form = read_form(posted, _default_country(co))
    if posted.get("step") == "update":  # the country changed: shipping and tax again
        return await _form_page(request, cart, form, updated=True)
    parsed = checkout_request(form)
    if isinstance(parsed, CheckoutForm):
        return await _form_page(request, cart, parsed, status=422)
    try:
        placed = await checkout.checkout(co, cart.id, caller_of(who), parsed, None)
    except (checkout.CartClosed, checkout.EmptyCart, checkout.CartNotFound) as e:
        # CartClosed: a second tap on "Place order", the first placed it
        response = to_cart("placed" if isinstance(e, checkout.CartClosed) else None)
        if who.claims is None:
            keep_cart(response, request, None)
        return response
    except checkout.OutOfStock as e:
        return await _form_page(request, cart, form, status=409, short=_shortages(cart, e))
    except checkout.UnavailableItems:
        problem = "Some items in your cart are no longer for sale. Remove them from your cart and try again."
        return await _form_page(request, cart, form, status=409, problem=problem)
    except checkout.ProviderUnavailable:
        errors = {"payment_provider": "That way of paying is not available; choose another."}
        return await _form_page(request, cart, CheckoutForm(form.values, errors), status=422)
    except Unavailable:
        problem = "We could not start the payment. Nothing was charged; please try again in a moment."
        return await _form_page(request, cart, form, status=503, problem=problem)
    order = placed.order
    response = web.Response(status=303, headers={"Location": order_path(order.id, placed.order_token)})
    keep_last_order(response, request, order.id, placed.order_token)
    if who.claims is None:
        keep_cart(response, request, None)  # the cart is checked out: the next one is new
    return response


def _order_of(request: web.Request, who: csrf.Visitor, token: str | None) -> tuple[UUID, checkout.Caller]:
    """The order the path names, and who asks for it: its owner, staff, or a holder of its secret."""
    try:
        order_id = UUID(request.match_info["order"])
    except ValueError:
        raise NotFound("no such order") from None
    claims = who.claims
    staff = bool(claims and claims.role in auth.STAFF_ROLES)
    return order_id, checkout.Caller(claims.user_id if claims else None, staff, token or None)


@routes.get("/orders/{order}")
async def order_page(request: web.Request) -> web.Response:
    who = await csrf.visitor(request)
    token = request.query.get("token")
    order_id, caller = _order_of(request, who, token)
    order = await checkout.visible_order(request.app[CHECKOUT].db, order_id, caller)
    context = {
        "order": order,
        "token": token or "",
        "cancellable": order.status in checkout.NOT_SHIPPED,
        "notice": ORDER_NOTICES.get(request.query.get("notice", "")),
        "status_names": STATUS_NAMES,
        "country_name": country_name,
        "paid_with": PAID_WITH,
        "payment_states": PAYMENT_STATES,
    }
    return await page(request, "order.html", context, private=True)


@routes.post("/orders/{order}/cancel")
async def cancel_order(request: web.Request) -> web.Response:
    who, posted = await csrf.checked_form(request)
    token = posted.get("token", "")[:100]
    order_id, caller = _order_of(request, who, token)
    try:
        await checkout.cancel(request.app[CHECKOUT], order_id, caller)
        notice = "cancelled"
    except checkout.InvalidTransition:  # shipped meanwhile, or cancelled already
        notice = "too_late"
    location = order_path(order_id, token or None)
    location += ("&" if "?" in location else "?") + f"notice={notice}"
    return web.Response(status=303, headers={"Location": location})
