"""Running the web process: one event loop on uvloop, or N processes on one port."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web

from .app import create_app
from .platform.connections import ShopRunner
from .platform.logs import AccessLogger, setup_logging
from .platform.migrate import migrate
from .platform.settings import Settings, load_settings

log = logging.getLogger("shopflow")


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion on a uvloop event loop."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


async def until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def raise_open_files_limit(connections: int) -> None:
    """Let the process open a descriptor per connection it may hold, and some to spare,
    as far as the hard limit allows; say so when that is not enough."""
    wanted = connections + 512  # pools, logs, the listening socket
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < wanted:
        log.warning(
            "open files limited to %d: fewer than max_connections (%d) will be served", soft, connections
        )


async def serve(
    settings: Settings, host: str, port: int, reuse_port: bool, metrics_dir: Path | None = None
) -> None:
    """Serve the app until SIGINT or SIGTERM, then finish in-flight requests and close the pools."""
    if settings.migrate_on_start and settings.database_url:
        await migrate(settings.database_url)
    raise_open_files_limit(settings.max_connections)
    runner = ShopRunner(
        create_app(settings, metrics_dir=metrics_dir),
        access_log_class=AccessLogger,
        access_log=logging.getLogger("shopflow.access") if settings.access_log else None,
        handle_signals=False,
    )
    await runner.setup()
    # Everything built at start-up lives as long as the process: keep it out of the cyclic
    # garbage collector's full passes, which would otherwise pause every request now and then.
    gc.collect()
    gc.freeze()
    try:
        await web.TCPSite(runner, host, port, reuse_port=reuse_port, backlog=4096).start()
        log.info("serving", extra={"host": host, "port": port, "pid": os.getpid()})
        await until_signalled()
    finally:
        await runner.cleanup()


def _serve_process(host: str, port: int, metrics_dir: Path) -> None:
    settings = load_settings()
    setup_logging(settings.log_level)
    run(serve(settings, host, port, reuse_port=True, metrics_dir=metrics_dir))


def serve_processes(host: str, port: int, count: int) -> int:
    """N processes sharing the port through SO_REUSEPORT, and a directory through which
    any of them answers /metrics for all; the exit code of the first to fail."""
    metrics_dir = Path(tempfile.mkdtemp(prefix="shopflow-metrics-"))
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_serve_process, args=(host, port, metrics_dir)) for _ in range(count)]
    for p in procs:
        p.start()

    def stop(*_: object) -> None:
        for p in procs:
            p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for p in procs:
            p.join()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return next((code for p in procs if (code := p.exitcode or 0) > 0), 0)
