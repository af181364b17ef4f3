"""The typed keys under which the app holds its shared resources."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from arq.connections import ArqRedis

from ..auth.service import Auth
from ..checkout.orders import Pricing
from ..checkout.payments import Payments
from .cache import Cache
from .db import Database
from .metrics import Metrics
from .ratelimit import RateLimiter
from .settings import Settings

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
REDIS = web.AppKey("redis", ArqRedis)  # one pool for cache, sessions, limits and the job queue
METRICS = web.AppKey("metrics", Metrics)
CACHE = web.AppKey("cache", Cache)
AUTH = web.AppKey("auth", Auth)
LIMITER = web.AppKey("limiter", RateLimiter)
PRICING = web.AppKey("pricing", Pricing)
PAYMENTS = web.AppKey("payments", Payments)
HTTP = web.AppKey("http", aiohttp.ClientSession)  # outbound calls: sign-in and payment providers
