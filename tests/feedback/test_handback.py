"""The hand-back bundle: one zip per assignment, its folders named as the LMS (or an instructor) finds them.

Hand-made gradebook rows, submission.json sidecars as collect writes them, and a graded notebook for
one student; no grading runs. Who a folder is for must come from collect's record and the roster,
and no name may make a zip path that leaves the folder, hides itself or carries control characters.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

from inert_html import assert_inert
from test_pages_and_exports import answer, graded_notebook, row, submit

from autograder.cli import main
from autograder.collect.roster import RosterEntry
from autograder.course import submission_info
from autograder.course.gradebook import Gradebook, default_url
from autograder.course.submission_info import SubmissionInfo
from autograder.feedback.handback import HandbackError, handback, path_part

# Moodle's importer (importziplib.php) reads a folder as fullname_participant_plugintype_pluginname_.
MOODLE_FOLDER = re.compile(r"(?P<name>[^_/]*)_(?P<participant>\d+)_assignsubmission_file_")


def record(course: Path, student: str, **info) -> None:
    path = course / "submitted" / student / "ch02" / "submission.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    submission_info.write(path, SubmissionInfo(**info))


@pytest.fixture
def course(tmp_path) -> Path:
    course = tmp_path / "course"
    release = course / "release" / "ch02" / "exercise.ipynb"
    release.parent.mkdir(parents=True)
    nbformat.write(graded_notebook(answer("# YOUR CODE HERE")), release)
    submit(course, "s1", graded_notebook(answer()))
    return course


def names_in(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return sorted(archive.namelist())


def test_moodle_bundle_has_a_folder_per_participant_as_moodle_downloads_it(course, tmp_path):
    record(course, "s1", lms="moodle", lms_id="1001", name="Seán O'Brien")
    record(course, "s2", lms="moodle", lms_id="1002", name="Ann_Marie Smith")  # a "_" would shift the number
    rows = [row("s1"), row("s2")]
    (bundle,) = handback(rows, course, tmp_path / "out")
    assert (bundle.lms, bundle.path.name, bundle.left_out) == ("moodle", "ch02_moodle.zip", [])
    files = names_in(bundle.path)
    assert files == ["Ann Marie Smith_1002_assignsubmission_file_/s2.html",
                     "Seán O'Brien_1001_assignsubmission_file_/s1.html",
                     "Seán O'Brien_1001_assignsubmission_file_/s1/ch02_notebook.html"]
    # As Moodle splits each path part at "_" (at most 5 parts): the participant is the second part.
    for name in files:
        folder = name.split("/")[0]
        parts = folder.split("_", 4)
        assert MOODLE_FOLDER.fullmatch(folder) and parts[2:4] == ["assignsubmission", "file"]
        assert parts[1] == {"s1": "1001", "s2": "1002"}[name.split("/")[1].split(".")[0]]
    with zipfile.ZipFile(bundle.path) as archive:
        page = archive.read("Seán O'Brien_1001_assignsubmission_file_/s1.html").decode()
    assert "1 / 3" in page and "the mask is not boolean" in page
    assert_inert(page)


def test_moodle_takes_the_participant_from_collect_not_from_another_lms_and_lists_who_has_none(course, tmp_path):
    record(course, "s1", lms="canvas", lms_id="555", name="smithann")  # a Canvas id is no participant number
    record(course, "s2", lms="moodle", lms_id="1002", name="Bob")
    record(course, "s4", lms="moodle", lms_id="١٠٠٤", name="Dee")  # digits, but not the ASCII ones Moodle reads
    roster = [RosterEntry("s3", "Cy Young", "cy@x.org", moodle_id="1003")]
    (bundle,) = handback([row("s1"), row("s2"), row("s3"), row("s4")], course, tmp_path / "out", lms="moodle",
                         roster=roster)
    assert [s for s, _ in bundle.left_out] == ["s1", "s4"] and "participant number" in bundle.left_out[0][1]
    assert sorted(bundle.folders.values()) == ["Bob_1002_assignsubmission_file_", "Cy Young_1003_assignsubmission_file_"]


def test_canvas_and_plain_bundles_name_folders_name_and_id_with_a_comments_sheet(course, tmp_path):
    record(course, "s1", lms="canvas", lms_id="12345", name="obrienseán")
    roster = [RosterEntry("s1", "Seán O'Brien", "sean@x.org"), RosterEntry("s2", "=cmd|' /C calc'!A0", "b@x.org"),
              RosterEntry("s3", "Anon Person", "c@x.org")]
    (bundle,) = handback([row("s1"), row("s2", reason="=HYPERLINK(1)")], course, tmp_path / "out", roster=roster)
    assert bundle.lms == "folders"  # s2's submission has no record of an LMS: not one LMS's class
    record(course, "s3", lms="canvas", lms_id="anon_77", name="anon_77")
    (canvas,) = handback([row("s1"), row("s3")], course, tmp_path / "canvas", roster=roster)
    # Canvas's user id where collect recorded one; an anonymous id names no one, so the name alone.
    assert (canvas.lms, canvas.folders) == ("canvas", {"s1": "Seán O'Brien (12345)", "s3": "Anon Person"})
    files = names_in(bundle.path)
    assert "Seán O'Brien (s1)/s1.html" in files and "comments.csv" in files
    (other,) = [f for f in files if f.endswith("/s2.html")]
    assert other.count("/") == 1 and "|" not in other  # the name's "/" and "|" are not path syntax
    with zipfile.ZipFile(bundle.path) as archive:
        sheet = list(csv.DictReader(io.StringIO(archive.read("comments.csv").decode())))
    assert [r["student"] for r in sheet] == ["s1", "s2"]
    assert sheet[1]["name"].startswith("'=") and sheet[1]["comment"].startswith("1 / 3 — ")


def test_a_comment_names_each_function_once(course, tmp_path):
    """The checker's reasons start with the function's name; the comment must not say it twice."""
    reason = "vanilla_dropout_forward: the mask is not boolean"
    (bundle,) = handback([row("s1", reason=reason)], course, tmp_path / "out")
    with zipfile.ZipFile(bundle.path) as archive:
        (line,) = csv.DictReader(io.StringIO(archive.read("comments.csv").decode()))
    assert line["comment"] == "1 / 3 — vanilla_dropout_forward: the mask is not boolean"


def test_the_comment_accounts_for_the_total_as_moodles_worksheet_does(course, tmp_path):
    """Late penalty, an override, written answers: comments.csv and Moodle's worksheet say the same after the total."""
    from autograder.course.deadlines import Penalty
    from autograder.export.export_all import export_all

    inverted = {"points": 2.0, "max_points": 3, "autograded_points": 0.0,
                "reason": "inverted_dropout_forward: kept units were multiplied by 1",
                "override": {"points": 2.0, "reason": "partial credit: the scaling is right", "by": "prof", "at": "x"}}
    functions = {"vanilla_dropout_forward": {"points": 3.0, "max_points": 3, "reason": ""},
                 "inverted_dropout_forward": inverted}
    written = {"q_a": {"points": 2.75, "max_points": 3, "comment": "good"}, "q_b": {"points": None, "max_points": 2}}
    graded = row("s1", score=5.0, max_score=6.0, functions=functions, written=written,
                 late_penalty=Penalty(0.1, 1, "submitted 3 hours late: -10% (1 day at 10%)"))
    account = ("late penalty -0.775 points: submitted 3 hours late: -10% (1 day at 10%); inverted_dropout_forward: "
               "2 / 3, changed by your instructor: partial credit: the scaling is right; q_a: 2.75 / 3 (good); "
               "written answers not graded yet (q_b)")
    (bundle,) = handback([graded], course, tmp_path / "out")
    with zipfile.ZipFile(bundle.path) as archive:
        (line,) = csv.DictReader(io.StringIO(archive.read("comments.csv").decode()))
    assert (line["points"], line["max_points"]) == ("6.975", "9.0")
    assert line["comment"] == f"6.975 / 9 — {account}"
    record(course, "s1", lms="moodle", lms_id="1001")
    paths, _ = export_all([graded], course, tmp_path / "export", allow_pending=True)
    with paths["moodle ch02"].open(newline="", encoding="utf-8") as fh:
        (moodle,) = csv.DictReader(fh)
    assert moodle["Feedback comments"] == f"{moodle['Grade']} / {moodle['Maximum Grade']} — {account}"


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", ".hidden", "a\x00b\x1bc\u202ed", "~tmp", "x" * 300,
                                  "a/b\\c:d", "e\u0301"])
