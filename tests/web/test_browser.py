"""The storefront in a real browser (Debian's chromium through Playwright): pages load with no
console error or CSP violation, each theme paints the right background in the first frame
with or without JavaScript, axe-core finds nothing in either theme, and nothing scrolls
sideways at 320 px."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest

from tests.catalog.conftest import Catalog
from tests.web import browser
from tests.web.browser import Chromium, Look, axe_violations, pixel

PAGES = ["/", "/c/home", "/p/red-ceramic-mug", "/search?q=mug", "/c/nowhere"]
WHITE, NEAR_BLACK = (255, 255, 255), (17, 17, 17)  # app.css's light and dark --bg

# The first animation frame: CSS in <head> blocks rendering, so what is computed here is what
# the first painted frame shows, before any script of the page's own could change it.
FIRST_FRAME = """
window.__firstFrame = new Promise(resolve => requestAnimationFrame(() => {
  const body = document.body || document.documentElement;
  resolve({
    body: getComputedStyle(body).backgroundColor,
    scheme: getComputedStyle(document.documentElement).colorScheme,
  });
}));
"""


async def test_pages_load_with_no_console_error_or_csp_violation(
    chromium: Chromium, storefront: str, shop: Catalog
) -> None:
    async def visit(look: Look) -> list[str]:
        seen = []
        async with chromium.page(storefront, look) as (page, problems):
            for path in PAGES:
                resp = await page.goto(path, wait_until="load")
                assert resp is not None and resp.status == (404 if path == "/c/nowhere" else 200), path
                assert await page.title(), path
                seen += [f"{path}: {p}" for p in await problems.collect(page)]
                problems.seen.clear()
            # the product's picture was fetched and decoded (AVIF first) at its declared size
            await page.goto("/p/red-ceramic-mug", wait_until="load")
            img = page.locator(".gallery img").first
            assert await img.evaluate("i => i.complete && i.naturalWidth > 0")
        return seen

    for look in [Look(), Look(device="mobile", scheme="dark"), Look(javascript=False, theme="dark")]:
        assert await chromium.run(visit(look)) == [], look


def expected(theme: str | None, scheme: str) -> tuple[int, int, int]:
    chosen = scheme if theme in (None, "system") else theme
    return NEAR_BLACK if chosen == "dark" else WHITE


async def test_each_theme_paints_the_right_background_in_the_first_frame(
    chromium: Chromium, storefront: str, shop: Catalog
) -> None:
    async def first_frame(look: Look) -> tuple[Any, tuple[int, int, int]]:
        async with chromium.page(storefront, look) as (page, _):
            frame = None
            if look.javascript:
                await page.add_init_script(FIRST_FRAME)
            await page.goto("/", wait_until="load")
            if look.javascript:
                frame = await page.evaluate("window.__firstFrame")
            return frame, await pixel(page)  # with JavaScript off, nothing repaints it after the first

    for theme, scheme, javascript in product(
        [None, "light", "dark", "system"], ["light", "dark"], [True, False]
    ):
        look = Look(theme=theme, scheme=scheme, javascript=javascript)  # type: ignore[arg-type]
        frame, painted = await chromium.run(first_frame(look))
        want = expected(theme, scheme)
        assert painted == want, (look, painted)
        if javascript:
            assert frame["body"] == "rgb({}, {}, {})".format(*want), (look, frame)
            assert frame["scheme"] == ("dark" if want == NEAR_BLACK else "light") or theme in (None, "system")


async def test_axe_finds_no_wcag_a_or_aa_violation_in_either_theme(
    chromium: Chromium, storefront: str, shop: Catalog
) -> None:
    async def audit(look: Look) -> list[str]:
        found = []
        async with chromium.page(storefront, look) as (page, _):
            for path in PAGES:
                await page.goto(path, wait_until="load")
                found += [f"{look.theme} {v}" for v in await axe_violations(page)]
        return found

    for theme in ["light", "dark"]:
        for device in ["desktop", "mobile"]:
            look = Look(theme=theme, scheme=theme, device=device)  # type: ignore[arg-type]
            assert await chromium.run(audit(look)) == []


async def test_nothing_scrolls_sideways_at_320_px(chromium: Chromium, storefront: str, shop: Catalog) -> None:
    async def widths() -> list[str]:
        wide = []
        async with chromium.page(storefront, Look(device="narrow")) as (page, _):
            for path in PAGES:
                await page.goto(path, wait_until="load")
                scroll, client = await page.evaluate(
                    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                )
                if scroll > client:
                    wide.append(f"{path}: {scroll} px wide in {client} px")
        return wide

    assert await chromium.run(widths()) == []


def test_a_missing_browser_fails_rather_than_skips(monkeypatch: Any) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(RuntimeError, match="make browser"):
        browser.Chromium()
