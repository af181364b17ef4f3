"""A real browser for the storefront's tests: Debian's chromium driven by Playwright.

One chromium serves the whole session. It runs on a thread of its own with its own event
loop, because each test runs on a fresh loop (pytest-asyncio's function scope) and
Playwright's objects belong to the loop that made them. A test hands a coroutine to
`Chromium.run`, which runs it on the browser's loop and awaits the result from the test's
loop, so the app under test (served on the test's loop, on a real TCP port) keeps
answering meanwhile:

    async def check() -> None:
        async with chromium.page(base, Look(scheme="dark")) as (page, problems):
            await page.goto(base + "/")
            ...
    await chromium.run(check())

Browsers are never downloaded: `make browser` installs Debian's package, and a missing
binary fails the session (it is not a reason to skip).
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from PIL import Image
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    async_playwright,
)

CHROMIUM = "/usr/lib/chromium/chromium"  # the real binary, not /usr/bin/chromium's wrapper script

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"
)
DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "mobile": {  # an iPhone: small touch screen, Safari's user agent
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
        "user_agent": IPHONE_SAFARI,
    },
    "narrow": {"viewport": {"width": 320, "height": 640}},  # the narrowest screen a page must fit
}

# Every CSP violation is recorded before any of the page's own code runs (init scripts are
# injected by the browser itself, so the page's CSP does not apply to them).
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI || 'inline'} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@dataclass(frozen=True)
class Look:
    """How the browser is set: the device, the OS colour scheme, JavaScript, the theme cookie."""

    device: Literal["desktop", "mobile", "narrow"] = "desktop"
    scheme: Literal["light", "dark"] = "light"
    javascript: bool = True
    theme: str | None = None  # the guest's `theme` cookie: light, dark or system


@dataclass
class Problems:
    """What went wrong while a page was open: console errors, uncaught exceptions, CSP
    violations, failed requests and error answers to subresources."""

    seen: list[str] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)  # a page's own status is its test's to check

    def console(self, msg: ConsoleMessage) -> None:
        url = msg.location.get("url")
        if msg.text.startswith("Failed to load resource") and url in self.documents:
            return
        if msg.type in ("error", "warning"):
            self.seen.append(f"console {msg.type}: {msg.text} at {msg.location.get('url')}")

    def page_error(self, error: Exception) -> None:
        self.seen.append(f"uncaught: {error}")

    def failed(self, request: Request) -> None:
        # A load the next navigation cut short (the favicon, often) is the browser's doing.
        if request.failure != "net::ERR_ABORTED":
            self.seen.append(f"failed: {request.method} {request.url}: {request.failure}")

    def response(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.documents.add(response.url)
        if response.status >= 400 and response.request.resource_type != "document":
            self.seen.append(f"{response.status}: {response.request.method} {response.url}")

    async def collect(self, page: Page) -> list[str]:
        """Everything seen so far, with the CSP violations the page recorded."""
        self.seen.extend(f"CSP: {v}" for v in await page.evaluate("window.__csp || []"))
        return self.seen


T = TypeVar("T")


class Chromium:
    """Chromium for the session, on its own thread and event loop."""

    def __init__(self) -> None:
        if not Path(CHROMIUM).exists():
            raise RuntimeError(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chromium", daemon=True)
        self.thread.start()
        self.playwright: Playwright
        self.browser: Browser
        asyncio.run_coroutine_threadsafe(self._launch(), self.loop).result(timeout=60)

    async def _launch(self) -> None:
        self.playwright = await async_playwright().start()
        self.browser = await self.playwright.chromium.launch(executable_path=CHROMIUM)

    async def _close(self) -> None:
        await self.browser.close()
        await self.playwright.stop()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` (which uses Playwright) on the browser's loop; await it from the test's."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    @asynccontextmanager
    async def page(self, base: str, look: Look = Look()) -> AsyncIterator[tuple[Page, Problems]]:
        """A page in a fresh context set as `look` says, with what goes wrong recorded.
        Only on the browser's loop (inside `run`)."""
        context = await self.browser.new_context(
            base_url=base,
            color_scheme=look.scheme,
            java_script_enabled=look.javascript,
            reduced_motion="reduce",
            **DEVICES[look.device],
        )
        try:
            if look.theme is not None:
                await context.add_cookies([{"name": "theme", "value": look.theme, "url": base}])
            await context.add_init_script(WATCH)
            page = await context.new_page()
            problems = Problems()
            page.on("console", problems.console)
            page.on("pageerror", problems.page_error)
            page.on("requestfailed", problems.failed)
            page.on("response", problems.response)
            yield page, problems
        finally:
            await context.close()


async def pixel(page: Page, x: int = 1, y: int = 1) -> tuple[int, int, int]:
    """The colour the browser painted at (x, y) of the viewport, from a screenshot."""
    png = await page.screenshot(clip={"x": x, "y": y, "width": 1, "height": 1}, animations="disabled")
    with Image.open(io.BytesIO(png)) as image:
        r, g, b, *_ = image.convert("RGB").getpixel((0, 0))  # type: ignore[misc]
    return r, g, b


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


async def axe_violations(page: Any) -> list[str]:
    """What axe-core's WCAG A and AA rules find on the page as it stands, one line a node."""
    from axe_playwright_python.async_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = await Axe().run(page, options=options)
    assert len(results.response["passes"]) > 10, page.url  # the rules did run
    return [
        f"{page.url}: {v['id']} ({v['impact']}) {node['target']}: {node['failureSummary']}"
        for v in results.response["violations"]
        for node in v["nodes"]
    ]
