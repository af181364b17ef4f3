"""The checkout component's HTTP routes: carts, checkout and orders."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from ..auth.interface import PRINCIPAL, STAFF_ROLES, optional_user, require_staff, require_user
from ..keys import DB, PAYMENTS, PRICING, REDIS, SETTINGS
from ..platform.endpoint import endpoint, path_uuid
from ..platform.errors import NotFound, Unavailable
from ..platform.idempotency import idempotent
from ..platform.jsonx import json_response
from . import carts, orders, settlement
from .carts import GUEST, Caller
from .errors import InvalidTransition
from .models import (
    Cart,
    CheckoutRequest,
    EventFeed,
    EventPage,
    Fulfil,
    ItemQuantity,
    MergedCart,
    NewItem,
    Order,
    OrderFilter,
    OrderPage,
    Placed,
    Refund,
    WebhookReceipt,
)
from .paypal_provider import SIGNATURE_HEADERS as PAYPAL_HEADERS

routes = web.RouteTableDef()
CART_TAGS, ORDER_TAGS = ("carts",), ("orders",)


def _caller(request: web.Request) -> Caller:
    claims = request.get(PRINCIPAL)
    return Caller(claims.user_id, claims.role in STAFF_ROLES) if claims else GUEST


def _cart_settings(request: web.Request) -> tuple[int, str]:
    settings = request.app[SETTINGS]
    return settings.cart_ttl, settings.currency


@routes.post("/api/v1/carts")
@endpoint(
    summary="Start a cart (a signed-in caller's is bound to them, and reused while open)",
    tags=CART_TAGS,
    response=Cart,
    status=201,
    guard=optional_user,
    makes={"cart": "/id"},
)
async def create_cart(request: web.Request) -> web.Response:
    db, caller = request.app[DB], _caller(request)
    ttl, currency = _cart_settings(request)
    cart_id = await carts.open_cart(db, caller, ttl)
    return json_response(await carts.show_cart(db, cart_id, caller, currency), status=201)


@routes.get("/api/v1/carts/{cart}")
@endpoint(
    summary="A cart, priced from the catalog now",
    tags=CART_TAGS,
    response=Cart,
    guard=optional_user,
    path={"cart": UUID},
)
async def get_cart(request: web.Request) -> web.Response:
    _, currency = _cart_settings(request)
    cart = await carts.show_cart(request.app[DB], path_uuid(request, "cart"), _caller(request), currency)
    return json_response(cart)


@routes.post("/api/v1/carts/{cart}/items")
@endpoint(
    summary="Add a variant (quantity 1-99, summed with what the cart has)",
    tags=CART_TAGS,
    body=NewItem,
    response=Cart,
    status=201,
    guard=optional_user,
    path={"cart": UUID},
    makes={"cart": "/id", "item": "/items/0/id"},
    errors=(404, 409, 422),  # 422: an unknown variant, or more than 99 of one in the cart
)
async def add_item(request: web.Request, body: NewItem) -> web.Response:
    ttl, currency = _cart_settings(request)
    cart = await carts.add_item(
        request.app[DB],
        path_uuid(request, "cart"),
        _caller(request),
        body.variant_id,
        body.quantity,
        ttl,
        currency,
    )
    return json_response(cart, status=201)


@routes.patch("/api/v1/carts/{cart}/items/{item}")
@endpoint(
    summary="Change an item's quantity (0 removes it)",
    tags=CART_TAGS,
    body=ItemQuantity,
    response=Cart,
    guard=optional_user,
    path={"cart": UUID, "item": UUID},
    errors=(404, 409),
)
async def update_item(request: web.Request, body: ItemQuantity) -> web.Response:
    ttl, currency = _cart_settings(request)
    cart_id, item_id = path_uuid(request, "cart"), path_uuid(request, "item")
    cart = await carts.set_quantity(
        request.app[DB], cart_id, _caller(request), item_id, body.quantity, ttl, currency
    )
    return json_response(cart)


@routes.delete("/api/v1/carts/{cart}/items/{item}")
@endpoint(
    summary="Remove an item",
    tags=CART_TAGS,
    response=Cart,
    guard=optional_user,
    path={"cart": UUID, "item": UUID},
    errors=(404, 409),
)
async def delete_item(request: web.Request) -> web.Response:
    ttl, currency = _cart_settings(request)
    cart_id, item_id = path_uuid(request, "cart"), path_uuid(request, "item")
    return json_response(
        await carts.remove_item(request.app[DB], cart_id, _caller(request), item_id, ttl, currency)
    )


@routes.post("/api/v1/carts/{guest_cart}/merge")
@endpoint(
    summary="Fold a guest cart into the signed-in user's cart; lines no longer for sale are dropped"
    " and listed in `dropped`",
    tags=CART_TAGS,
    response=MergedCart,
    guard=require_user,
    path={"guest_cart": UUID},
    errors=(404, 409),
)
async def merge_cart(request: web.Request) -> web.Response:
    ttl, currency = _cart_settings(request)
    user_id = request[PRINCIPAL].user_id
    return json_response(
        await carts.merge_guest_cart(
            request.app[DB], path_uuid(request, "guest_cart"), user_id, ttl, currency
        )
    )


@routes.post("/api/v1/carts/{cart}/checkout")
@endpoint(
    summary="Place the order: stock reserved, payment started (Idempotency-Key honoured)",
    tags=CART_TAGS,
    body=CheckoutRequest,
    response=Placed,
    status=201,
    guard=optional_user,
    path={"cart": UUID},
    idempotent=True,
    makes={"order": "/order/id"},
    errors=(404, 409, 422, 503),  # 422: an empty cart, a payment provider the shop has not set up
)
async def checkout(request: web.Request, body: CheckoutRequest) -> web.Response:
    app, caller = request.app, _caller(request)
    db, cart_id = app[DB], path_uuid(request, "cart")
    provider = app[PAYMENTS].get(body.payment_provider)  # 422 before anything is held

    async def place() -> web.Response:
        order, document = await orders.place_order(db, app[PRICING], cart_id, caller, body.model_dump())
        try:
            started = await provider.start(orders.charge_of(order))
        except Exception as e:
            await orders.abandon(db, order["id"], f"the payment could not be started: {e}")
            raise Unavailable("the payment provider did not answer; nothing was charged, try again") from e
        if started.ref is not None:
            await orders.attach_payment(db, order["id"], started.ref)
        payment = {
            "provider": provider.name,
            "status": "pending",
            "client_secret": started.client_secret,
            "approve_url": started.approve_url,
        }
        return json_response({"order": document, "payment": payment}, status=201)

    return await idempotent(request, db, str(caller.user_id or "guest"), place)


@routes.get("/api/v1/orders")
@endpoint(
    summary="Orders, newest first, by status and creation date (staff)",
    tags=ORDER_TAGS,
    query=OrderFilter,
    response=OrderPage,
    guard=require_staff,
    errors=(422,),  # a cursor this list did not make
)
async def list_orders(request: web.Request, query: OrderFilter) -> web.Response:
    return json_response(await orders.list_orders(request.app[DB], query))


@routes.get("/api/v1/events")
@endpoint(
    summary="What happened to orders, oldest first, for other systems to follow (staff); events"
    " show five seconds after they happen, so paging by `next_cursor` misses none",
    tags=ORDER_TAGS,
    query=EventFeed,
    response=EventPage,
    guard=require_staff,
    errors=(422,),  # a cursor this feed did not make
)
async def order_events(request: web.Request, query: EventFeed) -> web.Response:
    return json_response(await orders.events(request.app[DB], query.cursor, query.limit))


@routes.get("/api/v1/orders/{order}")
@endpoint(
    summary="An order: its owner, staff, or for a guest order whoever has its id",
    tags=ORDER_TAGS,
    response=Order,
    guard=optional_user,
    path={"order": UUID},
)
async def get_order(request: web.Request) -> web.Response:
    return await _order_answer(request)


async def _order_answer(request: web.Request) -> web.Response:
    row = await orders.visible_order(request.app[DB], path_uuid(request, "order"), _caller(request))
    return json_response(orders.order_document(row))


@routes.post("/api/v1/orders/{order}/cancel")
@endpoint(
    summary="Cancel before shipment (the buyer or staff): stock released, payment refunded",
    tags=ORDER_TAGS,
    response=Order,
    guard=optional_user,
    path={"order": UUID},
    errors=(404, 409),
)
async def cancel_order(request: web.Request) -> web.Response:
    app = request.app
    await orders.cancel(app[DB], app[PAYMENTS], path_uuid(request, "order"), _caller(request))
    return await _order_answer(request)


@routes.post("/api/v1/orders/{order}/fulfill")
@endpoint(
    summary="Ship a paid order: carrier and tracking number (staff)",
    tags=ORDER_TAGS,
    body=Fulfil,
    response=Order,
    guard=require_staff,
    path={"order": UUID},
    errors=(404, 409),
)
async def fulfil_order(request: web.Request, body: Fulfil) -> web.Response:
    await orders.fulfil(request.app[DB], path_uuid(request, "order"), body.carrier, body.tracking_number)
    return await _order_answer(request)


@routes.post("/api/v1/orders/{order}/deliver")
@endpoint(
    summary="Mark a shipped order delivered (staff)",
    tags=ORDER_TAGS,
    response=Order,
    guard=require_staff,
    path={"order": UUID},
    errors=(404, 409),
)
async def deliver_order(request: web.Request) -> web.Response:
    await orders.deliver(request.app[DB], path_uuid(request, "order"))
    return await _order_answer(request)


@routes.post("/api/v1/orders/{order}/mark-paid")
@endpoint(
    summary="Record a manual payment (staff; the manual provider)",
    tags=ORDER_TAGS,
    response=Order,
    guard=require_staff,
    path={"order": UUID},
    errors=(404, 409),
)
async def mark_paid(request: web.Request) -> web.Response:
    order_id = path_uuid(request, "order")
    await settlement.mark_paid(request.app[DB], request.app[REDIS], order_id, "payment recorded by staff")
    return await _order_answer(request)


@routes.post("/api/v1/orders/{order}/capture")
@endpoint(
    summary="Capture a PayPal payment the buyer approved (Idempotency-Key honoured)",
    tags=ORDER_TAGS,
    response=Order,
    guard=optional_user,
    path={"order": UUID},
    idempotent=True,
    errors=(404, 409),
)
async def capture_order(request: web.Request) -> web.Response:
    app, caller = request.app, _caller(request)

    async def run() -> web.Response:
        row = await orders.visible_order(app[DB], path_uuid(request, "order"), caller)
        if row["payment_provider"] != "paypal" or row["payment_ref"] is None:
            raise InvalidTransition("only PayPal payments are captured")
        if row["status"] != "pending_payment":
            raise InvalidTransition(f"an order that is {row['status']} takes no payment")
        provider = app[PAYMENTS].get("paypal")
        await provider.capture(row["payment_ref"])
        await settlement.settle(app[DB], app[REDIS], provider, row["payment_ref"])
        return await _order_answer(request)

    return await idempotent(request, app[DB], str(caller.user_id or "guest"), run)


@routes.post("/api/v1/orders/{order}/refund")
@endpoint(
    summary="Refund all or part of what was paid (staff; Idempotency-Key honoured)",
    tags=ORDER_TAGS,
    body=Refund,
    response=Order,
    guard=require_staff,
    path={"order": UUID},
    idempotent=True,
    errors=(404, 409, 422),  # 422: more than is left to refund
)
async def refund_order(request: web.Request, body: Refund) -> web.Response:
    app, order_id = request.app, path_uuid(request, "order")

    async def run() -> web.Response:
        await orders.refund(app[DB], app[PAYMENTS], order_id, body.amount, body.reason)
        return await _order_answer(request)

    return await idempotent(request, app[DB], str(request[PRINCIPAL].user_id), run)


@routes.post("/api/v1/webhooks/stripe")
@endpoint(
    summary="Stripe events: Stripe-Signature verified (300 s tolerance); a replay changes nothing",
    tags=("webhooks",),
    response=WebhookReceipt,
    raw_body="application/json",
    headers={"Stripe-Signature": "Stripe's signature of the body; without a good one, 400"},
    errors=(400, 404),  # 404: Stripe is not set up in this shop
)
async def stripe_webhook(request: web.Request) -> web.Response:
    provider = request.app[PAYMENTS].providers.get("stripe")
    if provider is None:
        raise NotFound("Stripe is not set up in this shop")
    signature = request.headers.get("Stripe-Signature", "")
    app = request.app
    outcome = await settlement.stripe_event(app[DB], app[REDIS], provider, await request.read(), signature)
    return json_response({"received": True, "outcome": outcome})


@routes.post("/api/v1/webhooks/paypal")
@endpoint(
    summary="PayPal events, verified through PayPal's verify-webhook-signature; a replay changes nothing",
    tags=("webhooks",),
    response=WebhookReceipt,
    raw_body="application/json",
    headers={name: "a PayPal signature header; without them all, 400" for name in PAYPAL_HEADERS.values()},
    errors=(400, 404, 409),  # 404: PayPal is not set up in this shop; 409: PayPal refused to verify
)
async def paypal_webhook(request: web.Request) -> web.Response:
    app = request.app
    provider = app[PAYMENTS].providers.get("paypal")
    if provider is None:
        raise NotFound("PayPal is not set up in this shop")
    outcome = await settlement.paypal_event(
        app[DB], app[REDIS], provider, await request.read(), request.headers
    )
    return json_response({"received": True, "outcome": outcome})
