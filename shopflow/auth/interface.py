"""What other components may call: who is asking, and the seams that guard endpoints."""

from __future__ import annotations

from aiohttp import web

from ..platform.errors import Forbidden
from ..platform.keys import AUTH
from .errors import InvalidToken
from .service import authenticate
from .tokens import Claims

PRINCIPAL = web.RequestKey("principal", Claims)
STAFF_ROLES = frozenset({"staff", "admin"})


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_user(request: web.Request) -> Claims:
    """The signed-in caller (a valid access token of a live session), else 401."""
    token = bearer_token(request)
    if token is None:
        raise InvalidToken(
            "sign in: a bearer access token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    claims = await authenticate(request.app[AUTH], token)
    request[PRINCIPAL] = claims
    return claims


async def require_staff(request: web.Request) -> Claims:
    """A signed-in staff member or admin; customers get 403."""
    claims = await require_user(request)
    if claims.role not in STAFF_ROLES:
        raise Forbidden("staff only")
    return claims
