"""Access tokens: short-lived JWTs naming a user and the session they belong to."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any, get_args

import jwt

from .errors import InvalidToken
from .models import Role

ACCESS = "access"
LEEWAY = 5  # seconds of clock difference allowed on exp, iat and nbf
DATES = ("exp", "iat", "nbf")
REQUIRED = ("sub", "sid", "role", "typ", "iss", "aud", *DATES)
NUMERIC_DATES = range(0, 253402300800)  # 1970 to the end of 9999, as `issue` writes them
ROLES = frozenset(get_args(Role))
VERIFIED_MAX = 4096  # a hot set per process; each entry is ~600 bytes


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
        # Tokens verified already, until they expire: a client sends the same one for minutes,
        # and decoding it costs more than the rest of a request. Revocation is the session's job.
        self._verified: dict[str, tuple[float, Claims]] = {}

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
        known = self._verified.get(token)
        if known is not None and known[0] > time.time():
            return known[1]
        expires, claims = self._decode(token)
        if len(self._verified) >= VERIFIED_MAX:
            self._verified.clear()  # cheaper than keeping an order; live tokens come back at once
        self._verified[token] = (expires, claims)
        return claims

    def _decode(self, token: str) -> tuple[float, Claims]:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": list(REQUIRED), "strict_aud": True},
            )
            return _checked(claims)
        # PyJWT coerces what it checks (int("123") passes for exp) and may overflow on it
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as e:
            raise InvalidToken("the access token is not valid") from e


def _checked(claims: dict[str, Any]) -> tuple[float, Claims]:
    """The expiry and claims of a decoded token, each claim of the type `issue` writes;
    ValueError on any other, so a token with the key but not of our making never passes."""
    if any(type(claims[name]) is not int or claims[name] not in NUMERIC_DATES for name in DATES):
        raise ValueError("exp, iat and nbf must be integer seconds in the years 1970-9999")
    if any(type(claims[name]) is not str for name in ("sub", "sid", "typ", "role")):
        raise ValueError("sub, sid, typ and role must be strings")
    user_id = uuid.UUID(claims["sub"])
    if str(user_id) != claims["sub"] or not claims["sid"] or claims["role"] not in ROLES:
        raise ValueError("not a subject, session and role of ours")
    if claims["typ"] != ACCESS:
        raise ValueError("not an access token")
    return float(claims["exp"]), Claims(user_id, claims["sid"], claims["role"])
