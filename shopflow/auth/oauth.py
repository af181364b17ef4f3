"""Sign-in through Google (OpenID Connect, code flow with PKCE) and Facebook (OAuth 2 code flow).

`begin` makes the provider's authorize URL and a single-use `state`, kept in Redis with the
PKCE verifier, the nonce and where to go afterwards; the browser holds the same `state` in a
cookie, so a callback only counts in the browser that started it. `finish` checks both, spends
the state, trades the code for tokens and returns the provider's verified identity.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit
from uuid import UUID

import aiohttp
import jwt
import orjson
from redis.asyncio import Redis

from ..platform.errors import Unavailable
from ..platform.settings import Settings
from .errors import OAuthFailed, UnknownProvider

GOOGLE, FACEBOOK = "google", "facebook"
JWKS_REFRESH = 300  # seconds between JWKS fetches, however many unknown key ids arrive


@dataclass(frozen=True)
class Provider:
    name: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scope: str
    jwks_url: str = ""  # Google
    issuers: tuple[str, ...] = ()  # Google
    me_url: str = ""  # Facebook


def configured_providers(settings: Settings) -> dict[str, Provider]:
    """The providers this shop offers: those with both a client id and a secret."""
    found = {}
    google_secret = settings.google_client_secret.get_secret_value()
    if settings.google_client_id and google_secret:
        found[GOOGLE] = Provider(
            GOOGLE,
            settings.google_client_id,
            google_secret,
            settings.google_authorize_url,
            settings.google_token_url,
            "openid email profile",
            jwks_url=settings.google_jwks_url,
            issuers=settings.google_issuer,
        )
    facebook_secret = settings.facebook_app_secret.get_secret_value()
    if settings.facebook_app_id and facebook_secret:
        found[FACEBOOK] = Provider(
            FACEBOOK,
            settings.facebook_app_id,
            facebook_secret,
            settings.facebook_authorize_url,
            settings.facebook_token_url,
            "email public_profile",
            me_url=settings.facebook_me_url,
        )
    return found


@dataclass(frozen=True)
class Identity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str


@dataclass(frozen=True)
class Flow:
    """A started sign-in, as kept under its state."""

    provider: str
    next_path: str
    link_user: UUID | None  # set when a signed-in user links this provider
    cart_id: UUID | None  # a guest cart to fold into the account's once signed in
    wishlist_id: UUID | None  # a guest wishlist to fold into the account's default one, likewise
    nonce: str
    verifier: str


_FLOW_IDS = ("link_user", "cart_id", "wishlist_id")  # kept in a flow as text or null


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None


def safe_next(value: str | None) -> str:
    """`value` when it is a path on this site, else "/": never a way off it."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class OAuth:
    def __init__(
        self,
        providers: dict[str, Provider],
        redis: Redis,
        http: aiohttp.ClientSession,
        public_url: str,
        state_ttl: int,
    ) -> None:
        self.providers = providers
        self.redis = redis
        self.http = http
        self.public_url = public_url.rstrip("/")
        self.state_ttl = state_ttl
        self._jwks: dict[str, jwt.PyJWK] = {}
        self._jwks_fetched = -math.inf
        self._jwks_lock = asyncio.Lock()

    def provider(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise UnknownProvider(f"this shop offers no sign-in through {name!r}") from None

    def redirect_uri(self, provider: Provider) -> str:
        return f"{self.public_url}/api/v1/auth/oauth/{provider.name}/callback"

    async def begin(
        self,
        name: str,
        next_path: str,
        link_user: UUID | None = None,
        cart_id: UUID | None = None,
        wishlist_id: UUID | None = None,
    ) -> tuple[str, str]:
        """The provider's authorize URL and the state the browser keeps until the callback."""
        provider = self.provider(name)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        flow = {
            "provider": name,
            "next_path": next_path,
            "link_user": link_user,
            "cart_id": cart_id,
            "wishlist_id": wishlist_id,
        }
        await self.redis.set(
            f"oauth:{state}",
            orjson.dumps(flow | {"nonce": nonce, "verifier": verifier}),
            ex=self.state_ttl,
        )
        params = {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": self.redirect_uri(provider),
            "scope": provider.scope,
            "state": state,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
        if name == GOOGLE:
            params["nonce"] = nonce
        return f"{provider.authorize_url}?{urlencode(params)}", state

    async def finish(self, name: str, state: str, browser_state: str, code: str) -> tuple[Identity, Flow]:
        """Spend the state, trade the code, and return who the provider says signed in."""
        provider = self.provider(name)
        if not (state and browser_state and hmac.compare_digest(state.encode(), browser_state.encode())):
            raise OAuthFailed("the sign-in was not started in this browser, or took too long; start again")
        raw = await self.redis.getdel(f"oauth:{state}")
        if raw is None:
            raise OAuthFailed("the sign-in has expired or was already used; start again")
        stored = orjson.loads(raw)
        link, cart, wishlist = (_uuid(stored.pop(key, None)) for key in _FLOW_IDS)
        flow = Flow(**stored, link_user=link, cart_id=cart, wishlist_id=wishlist)
        if flow.provider != name:
            raise OAuthFailed("the sign-in was started with another provider; start again")
        if name == GOOGLE:
            return await self._google(provider, code, flow), flow
        return await self._facebook(provider, code, flow), flow

    async def _google(self, provider: Provider, code: str, flow: Flow) -> Identity:
        tokens = await self._call(
            "POST",
            provider.token_url,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri(provider),
                "client_id": provider.client_id,
                "client_secret": provider.client_secret,
                "code_verifier": flow.verifier,
            },
        )
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OAuthFailed("the provider sent no ID token")
        claims = await self.verify_id_token(provider, id_token)
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), flow.nonce.encode()):
            raise OAuthFailed("the ID token is not for this sign-in")
        email = claims.get("email")
        return Identity(
            GOOGLE,
            str(claims["sub"]),
            email if isinstance(email, str) else None,
            claims.get("email_verified") is True,
            str(claims.get("name") or (email or "").split("@")[0] or "Google user")[:200],
        )

    async def verify_id_token(self, provider: Provider, id_token: str) -> dict[str, Any]:
        """The claims of an ID token signed by the provider's key, for us, current."""
        try:
            key = await self._signing_key(provider, jwt.get_unverified_header(id_token).get("kid"))
            return jwt.decode(
                id_token,
                key,
                algorithms=["RS256"],
                audience=provider.client_id,
                issuer=provider.issuers,
                options={"require": ["iss", "aud", "sub", "exp", "iat"]},
                leeway=30,
            )
        except jwt.PyJWTError as e:
            raise OAuthFailed(f"the ID token is not valid: {e}") from None

    async def _signing_key(self, provider: Provider, kid: object) -> jwt.PyJWK:
        if not isinstance(kid, str):
            raise OAuthFailed("the ID token names no signing key")
        async with self._jwks_lock:  # one fetch at a time, and at most once per JWKS_REFRESH
            if kid not in self._jwks and time.monotonic() - self._jwks_fetched > JWKS_REFRESH:
                keys = (await self._call("GET", provider.jwks_url)).get("keys", [])
                self._jwks = {
                    k["kid"]: jwt.PyJWK(k) for k in keys if k.get("kid") and k.get("use", "sig") == "sig"
                }
                self._jwks_fetched = time.monotonic()
        try:
            return self._jwks[kid]
        except KeyError:
            raise OAuthFailed("the ID token is signed with an unknown key") from None

    async def _facebook(self, provider: Provider, code: str, flow: Flow) -> Identity:
        tokens = await self._call(
            "GET",
            provider.token_url,
            params={
                "client_id": provider.client_id,
                "client_secret": provider.client_secret,
                "redirect_uri": self.redirect_uri(provider),
                "code": code,
                "code_verifier": flow.verifier,
            },
        )
        access_token = tokens.get("access_token")
        if not isinstance(access_token, str):
            raise OAuthFailed("the provider sent no access token")
        proof = hmac.new(provider.client_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
        me = await self._call(
            "GET",
            provider.me_url,
            params={"fields": "id,name,email", "access_token": access_token, "appsecret_proof": proof},
        )
        if not me.get("id"):
            raise OAuthFailed("the provider did not say who signed in")
        email = me.get("email")
        return Identity(
            FACEBOOK,
            str(me["id"]),
            email if isinstance(email, str) else None,
            False,  # Facebook does not say whether it checked the address
            str(me.get("name") or "Facebook user")[:200],
        )

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """A provider's JSON answer; its refusals are 400 (a bad code), its outages 503."""
        try:
            async with self.http.request(method, url, **kwargs) as resp:
                body = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError):
            raise Unavailable("the sign-in provider cannot be reached; try again later") from None
        if status >= 500:
            raise Unavailable("the sign-in provider is failing; try again later")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if status != 200 or not isinstance(data, dict):
            raise OAuthFailed("the provider refused the sign-in code; start again")
        return data
