"""One view of the metrics of `serve --workers N`, whichever process a scrape reaches.

Each process keeps counting in its own dicts: nothing on the request path changes. `serve`
gives the N processes one new directory. When a scrape reaches one of them, it writes its
snapshot to `<dir>/<pid>.json`, asks each sibling over its Unix socket `<dir>/<pid>.sock`
to write its own now, and then sums every file there.

A process writes its file before its counts are ever reported, and the file stays after
the process exits or is killed; so a counter never goes backwards: the last counts of a
process that is gone stay in the sum, while its gauges (what it held is gone with it) drop
out. A sibling that does not answer within a second counts as gone for that scrape. The
directory lives for one `serve` run, so it never holds more than N files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
from aiohttp import web

from ..keys import METRICS
from .metrics import Metrics, Snapshot

log = logging.getLogger("shopflow.metrics")
ASK_TIMEOUT = 1.0  # seconds a sibling has to write its snapshot
READY = b"written\n"


class ProcessGroup:
    """This process's place in a directory shared with its siblings."""

    def __init__(self, directory: Path, metrics: Metrics) -> None:
        self.directory = directory
        self.metrics = metrics
        self.pid = str(os.getpid())
        self.file = directory / f"{self.pid}.json"
        self.socket = directory / f"{self.pid}.sock"
        self._server: asyncio.AbstractServer | None = None

    def publish(self) -> None:
        """Write this process's snapshot, atomically (readers see the old or the new one)."""
        partial = self.file.with_suffix(".partial")
        partial.write_bytes(orjson.dumps(self.metrics.snapshot()))
        partial.replace(self.file)

    async def start(self) -> None:
        self.publish()
        self._server = await asyncio.start_unix_server(self._answer, path=self.socket)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.socket.unlink(missing_ok=True)
        self.publish()  # the last counts, kept for the siblings to go on summing

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.publish()
            writer.write(READY)
            await writer.drain()
        except Exception:
            log.warning("could not write the metrics snapshot", exc_info=True)
        finally:
            writer.close()

    async def _ask(self, socket: Path) -> bool:
        """Have a sibling write its snapshot now; whether it did (it runs)."""
        try:
            async with asyncio.timeout(ASK_TIMEOUT):
                reader, writer = await asyncio.open_unix_connection(socket)
                try:
                    return await reader.readline() == READY
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
        except (OSError, TimeoutError):
            return False  # gone (a socket left by a killed process refuses), or stuck

    async def gather(self) -> tuple[list[Snapshot], dict[str, int]]:
        """Every process's snapshot, fresh for those running; and how many run and exited."""
        self.publish()
        siblings = [s for s in self.directory.glob("*.sock") if s != self.socket]
        answers = await asyncio.gather(*(self._ask(s) for s in siblings))
        running = {self.pid} | {s.stem for s, ok in zip(siblings, answers, strict=True) if ok}
        snapshots = []
        for file in self.directory.glob("*.json"):
            snapshot = orjson.loads(file.read_bytes())
            if file.stem not in running:
                snapshot.pop("gauges", None)
            snapshots.append(snapshot)
        return snapshots, {"running": len(running), "exited": len(snapshots) - len(running)}


def metrics_group_ctx(directory: Path) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that joins the app's metrics to the processes sharing `directory`."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        group = app[METRICS].group = ProcessGroup(directory, app[METRICS])
        await group.start()
        yield
        await group.stop()
        app[METRICS].group = None

    return ctx
