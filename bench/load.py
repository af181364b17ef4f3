"""Driving a server with wrk and reading its figures."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("wrk.lua")


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int  # socket errors plus non-2xx answers


def ensure_wrk() -> str:
    """wrk from Debian's packages, installed on first use."""
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def drive(
    base: str, paths: list[str], *, connections: int, seconds: int, headers: dict[str, str] | None = None
) -> Result:
    """Send GETs for random `paths` on `connections` connections for `seconds`."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths) + "\n")
    extra = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    try:
        return _wrk([*extra, "-s", str(LUA), base, "--", f.name], connections, seconds)
    finally:
        Path(f.name).unlink()


def post(url: str, body: str, *, connections: int, seconds: int) -> Result:
    """POST one JSON body to `url` on `connections` connections for `seconds`."""
    return _wrk(["-s", str(LUA), url, "--", "POST", body], connections, seconds)


def post_each(base: str, requests: list[tuple[str, str]], *, connections: int, seconds: int) -> Result:
    """POST each (path, JSON body) in turn, from the first, on `connections` connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(f"{path}\t{body}\n" for path, body in requests))
    try:
        return _wrk(["-s", str(LUA), base, "--", "POSTS", f.name], connections, seconds)
    finally:
        Path(f.name).unlink()


def get_each(base: str, requests: list[tuple[str, str]], *, connections: int, seconds: int) -> Result:
    """GET random (path, Authorization header value) pairs: many callers, each with their own."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(f"{path}\t{auth}\n" for path, auth in requests))
    try:
        return _wrk(["-s", str(LUA), base, "--", "GETS", f.name], connections, seconds)
    finally:
        Path(f.name).unlink()


def _wrk(args: list[str], connections: int, seconds: int) -> Result:
    cmd = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    return Result(
        rps=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["socket_errors"] + figures["non2xx"],
    )
