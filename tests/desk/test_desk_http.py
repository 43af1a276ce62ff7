"""The desk's handlers over plain HTTP (urllib): who may use it, CSRF, versioned saves, overrides, escaping.

A course with ch02 released and a gradebook of hand-made rows (desk_course.py); no notebook is graded here.
"""
from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from autograder.course.gradebook import Gradebook
from autograder.desk import app as desk_app
from autograder.desk import security as desk_security
from autograder.feedback.pages import feedback
from autograder.release.notebooks import release
from desk_course import HOSTILE, Q, TOKEN, fill, running
from inert_html import Markup

OWN_SCRIPTS = {"/static/desk.js", "/mathjax/tex-chtml.js"}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    release(course, ("ch02",))
    return course


@pytest.fixture
def desk(tmp_path):
    """A fresh gradebook and the desk over it; no source notebooks, so no model answers (one test adds them)."""
    course = tmp_path / "course"
    course.mkdir()
    book = fill(course)
    with running(course, book) as base:
        yield base, book, course


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def client(base: str, follow: bool = True):
    """An opener with its own cookie jar, already holding the desk's cookie."""
    handlers = [urllib.request.HTTPCookieProcessor(CookieJar())] + ([] if follow else [NoRedirect()])
    opener = urllib.request.build_opener(*handlers)
    opener.open(f"{base}/?token={TOKEN}").read()
    return opener


def status(opener, url: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str, dict]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(urllib.request.Request(url, data=body, headers=headers or {})) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)


def xsrf_of(page: str) -> str:
    return re.search(r"data-xsrf='([^']+)'", page).group(1)


def card_version(page: str, student: str) -> str:
    anchor = re.escape(urllib.parse.quote(student, safe=""))
    return re.search(rf"id='{anchor}'.*?name='version' value='([^']+)'", page, re.DOTALL).group(1)


def written(book: Gradebook, student: str) -> dict:
    return next(r for r in book.rows() if r["student"] == student)["written"][Q]


def test_no_token_no_desk(desk):
    base, book, _ = desk
    bare = urllib.request.build_opener()
    for path in ("/", "/a/ch02", f"/a/ch02/q/{Q}", "/a/ch02/s/alice", "/log", "/nowhere", "/?token=wrong"):
        code, page, _ = status(bare, base + path)
        assert code == 403, path
        assert "Open the desk with the address it printed" in page
        assert "alice" not in page
    code, _, _ = status(bare, base + f"/a/ch02/q/{Q}/mark", {"student": "alice", "points": "1"})
    assert code == 403
    assert written(book, "alice")["points"] is None


def test_the_token_becomes_a_strict_http_only_cookie_and_leaves_the_address(desk):
    base, _, _ = desk
    opener = urllib.request.build_opener(NoRedirect())
    code, _, headers = status(opener, f"{base}/a/ch02?token={TOKEN}")
    assert code == 302 and headers["Location"] == "/a/ch02"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    code, page, _ = status(urllib.request.build_opener(), f"{base}/a/ch02",
                           headers={"Authorization": f"token {TOKEN}"})
    assert code == 200 and "alice" in page


def test_another_host_name_is_refused(desk):
    # DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 sends Host: evil.example.
    base, _, _ = desk
    code, page, _ = status(urllib.request.build_opener(), f"{base}/?token={TOKEN}", headers={"Host": "evil.example"})
    assert code == 403
    # What was wrong is the address, not the token: the page names the addresses the desk answers on.
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "answers only at localhost, 127.0.0.1 or [::1]" in text and "the address it printed" in text
    assert "form token" not in text and "evil.example" not in text
    assert all(name in text for name in desk_security.LOOPBACK_NAMES)  # the names the check really accepts
    code, _, _ = status(urllib.request.build_opener(), f"{base}/static/desk.js", headers={"Host": "evil.example"})
    assert code == 403


