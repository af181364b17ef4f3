"""The auth component's HTTP routes."""

from __future__ import annotations

from aiohttp import web

from ..platform.endpoint import endpoint
from ..platform.jsonx import json_response
from ..platform.keys import AUTH, DB
from . import service
from .interface import PRINCIPAL, require_user
from .models import Login, Refresh, Register, SessionInfo, TokenPair

routes = web.RouteTableDef()
TAGS = ("auth",)


@routes.post("/api/v1/auth/register")
@endpoint(
    summary="Open an account and sign in",
    tags=TAGS,
    body=Register,
    response=TokenPair,
    status=201,
    errors=(409,),
)
async def register(request: web.Request, body: Register) -> web.Response:
    app = request.app
    pair = await service.register(app[DB], app[AUTH], body.email, body.password, body.name)
    return json_response(pair, status=201)


@routes.post("/api/v1/auth/login")
@endpoint(summary="Sign in with email and password", tags=TAGS, body=Login, response=TokenPair, errors=(401,))
async def login(request: web.Request, body: Login) -> web.Response:
    app = request.app
    return json_response(await service.login(app[DB], app[AUTH], body.email, body.password))


@routes.post("/api/v1/auth/refresh")
@endpoint(
    summary="Trade a refresh token for a new pair", tags=TAGS, body=Refresh, response=TokenPair, errors=(401,)
)
async def refresh(request: web.Request, body: Refresh) -> web.Response:
    app = request.app
    return json_response(await service.refresh(app[DB], app[AUTH], body.refresh_token))


@routes.post("/api/v1/auth/logout")
@endpoint(summary="End this session", tags=TAGS, status=204, guard=require_user)
async def logout(request: web.Request) -> web.Response:
    await service.logout(request.app[AUTH], request[PRINCIPAL])
    return web.Response(status=204)


@routes.post("/api/v1/auth/logout-all")
@endpoint(summary="End every session of this account", tags=TAGS, status=204, guard=require_user)
async def logout_all(request: web.Request) -> web.Response:
    await service.logout_all(request.app[AUTH], request[PRINCIPAL].user_id)
    return web.Response(status=204)


@routes.get("/api/v1/auth/session")
@endpoint(
    summary="Who is signed in, and in which session", tags=TAGS, response=SessionInfo, guard=require_user
)
async def session(request: web.Request) -> web.Response:
    claims = request[PRINCIPAL]
    user = await service.current_user(request.app[DB], claims)
    return json_response({"user": service.user_json(user), "session_id": claims.session_id})
