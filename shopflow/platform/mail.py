"""Outgoing mail through a transactional outbox.

A component writes a mail with `queue_mail` inside the transaction that makes it true (an
account, a reset token, a paid order); after the commit it asks a worker to send it. The
worker job locks the row, sends it (SMTP, or only the log in the embedded default) and marks
it sent; a relay re-enqueues whatever is still unsent a minute later, so a lost enqueue or a
crashed worker delays a mail but never loses it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from email.message import EmailMessage
from uuid import UUID

import aiosmtplib
from arq.connections import ArqRedis

from .db import Database, Executor
from .outbox import backlog_of
from .redact import ERASED
from .settings import Settings

log = logging.getLogger("shopflow.mail")
RELAY_AFTER = "1 minute"
UNDELIVERABLE = ".invalid"  # RFC 2606: the domain of erased buyers' addresses


async def queue_mail(ex: Executor, to: str, subject: str, body: str) -> UUID:
    """Write a mail to the outbox, in the caller's transaction; its id."""
    return await ex.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO mail_outbox (to_address, subject, body) VALUES ($1, $2, $3) RETURNING id",
        to,
        subject,
        body,
    )


async def enqueue_mail(queue: ArqRedis, mail_id: UUID, attempt: str = "first") -> None:
    """Ask a worker to send the mail; failing here is fine, the relay will."""
    try:
        await queue.enqueue_job("send_mail", str(mail_id), _job_id=f"mail:{mail_id}:{attempt}")
    except Exception:
        log.warning("mail %s left for the relay", mail_id, exc_info=True)


async def _deliver(settings: Settings, to: str, subject: str, body: str) -> None:
    if to.lower().endswith(UNDELIVERABLE):  # an erased buyer's order: nobody to tell
        log.info("mail to a reserved domain not sent", extra={"subject": subject})
        return
    if settings.mail_mode == "log":
        log.info("mail", extra={"to": to, "subject": subject, "body": body})
        return
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.mail_from, to, subject
    message.set_content(body)
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=settings.smtp_password.get_secret_value() or None,
        start_tls=settings.smtp_starttls,
        timeout=30,
    )


async def send_mail(db: Database, settings: Settings, mail_id: UUID) -> bool:
    """Send one outbox mail unless it went already; whether this call sent it."""
    async with db.transaction() as conn:
        row = await conn.fetchrow(
            "SELECT to_address, subject, body FROM mail_outbox"
            " WHERE id = $1 AND sent_at IS NULL FOR UPDATE SKIP LOCKED",
            mail_id,
        )
        if row is None:
            return False  # sent already, or another worker is sending it now
        await _deliver(settings, row["to_address"], row["subject"], row["body"])
        await conn.execute("UPDATE mail_outbox SET sent_at = now() WHERE id = $1", mail_id)
    return True


async def unsent_mail(db: Database, limit: int = 500) -> list[UUID]:
    """Mail still unsent a minute after it was written: for the relay to enqueue again."""
    rows = await db.fetch(
        f"SELECT id FROM mail_outbox WHERE sent_at IS NULL AND created_at < now() - interval '{RELAY_AFTER}'"
        " ORDER BY created_at LIMIT $1",
        limit,
    )
    return [r["id"] for r in rows]


async def backlog(ex: Executor) -> tuple[int, float]:
    """Mail not sent yet, and the age in seconds of the oldest (0 when none)."""
    return await backlog_of(ex, "mail_outbox", "sent_at")


async def forget_mail(
    ex: Executor, addresses: Collection[str], mentions: str | None, names: str | None
) -> int:
    """Erase a person from the outbox, in the caller's transaction: mail to any of their
    `addresses` is deleted, sent or not; in mail to others whose subject or body matches
    `mentions` (a `redact.pattern` of their addresses and phone numbers), `names` (a pattern
    of those and their names) is replaced. How many mails were deleted."""
    done = await ex.execute(
        "DELETE FROM mail_outbox WHERE lower(to_address) = ANY($1::text[])", [a.lower() for a in addresses]
    )
    if mentions is not None and names is not None:
        await ex.execute(
            "UPDATE mail_outbox SET subject = regexp_replace(subject, $2, $3, 'gi'),"
            " body = regexp_replace(body, $2, $3, 'gi') WHERE subject ~* $1 OR body ~* $1",
            mentions,
            names,
            ERASED,
        )
    return int(done.split()[-1])