def test_a_name_is_one_safe_path_part(name):
    part = path_part(name)
    assert part and "/" not in part and "\\" not in part and part not in (".", "..")
    assert not part.startswith((".", "~")) and part.isprintable() and len(part) <= 100
    assert part == __import__("unicodedata").normalize("NFC", part)


def test_hostile_names_never_leave_their_folder_in_the_zip(course, tmp_path):
    record(course, "s1", lms="gradescope", lms_id="../../x", name="../../evil", email="e@x.org")
    roster = [RosterEntry("s1", "../..\u202e/evil\x07", "e@x.org")]
    (bundle,) = handback([row("s1")], course, tmp_path / "out", roster=roster)
    for name in names_in(bundle.path):
        parts = name.split("/")
        assert ".." not in parts and all(p and p.isprintable() and not p.startswith(".") for p in parts), name
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(tmp_path / "unpacked")
    assert all(p.resolve().is_relative_to((tmp_path / "unpacked").resolve())
               for p in (tmp_path / "unpacked").rglob("*"))


def test_a_zip_nobody_could_be_put_in_is_refused_and_nothing_is_written(course, tmp_path):
    """No one has a participant number for ch03: no empty ch03_moodle.zip, and no ch02 zip either (all or none)."""
    record(course, "s1", lms="moodle", lms_id="1001")
    rows = [row("s1"), row("s1", assignment="ch03"), row("s2", assignment="ch03")]
    with pytest.raises(HandbackError, match=r"(?s)nothing was written.*ch03_moodle\.zip.*ch03 \(moodle\): s1, s2: "
                                            "no Moodle participant number"):
        handback(rows, course, tmp_path / "out", lms="moodle")
    assert not (tmp_path / "out").exists()
    (bundle,) = handback(rows[:1], course, tmp_path / "out", lms="moodle")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ch02_moodle.zip"]


