"""The class report on hand-made gradebook rows: reasons grouped and counted, who is missing or at zero, the page.

The report of the real sample class is checked at the end of tests/grade/test_grader.py.
"""
from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from autograder import cli
from autograder.report.class_report import (assignment_page, missing_and_zeroed, normalise_reason, pending_written,
                                             reason_groups)
from autograder.course.gradebook import Gradebook
from inert_html import assert_inert

SCALE = "inverted_dropout_forward: kept units were multiplied by 1; with p_drop={p} inverted dropout scales them by " \
        "1/(1-p_drop) = {s}"
SHAPE = "spatial_dropout_forward: for x of shape {shape} each (sample, channel) must be kept or dropped as a whole"
STUB = "{f}: not implemented yet (the stub still raises NotImplementedError)"
RAISED = "inverted_dropout_forward: the test stopped with ValueError: {msg} (the answer cell raised ValueError: {msg})"


def row(student, functions, assignment="ch02", written=None, flags=(), seconds=None) -> dict:
    """functions: name -> reason ('' for full marks); 3 points each."""
    return {"student": student, "assignment": assignment, "sha256": "0" * 64,
            "score": 3.0 * sum(not r for r in functions.values()), "max_score": 3.0 * len(functions),
            "functions": {f: {"points": 0.0 if r else 3.0, "max_points": 3.0, "reason": r}
                          for f, r in functions.items()},
            "flags": list(flags), "written": written or {}, "seconds": seconds}


def ch02(student, inverted="", vanilla="", **extra) -> dict:
    return row(student, {"vanilla_dropout_forward": vanilla, "inverted_dropout_forward": inverted}, **extra)


@pytest.mark.parametrize("a,b", [
    (SCALE.format(p=0.25, s=1.333), SCALE.format(p=0.4, s=1.667)),
    (SHAPE.format(shape="(100, 40, 6)"), SHAPE.format(shape="(8, 3, 2, 2, 2)")),
    (RAISED.format(msg="my own words"), RAISED.format(msg="p must be < 1, got 1.5")),
    ("f: name 'my_helper' is not defined: the answer cell did not define it",
     "f: name 'helper2' is not defined: the answer cell did not define it"),
    ("f: values differ by -1e-3 at index [3 4]", "f: values differ by 2.5E+10 at index [10, 2, 7]"),
])
def test_the_same_mistake_on_other_inputs_normalises_alike(a, b):
    assert normalise_reason(a) == normalise_reason(b)


@pytest.mark.parametrize("a,b", [
    (SCALE.format(p=0.25, s=1.333), "inverted_dropout_forward: in evaluation mode (train=False, p_drop=0.3) the "
                                    "output should be x * 1: inverted dropout does nothing at test time"),
    (STUB.format(f="f"), RAISED.format(msg="boom")),
])
def test_different_mistakes_stay_apart(a, b):
    assert normalise_reason(a) != normalise_reason(b)


def class_rows() -> list[dict]:
    return [
        ch02("ann", inverted=SCALE.format(p=0.25, s=1.333)),
        ch02("ben", inverted=SCALE.format(p=0.4, s=1.667)),
        ch02("cat", inverted=SCALE.format(p=0.1, s=1.111), flags=["reaches for builtins"]),
        ch02("dan", inverted=RAISED.format(msg="dan's secret <b>text</b>"), seconds=12.5),
        ch02("eve", inverted=STUB.format(f="inverted_dropout_forward"),
             vanilla=STUB.format(f="vanilla_dropout_forward")),
        ch02("fay", inverted="inverted_dropout_forward: the test stopped with TypeError: x (bad)",
             vanilla="vanilla_dropout_forward: the test stopped with TypeError: y (bad)", seconds=3.0,
             written={"q1": {"points": 1.0, "max_points": 1.0, "status": "graded", "answer": "yes"}}),
        ch02("<script>alert(1)</script>", vanilla=STUB.format(f="vanilla_dropout_forward"), seconds=1.0,
             written={"q1": {"points": None, "max_points": 1.0, "status": "pending", "answer": ""}}),
        ch02("gus", written={"q1": {"points": None, "max_points": 1.0, "status": "pending", "answer": "an answer"}}),
    ]


def test_reasons_are_grouped_and_counted_most_common_first():
    groups = reason_groups(class_rows())
    counts = [(g.count, g.function, sorted(g.students)) for g in groups]
    assert counts[0] == (3, "inverted_dropout_forward", ["ann", "ben", "cat"])
    assert (2, "vanilla_dropout_forward", ["<script>alert(1)</script>", "eve"]) in counts
    assert (1, "inverted_dropout_forward", ["eve"]) in counts  # the same stub reason, but another function
    assert sum(g.count for g in groups) == 9 and len(groups) == 6
    assert groups[0].example.startswith("inverted_dropout_forward: kept units were multiplied by 1; with p_drop=")


def test_missing_and_zeroed_students_with_the_reason():
    rows = class_rows()
    found = dict(missing_and_zeroed(rows, roster=["ann", "zoe", "yan", "eve"], collected=["yan", "ann"]))
    assert found["zoe"] == ["no submission"]
    assert "not graded yet" in found["yan"][0]
    assert found["eve"] == ["all 2 functions: not implemented yet (the stub still raises NotImplementedError)"]
    assert set(found) == {"zoe", "yan", "eve"}  # fay scored 1 written point: not zero; ann handed in
    alone = dict(missing_and_zeroed([{**r, "written": {}} for r in rows if r["student"] == "fay"]))
    assert alone["fay"][0].startswith("all 2 functions: the test stopped with TypeError")


