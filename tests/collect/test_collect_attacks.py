"""Collect attacked: by a student naming and packing her upload, and by an instructor with a messy export.

Each test is one attack; it asserts what must hold (who the notebook is filed as, which time, what is
kept, what is listed) so that a regression makes it fail.
"""
from __future__ import annotations

import unicodedata
import zipfile

import pytest

from autograder.course import submission_info
from autograder.collect import collect, read_roster
from test_collect import export, filed, notebook, pairs, zipped

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


# --- a re-collect that moves an earlier folder takes its grades along --------------------------------------

def grade_row(student: str, assignment: str, sha: str, score: float) -> dict:
    return {"student": student, "assignment": assignment, "sha256": sha, "score": score, "max_score": 10.0,
            "functions": {"dropout": {"points": score, "max_points": 10.0, "reason": ""}}, "flags": [],
            "written": {"q1": {"answer": "because", "max_points": 2.0, "points": None}}}


@pytest.fixture
def graded_under_a_canvas_name(tmp_path):
    """ch02 of Seán collected without a roster (so under his Canvas name), graded, and his written answer marked."""
    from autograder.course.gradebook import Gradebook, default_url

    course = tmp_path / "course"
    collect(export(tmp_path / "first", {"obrienseán_12345_900001_ch02.ipynb": notebook(text="sean ch02")}), course)
    book = Gradebook(default_url(course))
    book.record(grade_row("obrienseán_12345", "ch02", "sha-of-seans-notebook", 7.0))
    book.grade_written({("obrienseán_12345", "ch02"): {"q1": {"points": 2, "comment": "good", "answer": "because"}}})
    cache = course / "graded_notebooks" / "obrienseán_12345" / "ch02.ipynb"
    cache.parent.mkdir(parents=True)
    cache.write_text("executed copy")
    return course, book


def ann_hands_in(tmp_path):
    """A later export, of another student: collected with the roster, it moves Seán's earlier folder."""
    return export(tmp_path / "second", {"Ann Smith_7_assignsubmission_file_ch02.ipynb": notebook(text="a")})


def gradebook_rows(book) -> list[tuple[str, str, float, object]]:
    return [(r["student"], r["assignment"], r["score"], r["written"]["q1"].get("points")) for r in book.rows()]


def test_a_moved_folder_takes_its_grades_and_manual_marks_along(tmp_path, roster, graded_under_a_canvas_name):
    course, book = graded_under_a_canvas_name
    got = collect(ann_hands_in(tmp_path),
                  course, roster=roster)
    assert got.moved == got.grades_moved == [("obrienseán_12345", "s1", "ch02")]
    assert gradebook_rows(book) == [("s1", "ch02", 7.0, 2.0)]  # one row, the manual mark kept: export shows one
    assert (course / "graded_notebooks" / "s1" / "ch02.ipynb").read_text() == "executed copy"
    assert not (course / "graded_notebooks" / "obrienseán_12345").exists()
    assert any(line.startswith("moved submitted/obrienseán_12345/ch02 to submitted/s1/ch02")
               and "grades in the gradebook moved from obrienseán_12345 to s1" in line for line in got.report())
    again = collect(ann_hands_in(tmp_path), course, roster=roster)  # and a re-collect changes nothing
    assert again.moved == [] and gradebook_rows(book) == [("s1", "ch02", 7.0, 2.0)]


def test_a_move_is_held_when_both_names_have_grades_and_nothing_changes(tmp_path, roster,
                                                                        graded_under_a_canvas_name):
    course, book = graded_under_a_canvas_name
    book.record(grade_row("s1", "ch02", "sha-of-another-copy", 9.0))
    before = gradebook_rows(book)
    got = collect(ann_hands_in(tmp_path),
                  course, roster=roster)
    (held,) = got.held
    assert held.who == "s1" and "grades of both obrienseán_12345 and s1" in held.why
    assert "DELETE FROM results WHERE student='obrienseán_12345' AND assignment='ch02'" in held.todo
    assert got.moved == [] and got.needs_attention and pairs(got) == [("s3", "ch02")]
    assert gradebook_rows(book) == before and ("obrienseán_12345", "ch02") in filed(course)


