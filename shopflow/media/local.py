"""Media bytes in a local directory: `<root>/<key>`, uploads spooled under `<root>/tmp/`.

Every file reaches its place by a rename or a hard link from `tmp/` on the same file
system, so a reader sees a whole file or none. Disk work runs in threads, off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .storage import ObjectMissing, Original, Spooled, check_key, spool_to

CHUNK_BYTES = 256 * 1024  # a read of a file served without sendfile
WHOLE_BYTES = 512 * 1024  # a file up to this size is read whole when opened: one trip to a thread


@dataclass(frozen=True)
class LocalBlob:
    size: int
    file: BinaryIO | None  # open while the blob is, unless the file was read whole
    data: bytes | None = None

    async def chunks(self, offset: int, count: int) -> AsyncGenerator[bytes, None]:
        if self.data is not None:
            yield self.data[offset : offset + count]
            return
        assert self.file is not None
        while count > 0:
            data = await asyncio.to_thread(os.pread, self.file.fileno(), min(count, CHUNK_BYTES), offset)
            if not data:  # the file shrank: it was replaced, which content keys never are
                raise ObjectMissing(f"{self.file.name} ended early")
            yield data
            offset += len(data)
            count -= len(data)


def _open(path: Path) -> LocalBlob:
    file = path.open("rb")
    size = os.fstat(file.fileno()).st_size
    if size > WHOLE_BYTES:
        return LocalBlob(size, file)
    with file:
        data = file.read()
    return LocalBlob(len(data), None, data)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    """Media in a directory; `durable` flushes each kept or put file to the disk."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.durable = durable
        for sub in ("originals", "variants", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def spool(self, chunks: AsyncIterable[bytes], max_bytes: int) -> AbstractAsyncContextManager[Spooled]:
        return spool_to(self.tmp, chunks, max_bytes)

    async def keep(self, spooled: Spooled) -> Original:
        created = await asyncio.to_thread(self._link, spooled.path, self.path(spooled.key))
        return Original(spooled.key, spooled.sha256, spooled.size, created)

    def _link(self, source: Path, target: Path) -> bool:
        if target.exists():
            return False
        if self.durable:
            _fsync(source)
        try:
            # A link, not a rename: it fails if the same bytes arrived meanwhile, which
            # says who stored them; the spool removes its own name afterwards.
            os.link(source, target)
        except FileExistsError:
            return False
        self._sync_dir(target.parent)
        return True

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self.path(key), data)

    def _write(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(name, target)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        self._sync_dir(target.parent)

    def _sync_dir(self, directory: Path) -> None:
        if self.durable:
            _fsync(directory)  # the new name survives a crash too

    async def get(self, key: str) -> bytes:
        path = self.path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def delete(self, keys: Iterable[str]) -> None:
        paths = [self.path(key) for key in keys]  # every key checked before anything goes
        await asyncio.to_thread(self._unlink, paths)

    @staticmethod
    def _unlink(paths: list[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # a variant's directory, once it is empty
                if path.parent.name != "originals":
                    path.parent.rmdir()

    @asynccontextmanager
    async def open(self, key: str) -> AsyncIterator[LocalBlob]:
        path = self.path(key)
        try:
            blob = await asyncio.to_thread(_open, path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None
        try:
            yield blob
        finally:
            if blob.file is not None:
                blob.file.close()
