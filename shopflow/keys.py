"""The typed keys under which the app holds its shared resources, in one place above the
components. Types are imported for the checker only, so `platform/` can use these keys
without importing any component."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import aiohttp
    from arq.connections import ArqRedis

    from .auth.service import Auth
    from .checkout.context import Checkout
    from .media.storage import Storage
    from .platform.cache import Cache
    from .platform.connections import Connections
    from .platform.db import Database
    from .platform.dependencies import Dependencies
    from .platform.idempotency import Leases
    from .platform.metrics import Metrics
    from .platform.middleware import Traffic
    from .platform.ratelimit import RateLimiter
    from .platform.settings import Settings
    from .web.assets import Assets
    from .web.pagecache import PageCache

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
DB: web.AppKey[Database] = web.AppKey("db")
REDIS: web.AppKey[ArqRedis] = web.AppKey("redis")  # one pool: cache, sessions, limits, job queue
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
DEPENDENCIES: web.AppKey[Dependencies] = web.AppKey("dependencies")  # whether PostgreSQL and Redis answer
TRAFFIC: web.AppKey[Traffic] = web.AppKey("traffic")
CONNECTIONS: web.AppKey[Connections] = web.AppKey("connections")  # what each client may hold
CACHE: web.AppKey[Cache] = web.AppKey("cache")
LIMITER: web.AppKey[RateLimiter] = web.AppKey("limiter")
HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("http")  # outbound: sign-in, payment providers
OPENAPI: web.AppKey[bytes] = web.AppKey("openapi")
AUTH: web.AppKey[Auth] = web.AppKey("auth")
CHECKOUT: web.AppKey[Checkout] = web.AppKey("checkout")
IDEMPOTENCY: web.AppKey[Leases] = web.AppKey("idempotency")  # the Idempotency-Keys this process runs
MEDIA_STORAGE: web.AppKey[Storage] = web.AppKey("media_storage")  # where media bytes live (local or S3)
WEB_ASSETS: web.AppKey[Assets] = web.AppKey("web_assets")  # the storefront's static files, by hashed name
WEB_PAGES: web.AppKey[PageCache] = web.AppKey("web_pages")  # guests' pages, rendered (web/guest.py)
