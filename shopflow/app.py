"""The app factory: settings → pools → components → middleware."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from arq.connections import ArqRedis

from .auth import routes as auth_routes
from .auth.backoff import LoginBackoff
from .auth.oauth import OAuth, configured_providers
from .auth.passwords import PasswordHasher
from .auth.service import AccountMail, Auth
from .auth.sessions import Sessions
from .auth.tokens import AccessTokens
from .catalog import routes as catalog_routes
from .catalog.interface import StockNotices
from .catalog.service import CACHE_NAMESPACES
from .checkout import routes as checkout_routes
from .checkout.access import OrderAccess
from .checkout.context import Checkout, Pricing
from .checkout.providers import build_payments
from .checkout.sales import Sales
from .keys import (
    AUTH,
    CACHE,
    CHECKOUT,
    CONNECTIONS,
    DB,
    DEPENDENCIES,
    HTTP,
    IDEMPOTENCY,
    LIMITER,
    MEDIA_STORAGE,
    METRICS,
    REDIS,
    SETTINGS,
    TRAFFIC,
)
from .media import delivery as media_delivery
from .media import routes as media_routes
from .media.backends import open_storage
from .media.cache import CachedStorage
from .platform import health
from .platform.cache import Cache
from .platform.connections import Connections, connections_ctx
from .platform.db import Database
from .platform.dependencies import Dependencies, Dependency
from .platform.idempotency import Leases
from .platform.metrics import Metrics
from .platform.metrics_group import metrics_group_ctx
from .platform.middleware import Traffic, platform_middleware, response_headers, traffic_ctx
from .platform.ratelimit import AddressLimit, RateLimiter
from .platform.redisx import connect
from .platform.settings import Settings, SettingsError, load_settings
from .users import history_routes as users_history_routes
from .users import privacy_routes, wishlist_routes
from .users import routes as users_routes
from .web import account as web_account
from .web import assets as web_assets
from .web import cart as web_cart
from .web import checkout as web_checkout
from .web import pages as web_pages
from .web import pay as web_pay
from .web import signin as web_signin
from .web.errors import pages_middleware
from .web.render import setup_templates, with_assets

PROBE_EVERY = 1.0  # seconds between the background checks of PostgreSQL and Redis


async def postgres_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.database_url:
        raise SettingsError("DATABASE_URL is not set (`shopflow dev` starts an embedded PostgreSQL)")
    db = app[DB] = await Database.open(settings, settings.db_pool_min, settings.db_pool_max)
    pool = db.pool
    app[DEPENDENCIES].add("postgres", Dependency(lambda: db.fetchval("SELECT 1")))
    app[METRICS].gauge("db_pool_size", "Connections open in the DB pool", pool.get_size)
    app[METRICS].gauge("db_pool_in_use", "DB pool connections in use", db.in_use)
    yield
    await pool.close()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.redis_url:
        raise SettingsError("REDIS_URL is not set (`shopflow dev` starts an embedded Redis)")
    # The shop starts, and stays up, without Redis: what needs it answers 503 meanwhile.
    redis = app[REDIS] = connect(settings.redis_url, settings.redis_timeout)
    dependencies = app[DEPENDENCIES]

    async def drop_idle_connections(up: bool) -> None:
        # after an outage, idle connections lead to the server that died
        await redis.connection_pool.disconnect(inuse_connections=False)

    dependencies.add("redis", Dependency(redis.ping, on_change=drop_idle_connections))
    await dependencies.check()  # logs a warning when Redis does not answer
    app[LIMITER] = RateLimiter(redis)
    cache = app[CACHE] = build_cache(settings, redis, app[METRICS])
    limit = app[TRAFFIC].address_limit = AddressLimit(
        redis, settings.rate_limit_api_ip, settings.trusted_proxies, settings.rate_limit_api_settle
    )
    tasks = [
        asyncio.create_task(cache.listen()),
        asyncio.create_task(limit.run()),
        asyncio.create_task(dependencies.probe(PROBE_EVERY)),
    ]
    yield
    app[TRAFFIC].address_limit = None
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await redis.aclose()


async def idempotency_ctx(app: web.Application) -> AsyncIterator[None]:
    """The leases on the Idempotency-Keys this process is running, renewed in the background."""
    leases = app[IDEMPOTENCY] = Leases(app[DB], app[SETTINGS].idempotency_lease)
    task = asyncio.create_task(leases.run())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def build_cache(settings: Settings, redis: ArqRedis, metrics: Metrics) -> Cache:
    return Cache(
        redis,
        metrics,
        ttl=settings.cache_ttl,
        local_ttl=settings.local_cache_ttl,
        namespaces=CACHE_NAMESPACES,
    )


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=15, connect=5)
    async with aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as session:
        app[HTTP] = session
        yield


async def media_ctx(app: web.Application) -> AsyncIterator[None]:
    """The media storage the settings name (a directory, or an S3 client and its connections)."""
    settings = app[SETTINGS]
    async with open_storage(settings) as storage:
        budget = settings.media_memory_cache_mb * 2**20
        app[MEDIA_STORAGE] = CachedStorage(storage, budget) if budget else storage
        yield


async def checkout_ctx(app: web.Application) -> AsyncIterator[None]:
    co = app[CHECKOUT] = build_checkout(app[SETTINGS], app[DB], app[REDIS], app[CACHE], app[METRICS])
    async with running(co.stock):
        yield
    await co.payments.close()


@asynccontextmanager
async def running(stock: StockNotices) -> AsyncIterator[None]:
    """Stock notices sent in the background while this lasts, and the last ones on the way out."""
    task = asyncio.create_task(stock.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stock.flush()


def build_checkout(
    settings: Settings, db: Database, queue: ArqRedis, cache: Cache, metrics: Metrics
) -> Checkout:
    """The checkout component's dependencies, for the app and the worker alike."""
    payments = build_payments(settings)
    pricing = Pricing(
        settings.currency, settings.shipping_rates, settings.tax_rates, settings.reservation_ttl
    )
    access = OrderAccess.from_secret(settings.jwt_secret.get_secret_value(), settings.public_url)
    sales = Sales(metrics, payments.providers, settings.currency)
    return Checkout(db, queue, StockNotices(cache), payments, pricing, settings.cart_ttl, access, sales)