def test_the_command_that_refuses_leaves_no_zip_in_the_course(course, capsys):
    Gradebook(default_url(course)).record(row("s1"))
    with pytest.raises(SystemExit, match="nothing was written"):
        main(["handback", "--course", str(course), "--lms", "moodle"])
    assert not (course / "handback").exists()


def test_a_failed_handback_leaves_the_last_runs_zips_and_no_part_of_its_own(course, tmp_path, monkeypatch):
    from autograder.feedback import pages

    (first,) = handback([row("s1")], course, tmp_path / "out", lms="folders")
    before = first.path.read_bytes()
    made = []

    def failing(rows, *args, **kwargs):
        made.append(rows[0]["assignment"])
        if len(made) == 2:
            raise OSError("disk full")
        return real(rows, *args, **kwargs)

    real = pages.feedback
    monkeypatch.setattr(pages, "feedback", failing)
    with pytest.raises(OSError, match="disk full"):
        handback([row("s1", reason="changed"), row("s1", assignment="ch03")], course, tmp_path / "out", lms="folders")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ch02_folders.zip"]
    assert first.path.read_bytes() == before


def test_an_unknown_lms_is_refused(course, tmp_path):
    with pytest.raises(HandbackError, match="unknown LMS 'sakai'"):
        handback([row("s1")], course, tmp_path / "out", lms="sakai")


def test_the_command_bundles_from_the_gradebook_and_names_from_the_course_roster(course, tmp_path, capsys):
    record(course, "s1", lms="moodle", lms_id="1001", name="Sean")
    record(course, "s2", lms="moodle", lms_id="", name="Nobody")
    book = Gradebook(default_url(course))
    book.record(row("s1"))
    book.record(row("s2"))
    (course / "roster.csv").write_text("id,name,email\ns1,Seán O'Brien,sean@x.org\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main(["handback", "--course", str(course)])
    assert "not in their bundle" in str(stop.value)  # s2 has no participant number: listed, exit 1
    out = capsys.readouterr().out
    assert "ch02 (moodle)" in out and "left out s2: no Moodle participant number" in out
    assert names_in(course / "handback" / "ch02_moodle.zip")[0].startswith("Seán O'Brien_1001_assignsubmission_file_/")
