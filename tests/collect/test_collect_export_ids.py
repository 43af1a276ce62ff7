"""The LMS import files take each LMS's id from the roster or from the same submission, never a guess.

Moodle numbers its participants per assignment, so the number recorded with one assignment's
submission must not name the student in another assignment's worksheet.
"""
from __future__ import annotations

import csv

from autograder.course import submission_info
from autograder.export.export_all import export_all
from autograder.course.layout import Course
from autograder.course.submission_info import SubmissionInfo


def row(student, assignment):
    return {"student": student, "assignment": assignment, "sha256": "0" * 64, "score": 1.0, "max_score": 1.0,
            "functions": {"f": {"points": 1.0, "max_points": 1, "reason": ""}}, "flags": []}


def record(course, student, assignment, **info):
    path = Course(course).submission_info(student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    submission_info.write(path, SubmissionInfo(**info))


def lines(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_moodle_numbers_stay_with_their_assignment_and_roster_ids_come_first(tmp_path):
    course = tmp_path / "course"
    record(course, "s1", "ch02", lms="moodle", lms_id="1001")
    record(course, "s1", "ch03", lms="canvas", lms_id="anon_x")
    record(course, "s2", "ch02", lms="canvas", lms_id="55555")
    roster = tmp_path / "class.csv"
    roster.write_text("id,name,email,canvas_id,moodle_id\ns1,Ann Smith,a@x.edu,,\ns2,Bo Lee,b@x.edu,12346,2002\n")
    paths, warnings = export_all([row("s1", "ch02"), row("s1", "ch03"), row("s2", "ch02"), row("s2", "ch03")],
                                 course, tmp_path / "export", roster=roster)
    ch02 = {line["Full name"]: line["Identifier"] for line in lines(paths["moodle ch02"])}
    ch03 = {line["Full name"]: line["Identifier"] for line in lines(paths["moodle ch03"])}
    assert ch02 == {"Ann Smith": "Participant 1001", "Bo Lee": "Participant 2002"}
    assert ch03 == {"Ann Smith": "", "Bo Lee": "Participant 2002"}  # ch02's 1001 is not Ann's number in ch03
    canvas = {line["Student"]: line["ID"] for line in lines(paths["canvas"]) if line["Student"] in ("Ann Smith", "Bo Lee")}
    assert canvas == {"Ann Smith": "", "Bo Lee": "12346"}  # the roster's id over the recorded one; anon ids name no one
    assert any("moodle_ch03.csv: no Moodle participant number for s1" in w for w in warnings)