def test_the_hint_for_two_graded_names_is_a_command_for_the_gradebook_in_use(tmp_path):
    """SQLite: sqlite3 on the course's file; PostgreSQL: psql on the URL without driver or password."""
    import sqlalchemy as sa
    from types import SimpleNamespace
    from autograder.collect.filing import delete_row_command

    def book(url):
        return SimpleNamespace(engine=SimpleNamespace(url=sa.engine.make_url(url)))

    course = tmp_path / "course"
    sql = "DELETE FROM results WHERE student='obrienseán_12345' AND assignment='ch02'"
    assert delete_row_command(None, course, "obrienseán_12345", "ch02") == \
        f'sqlite3 "{course / "results.db"}" "{sql}"'
    assert delete_row_command(book("sqlite:////srv/term 1/results.db"), course, "obrienseán_12345", "ch02") == \
        f'sqlite3 "/srv/term 1/results.db" "{sql}"'
    assert delete_row_command(book("postgresql+psycopg://grader:s3cret@db.example:5433/dropout"), course,
                              "obrienseán_12345", "ch02") == f'psql "postgresql://grader@db.example:5433/dropout" -c "{sql}"'
    # A quote in a name is doubled for SQL, and a character special to the shell is quoted for it.
    assert "student='o''brien'" in delete_row_command(None, course, "o'brien", "ch02")
    assert delete_row_command(None, course, "a$b", "ch02").endswith("'\"'\"'a$b'\"'\"' AND assignment='\"'\"'ch02'\"'\"''")


