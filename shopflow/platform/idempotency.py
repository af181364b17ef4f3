"""Idempotency-Key on unsafe requests: the first response to a key is replayed.

The same key with the same body replays the first answer (status and body) for at least
24 hours; with another body it is 422; while the first request still runs, 409. A request
that fails (4xx, 5xx) leaves no record, so it can be retried with the same key: a failure
changed nothing, since every change happens in one transaction. A key whose request died
with its process is taken over after LOCK_TIMEOUT.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from .db import Database
from .errors import Conflict, Invalid

KEEP = "24 hours"
LOCK_TIMEOUT = "60 seconds"
HEADER = "Idempotency-Key"


class KeyReused(Invalid):
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used with another request"


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is still running"


async def idempotent(
    request: web.Request, db: Database, caller: str, run: Callable[[], Awaitable[web.Response]]
) -> web.Response:
    """`run()`'s response, or the one a previous request with the same key got."""
    key = request.headers.get(HEADER)
    if key is None:
        return await run()
    if not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
        raise Invalid(
            "the Idempotency-Key must be 1-255 printable ASCII characters",
            errors=[{"field": HEADER, "message": "1-255 printable ASCII characters"}],
        )
    scope = f"{request.method} {request.path} {caller}"
    digest = hashlib.sha256(await request.read()).digest()
    if not await _claim(db, scope, key, digest):
        return await _replay(db, scope, key, digest)
    try:
        response = await run()
    except BaseException:
        await db.execute("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key)
        raise
    await db.execute(
        "UPDATE idempotency_keys SET status = $3, body = $4, locked_at = NULL WHERE scope = $1 AND key = $2",
        scope,
        key,
        response.status,
        response.body,
    )
    return response


async def _claim(db: Database, scope: str, key: str, digest: bytes) -> bool:
    """Whether this request is the key's first (or takes over a dead one)."""
    claimed = await db.fetchval(
        "INSERT INTO idempotency_keys (scope, key, request_hash, locked_at) VALUES ($1, $2, $3, now())"
        " ON CONFLICT (scope, key) DO UPDATE SET locked_at = now(), created_at = now()"
        " WHERE idempotency_keys.status IS NULL AND idempotency_keys.request_hash = $3"
        f" AND idempotency_keys.locked_at < now() - interval '{LOCK_TIMEOUT}'"
        " RETURNING true",
        scope,
        key,
        digest,
    )
    return bool(claimed)


async def _replay(db: Database, scope: str, key: str, digest: bytes) -> web.Response:
    row = await db.fetchrow(
        "SELECT request_hash, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key
    )
    if row is None:
        raise KeyInUse("the first request with this key just failed; retry")
    if row["request_hash"] != digest:
        raise KeyReused("this Idempotency-Key was sent with another request body; use a new key")
    if row["status"] is None:
        raise KeyInUse("a request with this Idempotency-Key is still running; retry shortly")
    response = web.Response(status=row["status"], body=row["body"], content_type="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


async def forget_old_keys(db: Database) -> int:
    """Delete keys past their replay window; how many."""
    done = await db.execute(f"DELETE FROM idempotency_keys WHERE created_at < now() - interval '{KEEP}'")
    return int(done.split()[-1])
