"""`make test-browser`: load every page of the built website in headless Chromium, offline.

The website is served from `_build/html` on 127.0.0.1 (as `make serve` does) and every request
to any other address is blocked, as on a reader's machine without network. Each page fails on:
a console error or an uncaught script error, a failed request (blocked, missing file, HTTP
error), a formula that MathJax left untypeset, an image that did not load, or a missing
navigation sidebar. Screenshots of the intro and two chapters go to `_build/screenshots/`.

Chromium is the system's (Debian/Ubuntu: `apt-get install chromium`; macOS: Google Chrome), or
the one the environment variable CHROMIUM names; the driver is Playwright, which is told to
use that browser and never downloads one. `--if-available` (used by `make test`) prints one
line and exits 0 when no Chromium is found.
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import os
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CANDIDATES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
              "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
              "/Applications/Chromium.app/Contents/MacOS/Chromium"]
TABS = 1  # pages loaded at once; with 2 tabs on a busy 2-core machine a page never reached network idle
SCREENSHOT_PAGES = {"intro": "book/intro.html", "chapter-03": "notebooks/03_perceptron.html",
                    "chapter-16": "notebooks/16_batch_normalization.html"}
INSTALL_HINT = ("install Chromium (Debian/Ubuntu: sudo apt-get install chromium; macOS: Google Chrome) "
                "or set CHROMIUM=/path/to/chromium")

# Runs in the page once it has loaded: waits for MathJax, then reports what a reader would miss.
INSPECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;
  const maths = [...document.querySelectorAll('.math')];
  const untypeset = maths.filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.trim().slice(0, 60));
  const images = [...document.images];
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => { img.onload = img.onerror = done; })));
  const broken = images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.getAttribute('src'));
  const navigation = document.querySelectorAll('.bd-sidebar-primary nav a.reference').length;
  return {maths: maths.length, untypeset, images: images.length, broken, navigation};
}"""


def find_chromium() -> str | None:
    named = os.environ.get("CHROMIUM")
    if named:
        return named if Path(named).exists() or shutil.which(named) else None
    for candidate in CANDIDATES:
        found = shutil.which(candidate) or (candidate if Path(candidate).exists() else None)
        if found:
            return found
    return None


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def check_pages(chromium: str, pages: list[str], tabs: int = TABS) -> tuple[dict[str, list[str]], dict[str, dict]]:
    """Load `pages` in `tabs` tabs at once; return the problems found per page and each page's report."""
    server, origin = serve(HTML)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_check_pages(chromium, pages, origin, tabs))
    finally:
        server.shutdown()


async def _check_pages(chromium: str, pages: list[str], origin: str, tabs: int):
    from playwright.async_api import async_playwright

    problems: dict[str, list[str]] = {}
    seen: dict[str, dict] = {}
    queue = list(pages)

    async def offline(route):
        # The network is blocked: only the local server answers.
        if route.request.url.startswith(origin + "/"):
            await route.continue_()
        else:
            await route.abort("internetdisconnected")

    async def check(context, page_path: str) -> None:
        found: list[str] = []
        page = await context.new_page()
        page.on("console", lambda message: found.append(f"console error: {message.text[:200]}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: found.append(f"script error: {str(error)[:200]}"))
        page.on("requestfailed", lambda request: found.append(f"request failed: {request.url} ({request.failure})"))
        page.on("response", lambda response: found.append(f"HTTP {response.status}: {response.url}")
                if response.status >= 400 else None)
        await page.goto(f"{origin}/{page_path}", wait_until="load")
        report = await page.evaluate(INSPECT)
        await page.wait_for_load_state("networkidle")  # late requests (fonts MathJax asks for) are seen too
        if report["untypeset"]:
            found.append(f"{len(report['untypeset'])} of {report['maths']} formulas untypeset, "
                         f"e.g. {report['untypeset'][0]!r}")
        found += [f"image did not load: {src}" for src in report["broken"]]
        if report["navigation"] < 3 and page_path not in ("search.html", "genindex.html"):
            found.append(f"navigation sidebar missing ({report['navigation']} links)")
        for name, target in SCREENSHOT_PAGES.items():
            if page_path == target:
                await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
        await page.close()
        seen[page_path] = report
        if found:
            problems[page_path] = found

    async def tab(context) -> None:
        while queue:
            await check(context, queue.pop(0))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, headless=True)
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        await context.route("**/*", offline)
        await asyncio.gather(*(tab(context) for _ in range(max(1, tabs))))
        await browser.close()
    return {path: problems[path] for path in pages if path in problems}, {path: seen[path] for path in pages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--if-available", action="store_true", help="skip, with one line, when no Chromium is found")
    parser.add_argument("--tabs", type=int, default=TABS, help=f"pages loaded at once (default {TABS})")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        if args.if_available:
            print(f"browser check skipped: no Chromium found; {INSTALL_HINT}")
            return 0
        print(f"browser check: no Chromium found; {INSTALL_HINT}")
        return 1
    if not (HTML / "index.html").exists():
        print("browser check: no website in _build/html; run make book first")
        return 1
    # index.html only redirects (a meta refresh) to the intro, which is checked itself.
    pages = sorted(str(path.relative_to(HTML)) for path in HTML.rglob("*.html")
                   if "_static" not in path.parts and 'http-equiv="Refresh"' not in path.read_text(errors="replace")[:2000])
    start = time.perf_counter()
    problems, seen = check_pages(chromium, pages, args.tabs)
    formulas = sum(report["maths"] for report in seen.values())
    images = sum(report["images"] for report in seen.values())
    for page_path, found in problems.items():
        print(f"FAIL {page_path}")
        for line in found[:10]:
            print(f"    {line}")
    print(f"browser check ({Path(chromium).name}, network blocked): {len(pages)} pages, {formulas} formulas, "
          f"{images} images in {time.perf_counter() - start:.0f} s; screenshots in {SCREENSHOTS.relative_to(ROOT)}/")
    print(f"browser check: {len(pages) - len(problems)} of {len(pages)} pages passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
