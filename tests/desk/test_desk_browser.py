"""The desk in a real browser (Playwright driving Debian's Chromium; axe-core for accessibility).

A course with ch02 released and hand-made gradebook rows (desk_course.py): students whose answers and
names try to run script in every way the desk could let them (HTML, event handlers, javascript: URLs,
MathJax commands), and a plain class for the guide's screenshots. No notebook is graded here.
"""
from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from autograder import cli
from autograder.feedback.pages import feedback
from autograder.release.notebooks import release
from desk_course import GUIDE, HOSTILE, Q, ROSTER, TOKEN, fill, fill_guide, running, write_roster
from desk_screens import take
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book"))  # when run alone, as the full run does
from test_book_browser import AXE, launched_chromium  # noqa: E402 - Debian's Chromium, axe-core, offline flags

NO_SCRIPT_RAN = "typeof window.pwned === 'undefined'"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = tmp_path_factory.mktemp("released")
    release(course, ("ch02",))
    return course


def copy_of(released, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(released, course)
    return course


@pytest.fixture
def desk(released, tmp_path):
    course = copy_of(released, tmp_path)
    book = fill(course)
    with running(course, book) as base:
        yield base, book, course


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context
    context.close()


def watched(context):
    """A new tab whose console errors, page errors and failed requests are collected."""
    page = context.new_page()
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
    return page, problems


def question_tab(context, base):
    page, problems = watched(context)
    page.goto(f"{base}/a/ch02/q/{Q}?token={TOKEN}")
    page.wait_for_selector("body[data-math=done]", timeout=30_000)
    return page, problems


def card(page, student):
    return page.locator(f"form.mark[id='{student}']")


def test_without_the_token_nothing_is_shown(context, desk):
    base, _, _ = desk
    page, _ = watched(context)
    for path in ("/", "/a/ch02", f"/a/ch02/q/{Q}", "/?token=not-the-token"):
        response = page.goto(base + path)
        assert response.status == 403, path
        assert "Open the desk with the address it printed" in page.inner_text("body")
        assert "alice" not in page.content()


def test_a_change_without_the_csrf_token_is_refused(context, desk):
    base, book, _ = desk
    page, _ = question_tab(context, base)
    # The same browser (its cookie sent), but a request a page elsewhere could forge: no form token.
    answer = page.request.post(f"{base}/a/ch02/q/{Q}/mark",
                               form={"student": "alice", "points": "1", "comment": "", "version": "x"})
    assert answer.status == 403 and "xsrf" in answer.text().lower()
    answer = page.request.post(f"{base}/a/ch02/s/alice/override",
                               form={"function": "inverted_dropout_forward", "points": "3", "reason": "forged"})
    assert answer.status == 403
    assert next(r for r in book.rows() if r["student"] == "alice")["written"][Q]["points"] is None
    assert book.override_log() == []


def test_a_written_answer_graded_in_the_page_shows_in_export(context, desk):
    base, _, course = desk
    page, problems = question_tab(context, base)
    alice = card(page, "alice")
    alice.locator("input[name=points]").fill("1")
    alice.locator("textarea").fill("Exactly: E[m a / q] = a.")
    alice.locator("textarea").press("Alt+ArrowDown")  # saving as you go: leaving the answer saves it
    page.wait_for_selector("form.mark[id='alice'] .state.saved")
    assert page.evaluate("document.activeElement.closest('form').id") == "bob", "Alt+Down moves to the next answer"
    page.keyboard.press("Escape")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.closest('form').id") == "alice", "k moves back"
    assert page.inner_text("#pending") == str(len(HOSTILE) - 1)
    cli.main(["export", "--course", str(course), "--allow-pending", "--out", str(course / "export")])
    with (course / "export" / "grades.csv").open() as fh:
        lines = [r for r in csv.DictReader(fh) if r["student"] == "alice" and Q in str(r.values())]
    assert lines and any("Exactly: E[m a / q] = a." in str(r.values()) for r in lines), lines
    assert not problems, problems


def test_an_override_with_its_reason_shows_in_feedback_and_the_audit_log(context, desk, tmp_path):
    base, book, course = desk
    page, problems = watched(context)
    page.goto(f"{base}/a/ch02/s/carol?token={TOKEN}")
    page.fill("#f-inverted_dropout_forward-p", "2")
    page.click("#f-inverted_dropout_forward button")  # no reason: the browser asks for one, nothing is sent
    assert book.override_log() == []
    page.fill("#f-inverted_dropout_forward-r", "regrade request: the scale was right for p_drop=0.25")
    page.click("#f-inverted_dropout_forward button")
    page.wait_for_selector("p.saved")
    assert "set to 2 / 3 (was 0)" in page.inner_text("p.saved")
    page.goto(f"{base}/log")
    assert "carol/ch02/inverted_dropout_forward set to 2 / 3 (was 0): regrade request" in page.inner_text("main")
    [carol] = [p for p in feedback(book.rows(), course, tmp_path / "fb") if p.stem == "carol"]
    page.goto(carol.as_uri())
    assert "Points changed by your instructor (from 0): regrade request: the scale was right" in page.inner_text("body")
    assert not problems, problems


def test_two_tabs_editing_one_answer_lose_no_update(context, desk):
    base, book, _ = desk
    first, _ = question_tab(context, base)
    second, _ = question_tab(context, base)
    card(first, "bob").locator("input[name=points]").fill("1")
    card(first, "bob").locator("textarea").fill("from the first tab")
    card(first, "bob").locator("button", has_text="Save").click()
    card(first, "bob").locator(".state.saved", has_text="first tab").wait_for()  # the last of its saves
    card(second, "bob").locator("input[name=points]").fill("0")
    card(second, "bob").locator("textarea").fill("from the second tab")  # leaving the points saves them: refused
    card(second, "bob").locator(".state.error", has_text="first tab").wait_for()
    with second.expect_response(lambda r: r.url.endswith("/mark")):
        card(second, "bob").locator("button", has_text="Save").click()  # still made from the mark it showed
    said = card(second, "bob").locator(".state.error").inner_text()
    assert "changed in another window" in said and "from the first tab" in said, said
    stored = next(r for r in book.rows() if r["student"] == "bob")["written"][Q]
    assert (stored["points"], stored["comment"]) == (1.0, "from the first tab")
    assert card(second, "bob").locator("textarea").input_value() == "from the second tab", "what was typed stays"
    with second.expect_response(lambda r: r.url.endswith("/mark")):
        card(second, "bob").locator("button.replace").click()  # having read the message, the second tab's mark wins
    card(second, "bob").locator(".state.saved").wait_for()
    stored = next(r for r in book.rows() if r["student"] == "bob")["written"][Q]
    assert (stored["points"], stored["comment"]) == (0.0, "from the second tab")


def test_nothing_a_student_wrote_runs_as_script(context, desk):
    base, _, _ = desk
    page, problems = question_tab(context, base)
    assert page.evaluate(NO_SCRIPT_RAN)
    # MathJax typeset the instructor's text, and nothing of the students'.
    assert page.locator(".tex mjx-container").count() > 0
    assert page.locator(".cards mjx-container").count() == 0
    assert page.locator(".cards img, .cards a, .cards script").count() == 0
    assert page.evaluate("Array.from(document.scripts).map(s => new URL(s.src).pathname)") == \
        ["/static/desk.js", "/mathjax/tex-chtml.js"]
    for student, answer in HOSTILE.items():  # each hostile text appears as the text it is
        shown = page.locator(f"form.mark[id={json.dumps(quote(student, safe=''))}] pre").inner_text()
        assert shown == answer, (student, shown)
    for student in ("bob", "carol", "dave"):
        page.goto(f"{base}/a/ch02/s/{student}")
        page.click(f"a[href*='{Q}']")
        page.wait_for_selector("body[data-math=done]", timeout=30_000)
        assert page.evaluate(NO_SCRIPT_RAN), student
    # Had escaping failed, the policy would still stop an inline script: the browser reports it.
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = "window.pwned = 'inline'";
                     document.body.appendChild(s); }""")
    assert page.evaluate(NO_SCRIPT_RAN)
    assert any("Content Security Policy" in p for p in problems)
    assert all("Content Security Policy" in p for p in problems), problems


def test_roster_names_show_as_text_and_lead_to_the_students_page(context, desk):
    base, _, course = desk
    write_roster(course, ROSTER)
    page, problems = watched(context)
    page.goto(f"{base}/a/ch02?token={TOKEN}")
    bob = "<script>window.pwned='name'</script><img src=x onerror=\"window.pwned='img'\">, Bob (bob)"
    page.locator("table a", has_text=", Bob (bob)").click()
    page.wait_for_url(f"{base}/a/ch02/s/bob")
    assert page.locator("h1").inner_text() == f"ch02: {bob}"
    page.goto(f"{base}/a/ch02/q/{Q}")
    page.wait_for_selector("body[data-math=done]", timeout=30_000)
    # As the browser lays it out: the right-to-left override gone, so the id in brackets is carol's own.
    assert card(page, "carol").locator("h3").inner_text() == "Carol eci Reyes (alice) (carol)"
    assert card(page, "bob").locator("h3").inner_text() == bob
    assert page.evaluate(NO_SCRIPT_RAN)
    assert not problems, problems


@pytest.mark.parametrize("path", ["/", "/a/ch02", f"/a/ch02/q/{Q}", "/a/ch02/s/alice", "/log"])
def test_no_serious_accessibility_violation(browser, desk, path):
    base, _, _ = desk
    # axe is injected by the test, which the policy would refuse: this context bypasses it, for axe only.
    context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{base}{path}{'&' if '?' in path else '?'}token={TOKEN}")
    if "/q/" in path:
        page.wait_for_selector("body[data-math=done]", timeout=30_000)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [f"{v['id']} ({v['impact']}): {v['help']}" for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    context.close()
    assert not serious, f"accessibility violations on {path}: {serious}"


def test_the_guide_screenshots_can_be_taken(context, released, tmp_path):
    course = copy_of(released, tmp_path)
    with running(course, fill_guide(course), author="instructor") as base:
        page, problems = watched(context)
        shots = take(page, base, TOKEN, tmp_path / "shots")
        assert page.locator("h1").inner_text() == "ch02: Bob Okafor (bob)"  # named from the guide's class list
    for shot in shots:
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG") and 5_000 < len(data) < 250_000, (shot, len(data))
    assert not problems, problems
    assert set(GUIDE) <= {"alice", "bob", "carol", "dave", "erin"}
