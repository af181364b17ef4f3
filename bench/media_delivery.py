"""Media benchmarks, as ratios to baselines measured in the same run.

(b) GET /media/{key} of a 100 KB variant from `shopflow serve` (one process, local storage,
    access log off) at 64 and 256 connections, against the bare aiohttp hello-world; and,
    to show what sending 100 KB itself costs, a bare aiohttp handler answering the same
    bytes from memory (the ceiling for any handler of this size in one process).
(c) 10 MB uploads to `POST /api/v1/media` as staff (streamed to a spool file, hashed,
    sniffed, kept under the hash with an fsync, the media row and its job committed)
    against a bare aiohttp handler writing the same multipart part to a file chunk by
    chunk, driven by an aiohttp client 4 at a time. Every upload's bytes differ, so each
    is stored anew.

Part of `make bench` (`python -m bench media`). The machine is shared and noisy: read the
ratios, not the times.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from aiohttp import web

from bench.load import Result, drive
from shopflow.media.ladder import VariantFormat, variant_key
from shopflow.platform.embedded import free_port

VARIANT_BYTES = 100 * 1024
UPLOAD_BYTES = 10 * 1024 * 1024
UPLOADERS = 4  # uploads at once
BOUNDARY = "shopflowbenchboundary"
JPEG_HEAD = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")  # what the shop sniffs: a JPEG
READ_BYTES = 64 * 1024  # a multipart read_chunk (aiohttp reads 8 KiB unless asked)


# --- (c) the upload servers: `python -m bench.media_delivery upload-server PORT MODE DIR` ---


async def _parts(request: web.Request) -> AsyncIterator[bytes]:
    reader = await request.multipart()
    part = await reader.next()
    assert isinstance(part, aiohttp.BodyPartReader)
    while chunk := await part.read_chunk(READ_BYTES):
        yield chunk


def upload_app(directory: Path) -> web.Application:
    async def bare(request: web.Request) -> web.Response:
        path = directory / f"bare-{secrets.token_hex(8)}"
        with path.open("wb") as f:  # as a bare handler would: each chunk written as it comes
            async for chunk in _parts(request):
                f.write(chunk)
        path.unlink()
        return web.Response(status=202)

    app = web.Application(client_max_size=UPLOAD_BYTES * 2)
    app.router.add_post("/", bare)
    app.router.add_get("/", lambda request: _ok())
    return app


async def _ok() -> web.Response:
    return web.Response(text="ok")


def serve_uploads(port: int, directory: Path) -> None:
    web.run_app(
        upload_app(directory),
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


@dataclass(frozen=True)
class Uploads:
    per_second: float
    mb_per_second: float
    p50_ms: float
    errors: int


def multipart_body(data: bytes) -> bytearray:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return bytearray(head + JPEG_HEAD + data + f"\r\n--{BOUNDARY}--\r\n".encode())


async def upload_load(url: str, body: bytearray, seconds: float, headers: dict[str, str]) -> Uploads:
    """POST `body` (its last file bytes made unique each time) from UPLOADERS clients at once
    for `seconds`."""
    headers = {**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    latencies: list[float] = []
    errors = 0
    unique = len(body) - len(BOUNDARY) - 8 - 16  # 16 bytes of the file before its closing boundary
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession() as http:

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                body[unique : unique + 16] = os.urandom(16)
                data = bytes(body)
                started = time.perf_counter()
                try:
                    async with http.post(url, data=data, headers=headers) as resp:
                        await resp.read()
                        ok = resp.status == 202
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(UPLOADERS)))
        took = time.perf_counter() - began
    n = len(latencies)
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    return Uploads(n / took, n * len(body) / took / 1e6, p50, errors)


async def staff_token(base: str, env: dict[str, str]) -> dict[str, str]:
    """Bearer headers of a staff account made with `shopflow user create`."""
    email, password = "bench-staff@shop.example", secrets.token_urlsafe(16)
    cli = [sys.executable, "-m", "shopflow", "user", "create", "--email", email, "--role", "staff"]
    made = await asyncio.create_subprocess_exec(
        *cli, env={**env, "SHOPFLOW_NEW_PASSWORD": password}, stdout=asyncio.subprocess.DEVNULL
    )
    assert await made.wait() == 0, "could not create the staff account"
    async with aiohttp.ClientSession() as http:
        login = {"email": email, "password": password}
        async with http.post(f"{base}/api/v1/auth/login", json=login) as resp:
            token = (await resp.json())["access_token"]
    return {"Authorization": f"Bearer {token}"}


def run_uploads(args: argparse.Namespace, env: dict[str, str], tmp: Path, process: Any, row: str) -> None:
    body = multipart_body(os.urandom(UPLOAD_BYTES - len(JPEG_HEAD)))
    ports = {name: free_port() for name in ("bare", "shop")}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    directory = tmp / "uploads-bare"
    directory.mkdir()
    bare = [sys.executable, "-m", "bench.media_delivery", "upload-server", str(ports["bare"]), str(directory)]
    shop = [sys.executable, "-m", "shopflow", "serve", "--host", "127.0.0.1", "--port", str(ports["shop"])]
    with process(bare, base["bare"] + "/"), process(shop, base["shop"] + "/readyz", env):
        staff = asyncio.run(staff_token(base["shop"], env))
        url = {"bare": base["bare"] + "/", "shop": base["shop"] + "/api/v1/media"}
        headers = {"bare": {}, "shop": staff}
        print(
            f"\n(c) {UPLOAD_BYTES // 2**20} MB multipart uploads, {UPLOADERS} at a time; each run of the"
            f" shop right after a {args.seconds} s run of the bare handler\n"
        )
        print(UPLOAD_ROW.format("handler", "uploads/s", "MB/s", "p50 ms", "errors", "ratio", "target"))
        for name in ("bare", "shop"):
            asyncio.run(upload_load(url[name], body, 2, headers[name]))  # warm up
        pairs = [
            tuple(asyncio.run(upload_load(url[n], body, args.seconds, headers[n])) for n in ("bare", "shop"))
            for _ in range(args.rounds)
        ]
        ratio = statistics.median(r.per_second / b.per_second for b, r in pairs)
        r = sorted((r for _, r in pairs), key=lambda u: u.per_second)[len(pairs) // 2]
        b = sorted((b for b, _ in pairs), key=lambda u: u.per_second)[len(pairs) // 2]
        print(
            UPLOAD_ROW.format(
                "POST /api/v1/media",
                *_figures(r),
                f"{ratio:.2f}x",
                f">= 0.7x  {'ok' if ratio >= 0.7 else 'MISSED'}",
            )
        )
        print(UPLOAD_ROW.format("bare handler (baseline, median)", *_figures(b), "", ""))


UPLOAD_ROW = "{:34} {:>9} {:>7} {:>7} {:>6} {:>7}  {}"


def _figures(u: Uploads) -> tuple[str, str, str, int]:
    return f"{u.per_second:,.1f}", f"{u.mb_per_second:,.0f}", f"{u.p50_ms:.1f}", u.errors


# --- (b) delivery ---


def serve_variant(port: int, path: Path) -> None:
    """`python -m bench.media_delivery variant-server PORT FILE`: FILE's bytes from memory."""
    data = path.read_bytes()

    async def variant(request: web.Request) -> web.Response:
        return web.Response(body=data, content_type="image/webp")

    app = web.Application()
    app.router.add_get("/", variant)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop())


