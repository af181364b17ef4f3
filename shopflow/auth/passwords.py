"""Password hashing: bcrypt on a bounded thread pool, never on the event loop.

bcrypt reads only 72 bytes, so a password is first HMAC-SHA256'd with the pepper and
base64'd (44 bytes): nothing is truncated, and a stolen table is useless without the pepper.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources
from typing import TypeVar

import bcrypt

from ..platform.errors import Unavailable

T = TypeVar("T")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords, lower-cased."""
    text = resources.files("shopflow.auth").joinpath("data/common-passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def is_common(password: str) -> bool:
    return password.lower() in common_passwords()


class PasswordHasher:
    """bcrypt at `cost` on `threads` threads; beyond `threads * 64` waiting, answers 503."""

    def __init__(self, cost: int, pepper: bytes, threads: int = 0) -> None:
        self.cost = cost
        self.pepper = pepper
        self.threads = threads or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="bcrypt")
        self._waiting = 0
        self._max_waiting = self.threads * 64
        self._dummy = b""

    def _prehash(self, password: str) -> bytes:
        return base64.b64encode(hmac.digest(self.pepper, password.encode(), hashlib.sha256))

    async def _run(self, fn: Callable[..., T], *args: bytes) -> T:
        if self._waiting >= self._max_waiting:
            raise Unavailable("too many sign-ins at once", retry_after=2)
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._waiting -= 1

    async def start(self) -> None:
        """Make the dummy hash that unknown accounts are checked against."""
        self._dummy = (await self.hash(os.urandom(16).hex())).encode()

    async def hash(self, password: str) -> str:
        hashed = await self._run(bcrypt.hashpw, self._prehash(password), bcrypt.gensalt(self.cost))
        return hashed.decode()

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Whether `password` matches; with no hash, the same work against a dummy, then False."""
        target = hashed.encode() if hashed else self._dummy
        ok = await self._run(bcrypt.checkpw, self._prehash(password), target)
        return bool(ok) and hashed is not None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
