"""The storefront's benchmarks (`python -m bench web`, part of `make bench`).

(a) Under load: the product page `/p/{slug}` (random products) and a category page
    `/c/{slug}` (random categories) as HTML (`Accept: text/html`, a guest with no cookie),
    from one `serve` process on the seeded catalog (100,000 products, each category's
    products with the demo's drawn picture made by a real worker), at N connections with
    wrk, each run right after a run of the bare aiohttp hello-world: ratio = median of the
    pairs. Once as wrk asks (no compression) and once gzipped, as browsers ask.
(b) In a phone's browser: Debian's chromium through Playwright, a 390x844 touch screen with
    an iPhone's user agent, the CPU slowed 4x through the DevTools protocol: Largest
    Contentful Paint, Cumulative Layout Shift and long tasks (PerformanceObserver, from an
    init script) on the home, a category and a product page, each in a fresh context (a
    first visit: nothing cached), and each page's weight as sent (compressed bodies).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

import asyncpg

from bench.load import Result, drive
from shopflow.__main__ import seed_pictures
from shopflow.catalog import seed
from shopflow.platform.embedded import free_port
from shopflow.platform.migrate import migrate
from shopflow.platform.settings import Settings

Process = Callable[..., AbstractContextManager[Popen[bytes]]]
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
GZIP = {**HTML, "Accept-Encoding": "gzip, deflate, br"}
MIN_RATIO = 0.3
CHROMIUM = "/usr/lib/chromium/chromium"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"
)
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": IPHONE_SAFARI,
}
CPU_SLOWDOWN = 4
WARM = "/robots.txt"
REFERENCE = "hello-world"  # the baseline's 17 bytes of JSON, shown as text: the browser's own floor here
LCP_MS, LONG_TASK_MS = 1500, 50
BUDGETS_KB = {"html": 60, "css": 30, "js": 15}  # gzipped, per page
# Registered before any of the page's code runs; `buffered` catches what came before.
OBSERVE = """
window.__perf = {lcp: 0, cls: 0, longtasks: []};
new PerformanceObserver(list => {
  for (const e of list.getEntries()) window.__perf.lcp = e.startTime;
}).observe({type: 'largest-contentful-paint', buffered: true});
new PerformanceObserver(list => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__perf.cls += e.value;
}).observe({type: 'layout-shift', buffered: true});
new PerformanceObserver(list => {
  for (const e of list.getEntries()) window.__perf.longtasks.push(e.duration);
}).observe({type: 'longtask', buffered: true});
"""
# Bytes as sent (after compression) of the page and of each of its subresources, by kind.
WEIGHTS = """
() => {
  const kinds = {html: 0, css: 0, js: 0, images: 0, other: 0};
  const nav = performance.getEntriesByType('navigation')[0];
  kinds.html += nav.encodedBodySize;
  for (const r of performance.getEntriesByType('resource')) {
    const path = new URL(r.name).pathname;
    const kind = /\\.css$/.test(path) ? 'css' : /\\.m?js$/.test(path) ? 'js'
      : (r.initiatorType === 'img' || /\\.(avif|webp|jpe?g|png|gif|svg)$/.test(path)) ? 'images' : 'other';
    kinds[kind] += r.encodedBodySize;
  }
  return kinds;
}
"""


@dataclass(frozen=True)
class Shop:
    products: list[str]  # slugs of random products
    categories: list[str]  # every category's slug
    pictures: int


async def prepare(settings: Settings, products: int) -> tuple[float, Shop]:
    """The catalog as the catalog bench leaves it (seeded here when empty), with pictures."""
    dsn = settings.database_url
    await migrate(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        if await seed.is_empty(conn):
            await seed.seed(conn, products)
        pictures = 0
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM product_images)"):
            pictures = await seed_pictures(settings, conn)
        took = time.perf_counter() - started
        slugs = [
            r["slug"] for r in await conn.fetch("SELECT slug FROM products ORDER BY random() LIMIT 2000")
        ]
        categories = [r["slug"] for r in await conn.fetch("SELECT slug FROM categories")]
    finally:
        await conn.close()
    return took, Shop(slugs, categories, pictures)


async def _processing(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM media WHERE status = 'processing'"))
    finally:
        await conn.close()


def make_variants(dsn: str, env: dict[str, str], timeout: float = 300) -> float:
    """Run a worker until every uploaded picture has its variants; the seconds it took."""
    started = time.perf_counter()
    worker = Popen([sys.executable, "-m", "shopflow", "worker"], env=env, stdout=subprocess.DEVNULL)
    try:
        while asyncio.run(_processing(dsn)):
            if time.perf_counter() - started > timeout:
                raise RuntimeError("the worker did not make the pictures' variants in time")
            time.sleep(1)
        time.sleep(2)  # the jobs' last step drops the cached documents showing them
    finally:
        worker.terminate()
        worker.wait(30)
    return time.perf_counter() - started


# --- (a) under load ---


async def visit_each(base: str, paths: list[str], at_once: int = 8) -> None:
    """Ask for every page once, as a guest: the figures are of a shop whose pages have been
    seen (a page's first answer reads the catalog and renders; its next ones do not)."""
    import aiohttp

    queue = list(paths)
    async with aiohttp.ClientSession(base, headers=HTML) as http:

        async def one() -> None:
            while queue:
                async with http.get(queue.pop()) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.url

        await asyncio.gather(*(one() for _ in range(at_once)))


def run_load(args: argparse.Namespace, base: dict[str, str], shop: Shop, row: str) -> None:
    products = [f"/p/{slug}" for slug in shop.products]
    categories = [f"/c/{slug}" for slug in shop.categories]
    scenarios: list[tuple[str, list[str], dict[str, str], float | None]] = [
        ("home page /", ["/"], HTML, None),
        ("product page /p/{slug}", products, HTML, MIN_RATIO),
        ("category page /c/{slug}", categories, HTML, MIN_RATIO),
        ("product page, gzip", products, GZIP, MIN_RATIO),
        ("category page, gzip", categories, GZIP, MIN_RATIO),
    ]
    print(
        f"\n{args.connections} connections, wrk on loopback, Accept: text/html, a guest; each scenario"
        f" {args.rounds} times,\neach right after a {args.seconds} s run of the hello-world baseline;"
        " ratio = median of the pairs\n"
    )
    print(row.format("scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "ratio", "target"))
    baselines: list[float] = []

    def measure(server: str, paths: list[str], headers: dict[str, str] | None = None) -> Result:
        return drive(base[server], paths, connections=args.connections, seconds=args.seconds, headers=headers)

    asyncio.run(visit_each(base["shop"], [*products, *categories, "/"]))
    for name, paths, headers, target in scenarios:
        drive(base["shop"], paths, connections=args.connections, seconds=3, headers=headers)  # warm up
        pairs = [(measure("baseline", ["/"]), measure("shop", paths, headers)) for _ in range(args.rounds)]
        baselines += [b.rps for b, _ in pairs]
        ratio = statistics.median(r.rps / b.rps for b, r in pairs)
        r = sorted((r for _, r in pairs), key=lambda x: x.rps)[len(pairs) // 2]
        figures = (f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p95_ms:.2f}", f"{r.p99_ms:.2f}", r.errors)
        verdict = ""
        if target is not None:
            verdict = f">= {target}x  {'ok' if ratio >= target and not r.errors else 'MISSED'}"
        print(row.format(name, *figures, f"{ratio:.2f}x", verdict), flush=True)
    print(
        "\nbaseline (bare aiohttp + uvloop + orjson hello-world):"
        f" median {statistics.median(baselines):,.0f} req/s"
    )


# --- (b) in a phone's browser ---


def ensure_chromium() -> None:
    """Debian's chromium (and a font), installed on first use as `make browser` does."""
    if Path(CHROMIUM).exists() and Path("/usr/share/fonts/truetype/dejavu").is_dir():
        return
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"{CHROMIUM} is missing and there is no apt-get to install it")
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium", "fonts-dejavu-core"],
        check=True,
        capture_output=True,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )


@dataclass(frozen=True)
class Visit:
    lcp_ms: float
    cls: float
    long_tasks_ms: list[float]
    weights: dict[str, int]  # bytes as sent, by kind


async def _visit(browser: Any, base: str, path: str) -> Visit:
    """The page in a fresh context (nothing of its cached). The context first shows
    /robots.txt, a line of plain text: a new renderer's own start-up (its process, V8, the
    fonts) then falls outside the page's figures, as it would for a shopper whose browser is
    already open."""
    context = await browser.new_context(base_url=base, **PHONE)
    try:
        await context.add_init_script(OBSERVE)
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        await page.goto(WARM, wait_until="load")
        resp = await page.goto(path, wait_until="load")
        assert resp is not None and resp.status == 200, (path, resp and resp.status)
        await page.wait_for_timeout(1500)  # late shifts and tasks
        perf = await page.evaluate("window.__perf")
        weights = await page.evaluate(WEIGHTS)
        return Visit(float(perf["lcp"]), float(perf["cls"]), [float(d) for d in perf["longtasks"]], weights)
    finally:
        await context.close()


async def _browse(base: str, paths: dict[str, str], rounds: int) -> dict[str, list[Visit]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM)
        try:
            await _visit(browser, base, "/")  # the server's first answers warm its caches
            return {
                name: [await _visit(browser, base, path) for _ in range(rounds)]
                for name, path in paths.items()
            }
        finally:
            await browser.close()


def _kb(n: float) -> str:
    return f"{n / 1024:.1f}"


def report_browser(visits: dict[str, list[Visit]]) -> None:
    line = "{:10} {:>8} {:>6} {:>10} {:>8} {:>7} {:>7} {:>9}  {}"
    print(
        f"\nin chromium: 390x844 touch screen, iPhone user agent, CPU slowed {CPU_SLOWDOWN}x; a first"
        f" visit each time; median of {len(next(iter(visits.values())))}\n"
        f"targets: LCP <= {LCP_MS} ms, CLS 0, no long task (> {LONG_TASK_MS} ms); sizes as sent"
        f" (KB): HTML <= {BUDGETS_KB['html']}, CSS <= {BUDGETS_KB['css']}, JS <= {BUDGETS_KB['js']}\n"
    )
    print(
        line.format(
            "page", "LCP ms", "CLS", "long tasks", "HTML KB", "CSS KB", "JS KB", "images KB", "verdict"
        )
    )
    for name, runs in visits.items():
        lcp = statistics.median(v.lcp_ms for v in runs)
        cls = max(v.cls for v in runs)
        longest = max((d for v in runs for d in v.long_tasks_ms), default=0.0)
        tasks = sum(len(v.long_tasks_ms) for v in runs)
        w = runs[-1].weights
        missed = [
            what
            for what, bad in (
                ("LCP", lcp > LCP_MS),
                ("CLS", cls > 0),
                ("long task", tasks > 0),
                *((kind.upper(), w[kind] > limit * 1024) for kind, limit in BUDGETS_KB.items()),
            )
            if bad
        ]
        verdict = "ok" if not missed else "MISSED: " + ", ".join(missed)
        if name == REFERENCE:
            verdict = "(reference: what the browser itself costs on this machine)"
        long_text = f"{tasks} ({longest:.0f} ms)" if tasks else "0"
        print(
            line.format(
                name,
                f"{lcp:,.0f}",
                f"{cls:.3f}",
                long_text,
                _kb(w["html"]),
                _kb(w["css"]),
                _kb(w["js"]),
                _kb(w["images"]),
                verdict,
            ),
            flush=True,
        )


def run_web(
    args: argparse.Namespace, env: dict[str, str], settings: Settings, process: Process, row: str
) -> None:
    """The storefront's load figures and its figures in a phone's browser; no assertions."""
    took, shop = asyncio.run(prepare(settings, args.products))
    made = make_variants(settings.database_url, env) if shop.pictures else 0.0
    print(
        f"catalog of {args.products:,} products ready in {took:.1f} s (COPY); {shop.pictures} pictures"
        f" uploaded and their variants made by a worker in {made:.1f} s"
    )
    ports = {name: free_port() for name in ("baseline", "shop")}
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    serve = [sys.executable, "-m", "shopflow", "serve", "--host", "127.0.0.1", "--port", str(ports["shop"])]
    with (
        process([sys.executable, "-m", "bench.baseline", str(ports["baseline"])], base["baseline"] + "/"),
        process(serve, base["shop"] + "/readyz", env),
    ):
        run_load(args, base, shop, row)
        ensure_chromium()
        paths = {
            "home": "/",
            "category": f"/c/{shop.categories[-1]}",
            "product": f"/p/{shop.products[0]}",
            REFERENCE: base["baseline"] + "/",
        }
        report_browser(asyncio.run(_browse(base["shop"], paths, args.rounds)))
