"""Access tokens: short-lived JWTs naming a user and the session they belong to."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

import jwt

from .errors import InvalidToken

ACCESS = "access"


@dataclass(frozen=True)
class Claims:
    user_id: uuid.UUID
    session_id: str
    role: str


class AccessTokens:
    """Issues and checks JWTs with one algorithm from a fixed allowlist (never `none`)."""

    def __init__(self, secret: bytes, algorithm: str, issuer: str, audience: str, ttl: int) -> None:
        if algorithm not in ("HS256", "HS384", "HS512"):
            raise ValueError(f"unsupported JWT algorithm {algorithm}")
        self.secret, self.algorithm, self.issuer, self.audience, self.ttl = (
            secret,
            algorithm,
            issuer,
            audience,
            ttl,
        )

    def csrf_token(self, session_id: str) -> str:
        """The session's CSRF token: browsers echo it in X-CSRF-Token on unsafe requests."""
        return hmac.new(self.secret, f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()

    def issue(self, user_id: uuid.UUID, session_id: str, role: str) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "sid": session_id,
            "role": role,
            "typ": ACCESS,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl,
        }
        return jwt.encode(claims, self.secret, algorithm=self.algorithm)

    def check(self, token: str) -> Claims:
        """The claims of a valid access token; anything else raises InvalidToken."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=5,
                options={"require": ["sub", "sid", "typ", "iss", "aud", "iat", "nbf", "exp"]},
            )
            if claims["typ"] != ACCESS or not isinstance(claims["sid"], str):
                raise InvalidToken("not an access token")
            return Claims(uuid.UUID(claims["sub"]), claims["sid"], str(claims.get("role", "customer")))
        except (jwt.PyJWTError, ValueError, TypeError) as e:
            raise InvalidToken("the access token is not valid") from e
