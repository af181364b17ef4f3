"""Rate limits and failed sign-in backoff."""

from __future__ import annotations

import asyncio
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


async def test_the_whole_api_is_limited_per_address_across_processes(
    make_client: Any, make_settings: Any
) -> None:
    settings = make_settings(rate_limit_api_ip="6/60", rate_limit_api_settle=0.05)
    one, two = [await make_client(create_app(settings)) for _ in range(2)]  # two processes, one Redis
    spoofed = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(4)]  # not from a trusted proxy
    assert [(await one.get("/api/v1/categories", headers=h)).status for h in spoofed] == [200] * 4
    assert [(await two.get("/api/v1/products")).status for _ in range(2)] == [200, 200]
    await asyncio.sleep(0.2)  # both have settled: the 6 are spent
    # A process learns that an address is over the limit when it settles that address's
    # requests: at the latest, the first request after the limit is spent plus one settlement.
    for client in (one, two):
        await client.get("/api/v1/categories")
        await asyncio.sleep(0.2)
        refused = await client.get("/api/v1/categories")
        assert refused.status == 429 and (await refused.json())["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["RateLimit-Limit"] == "6"
    assert (await one.get("/healthz")).status == 200  # not the API


async def test_one_process_refuses_a_burst_before_it_settles(make_client: Any, make_settings: Any) -> None:
    client = await make_client(create_app(make_settings(rate_limit_api_ip="3/60", rate_limit_api_settle=10)))
    statuses = [(await client.get("/api/v1/categories")).status for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
