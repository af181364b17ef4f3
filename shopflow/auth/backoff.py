"""Failed sign-ins per account: after a few, each next attempt waits twice as long, up to a
ceiling. Nobody can lock another person out for good, and unknown emails back off the same way."""

from __future__ import annotations

from redis.asyncio import Redis

from ..platform.errors import RateLimited

FAILURES_TTL = 86400


class LoginBackoff:
    def __init__(self, redis: Redis, after: int, max_seconds: int) -> None:
        self.redis, self.after, self.max_seconds = redis, after, max_seconds

    @staticmethod
    def _keys(email: str) -> tuple[str, str]:
        account = email.lower()
        return f"login_fail:{account}", f"login_wait:{account}"

    async def check(self, email: str) -> None:
        """Raise 429 while the account must wait before its next attempt."""
        wait = await self.redis.ttl(self._keys(email)[1])
        if wait > 0:
            raise RateLimited(
                f"too many failed sign-ins; try again in {wait} s", headers={"Retry-After": str(wait)}
            )

    async def failed(self, email: str) -> int:
        """Count a failure; the number of failures in a row."""
        failures_key, wait_key = self._keys(email)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(failures_key)
            pipe.expire(failures_key, FAILURES_TTL)
            failures = int((await pipe.execute())[0])
        if failures >= self.after:
            wait = min(2 ** (failures - self.after), self.max_seconds)
            await self.redis.set(wait_key, 1, ex=wait)
        return failures

    async def succeeded(self, email: str) -> None:
        await self.redis.delete(*self._keys(email))
