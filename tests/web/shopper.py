"""A person at the storefront in a real browser, for the buy-flow tests: `Shopper` taps or
clicks and checks every page it reaches for console errors and CSP violations; `Keyboard`
moves with keys alone and checks that the focus always shows."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Locator, Page, Response

from tests.web.browser import Look, Problems


@dataclass
class Shopper:
    """A person at the browser: taps on a phone, clicks on a desktop; every page they reach is
    checked for console errors and CSP violations (kept in `seen`)."""

    page: Page
    problems: Problems
    look: Look
    seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.set_default_timeout(5_000)  # a control that is not there fails soon

    async def press(self, target: Locator) -> None:
        await (target.tap() if self.look.device == "mobile" else target.click())

    async def go(self, action: Awaitable[Any], status: int = 200) -> Response:
        """Do what navigates (a tap, a key) and wait for the page it leads to."""
        async with self.page.expect_navigation(timeout=10_000) as nav:
            await action
        resp = await nav.value
        assert resp.status == status, (self.page.url, resp.status, (await self.page.content())[:2000])
        await self.check()
        return resp

    async def follow(self, target: Locator, status: int = 200) -> Response:
        return await self.go(self.press(target), status)

    async def open(self, path: str, status: int = 200) -> Response:
        resp = await self.page.goto(path)
        assert resp is not None and resp.status == status, (path, resp and resp.status)
        await self.check()
        return resp

    async def check(self) -> None:
        self.seen += [f"{self.page.url}: {p}" for p in await self.problems.collect(self.page)]
        self.problems.seen.clear()

    async def add_to_cart(self, slug: str = "linen-shirt", quantity: int = 1) -> None:
        await self.open(f"/p/{slug}")
        await self.page.get_by_label("Quantity", exact=True).fill(str(quantity))
        await self.follow(self.page.get_by_role("button", name="Add to cart"))
        assert self.page.url.endswith("/cart?notice=added")

    async def fill(self, values: dict[str, str]) -> None:
        form = self.page.locator("form.checkout")
        for name, value in values.items():
            if name == "country":
                await form.locator("select[name=country]").select_option(value)
            else:
                await form.locator(f"input[name={name}]").fill(value)

    async def place(self, status: int = 200) -> Response:
        return await self.follow(self.page.get_by_role("button", name=re.compile("^Place order")), status)


async def text(page: Page, selector: str) -> str:
    return re.sub(r"\s+", " ", await page.locator(selector).inner_text())


# What has the keyboard's focus, and whether it shows: an outline or a box shadow.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
    text: (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 60),
    ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none',
  };
}"""


@dataclass
class Keyboard:
    """Tab, Shift+Tab, Enter, Space and arrows only; each stop's focus must show."""

    who: Shopper
    stops: list[str] = field(default_factory=list)  # every control the focus reached

    async def focused(self) -> dict[str, Any]:
        now = await self.who.page.evaluate(FOCUSED)
        assert now is not None, f"focus lost to <body> on {self.who.page.url}"
        assert now["ring"], f"no visible focus on {now}"
        self.stops.append(now["id"] or now["text"])
        return dict(now)

    async def to(self, want: str, key: str = "Tab") -> dict[str, Any]:
        """Press `key` until the focus is on the control whose id or text starts with `want`."""
        for _ in range(40):
            await self.who.page.keyboard.press(key)
            now = await self.focused()
            if now["id"] == want or now["text"].startswith(want):
                return now
        raise AssertionError(f"{key} never reached {want} on {self.who.page.url}")

    async def type(self, want: str, value: str) -> None:
        await self.to(want)
        await self.who.page.keyboard.press("ControlOrMeta+a")
        await self.who.page.keyboard.type(value)

    async def submit(self, key: str = "Enter", status: int = 200) -> None:
        await self.who.go(self.who.page.keyboard.press(key), status)
