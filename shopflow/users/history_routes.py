"""The users component's HTTP routes for order history and the dashboard."""

from __future__ import annotations

from aiohttp import web

from ..auth.interface import PRINCIPAL, require_user
from ..keys import DB, SETTINGS
from ..platform.endpoint import endpoint
from ..platform.jsonx import json_response
from . import history
from .models import CustomerOrderPage, CustomerOrdersQuery, Dashboard

routes = web.RouteTableDef()
TAGS = ("account",)


@routes.get("/api/v1/me/orders")
@endpoint(
    summary="The caller's orders, newest first, with their lines (keyset pages)",
    tags=TAGS,
    query=CustomerOrdersQuery,
    response=CustomerOrderPage,
    guard=require_user,
    makes={"order": "/items/0/id"},
    errors=(422,),  # a cursor this list did not make
)
async def my_orders(request: web.Request, query: CustomerOrdersQuery) -> web.Response:
    user_id = request[PRINCIPAL].user_id
    return json_response(await history.order_history(request.app[DB], user_id, query.cursor, query.limit))


@routes.get("/api/v1/me/dashboard")
@endpoint(
    summary="The caller's account at a glance: profile, latest orders, open orders, spend",
    tags=TAGS,
    response=Dashboard,
    guard=require_user,
    makes={"order": "/recent_orders/0/id"},
)
async def my_dashboard(request: web.Request) -> web.Response:
    user_id, currency = request[PRINCIPAL].user_id, request.app[SETTINGS].currency
    return json_response(await history.dashboard(request.app[DB], user_id, currency))
