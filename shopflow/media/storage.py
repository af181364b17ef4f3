"""Where media bytes live, behind one Protocol: a local directory or an S3 bucket.

Keys are content-addressed, so a key names one sequence of bytes forever and every URL is
immutable. A key is one of two strict patterns, never a path a caller chose:

    originals/<sha256 of the upload>                   kept, never served
    variants/<sha256 of the original>/<label>.<ext>    served by GET /media/{key}

An upload is spooled first (hashed and counted as it arrives, cut off past a limit), then
kept once under its hash:

    async with storage.spool(chunks, max_bytes) as upload:   # TooLarge past max_bytes
        ...check upload.head (the first bytes) for the type...
        original = await storage.keep(upload)                # .created: False if it was there
    # the temporary file is gone here, whatever happened

    MediaStorageError
    ├── BadKey          a key outside the patterns (a caller's bug; requests never get here)
    └── ObjectMissing   nothing is stored under the key
    TooLarge            an upload past the limit: a PayloadTooLarge, so 413 where it escapes
    StorageUnavailable  the store did not answer: an Unavailable, so 503 where it escapes
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from ..platform.errors import PayloadTooLarge, Unavailable
from .ladder import VariantFormat

BY_EXTENSION = {f.extension: f for f in VariantFormat}

HEX64 = "[0-9a-f]{64}"
ORIGINAL_KEY = re.compile(f"originals/{HEX64}")
# variants/<original's sha256>/<ladder digest>/<width>.<ext>, as ladder.variant_key makes them:
# hex and digits only, so no key is a path trick.
VARIANT_KEY = re.compile(f"variants/{HEX64}/[0-9a-f]{{12}}/[1-9][0-9]{{0,4}}\\.(?:avif|webp|jpg)")
FLUSH_BYTES = 1 << 20  # an upload reaches its temporary file in writes this large
HEAD_BYTES = 4096  # of an upload kept in memory, for telling its type by magic bytes


class MediaStorageError(Exception):
    """Base of the storage's own errors."""


class BadKey(MediaStorageError, ValueError):
    """A key that is neither an original's nor a variant's."""


class ObjectMissing(MediaStorageError, KeyError):
    """Nothing is stored under the key."""


class TooLarge(PayloadTooLarge):
    code = "media_too_large"
    title = "The file is too large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"files may be at most {max_bytes} bytes")
        self.max_bytes = max_bytes


class StorageUnavailable(Unavailable):
    code = "media_storage_unavailable"
    title = "Media storage unavailable"


def is_variant(key: str) -> bool:
    return VARIANT_KEY.fullmatch(key) is not None


def check_key(key: str) -> str:
    """`key`, if it is an original's or a variant's; BadKey otherwise."""
    if ORIGINAL_KEY.fullmatch(key) is None and VARIANT_KEY.fullmatch(key) is None:
        raise BadKey(f"not a media key: {key!r}")
    return key


def variant_format(key: str) -> VariantFormat:
    return BY_EXTENSION[key.rsplit(".", 1)[1]]


def public_url(key: str, cdn_url: str = "") -> str:
    """Where clients fetch a variant: on the CDN when there is one, else this origin's
    /media/ path (relative to the API's base URL)."""
    return f"{cdn_url}/{key}" if cdn_url else f"/media/{key}"


@dataclass(frozen=True)
class Spooled:
    """An upload held in a temporary file until its spool ends."""

    path: Path
    sha256: str
    size: int
    head: bytes  # the first HEAD_BYTES (or all, if fewer)

    @property
    def key(self) -> str:
        return f"originals/{self.sha256}"


@dataclass(frozen=True)
class Original:
    """An upload kept under its content key."""

    key: str
    sha256: str
    size: int
    created: bool  # False: the same bytes were stored already


class Blob(Protocol):
    """One stored object, open for reading."""

    @property
    def size(self) -> int: ...

    @property
    def file(self) -> BinaryIO | None:
        """An open local file (for sendfile); None when the bytes are elsewhere."""

    @property
    def data(self) -> bytes | None:
        """All the bytes, when they are in memory already."""

    def chunks(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        """`count` bytes from `offset`, in pieces."""


class Storage(Protocol):
    """Where media bytes live. Every method checks its keys (BadKey)."""

    def spool(self, chunks: AsyncIterable[bytes], max_bytes: int) -> AbstractAsyncContextManager[Spooled]:
        """The upload in a temporary file while this lasts; TooLarge past `max_bytes`."""

    async def keep(self, spooled: Spooled) -> Original:
        """Store a spooled upload under its content key, once."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`; readers see all of it or nothing."""

    async def get(self, key: str) -> bytes:
        """The bytes under `key`; ObjectMissing if there are none."""

    async def exists(self, key: str) -> bool:
        """Whether anything is stored under `key`."""

    async def delete(self, keys: Iterable[str]) -> None:
        """Remove what is stored under `keys`; missing ones are no error."""

    def open(self, key: str) -> AbstractAsyncContextManager[Blob]:
        """The object under `key` for reading; ObjectMissing if there is none."""


class _Sink:
    """The temporary file an upload is written to, hashed as it is written.

    Writes run in worker threads; a lock keeps `discard` (on the event loop) from closing
    the descriptor under a write still running after its request was cancelled.
    """

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(dir=directory, prefix="upload-")
        self.path = Path(name)
        self._fd: int | None = fd
        self._hash = hashlib.sha256()
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:  # discarded while this write waited for its thread
                return
            self._hash.update(data)  # releases the GIL on large buffers
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def discard(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        self.path.unlink(missing_ok=True)


@asynccontextmanager
async def spool_to(directory: Path, chunks: AsyncIterable[bytes], max_bytes: int) -> AsyncIterator[Spooled]:
    """Write `chunks` to a temporary file in `directory`, hashing and counting them; the
    file is removed when this ends, also on errors and cancellation."""
    sink = _Sink(directory)
    try:
        size, head, pending = 0, b"", list[bytes]()
        pending_bytes = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(max_bytes)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= FLUSH_BYTES:
                await asyncio.to_thread(sink.write, b"".join(pending))
                pending, pending_bytes = [], 0
        if pending:
            await asyncio.to_thread(sink.write, b"".join(pending))
        yield Spooled(sink.path, sink.hexdigest(), size, head)
    finally:
        sink.discard()  # synchronous: a second cancellation cannot leave the file behind
