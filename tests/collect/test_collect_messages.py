"""What collect says after a later batch or a resubmission: only what is true of the course afterwards.

Each test replays a message a new user saw contradict what collect had done: students listed as
missing who were in the course, a held file also reported as filed, a final count of notebooks
that were not copied.
"""
from __future__ import annotations

import pytest

from autograder import cli
from autograder.collect import collect
from test_collect import export, filed, notebook, pairs

CLASS = ["s001", "s002", "s003", "s004", "s005", "s006", "s007"]
NAMES = {"s001": "alice", "s002": "bob", "s003": "carol", "s004": "dan", "s005": "erin", "s006": "fay",
         "s007": "evilbob"}
ROSTER = "id,name,email,canvas_id\n" + "".join(f"{s},{NAMES[s].title()} X,,{55550 + i}\n"
                                               for i, s in enumerate(CLASS))


def canvas(student: str, attachment: int, assignment: str = "ch02", text: str = "") -> tuple[str, bytes]:
    """A Canvas file name of a roster student and a notebook of ``assignment``."""
    user = 55550 + CLASS.index(student)
    return (f"{NAMES[student]}_{user}_{attachment}_{assignment}.ipynb",
            notebook(assignment, text or f"{student} {attachment}"))


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text(ROSTER)
    return path


def test_a_later_batch_names_as_missing_only_students_without_that_assignment(tmp_path, roster):
    course = tmp_path / "course"
    collect(export(tmp_path / "first", dict(canvas(s, 900 + i) for i, s in enumerate(CLASS[:4]))), course,
            roster=roster)
    late = collect(export(tmp_path / "late", dict([canvas("s005", 950), canvas("s001", 960)])), course,
                   roster=roster)
    assert pairs(late) == [("s001", "ch02"), ("s005", "ch02")]
    assert late.missing == {"ch02": ["s006", "s007"]}
    assert "no ch02 submission from: s006, s007" in late.report()


def test_missing_students_are_listed_per_assignment_of_the_collect(tmp_path, roster):
    course = tmp_path / "course"
    collect(export(tmp_path / "ch02", dict(canvas(s, 900 + i) for i, s in enumerate(CLASS[:6]))), course,
            roster=roster)
    got = collect(export(tmp_path / "ch03", dict([canvas("s002", 990, "ch03")])), course, roster=roster)
    # s007 lacks ch02 too, but this collect was ch03's: only what it was about is listed.
    assert got.missing == {"ch03": ["s001", "s003", "s004", "s005", "s006", "s007"]}


def test_a_held_student_is_not_missing(tmp_path, roster):
    lms = export(tmp_path / "lms", dict([canvas("s001", 900, text="one"), canvas("s001", 901, text="two"),
                                         canvas("s002", 902)]))
    got = collect(lms, tmp_path / "course", roster=roster)
    assert [h.who for h in got.held] == ["s001"] and got.missing == {"ch02": CLASS[2:]}


def test_a_given_assignment_lists_the_class_even_when_nothing_came(tmp_path, roster):
    lms = export(tmp_path / "lms", {"readme.txt": b"empty"})
    got = collect(lms, tmp_path / "course", "ch04", roster=roster)
    assert got.missing == {"ch04": CLASS}


def test_a_held_resubmission_is_not_reported_as_filed(tmp_path, roster):
    course = tmp_path / "course"
    collect(export(tmp_path / "class", dict(canvas(s, 900 + i) for i, s in enumerate(CLASS))), course,
            roster=roster)
    one = export(tmp_path / "one", dict([canvas("s007", 990, text="evilbob again")]))
    got = collect(one, course)  # no roster, no --assignment: the export does not tell it is ch02's
    (held,) = got.held
    assert (held.who, held.assignment, held.files) == ("s007", "ch02", ("evilbob_55556_990_ch02.ipynb",))
    assert not any("filed in" in line for line in got.report()) and pairs(got) == []
    assert b"s007 906" in filed(course)["s007", "ch02"]


def test_an_unchanged_lms_name_is_not_said_to_have_changed(tmp_path, roster):
    course = tmp_path / "course"
    collect(export(tmp_path / "class", dict(canvas(s, 900 + i) for i, s in enumerate(CLASS))), course,
            roster=roster)
    got = collect(export(tmp_path / "one", dict([canvas("s007", 990, text="again")])), course, "ch02")
    assert pairs(got) == [("s007", "ch02")] and b"again" in filed(course)["s007", "ch02"]
    (note,) = [n for n in got.notes if "filed in submitted/s007" in n]
    assert "name is now" not in note and "same canvas id 55556" in note


def test_the_final_count_is_what_this_collect_copied(tmp_path, roster, capsys):
    course = tmp_path / "course"
    first = dict(canvas(s, 900 + i) for i, s in enumerate(CLASS[:6]))
    cli.main(["collect", str(export(tmp_path / "a", first)), "--course", str(course), "--roster", str(roster)])
    out = capsys.readouterr().out
    assert "collected 6 notebook(s) from 6 student(s)" in out and "submission times from: 6 file-mtime" in out
    again = {**first, **dict([canvas("s003", 999, text="newer")])}
    del again[canvas("s003", 902)[0]]
    cli.main(["collect", str(export(tmp_path / "b", again)), "--course", str(course), "--roster", str(roster)])
    out = capsys.readouterr().out
    assert "5 of the 6 notebook(s) were already in the course as collected before (not copied again)" in out
    assert "collected 1 notebook(s) from 1 student(s)" in out and "collected 6" not in out
    assert "submission times from: 1 file-mtime" in out  # the times of what this run copied, as that count
