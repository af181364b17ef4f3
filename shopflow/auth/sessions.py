"""Sessions in Redis: each with an idle timeout and an absolute lifetime, a rotating refresh
token stored only as a hash, and an index per user so all of a user's sessions can end at once.

    sess:{sid}          hash  user, role, rt (SHA-256 of the current refresh secret),
                              ck (SHA-256 of the browser cookie's secret), abs,
                              at (when the user signed in: a refresh keeps it)
    sess:{sid}:spent    set   hashes of refresh secrets already used
    user_sess:{uid}     zset  the user's session ids, scored by their absolute expiry

Every key has a TTL, and the index is pruned of expired ids on each login, so the store
holds what is live and nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from uuid import UUID

from redis.asyncio import Redis

# KEYS: session, spent. ARGV: presented hash, new hash, now, idle timeout.
_ROTATE = """
local current = redis.call('HGET', KEYS[1], 'rt')
if not current then return {'gone'} end
local user = redis.call('HGET', KEYS[1], 'user')
if current == ARGV[1] then
  local ttl = math.min(tonumber(ARGV[4]), tonumber(redis.call('HGET', KEYS[1], 'abs')) - tonumber(ARGV[3]))
  if ttl <= 0 then
    redis.call('DEL', KEYS[1], KEYS[2])
    return {'gone', user}
  end
  redis.call('HSET', KEYS[1], 'rt', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  return {'ok', user}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {'reused', user}
end
return {'invalid'}
"""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _index(user_id: UUID) -> str:
    return f"user_sess:{user_id}"


def _keys(sid: str) -> tuple[str, str]:
    return f"sess:{sid}", f"sess:{sid}:spent"


@dataclass(frozen=True)
class NewSession:
    session_id: str
    refresh_token: str
    cookie: str  # for browsers: sent back in an HttpOnly cookie


@dataclass(frozen=True)
class Rotated:
    session_id: str
    user_id: UUID
    refresh_token: str


class Sessions:
    def __init__(self, redis: Redis, idle_timeout: int, lifetime: int) -> None:
        self.redis = redis
        self.idle_timeout = idle_timeout
        self.lifetime = lifetime
        self._rotate = redis.register_script(_ROTATE)

    async def start(self, user_id: UUID, role: str) -> NewSession:
        """A new session for the user, with its first refresh token and its browser cookie."""
        sid = secrets.token_urlsafe(16)
        secret, cookie = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = int(time.time())
        expires = now + self.lifetime
        key, _ = _keys(sid)
        index = _index(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "user": str(user_id),
                    "role": role,
                    "rt": _hash(secret),
                    "ck": _hash(cookie),
                    "abs": expires,
                    "at": now,
                },
            )
            pipe.expire(key, min(self.idle_timeout, self.lifetime))
            pipe.zremrangebyscore(index, "-inf", now)
            pipe.zadd(index, {sid: expires})
            pipe.expire(index, self.lifetime)
            await pipe.execute()
        return NewSession(sid, f"{sid}.{secret}", f"{sid}.{cookie}")

    async def from_cookie(self, cookie: str) -> tuple[UUID, str, str] | None:
        """The user, role and session id a browser cookie stands for, if its session lives."""
        sid, _, secret = cookie.partition(".")
        if not sid or not secret:
            return None
        user, role, hashed = await self.redis.hmget(_keys(sid)[0], ["user", "role", "ck"])  # type: ignore[misc]
        if hashed is None or not hmac.compare_digest(hashed.decode(), _hash(secret)):
            return None
        return UUID(user.decode()), role.decode(), sid

    async def rotate(self, refresh_token: str) -> Rotated | None:
        """Spend a refresh token for a new one, or None: not valid, session gone, or a spent
        token used again, which revokes its session."""
        sid, _, secret = refresh_token.partition(".")
        if not sid or not secret:
            return None
        new_secret = secrets.token_urlsafe(32)
        result = await self._rotate(
            keys=list(_keys(sid)),
            args=[_hash(secret), _hash(new_secret), int(time.time()), self.idle_timeout],
        )
        outcome = result[0].decode()
        user_id = UUID(result[1].decode()) if len(result) > 1 else None
        if outcome == "ok" and user_id is not None:
            return Rotated(sid, user_id, f"{sid}.{new_secret}")
        if user_id is not None:  # the session ended just now: drop it from the user's index
            await self.redis.zrem(_index(user_id), sid)
        return None

    async def alive(self, sid: str) -> bool:
        return bool(await self.redis.exists(_keys(sid)[0]))

    async def end(self, user_id: UUID, sid: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*_keys(sid))
            pipe.zrem(_index(user_id), sid)
            await pipe.execute()

    async def end_all(self, user_id: UUID) -> None:
        """End every session of the user at once."""
        index = _index(user_id)
        sids = [s.decode() for s in await self.redis.zrange(index, 0, -1)]
        async with self.redis.pipeline(transaction=True) as pipe:
            for sid in sids:
                pipe.delete(*_keys(sid))
            pipe.delete(index)
            await pipe.execute()

    async def end_others(self, user_id: UUID, keep: str) -> None:
        """End every session of the user but `keep` (the one asking)."""
        index = _index(user_id)
        others = [s.decode() for s in await self.redis.zrange(index, 0, -1) if s.decode() != keep]
        if not others:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            for sid in others:
                pipe.delete(*_keys(sid))
            pipe.zrem(index, *others)
            await pipe.execute()

    async def started_at(self, sid: str) -> int | None:
        """When the session's user signed in (epoch seconds; refreshes do not count), if it lives."""
        at = await self.redis.hget(_keys(sid)[0], "at")  # type: ignore[misc]
        return int(at) if at is not None else None
