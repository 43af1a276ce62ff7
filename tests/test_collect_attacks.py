"""Collect attacked: by a student naming and packing her upload, and by an instructor with a messy export.

Each test is one attack; it asserts what must hold (who the notebook is filed as, which time, what is
kept, what is listed) so that a regression makes it fail.
"""
from __future__ import annotations

import unicodedata
import zipfile

import pytest

from autograder import submission_info
from autograder.collect import collect, read_roster
from test_collect import export, filed, notebook, pairs

ROSTER = ("id,name,email,canvas_id\n"
          "s1,Seán O'Brien,sean@uni.edu,12345\n"
          "s2,José Núñez,jose@uni.edu,12350\n"
          "s3,Ann Smith,ann@uni.edu,12346\n")


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def info(course, student, assignment):
    return submission_info.read(course, student, assignment)


# --- names as a Mac or an LMS spells them ------------------------------------------------------------

@pytest.mark.parametrize("sortable", [nfd("núñezjosé"), "núñez\u200djosé"], ids=["nfd", "zero-width-joiner"])
def test_a_canvas_name_in_decomposed_or_joined_letters_is_still_canvas_and_matched_by_its_id(tmp_path, roster,
                                                                                             sortable):
    lms = export(tmp_path / "lms", {f"{sortable}_12350_900010_ch02.ipynb": notebook(text="jose")})
    got = collect(lms, tmp_path / "course", roster=roster)
    assert pairs(got) == [("s2", "ch02")]
    recorded = info(tmp_path / "course", "s2", "ch02")
    # Read as Canvas: its id matched and its attachment id orders resubmissions (not the file's own time).
    assert (recorded.lms, recorded.matched_by, recorded.order) == ("canvas", "canvas_id",
                                                                   "canvas-attachment:" + "900010".zfill(20))


def test_one_moodle_participant_in_composed_and_decomposed_spelling_is_one_person(tmp_path):
    lms = export(tmp_path / "lms", {
        nfd("José Núñez") + "_1_assignsubmission_file_ch02.ipynb": notebook(text="first"),
        "José Núñez_1_assignsubmission_file_ch02 (2).ipynb": notebook(text="second"),
    })
    got = collect(lms, tmp_path / "course")
    (held,) = got.held  # one person with two different notebooks, not two people fighting over one folder
    assert held.why == "2 different notebooks" and len(held.files) == 2 and pairs(got) == []


def test_a_roster_with_a_bom_crlf_and_decomposed_accents_matches_composed_lms_names(tmp_path):
    path = tmp_path / "class.csv"
    path.write_bytes(("\ufeffid,name,email\r\n" + nfd("s2,José Núñez,jose@uni.edu\r\n")
                      + "s1,Seán O'Brien,sean@uni.edu\r\n").encode("utf-8"))
    assert [e.id for e in read_roster(path)] == ["s2", "s1"]
    lms = export(tmp_path / "lms", {"núñezjosé_500_900001_ch02.ipynb": notebook(text="jose"),
                                    "Seán O'Brien_7_assignsubmission_file_ch02.ipynb": notebook(text="sean")})
    got = collect(lms, tmp_path / "course", roster=path)
    assert pairs(got) == [("s1", "ch02"), ("s2", "ch02")] and not got.needs_attention
