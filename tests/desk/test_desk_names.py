"""The desk names students from the course's class list, "Name (id)", on every page a student appears, while
URLs, forms and anchors carry the id alone. Over plain HTTP, with names that try to run script, to pass for
another student's id, or to fill the page (desk_course.ROSTER).
"""
from __future__ import annotations

import html
import re
import subprocess
import sys
import urllib.parse

import pytest

from autograder.collect.course_roster import MAX_NAME, label
from desk_course import HOSTILE, Q, ROSTER, fill, result, running, write_roster
from inert_html import Markup
from test_desk_http import card_version, client, status, xsrf_of

# How each student must read on the desk's pages, written out rather than computed by the code under test.
SHOWN = {
    "alice": "Ann Lee (alice)",
    "bob": "<script>window.pwned='name'</script><img src=x onerror=\"window.pwned='img'\">, Bob (bob)",
    "carol": "Carol eci Reyes (alice) (carol)",  # the line break, the overrides and the bell gone
    "dave": "Dave " + "x" * (MAX_NAME - len("Dave ")) + " (dave)",
    "erin <b>&amp;</b>/x?y#z": "erin <b>&amp;</b>/x?y#z",  # not on the roster: the id alone
}
# Pieces of names that must never be where the desk reads which student a request is about.
NAME_PARTS = ("Ann Lee", "pwned='name'", "Reyes", "xxxxxxxx")


