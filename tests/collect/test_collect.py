"""Collect on hand-made LMS exports (no grading): nothing lost, merged, misfiled, followed or inflated.

Every export is built in ``tmp_path`` from tiny notebooks whose graded cells carry the nbgrader
ids of one assignment, or none, so each test says exactly which clue collect had.
"""
from __future__ import annotations

import hashlib
import os
import stat
import struct
import tracemalloc
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.collect import (NAMING_STYLES, CollectError, Limits, assignments_named, collect, naming_style,
                                read_roster, safe_id, stage)
from autograder.course.layout import SAMPLE_CLASS
from autograder.sample.build_class import STUDENTS
from autograder.release.sources import points_by_function
from tree_digest import tree_digest

MiB = 2**20


def notebook(assignment: str | None = None, text: str = "") -> bytes:
    """A minimal notebook; with ``assignment``, one graded cell carrying that assignment's first grade id."""
    nb = new_notebook(cells=[new_markdown_cell(text or "my answers")])
    if assignment:
        cell = new_code_cell("assert True")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1,
                                     "grade_id": next(iter(points_by_function(assignment))), "schema_version": 3}
        nb.cells.append(cell)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index}"  # nbformat draws random ids; equal arguments must give equal bytes
    return nbformat.writes(nb).encode()


def export(root: Path, files: dict[str, bytes]) -> Path:
    """A folder holding ``files`` (relative path -> bytes)."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def zipped(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def filed(course: Path) -> dict[tuple[str, str], bytes]:
    """What is really in the course: (student, assignment) -> bytes."""
    return {(p.parent.parent.name, p.parent.name): p.read_bytes()
            for p in sorted((course / "submitted").glob("*/*/exercise.ipynb"))}


def pairs(got) -> list[tuple[str, str]]:
    return sorted((s, a) for s, a, _ in got)


# --- naming: identity from the whole LMS name -------------------------------------------------

@pytest.mark.parametrize("style", NAMING_STYLES, ids=lambda s: f"{s.lms}-{s.kind}")
def test_each_naming_example_is_read_by_its_own_style(style):
    assert naming_style(style.example, style.kind)[0] is style


@pytest.mark.parametrize("files,expected", [
    ({"Ann Smith_1001_assignsubmission_file_ch02.ipynb": notebook(text="smith"),
      "Ann Jones_1002_assignsubmission_file_ch02.ipynb": notebook(text="jones")},
     [("Ann_Jones_1002", "ch02"), ("Ann_Smith_1001", "ch02")]),
    ({"Ann Smith_1001_assignsubmission_file_/ch02_exercise.ipynb": notebook(text="smith"),
      "Ann Jones_1002_assignsubmission_file_/work/ch02.ipynb": notebook(text="jones")},
     [("Ann_Jones_1002", "ch02"), ("Ann_Smith_1001", "ch02")]),
    ({"smithann_12345_678901_ch02_exercise.ipynb": notebook(text="smith"),
      "jonesann_LATE_12346_678902_ch02_exercise-1.ipynb": notebook(text="jones"),
      "leebo_late_12347_678903_exercise.ipynb": notebook("ch03")},
     [("jonesann_12346", "ch02"), ("leebo_12347", "ch03"), ("smithann_12345", "ch02")]),
    ({"Dropout ch02_asmith_attempt_2024-01-01-10-00-00_exercise.ipynb": notebook(text="smith"),
      "Dropout ch02_asmith_attempt_2024-01-01-10-00-00.txt": b"Name: Ann Smith (asmith)",
      "Dropout ch02_ajones_attempt_2024-01-02-09-00-00_my work.ipynb": notebook(text="jones")},
     [("ajones", "ch02"), ("asmith", "ch02")]),
    ({"alice/ch02_exercise.ipynb": notebook(), "Sybil_ch02_exercise (1).ipynb": notebook(text="sybil"),
      "bob/Exercise 5 (spatial).ipynb": notebook()},
     [("Sybil", "ch02"), ("alice", "ch02"), ("bob", "ch05")]),
], ids=["moodle-files", "moodle-folders", "canvas", "blackboard", "plain"])
def test_every_lms_naming_keeps_people_apart(tmp_path, files, expected):
    got = collect(export(tmp_path / "lms", files), tmp_path / "course")
    assert pairs(got) == expected
    assert sorted(filed(tmp_path / "course")) == expected
    assert len({p for _, _, p in got}) == len(got)


GRADESCOPE_METADATA = """\
submission_111:
  :submitters:
  - :name: Ann Smith
    :sid: '1001'
    :email: ann.smith@uni.edu
  :created_at: 2024-01-01 10:00:00.000000000 -08:00
  :score: 0.0
