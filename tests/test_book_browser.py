"""The book in a real browser: headless Debian Chromium, driven by Playwright, on localhost.

Every page: math rendered by MathJax (no raw TeX left), every image decoded, no console
errors, and axe-core reports no serious or critical accessibility violation. One
screenshot per chapter is saved under _build/screenshots for CI to keep.
"""
import functools
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from book_pages import ALL_PAGES, EXERCISES, HTML, LESSONS, ROOT

pytestmark = pytest.mark.book

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "_build" / "screenshots"
# Flags that keep Chromium from calling home on a machine without internet.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    if not (HTML / "index.html").exists():
        pytest.fail("the book is not built: run `python3 run.py book`")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "Chromium is missing: `python3 run.py setup` installs Debian's chromium"
    assert AXE.exists(), "axe-core is missing: `python3 run.py setup` installs it from npm"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("page_path", ALL_PAGES)
def test_page_renders_cleanly(browser, base_url, page_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, failed = [], []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: failed.append(req.url))
    page.goto(f"{base_url}/{page_path}", wait_until="load")
    has_math = page.locator(".math").count() > 0
    if has_math:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("MathJax.startup.promise")
        assert page.locator("mjx-container").count() > 0, "MathJax did not typeset anything"
        text = page.inner_text("main")
        assert "$$" not in text and "\\frac" not in text, "raw TeX is visible on the page"
    broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"images that did not load: {broken}"
    if page_path in LESSONS:
        shown = page.evaluate("document.querySelectorAll('main img').length")
        assert shown >= LESSONS[page_path], f"{page_path} shows {shown} figures, expected {LESSONS[page_path]}"
    assert not failed, f"requests that failed: {failed}"
    assert not errors, f"console errors: {errors}"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}"
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, f"accessibility violations on {page_path}: {serious}"
    if page_path in LESSONS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{Path(page_path).parent.name}.png"), full_page=False)
    page.close()


@pytest.mark.parametrize("page_path", [EXERCISES[1], "intro.html"])
def test_kit_link_downloads_the_student_kit(browser, base_url, page_path):
    """A student on an exercise page (or the intro) clicks the kit link and gets the zip."""
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{base_url}/{page_path}", wait_until="load")
    link = page.locator('main a.download[href$="dropout-student-kit.zip"]').first
    assert link.is_visible(), f"{page_path}: no visible link to the student kit"
    url = page.evaluate("a => a.href", link.element_handle())
    response = page.request.get(url)
    assert response.status == 200, f"{url}: HTTP {response.status}"
    served = response.body()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "dropout-student-kit.zip"
    clicked = Path(download.path()).read_bytes()
    assert clicked == served
    with zipfile.ZipFile(io.BytesIO(clicked)) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
    assert "dropout-student-kit/requirements.txt" in names and "dropout-student-kit/ch02_exercise.ipynb" in names
    page.close()
