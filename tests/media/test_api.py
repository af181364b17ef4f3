"""The media API end to end: uploads through the app, variants made by a real worker (pyvips),
bytes in a real directory or on moto's S3 server, served back by GET /media/{key}."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from arq.constants import in_progress_key_prefix

from shopflow.app import create_app
from shopflow.keys import DB, MEDIA_STORAGE, REDIS
from shopflow.media.demo import draw, upload_pictures
from shopflow.media.ladder import Ladder, original_key
from shopflow.media.sniff import ImageType, sniff
from shopflow.platform.outbox import enqueue_job
from shopflow.platform.settings import Settings
from tests.checkout.conftest import run_worker
from tests.client import expect
from tests.conftest import sign_in
from workers.outbox import relay_jobs

from .conftest import sha
from .corpus import photo

WIDTHS = (160, 320)


def jpeg(width: int = 400, height: int = 300) -> bytes:
    return bytes(photo(width, height).jpegsave_buffer(Q=85))


def form(data: bytes, filename: str = "photo.jpg", alt: str | None = None, **fields: str) -> aiohttp.FormData:
    f = aiohttp.FormData()
    if alt is not None:
        f.add_field("alt", alt)
    for name, value in fields.items():
        f.add_field(name, value)
    # What the client says of the file counts for nothing: a name and a type it is not.
    f.add_field("file", io.BytesIO(data), filename=filename, content_type="image/jpeg")
    return f


async def upload(client: TestClient, staff: dict[str, str], data: bytes, **kw: Any) -> UUID:
    body = await expect(await client.post("/api/v1/media", data=form(data, **kw), headers=staff), 202)
    assert body["status"] == "processing"
    return UUID(body["id"])


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(media_widths=WIDTHS, media_max_bytes=2 * 2**20)


async def test_an_upload_becomes_variants_served_with_their_picture(
    make_settings: Callable[..., Settings], media_settings: dict[str, Any], make_client: Any, backend: str
) -> None:
    settings = make_settings(media_widths=WIDTHS, **media_settings)
    app = create_app(settings)
    client = await make_client(app)
    staff = await sign_in(client, app, "staff@shop.example", "staff")
    media_id = await upload(client, staff, jpeg(400, 300), alt="A red chair")

    before = await expect(await client.get(f"/api/v1/media/{media_id}"), 200)
    assert (before["status"], before["url"], before["variants"], before["alt"]) == (
        "processing",
        None,
        [],
        "A red chair",
    )
    await run_worker(settings)

    media = await expect(await client.get(f"/api/v1/media/{media_id}"), 200)
    assert (media["status"], media["width"], media["height"], media["error"]) == ("ready", 400, 300, None)
    assert media["content_type"] == "image/jpeg" and media["placeholder"]
    assert sorted((v["format"], v["width"], v["height"]) for v in media["variants"]) == sorted(
        (f, w, w * 3 // 4) for f in ("avif", "webp", "jpeg") for w in WIDTHS
    )
    jpegs = [v["url"] for v in media["variants"] if v["format"] == "jpeg"]
    assert media["srcset"] == f"{jpegs[0]} 160w, {jpegs[1]} 320w" and media["url"] == jpegs[1]
    assert [s["type"] for s in media["sources"]] == ["image/avif", "image/webp"]
    for v in media["variants"]:
        resp = await client.get(v["url"])
        assert resp.status == 200 and resp.content_type == f"image/{v['format']}"
        assert len(await resp.read()) == v["bytes"]
    # The original itself is never served.
    assert (await client.get(f"/media/{original_key(sha(jpeg(400, 300)))}")).status == 404


async def test_uploads_are_for_staff(client: TestClient, app: web.Application, staff: dict[str, str]) -> None:
    customer = await sign_in(client, app, "shopper@example.com")
    await expect(await client.post("/api/v1/media", data=form(jpeg())), 401, "invalid_token")
    await expect(await client.post("/api/v1/media", data=form(jpeg()), headers=customer), 403, "forbidden")
    await expect(await client.get("/api/v1/media", headers=customer), 403, "forbidden")
    media_id = await upload(client, staff, jpeg())
    await expect(await client.delete(f"/api/v1/media/{media_id}", headers=customer), 403, "forbidden")


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("photo.jpg", jpeg())
    return buffer.getvalue()


@pytest.mark.parametrize("data", [SVG, HTML, PDF, zipped(), b""], ids=["svg", "html", "pdf", "zip", "empty"])
async def test_what_is_not_an_image_is_refused_and_nothing_kept(
    client: TestClient, staff: dict[str, str], db: asyncpg.Connection, settings: Settings, data: bytes
) -> None:
    resp = await client.post("/api/v1/media", data=form(data, filename="photo.jpg"), headers=staff)
    await expect(resp, 415, "unsupported_image_type")
    assert await db.fetchval("SELECT count(*) FROM media") == 0
    assert stored_files(settings.data_dir / "media") == []


async def test_an_upload_over_the_limit_is_413_and_nothing_kept(
    client: TestClient, staff: dict[str, str], db: asyncpg.Connection, settings: Settings
) -> None:
    big = jpeg() + os.urandom(settings.media_max_bytes)  # a JPEG head, then too much
    await expect(await client.post("/api/v1/media", data=form(big), headers=staff), 413, "media_too_large")
    assert await db.fetchval("SELECT count(*) FROM media") == 0
    assert stored_files(settings.data_dir / "media") == []


async def test_malformed_uploads_are_clear_errors(client: TestClient, staff: dict[str, str]) -> None:
    url = "/api/v1/media"
    await expect(await client.post(url, json={"file": "x"}, headers=staff), 415, "unsupported_media_type")
    no_boundary = {**staff, "Content-Type": "multipart/form-data"}
    await expect(await client.post(url, data=b"--x\r\n", headers=no_boundary), 400)
    bad_header = b'--b\r\nContent-Disposition: form-data; name="\x06"\r\n\r\nx\r\n--b--\r\n'
    with_boundary = {**staff, "Content-Type": "multipart/form-data; boundary=b"}
    await expect(await client.post(url, data=bad_header, headers=with_boundary), 400, "bad_request")
    only_alt = aiohttp.FormData({"alt": "no file"})
    only_alt.add_field("extra", b"x", filename="x.bin")  # a file part makes it multipart
    await expect(await client.post(url, data=only_alt, headers=staff), 422, "validation_failed")
    alt_only = aiohttp.FormData()
    alt_only.add_field("alt", "a", content_type="text/plain")
    alt_only.add_field("alt", "b", filename="b.txt")  # multipart, yet no file
    await expect(await client.post(url, data=alt_only, headers=staff), 422, "validation_failed")
    twice = form(jpeg())
    twice.add_field("file", io.BytesIO(jpeg()), filename="again.jpg")
    await expect(await client.post(url, data=twice, headers=staff), 422, "validation_failed")
    long_alt = form(jpeg(), alt="x" * 501)
    await expect(await client.post(url, data=long_alt, headers=staff), 422, "validation_failed")


async def test_the_same_bytes_twice_are_stored_and_processed_once(
    client: TestClient, staff: dict[str, str], db: asyncpg.Connection, settings: Settings
) -> None:
    data = jpeg()
    first, second = await upload(client, staff, data), await upload(client, staff, data)
    await run_worker(settings)
    a = await expect(await client.get(f"/api/v1/media/{first}"), 200)
    b = await expect(await client.get(f"/api/v1/media/{second}"), 200)
    assert a["status"] == b["status"] == "ready" and a["variants"] == b["variants"]
    files = stored_files(settings.data_dir / "media")
    originals = [p for p in files if "originals" in p.parts]
    assert len(originals) == 1 and len(files) == 1 + 3 * len(WIDTHS)


async def test_a_job_run_twice_has_one_result(
    client: TestClient,
    app: web.Application,
    staff: dict[str, str],
    db: asyncpg.Connection,
    settings: Settings,
) -> None:
    media_id = await upload(client, staff, jpeg())
    await run_worker(settings)
    before = await expect(await client.get(f"/api/v1/media/{media_id}"), 200)
    updated = await db.fetchval("SELECT updated_at FROM media WHERE id = $1", media_id)
    job = await db.fetchval("SELECT id FROM job_outbox WHERE function = 'process_media'")
    await enqueue_job(app[REDIS], job, attempt="again")
    await run_worker(settings)
    assert await expect(await client.get(f"/api/v1/media/{media_id}"), 200) == before
    assert await db.fetchval("SELECT updated_at FROM media WHERE id = $1", media_id) == updated


async def test_a_broken_image_fails_with_its_code(
    client: TestClient, staff: dict[str, str], settings: Settings
) -> None:
    truncated = jpeg(800, 600)[:2000]
    media_id = await upload(client, staff, truncated)
    await run_worker(settings)
    media = await expect(await client.get(f"/api/v1/media/{media_id}"), 200)
    assert media["status"] == "failed" and media["error"]["code"] == "corrupt_image"
    assert (media["url"], media["variants"], media["sources"]) == (None, [], [])


async def test_a_redis_outage_delays_processing_but_loses_nothing(
    make_settings: Callable[..., Settings], make_client: Any, db: asyncpg.Connection
) -> None:
    """The row and its job commit together; a job Redis never got is relayed later."""
    settings = make_settings(media_widths=WIDTHS)
    app = create_app(settings)
    client = await make_client(app)
    staff = await sign_in(client, app, "staff@shop.example", "staff")
    media_id = await upload(client, staff, jpeg())
    await app[REDIS].flushdb()  # as if Redis had lost the job
    await db.execute("UPDATE job_outbox SET created_at = now() - interval '2 minutes'")
    await run_worker(settings, relay_jobs)
    assert (await expect(await client.get(f"/api/v1/media/{media_id}"), 200))["status"] == "ready"


async def test_a_worker_killed_mid_job_leaves_it_to_another(
    make_settings: Callable[..., Settings], make_client: Any, db: asyncpg.Connection, tmp_path: Path
) -> None:
    settings = make_settings(media_widths=(160, 320, 480, 640, 960, 1280, 1600, 1920, 2560), job_lease=4)
    app = create_app(settings)
    client = await make_client(app)
    staff = await sign_in(client, app, "staff@shop.example", "staff")
    media_id = await upload(client, staff, jpeg(4000, 3000))
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SHOPFLOW_DATA_DIR": str(settings.data_dir),
        "SHOPFLOW_MEDIA_WIDTHS": "[160, 320, 480, 640, 960, 1280, 1600, 1920, 2560]",
        "SHOPFLOW_JOB_LEASE": "4",
        "SHOPFLOW_WORKER_METRICS_PORT": "0",
        "SHOPFLOW_JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "SHOPFLOW_PASSWORD_PEPPER": settings.password_pepper.get_secret_value(),
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shopflow", "worker", env=env, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(600):  # until it holds the job's lease: it is making the variants now
            if await db.fetchval("SELECT leased_until IS NOT NULL FROM job_outbox"):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the worker never took the job")
        await asyncio.sleep(0.3)
        worker.send_signal(signal.SIGKILL)
    finally:
        await worker.wait()
    assert await db.fetchval("SELECT status FROM media WHERE id = $1", media_id) == "processing"
    # arq hands the dead worker's jobs to another once their in-progress marks expire: now.
    redis = app[REDIS]
    await redis.delete(*[key async for key in redis.scan_iter(match=f"{in_progress_key_prefix}*")])
    await run_worker(settings)  # the job's delivery again, while its lease holds: refused
    assert await db.fetchval("SELECT status FROM media WHERE id = $1", media_id) == "processing"
    job = await db.fetchval("SELECT id FROM job_outbox WHERE done_at IS NULL")
    lease_left = await db.fetchval("SELECT leased_until - now() FROM job_outbox WHERE id = $1", job)
    await asyncio.sleep(
        lease_left.total_seconds() + 0.1
    )  # the lease runs out: the relay's next delivery runs it
    await enqueue_job(app[REDIS], job, attempt="relayed")
    await run_worker(settings)
    assert (await expect(await client.get(f"/api/v1/media/{media_id}"), 200))["status"] == "ready"
    assert await db.fetchval("SELECT done_at IS NOT NULL FROM job_outbox WHERE id = $1", job)


async def test_the_list_is_newest_first_in_pages(client: TestClient, staff: dict[str, str]) -> None:
    made = [await upload(client, staff, jpeg(100 + i, 80)) for i in range(5)]
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = await expect(await client.get(f"/api/v1/media{query}", headers=staff), 200)
        seen += [UUID(m["id"]) for m in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == made[::-1]
    await expect(await client.get("/api/v1/media?cursor=bm90LWEtY3Vyc29y", headers=staff), 422)


async def test_deleting_media_removes_its_bytes_unless_shared_or_shown(
    client: TestClient,
    app: web.Application,
    staff: dict[str, str],
    db: asyncpg.Connection,
    settings: Settings,
) -> None:
    root = settings.data_dir / "media"
    data = jpeg()
    first, second = await upload(client, staff, data), await upload(client, staff, data)
    await run_worker(settings)
    files = stored_files(root)
    await expect(await client.delete(f"/api/v1/media/{first}", headers=staff), 204)
    assert stored_files(root) == files  # the second still names the same bytes
    product = await db.fetchval(
        "INSERT INTO products (slug, name, currency) VALUES ('chair', 'Chair', 'USD') RETURNING id"
    )
    await db.execute(
        "INSERT INTO product_images (product_id, media_id, position) VALUES ($1, $2, 0)", product, second
    )
    await expect(await client.delete(f"/api/v1/media/{second}", headers=staff), 409, "media_in_use")
    await db.execute("DELETE FROM product_images")
    await expect(await client.delete(f"/api/v1/media/{second}", headers=staff), 204)
    assert stored_files(root) == []
    await expect(await client.get(f"/api/v1/media/{second}"), 404, "media_not_found")
    await expect(await client.delete(f"/api/v1/media/{second}", headers=staff), 404, "media_not_found")
    # Uploaded again after its bytes went: kept anew, and made again.
    third = await upload(client, staff, data)
    assert await app[MEDIA_STORAGE].exists(original_key(sha(data)))
    await run_worker(settings)
    assert (await expect(await client.get(f"/api/v1/media/{third}"), 200))["status"] == "ready"


async def reprocess_all(env: dict[str, str]) -> bytes:
    """`shopflow media reprocess --all`'s output."""
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shopflow", "media", "reprocess", "--all", env=env, stdout=subprocess.PIPE
    )
    out, _ = await cli.communicate()
    assert cli.returncode == 0
    return out


