"""The course's class list: `collect --roster` keeps it in the course folder, and students are named from it.

One source of truth for every later verb: COURSE/roster.csv, written only from a roster that read
without a problem and only by a collect that copied something (not a dry run).
"""
from __future__ import annotations

import pytest

from autograder.cli import main
from autograder.collect.course_roster import clean, course_names, label, load
from test_collect import export, notebook

ROSTER = "id,name,email\ns1,Seán O'Brien,sean@uni.edu\ns2,Ann Smith,ann@uni.edu\n"


def lms_export(tmp_path):
    return export(tmp_path / "lms", {"Ann Smith_7_assignsubmission_file_ch02.ipynb": notebook(text="a")})


def test_collect_with_a_roster_keeps_it_and_later_verbs_read_it(tmp_path, capsys):
    roster, course = tmp_path / "class.csv", tmp_path / "course"
    roster.write_text(ROSTER, encoding="utf-8")
    main(["collect", str(lms_export(tmp_path)), "--course", str(course), "--roster", str(roster)])
    assert (course / "roster.csv").read_bytes() == roster.read_bytes()
    assert "class list kept as" in capsys.readouterr().out
    assert course_names(course) == {"s1": "Seán O'Brien", "s2": "Ann Smith"}
    other = tmp_path / "other.csv"
    other.write_text("id,name,email\nx9,Xu Li,xu@uni.edu\n", encoding="utf-8")
    assert [e.id for e in load(course, other)] == ["x9"]  # a roster given to a verb wins over the course's


def test_a_dry_run_or_a_bad_roster_keeps_nothing(tmp_path):
    roster, course = tmp_path / "class.csv", tmp_path / "course"
    roster.write_text(ROSTER, encoding="utf-8")
    main(["collect", str(lms_export(tmp_path)), "--course", str(course), "--roster", str(roster), "--dry-run"])
    assert not (course / "roster.csv").exists()
    roster.write_text("id,name,email\ns1,A,not-an-email\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="not an email address"):
        main(["collect", str(lms_export(tmp_path)), "--course", str(course), "--roster", str(roster)])
    assert not (course / "roster.csv").exists() and course_names(course) == {}


@pytest.mark.parametrize("name, shown", [
    ("Seán O'Brien", "Seán O'Brien (s1)"),
    ("Sea\u0301n", "Seán (s1)"),                    # composed
    ("Ann\u202e)2s( nnA", "Ann)2s( nnA (s1)"),      # a right-to-left override cannot reorder "(id)"
    ("Bob\x1b[31m\nRed", "Bob[31m Red (s1)"),       # no escape sequence, one line
    ("s1", "s1"), ("", "s1"), ("   ", "s1"),
])
def test_a_label_is_the_name_and_id_in_printable_text(name, shown):
    assert label("s1", {"s1": name}) == shown
    assert label("s2", {"s1": name}) == "s2"
    assert clean(name).isprintable()