submission_222:
  :submitters:
  - :name: Ann Jones
    :sid: '1002'
    :email: ann.jones@uni.edu
  - :name: Bo Lee
    :sid: '1003'
    :email: bo@uni.edu
"""


def test_gradescope_export_is_read_through_its_metadata(tmp_path):
    archive = zipped(tmp_path / "gradescope.zip", {
        "assignment_42_export/submission_metadata.yml": GRADESCOPE_METADATA.encode(),
        "assignment_42_export/submission_111/exercise.ipynb": notebook("ch02", "smith"),
        "assignment_42_export/submission_222/ours.ipynb": notebook("ch02", "group"),
        "assignment_42_export/submission_333/exercise.ipynb": notebook("ch02", "unlisted"),
    })
    got = collect(archive, tmp_path / "course")
    assert pairs(got) == [("Ann_Jones_1002", "ch02"), ("Ann_Smith_1001", "ch02"), ("Bo_Lee_1003", "ch02"),
                          ("submission_333", "ch02")]
    course = filed(tmp_path / "course")
    assert course["Ann_Jones_1002", "ch02"] == course["Bo_Lee_1003", "ch02"]  # a group: one copy each
    report = "\n".join(got.report())
    assert "group submission" in report and "submission_333: not in Gradescope" in report


@pytest.mark.parametrize("text,expected", [
    ("Ann Smith (1001)", "Ann_Smith_1001"), ("../../etc/passwd", "etc_passwd"), (".hidden", "hidden"),
    ("a/b\\c", "a_b_c"), ("José Núñez", "José_Núñez"), ("..", ""), ("x" * 200, "x" * 80),
])
def test_safe_id_makes_a_plain_folder_name(text, expected):
    assert safe_id(text) == expected


def test_two_people_never_share_a_folder_and_both_are_held(tmp_path):
    lms = export(tmp_path / "lms", {"Ann Smith/ch02.ipynb": notebook(text="1"),
                                    "Ann_Smith/ch03.ipynb": notebook(text="2"), "bo/ch02.ipynb": notebook()})
    got = collect(lms, tmp_path / "course")
    assert pairs(got) == [("bo", "ch02")] and got.needs_attention
    assert sorted(h.files for h in got.held) == [("Ann Smith/ch02.ipynb",), ("Ann_Smith/ch03.ipynb",)]
    assert all("would share the folder 'Ann_Smith'" in h.why for h in got.held)


def test_the_sample_class_collects_to_the_same_students_as_before(tmp_path):
    before = tree_digest(SAMPLE_CLASS)
    got = collect(SAMPLE_CLASS, tmp_path / "course")
    assert {(s.lower(), a) for s, a, _ in got} == {(s, a) for s, (a, _, _) in STUDENTS.items()}
    assert ("Sybil", "ch02") in pairs(got) and len(got) == len(STUDENTS) == 22  # uma and victor (ch08) since 7bcae10
    assert got.report() == []
    assert tree_digest(SAMPLE_CLASS) == before


# --- roster ---------------------------------------------------------------------------------------

ROSTER = "id,name,email\ns1,Ann Smith,ann.smith@uni.edu\ns2,Ann Jones,ajones@uni.edu\ns3,Bo Lee,bo@uni.edu\n"


def test_a_roster_files_students_under_its_ids_and_names_who_is_missing(tmp_path):
    (tmp_path / "roster.csv").write_text(ROSTER)
    lms = export(tmp_path / "lms", {
        "Ann Smith_1001_assignsubmission_file_ch02.ipynb": notebook(text="by name"),
        "Dropout_ajones_attempt_2024-01-01-10-00-00_ch02.ipynb": notebook(text="by login"),
        "Cy Stranger_1009_assignsubmission_file_ch02.ipynb": notebook(text="not on the roster"),
    })
    got = collect(lms, tmp_path / "course", roster=tmp_path / "roster.csv")
    assert pairs(got) == [("s1", "ch02"), ("s2", "ch02")] and got.missing == {"ch02": ["s3"]}
    assert got.unmatched == [("Cy Stranger_1009_assignsubmission_file_ch02.ipynb", "Cy Stranger_1009 (moodle)",
                              "matches no one on the roster (by LMS id, email or name)")]
    assert "no ch02 submission from: s3" in got.report() and got.needs_attention
    allowed = collect(lms, tmp_path / "course", roster=tmp_path / "roster.csv", allow_unmatched=True)
    assert pairs(allowed) == [("Cy_Stranger_1009", "ch02"), ("s1", "ch02"), ("s2", "ch02")]
    assert allowed.not_on_roster == ["Cy_Stranger_1009"] and not allowed.needs_attention


def test_a_person_matching_two_roster_entries_is_held_alone(tmp_path):
    (tmp_path / "roster.csv").write_text("id,name,email\ns1,Ann Smith,a@x.edu\ns2,Ann Smith,b@x.edu\n"
                                         "s3,Bo Lee,bo@x.edu\n")
    lms = export(tmp_path / "lms", {"Ann Smith_1001_assignsubmission_file_ch02.ipynb": notebook(),
                                    "Bo Lee_1002_assignsubmission_file_ch02.ipynb": notebook(text="bo")})
    got = collect(lms, tmp_path / "course", roster=tmp_path / "roster.csv")
    assert pairs(got) == [("s3", "ch02")]
    (held,) = got.held
    assert "matches several roster entries by name: s1, s2" in held.why and "moodle_id" in held.todo


@pytest.mark.parametrize("text,words", [
    ("id,name\ns1,Ann\n", "no column email"),
    ("s1,Ann Smith,ann@uni.edu\n", "must be a header"),
    ("id,name,email\ns1,Ann,a@x.edu\ns1,Bo,b@x.edu\n", "line 3: id 's1' is already on line 2"),
    ("id,name,email\ns1,Ann,a@x.edu\ns2,Bo,a@x.edu\n", "line 3: email 'a@x.edu' is already on line 2"),
    ("id,name,email\n../s1,Ann,a@x.edu\n", "cannot be a folder name"),
    ("id,name,email\n,Ann,a@x.edu\n", "line 2: no id"),
    ("id,name,email\ns1,Ann,not-an-address\n", "is not an email address"),
    ("id,name,email\n", "lists nobody"),
])
def test_a_bad_roster_is_explained(tmp_path, text, words):
    (tmp_path / "roster.csv").write_text(text)
    with pytest.raises(CollectError, match="roster") as err:
        read_roster(tmp_path / "roster.csv")
    assert words in str(err.value)


def test_a_roster_reads_with_a_bom_and_extra_columns(tmp_path):
    (tmp_path / "roster.csv").write_text("\ufeffEmail, ID ,Name,section\nann@x.edu,s1,Ann Smith,A\n")
    assert [(e.id, e.name, e.email) for e in read_roster(tmp_path / "roster.csv")] == [("s1", "Ann Smith", "ann@x.edu")]


def test_a_roster_saved_in_latin1_names_the_line_and_how_to_save_it(tmp_path):
    (tmp_path / "roster.csv").write_bytes("id,name,email\ns1,Ann Smith,a@x.edu\ns2,Se\u00e1n O'Brien,s@x.edu\n"
                                          .encode("latin-1"))
    with pytest.raises(CollectError, match="not UTF-8") as err:
        read_roster(tmp_path / "roster.csv")
    assert "line 3" in str(err.value) and "CSV UTF-8" in str(err.value)


# --- one notebook per student and assignment -------------------------------------------------------

@pytest.mark.parametrize("files", [
    {"bob_ch02.ipynb": notebook(text="first"), "bob_x_ch02.ipynb": notebook(text="second")},
    {"bob/ch02.ipynb": notebook("ch02", "first"), "bob/copy.ipynb": notebook("ch02", "second")},
], ids=["flat", "folder"])
def test_two_notebooks_for_one_assignment_hold_that_student_only(tmp_path, files):
    lms = export(tmp_path / "lms", {**files, "alice/ch02.ipynb": notebook()})
    got = collect(lms, tmp_path / "course")
    assert pairs(got) == [("alice", "ch02")] and sorted(filed(tmp_path / "course")) == [("alice", "ch02")]
    (held,) = got.held
    assert (held.who, held.assignment, held.files) == ("bob", "ch02", tuple(sorted(files)))
    assert "--pick FILE" in held.todo and "held bob/ch02: 2 different notebooks" in got.report()


def test_identical_copies_are_collected_once(tmp_path):
    lms = export(tmp_path / "lms", {"bob/ch02.ipynb": notebook(), "bob/ch02 (copy).ipynb": notebook()})
    got = collect(lms, tmp_path / "course")
    assert pairs(got) == [("bob", "ch02")] and "identical" in "\n".join(got.report())


def test_latest_keeps_the_newest_and_says_so(tmp_path):
    lms = export(tmp_path / "lms", {
        "bob/ch02.ipynb": notebook(text="old"), "bob/ch02 again.ipynb": notebook(text="new"),
        "Dropout_asmith_attempt_2024-01-02-10-00-00_ch02.ipynb": notebook(text="second attempt"),
        "Dropout_asmith_attempt_2024-01-01-10-00-00_ch02.ipynb": notebook(text="first attempt"),
    })
    os.utime(lms / "bob" / "ch02.ipynb", (1_000_000, 1_000_000))
    os.utime(lms / "bob" / "ch02 again.ipynb", (2_000_000, 2_000_000))
    os.utime(lms / "Dropout_asmith_attempt_2024-01-02-10-00-00_ch02.ipynb", (1_000_000, 1_000_000))
    held = {h.who: h for h in collect(lms, tmp_path / "course", dry_run=True).held}
    assert "--latest to keep the newest by Blackboard attempt time" in held["asmith"].todo
    assert "--latest to keep the newest by file time (bob/ch02 again.ipynb)" in held["bob"].todo
    got = collect(lms, tmp_path / "course", latest=True)
    course = filed(tmp_path / "course")
    assert b"new" in course["bob", "ch02"] and b"second attempt" in course["asmith", "ch02"]
    assert sum("(--latest)" in line for line in got.report()) == 2


# --- which assignment ------------------------------------------------------------------------------

def test_the_assignment_option_beats_a_misleading_name(tmp_path):
    lms = export(tmp_path / "lms", {"ann/sketch1.ipynb": notebook(), "bo/Approach3.ipynb": notebook()})
    assert pairs(collect(lms, tmp_path / "course", "ch02")) == [("ann", "ch02"), ("bo", "ch02")]


def test_digits_inside_words_name_no_assignment(tmp_path):
    lms = export(tmp_path / "lms", {"ann/sketch1.ipynb": notebook(), "bo/Approach3.ipynb": notebook()})
    got = collect(lms, tmp_path / "course")
    assert len(got) == 0 and not (tmp_path / "course" / "submitted").exists()
    assert sorted(name for name, _ in got.unidentified) == ["ann/sketch1.ipynb", "bo/Approach3.ipynb"]
    assert all("cannot tell which assignment" in why for _, why in got.unidentified)


def test_grade_ids_beat_the_name(tmp_path):
    lms = export(tmp_path / "lms", {"ann/ch02_exercise.ipynb": notebook("ch03")})
    assert pairs(collect(lms, tmp_path / "course")) == [("ann", "ch03")]


def test_the_assignment_option_beats_grade_ids_with_a_note(tmp_path):
    lms = export(tmp_path / "lms", {"ann/ch03.ipynb": notebook("ch03")})
    got = collect(lms, tmp_path / "course", "ch02")
    assert pairs(got) == [("ann", "ch02")] and "holds the graded cells of ch03" in got.report()[0]


@pytest.mark.parametrize("name,expected", [
    ("ch02", {"ch02"}), ("ch2_exercise", {"ch02"}), ("Chapter 3 notes", {"ch03"}), ("exercise_5", {"ch05"}),
    ("ch02_exercise-1", {"ch02"}), ("Exercise 5 (spatial)", {"ch05"}), ("sketch1", set()), ("Approach3", set()),
    ("ch02 and ch03", {"ch02", "ch03"}), ("ch09", set()), ("homework", set()), ("ch02v2", set()),
])
def test_assignment_words_in_names(name, expected):
    assert assignments_named(name) == expected


def test_a_notebook_at_the_top_without_an_owner_is_listed(tmp_path):
    lms = export(tmp_path / "lms", {"ch02_exercise.ipynb": notebook(), "notebook.ipynb": notebook(text="x"),
                                    "ann/ch02.ipynb": notebook(text="y")})
    got = collect(lms, tmp_path / "course")
    assert pairs(got) == [("ann", "ch02")]
    assert {name for name, _ in got.unidentified} == {"ch02_exercise.ipynb", "notebook.ipynb"}
    assert all("cannot tell whose" in why for _, why in got.unidentified)


# --- symbolic links ----------------------------------------------------------------------------------

def test_symbolic_links_are_refused_and_never_followed(tmp_path, monkeypatch):
    secret = export(tmp_path / "course_source", {"ch02/exercise.ipynb": notebook("ch02", "HIDDEN TESTS"),
                                                 "mallory/ch02.ipynb": notebook("ch02", "HIDDEN TOO")})
    lms = export(tmp_path / "lms", {"alice/ch02.ipynb": notebook()})
    (lms / "bob").mkdir()
    (lms / "bob" / "ch02.ipynb").symlink_to(secret / "ch02" / "exercise.ipynb")
    (lms / "mallory").symlink_to(secret / "mallory", target_is_directory=True)
    (lms / "eve_ch02.ipynb").symlink_to(secret / "ch02" / "exercise.ipynb")
    touched = []
    real_open, real_scandir = os.open, os.scandir

    def spy(real):
        def call(path=".", *args, **kwargs):
            if not isinstance(path, int):  # rmtree of the staging folder works on descriptors
                touched.append(Path(path))
            return real(path, *args, **kwargs)
        return call

    monkeypatch.setattr(os, "open", spy(real_open))
    monkeypatch.setattr(os, "scandir", spy(real_scandir))
    got = collect(lms, tmp_path / "course")
    monkeypatch.undo()
    assert pairs(got) == [("alice", "ch02")]
    assert {name for name, _ in got.refused} == {"bob/ch02.ipynb", "mallory", "eve_ch02.ipynb"}
    assert all("symbolic link" in line for line in got.report()[:3])
    assert not [p for p in touched if secret in p.resolve().parents]
    assert b"HIDDEN" not in b"".join(filed(tmp_path / "course").values())


def test_a_fifo_named_like_a_notebook_cannot_hang_the_collect(tmp_path):
    lms = export(tmp_path / "lms", {"alice/ch02.ipynb": notebook()})
    os.mkfifo(lms / "alice" / "ch03.ipynb")
    got = collect(lms, tmp_path / "course")
    assert pairs(got) == [("alice", "ch02")] and got.refused == [("alice/ch03.ipynb", "not a regular file")]


# --- archives ---------------------------------------------------------------------------------------

def test_unsafe_archive_members_are_refused(tmp_path):
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice/ch02.ipynb", notebook())
        link = zipfile.ZipInfo("bob/ch02.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "../../course/source/ch02/exercise.ipynb")
        zf.writestr("../carol/ch02.ipynb", notebook(text="escapes"))
        zf.writestr("/tmp/dave/ch02.ipynb", notebook(text="absolute"))
    got = collect(archive, tmp_path / "course")
    assert pairs(got) == [("alice", "ch02")]
    assert dict(got.refused) == {"bob/ch02.ipynb": "a symbolic link in the archive: refused",
                                 "../carol/ch02.ipynb": "a path with '..' in the archive: refused",
                                 "/tmp/dave/ch02.ipynb": "an absolute path in the archive: refused"}
    assert not (tmp_path / "carol").exists() and not Path("/tmp/dave").exists()


def test_an_archive_with_too_many_members_is_refused(tmp_path):
    archive = zipped(tmp_path / "many.zip", {f"s{i}/ch02.ipynb": b"{}" for i in range(30)})
    with pytest.raises(CollectError, match="more than 20 entries"):
        collect(archive, tmp_path / "course", limits=Limits(members=20))
    assert not (tmp_path / "course").exists()


def zeros_zip(path: Path, name: str, size: int) -> Path:
    """One member of ``size`` zero bytes, written in chunks: a 200 MiB member is ~200 KB here."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("alice/ch02.ipynb", notebook())
        with zf.open(name, "w") as out:
            for _ in range(size // MiB):
                out.write(bytes(MiB))
    return path


@pytest.fixture
def inflated(monkeypatch):
    """Counts the bytes inflated out of any archive."""
    count = [0]
    real_read = zipfile.ZipExtFile.read

    def read(self, n=-1):
        data = real_read(self, n)
        count[0] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
    return count


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    return zeros_zip(tmp_path_factory.mktemp("bomb") / "bomb.zip", "bob/ch02.ipynb", 200 * MiB)


def test_a_zip_bomb_is_refused_from_its_declared_size_without_inflating(tmp_path, bomb, inflated):
    assert bomb.stat().st_size < 2 * MiB
    tracemalloc.start()
    try:
        got = collect(bomb, tmp_path / "course", limits=Limits(notebook_bytes=10 * MiB))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pairs(got) == [("alice", "ch02")]
    assert got.refused == [("bob/ch02.ipynb", "larger than 10 MiB, so not copied (is it a notebook?)")]
    assert inflated[0] < MiB and peak < 8 * MiB


def test_a_zip_bomb_over_the_total_cap_stops_the_collect(tmp_path, bomb, inflated):
    with pytest.raises(CollectError, match="would inflate to 0.2 GiB"):
        collect(bomb, tmp_path / "course", limits=Limits(notebook_bytes=300 * MiB, total_bytes=100 * MiB))
    assert inflated[0] == 0 and not (tmp_path / "course").exists()


def test_a_member_that_lies_about_its_size_is_not_inflated_past_it(tmp_path, inflated):
    archive = zeros_zip(tmp_path / "liar.zip", "bob/ch02.ipynb", 64 * MiB)
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):  # central and local headers
        at = data.rfind(signature)
        assert struct.unpack_from("<I", data, at + offset)[0] == 64 * MiB
        struct.pack_into("<I", data, at + offset, 1000)
    archive.write_bytes(bytes(data))
    got = collect(archive, tmp_path / "course")
    assert pairs(got) == [("alice", "ch02")]
    assert [name for name, _ in got.refused] == ["bob/ch02.ipynb"] and "could not be read" in got.refused[0][1]
    assert inflated[0] < 2 * MiB