@pytest.fixture
def named(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    book = fill(course)
    write_roster(course, ROSTER)
    with running(course, book) as base:
        yield base, book, course


def student_path(student: str) -> str:
    return "/a/ch02/s/" + urllib.parse.quote(student, safe="")


def pages(base, opener) -> dict[str, str]:
    paths = ["/a/ch02", f"/a/ch02/q/{Q}", "/log", *(student_path(s) for s in HOSTILE)]
    shown = {}
    for path in paths:
        code, page, _ = status(opener, base + path)
        assert code == 200, (path, page)
        shown[path] = page
    return shown


def test_the_labels_written_out_here_are_the_rosters():
    assert {s: label(s, ROSTER) for s in HOSTILE} == SHOWN  # one source: course_roster.label


def test_every_page_names_students_from_the_roster_and_addresses_them_by_id(named):
    base, _, _ = named
    opener = client(base)
    shown = pages(base, opener)
    table = shown["/a/ch02"]
    cards = shown[f"/a/ch02/q/{Q}"]
    for student, who in SHOWN.items():
        assert f"<a href='{html.escape(student_path(student))}'>{html.escape(who)}</a>" in table, student
        page = shown[student_path(student)]
        assert f"<title>ch02: {html.escape(who)} · desk</title>" in page, student
        assert f"<h1>ch02: {html.escape(who)}</h1>" in page, student
        assert f"changes the points of {html.escape(who)} and needs a reason" in page, student
        anchor = html.escape(urllib.parse.quote(student, safe=""))
        card = re.search(rf"<form class='card mark' id='{re.escape(anchor)}'.*?</form>", cards, re.DOTALL).group(0)
        assert f"<h3>{html.escape(who)}</h3>" in card, student
        assert f"name='student' value='{html.escape(student)}'" in card, student
    for path, page in shown.items():
        for tag, attribute, value in Markup(page).attrs:
            if attribute in ("href", "action", "value", "id", "for", "src"):
                assert not any(part in value for part in NAME_PARTS), (path, tag, attribute, value)


def test_hostile_names_are_cleaned_escaped_and_clipped(named):
    base, _, _ = named
    shown = pages(base, client(base))
    for path, page in shown.items():
        assert not re.search(r"[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f]", page), path
        assert "<script>window" not in page and "<img" not in page, path
        assert "x" * (MAX_NAME - len("Dave ") + 1) not in page, path
        tags = Markup(page).tags
        assert "img" not in tags and tags.count("script") <= 2, path  # desk.js and, on a question, MathJax
    assert "&lt;script&gt;window.pwned=&#x27;name&#x27;&lt;/script&gt;&lt;img src=x onerror=" in shown["/a/ch02"]


def test_an_override_and_a_mark_go_by_id_and_the_log_names_the_student(named):
    base, book, _ = named
    opener = client(base)
    _, page, _ = status(opener, base + "/a/ch02/s/bob")
    code, said, _ = status(opener, base + "/a/ch02/s/bob/override",
                           {"_xsrf": xsrf_of(page), "function": "inverted_dropout_forward", "action": "set",
                            "points": "2", "reason": "regrade request"})
    who = html.escape(SHOWN["bob"])
    assert code == 200 and f"{who}/ch02/inverted_dropout_forward set to 2 / 3 (was 0): regrade request" in said
    [event] = book.override_log()
    assert event["student"] == "bob"  # the gradebook keeps the id; the name is only shown
    _, log, _ = status(opener, base + "/log")
    assert f"{who}/ch02/inverted_dropout_forward set to 2 / 3 (was 0)" in log
    _, page, _ = status(opener, base + f"/a/ch02/q/{Q}")
    code, said, _ = status(opener, base + f"/a/ch02/q/{Q}/mark",
                           {"_xsrf": xsrf_of(page), "student": "carol", "points": "1", "comment": "ok",
                            "version": card_version(page, "carol")}, headers={"Accept": "application/json"})
    assert code == 200, said
    carol = next(r for r in book.rows() if r["student"] == "carol")
    assert carol["written"][Q]["points"] == 1.0


def test_answers_of_the_same_text_name_each_other(named):
    base, book, _ = named
    book.record(result("frank", HOSTILE["alice"]))
    _, page, _ = status(client(base), base + f"/a/ch02/q/{Q}")
    assert "the same text as: frank</p>" in page  # frank is not on the roster
    assert "the same text as: Ann Lee (alice)</p>" in page


def test_a_class_list_kept_while_the_desk_runs_shows_at_the_next_reload(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    with running(course, fill(course)) as base:
        opener = client(base)
        _, before, _ = status(opener, base + "/a/ch02")
        write_roster(course, {"alice": "Ann Lee"})
        _, after, _ = status(opener, base + "/a/ch02")
    assert "<a href='/a/ch02/s/alice'>alice</a>" in before and "Ann Lee" not in before
    assert "<a href='/a/ch02/s/alice'>Ann Lee (alice)</a>" in after


def test_a_class_list_that_cannot_be_read_leaves_the_ids_and_says_why(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    book = fill(course)
    (course / "roster.csv").write_text("id,name,email\nalice,Ann Lee,a@x.edu\nalice,Another Ann,b@x.edu\n")
    with running(course, book) as base:
        opener = client(base)
        code, table, _ = status(opener, base + "/a/ch02")
        assert code == 200
        assert "the class list cannot be read, so students are named by their ids" in table
        assert "line 3: id &#x27;alice&#x27; is already on line 2" in table
        assert "<a href='/a/ch02/s/alice'>alice</a>" in table
        code, page, _ = status(opener, base + "/a/ch02/s/alice")
        assert code == 200 and "<h1>ch02: alice</h1>" in page


def test_a_class_list_given_to_the_desk_wins_over_the_courses(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    book = fill(course)
    write_roster(course, {"alice": "Ann Lee"})
    given = tmp_path / "given"
    given.mkdir()
    write_roster(given, {"alice": "Ann Given"})
    with running(course, book, roster=given / "roster.csv") as base:
        _, table, _ = status(client(base), base + "/a/ch02")
    assert "<a href='/a/ch02/s/alice'>Ann Given (alice)</a>" in table and "Ann Lee" not in table


def test_a_class_list_given_that_cannot_be_read_stops_the_command(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    fill(course)
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "desk", "--course", str(course), "--port", "0",
                           "--roster", str(tmp_path / "nowhere.csv")], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "cannot read the roster" in done.stderr and "nowhere.csv" in done.stderr
