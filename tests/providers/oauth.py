"""A local Google (OpenID Connect) and Facebook (Graph API) sign-in provider.

It serves what ShopFlow calls — Google's authorize, token and JWKS endpoints, Facebook's
login dialog, access_token and /me — with their parameters, checks and error shapes, and
signs real RS256 ID tokens. A test says who signs in next by setting `user`, and can bend
the next ID token's claims through `claims` or sign it with `signing_key`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID, CLIENT_SECRET = "shopflow-test.apps.example", "google-test-secret"
APP_ID, APP_SECRET = "1234567890", "facebook-test-secret"
ISSUER = "https://accounts.google.com"
KID = "test-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Grant:
    provider: str
    redirect_uri: str
    user: dict[str, Any]
    nonce: str | None
    challenge: str | None
    used: bool = False


@dataclass
class Provider:
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    user: dict[str, Any] = field(
        default_factory=lambda: {"sub": "g-1001", "email": "grace@example.com", "name": "Grace"}
    )
    claims: dict[str, Any] = field(default_factory=dict)  # overrides for the next ID token
    signing_key: rsa.RSAPrivateKey | None = None  # sign with another key than the published one
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    jwks_fetches: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/google/authorize", self.google_authorize)
        app.router.add_post("/google/token", self.google_token)
        app.router.add_get("/google/jwks", self.jwks)
        app.router.add_get("/facebook/dialog/oauth", self.facebook_dialog)
        app.router.add_get("/facebook/oauth/access_token", self.facebook_token)
        app.router.add_get("/facebook/me", self.facebook_me)
        return app

    # The browser's visit: the user is signed in at the provider and consents at once.
    def _authorize(self, request: web.Request, provider: str, client_id: str) -> web.Response:
        q = request.query
        if q.get("client_id") != client_id or q.get("response_type") != "code" or not q.get("redirect_uri"):
            return web.Response(status=400, text="invalid_request")
        challenge = q.get("code_challenge")
        if challenge and q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="invalid_request: only S256")
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(provider, q["redirect_uri"], dict(self.user), q.get("nonce"), challenge)
        back = {"code": code, "state": q.get("state", "")}
        raise web.HTTPFound(f"{q['redirect_uri']}?{urlencode(back)}")

    def _redeem(self, provider: str, code: str, redirect_uri: str, verifier: str | None) -> Grant | None:
        grant = self.grants.get(code)
        if grant is None or grant.used or grant.provider != provider or grant.redirect_uri != redirect_uri:
            return None
        if grant.challenge is not None:
            digest = hashlib.sha256((verifier or "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                return None
        grant.used = True
        return grant

    async def google_authorize(self, request: web.Request) -> web.Response:
        return self._authorize(request, "google", CLIENT_ID)

    async def google_token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "authorization_code":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        grant = self._redeem(
            "google", str(form.get("code", "")), str(form.get("redirect_uri", "")), form.get("code_verifier")
        )
        if grant is None:
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Bad Request"}, status=400
            )
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "iat": now,
            "exp": now + 3600,
            "nonce": grant.nonce,
            "email_verified": True,
            **grant.user,
            **self.claims,
        }
        id_token = jwt.encode(claims, self.signing_key or self.key, algorithm="RS256", headers={"kid": KID})
        return web.json_response(
            {
                "access_token": secrets.token_urlsafe(32),
                "expires_in": 3599,
                "token_type": "Bearer",
                "scope": "openid email profile",
                "id_token": id_token,
            }
        )

    async def jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return web.json_response({"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]})

    async def facebook_dialog(self, request: web.Request) -> web.Response:
        return self._authorize(request, "facebook", APP_ID)

    async def facebook_token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != APP_ID or q.get("client_secret") != APP_SECRET:
            return _graph_error("Error validating client secret.", 1)
        grant = self._redeem("facebook", q.get("code", ""), q.get("redirect_uri", ""), q.get("code_verifier"))
        if grant is None:
            return _graph_error("This authorization code has been used.", 100)
        token = secrets.token_urlsafe(32)
        self.access_tokens[token] = grant.user
        return web.json_response({"access_token": token, "token_type": "bearer", "expires_in": 5183944})

    async def facebook_me(self, request: web.Request) -> web.Response:
        q = request.query
        user = self.access_tokens.get(q.get("access_token", ""))
        if user is None:
            return _graph_error("Invalid OAuth access token.", 190)
        proof = hmac.new(APP_SECRET.encode(), q["access_token"].encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(q.get("appsecret_proof", ""), proof):
            return _graph_error("Invalid appsecret_proof provided in the API argument", 100)
        profile = {"id": user["sub"], "name": user.get("name"), "email": user.get("email")}
        fields = q.get("fields", "id,name").split(",")
        return web.json_response({k: v for k, v in profile.items() if k in fields and v is not None})


def _graph_error(message: str, code: int) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1b2C3"}},
        status=400,
    )
