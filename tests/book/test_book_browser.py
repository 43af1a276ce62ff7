"""The book in a real browser: headless Debian Chromium, driven by Playwright, on localhost.

Every page: math rendered by MathJax (no raw TeX left), every image decoded, no console
errors, and axe-core reports no serious or critical accessibility violation. One
screenshot per chapter is saved under _build/screenshots for CI to keep.

Reader experience (issue 12): at phone, tablet and desktop width the visible menu button opens
and closes the chapter list; one search entry per page; every lesson figure numbered, captioned
and described; dark mode follows the OS (and stays accessible); the download menu offers the
lesson notebook; wide equations show that they scroll.
"""
import contextlib
import functools
import http.server
import io
import json
import re
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
    assert AXE.exists(), "axe-core is missing: `python3 run.py setup` installs it from npm"
    with launched_chromium() as chromium:
        yield chromium


@contextlib.contextmanager
def launched_chromium():
    """Debian's Chromium, headless, with FLAGS: the one launch every browser test module shares."""
    assert CHROMIUM.exists(), "Chromium is missing: `python3 run.py setup` installs Debian's chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield chromium
        finally:
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


# --- Reader experience (issue 12): menu, search, figures, dark mode, downloads, wide math -----

PHONE, TABLET, DESKTOP = 390, 768, 1280
LESSON = "chapters/04_training/lesson.html"
# True when an element is really on screen: laid out, not hidden, inside the viewport, and the
# topmost thing at its centre (not covered by a backdrop or another element).
SHOWN_JS = """
window.__shown = (el) => {
  if (!el) return false;
  const r = el.getBoundingClientRect(), s = getComputedStyle(el);
  if (r.width <= 0 || r.height <= 0 || s.visibility !== "visible" || s.display === "none") return false;
  if (r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) return false;
  const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
  const hit = document.elementFromPoint(x, y);
  return Boolean(hit) && (el === hit || el.contains(hit) || hit.contains(el));
};
window.__shownAll = (selector) => Array.from(document.querySelectorAll(selector)).filter(window.__shown);
"""
CHAPTER_LINK = 'nav.bd-docs-nav a[href$="05_spatial/lesson.html"]'
SEARCH_ENTRY = ".search-button, .search-button-field, input[type=search]"


def open_page(browser, base_url, path, width, height=844, **options):
    page = browser.new_page(viewport={"width": width, "height": height}, **options)
    page.add_init_script(SHOWN_JS)
    page.goto(f"{base_url}/{path}", wait_until="load")
    return page


def chapter_list_shown(page):
    return page.evaluate(f"window.__shown(document.querySelector('{CHAPTER_LINK}'))")


def axe_serious(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [PHONE, TABLET, DESKTOP])
def test_the_visible_menu_button_shows_the_chapter_list(browser, base_url, width):
    page = open_page(browser, base_url, LESSON, width)
    toggles = page.evaluate("window.__shownAll('.primary-toggle').length")
    assert toggles == 1, f"{width}px: {toggles} visible menu buttons, expected one"
    button = page.locator(".primary-toggle").filter(visible=True).first
    assert button.get_attribute("aria-controls") == "pst-primary-sidebar"
    if width < 992:  # the chapter list is a drawer, closed at first
        assert not chapter_list_shown(page), f"{width}px: the chapter list is open before any click"
        assert button.get_attribute("aria-expanded") == "false"
        button.click()
        page.wait_for_function(f"window.__shown(document.querySelector('{CHAPTER_LINK}'))", timeout=5000)
        assert button.get_attribute("aria-expanded") == "true"
        assert axe_serious(page) == [], f"{width}px, menu open: accessibility violations"
        page.keyboard.press("Escape")
        page.wait_for_function(f"!window.__shown(document.querySelector('{CHAPTER_LINK}'))", timeout=5000)
        assert button.get_attribute("aria-expanded") == "false"
        # the keyboard opens it too, and a click beside the drawer closes it
        button.focus()
        page.keyboard.press("Enter")
        page.wait_for_function(f"window.__shown(document.querySelector('{CHAPTER_LINK}'))", timeout=5000)
        box = page.locator("#pst-primary-sidebar-modal").bounding_box()
        assert box["x"] + box["width"] < width - 20, f"{width}px: the drawer leaves no room to click beside it"
        page.mouse.click(width - 10, 400)
        page.wait_for_function(f"!window.__shown(document.querySelector('{CHAPTER_LINK}'))", timeout=5000)
        assert button.get_attribute("aria-expanded") == "false"
        assert page.evaluate("document.activeElement.classList.contains('primary-toggle')"), "focus not restored"
    else:  # the chapter list is a column, shown at first; the button hides and shows it
        assert chapter_list_shown(page), f"{width}px: the chapter list is not shown"
        assert button.get_attribute("aria-expanded") == "true"
        button.click()
        page.wait_for_function(f"!window.__shown(document.querySelector('{CHAPTER_LINK}'))", timeout=5000)
        assert button.get_attribute("aria-expanded") == "false"
        button.click()
        page.wait_for_function(f"window.__shown(document.querySelector('{CHAPTER_LINK}'))", timeout=5000)
        assert button.get_attribute("aria-expanded") == "true"
    page.close()


