"""The `shopflow` command as an operator runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from shopflow.platform.embedded import free_port
from tests.conftest import JWT_SECRET, PEPPER, metric_samples


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, None
    except OSError:
        return 0, None


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the process exited early"
        if _get(base + "/readyz")[0] == 200:
            return
        time.sleep(0.3)
    raise AssertionError(f"{base} not ready after {timeout} s")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> int:
    proc.send_signal(sig)
    return proc.wait(60)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(extra)
    return env


def _serve_env(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    return _env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SHOPFLOW_DATA_DIR=str(data_dir),  # local media lands there, not in the working tree
        SHOPFLOW_ACCESS_LOG="false",
        SHOPFLOW_JWT_SECRET=JWT_SECRET,
        SHOPFLOW_PASSWORD_PEPPER=PEPPER,
    )


def _wait_for_pictures(base: str, product_id: str, timeout: float = 120) -> None:
    """Until the worker has made the demo product's picture: then its variants are served."""
    deadline = time.monotonic() + timeout
    while not (images := _get(base + f"/api/v1/products/{product_id}")[1]["images"]):
        assert time.monotonic() < deadline, "the demo shop's pictures were never made"
        time.sleep(1)
    with urllib.request.urlopen(base + images[0]["url"], timeout=10) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
    assert [s["type"] for s in images[0]["sources"]] == ["image/avif", "image/webp"]


def test_dev_starts_the_embedded_shop_and_finds_its_data_again(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _env(
        SHOPFLOW_DATA_DIR=str(tmp_path / "data"),
        SHOPFLOW_ACCESS_LOG="false",
        SHOPFLOW_WORKER_METRICS_PORT=str(free_port()),
    )
    cmd = [sys.executable, "-m", "shopflow", "dev", "--port", str(port), "--products", "120"]

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(base, proc)
        status, page = _get(base + "/api/v1/products?limit=100")
        assert status == 200 and len(page["items"]) == 100
        first_ids = [p["id"] for p in page["items"]]
        assert _get(base + f"/api/v1/products/{first_ids[0]}")[0] == 200
        _wait_for_pictures(base, first_ids[0])
    finally:
        assert _stop(proc) == 0
    assert _get(base + "/healthz")[0] == 0  # nothing listens any more

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(base, proc)
        status, page = _get(base + "/api/v1/products?limit=100")
        assert [p["id"] for p in page["items"]] == first_ids  # the same shop, not seeded again
    finally:
        assert _stop(proc, signal.SIGTERM) == 0
    password = (tmp_path / "data" / "admin_password").read_text()
    assert len(password) >= 32


def test_serve_with_several_processes_shares_one_port(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _serve_env(database_url, redis_url, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopflow", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(base, proc)
        assert all(_get(base + "/healthz")[0] == 200 for _ in range(20))
    finally:
        assert _stop(proc, signal.SIGTERM) in (0, -signal.SIGTERM)
    assert _get(base + "/healthz")[0] == 0


def _metrics(base: str) -> dict[str, float]:
    with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
        return metric_samples(resp.read().decode())


def _serve_children(pid: int) -> list[int]:
    """The web processes of `serve --workers` (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _wait_dead(pid: int) -> None:
    """Until every thread of the killed process has exited, and so closed its sockets."""
    for _ in range(100):
        try:
            threads = os.listdir(f"/proc/{pid}/task")
            if threads == [str(pid)] and "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
                return
        except OSError:
            return  # reaped already
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still runs")


def test_serve_with_several_processes_answers_metrics_for_all(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _serve_env(database_url, redis_url, tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopflow",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    healthz = 'http_requests_total{method="GET",route="/healthz",status="200"}'
    running, exited = 'metrics_processes{state="running"}', 'metrics_processes{state="exited"}'
    try:
        _wait_ready(base, proc)
        for _ in range(300):  # until the second process is up as well
            if _metrics(base)[running] == 2:
                break
            time.sleep(0.1)
        # a new connection each: SO_REUSEPORT spreads them over both processes
        assert all(_get(base + "/healthz")[0] == 200 for _ in range(40))
        for _ in range(10):  # whichever process answers, it answers for both
            sample = _metrics(base)
            assert sample[healthz] == 40 and sample[running] == 2 and sample[exited] == 0
            assert sample["http_requests_in_flight"] == 0  # a scrape is not counted
        children = _serve_children(proc.pid)
        assert len(children) == 2
        os.kill(children[0], signal.SIGKILL)
        _wait_dead(children[0])
        for _ in range(5):  # what the killed process counted stays in the sum
            sample = _metrics(base)
            assert sample[healthz] == 40 and sample[running] == 1 and sample[exited] == 1
        assert all(_get(base + "/healthz")[0] == 200 for _ in range(10))
        assert _metrics(base)[healthz] == 50
    finally:
        assert _stop(proc, signal.SIGTERM) in (0, -signal.SIGTERM)


def test_migrate_status_lists_every_migration(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shopflow", "migrate", "status"],
        env=_env(DATABASE_URL=database_url, REDIS_URL="redis://127.0.0.1:1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "0001_catalog: applied" in done.stdout
