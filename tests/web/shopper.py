"""A person at the storefront in a real browser, for the buy-flow tests: `Shopper` taps or
clicks and checks every page it reaches for console errors and CSP violations; `Keyboard`
moves with keys alone and checks that the focus always shows.

A cart form (add, update, remove, the quantity steppers) leads to another page without
JavaScript; with it (static/app.js) the page stays, the change is announced in the `#live`
region, the header's count is updated and the cart page's <main> is swapped in place:
`Shopper.change` waits for whichever the browser does."""

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

    async def change(self, action: Awaitable[Any], says: str, count: str | None = None) -> None:
        """Do what sends a cart form (a tap, a key): without JavaScript, follow the page it
        leads to; with it, wait until the live region says `says`, the cart page's content is
        new or the product page tells of the item added. Either way the page then shows
        `says` and the header's count is `count` (None: another count than before)."""
        before = await cart_count(self.page)
        if not self.look.javascript:
            await self.go(action)
        else:
            await self.page.evaluate(LISTEN)
            await action
            await self.page.wait_for_function("t => window.__said.includes(t)", arg=says)
            assert await self.page.evaluate(SWAPPED), (
                f"neither the cart nor an added notice on {self.page.url}"
            )
            await self.check()
        assert says in await text(self.page, "main"), (says, await text(self.page, "main"))
        after = await cart_count(self.page)
        assert after == count if count is not None else after != before, (before, after, count)

    async def change_by(self, target: Locator, says: str, count: str | None = None) -> None:
        await self.change(self.press(target), says, count)

    async def check(self) -> None:
        self.seen += [f"{self.page.url}: {p}" for p in await self.problems.collect(self.page)]
        self.problems.seen.clear()

    async def add(self, slug: str = "linen-shirt", quantity: int = 1) -> None:
        """Add from the product page: still there with JavaScript, on the cart without."""
        await self.open(f"/p/{slug}")
        await self.page.get_by_label("Quantity", exact=True).fill(str(quantity))
        await self.change_by(self.page.get_by_role("button", name="Add to cart"), "Added to your cart.")
        if self.look.javascript:
            assert self.page.url.endswith(f"/p/{slug}"), self.page.url
        else:
            assert self.page.url.endswith("/cart?notice=added"), self.page.url

    async def to_cart(self) -> None:
        """From the notice of an item added, the cart (without JavaScript, already there)."""
        if self.look.javascript:
            await self.follow(
                self.page.locator("main .notice.added").get_by_role("link", name="View your cart")
            )
            assert self.page.url.endswith("/cart"), self.page.url

    async def add_to_cart(self, slug: str = "linen-shirt", quantity: int = 1) -> None:
        await self.add(slug, quantity)
        await self.to_cart()

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


async def cart_count(page: Page) -> str:
    """The header's count of items in the cart, as read out: "(2 items)", or "" for none."""
    return " ".join((await page.text_content("#cart-count") or "").split())


# Every text the live region comes to hold, from now on (in `window.__said`); the cart page's
# first element in <main> noted, to tell that <main> was filled anew.
LISTEN = """() => {
  const live = document.getElementById('live');
  window.__said = [];
  window.__first = document.getElementById('main').firstElementChild;
  if (window.__listening) return;
  window.__listening = true;
  new MutationObserver(() => window.__said.push(live.textContent))
    .observe(live, {childList: true, characterData: true, subtree: true});
}"""
# After a cart change with JavaScript: the cart page's <main> swapped, or the product page's
# notice of the item added with its link to the cart.
SWAPPED = """() => {
  const first = document.getElementById('main').firstElementChild;
  if (location.pathname === '/cart') return first !== window.__first;
  const added = document.querySelector('main .notice.added a[href="/cart"]');
  return added !== null && added.textContent === 'View your cart';
}"""


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

    async def change(self, says: str, count: str | None = None, key: str = "Enter") -> dict[str, Any]:
        """Send a cart form with `key` (see Shopper.change); what has the focus then."""
        await self.who.change(self.who.page.keyboard.press(key), says, count)
        return await self.focused()
