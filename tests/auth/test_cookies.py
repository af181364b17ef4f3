"""Browsers: an HttpOnly session cookie, and a CSRF token on unsafe requests."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

PASSWORD = "a long and unusual passphrase"


def cookies_of(resp: Any) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in resp.headers.getall("Set-Cookie"):
        jar.load(header)
    return jar


async def sign_in_browser(client: Any) -> tuple[dict[str, str], str]:
    body = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    resp = await client.post("/api/v1/auth/register", json=body)
    jar = cookies_of(resp)
    session, csrf = jar["__Host-shopflow_session"], jar["__Host-shopflow_csrf"]
    assert (
        session["httponly"] and session["secure"] and session["samesite"] == "Lax" and session["path"] == "/"
    )
    assert not csrf["httponly"] and csrf.value == (await resp.json())["csrf_token"]
    cookie = f"__Host-shopflow_session={session.value}"
    return {"Cookie": cookie}, csrf.value


async def test_the_session_cookie_signs_a_browser_in(client: Any) -> None:
    cookie, _ = await sign_in_browser(client)
    resp = await client.get("/api/v1/auth/session", headers=cookie)
    assert resp.status == 200
    assert (await resp.json())["role"] == "customer"


async def test_unsafe_requests_by_cookie_need_the_csrf_token(client: Any) -> None:
    cookie, csrf = await sign_in_browser(client)
    missing = await client.post("/api/v1/auth/logout", headers=cookie)
    assert missing.status == 403
    assert (await missing.json())["code"] == "csrf_failed"
    wrong = await client.post("/api/v1/auth/logout", headers={**cookie, "X-CSRF-Token": "0" * 64})
    assert wrong.status == 403
    ok = await client.post("/api/v1/auth/logout", headers={**cookie, "X-CSRF-Token": csrf})
    assert ok.status == 204
    cleared = cookies_of(ok)
    assert (
        cleared["__Host-shopflow_session"].value == ""
        and cleared["__Host-shopflow_session"]["max-age"] == "0"
    )
    assert (await client.get("/api/v1/auth/session", headers=cookie)).status == 401


async def test_every_sign_in_makes_a_new_session(client: Any) -> None:
    first, _ = await sign_in_browser(client)
    resp = await client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    second = cookies_of(resp)["__Host-shopflow_session"].value
    assert second and f"__Host-shopflow_session={second}" != first["Cookie"]


async def test_forged_cookies_are_401(client: Any) -> None:
    cookie, _ = await sign_in_browser(client)
    sid = cookie["Cookie"].split("=", 1)[1].split(".")[0]
    for value in (f"{sid}.forged", "nonsense", f"{sid}."):
        resp = await client.get(
            "/api/v1/auth/session", headers={"Cookie": f"__Host-shopflow_session={value}"}
        )
        assert resp.status == 401, value
