"""The users component's HTTP routes: the signed-in user's profile, credentials,
preferences and address book. Every path needs a signed-in caller and sees only theirs."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from ..auth.interface import PRINCIPAL, require_user
from ..keys import DB, SETTINGS
from ..platform.endpoint import endpoint, path_uuid
from ..platform.jsonx import json_response
from . import addresses, service
from .interface import credentials
from .models import (
    Accepted,
    AddressBook,
    BookAddress,
    BookAddressPatch,
    EmailChange,
    NewBookAddress,
    PasswordChange,
    Preferences,
    PreferencesIn,
    Profile,
    ProfilePatch,
)

routes = web.RouteTableDef()
TAGS = ("me",)


@routes.get("/api/v1/me")
@endpoint(summary="The signed-in user's profile", tags=TAGS, response=Profile, guard=require_user)
async def get_profile(request: web.Request) -> web.Response:
    return json_response(await service.profile(request.app[DB], request[PRINCIPAL].user_id))


@routes.patch("/api/v1/me")
@endpoint(
    summary="Change the name, phone (E.164; null removes it) or locale (BCP 47)",
    tags=TAGS,
    body=ProfilePatch,
    response=Profile,
    guard=require_user,
)
async def update_profile(request: web.Request, body: ProfilePatch) -> web.Response:
    return json_response(await service.update_profile(request.app[DB], request[PRINCIPAL].user_id, body))


@routes.post("/api/v1/me/email")
@endpoint(
    summary="Change the email address: a link goes to the new address (the change happens when it"
    " is used, through POST /api/v1/auth/email/verify) and a notice to the current one; 403 for a"
    " wrong password, 409 if another account has the address",
    tags=TAGS,
    body=EmailChange,
    response=Accepted,
    status=202,
    guard=require_user,
    errors=(403, 409, 429),
)
async def change_email(request: web.Request, body: EmailChange) -> web.Response:
    user_id = request[PRINCIPAL].user_id
    await service.change_email(credentials(request.app), user_id, body.password, body.new_email)
    detail = f"A link to confirm the change is on its way to {body.new_email}."
    return json_response({"detail": detail}, status=202)


@routes.post("/api/v1/me/password")
@endpoint(
    summary="Change the password (403 for a wrong current one); every other session ends",
    tags=TAGS,
    body=PasswordChange,
    status=204,
    guard=require_user,
    errors=(403, 422, 429),  # 422: a new password that is too common
)
async def change_password(request: web.Request, body: PasswordChange) -> web.Response:
    claims = request[PRINCIPAL]
    await service.change_password(
        credentials(request.app), claims.user_id, claims.session_id, body.current_password, body.new_password
    )
    return web.Response(status=204)


@routes.get("/api/v1/me/preferences")
@endpoint(
    summary="The signed-in user's preferences (defaults until set)",
    tags=TAGS,
    response=Preferences,
    guard=require_user,
)
async def get_preferences(request: web.Request) -> web.Response:
    app = request.app
    prefs = await service.preferences(app[DB], request[PRINCIPAL].user_id, app[SETTINGS].currency)
    return json_response(prefs)


@routes.put("/api/v1/me/preferences")
@endpoint(
    summary="Replace the preferences (every field); the marketing consent's time moves when it changes",
    tags=TAGS,
    body=PreferencesIn,
    response=Preferences,
    guard=require_user,
)
async def put_preferences(request: web.Request, body: PreferencesIn) -> web.Response:
    return json_response(await service.put_preferences(request.app[DB], request[PRINCIPAL].user_id, body))


@routes.get("/api/v1/me/addresses")
@endpoint(
    summary="The address book, newest first",
    tags=TAGS,
    response=AddressBook,
    guard=require_user,
)
async def list_addresses(request: web.Request) -> web.Response:
    items = await addresses.list_addresses(request.app[DB], request[PRINCIPAL].user_id)
    return json_response({"items": items})


@routes.post("/api/v1/me/addresses")
@endpoint(
    summary="Add an address to the book (409 when it holds 50); the first is both defaults",
    tags=TAGS,
    body=NewBookAddress,
    response=BookAddress,
    status=201,
    guard=require_user,
    makes={"address": "/id"},
    errors=(409,),
)
async def add_address(request: web.Request, body: NewBookAddress) -> web.Response:
    entry = await addresses.add_address(request.app[DB], request[PRINCIPAL].user_id, body)
    return json_response(entry, status=201)


@routes.patch("/api/v1/me/addresses/{address}")
@endpoint(
    summary="Change an address, or make it the default shipping or billing address",
    tags=TAGS,
    body=BookAddressPatch,
    response=BookAddress,
    guard=require_user,
    path={"address": UUID},
    errors=(404,),
)
async def update_address(request: web.Request, body: BookAddressPatch) -> web.Response:
    user_id, address_id = request[PRINCIPAL].user_id, path_uuid(request, "address")
    return json_response(await addresses.update_address(request.app[DB], user_id, address_id, body))


@routes.delete("/api/v1/me/addresses/{address}")
@endpoint(
    summary="Delete an address; if it was a default, the newest other address becomes it",
    tags=TAGS,
    status=204,
    guard=require_user,
    path={"address": UUID},
    errors=(404,),
)
async def delete_address(request: web.Request) -> web.Response:
    user_id, address_id = request[PRINCIPAL].user_id, path_uuid(request, "address")
    await addresses.delete_address(request.app[DB], user_id, address_id)
    return web.Response(status=204)