def test_every_page_sends_the_policy_and_runs_only_its_own_script_files(desk):
    base, _, _ = desk
    opener = client(base)
    for path in ("/", "/a/ch02", f"/a/ch02/q/{Q}", "/a/ch02/s/bob", "/a/ch02/s/dave", "/log"):
        code, page, headers = status(opener, base + path)
        assert code == 200, path
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'", policy
        assert policy["base-uri"] == "'none'" and policy["form-action"] == "'self'", policy
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        markup = Markup(page)
        for tag, name, value in markup.attrs:
            assert not name.startswith("on"), (path, tag, name, value)
            assert not value.strip().lower().startswith("javascript:"), (path, tag, name, value)
            if tag == "script":
                assert name in ("src", "defer") and (name == "defer" or value in OWN_SCRIPTS), (path, name, value)
        assert not re.search(r"<script>|<img src=x|<a href=\"javascript", page), path


def test_the_question_page_shows_the_prompt_and_the_model_answer_for_mathjax(released, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    for name in ("source", "release"):
        (course / name).symlink_to(released / name, target_is_directory=True)
    with running(course, fill(course)) as base:
        _, page, _ = status(client(base), base + f"/a/ch02/q/{Q}")
    model = page.split("id='model-answer'>", 1)[1].split("</div>", 1)[0]
    # TeX kept whole for MathJax (markdown would have read its _ and * as emphasis), escaped as text.
    assert r"$q = 1 - p_\text{drop}$" in model and r"$\mathbb{E}[m\,a/q] = a$" in model, model
    assert "<em>" not in model
    assert "/mathjax/tex-chtml.js" in page


def test_without_a_release_the_page_says_where_the_model_answer_comes_from(desk):
    base, _, _ = desk
    _, page, _ = status(client(base), base + f"/a/ch02/q/{Q}")
    assert "the model answer was not found: release this assignment" in page
    assert "mathjax" not in page  # nothing to typeset: MathJax is not even loaded


def test_hostile_answers_are_shown_as_text(desk):
    base, _, _ = desk
    _, page, _ = status(client(base), base + f"/a/ch02/q/{Q}")
    assert "&lt;script&gt;window.pwned = &#x27;script&#x27;&lt;/script&gt;" in page
    assert "&lt;/textarea&gt;&lt;script&gt;" in page  # cannot close the comment box it is not in
    assert "**bold**" in page  # the student's * is not markdown


def test_a_change_without_the_form_token_is_refused(desk):
    base, book, _ = desk
    opener = client(base)
    _, page, _ = status(opener, base + f"/a/ch02/q/{Q}")
    fields = {"student": "alice", "points": "1", "comment": "", "version": card_version(page, "alice")}
    for extra in ({}, {"_xsrf": "2|00000000|" + "0" * 32 + "|1700000000"}):
        code, said, _ = status(opener, base + f"/a/ch02/q/{Q}/mark", {**fields, **extra})
        assert code == 403 and "xsrf" in said.lower()
    code, _, _ = status(opener, base + "/a/ch02/s/alice/override",
                        {"function": "inverted_dropout_forward", "points": "3", "reason": "regrade"})
    assert code == 403
    assert written(book, "alice")["points"] is None and book.override_log() == []
    code, said, _ = status(opener, base + f"/a/ch02/q/{Q}/mark", {**fields, "_xsrf": xsrf_of(page)},
                           headers={"Accept": "application/json"})
    assert code == 200, said
    assert written(book, "alice")["points"] == 1.0


def save(opener, base, page, student, points, comment, seen=None):
    fields = {"_xsrf": xsrf_of(page), "student": student, "points": points, "comment": comment,
              "version": seen or card_version(page, student)}
    code, said, _ = status(opener, base + f"/a/ch02/q/{Q}/mark", fields, headers={"Accept": "application/json"})
    return code, json.loads(said)


def test_a_stale_save_is_refused_with_what_is_stored_then_a_second_save_replaces_it(desk):
    base, book, _ = desk
    first, second = client(base), client(base)
    _, page_a, _ = status(first, base + f"/a/ch02/q/{Q}")
    _, page_b, _ = status(second, base + f"/a/ch02/q/{Q}")
    code, said = save(first, base, page_a, "alice", "1", "clear")
    assert code == 200 and said["pending"] == len(HOSTILE) - 1
    code, said = save(second, base, page_b, "alice", "0.5", "half")
    assert code == 409 and "changed in another window" in said["message"] and "1 / 1" in said["message"]
    assert (written(book, "alice")["points"], written(book, "alice")["comment"]) == (1.0, "clear")
    code, said = save(second, base, page_b, "alice", "0.5", "half", seen=said["version"])
    assert code == 200
    assert (written(book, "alice")["points"], written(book, "alice")["comment"]) == (0.5, "half")


def test_a_concurrent_import_between_check_and_write_is_refused(desk, monkeypatch):
    # The check is repeated inside grade_written's transaction: a writer that slips in after the desk read the
    # version makes the desk's save a refusal, never an overwrite.
    base, book, _ = desk
    info = written(book, "bob")
    book.grade_written({("bob", "ch02"): {Q: {"points": 1.0, "comment": "by import", "answer": info["answer"],
                                             "expected": (None, "")}}})
    with pytest.raises(LookupError):
        book.grade_written({("bob", "ch02"): {Q: {"points": 0.0, "comment": "late", "answer": info["answer"],
                                                 "expected": (None, "")}}})
    assert written(book, "bob")["comment"] == "by import"


@pytest.mark.parametrize("points, words", [("", "give points"), ("abc", "not a number"), ("-1", "between 0 and 1"),
                                           ("2", "between 0 and 1"), ("nan", "not a number")])
def test_bad_points_are_named_and_nothing_is_saved(desk, points, words):
    base, book, _ = desk
    opener = client(base)
    _, page, _ = status(opener, base + f"/a/ch02/q/{Q}")
    code, said = save(opener, base, page, "carol", points, "x")
    assert code == 400 and words in said["message"]
    assert written(book, "carol")["points"] is None


def test_a_form_posted_without_script_saves_and_returns_to_the_answer(desk):
    base, book, _ = desk
    opener = client(base)
    student = "erin <b>&amp;</b>/x?y#z"
    _, page, _ = status(opener, base + f"/a/ch02/q/{Q}")
    code, back, _ = status(opener, base + f"/a/ch02/q/{Q}/mark",
                           {"_xsrf": xsrf_of(page), "student": student, "points": "1", "comment": "ok",
                            "version": card_version(page, student)})
    assert code == 200 and "<h2>Answers</h2>" in back  # the redirect led back to the question's page
    assert (written(book, student)["points"], written(book, student)["comment"]) == (1.0, "ok")
    code, said, _ = status(opener, base + f"/a/ch02/q/{Q}/mark",
                           {"_xsrf": xsrf_of(page), "student": student, "points": "0", "comment": "",
                            "version": card_version(page, student)})
    assert code == 409 and "changed in another window" in said  # the page's version is now stale


def test_an_override_needs_a_reason_and_shows_in_feedback_and_the_log(desk, tmp_path):
    base, book, course = desk
    opener = client(base)
    _, page, _ = status(opener, base + "/a/ch02/s/alice")
    form = {"_xsrf": xsrf_of(page), "function": "inverted_dropout_forward", "action": "set", "points": "2"}
    code, said, _ = status(opener, base + "/a/ch02/s/alice/override", {**form, "reason": "  "})
    assert code == 400 and "no reason" in said and book.override_log() == []
    code, said, _ = status(opener, base + "/a/ch02/s/alice/override", {**form, "points": "4", "reason": "r"})
    assert code == 400 and "more than inverted_dropout_forward's maximum of 3" in html.unescape(said)
    code, said, _ = status(opener, base + "/a/ch02/s/alice/override", {**form, "reason": "regrade <b>request</b>"})
    assert code == 200 and "set to 2 / 3 (was 0)" in said  # back on the student's page
    assert "regrade &lt;b&gt;request&lt;/b&gt;" in said
    [event] = book.override_log()
    assert (event["author"], event["points"], event["reason"]) == ("tester", 2.0, "regrade <b>request</b>")
    _, log, _ = status(opener, base + "/log")
    assert "alice/ch02/inverted_dropout_forward set to 2 / 3 (was 0): regrade &lt;b&gt;request&lt;/b&gt;" in log
    [alice] = [p for p in feedback(book.rows(), course, tmp_path / "fb") if p.stem == "alice"]
    assert "Points changed by your instructor</strong> (from 0): regrade &lt;b&gt;request&lt;/b&gt;" in alice.read_text()
    code, said, _ = status(opener, base + "/a/ch02/s/alice/override",
                           {**form, "action": "remove", "points": "", "reason": "by mistake"})
    assert code == 200 and [e["action"] for e in book.override_log()] == ["set", "remove"]


def test_names_with_url_characters_reach_their_own_page(desk):
    base, _, _ = desk
    student = "erin <b>&amp;</b>/x?y#z"
    code, page, _ = status(client(base), base + "/a/ch02/s/" + urllib.parse.quote(student, safe=""))
    assert code == 200 and "erin &lt;b&gt;&amp;amp;&lt;/b&gt;/x?y#z" in page
    code, _, _ = status(client(base), base + "/a/ch02/s/nobody")
    assert code == 404


def test_regrade_records_the_new_result(desk, monkeypatch):
    base, book, _ = desk
    seen = []

    def fake(course, gradebook, student, assignment, isolate=True):
        seen.append((student, assignment, isolate))
        fresh = {**next(r for r in gradebook.rows(overrides=False) if r["student"] == student), "score": 6.0}
        fresh["functions"] = {**fresh["functions"], "inverted_dropout_forward": {
            "points": 3.0, "max_points": 3.0, "reason": ""}}
        gradebook.record(fresh)
        return fresh

    monkeypatch.setattr(desk_app, "regrade", fake)
    opener = client(base)
    _, page, _ = status(opener, base + "/a/ch02/s/bob")
    code, said, _ = status(opener, base + "/a/ch02/s/bob/regrade", {"_xsrf": xsrf_of(page)})
    assert code == 200 and "graded again: 6 / 6 autograded" in said
    assert seen == [("bob", "ch02", False)]


def test_regrade_of_a_student_without_a_submission_says_so(desk):
    base, _, _ = desk
    opener = client(base)
    _, page, _ = status(opener, base + "/a/ch02/s/bob")
    code, said, _ = status(opener, base + "/a/ch02/s/bob/regrade", {"_xsrf": xsrf_of(page)})
    assert code == 400 and "no submission of &#x27;bob&#x27; for ch02" in said


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_prints_its_address_and_stops_cleanly(tmp_path, stop):
    course = tmp_path / "course"
    course.mkdir()
    fill(course)
    env = {**os.environ, "DESK_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "autograder.cli", "desk", "--course", str(course), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/\?token=\w+", line).group(0)
        assert url.endswith(TOKEN)
        code, page, _ = status(urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar())), url)
        assert code == 200 and "ch02" in page
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "the desk stopped" in out and "Traceback" not in err


def test_a_folder_without_a_gradebook_is_named(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "desk", "--course", str(tmp_path / "nothing")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "has no gradebook" in done.stderr


@pytest.mark.parametrize("header, name", [("127.0.0.1:8870", "127.0.0.1"), ("localhost:8870", "localhost"),
                                          ("[::1]:8870", "::1"), ("LOCALHOST", "localhost"),
                                          ("evil.example:8870", "evil.example"), ("127.0.0.1.evil.example", "127.0.0.1.evil.example")])
def test_host_names_are_read_without_their_port(header, name):
    from autograder.desk.security import LOOPBACK_NAMES, host_name

    assert host_name(header) == name
    assert (name in LOOPBACK_NAMES) == (not name.startswith(("evil", "127.0.0.1.")))
