"""Students named from the course's roster on every page and export: "Name (id)", escaped; the id alone otherwise.

Hand-made gradebook rows and a course folder whose roster.csv (as `collect --roster` keeps it) names
s1 with markup and a right-to-left override in the name, and does not list s2. No grading runs.
"""
from __future__ import annotations

import csv
import html
import json

import pytest

from inert_html import assert_inert

from autograder.export.grades import export
from autograder.feedback.pages import feedback
from autograder.manual.sheets import write_sheets
from autograder.report.class_report import write_reports
from autograder.similarity.compare import Comparison, Document, Pair
from autograder.similarity.report_pages import write as write_similarity

NAME = "<b>Seán</b> O'Brien\u202e"
SHOWN = "<b>Seán</b> O'Brien (s1)"  # the override dropped, the markup kept as text (escaped on pages)


def row(student: str) -> dict:
    return {"student": student, "assignment": "ch02", "sha256": "0" * 64, "score": 1.0, "max_score": 3.0,
            "flags": [f"flag of {student}"],
            "functions": {"vanilla_dropout_forward": {"points": 1.0, "max_points": 3, "reason": "not boolean"}},
            "written": {"q_why": {"answer": f"because {student}", "max_points": 1, "points": None}}}


@pytest.fixture
def course(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "roster.csv").write_text(f"id,name,email\ns1,\"{NAME}\",s1@x.org\n", encoding="utf-8")
    return course


def shown_in(text: str, label: str) -> bool:
    return html.escape(label, quote=True) in text or html.escape(label, quote=False) in text


def test_feedback_pages_name_the_student_from_the_course_roster(course, tmp_path):
    pages = {p.stem: p.read_text() for p in feedback([row("s1"), row("s2")], course, tmp_path / "fb")}
    assert shown_in(pages["s1"], f"Feedback for {SHOWN}") and "<b>Seán" not in pages["s1"]
    assert "\u202e" not in pages["s1"] and shown_in(pages["s2"], "Feedback for s2")
    for text in pages.values():
        assert_inert(text)


def test_the_class_report_names_students_in_its_lists(course, tmp_path):
    (page,) = write_reports([row("s1"), row("s2")], course, tmp_path / "report")
    text = page.read_text()
    assert f"<td>{html.escape(SHOWN, quote=True)}</td><td>flag of s1</td>" in text
    assert "<td>s2</td><td>flag of s2</td>" in text
    assert_inert(text)


def test_manual_pages_and_sheets_carry_the_name_which_the_import_ignores(course, tmp_path):
    (page,) = write_sheets([row("s1"), row("s2")], course, tmp_path / "manual")
    assert shown_in(page.read_text(), SHOWN) and "<b>Seán" not in page.read_text()
    with page.with_suffix(".csv").open(encoding="utf-8") as fh:
        sheet = list(csv.DictReader(fh))
    assert [(r["student"], r["name"]) for r in sheet] == [("s1", "<b>Seán</b> O'Brien"), ("s2", "")]


def test_grades_csv_and_json_have_a_name_column(course, tmp_path):
    paths = export([row("s1"), row("s2")], tmp_path / "export", {"s1": NAME, "s2": "=HYPERLINK(\"x\")"})
    with paths["csv"].open(encoding="utf-8") as fh:
        lines = [r for r in csv.DictReader(fh) if r["function"] == "vanilla_dropout_forward"]
    assert [(r["student"], r["name"]) for r in lines] == [("s1", "<b>Seán</b> O'Brien"), ("s2", "'=HYPERLINK(\"x\")")]
    summary = json.loads(paths["json"].read_text())
    assert [s.get("name") for s in summary] == ["<b>Seán</b> O'Brien", '=HYPERLINK("x")']


def test_the_similarity_report_names_both_students(tmp_path):
    a, b = Document("s1", problem="no code of their own"), Document("s2", problem="no code of their own")
    paths = write_similarity(Comparison("ch02", [a, b], [Pair(a, b, 0.0, 0.0, 0)], 15), tmp_path / "sim",
                             names={"s1": NAME})
    text = paths["html"].read_text()
    assert shown_in(text, f"{SHOWN}: no code of their own") and "<li>s2: no code of their own</li>" in text
    assert_inert(text)
    with paths["csv"].open(encoding="utf-8") as fh:
        (line,) = csv.DictReader(fh)
    assert (line["student_a"], line["name_a"], line["name_b"]) == ("s1", "<b>Seán</b> O'Brien", "")


def test_export_uses_the_course_roster_without_being_given_one(course, tmp_path):
    from autograder.export.export_all import export_all

    (course / "roster.csv").write_text("id,name,email\ns1,Seán O'Brien,s1@x.org\ns3,Cy Young,s3@x.org\n",
                                       encoding="utf-8")
    paths, warnings = export_all([row("s1")], course, tmp_path / "export", allow_pending=True)
    with paths["csv"].open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    assert ("s3", "Cy Young", "no submission") in [(r["student"], r["name"], r["reason"]) for r in lines]
    assert any("0 points, no submission" in w and "s3" in w for w in warnings)