@pytest.mark.parametrize("width", [PHONE, TABLET, DESKTOP])
@pytest.mark.parametrize("path", ["intro.html", LESSON, "references.html"])
def test_one_visible_search_box(browser, base_url, width, path):
    page = open_page(browser, base_url, path, width)
    shown = page.evaluate(f"window.__shownAll('{SEARCH_ENTRY}').map(e => e.outerHTML.slice(0, 80))")
    assert len(shown) == 1, f"{path} at {width}px shows {len(shown)} search entries: {shown}"
    if width < 992:
        assert axe_serious(page) == [], f"{path} at {width}px: accessibility violations"
    page.close()


FIGURE_PROBLEMS_JS = """() => {
  const problems = [];
  const fileName = /(^|\\/)[^\\s\\/]+\\.(png|jpe?g|svg|gif|webp)$/i;
  document.querySelectorAll("main figure").forEach((figure, i) => {
    const caption = figure.querySelector("figcaption");
    if (!caption || !/Fig\\.\\s*[\\d.]+/.test(caption.textContent)) problems.push(`figure ${i + 1}: no numbered caption`);
  });
  document.querySelectorAll("main img").forEach((img) => {
    const alt = (img.getAttribute("alt") || "").trim();
    const name = img.getAttribute("src").split("/").pop();
    const wrong = [];
    if (!img.closest("figure")) wrong.push("not in a captioned <figure>");
    if (alt.length < 10 || fileName.test(alt) || alt.includes(name)) wrong.push(`alt text ${JSON.stringify(alt.slice(-40))}`);
    if (wrong.length) problems.push(`image ${name.slice(0, 12)}...: ${wrong.join(", ")}`);
  });
  return problems;
}"""


def figure_problems(browser, base_url, pages):
    found = {}
    for path in pages:
        page = open_page(browser, base_url, path, DESKTOP)
        problems = page.evaluate(FIGURE_PROBLEMS_JS)
        if problems:
            found[path] = problems
        page.close()
    return found


def test_every_figure_is_numbered_captioned_and_described(browser, base_url):
    """Each lesson figure sits in a <figure> with a "Fig. N" caption and alt text that is not a file name
    (the code cell's `mystnb: figure: {caption, name}` and `image: {alt}` options)."""
    found = figure_problems(browser, base_url, LESSONS)
    assert not found, "figures without a numbered caption or real alt text:\n" + "\n".join(
        f"  {path}: {'; '.join(problems)}" for path, problems in found.items())


def test_dark_mode_follows_the_os_and_the_switcher_still_works(browser, base_url):
    page = browser.new_page(viewport={"width": DESKTOP, "height": 900})
    page.add_init_script(SHOWN_JS)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    page.goto(f"{base_url}/{LESSON}", wait_until="load")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark", "the OS asks for dark; the book is light"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert sum(map(int, re.findall(r"\d+", background)[:3])) < 3 * 80, f"dark mode, yet the page is {background}"
    # matplotlib's black-on-white figures keep a white card around them
    cards = page.evaluate("Array.from(document.querySelectorAll('main .cell_output img')).map("
                          "i => getComputedStyle(i).backgroundColor)")
    assert cards and set(cards) == {"rgb(255, 255, 255)"}, f"figure backgrounds in dark mode: {set(cards)}"
    assert axe_serious(page) == [], "accessibility violations in dark mode"
    # the switcher cycles light -> dark -> auto, whatever the OS says
    seen = set()
    for _ in range(3):
        page.locator(".theme-switch-button").filter(visible=True).first.click()
        seen.add(page.evaluate("document.documentElement.dataset.theme"))
    assert seen == {"light", "dark"}, f"the colour-mode switcher gives {seen}"
    cdp.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
    page.evaluate("localStorage.clear()")
    page.reload(wait_until="load")
    assert page.evaluate("document.documentElement.dataset.theme") == "light", "the OS asks for light"
    page.close()


