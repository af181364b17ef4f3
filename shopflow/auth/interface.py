"""What other components may call: the one seam for staff-only endpoints."""

from __future__ import annotations

import hmac

from aiohttp import web

from ..platform.errors import Unauthorized
from ..platform.keys import SETTINGS


async def require_staff(request: web.Request) -> None:
    """Allow the request only for staff: for now, the bearer of the admin API token."""
    token = request.app[SETTINGS].admin_token.get_secret_value()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("a staff bearer token is required", headers={"WWW-Authenticate": "Bearer"})
