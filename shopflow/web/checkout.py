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
from ..keys import CHECKOUT, DB, SETTINGS
from ..platform.errors import NotFound, Unavailable
from ..users import interface as users
from . import csrf
from .cart import caller_of, current_cart, keep_cart, keep_count, keep_last_order, order_path, to_cart
from .checkout_form import BOOK, COUNTRY_CHOICES, MESSAGES, NEW, CheckoutForm, checkout_request, read_form
from .forms import page
from .payment import checkout_security_policy, pay_path, stripe_ready

routes = web.RouteTableDef()
# The ways to pay the checkout page offers (as the shop has them set up), in this order.
PAGE_PROVIDERS = ("manual", "stripe", "paypal")
PROVIDER_NAMES = {
    "manual": "Pay later: the shop tells you how",
    "stripe": "Card (through Stripe, on the next step)",
    "paypal": "PayPal (you approve the payment at PayPal)",
}
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
    "paid": "Thank you: your payment went through.",
    "not_paid": "The payment was not completed, so nothing was charged. Pay now, or cancel the order.",
    "declined": "The payment was declined. You can try again, or cancel the order.",
    "pay_later": "We could not reach the payment provider. Nothing was charged; please try again shortly.",
    "processing": "Your payment is being processed; this page shows when it is done.",
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
    co, settings = request.app[CHECKOUT], request.app[SETTINGS]
    book = await _book_of(request)
    country = next((a.country for a in book if str(a.id) == form.values["shipping_address_id"]), None)
    totals = co.pricing.totals(cart.subtotal.amount, country or form.values["country"])
    offered = _offered(request)
    context = {
        "cart": cart,
        "values": form.values,
        "errors": form.errors,
        "book": book,
        "ship_country": country or form.values["country"],
        "totals": {k: {"amount": v, "currency": cart.currency} for k, v in totals.items()},
        "countries": COUNTRY_CHOICES,
        "providers": [(p, PROVIDER_NAMES[p]) for p in offered],
        "problem": problem,
        "short": short or [],
        "updated": updated,  # the totals were asked for: the keyboard's focus goes to them
    }
    response = await page(request, "checkout.html", context, status=status, private=True)
    response.headers["Content-Security-Policy"] = checkout_security_policy(settings, co)
    return response


def _offered(request: web.Request) -> list[str]:
    """The ways to pay this page offers: the shop's, but cards only with Stripe.js's key."""
    co, settings = request.app[CHECKOUT], request.app[SETTINGS]
    return [
        p
        for p in PAGE_PROVIDERS
        if p in co.payments.providers and (p != "stripe" or stripe_ready(settings, co))
    ]


async def _book_of(request: web.Request) -> list[users.BookEntry]:
    """A signed-in customer's saved addresses (a guest has none)."""
    who = await csrf.visitor(request)
    return await users.list_addresses(request.app[DB], who.claims.user_id) if who.claims else []


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
    """A signed-in customer's form starts from their email and their default shipping address,
    chosen from their book (a new address stays one choice away)."""
    db = request.app[DB]
    if (account := await auth.account(db, user_id)) is not None:
        values["email"] = account.email
    if (book := await users.default_address(db, user_id)) is not None:
        values["shipping_address_id"] = str(book.id)
        values["country"] = book.country


async def _without_book(request: web.Request, who: csrf.Visitor, form: CheckoutForm) -> None:
    """Address-book choices posted by someone without a book (a guest, or a customer with no
    saved address) are dropped: their form did not show them (an autofill sent them)."""
    if any(form.values[name] for name in BOOK) and (who.claims is None or not await _book_of(request)):
        form.values.update(dict.fromkeys(BOOK, ""))


async def _refused(request: web.Request, form: CheckoutForm, error: Exception) -> CheckoutForm:
    """The form again, saying which choice checkout refused: the way to pay, or an address
    that is not (any more) in this customer's book."""
    if isinstance(error, checkout.ProviderUnavailable):
        return CheckoutForm(
            form.values, {"payment_provider": "That way of paying is not available; choose another."}
        )
    ids = {"", NEW, *(str(a.id) for a in await _book_of(request))}
    errors = {name: MESSAGES[name] for name in BOOK if form.values[name] not in ids}
    return CheckoutForm(form.values, errors or {"shipping_address_id": MESSAGES["shipping_address_id"]})


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
    await _without_book(request, who, form)
    if posted.get("step") == "update":  # the country changed: shipping and tax again
        return await _form_page(request, cart, form, updated=True)
    if form.values["payment_provider"] not in _offered(request):
        form.errors.setdefault("payment_provider", MESSAGES["payment_provider"])
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
    except (checkout.ProviderUnavailable, checkout.AddressNotInBook) as e:
        return await _form_page(request, cart, await _refused(request, form, e), status=422)
    except Unavailable:
        problem = "We could not start the payment. Nothing was charged; please try again in a moment."
        return await _form_page(request, cart, form, status=503, problem=problem)
    return _placed(request, who, placed)