def test_staging_stops_at_the_cap_on_an_endless_stream(tmp_path):
    class Endless:
        asked = 0

        def read(self, n):
            self.asked += n
            return bytes(n)

    stream = Endless()
    assert stage(stream, tmp_path / "out", cap=3 * MiB + 5) is None
    assert stream.asked <= 3 * MiB + 6 and (tmp_path / "out").stat().st_size <= 3 * MiB + 5


def test_a_zip_wrapping_the_class_in_one_folder_is_unwrapped(tmp_path):
    archive = zipped(tmp_path / "lms.zip", {
        "export/alice/whatever.ipynb": notebook("ch02"), "export/bob/ch03.ipynb": notebook(text="b"),
        "__MACOSX/export/._alice": b"junk", "export/.DS_Store": b"junk",
        "export/alice/.ipynb_checkpoints/whatever-checkpoint.ipynb": notebook("ch03")})
    got = collect(archive, tmp_path / "course")
    assert pairs(got) == [("alice", "ch02"), ("bob", "ch03")] and got.report() == []


def test_one_students_zip_is_not_unwrapped_into_assignments(tmp_path):
    archive = zipped(tmp_path / "alice.zip", {"alice/ch02/exercise.ipynb": notebook("ch02")})
    assert pairs(collect(archive, tmp_path / "course")) == [("alice", "ch02")]