def store_variant(media: Path) -> tuple[str, Path]:
    """A 100 KB variant written where local storage keeps it; its URL path and file."""
    data = os.urandom(VARIANT_BYTES)
    key = variant_key(hashlib.sha256(data).hexdigest(), "0123456789ab", 640, VariantFormat.WEBP)
    (media / key).parent.mkdir(parents=True)
    (media / key).write_bytes(data)
    return f"/media/{key}", media / key


def run_delivery(args: argparse.Namespace, env: dict[str, str], tmp: Path, process: Any, row: str) -> None:
    path, file = store_variant(Path(env["SHOPFLOW_DATA_DIR"]) / "media")
    ports = {name: free_port() for name in ("baseline", "bare", "shop")}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    shop = [sys.executable, "-m", "shopflow", "serve", "--host", "127.0.0.1", "--port", str(ports["shop"])]
    bare = [sys.executable, "-m", "bench.media_delivery", "variant-server", str(ports["bare"]), str(file)]
    with (
        process([sys.executable, "-m", "bench.baseline", str(ports["baseline"])], base["baseline"] + "/"),
        process(bare, base["bare"] + "/"),
        process(shop, base["shop"] + "/readyz", env),
    ):
        print(
            f"(b) GET /media/{{key}} of a {VARIANT_BYTES // 1024} KB variant, wrk on loopback; each run"
            f" right after {args.seconds} s runs of the hello-world and of a bare handler sending the"
            f" same bytes;\nratio = median of {args.rounds} runs, to the hello-world (and to the bare"
            " 100 KB handler)\n"
        )
        print(row.format("scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "ratio", "target"))
        for connections in (64, 256):
            drive(base["shop"], [path], connections=connections, seconds=2)  # warm up
            runs = [
                tuple(
                    drive(base[name], [url], connections=connections, seconds=args.seconds)
                    for name, url in (("baseline", "/"), ("bare", "/"), ("shop", path))
                )
                for _ in range(args.rounds)
            ]
            _report(connections, runs, row)


def _report(connections: int, runs: list[tuple[Result, ...]], row: str) -> None:
    ratio = statistics.median(shop.rps / hello.rps for hello, _, shop in runs)
    to_bare = statistics.median(shop.rps / bare.rps for _, bare, shop in runs)
    ceiling = statistics.median(bare.rps / hello.rps for hello, bare, _ in runs)
    r = sorted((shop for *_, shop in runs), key=lambda x: x.rps)[len(runs) // 2]
    errors = sum(shop.errors for *_, shop in runs)
    ok = ratio >= 0.5 and errors == 0
    figures = (f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p95_ms:.2f}", f"{r.p99_ms:.2f}", errors)
    verdict = f">= 0.5x, 0 errors  {'ok' if ok else 'MISSED'} ({to_bare:.2f}x the bare 100 KB handler)"
    print(row.format(f"100 KB variant, {connections} conns", *figures, f"{ratio:.2f}x", verdict))
    hello = statistics.median(h.rps for h, *_ in runs)
    bare = statistics.median(b.rps for _, b, _ in runs)
    print(row.format(f"  hello-world, {connections} conns", f"{hello:,.0f}", "", "", "", "", "", ""))
    print(
        row.format(
            f"  bare 100 KB, {connections} conns", f"{bare:,.0f}", "", "", "", "", f"{ceiling:.2f}x", ""
        )
    )


def main() -> None:
    """The servers the benchmarks run in processes of their own."""
    if sys.argv[1:2] == ["upload-server"]:
        serve_uploads(int(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1:2] == ["variant-server"]:
        serve_variant(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit("usage: python -m bench.media_delivery upload-server PORT DIR | variant-server PORT FILE")


if __name__ == "__main__":
    main()
