"""Access tokens: every claim checked, nothing but the configured algorithm accepted."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import JWT_SECRET
from tests.fuzz import json_values, run_examples

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


NOW = int(time.time())


def signed(claims: dict[str, Any]) -> str:
    """Any JSON at all as a token signed with the shop's key (PyJWT's encoder checks some types)."""
    return jwt.api_jws.encode(json.dumps(claims).encode(), JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "change",
    [
        {"exp": 10**400},  # past every float: must not overflow into a 500
        {"exp": 2**63},
        {"exp": 10**20},
        {"exp": str(NOW + 600)},
        {"exp": float(NOW + 600)},
        {"exp": True},
        {"exp": [NOW + 600]},
        {"exp": {"at": NOW + 600}},
        {"exp": None},
        {"exp": -1},
        {"iat": str(NOW)},
        {"iat": float(NOW)},
        {"iat": NOW + 3600},  # issued in the future
        {"iat": 10**400},
        {"iat": [NOW]},
        {"nbf": str(NOW)},
        {"nbf": float(NOW)},
        {"nbf": False},
        {"nbf": -(10**400)},
        {"sub": 12345},
        {"sub": None},
        {"sub": ["a"]},
        {"sub": ""},
        {"sub": "not-a-uuid"},
        {"sub": "urn:uuid:" + "0" * 32},
        {"sid": 1},
        {"sid": ""},
        {"sid": ["x"]},
        {"typ": ["access"]},
        {"typ": None},
        {"role": ["admin"]},
        {"role": "root"},
        {"role": None},
        {"aud": ["shopflow-api", "someone-else"]},
        {"aud": 1},
        {"iss": ["shopflow"]},
        {"iss": None},
    ],
)
async def test_claims_of_the_wrong_type_are_401_even_when_signed(
    client: Any, pair: dict[str, Any], change: dict[str, Any]
) -> None:
    """Signed with the real key, as a bug or a leaked key could: every claim's type is checked."""
    resp = await client.get(
        "/api/v1/auth/session",
        headers={"Authorization": f"Bearer {signed({**claims_of(pair['access_token']), **change})}"},
    )
    assert resp.status == 401, await resp.text()
    assert (await resp.json())["code"] == "invalid_token"


@pytest.mark.parametrize("spelling", [str.upper, lambda s: s.replace("-", ""), lambda s: "{" + s + "}"])
async def test_the_subject_is_a_uuid_as_issued(client: Any, pair: dict[str, Any], spelling: Any) -> None:
    claims = claims_of(pair["access_token"])
    assert await status_with(client, forge({**claims, "sub": spelling(claims["sub"])})) == 401


@pytest.mark.parametrize("missing", ["role"])
async def test_the_role_is_required(client: Any, pair: dict[str, Any], missing: str) -> None:
    claims = claims_of(pair["access_token"])
    del claims[missing]
    assert await status_with(client, forge(claims)) == 401


async def test_no_signed_token_is_a_server_error(client: Any, pair: dict[str, Any]) -> None:
    """Random values in every claim, signed with the real key: 200 or 401, never 500."""
    loop = asyncio.get_running_loop()
    claims = claims_of(pair["access_token"])
    values = json_values | st.integers(min_value=-(10**400), max_value=10**400)
    changes = st.dictionaries(st.sampled_from([*claims, "jti", "kid"]), values, max_size=4)

    @given(change=changes, drop=st.sets(st.sampled_from(list(claims)), max_size=2))
    def check(change: dict[str, Any], drop: set[str]) -> None:
        token = signed({k: v for k, v in {**claims, **change}.items() if k not in drop})
        status = asyncio.run_coroutine_threadsafe(status_with(client, token), loop).result()
        assert status in (200, 401), (change, drop)

    await run_examples(check)