# --- what ends up in the course -----------------------------------------------------------------------

def test_the_result_is_what_is_really_in_the_course_and_the_originals_stay_as_they_were(tmp_path):
    notebooks = {"alice/ch02.ipynb": notebook(text="a"), "bob/ch02.ipynb": b"{ not json",
                 "carol/ch02.ipynb": b"", "erin/ch03.IPYNB": notebook(text="e")}
    lms = export(tmp_path / "lms", {**notebooks, "carol/notes.txt": b"hi", "carol/plot.png": b"\x89PNG",
                                    "dave/sketch.ipynb": notebook(text="d")})
    os.chmod(lms / "alice" / "ch02.ipynb", 0o444)
    before = tree_digest(lms)
    got = collect(lms, tmp_path / "course")
    assert tree_digest(lms) == before and stat.S_IMODE((lms / "alice" / "ch02.ipynb").stat().st_mode) == 0o444
    course = filed(tmp_path / "course")
    assert pairs(got) == sorted(course) == [("alice", "ch02"), ("bob", "ch02"), ("carol", "ch02"), ("erin", "ch03")]
    originals = {name.split("/")[0]: data for name, data in notebooks.items()}
    for student, assignment, path in got:
        assert path.read_bytes() == course[student, assignment] == originals[student]
        assert not path.is_symlink() and path.stat().st_mode & 0o600 == 0o600
    assert course["bob", "ch02"] == b"{ not json"  # graded 0 with a reason later, not dropped here
    assert got.skipped == ["carol/notes.txt", "carol/plot.png"]
    assert [name for name, _ in got.unidentified] == ["dave/sketch.ipynb"]
    assert "skipped 2 file(s) that are not notebooks" in got.report()


