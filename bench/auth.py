"""The auth benchmarks: sign-ins per second against bare bcrypt, an authenticated request
against the hello-world, /healthz during a sign-in storm, and a session soak."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import aiohttp
import bcrypt
import redis

from bench.load import drive, post
from shopflow.platform.embedded import free_port

EMAIL, SOAK_EMAIL, PASSWORD = "bench@example.com", "soak@example.com", "a long and unusual passphrase"
UNLIMITED = {
    "SHOPFLOW_RATE_LIMIT_LOGIN_IP": "100000000/1",
    "SHOPFLOW_RATE_LIMIT_LOGIN_ACCOUNT": "100000000/1",
    "SHOPFLOW_RATE_LIMIT_REGISTER_IP": "100000000/1",
    "SHOPFLOW_LOGIN_BACKOFF_AFTER": "100000000",
}


def _json_post(url: str, body: dict[str, str], headers: dict[str, str] | None = None) -> dict[str, str]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return dict(json.loads(resp.read() or b"{}"))


def bare_bcrypt(seconds: float) -> float:
    """bcrypt checks per second at cost 12, one thread per core: the ceiling for sign-ins."""
    hashed = bcrypt.hashpw(b"x" * 44, bcrypt.gensalt(12))
    deadline = time.monotonic() + seconds
    counts = []

    def loop() -> None:
        n = 0
        while time.monotonic() < deadline:
            bcrypt.checkpw(b"x" * 44, hashed)
            n += 1
        counts.append(n)

    threads = [threading.Thread(target=loop) for _ in range(os.cpu_count() or 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _soak(base: str, cycles: int, concurrency: int, on_progress: Callable[[int], None]) -> int:
    done = 0
    login = {"email": SOAK_EMAIL, "password": PASSWORD}
    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            nonlocal done
            while done < cycles:
                done += 1
                async with http.post(f"{base}/api/v1/auth/login", json=login) as resp:
                    token = (await resp.json())["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                async with http.get(f"{base}/api/v1/auth/session", headers=headers) as resp:
                    assert resp.status == 200
                async with http.post(f"{base}/api/v1/auth/logout", headers=headers) as resp:
                    assert resp.status == 204
                on_progress(done)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


Process = Callable[..., AbstractContextManager[subprocess.Popen[bytes]]]


def run_auth(
    args: argparse.Namespace, env: dict[str, str], redis_url: str, process: Process, row: str
) -> None:
    seconds, rounds, connections = args.seconds, args.rounds, args.connections
    ports = {name: free_port() for name in ("baseline", "shop", "soak")}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    shop = [sys.executable, "-m", "shopflow", "serve", "--host", "127.0.0.1", "--port"]
    env = {**env, **UNLIMITED}
    with (
        process([sys.executable, "-m", "bench.baseline", str(ports["baseline"])], base["baseline"] + "/"),
        process([*shop, str(ports["shop"])], base["shop"] + "/readyz", {**env, "SHOPFLOW_BCRYPT_COST": "12"}),
    ):
        pair = _json_post(
            base["shop"] + "/api/v1/auth/register", {"email": EMAIL, "password": PASSWORD, "name": "B"}
        )
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        ceiling = bare_bcrypt(seconds)
        body = json.dumps({"email": EMAIL, "password": PASSWORD})
        login_url = base["shop"] + "/api/v1/auth/login"
        logins = post(login_url, body, connections=connections, seconds=2 * seconds)  # alone: the rate
        with ThreadPoolExecutor(1) as pool:  # then again, with /healthz probed meanwhile: the latency
            storm = pool.submit(post, login_url, body, connections=connections, seconds=seconds + 2)
            time.sleep(1)
            probe = drive(base["shop"], ["/healthz"], connections=4, seconds=seconds)
            storm.result()
        print(
            row.format(
                "sign-ins at cost 12",
                f"{logins.rps:,.1f}",
                f"{logins.p50_ms:.0f}",
                f"{logins.p95_ms:.0f}",
                f"{logins.p99_ms:.0f}",
                logins.errors,
                f"{logins.rps / ceiling:.2f}x",
                f">= 0.8x of bcrypt ({ceiling:,.1f}/s)  {'ok' if logins.rps / ceiling >= 0.8 else 'MISSED'}",
            )
        )
        print(
            row.format(
                "  /healthz during the storm",
                f"{probe.rps:,.0f}",
                f"{probe.p50_ms:.2f}",
                f"{probe.p95_ms:.2f}",
                f"{probe.p99_ms:.2f}",
                probe.errors,
                "",
                f"p99 <= 20 ms  {'ok' if probe.p99_ms <= 20 else 'MISSED'}",
            )
        )
        pairs = [
            (
                drive(base["baseline"], ["/"], connections=connections, seconds=seconds),
                drive(
                    base["shop"],
                    ["/api/v1/auth/session"],
                    connections=connections,
                    seconds=seconds,
                    headers=bearer,
                ),
            )
            for _ in range(rounds)
        ]
        ratio = statistics.median(r.rps / b.rps for b, r in pairs)
        r = sorted((r for _, r in pairs), key=lambda x: x.rps)[len(pairs) // 2]
        print(
            row.format(
                "GET /api/v1/auth/session (JWT)",
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p95_ms:.2f}",
                f"{r.p99_ms:.2f}",
                r.errors,
                f"{ratio:.2f}x",
                f">= 0.5x  {'ok' if ratio >= 0.5 else 'MISSED'}",
            ),
            flush=True,
        )

    soak_env = {**env, "SHOPFLOW_BCRYPT_COST": "4"}
    with process([*shop, str(ports["soak"])], base["soak"] + "/readyz", soak_env) as server:
        _json_post(
            base["soak"] + "/api/v1/auth/register", {"email": SOAK_EMAIL, "password": PASSWORD, "name": "B"}
        )
        store = redis.from_url(redis_url)
        pid = server.pid
        marks: dict[str, int] = {}
        warm = max(1, args.soak // 20)

        def progress(n: int) -> None:
            if n >= warm and "keys" not in marks:
                marks["keys"], marks["rss"] = int(store.dbsize()), rss_kib(pid)

        started = time.monotonic()
        cycles = asyncio.run(_soak(base["soak"], args.soak, 32, progress))
        took = time.monotonic() - started
        keys, rss = int(store.dbsize()), rss_kib(pid)
        grew = (rss - marks["rss"]) / marks["rss"]
        print(
            f"\nsession soak: {cycles:,} sign-in → request → sign-out cycles in {took:.0f} s; "
            f"Redis keys {marks['keys']} → {keys} ({'ok' if keys <= marks['keys'] else 'GREW'}); "
            f"RSS {marks['rss'] // 1024} → {rss // 1024} MiB "
            f"({grew:+.1%}, {'ok' if abs(grew) <= 0.10 else 'MISSED'} within ±10%)"
        )
