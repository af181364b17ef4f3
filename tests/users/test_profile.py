"""The profile, the email and password changes, and the preferences, against the real servers."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from shopflow.app import create_app
from tests.client import expect
from tests.conftest import sign_in

PASSWORD = "correct horse battery staple"  # what sign_in gives every account
NEW_PASSWORD = "a fresh and unusual passphrase"


async def login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    resp = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return {"Authorization": f"Bearer {(await expect(resp, 200))['access_token']}"}


async def outbox(db: asyncpg.Connection, to: str) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT subject, body FROM mail_outbox WHERE to_address = $1 ORDER BY created_at, id", to
    )


def token_in(body: str) -> str:
    found = re.search(r"/verify-email\?token=([\w-]+)", body)
    assert found, body
    return found[1]


async def test_the_profile_starts_from_the_account_and_patches_in_parts(
    client: TestClient, app: web.Application
) -> None:
    await expect(await client.get("/api/v1/me"), 401, "invalid_token")
    ada = await sign_in(client, app, "ada@shop.example")
    profile = await expect(await client.get("/api/v1/me", headers=ada), 200)
    assert profile["email"] == "ada@shop.example"
    assert (profile["name"], profile["phone"], profile["locale"]) == ("ada", None, "en")
    assert profile["email_verified"] is False and profile["created_at"]

    body = {"name": "Ada Lovelace", "phone": "+442071234567", "locale": "en-GB"}
    changed = await expect(await client.patch("/api/v1/me", json=body, headers=ada), 200)
    assert {k: changed[k] for k in body} == body
    assert await expect(await client.get("/api/v1/me", headers=ada), 200) == changed
    only_locale = await expect(await client.patch("/api/v1/me", json={"locale": "de-DE"}, headers=ada), 200)
    assert (only_locale["name"], only_locale["phone"], only_locale["locale"]) == (
        "Ada Lovelace",
        "+442071234567",
        "de-DE",
    )
    cleared = await expect(await client.patch("/api/v1/me", json={"phone": None}, headers=ada), 200)
    assert cleared["phone"] is None and cleared["locale"] == "de-DE"
    # the name is auth's: sign-in answers the new one
    resp = await client.post("/api/v1/auth/login", json={"email": "ada@shop.example", "password": PASSWORD})
    assert (await expect(resp, 200))["user"]["name"] == "Ada Lovelace"


async def test_bad_profile_patches_are_refused(client: TestClient, app: web.Application) -> None:
    ada = await sign_in(client, app, "ada@shop.example")
    for body in (
        {},
        {"phone": "020 7123 4567"},  # not E.164
        {"phone": "+0441234567"},
        {"phone": 442071234567},
        {"locale": "english"},
        {"locale": "en_US"},
        {"name": ""},
        {"name": None},
        {"name": 5},
        {"email": "other@shop.example"},  # changed through POST /api/v1/me/email only
        {"role": "admin"},
    ):
        await expect(await client.patch("/api/v1/me", json=body, headers=ada), 422, "validation_failed")
    resp = await client.patch("/api/v1/me", data=b"{", headers={**ada, "Content-Type": "application/json"})
    await expect(resp, 400, "malformed_json")
    profile = await expect(await client.get("/api/v1/me", headers=ada), 200)
    assert (profile["name"], profile["email"]) == ("ada", "ada@shop.example")


async def test_an_email_change_happens_when_the_new_address_confirms_it(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    ada = await sign_in(client, app, "ada@shop.example")
    await sign_in(client, app, "bob@shop.example")
    change = "/api/v1/me/email"
    wrong = {"new_email": "ada@new.example", "password": "not it"}
    await expect(await client.post(change, json=wrong, headers=ada), 403, "wrong_password")
    taken = {"new_email": "BOB@shop.example", "password": PASSWORD}
    await expect(await client.post(change, json=taken, headers=ada), 409, "email_taken")
    assert await outbox(db, "ada@shop.example") == []

    ok = await client.post(change, json={"new_email": "ada@new.example", "password": PASSWORD}, headers=ada)
    assert "ada@new.example" in (await expect(ok, 202))["detail"]
    [link] = await outbox(db, "ada@new.example")
    [notice] = await outbox(db, "ada@shop.example")
    assert link["subject"] == "Confirm your new email address"
    assert "http://localhost:8080/verify-email?token=" in link["body"]
    assert "ada@new.example" in notice["body"] and "token=" not in notice["body"]
    # nothing changes until the link is used
    assert (await expect(await client.get("/api/v1/me", headers=ada), 200))["email"] == "ada@shop.example"

    token = token_in(link["body"])
    await expect(await client.post("/api/v1/auth/email/verify", json={"token": token}), 204)
    profile = await expect(await client.get("/api/v1/me", headers=ada), 200)
    assert (profile["email"], profile["email_verified"]) == ("ada@new.example", True)
    await login(client, "ada@new.example")
    old = await client.post("/api/v1/auth/login", json={"email": "ada@shop.example", "password": PASSWORD})
    await expect(old, 401, "invalid_credentials")
    again = await client.post("/api/v1/auth/email/verify", json={"token": token})
    await expect(again, 400, "invalid_or_expired_token")


async def test_only_the_newest_change_link_works_and_a_taken_address_is_refused_at_use(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    ada = await sign_in(client, app, "ada@shop.example")
    for new_email in ("first@new.example", "second@new.example"):
        body = {"new_email": new_email, "password": PASSWORD}
        await expect(await client.post("/api/v1/me/email", json=body, headers=ada), 202)
    first = token_in((await outbox(db, "first@new.example"))[0]["body"])
    second = token_in((await outbox(db, "second@new.example"))[0]["body"])
    await expect(await client.post("/api/v1/auth/email/verify", json={"token": first}), 400)
    # someone registers the address before the link is used
    await sign_in(client, app, "second@new.example")
    await expect(await client.post("/api/v1/auth/email/verify", json={"token": second}), 409, "email_taken")
    assert (await expect(await client.get("/api/v1/me", headers=ada), 200))["email"] == "ada@shop.example"


async def test_bad_email_change_requests_are_refused(client: TestClient, app: web.Application) -> None:
    ada = await sign_in(client, app, "ada@shop.example")
    for body in (
        {"new_email": "not an address", "password": PASSWORD},
        {"new_email": "ada@new.example"},
        {"new_email": "ada@new.example", "password": PASSWORD, "name": "x"},
        {"new_email": 5, "password": PASSWORD},
    ):
        await expect(await client.post("/api/v1/me/email", json=body, headers=ada), 422, "validation_failed")
    same = {"new_email": "ada@shop.example", "password": PASSWORD}
    await expect(await client.post("/api/v1/me/email", json=same, headers=ada), 409, "email_taken")
    await expect(await client.post("/api/v1/me/email", json=same), 401)


async def test_a_password_change_ends_every_other_session_and_clears_the_backoff(
    make_settings: Any, make_client: Any, db: asyncpg.Connection
) -> None:
    app = create_app(make_settings(login_backoff_after=2, login_backoff_max=60))
    client = await make_client(app)
    here = await sign_in(client, app, "ada@shop.example")
    elsewhere = await login(client, "ada@shop.example")
    change = "/api/v1/me/password"
    weak = {"current_password": PASSWORD, "new_password": "password123"}
    await expect(await client.post(change, json=weak, headers=here), 422, "weak_password")
    short = {"current_password": PASSWORD, "new_password": "short"}
    await expect(await client.post(change, json=short, headers=here), 422, "validation_failed")
    wrong = {"current_password": "not it", "new_password": NEW_PASSWORD}
    await expect(await client.post(change, json=wrong, headers=here), 403, "wrong_password")

    good = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    await expect(await client.post(change, json=good, headers=here), 204)
    await expect(await client.get("/api/v1/me", headers=here), 200)
    await expect(await client.get("/api/v1/me", headers=elsewhere), 401, "invalid_token")
    # the miss above was forgotten: one more is the first in a row, and makes nobody wait
    old = await client.post("/api/v1/auth/login", json={"email": "ada@shop.example", "password": PASSWORD})
    await expect(old, 401, "invalid_credentials")
    await login(client, "ada@shop.example", NEW_PASSWORD)
    [notice] = await outbox(db, "ada@shop.example")
    assert notice["subject"] == "Your password was changed"


async def test_password_checks_back_off_like_sign_ins(make_settings: Any, make_client: Any) -> None:
    app = create_app(make_settings(login_backoff_after=2, login_backoff_max=60))
    client = await make_client(app)
    ada = await sign_in(client, app, "ada@shop.example")
    wrong = {"current_password": "not it", "new_password": NEW_PASSWORD}
    for _ in range(2):
        await expect(await client.post("/api/v1/me/password", json=wrong, headers=ada), 403)
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    await expect(await client.post("/api/v1/me/password", json=right, headers=ada), 429, "rate_limited")


async def test_preferences_default_then_replace_with_the_consent_time_kept(
    client: TestClient, app: web.Application
) -> None:
    ada = await sign_in(client, app, "ada@shop.example")
    await expect(await client.patch("/api/v1/me", json={"locale": "de-DE"}, headers=ada), 200)
    defaults = await expect(await client.get("/api/v1/me/preferences", headers=ada), 200)
    assert defaults == {
        "theme": "system",
        "language": "de-DE",
        "currency": "USD",
        "marketing_opt_in": False,
        "marketing_opt_in_at": None,
    }
    put = "/api/v1/me/preferences"
    body = {"theme": "dark", "language": "fr", "currency": "EUR", "marketing_opt_in": False}
    unchanged = await expect(await client.put(put, json=body, headers=ada), 200)
    assert unchanged["marketing_opt_in_at"] is None  # no consent was given nor withdrawn

    given = await expect(await client.put(put, json={**body, "marketing_opt_in": True}, headers=ada), 200)
    assert given["marketing_opt_in"] is True and given["marketing_opt_in_at"]
    await asyncio.sleep(0.01)
    kept = await expect(
        await client.put(put, json={**body, "theme": "light", "marketing_opt_in": True}, headers=ada), 200
    )
    assert (kept["theme"], kept["marketing_opt_in_at"]) == ("light", given["marketing_opt_in_at"])
    withdrawn = await expect(await client.put(put, json=body, headers=ada), 200)
    assert withdrawn["marketing_opt_in"] is False
    assert withdrawn["marketing_opt_in_at"] > given["marketing_opt_in_at"]
    assert await expect(await client.get(put, headers=ada), 200) == withdrawn


async def test_bad_preferences_are_refused(client: TestClient, app: web.Application) -> None:
    ada = await sign_in(client, app, "ada@shop.example")
    good = {"theme": "dark", "language": "en", "currency": "EUR", "marketing_opt_in": True}
    for body in (
        {k: v for k, v in good.items() if k != "currency"},  # PUT replaces the whole document
        {**good, "theme": "blue"},
        {**good, "currency": "eur"},
        {**good, "currency": "EURO"},
        {**good, "language": "English"},
        {**good, "marketing_opt_in": "yes"},
        {**good, "marketing_opt_in": 1},
        {**good, "marketing_opt_in_at": "2024-01-01T00:00:00Z"},
        {**good, "font": "serif"},
    ):
        resp = await client.put("/api/v1/me/preferences", json=body, headers=ada)
        await expect(resp, 422, "validation_failed")
    assert (await expect(await client.get("/api/v1/me/preferences", headers=ada), 200))["theme"] == "system"