def test_a_resubmission_replaces_the_earlier_copy_and_is_reported(tmp_path):
    lms = export(tmp_path / "lms", {"alice/ch02.ipynb": notebook(text="v1"), "bob/ch02.ipynb": notebook(text="b")})
    first = collect(lms, tmp_path / "course")
    assert first.replaced == []
    (lms / "alice" / "ch02.ipynb").write_bytes(notebook(text="v2"))
    again = collect(lms, tmp_path / "course")
    assert [(s, a) for s, a, *_ in again.replaced] == [("alice", "ch02")]
    assert any(line.startswith("replaced alice/ch02 with a newer submission by file time") for line in again.report())
    (_, _, _, _, saved), = again.replaced
    assert b"v1" in (saved / "exercise.ipynb").read_bytes()  # the earlier copy is kept
    assert b"v2" in filed(tmp_path / "course")["alice", "ch02"] and len(again) == 2
    assert not list((tmp_path / "course").rglob(".collect-*"))


def test_a_symbolic_link_in_the_course_stops_the_collect(tmp_path):
    lms = export(tmp_path / "lms", {"alice/ch02.ipynb": notebook()})
    (tmp_path / "course" / "submitted").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "course" / "submitted" / "alice").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(CollectError, match="is a symbolic link"):
        collect(lms, tmp_path / "course")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_bad_sources_are_explained(tmp_path):
    with pytest.raises(CollectError, match="does not exist"):
        collect(tmp_path / "missing", tmp_path / "course")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(CollectError, match="neither a folder nor a .zip"):
        collect(tmp_path / "notes.txt", tmp_path / "course")
    with pytest.raises(CollectError, match="unknown assignment 'ch9'"):
        collect(tmp_path, tmp_path / "course", "ch9")