@pytest.mark.parametrize("path", list(LESSONS) + ["references.html"])
def test_dark_mode_is_accessible(browser, base_url, path):
    page = open_page(browser, base_url, path, DESKTOP, height=900, color_scheme="dark")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    if page.locator(".math").count():
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("MathJax.startup.promise")
    assert axe_serious(page) == [], f"accessibility violations on {path} in dark mode"
    page.close()


@pytest.mark.parametrize("path", list(LESSONS)[:2])
def test_download_menu_offers_the_notebook(browser, base_url, path):
    page = open_page(browser, base_url, path, DESKTOP, accept_downloads=True)
    page.locator(".dropdown-download-buttons button").first.click()
    link = page.locator(f'.dropdown-download-buttons a[href$="{Path(path).stem}.ipynb"]')
    assert link.is_visible(), f"{path}: no .ipynb entry in the download menu"
    url = page.evaluate("a => a.href", link.element_handle())
    response = page.request.get(url)
    assert response.status == 200, f"{url}: HTTP {response.status}"
    notebook = json.loads(response.body())
    assert notebook["nbformat"] == 4 and any(c["cell_type"] == "code" for c in notebook["cells"])
    with page.expect_download() as info:
        link.click()
    chapter = Path(path).parent.name
    assert info.value.suggested_filename == f"{chapter}_lesson.ipynb"
    assert Path(info.value.path()).read_bytes() == response.body()
    page.close()


def test_wide_equations_show_that_they_scroll(browser, base_url):
    page = open_page(browser, base_url, "chapters/03_backward/lesson.html", PHONE)
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
    page.evaluate("MathJax.startup.promise")
    assert page.locator("mjx-container").count() > 0, "MathJax did not typeset anything"
    page.wait_for_timeout(300)
    wide = page.evaluate("""Array.from(document.querySelectorAll('div.math mjx-container'))
        .filter(c => c.scrollWidth > c.clientWidth + 1)
        .map(c => ({cue: c.classList.contains('book-overflow-right'),
                    hint: getComputedStyle(c.parentElement, '::after').content,
                    focusable: c.tabIndex >= 0}))""")
    assert wide, "no equation overflows at phone width: pick another page for this test"
    assert all(w["cue"] and "scroll" in w["hint"] and w["focusable"] for w in wide), wide
    container = page.locator("div.math.book-overflowing mjx-container").first
    container.evaluate("c => { c.scrollLeft = c.scrollWidth; c.dispatchEvent(new Event('scroll')); }")
    page.wait_for_timeout(100)
    classes = container.get_attribute("class")
    assert "book-overflow-left" in classes and "book-overflow-right" not in classes, classes
    page.close()


def test_no_page_scrolls_sideways_on_a_phone(browser, base_url):
    """Wide content (a table, a long inline name) must wrap or scroll inside its own box, never move the page:
    the instructors' guide did, by a Moodle folder pattern in inline code."""
    page = browser.new_page(viewport={"width": PHONE, "height": 844})
    wide = {}
    for path in ALL_PAGES:
        page.goto(f"{base_url}/{path}", wait_until="load")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if widths[0] > widths[1]:
            wide[path] = widths
    page.close()
    assert not wide, f"pages wider than a {PHONE}px phone (scrollWidth, clientWidth): {wide}"


@pytest.mark.parametrize("path", ["chapters/04_training/lesson.html", "students.html"])
def test_tables_fit_a_phone(browser, base_url, path):
    """A table wider than its column hides columns behind a sideways scroll nobody sees on a phone
    (chapter 4's results table did, with its numbers); each must fit the width it is given."""
    page = open_page(browser, base_url, path, PHONE)
    tables = page.evaluate("""Array.from(document.querySelectorAll('article table')).map(t => ({
        head: t.innerText.slice(0, 40), width: t.getBoundingClientRect().width,
        room: t.parentElement.getBoundingClientRect().width}))""")
    assert tables, f"{path} has no table: pick another page for this test"
    too_wide = [t for t in tables if t["width"] > t["room"] + 1]
    assert not too_wide, too_wide
    page.close()
