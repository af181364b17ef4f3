"""Register, sign in, refresh, sign out: the account lifecycle over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from shopflow.auth.models import TokenPair
from tests.conftest import sign_in

PASSWORD = "a long and unusual passphrase"


async def register(client: Any, email: str = "ada@example.com", **extra: Any) -> Any:
    return await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Ada", **extra}
    )


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def test_register_signs_in_and_answers_the_documented_shape(client: Any) -> None:
    resp = await register(client)
    assert resp.status == 201
    pair = await resp.json()
    TokenPair.model_validate(pair)
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 900
    assert pair["user"]["role"] == "customer" and pair["user"]["email_verified"] is False
    session = await (await client.get("/api/v1/auth/session", headers=bearer(pair))).json()
    assert session["user_id"] == pair["user"]["id"] and session["role"] == "customer"


async def test_email_is_unique_whatever_its_case(client: Any) -> None:
    assert (await register(client)).status == 201
    resp = await register(client, "ADA@Example.com")
    assert resp.status == 409
    assert (await resp.json())["code"] == "email_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "admin"}, "role"),
        ({"password": "password1"}, "password"),  # on the common list
        ({"password": "Qwerty123"}, "password"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"password": None}, "password"),
    ],
)
async def test_bad_registrations_are_422(client: Any, body: dict[str, Any], field: str) -> None:
    fields = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada", **body}
    resp = await client.post("/api/v1/auth/register", json=fields)
    assert resp.status == 422
    assert field in [e["field"] for e in (await resp.json())["errors"]]


async def test_login_failures_look_the_same_for_known_and_unknown_emails(client: Any) -> None:
    await register(client)
    wrong_password = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "nope" * 3}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": "nope" * 3}
    )
    assert wrong_password.status == unknown.status == 401
    first, second = await wrong_password.json(), await unknown.json()
    first.pop("request_id"), second.pop("request_id")
    assert first == second
    ok = await client.post("/api/v1/auth/login", json={"email": "ADA@example.com", "password": PASSWORD})
    assert ok.status == 200


async def test_passwords_longer_than_bcrypt_reads_are_not_truncated(client: Any) -> None:
    long = "correct horse battery staple " * 4  # 116 characters; bcrypt alone reads 72 bytes
    resp = await client.post(
        "/api/v1/auth/register", json={"email": "ada@example.com", "password": long, "name": "A"}
    )
    assert resp.status == 201
    same_start = long[:100] + "different ending"
    resp = await client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": same_start})
    assert resp.status == 401


async def test_refresh_rotates_and_reuse_revokes_the_session(client: Any) -> None:
    pair = await (await register(client)).json()
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert resp.status == 200
    second = await resp.json()
    assert second["refresh_token"] != pair["refresh_token"]
    assert (await client.get("/api/v1/auth/session", headers=bearer(second))).status == 200

    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.status == 401
    # the whole session is gone: its newest tokens too
    assert (await client.get("/api/v1/auth/session", headers=bearer(second))).status == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    ).status == 401


@pytest.mark.parametrize("token", ["", "nonsense", "a.b", "x" * 256])
async def test_bad_refresh_tokens_are_401(client: Any, token: str) -> None:
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert resp.status == 401


async def test_logout_ends_this_session_only(client: Any) -> None:
    await register(client)
    login = {"email": "ada@example.com", "password": PASSWORD}
    one = await (await client.post("/api/v1/auth/login", json=login)).json()
    two = await (await client.post("/api/v1/auth/login", json=login)).json()
    assert (await client.post("/api/v1/auth/logout", headers=bearer(one))).status == 204
    assert (await client.get("/api/v1/auth/session", headers=bearer(one))).status == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": one["refresh_token"]})
    ).status == 401
    assert (await client.get("/api/v1/auth/session", headers=bearer(two))).status == 200


async def test_logout_all_ends_every_session(client: Any) -> None:
    first = await (await register(client)).json()
    login = {"email": "ada@example.com", "password": PASSWORD}
    second = await (await client.post("/api/v1/auth/login", json=login)).json()
    assert (await client.post("/api/v1/auth/logout-all", headers=bearer(second))).status == 204
    for pair in (first, second):
        assert (await client.get("/api/v1/auth/session", headers=bearer(pair))).status == 401
        refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status == 401


async def test_customers_get_403_on_staff_endpoints(client: Any, app: Any) -> None:
    customer = await sign_in(client, app, "carol@example.com")
    resp = await client.post("/api/v1/products", json={"name": "Mug"}, headers=customer)
    assert resp.status == 403
    assert (await resp.json())["code"] == "forbidden"
    assert (await client.post("/api/v1/products", json={"name": "Mug"})).status == 401


async def test_every_session_key_expires(client: Any, app: Any) -> None:
    from shopflow.keys import REDIS

    pair = await (await register(client)).json()
    await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    redis = app[REDIS]
    keys = [k async for k in redis.scan_iter(match="*sess*")]
    assert keys
    for key in keys:
        assert 0 < await redis.ttl(key) <= 30 * 86400, key


async def test_disabling_an_account_ends_its_sessions(client: Any, app: Any) -> None:
    from shopflow.auth.service import set_disabled
    from shopflow.keys import AUTH, DB

    pair = await (await register(client)).json()
    await set_disabled(app[DB], app[AUTH].sessions, "ADA@example.com", True)
    assert (await client.get("/api/v1/auth/session", headers=bearer(pair))).status == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status == 401
    login = {"email": "ada@example.com", "password": PASSWORD}
    assert (await client.post("/api/v1/auth/login", json=login)).status == 401
    await set_disabled(app[DB], app[AUTH].sessions, "ada@example.com", False)
    assert (await client.post("/api/v1/auth/login", json=login)).status == 200


def test_user_commands(database_url: str, redis_url: str) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import PEPPER

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SHOPFLOW_PASSWORD_PEPPER": PEPPER,
        "SHOPFLOW_BCRYPT_COST": "4",
    }

    def shopflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shopflow", "user", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    created = shopflow("create", "--email", "boss@example.com", "--role", "admin")
    assert created.returncode == 0, created.stderr
    assert "created admin boss@example.com" in created.stdout and "password: " in created.stdout
    assert shopflow("create", "--email", "boss@example.com").returncode == 1  # taken
    assert shopflow("disable", "--email", "boss@example.com").returncode == 0
    assert shopflow("disable", "--email", "nobody@example.com").returncode == 1
