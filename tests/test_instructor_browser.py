"""The instructor's generated pages in a real browser: feedback, the class report, the similarity report.

A small class (five ch02 students) is graded once; each page is then opened in headless
Chromium from localhost: it must load nothing that fails, log no error, decode every image
(plots are data URIs), run no script of its own, and have no serious accessibility violation.
"""
import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path

import pytest

from autograder.report.class_report import write_reports
from autograder.collect import collect
from autograder.course.gradebook import Gradebook, default_url
from autograder.grade.pipeline import grade_all
from autograder.course.layout import SAMPLE_CLASS
from autograder.release.notebooks import release
from autograder.feedback.pages import feedback
from autograder.similarity.compare import compare
from autograder.similarity.report_pages import write as write_similarity
sys.path.insert(0, str(Path(__file__).resolve().parent / "book"))  # when run alone, as the full run does
from test_book_browser import AXE, QuietHandler, launched_chromium  # noqa: E402

STUDENTS = ("alice", "bob", "carol", "dave", "erin")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    release(course, ("ch02",))
    lms = tmp_path_factory.mktemp("lms")
    for student in STUDENTS:
        shutil.copytree(SAMPLE_CLASS / student, lms / student)
    collect(lms, course)
    book = Gradebook(default_url(course))
    grade_all(course, book, jobs=2, cell_timeout=20)
    rows = book.rows()
    site = tmp_path_factory.mktemp("site")
    feedback(rows, course, site / "feedback")
    write_reports(rows, course, site / "report")
    write_similarity(compare(course, "ch02", progress=False), site / "similarity")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as chromium:
        yield chromium


@pytest.mark.parametrize("path", ["feedback/carol.html", "report/ch02.html", "similarity/ch02.html"])
def test_instructor_page_renders_cleanly(browser, site, path):
    # The pages forbid every script by Content-Security-Policy; bypassing it lets the test inject axe.
    page = browser.new_page(viewport={"width": 1100, "height": 900}, bypass_csp=True)
    errors, failed = [], []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: failed.append(req.url))
    page.on("response", lambda res: failed.append(f"{res.status} {res.url}") if res.status >= 400 else None)
    response = page.goto(f"{site}/{path}", wait_until="load")
    assert response is not None and response.status == 200, path
    assert page.evaluate("document.scripts.length") == 0, "the page runs no script"
    csp = page.evaluate("document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]')?.content || ''")
    assert "default-src 'none'" in csp, csp
    broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"images that did not load: {broken}"
    if path.startswith("report/"):
        assert page.evaluate("document.images.length") >= 2, "the report shows its two plots"
    text = page.inner_text("body")
    assert {"feedback/carol.html": "1/(1-p_drop)", "report/ch02.html": "inverted_dropout_forward",
            "similarity/ch02.html": "alice"}[path] in text
    assert not failed and not errors, (failed, errors)
    page.add_script_tag(path=str(AXE))  # our page has none; this one is the test's, to audit it
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [f"{v['id']} ({v['impact']}): {v['help']}" for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert not serious, f"accessibility violations on {path}: {serious}"
    page.close()