def test_collecting_twice_gives_the_same_course(tmp_path):
    lms = export(tmp_path / "lms", {"alice/ch02.ipynb": notebook(), "Sybil_ch03.ipynb": notebook(text="s")})
    first = collect(lms, tmp_path / "course")
    digest = tree_digest(tmp_path / "course")
    again = collect(lms, tmp_path / "course")
    assert pairs(first) == pairs(again) and tree_digest(tmp_path / "course") == digest and again.replaced == []


def test_hashes_are_those_of_the_originals(tmp_path):
    data = notebook("ch06", "x" * 10_000)
    lms = export(tmp_path / "lms", {"ann/whatever.ipynb": data})
    (_, _, path), = collect(lms, tmp_path / "course")
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_a_folder_differing_only_in_case_from_an_earlier_collect_is_held(tmp_path):
    collect(export(tmp_path / "first", {"Alice/ch02.ipynb": notebook()}), tmp_path / "course")
    got = collect(export(tmp_path / "second", {"alice/ch03.ipynb": notebook("ch03")}), tmp_path / "course")
    assert "held alice/ch03: would sit beside Alice from an earlier collect" in got.report()
    assert sorted(filed(tmp_path / "course")) == [("Alice", "ch02")]


def test_two_archive_members_with_one_name_are_both_seen(tmp_path):
    archive = tmp_path / "lms.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("bob/ch02.ipynb", notebook(text="first"))
        zf.writestr("bob/ch02.ipynb", notebook(text="second"))
    (held,) = collect(archive, tmp_path / "course").held
    assert held.files == ("bob/ch02.ipynb", "bob/ch02.ipynb (archive entry 2)")