def test_a_move_that_fails_leaves_the_grades_where_they_were(tmp_path, roster, graded_under_a_canvas_name,
                                                             monkeypatch):
    course, book = graded_under_a_canvas_name
    before = gradebook_rows(book)

    def failing_rename(*_):
        raise OSError("disk full")

    monkeypatch.setattr("autograder.collect.filing.os.rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        collect(ann_hands_in(tmp_path), course, roster=roster)
    assert gradebook_rows(book) == before  # rolled back with the move
    assert ("obrienseán_12345", "ch02") in filed(course)


def test_a_dry_run_says_the_grades_would_move_and_moves_nothing(tmp_path, roster, graded_under_a_canvas_name):
    course, book = graded_under_a_canvas_name
    before = gradebook_rows(book)
    got = collect(ann_hands_in(tmp_path), course, roster=roster, dry_run=True)
    assert "move submitted/obrienseán_12345/ch02 to submitted/s1/ch02 with its grades in the gradebook" in got.planned
    assert gradebook_rows(book) == before and ("obrienseán_12345", "ch02") in filed(course)


def test_the_command_line_moves_grades_in_the_gradebook_given_with_db(tmp_path, roster, capsys):
    from autograder import cli
    from autograder.course.gradebook import Gradebook

    course, url = tmp_path / "course", f"sqlite:///{tmp_path / 'elsewhere.db'}"
    collect(export(tmp_path / "first", {"obrienseán_12345_900001_ch02.ipynb": notebook(text="sean")}), course)
    Gradebook(url).record(grade_row("obrienseán_12345", "ch02", "sha", 7.0))
    cli.main(["collect", str(ann_hands_in(tmp_path)), "--course", str(course), "--roster", str(roster),
              "--db", url])
    assert gradebook_rows(Gradebook(url)) == [("s1", "ch02", 7.0, None)]
    assert "grades in the gradebook moved" in capsys.readouterr().out


# --- nobody's work is lost without a word ------------------------------------------------------------------

def test_a_student_who_uploaded_only_a_zip_is_named_and_the_collect_asks_for_the_notebook(tmp_path, roster, capsys):
    from autograder import cli

    lms = export(tmp_path / "lms", {"smithann_12346_900010_ch02.zip": b"PK\x03\x04 her notebook inside",
                                    "obrienseán_12345_900011_ch02.ipynb": notebook(),
                                    "obrienseán_12345_900011_ch02.pdf": b"%PDF his notebook printed"})
    got = collect(lms, tmp_path / "course", roster=roster)
    assert pairs(got) == [("s1", "ch02")]
    # Seán's PDF beside his notebook is nothing to act on; Ann's zip is all she handed in.
    assert got.no_notebook == [("smithann_12346_900010_ch02.zip", "smithann_12346 (canvas)")] and got.needs_attention
    with pytest.raises(SystemExit) as stop:
        cli.main(["collect", str(lms), "--course", str(tmp_path / "course"), "--roster", str(roster)])
    assert "no notebook from smithann_12346 (canvas): handed in smithann_12346_900010_ch02.zip" in capsys.readouterr().out
    assert "handed in no notebook" in str(stop.value.code)


def test_collecting_the_same_export_again_changes_nothing_and_says_so(tmp_path, roster, capsys):
    from autograder import cli
    from tree_digest import tree_digest

    lms = export(tmp_path / "lms", {"obrienseán_12345_900011_ch02.ipynb": notebook(text="s"),
                                    "núñezjosé_12350_900012_ch02.ipynb": notebook(text="j")})
    command = ["collect", str(lms), "--course", str(tmp_path / "course"), "--roster", str(roster)]
    cli.main(command)
    assert "nothing changed" not in capsys.readouterr().out
    digest = tree_digest(tmp_path / "course")
    cli.main(command)
    out = capsys.readouterr().out
    assert "nothing changed: all 2 notebook(s) were already in the course as collected before" in out
    assert "submission times from" not in out  # nothing was copied, so no time is new
    assert tree_digest(tmp_path / "course") == digest and not (tmp_path / "course" / "collect_backup").exists()


# --- what a student packs into her own folder ----------------------------------------------------------------

def gradescope_metadata(folder: str, name: str, sid: str, created: str) -> str:
    return (f"{folder}:\n  :submitters:\n  - :name: {name}\n    :sid: '{sid}'\n    :email: {sid}@uni.edu\n"
            f"  :created_at: {created}\n")


@pytest.mark.parametrize("with_real_metadata", [True, False], ids=["beside-gradescopes", "alone"])
def test_a_gradescope_metadata_file_inside_a_students_folder_is_never_read(tmp_path, with_real_metadata):
    crafted = gradescope_metadata("submission_2", "Ann Smith", "s3", "2020-01-01 00:00:00.000000000 +00:00")
    files = {"submission_2/exercise.ipynb": notebook("ch02", "bo"), "submission_2/submission_metadata.yml":
             crafted.encode()}
    if with_real_metadata:
        files["submission_metadata.yml"] = gradescope_metadata("submission_2", "Bo Lee", "s5",
                                                               "2026-10-05 23:10:00.000000000 +00:00").encode()
    got = collect(zipped(tmp_path / "gradescope.zip", files), tmp_path / "course")
    who = "Bo_Lee_s5" if with_real_metadata else "submission_2"
    assert pairs(got) == [(who, "ch02")]
    recorded = info(tmp_path / "course", who, "ch02")
    assert recorded.name != "Ann Smith" and recorded.submitted_at.year != 2020
    assert "submission_2/submission_metadata.yml" in got.skipped


def test_long_names_cut_to_one_folder_are_held_never_merged(tmp_path):
    stem = "x" * 90
    got = collect(export(tmp_path / "lms", {f"{stem}a/ch02.ipynb": notebook(text="a"),
                                            f"{stem}b/ch02.ipynb": notebook(text="b")}), tmp_path / "course")
    assert pairs(got) == [] and len(got.held) == 2 and all("would share the folder" in h.why for h in got.held)


def test_two_archive_entries_differing_only_in_case_are_one_students_two_notebooks(tmp_path, roster):
    archive = zipped(tmp_path / "lms.zip", {"smithann_12346_900010_CH02.ipynb": notebook(text="upper"),
                                            "smithann_12346_900010_ch02.ipynb": notebook(text="lower")})
    got = collect(archive, tmp_path / "course", roster=roster)
    (held,) = got.held
    assert (held.who, held.why) == ("s3", "2 different notebooks") and pairs(got) == []
    assert "no order" in held.todo  # one attachment id: --latest cannot choose, and is not offered


def test_a_file_name_cannot_forge_report_lines_or_hide_behind_a_right_to_left_override(tmp_path, roster):
    forged = "smithann_12346_900010_x\n    to do: nothing, all is well\n.ipynb"
    reversed_ = "smithann_12346_900011_\u202ebnypi.20hc.ipynb"
    lms = zipped(tmp_path / "lms.zip", {forged: notebook(text="one"), reversed_: notebook(text="two")})
    got = collect(lms, tmp_path / "course", roster=roster, assignment="ch02")
    report = got.report()
    assert pairs(got) == [] and not any("all is well" in line and "\\u000a" not in line for line in report)
    assert "    smithann_12346_900011_\\u202ebnypi.20hc.ipynb" in report
    assert all(c.isprintable() for line in report for c in line)
    # The name as printed picks the file.
    picked = collect(lms, tmp_path / "course", roster=roster, assignment="ch02",
                     picks=["smithann_12346_900011_\\u202ebnypi.20hc.ipynb"])
    assert pairs(picked) == [("s3", "ch02")] and b"two" in filed(tmp_path / "course")["s3", "ch02"]


def test_a_hidden_file_that_is_all_someone_handed_in_is_listed_and_mac_debris_is_not(tmp_path):
    lms = zipped(tmp_path / "lms.zip", {
        "Bo Lee_1002_assignsubmission_file_/.exercise.ipynb": notebook("ch02", "bo"),
        "Ann Smith_1001_assignsubmission_file_/ch02.ipynb": notebook("ch02", "ann"),
        "Ann Smith_1001_assignsubmission_file_/.ipynb_checkpoints/ch02-checkpoint.ipynb": notebook("ch02", "old"),
        "__MACOSX/Ann Smith_1001_assignsubmission_file_/._ch02.ipynb": b"\x00\x05\x16\x07",
    })
    got = collect(lms, tmp_path / "course")
    assert pairs(got) == [("Ann_Smith_1001", "ch02")]
    assert got.no_notebook == [("Bo Lee_1002_assignsubmission_file_/.exercise.ipynb", "Bo Lee_1002 (moodle)")]


def test_a_roster_id_written_decomposed_is_read_composed(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text("id,name,email\n" + nfd("josé,José Núñez,jose@uni.edu\n"), encoding="utf-8")
    (entry,) = read_roster(path)
    assert entry.id == "josé" and entry.id == unicodedata.normalize("NFC", entry.id)


# --- another assignment's submission is never replaced ------------------------------------------------------

def test_a_lone_upload_of_another_assignment_cannot_vote_its_export_into_replacing_that_assignment(tmp_path):
    course = tmp_path / "course"
    collect(export(tmp_path / "ch03", {"smithann_1_800001_ch03.ipynb": notebook("ch03", "graded ch03"),
                                       "leebo_2_800002_ch03.ipynb": notebook("ch03", "bo")}), course)
    # Later, Ann uploads a reworked ch03 to the ch02 assignment; the instructor downloads that one late file.
    late = export(tmp_path / "late", {"smithann_1_800050_late.ipynb": notebook("ch03", "reworked ch03")})
    got = collect(late, course)
    (held,) = got.held
    assert held.files == ("smithann_1_800050_late.ipynb",) and "no one else's notebook" in held.why
    assert "--assignment ch03" in held.todo and got.replaced == [] and got.needs_attention
    assert b"graded ch03" in filed(course)["smithann_1", "ch03"]
    # Said to be ch02's export, it is filed there, beside the graded ch03.
    assert pairs(collect(late, course, "ch02")) == [("smithann_1", "ch02")]
    assert b"graded ch03" in filed(course)["smithann_1", "ch03"]


def test_a_resubmission_in_an_export_of_the_class_replaces_without_being_told_the_assignment(tmp_path):
    course = tmp_path / "course"
    collect(export(tmp_path / "a", {"smithann_1_800001_ch02.ipynb": notebook("ch02", "first"),
                                    "leebo_2_800002_ch02.ipynb": notebook("ch02", "bo")}), course)
    got = collect(export(tmp_path / "b", {"smithann_1_800010_ch02.ipynb": notebook("ch02", "second"),
                                          "leebo_2_800002_ch02.ipynb": notebook("ch02", "bo")}), course)
    assert [(s, a) for s, a, *_ in got.replaced] == [("smithann_1", "ch02")] and not got.held
    assert b"second" in filed(course)["smithann_1", "ch02"]


# --- namesakes -----------------------------------------------------------------------------------------------

def test_a_namesake_is_never_filed_as_the_roster_student_whose_lms_id_is_another(tmp_path, roster):
    # The roster's Ann Smith is Canvas user 12346; another Canvas user called Ann Smith hands in, the real one not.
    got = collect(export(tmp_path / "lms", {"smithann_99999_900001_ch02.ipynb": notebook(text="the other ann")}),
                  tmp_path / "course", roster=roster)
    assert pairs(got) == [] and [who for _, who, _ in got.unmatched] == ["smithann_99999 (canvas)"]
    assert "s3" in got.missing["ch02"] and got.needs_attention


def test_a_student_missing_from_the_id_column_is_still_matched_by_name(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text("id,name,email,canvas_id\ns1,Seán O'Brien,sean@uni.edu,12345\ns3,Ann Smith,ann@uni.edu,\n")
    got = collect(export(tmp_path / "lms", {"smithann_99999_900001_ch02.ipynb": notebook()}), tmp_path / "course",
                  roster=path)
    assert pairs(got) == [("s3", "ch02")] and info(tmp_path / "course", "s3", "ch02").matched_by == "name"


def test_a_folder_export_has_the_same_total_cap_as_a_zip(tmp_path):
    from autograder.collect import CollectError, Limits

    lms = export(tmp_path / "lms", {f"s{i}/ch02.ipynb": notebook(text="x" * 4000) for i in range(4)})
    with pytest.raises(CollectError, match="more than .* GiB of notebooks"):
        collect(lms, tmp_path / "course", limits=Limits(total_bytes=10_000))
    assert not (tmp_path / "course").exists()


def test_without_a_roster_a_renamed_canvas_student_stays_in_one_folder(tmp_path):
    course = tmp_path / "course"
    collect(export(tmp_path / "a", {"smithann_12346_900001_ch02.ipynb": notebook("ch02", "ann"),
                                    "leebo_12348_900002_ch02.ipynb": notebook("ch02", "bo")}), course)
    got = collect(export(tmp_path / "b", {"jonesann_12346_900011_ch03.ipynb": notebook("ch03", "ann, married"),
                                          "leebo_12348_900012_ch03.ipynb": notebook("ch03", "bo")}), course)
    assert sorted(filed(course)) == [("leebo_12348", "ch02"), ("leebo_12348", "ch03"),
                                     ("smithann_12346", "ch02"), ("smithann_12346", "ch03")]
    assert any("filed in submitted/smithann_12346" in note and "LMS name was smithann, now jonesann" in note
               for note in got.notes)
    again = collect(tmp_path / "b", course)
    assert pairs(again) == pairs(got) and len(again.unchanged) == 2  # and again: nothing new


# --- Blackboard logins holding "_" ------------------------------------------------------------------------

def test_a_blackboard_login_with_an_underscore_is_read_whole_from_the_title_the_class_shares(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,name,email\nsmith,Will Smith,smith@uni.edu\nu7,John Smith,john_smith@uni.edu\n"
                      "u8,Kai Muller,kmuller@uni.edu\n")
    lms = export(tmp_path / "lms", {
        "HW_ch04_john_smith_attempt_2026-10-12-20-00-00_ch04.ipynb": notebook("ch04", "john"),
        "HW_ch04_kmuller_attempt_2026-10-12-21-00-00_ch04.ipynb": notebook("ch04", "kai"),
        "HW_ch04_kmuller_attempt_2026-10-12-21-00-00_notes.pdf": b"%PDF",
    })
    got = collect(lms, tmp_path / "course", roster=roster)
    # Not Will Smith's ("smith" after the last "_"): John's login is john_smith, his email's login.
    assert pairs(got) == [("u7", "ch04"), ("u8", "ch04")] and got.missing == {"ch04": ["smith"]}
    assert info(tmp_path / "course", "u7", "ch04").lms_id == "john_smith" and got.no_notebook == []


@pytest.mark.parametrize("names,title", [
    (["HW_1_john_smith", "HW_1_kmuller", "HW_1_ann_lee"], "HW_1"),   # a title with "_", logins with and without
    (["Dropout ch02_asmith"], "Dropout ch02"),                        # one person: the login is the last part
    (["HW1_a", "HW1_b", "HW2_c"], None),                              # two exports: each keeps its own title
])
def test_blackboard_titles(names, title):
    from autograder.collect.lms_names import blackboard_titles

    titles = blackboard_titles(f"{head}_attempt_2026-10-12-20-00-00_x.ipynb" for head in names)
    assert titles == {head: title or head.rpartition("_")[0] for head in names}


def test_a_roster_blackboard_login_may_hold_an_underscore(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,name,email,blackboard_login\nu7,John Smith,js@uni.edu,john_smith\n"
                      "u8,Kai Muller,km@uni.edu,kmuller\n")
    lms = export(tmp_path / "lms", {
        "HW_ch04_john_smith_attempt_2026-10-12-20-00-00_ch04.ipynb": notebook("ch04", "john"),
        "HW_ch04_kmuller_attempt_2026-10-12-21-00-00_ch04.ipynb": notebook("ch04", "kai")})
    got = collect(lms, tmp_path / "course", roster=roster)
    assert pairs(got) == [("u7", "ch04"), ("u8", "ch04")]
    assert info(tmp_path / "course", "u7", "ch04").matched_by == "blackboard_login"


def test_a_roster_line_with_an_empty_blackboard_login_is_matched_by_its_email_login(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,name,email,blackboard_login\nu7,John Smith,js@uni.edu,john_smith\n"
                      "u8,Kai Muller,kmuller@uni.edu,\n")
    lms = export(tmp_path / "lms", {
        "HW_ch04_john_smith_attempt_2026-10-12-20-00-00_ch04.ipynb": notebook("ch04", "john"),
        "HW_ch04_kmuller_attempt_2026-10-12-21-00-00_ch04.ipynb": notebook("ch04", "kai")})
    got = collect(lms, tmp_path / "course", roster=roster)
    assert pairs(got) == [("u7", "ch04"), ("u8", "ch04")]
    assert info(tmp_path / "course", "u8", "ch04").matched_by == "id or email login"


# --- archive layout ---------------------------------------------------------------------------------------

def test_an_export_wrapped_in_two_folders_is_unwrapped_and_not_taken_for_one_student(tmp_path, roster):
    archive = zipped(tmp_path / "lms.zip", {
        "Downloads/ch02 submissions/smithann_12346_900001_ch02.ipynb": notebook("ch02", "ann"),
        "Downloads/ch02 submissions/obrienseán_12345_900002_ch02.ipynb": notebook("ch02", "sean"),
        "Downloads/ch02 submissions/núñezjosé_12350_900003_ch02.zip": b"PK",
    })
    got = collect(archive, tmp_path / "course", roster=roster)
    assert pairs(got) == [("s1", "ch02"), ("s3", "ch02")] and not got.held
    assert got.no_notebook == [("Downloads/ch02 submissions/núñezjosé_12350_900003_ch02.zip", "núñezjosé_12350 (canvas)")]


def test_a_students_nested_folders_are_not_unwrapped_past_the_first(tmp_path):
    got = collect(export(tmp_path / "lms", {"class/alice/work/x.ipynb": notebook("ch02", "a"),
                                            "class/alice/work/y.ipynb": notebook("ch02", "a2")}), tmp_path / "course")
    (held,) = got.held  # alice's two notebooks: still alice's, not a student called "work"
    assert held.who == "alice" and held.files == ("alice/work/x.ipynb", "alice/work/y.ipynb")


def test_two_roster_students_of_one_name_stay_ambiguous_even_when_one_has_another_lms_id(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text("id,name,email,canvas_id\ns1,Ann Smith,a1@uni.edu,12346\ns2,Ann Smith,a2@uni.edu,\n")
    got = collect(export(tmp_path / "lms", {"smithann_99999_900001_ch02.ipynb": notebook()}), tmp_path / "course",
                  roster=path)
    (held,) = got.held  # s2, or an Ann Smith the roster does not list: not guessed
    assert pairs(got) == [] and "s1, s2" in held.why and "canvas_id" in held.todo


def test_composed_and_decomposed_twins_are_told_apart_in_the_report_and_picked_as_printed(tmp_path):
    composed = "José Núñez_1_assignsubmission_file_ch02.ipynb"
    decomposed = nfd(composed)
    lms = export(tmp_path / "lms", {composed: notebook(text="composed"), decomposed: notebook(text="decomposed")})
    report = collect(lms, tmp_path / "course").report()
    shown = [line.strip() for line in report if line.startswith("    ") and "to do" not in line]
    assert len(set(shown)) == 2 and composed in shown
    (printed,) = set(shown) - {composed}
    assert "\\u0301" in printed
    collect(lms, tmp_path / "course", picks=[printed])
    assert b"decomposed" in filed(tmp_path / "course")["José_Núñez_1", "ch02"]
