"""The variants a web process serves most, kept in its memory.

A key names its bytes forever, so a copy in memory is never stale; what can change is
whether the key still exists (its media deleted), so a copy is dropped `ttl` seconds after
it was read, and at once by this process's own put or delete. Without the copies a local
file costs a trip to a thread per request and an S3 object two requests to S3; with them a
hot variant is answered from memory, which is what lets one process serve thousands a second.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import BinaryIO

from .storage import Blob, Original, Spooled, Storage

ENTRY_SHARE = 16  # one object may take at most this share of the budget


@dataclass(frozen=True)
class MemoryBlob:
    data: bytes
    file: BinaryIO | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    async def chunks(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        yield self.data[offset : offset + count]


class CachedStorage:
    """`storage`, with the small objects it opens kept in memory up to `budget` bytes in all
    (the least recently opened go first); everything else is passed through."""

    def __init__(self, storage: Storage, budget: int, ttl: float = 60.0) -> None:
        self.storage = storage
        self.budget = budget
        self.entry_max = budget // ENTRY_SHARE
        self.ttl = ttl
        self.used = 0
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def cached(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        data, expires = entry
        if expires <= time.monotonic():
            self.evict([key])
            return None
        self._entries.move_to_end(key)
        return data

    def remember(self, key: str, data: bytes) -> None:
        if len(data) > self.entry_max:
            return
        self.evict([key])
        self._entries[key] = (data, time.monotonic() + self.ttl)
        self.used += len(data)
        while self.used > self.budget:
            _, (dropped, _) = self._entries.popitem(last=False)
            self.used -= len(dropped)

    def evict(self, keys: Iterable[str]) -> None:
        for key in keys:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self.used -= len(entry[0])

    @asynccontextmanager
    async def open(self, key: str) -> AsyncIterator[Blob]:
        data = self.cached(key)
        if data is not None:
            yield MemoryBlob(data)
            return
        async with self.storage.open(key) as blob:
            if blob.size > self.entry_max:
                yield blob
                return
            data = blob.data
            if data is None:
                data = b"".join([chunk async for chunk in blob.chunks(0, blob.size)])
        self.remember(key, data)
        yield MemoryBlob(data)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        self.evict([key])
        await self.storage.put(key, data, content_type)

    async def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        self.evict(keys)
        await self.storage.delete(keys)

    def spool(self, chunks: AsyncIterable[bytes], max_bytes: int) -> AbstractAsyncContextManager[Spooled]:
        return self.storage.spool(chunks, max_bytes)

    async def keep(self, spooled: Spooled) -> Original:
        return await self.storage.keep(spooled)

    async def get(self, key: str) -> bytes:
        return await self.storage.get(key)

    async def exists(self, key: str) -> bool:
        return await self.storage.exists(key)
