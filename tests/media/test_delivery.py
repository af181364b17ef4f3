"""GET /media/{key} through the whole app, its media on a local directory and on S3."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shopflow.app import create_app
from shopflow.keys import MEDIA_STORAGE, SETTINGS
from shopflow.media.cache import CachedStorage
from shopflow.media.delivery import CACHE_CONTROL, etag
from shopflow.media.ladder import Ladder, VariantFormat, variant_key
from shopflow.media.local import WHOLE_BYTES, LocalStorage
from shopflow.media.storage import Storage, public_url
from tests.client import expect

from .conftest import random_bytes, sha

DIGEST = Ladder().digest  # the default ladder's, as variant keys carry it

SIZE = 100_000
LARGE = WHOLE_BYTES + 200_000  # a file not read whole: sent by sendfile, or read in pieces


@dataclass
class Shop:
    client: Any
    storage: Storage
    data: bytes
    key: str  # a stored WebP variant of SIZE bytes
    path: str


@pytest.fixture
def memory_cache(request: pytest.FixtureRequest) -> bool:
    """Whether the web process keeps the variants it serves in memory (as it does unless
    told not to); the tests of what differs between the two ways out take both, by `both_ways`."""
    return bool(getattr(request, "param", True))


both_ways = pytest.mark.parametrize("memory_cache", [True, False], ids=["hot", "cold"], indirect=True)


@pytest.fixture
async def shop(
    make_settings: Any, make_client: Any, media_settings: dict[str, Any], memory_cache: bool
) -> Shop:
    app = create_app(make_settings(**media_settings, media_memory_cache_mb=64 if memory_cache else 0))
    client = await make_client(app)
    data = random_bytes(SIZE)
    key = variant_key(sha(b"original"), DIGEST, 640, VariantFormat.WEBP)
    await app[MEDIA_STORAGE].put(key, data, "image/webp")
    return Shop(client, app[MEDIA_STORAGE], data, key, f"/media/{key}")


@both_ways
async def test_a_variant_is_served_immutable(shop: Shop) -> None:
    resp = await shop.client.get(shop.path)
    assert resp.status == 200 and await resp.read() == shop.data
    assert resp.headers["ETag"] == etag(shop.key)
    assert resp.headers["ETag"].startswith('"')  # strong: byte ranges may be combined
    assert resp.headers["Cache-Control"] == CACHE_CONTROL == "public, max-age=31536000, immutable"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Type"] == "image/webp"
    assert resp.headers["Content-Length"] == str(SIZE)
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["X-Request-ID"]


@pytest.mark.both_loops
@both_ways
async def test_a_large_variant_streams_whole_or_in_part(shop: Shop) -> None:
    data = random_bytes(LARGE)
    key = variant_key(sha(b"large"), DIGEST, 2560, VariantFormat.JPEG)
    await shop.storage.put(key, data, "image/jpeg")
    for _ in range(2):  # the second time from memory, when the process keeps it
        resp = await shop.client.get(f"/media/{key}")
        assert resp.status == 200 and await resp.read() == data
        assert resp.headers["Content-Length"] == str(LARGE) and resp.headers["ETag"] == etag(key)
        assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.headers["X-Request-ID"]
    part = await shop.client.get(f"/media/{key}", headers={"Range": "bytes=300000-600000"})
    assert part.status == 206 and await part.read() == data[300000:600001]
    assert part.headers["Content-Range"] == f"bytes 300000-600000/{LARGE}"
    head = await shop.client.head(f"/media/{key}")
    assert head.status == 200 and head.headers["Content-Length"] == str(LARGE) and await head.read() == b""
    cached = await shop.client.get(f"/media/{key}", headers={"If-None-Match": etag(key)})
    assert cached.status == 304 and await cached.read() == b""


async def test_the_type_follows_the_extension(shop: Shop) -> None:
    for fmt, media_type in (("avif", "image/avif"), ("webp", "image/webp"), ("jpeg", "image/jpeg")):
        key = variant_key(sha(b"other"), DIGEST, 320, VariantFormat(fmt))
        await shop.storage.put(key, b"bytes", media_type)
        resp = await shop.client.get(f"/media/{key}")
        assert resp.status == 200 and await resp.read() == b"bytes"
        assert resp.content_type == media_type


RANGES = [
    ("bytes=0-0", 0, 0),
    ("bytes=10-19", 10, 19),
    ("bytes=99990-", 99990, SIZE - 1),
    ("bytes=99990-200000", 99990, SIZE - 1),  # a last byte past the end: up to the end
    ("bytes=-10", SIZE - 10, SIZE - 1),
    ("bytes=-200000", 0, SIZE - 1),  # a suffix longer than the file: all of it
    ("BYTES=5-6", 5, 6),
]


@both_ways
async def test_a_range_is_answered_206(shop: Shop) -> None:
    for header, first, last in RANGES:
        resp = await shop.client.get(shop.path, headers={"Range": header})
        assert resp.status == 206, header
        assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}", header
        assert resp.headers["Content-Length"] == str(last - first + 1), header
        assert resp.headers["ETag"] == etag(shop.key)
        assert await resp.read() == shop.data[first : last + 1], header


@both_ways
async def test_a_range_past_the_end_is_416(shop: Shop) -> None:
    for header in ("bytes=100000-", "bytes=200000-200010", "bytes=-0"):
        resp = await shop.client.get(shop.path, headers={"Range": header})
        await expect(resp, 416, "range_not_satisfiable")
        assert resp.headers["Content-Range"] == f"bytes */{SIZE}", header


async def test_a_range_that_is_not_one_is_ignored(shop: Shop) -> None:
    for header in ("bytes=9-5", "bytes=0-1,5-6", "items=0-5", "bytes=x-y", "bytes="):
        resp = await shop.client.get(shop.path, headers={"Range": header})
        assert resp.status == 200 and await resp.read() == shop.data, header


async def test_if_range_honours_the_range_only_for_these_bytes(shop: Shop) -> None:
    same = await shop.client.get(shop.path, headers={"Range": "bytes=0-9", "If-Range": etag(shop.key)})
    assert same.status == 206 and await same.read() == shop.data[:10]
    for other in ('"something-else"', "Wed, 21 Oct 2015 07:28:00 GMT", f"W/{etag(shop.key)}"):
        resp = await shop.client.get(shop.path, headers={"Range": "bytes=0-9", "If-Range": other})
        assert resp.status == 200 and await resp.read() == shop.data, other


@both_ways
async def test_if_none_match_with_our_etag_is_304(shop: Shop) -> None:
    tag = etag(shop.key)
    for given in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        resp = await shop.client.get(shop.path, headers={"If-None-Match": given, "Range": "bytes=0-1"})
        assert resp.status == 304, given
        assert await resp.read() == b""
        assert resp.headers["ETag"] == tag and resp.headers["Cache-Control"] == CACHE_CONTROL


async def test_if_none_match_with_another_etag_is_200(shop: Shop) -> None:
    resp = await shop.client.get(shop.path, headers={"If-None-Match": '"0123-abcd"'})
    assert resp.status == 200 and await resp.read() == shop.data


@both_ways
async def test_head_says_everything_but_the_body(shop: Shop) -> None:
    resp = await shop.client.head(shop.path)
    assert resp.status == 200 and await resp.read() == b""
    assert resp.headers["Content-Length"] == str(SIZE)
    assert resp.headers["ETag"] == etag(shop.key) and resp.headers["Content-Type"] == "image/webp"
    partial = await shop.client.head(shop.path, headers={"Range": "bytes=0-99"})
    assert partial.status == 206 and partial.headers["Content-Range"] == f"bytes 0-99/{SIZE}"


@pytest.mark.parametrize("backend", ["local"])
async def test_the_etag_is_the_contents_not_the_file(shop: Shop) -> None:
    # aiohttp's FileResponse would derive it from the file's mtime and size, so a copy of the
    # same bytes (another web process, a restored backup) would not revalidate.
    local = shop.storage.storage if isinstance(shop.storage, CachedStorage) else shop.storage
    assert isinstance(local, LocalStorage)
    os.utime(local.path(shop.key), (1_000_000_000, 1_000_000_000))
    resp = await shop.client.get(shop.path, headers={"If-None-Match": etag(shop.key)})
    assert resp.status == 304 and resp.headers["ETag"] == etag(shop.key)
    assert "Last-Modified" not in resp.headers


async def test_originals_are_never_served(shop: Shop) -> None:
    data = b"<html><script>alert(1)</script>"  # a polyglot would be stored as it came
    async with shop.storage.spool(one_chunk(data), 1 << 20) as spooled:
        original = await shop.storage.keep(spooled)
    assert await shop.storage.exists(original.key)
    await expect(await shop.client.get(f"/media/{original.key}"), 404, "media_not_found")
    # (HEAD has no body, so past the contract client, which would read a problem in it)
    async with shop.client.session.head(shop.client.make_url(f"/media/{original.key}")) as head:
        assert head.status == 404


async def test_a_key_naming_nothing_is_404(shop: Shop) -> None:
    for key in (
        variant_key(sha(b"never stored"), DIGEST, 640, VariantFormat.WEBP),
        "variants/" + "0" * 64 + "/640w.png",
        "variants/abc/640w.webp",
        "favicon.ico",
        "tmp/upload-1234",
    ):
        await expect(await shop.client.get(f"/media/{key}"), 404, "media_not_found")


TRAVERSALS = [
    "/media/../secret.jpg",
    "/media/%2e%2e/secret.jpg",
    "/media/%2e%2e%2fsecret.jpg",
    "/media/variants/%2e%2e/%2e%2e/secret.jpg",
    "/media/variants%2f..%2f..%2fsecret.jpg",
    "/media/variants/{sha}/..%2f..%2f..%2fsecret.jpg",
    "/media/variants/{sha}/%2e%2e/%2e%2e/%2e%2e/secret.jpg",
    "/media/variants/{sha}/..\\..\\..\\secret.jpg",
    "/media//etc/passwd",
    "/media/%2fetc%2fpasswd",
]


@pytest.mark.parametrize("backend", ["local"])
async def test_no_path_leaves_the_media_directory(shop: Shop, tmp_path: Path) -> None:
    (tmp_path / "secret.jpg").write_bytes(b"TOP SECRET")  # just outside the media root
    for target in TRAVERSALS:
        status, answer = await raw_get(shop.client.port, target.format(sha=sha(b"original")))
        assert status in (400, 404), answer
        assert b"TOP SECRET" not in answer and b"root:" not in answer


async def test_variant_urls_point_at_the_cdn_that_fronts_this_origin(
    make_settings: Any, make_client: Any, media_settings: dict[str, Any]
) -> None:
    cdn = "https://cdn.shop.example/media"
    app = create_app(make_settings(**media_settings, media_cdn_url=cdn + "/"))
    client = await make_client(app)
    key = variant_key(sha(b"cdn"), DIGEST, 960, VariantFormat.AVIF)
    await app[MEDIA_STORAGE].put(key, b"avif bytes", "image/avif")
    url = public_url(key, app[SETTINGS].media_cdn_url)
    assert url == f"{cdn}/{key}"
    # The CDN asks this origin for the same path under /media: the same bytes.
    resp = await client.get("/media" + url.removeprefix(cdn))
    assert resp.status == 200 and await resp.read() == b"avif bytes"
    assert public_url(key, "") == f"/media/{key}"


async def one_chunk(data: bytes) -> Any:
    yield data


async def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """The status and whole answer to a request line sent as written (clients normalise paths)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n".encode())
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(answer.split(b" ", 2)[1]), answer
