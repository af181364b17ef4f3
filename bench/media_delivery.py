"""Media benchmarks, as ratios to baselines measured in the same run.

(b) GET /media/{key} of a 100 KB variant from `shopflow serve` (one process, local storage,
    access log off) at 64 and 256 connections, against the bare aiohttp hello-world; and,
    to show what sending 100 KB itself costs, a bare aiohttp handler answering the same
    bytes from memory (the ceiling for any handler of this size in one process).
(c) 10 MB multipart uploads through the storage's spool (hashed, counted, kept under the
    hash, then deleted so that every upload stores anew) against a bare aiohttp handler
    writing the same part to a file chunk by chunk; both in bare aiohttp processes (there
    is no upload endpoint in the shop yet), driven by an aiohttp client at 4 at a time.

`python -m bench.media_delivery [--seconds N] [--rounds N]`. The machine is shared and
noisy: read the ratios, not the times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import uvloop
from aiohttp import web

from bench.__main__ import ROW, process
from bench.load import Result, drive, ensure_wrk
from shopflow.media.local import LocalStorage
from shopflow.platform.embedded import EmbeddedPostgres, EmbeddedRedis, free_port

VARIANT_BYTES = 100 * 1024
UPLOAD_BYTES = 10 * 1024 * 1024
UPLOADERS = 4  # uploads at once
BOUNDARY = "shopflowbenchboundary"
READ_BYTES = 64 * 1024  # a multipart read_chunk (aiohttp reads 8 KiB unless asked)


# --- (c) the upload servers: `python -m bench.media_delivery upload-server PORT MODE DIR` ---


async def _parts(request: web.Request) -> AsyncIterator[bytes]:
    reader = await request.multipart()
    part = await reader.next()
    assert isinstance(part, aiohttp.BodyPartReader)
    while chunk := await part.read_chunk(READ_BYTES):
        yield chunk


def upload_app(mode: str, directory: Path) -> web.Application:
    storage = LocalStorage(directory, durable=mode == "spool-durable")

    async def bare(request: web.Request) -> web.Response:
        path = directory / f"bare-{secrets.token_hex(8)}"
        with path.open("wb") as f:  # as a bare handler would: each chunk written as it comes
            async for chunk in _parts(request):
                f.write(chunk)
        path.unlink()
        return web.Response(status=202)

    async def spool(request: web.Request) -> web.Response:
        async with storage.spool(_parts(request), 25 * 1024 * 1024) as spooled:
            original = await storage.keep(spooled)
        await storage.delete([original.key])  # the next upload stores anew
        return web.Response(status=202)

    app = web.Application(client_max_size=UPLOAD_BYTES * 2)
    app.router.add_post("/", bare if mode == "bare" else spool)
    app.router.add_get("/", lambda request: _ok())
    return app


async def _ok() -> web.Response:
    return web.Response(text="ok")


def serve_uploads(port: int, mode: str, directory: Path) -> None:
    web.run_app(
        upload_app(mode, directory),
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


def multipart_body(data: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


async def upload_load(url: str, body: bytes, seconds: float) -> Uploads:
    """POST `body` from UPLOADERS clients at once for `seconds`."""
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession() as http:

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with http.post(url, data=body, headers=headers) as resp:
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


def run_uploads(args: argparse.Namespace, tmp: Path) -> None:
    body = multipart_body(os.urandom(UPLOAD_BYTES))
    modes = ("bare", "spool", "spool-durable")
    ports = {mode: free_port() for mode in modes}
    servers = []
    for mode in modes:
        directory = tmp / f"uploads-{mode}"
        directory.mkdir()
        cmd = [
            sys.executable,
            "-m",
            "bench.media_delivery",
            "upload-server",
            str(ports[mode]),
            mode,
            str(directory),
        ]
        servers.append(process(cmd, f"http://127.0.0.1:{ports[mode]}/"))
    with contextlib.ExitStack() as stack:
        for server in servers:
            stack.enter_context(server)
        url = {mode: f"http://127.0.0.1:{port}/" for mode, port in ports.items()}
        print(
            f"\n(c) {UPLOAD_BYTES // 2**20} MB multipart uploads, {UPLOADERS} at a time; each spool run"
            f" right after a {args.seconds} s run of the bare handler\n"
        )
        print(UPLOAD_ROW.format("handler", "uploads/s", "MB/s", "p50 ms", "errors", "ratio", "target"))
        for mode in modes:
            asyncio.run(upload_load(url[mode], body, 2))  # warm up
        bare_runs: list[Uploads] = []
        for mode, target in (("spool", 0.7), ("spool-durable", None)):
            pairs = [
                (
                    asyncio.run(upload_load(url["bare"], body, args.seconds)),
                    asyncio.run(upload_load(url[mode], body, args.seconds)),
                )
                for _ in range(args.rounds)
            ]
            bare_runs += [b for b, _ in pairs]
            ratio = statistics.median(r.per_second / b.per_second for b, r in pairs)
            r = sorted((r for _, r in pairs), key=lambda u: u.per_second)[len(pairs) // 2]
            verdict = "" if target is None else f">= {target}x  {'ok' if ratio >= target else 'MISSED'}"
            name = "spool + keep" if mode == "spool" else "spool + keep, fsync'd"
            print(UPLOAD_ROW.format(name, *_figures(r), f"{ratio:.2f}x", verdict), flush=True)
        b = sorted(bare_runs, key=lambda u: u.per_second)[len(bare_runs) // 2]
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
    key = f"variants/{hashlib.sha256(data).hexdigest()}/640w-q80.webp"
    (media / key).parent.mkdir(parents=True)
    (media / key).write_bytes(data)
    return f"/media/{key}", media / key


def run_delivery(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    path, file = store_variant(tmp / "data" / "media")
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
        print(ROW.format("scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "ratio", "target"))
        for connections in (64, 256):
            drive(base["shop"], [path], connections=connections, seconds=2)  # warm up
            runs = [
                tuple(
                    drive(base[name], [url], connections=connections, seconds=args.seconds)
                    for name, url in (("baseline", "/"), ("bare", "/"), ("shop", path))
                )
                for _ in range(args.rounds)
            ]
            _report(connections, runs)


def _report(connections: int, runs: list[tuple[Result, ...]]) -> None:
    ratio = statistics.median(shop.rps / hello.rps for hello, _, shop in runs)
    to_bare = statistics.median(shop.rps / bare.rps for _, bare, shop in runs)
    ceiling = statistics.median(bare.rps / hello.rps for hello, bare, _ in runs)
    r = sorted((shop for *_, shop in runs), key=lambda x: x.rps)[len(runs) // 2]
    errors = sum(shop.errors for *_, shop in runs)
    ok = ratio >= 0.5 and errors == 0
    figures = (f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p95_ms:.2f}", f"{r.p99_ms:.2f}", errors)
    verdict = f">= 0.5x, 0 errors  {'ok' if ok else 'MISSED'} ({to_bare:.2f}x the bare 100 KB handler)"
    print(ROW.format(f"100 KB variant, {connections} conns", *figures, f"{ratio:.2f}x", verdict))
    hello = statistics.median(h.rps for h, *_ in runs)
    bare = statistics.median(b.rps for _, b, _ in runs)
    print(ROW.format(f"  hello-world, {connections} conns", f"{hello:,.0f}", "", "", "", "", "", ""))
    print(
        ROW.format(
            f"  bare 100 KB, {connections} conns", f"{bare:,.0f}", "", "", "", "", f"{ceiling:.2f}x", ""
        )
    )


def main() -> None:
    if sys.argv[1:2] == ["upload-server"]:
        serve_uploads(int(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
        return
    if sys.argv[1:2] == ["variant-server"]:
        serve_variant(int(sys.argv[2]), Path(sys.argv[3]))
        return
    p = argparse.ArgumentParser(prog="bench.media_delivery", description=__doc__)
    p.add_argument("--seconds", type=int, default=5, help="per measurement")
    p.add_argument("--rounds", type=int, default=3, help="baseline/scenario pairs per scenario")
    p.add_argument("suite", nargs="?", choices=("all", "delivery", "upload"), default="all")
    args = p.parse_args()
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="shopflow-bench-media-") as name:
        tmp = Path(name)
        if args.suite in ("all", "delivery"):
            pg = EmbeddedPostgres(tmp / "pg", durable=False)
            redis = EmbeddedRedis(tmp / "redis", durable=False)
            try:
                env = {
                    **os.environ,
                    "DATABASE_URL": pg.start(),
                    "REDIS_URL": redis.start(),
                    "SHOPFLOW_DATA_DIR": str(tmp / "data"),
                    "SHOPFLOW_ACCESS_LOG": "false",
                    "SHOPFLOW_ENV": "production",
                    "SHOPFLOW_LOG_LEVEL": "WARNING",
                    "SHOPFLOW_JWT_SECRET": secrets.token_urlsafe(48),
                    "SHOPFLOW_PASSWORD_PEPPER": secrets.token_urlsafe(16),
                }
                run_delivery(args, tmp, env)
            finally:
                redis.stop()
                pg.stop()
        if args.suite in ("all", "upload"):
            run_uploads(args, tmp)


if __name__ == "__main__":
    main()
