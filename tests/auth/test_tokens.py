"""Access tokens: every claim checked, nothing but the configured algorithm accepted."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from tests.conftest import JWT_SECRET

PASSWORD = "a long and unusual passphrase"


@pytest.fixture
async def pair(client: Any) -> dict[str, Any]:
    body = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    return dict(await (await client.post("/api/v1/auth/register", json=body)).json())


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def forge(claims: dict[str, Any], key: str = JWT_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def status_with(client: Any, token: str) -> int:
    resp = await client.get("/api/v1/auth/session", headers={"Authorization": f"Bearer {token}"})
    return int(resp.status)


async def test_the_issued_token_works(client: Any, pair: dict[str, Any]) -> None:
    assert await status_with(client, pair["access_token"]) == 200
    assert (
        await status_with(client, forge(claims_of(pair["access_token"]))) == 200
    )  # the forger knows the key


@pytest.mark.parametrize(
    "change",
    [
        {"exp": int(time.time()) - 60},
        {"nbf": int(time.time()) + 3600},
        {"aud": "someone-else"},
        {"iss": "someone-else"},
        {"typ": "refresh"},
        {"sid": "no-such-session"},
        {"sub": "not-a-uuid"},
        {"role": "admin"},  # a valid claim, but changing it breaks the signature below
    ],
)
async def test_tampered_or_wrong_claims_are_401(
    client: Any, pair: dict[str, Any], change: dict[str, Any]
) -> None:
    claims = {**claims_of(pair["access_token"]), **change}
    if "role" in change:
        header, _, signature = pair["access_token"].split(".")
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token = f"{header}.{payload}.{signature}"
    else:
        token = forge(claims)
    resp = await client.get("/api/v1/auth/session", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401
    assert (await resp.json())["code"] == "invalid_token"


@pytest.mark.parametrize("missing", ["exp", "iat", "nbf", "iss", "aud", "sub", "sid", "typ"])
async def test_every_claim_is_required(client: Any, pair: dict[str, Any], missing: str) -> None:
    claims = claims_of(pair["access_token"])
    del claims[missing]
    assert await status_with(client, forge(claims)) == 401


async def test_other_algorithms_are_refused(client: Any, pair: dict[str, Any]) -> None:
    claims = claims_of(pair["access_token"])
    assert await status_with(client, unsigned(claims)) == 401
    assert await status_with(client, forge(claims, alg="HS512")) == 401
    assert await status_with(client, forge(claims, key="another-secret-" + "x" * 64)) == 401


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic abc", "bearer nonsense", "Token x.y.z"])
async def test_missing_or_malformed_authorization_is_401(client: Any, header: str) -> None:
    resp = await client.get("/api/v1/auth/session", headers={"Authorization": header} if header else {})
    assert resp.status == 401
