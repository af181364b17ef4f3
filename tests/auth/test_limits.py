"""Rate limits and failed sign-in backoff."""

from __future__ import annotations

from typing import Any

from shopflow.app import create_app

PASSWORD = "a long and unusual passphrase"


async def test_login_limit_per_address_and_spoofed_forwarding_changes_nothing(
    make_client: Any, make_settings: Any
) -> None:
    client = await make_client(create_app(make_settings(rate_limit_login_ip="3/60")))
    statuses = []
    for i in range(5):
        spoofed = {"X-Forwarded-For": f"203.0.113.{i}"}  # the test peer is not a trusted proxy
        resp = await client.post(
            "/api/v1/auth/login", json={"email": f"u{i}@example.com", "password": "x" * 8}, headers=spoofed
        )
        statuses.append(resp.status)
    assert statuses == [401, 401, 401, 429, 429]
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.headers["RateLimit-Limit"] == "3" and resp.headers["RateLimit-Remaining"] == "0"
    assert int(resp.headers["RateLimit-Reset"]) >= 1
    assert (await resp.json())["code"] == "rate_limited"


async def test_forwarded_address_counts_from_a_trusted_proxy(make_client: Any, make_settings: Any) -> None:
    settings = make_settings(rate_limit_login_ip="2/60", trusted_proxies=["127.0.0.0/8", "::1/128"])
    client = await make_client(create_app(settings))

    async def login_from(address: str) -> int:
        body = {"email": "a@example.com", "password": "x" * 8}
        resp = await client.post(
            "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": f"{address}, 127.0.0.1"}
        )
        return int(resp.status)

    assert [await login_from("198.51.100.7") for _ in range(3)] == [401, 401, 429]
    assert await login_from("198.51.100.8") == 401  # another client behind the proxy


async def test_failed_logins_back_off_per_account_without_locking_out(
    make_client: Any, make_settings: Any
) -> None:
    settings = make_settings(login_backoff_after=3, login_backoff_max=2, rate_limit_login_account="100/60")
    client = await make_client(create_app(settings))
    body = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    assert (await client.post("/api/v1/auth/register", json=body)).status == 201
    wrong = {"email": "ada@example.com", "password": "not the password"}
    assert [(await client.post("/api/v1/auth/login", json=wrong)).status for _ in range(3)] == [401, 401, 401]
    right = {"email": "Ada@example.com", "password": PASSWORD}
    blocked = await client.post("/api/v1/auth/login", json=right)
    assert blocked.status == 429 and blocked.headers["Retry-After"] == "1"
    # unknown accounts back off the same way, so the answer tells nothing
    ghost = {"email": "ghost@example.com", "password": "not the password"}
    assert [(await client.post("/api/v1/auth/login", json=ghost)).status for _ in range(4)] == [
        401,
        401,
        401,
        429,
    ]


async def test_register_and_refresh_are_limited(make_client: Any, make_settings: Any) -> None:
    client = await make_client(
        create_app(make_settings(rate_limit_register_ip="1/3600", rate_limit_refresh_ip="1/60"))
    )
    body = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    pair = await (await client.post("/api/v1/auth/register", json=body)).json()
    again = await client.post("/api/v1/auth/register", json={**body, "email": "bob@example.com"})
    assert again.status == 429
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert first.status == 200
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": "x.y"})).status == 429


async def test_very_high_limits_work_too(make_client: Any, make_settings: Any) -> None:
    client = await make_client(create_app(make_settings(rate_limit_login_ip="100000000/1")))
    body = {"email": "a@example.com", "password": "x" * 8}
    assert [(await client.post("/api/v1/auth/login", json=body)).status for _ in range(3)] == [401] * 3