def _placed(request: web.Request, who: csrf.Visitor, placed: checkout.PlacedRecord) -> web.Response:
    """On from a placed order: to PayPal to approve, to the card step, or to the order."""
    order = placed.order
    location = order_path(order.id, placed.order_token)
    if placed.payment.approve_url:  # PayPal: the buyer approves there, and comes back
        location = placed.payment.approve_url
    elif placed.payment.client_secret:  # Stripe: the card step
        location = pay_path(order.id, placed.order_token)
    response = web.Response(status=303, headers={"Location": location})
    keep_last_order(response, request, order.id, placed.order_token)
    keep_count(response, request, 0)
    if who.claims is None:
        keep_cart(response, request, None)  # the cart is checked out: the next one is new
    return response


def order_of(request: web.Request, who: csrf.Visitor, token: str | None) -> tuple[UUID, checkout.Caller]:
    """The order the path names, and who asks for it: its owner, staff, or a holder of its secret."""
    try:
        order_id = UUID(request.match_info["order"])
    except ValueError:
        raise NotFound("no such order") from None
    claims = who.claims
    staff = bool(claims and claims.role in auth.STAFF_ROLES)
    return order_id, checkout.Caller(claims.user_id if claims else None, staff, token or None)


async def _order_now(
    request: web.Request, order_id: UUID, caller: checkout.Caller
) -> tuple[checkout.OrderRecord, str]:
    """The order and the notice its page shows. Back from Stripe (its `redirect_status`), the
    provider is asked where the payment stands, so the page need not wait for the webhook."""
    co, notice = request.app[CHECKOUT], request.query.get("notice", "")
    if "redirect_status" not in request.query:
        return await checkout.visible_order(co.db, order_id, caller), notice
    try:
        order = await checkout.confirm_payment(co, order_id, caller)
    except (Unavailable, checkout.ProviderRefused, checkout.ProviderUnavailable):
        return await checkout.visible_order(co.db, order_id, caller), "pay_later"
    if order.status != checkout.OrderStatus.PENDING_PAYMENT:
        return order, "paid" if order.status == checkout.OrderStatus.PAID else ""
    failed = request.query["redirect_status"] == "failed" or order.payment.status.value == "failed"
    return order, "declined" if failed else "processing"


@routes.get("/orders/{order}")
async def order_page(request: web.Request) -> web.Response:
    who = await csrf.visitor(request)
    token = request.query.get("token")
    order_id, caller = order_of(request, who, token)
    order, notice = await _order_now(request, order_id, caller)
    waiting = order.status == checkout.OrderStatus.PENDING_PAYMENT
    context = {
        "order": order,
        "token": token or "",
        "cancellable": order.status in checkout.NOT_SHIPPED,
        "notice": ORDER_NOTICES.get(notice),
        "pay": pay_path(order_id, token) if waiting and order.payment.provider != "manual" else None,
        "status_names": STATUS_NAMES,
        "paid_with": PAID_WITH,
        "payment_states": PAYMENT_STATES,
    }
    return await page(request, "order.html", context, private=True)


@routes.post("/orders/{order}/cancel")
async def cancel_order(request: web.Request) -> web.Response:
    who, posted = await csrf.checked_form(request)
    token = posted.get("token", "")[:100]
    order_id, caller = order_of(request, who, token)
    try:
        await checkout.cancel(request.app[CHECKOUT], order_id, caller)
        notice = "cancelled"
    except checkout.InvalidTransition:  # shipped meanwhile, or cancelled already
        notice = "too_late"
    location = order_path(order_id, token or None)
    location += ("&" if "?" in location else "?") + f"notice={notice}"
    return web.Response(status=303, headers={"Location": location})