async def auth_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    secret, pepper = settings.jwt_secret.get_secret_value(), settings.password_pepper.get_secret_value()
    if len(secret) < 32 or len(pepper) < 16:
        raise SettingsError(
            "SHOPFLOW_JWT_SECRET (32+ characters) and SHOPFLOW_PASSWORD_PEPPER (16+) must be set"
        )
    passwords = PasswordHasher(settings.bcrypt_cost, pepper.encode(), settings.bcrypt_threads)
    await passwords.start()
    tokens = AccessTokens(
        secret.encode(),
        settings.jwt_algorithm,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.access_token_ttl,
    )
    redis = app[REDIS]
    sessions = Sessions(redis, settings.session_idle_timeout, settings.session_lifetime)
    backoff = LoginBackoff(redis, settings.login_backoff_after, settings.login_backoff_max)
    mail = AccountMail(settings.public_url, settings.email_token_ttl, settings.reset_token_ttl)
    oauth = OAuth(
        configured_providers(settings), redis, app[HTTP], settings.public_url, settings.oauth_state_ttl
    )
    app[AUTH] = Auth(passwords, tokens, sessions, backoff, mail, oauth)
    yield
    passwords.close()


def create_app(settings: Settings | None = None, *, metrics_dir: Path | None = None) -> web.Application:
    """The whole shop as one aiohttp application; `metrics_dir` is shared with the other
    processes of one `serve --workers N`, so that /metrics answers for all of them."""
    settings = settings or load_settings()
    app = web.Application(
        middlewares=[platform_middleware, pages_middleware(settings)],
        client_max_size=settings.max_body_bytes,
        handler_args={"keepalive_timeout": settings.keepalive_timeout},
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics = Metrics()
    app[DEPENDENCIES] = Dependencies(metrics)
    headers = response_headers(production=not settings.dev)
    traffic = app[TRAFFIC] = Traffic(
        settings.max_concurrent_requests, settings.request_timeout, settings.max_queue_delay, metrics, headers
    )
    metrics.gauge("http_requests_in_flight", "HTTP requests being answered", lambda: traffic.in_flight)
    app[CONNECTIONS] = Connections(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_read_timeout,
        per_address=settings.max_connections_per_address,
        total=settings.max_connections,
        trusted=settings.trusted_proxies,
        metrics=metrics,
        traffic=traffic,
    )
    app.cleanup_ctx.extend(
        [
            traffic_ctx,
            connections_ctx,
            postgres_ctx,
            idempotency_ctx,
            redis_ctx,
            http_ctx,
            auth_ctx,
            checkout_ctx,
            media_ctx,
        ]
    )
    app.router.add_routes(health.routes)
    app.router.add_routes(auth_routes.routes)
    app.router.add_routes(catalog_routes.routes)
    app.router.add_routes(checkout_routes.routes)
    app.router.add_routes(media_routes.routes)
    app.router.add_routes(media_delivery.routes)
    app.router.add_routes(users_routes.routes)
    app.router.add_routes(privacy_routes.routes)
    app.router.add_routes(wishlist_routes.routes)
    app.router.add_routes(users_history_routes.routes)
    setup_templates(app, with_assets(app))
    app.router.add_routes(web_pages.routes)  # HTML pages: not API operations, so not in /openapi.json
    app.router.add_routes(web_assets.routes)
    app.router.add_routes(web_cart.routes)
    app.router.add_routes(web_checkout.routes)
    app.router.add_routes(web_signin.routes)
    app.router.add_routes(web_pay.routes)
    app.router.add_routes(web_account.routes)
    app.cleanup_ctx.append(health.openapi_ctx)
    if metrics_dir is not None:
        app.cleanup_ctx.append(metrics_group_ctx(metrics_dir))
    return app
