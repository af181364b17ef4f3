"""The storage contract, run against a local directory and against S3 (moto's server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shopflow.media.backends import open_storage
from shopflow.media.cache import CachedStorage
from shopflow.media.ladder import Ladder, VariantFormat, original_key, variant_key
from shopflow.media.local import WHOLE_BYTES, LocalStorage
from shopflow.media.s3 import S3Storage
from shopflow.media.storage import (
    FLUSH_BYTES,
    HEAD_BYTES,
    BadKey,
    ObjectMissing,
    Storage,
    StorageUnavailable,
    TooLarge,
    check_key,
    public_url,
)
from shopflow.platform.embedded import free_port
from shopflow.platform.settings import Settings, SettingsError

from .conftest import random_bytes, s3_options, sha

DIGEST = Ladder().digest  # the default ladder's, as variant keys carry it


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        await asyncio.sleep(0)  # as a network read would
        yield data[i : i + size]


async def upload(storage: Storage, data: bytes, max_bytes: int = 10 << 20) -> Any:
    async with storage.spool(chunked(data), max_bytes) as spooled:
        return spooled, await storage.keep(spooled)


async def test_an_upload_is_kept_under_its_hash(storage: Storage, spool_dir: Path) -> None:
    data = random_bytes(3 * FLUSH_BYTES + 12345)  # several writes to the spool, and a rest
    spooled, original = await upload(storage, data)
    assert (spooled.sha256, spooled.size, spooled.head) == (sha(data), len(data), data[:HEAD_BYTES])
    assert original.key == f"originals/{sha(data)}" == spooled.key
    assert (original.sha256, original.size, original.created) == (sha(data), len(data), True)
    assert await storage.get(original.key) == data
    assert await storage.exists(original.key)
    assert files_in(spool_dir) == []  # the spooled file is gone


async def test_a_small_upload_is_all_head(storage: Storage) -> None:
    spooled, original = await upload(storage, b"GIF89a")
    assert spooled.head == b"GIF89a" and original.size == 6


async def test_the_same_bytes_are_stored_once(storage: Storage, tmp_path: Path) -> None:
    data = random_bytes(100_000)
    _, first = await upload(storage, data)
    _, again = await upload(storage, data)
    assert (first.created, again.created) == (True, False)
    assert first.key == again.key
    assert await stored_keys(storage, tmp_path) == [first.key]


async def test_the_same_bytes_at_once_are_stored_by_one(storage: Storage, tmp_path: Path) -> None:
    data = random_bytes(50_000)
    results = await asyncio.gather(*(upload(storage, data) for _ in range(4)))
    assert sorted(original.created for _, original in results) == [False, False, False, True]
    assert await storage.get(original_key(sha(data))) == data


async def test_an_upload_past_the_limit_is_refused_and_nothing_kept(
    storage: Storage, spool_dir: Path
) -> None:
    data = random_bytes(2 * FLUSH_BYTES)
    read = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal read
        async for chunk in chunked(data):
            read += len(chunk)
            yield chunk

    with pytest.raises(TooLarge) as refused:
        async with storage.spool(counted(), FLUSH_BYTES + 1):
            pytest.fail("a spool past its limit was handed out")
    assert refused.value.status == 413 and refused.value.code == "media_too_large"
    assert read < len(data)  # it stopped reading at the limit
    assert not await storage.exists(original_key(sha(data)))
    assert files_in(spool_dir) == []


async def test_exactly_the_limit_is_allowed(storage: Storage) -> None:
    data = random_bytes(4096)
    _, original = await upload(storage, data, max_bytes=4096)
    assert original.size == 4096


async def test_a_cancelled_upload_leaves_no_file(storage: Storage, spool_dir: Path) -> None:
    started = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield random_bytes(FLUSH_BYTES + 1)  # written to the spool
        started.set()
        await asyncio.Event().wait()  # the client stops sending
        yield b""

    async def spool() -> None:
        async with storage.spool(stalls(), 10 << 20):
            pytest.fail("unreachable")

    task = asyncio.create_task(spool())
    await started.wait()
    assert len(files_in(spool_dir)) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files_in(spool_dir) == []


async def test_an_upload_refused_after_spooling_leaves_nothing(storage: Storage, spool_dir: Path) -> None:
    data = b"<svg onload=alert(1)>"
    with pytest.raises(ValueError, match="not an image"):
        async with storage.spool(chunked(data), 1 << 20) as spooled:
            if not spooled.head.startswith(b"\xff\xd8"):
                raise ValueError("not an image")
    assert not await storage.exists(original_key(sha(data)))
    assert files_in(spool_dir) == []


async def test_put_get_exists_delete(storage: Storage) -> None:
    digest = sha(b"original")
    keys = [variant_key(digest, DIGEST, w, fmt) for w in (320, 640) for fmt in VariantFormat]
    for i, key in enumerate(keys):
        await storage.put(key, b"variant %d" % i, VariantFormat.WEBP.mime)
    assert [await storage.get(key) for key in keys] == [b"variant %d" % i for i in range(len(keys))]
    await storage.put(keys[0], b"again", "image/avif")  # a job run twice writes again
    assert await storage.get(keys[0]) == b"again"
    await storage.delete(
        [*keys[:3], variant_key(digest, DIGEST, 9999, VariantFormat.JPEG)]
    )  # one never stored
    assert [await storage.exists(key) for key in keys] == [False] * 3 + [True] * (len(keys) - 3)
    with pytest.raises(ObjectMissing):
        await storage.get(keys[0])
    await storage.delete([])


async def test_an_object_opens_for_ranges(storage: Storage) -> None:
    data = random_bytes(WHOLE_BYTES + 100_000)  # a local file this large stays open, not read whole
    key = variant_key(sha(data), DIGEST, 1280, VariantFormat.AVIF)
    await storage.put(key, data, "image/avif")
    async with storage.open(key) as blob:
        assert blob.size == len(data)
        for offset, count in ((0, len(data)), (1000, 1), (len(data) - 10, 10), (5, 0)):
            got = b"".join([chunk async for chunk in blob.chunks(offset, count)])
            assert got == data[offset : offset + count]
    with pytest.raises(ObjectMissing):
        async with storage.open(variant_key(sha(b"none"), DIGEST, 640, VariantFormat.JPEG)):
            pytest.fail("a missing object opened")


async def test_a_memory_cache_keeps_what_was_opened(storage: Storage) -> None:
    cached = CachedStorage(storage, budget=16 * 1000)  # objects of 1000 bytes at most
    keys = [variant_key(sha(b"%d" % i), DIGEST, 160, VariantFormat.WEBP) for i in range(20)]
    for i, key in enumerate(keys):
        await cached.put(key, bytes([i]) * 1000, "image/webp")
        async with cached.open(key) as blob:
            assert blob.data == bytes([i]) * 1000
    assert cached.used <= cached.budget
    assert cached.cached(keys[0]) is None and cached.cached(keys[-1]) == bytes([19]) * 1000  # oldest out
    await cached.put(keys[-1], b"new", "image/webp")  # this process's own writes are seen at once
    async with cached.open(keys[-1]) as blob:
        assert blob.data == b"new"
    await cached.delete([keys[-1]])
    with pytest.raises(ObjectMissing):
        async with cached.open(keys[-1]):
            pytest.fail("a deleted object opened")
    big = variant_key(sha(b"big"), DIGEST, 2560, VariantFormat.JPEG)
    await cached.put(big, bytes(1001), "image/jpeg")
    async with cached.open(big) as blob:
        assert blob.size == 1001 and b"".join([c async for c in blob.chunks(1000, 1)]) == b"\x00"
    assert cached.cached(big) is None  # too large to keep


async def test_a_memory_cache_forgets_after_its_ttl(storage: Storage) -> None:
    cached = CachedStorage(storage, budget=1 << 20, ttl=0)
    key = variant_key(sha(b"gone"), DIGEST, 320, VariantFormat.AVIF)
    await cached.put(key, b"bytes", "image/avif")
    async with cached.open(key):
        pass
    await storage.delete([key])  # by another process: this one learns of it once the ttl is over
    assert cached.cached(key) is None
    assert await cached.exists(key) is False


BAD_KEYS = [
    "",
    "originals",
    "originals/abc",
    "originals/" + "A" * 64,
    "originals/" + "0" * 64 + "/x",
    "../originals/" + "0" * 64,
    "variants/" + "0" * 64 + "/../../../etc/passwd",
    "variants/" + "0" * 64 + "/..avif",
    "variants/" + "0" * 64 + "/640w.png",
    "variants/" + "0" * 64 + "/640W.webp",
    "variants/" + "0" * 64 + "/a/b.webp",
    "variants/" + "0" * 64 + "/640w.webp\n",
    "/variants/" + "0" * 64 + "/640w.webp",
    "tmp/upload-x",
]


async def test_keys_outside_the_patterns_are_refused(storage: Storage) -> None:
    for key in BAD_KEYS:
        with pytest.raises(BadKey):
            check_key(key)
        with pytest.raises(BadKey):
            await storage.put(key, b"x", "image/webp")
        with pytest.raises(BadKey):
            await storage.get(key)
        with pytest.raises(BadKey):
            await storage.exists(key)
        with pytest.raises(BadKey):
            await storage.delete([key])
        with pytest.raises(BadKey):
            async with storage.open(key):
                pass


@pytest.mark.parametrize("backend", ["local"])
async def test_local_files_land_under_the_root(storage: Storage, tmp_path: Path) -> None:
    data = b"bytes"
    await upload(storage, data)
    assert (tmp_path / "media" / "originals" / sha(data)).read_bytes() == data
    key = variant_key(sha(data), DIGEST, 320, VariantFormat.JPEG)
    await storage.put(key, data, "image/jpeg")
    assert (tmp_path / "media" / key).read_bytes() == data
    await storage.delete([key])
    assert not (tmp_path / "media" / key).parent.exists()  # no empty directory is left
    assert files_in(tmp_path / "media" / "tmp") == []


async def test_the_settings_choose_the_storage(tmp_path: Path, s3_url: str, bucket: str) -> None:
    local = Settings(data_dir=tmp_path)
    async with open_storage(local) as storage:
        assert isinstance(storage, LocalStorage) and storage.root == tmp_path / "media"
    s3 = Settings(
        media_storage="s3",
        media_s3_bucket=bucket,
        media_s3_endpoint_url=s3_url + "/",
        media_s3_access_key_id="testing",
        media_s3_secret_access_key="testing",
    )
    async with open_storage(s3) as storage:
        assert isinstance(storage, S3Storage)
        await storage.put(variant_key(sha(b""), DIGEST, 1, VariantFormat.WEBP), b"x", "image/webp")
    with pytest.raises(SettingsError, match="media_s3_bucket"):
        async with open_storage(Settings(media_storage="s3")):
            pass


async def test_s3_out_of_reach_is_unavailable() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with S3Storage.connect(s3_options(closed, "media", max_attempts=1)) as storage:
        with pytest.raises(StorageUnavailable) as refused:
            await storage.exists(original_key(sha(b"x")))
    assert refused.value.status == 503  # not a 500 where it reaches a request


def test_public_urls_point_at_the_cdn_when_there_is_one() -> None:
    key = variant_key("ab" * 32, DIGEST, 640, VariantFormat.AVIF)
    assert public_url(key) == f"/media/{key}"
    cdn = Settings(media_cdn_url="https://cdn.shop.example/media/").media_cdn_url
    assert public_url(key, cdn) == f"https://cdn.shop.example/media/{key}"
    with pytest.raises(ValueError, match="media_cdn_url"):
        Settings(media_cdn_url="cdn.shop.example")


def files_in(directory: Path) -> list[Path]:
    return list(directory.iterdir())


async def stored_keys(storage: Storage, tmp_path: Path) -> list[str]:
    """Every key in the store, read behind its back."""
    if isinstance(storage, LocalStorage):
        files = (p.relative_to(storage.root) for p in storage.root.rglob("*") if p.is_file())
        return sorted(str(p) for p in files if p.parts[0] != "tmp")
    assert isinstance(storage, S3Storage)
    listed = await storage.client.list_objects_v2(Bucket=storage.bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))
