"""Email verification and password reset, through a real SMTP server and a real worker."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from shopflow.app import create_app
from shopflow.platform import mail
from shopflow.platform.db import Database, create_pool
from shopflow.platform.embedded import free_port
from workers.settings import build_worker

PASSWORD = "a long and unusual passphrase"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def token_for(self, address: str, subject: str) -> str:
        [message] = [m for m in self.messages if m["To"] == address and m["Subject"] == subject]
        self.messages.remove(message)
        body = message.get_payload(decode=True).decode()
        found = re.search(r"token=([\w-]+)", body)
        assert found, body
        return found[1]


@pytest.fixture
def inbox() -> Iterator[tuple[int, Inbox]]:
    port, box = free_port(), Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, box
    controller.stop()


@pytest.fixture
def mail_settings(make_settings: Any, inbox: tuple[int, Inbox]) -> Any:
    return make_settings(mail_mode="smtp", smtp_host="127.0.0.1", smtp_port=inbox[0], smtp_starttls=False)


async def run_worker(settings: Any) -> Any:
    worker = build_worker(settings, burst=True, poll_delay=0.01, cron_jobs=[])
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def register_ada(client: Any) -> dict[str, Any]:
    body = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    resp = await client.post("/api/v1/auth/register", json=body)
    assert resp.status == 201
    return dict(await resp.json())


async def test_registration_mails_a_link_that_verifies_the_address(
    make_client: Any, mail_settings: Any, inbox: tuple[int, Inbox]
) -> None:
    client = await make_client(create_app(mail_settings))
    pair = await register_ada(client)
    await run_worker(mail_settings)
    token = inbox[1].token_for("ada@example.com", "Confirm your email address")
    assert (await client.post("/api/v1/auth/email/verify", json={"token": token})).status == 204
    assert pair["user"]["email_verified"] is False
    login = await client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert (await login.json())["user"]["email_verified"] is True
    again = await client.post("/api/v1/auth/email/verify", json={"token": token})
    assert again.status == 400
    assert (await again.json())["code"] == "invalid_or_expired_token"


async def test_password_reset_by_mail_ends_every_session(
    make_client: Any, mail_settings: Any, inbox: tuple[int, Inbox], db: asyncpg.Connection
) -> None:
    client = await make_client(create_app(mail_settings))
    pair = await register_ada(client)
    known = await client.post("/api/v1/auth/password/forgot", json={"email": "ADA@example.com"})
    unknown = await client.post("/api/v1/auth/password/forgot", json={"email": "nobody@example.com"})
    assert known.status == unknown.status == 202
    assert await known.json() == await unknown.json()
    await run_worker(mail_settings)
    token = inbox[1].token_for("ada@example.com", "Reset your password")
    assert not [m for m in inbox[1].messages if m["To"] == "nobody@example.com"]

    weak = await client.post("/api/v1/auth/password/reset", json={"token": token, "password": "password123"})
    assert weak.status == 422
    new = "an entirely different passphrase"
    assert (
        await client.post("/api/v1/auth/password/reset", json={"token": token, "password": new})
    ).status == 204
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert (await client.get("/api/v1/auth/session", headers=headers)).status == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status == 401
    old = await client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert old.status == 401
    fresh = await client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": new})
    assert fresh.status == 200
    reused = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "password": "yet another passphrase"}
    )
    assert reused.status == 400

    await client.post("/api/v1/auth/password/forgot", json={"email": "ada@example.com"})
    await run_worker(mail_settings)
    expired = inbox[1].token_for("ada@example.com", "Reset your password")
    await db.execute(
        "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL"
    )
    resp = await client.post(
        "/api/v1/auth/password/reset", json={"token": expired, "password": "yet another passphrase"}
    )
    assert resp.status == 400


async def test_mail_is_sent_once_however_often_its_job_runs(
    mail_settings: Any, inbox: tuple[int, Inbox], db: asyncpg.Connection
) -> None:
    pool = await create_pool(mail_settings.database_url, min_size=1, max_size=2)
    database = Database(pool, 5)
    try:
        mail_id = await mail.queue_mail(database, "ada@example.com", "Hello", "token=abc")
        assert await mail.send_mail(database, mail_settings, mail_id) is True
        assert await mail.send_mail(database, mail_settings, mail_id) is False
        assert len(inbox[1].messages) == 1
        # a mail whose enqueue was lost is found by the relay a minute later
        lost = await mail.queue_mail(database, "bob@example.com", "Hi", "token=def")
        assert await mail.unsent_mail(database) == []
        await db.execute(
            "UPDATE mail_outbox SET created_at = now() - interval '2 minutes' WHERE id = $1", lost
        )
        assert await mail.unsent_mail(database) == [lost]
    finally:
        await pool.close()


async def test_the_owner_hears_of_repeated_failed_sign_ins(
    make_client: Any, make_settings: Any, inbox: tuple[int, Inbox]
) -> None:
    settings = make_settings(
        mail_mode="smtp",
        smtp_host="127.0.0.1",
        smtp_port=inbox[0],
        smtp_starttls=False,
        login_backoff_after=3,
    )
    client = await make_client(create_app(settings))
    await register_ada(client)
    for _ in range(3):
        await client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "guess guess"})
    await run_worker(settings)
    warned = [m for m in inbox[1].messages if m["Subject"] == "Failed sign-ins to your account"]
    assert [m["To"] for m in warned] == ["ada@example.com"]