async def test_reprocess_makes_the_new_ladder_and_drops_the_old(
    client: TestClient, staff: dict[str, str], make_settings: Callable[..., Settings], settings: Settings
) -> None:
    media_id = await upload(client, staff, jpeg())
    await run_worker(settings)
    old = {v["url"] for v in (await expect(await client.get(f"/api/v1/media/{media_id}"), 200))["variants"]}
    wider = make_settings(media_widths=(120, 240, 360))
    env = {
        **os.environ,
        "DATABASE_URL": wider.database_url,
        "REDIS_URL": wider.redis_url,
        "SHOPFLOW_MEDIA_WIDTHS": "[120, 240, 360]",
    }
    assert b"1 media queued" in await reprocess_all(env)
    assert b"every media is made with this ladder" in await reprocess_all(
        env
    )  # its job is pending: not twice
    await run_worker(wider)
    media = await expect(await client.get(f"/api/v1/media/{media_id}"), 200)
    assert sorted({v["width"] for v in media["variants"]}) == [120, 240, 360]
    for url in old:
        assert (await client.get(url)).status == 404
    assert Ladder(widths=(120, 240, 360)).digest in media["url"]


async def test_the_demo_pictures_go_through_the_pipeline(
    client: TestClient, app: web.Application, settings: Settings
) -> None:
    drawn = [draw(n, 64) for n in range(3)]
    assert len(set(drawn)) == 3 and all(sniff(d) is ImageType.JPEG for d in drawn)
    ids = await upload_pictures(
        app[DB], app[REDIS], app[MEDIA_STORAGE], ["Mugs", "Boots"], settings.media_max_bytes
    )
    await run_worker(settings)
    rows = await app[DB].fetch(
        "SELECT alt, status, width FROM media WHERE id = ANY($1::uuid[]) ORDER BY alt", ids
    )
    assert [(r["alt"], r["status"], r["width"]) for r in rows] == [
        ("Boots", "ready", 800),
        ("Mugs", "ready", 800),
    ]