def test_pending_written_answers_are_listed():
    assert pending_written(class_rows()) == {"q1": (["<script>alert(1)</script>", "gus"], 3, 1)}


def test_the_page_is_escaped_inert_and_complete(tmp_path):
    course = tmp_path / "course"
    (course / "submitted" / "yan" / "ch02").mkdir(parents=True)
    (course / "submitted" / "yan" / "ch02" / "exercise.ipynb").write_text("{}")
    roster = tmp_path / "class.csv"
    roster.write_text("id,name,email\nann,Ann A,ann@x.org\nzoe,Zoe Z,zoe@x.org\nyan,Yan Y,yan@x.org\n")
    rows = class_rows()
    book = Gradebook(f"sqlite:///{tmp_path / 'results.db'}")
    for r in rows:
        book.record(r)
    db = f"sqlite:///{tmp_path / 'results.db'}"
    cli.main(["report", "--course", str(course), "--db", db, "--roster", str(roster)])
    text = (course / "report" / "ch02.html").read_text()
    assert_inert(text)
    assert "<script>" not in text and html.escape("<script>alert(1)</script>") in text
    assert text.count("src='data:image/png;base64,") == 2  # the histogram and the bar chart
    assert "<strong>3 students</strong>: inverted_dropout_forward: kept units were multiplied by 1" in text
    assert "<strong>2 students</strong>: vanilla_dropout_forward: not implemented yet" in text
    assert html.escape("dan's secret <b>text</b>") in text and "<b>text</b>" not in text
    assert "<td>Zoe Z (zoe)</td><td>no submission</td>" in text and "collected, not graded yet" in text
    assert "all 2 functions: not implemented yet" in text
    assert "dan (12.5 s), fay (3.0 s)" in text and "5 submissions graded before grading time was kept" in text
    assert "<td>2 of 3</td><td>1</td>" in text  # q1: two pending, one left empty
    assert "reaches for builtins" in text
    assert_inert((course / "report" / "index.html").read_text())


def test_an_old_gradebook_gains_the_seconds_column(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the table as the first gradebook made it
        conn.execute(sa.text("CREATE TABLE results (student VARCHAR(200), assignment VARCHAR(50), sha256 VARCHAR(64) "
                             "NOT NULL, score FLOAT NOT NULL, max_score FLOAT NOT NULL, details TEXT NOT NULL, "
                             "PRIMARY KEY (student, assignment))"))
        conn.execute(sa.text("INSERT INTO results VALUES ('old', 'ch02', 'x', 1, 3, '{}')"))
    book = Gradebook(url)
    assert book.rows()[0]["seconds"] is None and book.rows()[0]["written"] == {}
    book.record(ch02("new", seconds=7.25))
    assert {r["student"]: r["seconds"] for r in book.rows()} == {"old": None, "new": 7.25}


def test_the_report_applies_the_late_policy_and_lists_late_students(tmp_path):
    from datetime import datetime, timedelta, timezone

    from autograder.course import submission_info
    from autograder.course.layout import Course
    from autograder.course.submission_info import SubmissionInfo

    course = tmp_path / "course"
    course.mkdir()
    (course / "course.toml").write_text("[due]\nch02 = 2026-10-05T23:59:00+02:00\n[late]\nper_day = 0.5\n")
    due = datetime(2026, 10, 5, 23, 59, tzinfo=timezone(timedelta(hours=2)))
    for student, late_by in (("ann", timedelta(hours=3)), ("bob", -timedelta(hours=1))):
        path = Course(course).submission_info(student, "ch02")
        path.parent.mkdir(parents=True)
        submission_info.write(path, SubmissionInfo(due + late_by, "gradescope"))
    db = f"sqlite:///{tmp_path / 'results.db'}"
    book = Gradebook(db)
    for student in ("ann", "bob"):
        book.record(ch02(student))  # both full marks before penalties
    cli.main(["report", "--course", str(course), "--db", db])
    text = (course / "report" / "ch02.html").read_text()
    assert "<th>mean score</th><td>75 %</td>" in text and "<th>full marks</th><td>1</td>" in text
    assert "<th>mean score before late penalties</th><td>100 %</td>" in text
    assert "<th>full marks before late penalties</th><td>2</td>" in text
    assert "<th>late submissions</th><td>1</td>" in text
    assert "less late penalties from the course file" in text
    assert "<tr><td>ann</td><td>submitted 3 hours late: -50% (1 day at 50%)</td><td>3</td><td>6 / 6</td>" \
           "<td>3 / 6</td></tr>" in text
    assert "<tr><td>bob</td>" not in text.split("Late submissions")[1].split("<h2>")[0]


def _summary_and_late(page: str) -> tuple[str, str]:
    """The summary table with its note, and the "Late submissions" section."""
    summary = page.split("<h2>Score distribution</h2>")[0]
    return summary, page.split("<h2>Late submissions</h2>")[1].split("<h2>")[0]


@pytest.mark.parametrize("policy, why", [
    (None, "no course file"),
    ("ch03 only", "no due date for ch02 in the course file"),
])
def test_without_a_due_date_the_report_says_lateness_is_unknown_not_zero(policy, why):
    from datetime import datetime, timezone

    from autograder.course.deadlines import Policy

    if policy:
        policy = Policy(due={"ch03": datetime(2026, 10, 12, 23, 59, tzinfo=timezone.utc)})
    summary, late = _summary_and_late(assignment_page("ch02", class_rows(), policy=policy))
    assert f"<th>late submissions</th><td>not known: {why}</td>" in summary
    assert "penalties from the course file" not in summary and "No late penalty was taken" in summary
    assert f"{why}" in late and "lateness is not known" in late and "no submission was late" not in late
