"""The checkout component's HTTP routes: carts, checkout and orders."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from ..auth.interface import PRINCIPAL, STAFF_ROLES, optional_user, require_staff, require_user
from ..keys import CHECKOUT, IDEMPOTENCY
from ..platform.endpoint import endpoint, path_uuid
from ..platform.idempotency import Claim, idempotent
from ..platform.jsonx import json_response
from . import carts, order_views, orders, service, settlement
from .carts import STAFF, Caller
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
    OrderAccess,
    OrderFilter,
    OrderPage,
    Placed,
    Refund,
    WebhookReceipt,
)
from .paypal_provider import SIGNATURE_HEADERS as PAYPAL_HEADERS

routes = web.RouteTableDef()
CART_TAGS, ORDER_TAGS = ("carts",), ("orders",)
ORDER_TOKEN_HEADER = {"X-Order-Token": "a guest order's secret, as answered at checkout (or `?token=`)"}


def _caller(request: web.Request, access: OrderAccess | None = None) -> Caller:
    claims = request.get(PRINCIPAL)
    token = (access.token if access else None) or request.headers.get("X-Order-Token")
    if claims is None:
        return Caller(order_token=token)
    return Caller(claims.user_id, claims.role in STAFF_ROLES, token)


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
    return json_response(await carts.open_cart(request.app[CHECKOUT], _caller(request)), status=201)


@routes.get("/api/v1/carts/{cart}")
@endpoint(
    summary="A cart, priced from the catalog now",
    tags=CART_TAGS,
    response=Cart,
    guard=optional_user,
    path={"cart": UUID},
)
async def get_cart(request: web.Request) -> web.Response:
    co = request.app[CHECKOUT]
    cart = await carts.show_cart(co.db, path_uuid(request, "cart"), _caller(request), co.pricing.currency)
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
    cart = await carts.add_item(
        request.app[CHECKOUT], path_uuid(request, "cart"), _caller(request), body.variant_id, body.quantity
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
    cart_id, item_id = path_uuid(request, "cart"), path_uuid(request, "item")
    cart = await carts.set_quantity(request.app[CHECKOUT], cart_id, _caller(request), item_id, body.quantity)
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
    cart_id, item_id = path_uuid(request, "cart"), path_uuid(request, "item")
    return json_response(
        await carts.set_quantity(request.app[CHECKOUT], cart_id, _caller(request), item_id, 0)
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
    user_id = request[PRINCIPAL].user_id
    return json_response(
        await carts.merge_guest_cart(request.app[CHECKOUT], path_uuid(request, "guest_cart"), user_id)
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
    makes={"order": "/order/id", "token": "/order_token"},
    errors=(404, 409, 422, 503),  # 422: an empty cart, a payment provider the shop has not set up
)
async def checkout(request: web.Request, body: CheckoutRequest) -> web.Response:
    co, caller = request.app[CHECKOUT], _caller(request)
    cart_id = path_uuid(request, "cart")

    async def place(claim: Claim | None) -> web.Response:
        return json_response(await service.checkout(co, cart_id, caller, body, claim), status=201)

    async def resume(order_id: UUID, claim: Claim) -> web.Response:
        return json_response(await service.resume_checkout(co, order_id, claim), status=201)

    return await idempotent(request, request.app[IDEMPOTENCY], str(caller.user_id or "guest"), place, resume)


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
    return json_response(await order_views.list_orders(request.app[CHECKOUT].db, query))


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
    return json_response(await order_views.events(request.app[CHECKOUT].db, query.cursor, query.limit))


@routes.get("/api/v1/orders/{order}")
@endpoint(
    summary="An order: its owner, staff, or for a guest order whoever has its secret",
    tags=ORDER_TAGS,
    query=OrderAccess,
    response=Order,
    guard=optional_user,
    path={"order": UUID},
    headers=ORDER_TOKEN_HEADER,
)
async def get_order(request: web.Request, query: OrderAccess) -> web.Response:
    caller = _caller(request, query)
    return json_response(
        await order_views.visible_order(request.app[CHECKOUT].db, path_uuid(request, "order"), caller)
    )


@routes.post("/api/v1/orders/{order}/cancel")
@endpoint(
    summary="Cancel before shipment (the buyer or staff): stock released, payment refunded",
    tags=ORDER_TAGS,
    query=OrderAccess,
    response=Order,
    guard=optional_user,
    path={"order": UUID},
    headers=ORDER_TOKEN_HEADER,
    errors=(404, 409),
)
async def cancel_order(request: web.Request, query: OrderAccess) -> web.Response:
    caller = _caller(request, query)
    return json_response(await orders.cancel(request.app[CHECKOUT], path_uuid(request, "order"), caller))


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
    order_id = path_uuid(request, "order")
    order = await orders.fulfil(request.app[CHECKOUT].db, order_id, body.carrier, body.tracking_number)
    return json_response(order)


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
    return json_response(await orders.deliver(request.app[CHECKOUT].db, path_uuid(request, "order")))


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
    order_id, note = path_uuid(request, "order"), "payment recorded by staff"
    return json_response(await settlement.mark_paid(request.app[CHECKOUT], order_id, note))


@routes.post("/api/v1/orders/{order}/capture")
@endpoint(
    summary="Capture a PayPal payment the buyer approved (Idempotency-Key honoured)",
    tags=ORDER_TAGS,
    query=OrderAccess,
    response=Order,
    guard=optional_user,
    path={"order": UUID},
    headers=ORDER_TOKEN_HEADER,
    idempotent=True,
    errors=(404, 409),
)
async def capture_order(request: web.Request, query: OrderAccess) -> web.Response:
    co, caller = request.app[CHECKOUT], _caller(request, query)

    async def run(claim: Claim | None) -> web.Response:
        return json_response(await service.capture(co, path_uuid(request, "order"), caller, claim))

    async def resume(order_id: UUID, claim: Claim) -> web.Response:
        return json_response(await service.order_now(co, order_id, caller))

    return await idempotent(request, request.app[IDEMPOTENCY], str(caller.user_id or "guest"), run, resume)


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
    co, order_id = request.app[CHECKOUT], path_uuid(request, "order")

    async def run(claim: Claim | None) -> web.Response:
        return json_response(await orders.refund(co, order_id, body.amount, body.reason, claim))

    async def resume(refunded: UUID, claim: Claim) -> web.Response:  # never a second refund
        return json_response(await service.order_now(co, refunded, STAFF))

    return await idempotent(request, request.app[IDEMPOTENCY], str(request[PRINCIPAL].user_id), run, resume)


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
    signature = request.headers.get("Stripe-Signature", "")
    outcome = await service.stripe_webhook(request.app[CHECKOUT], await request.read(), signature)
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
    outcome = await service.paypal_webhook(request.app[CHECKOUT], await request.read(), request.headers)
    return json_response({"received": True, "outcome": outcome})
