"""Collect trusts what the LMS wrote and the instructor gave, never what a student typed; one student's
problem holds that student only; nothing is replaced without a word, and nothing is lost.

Exports are built in ``tmp_path``; notebooks carry graded cells of one assignment where a test
needs the assignment to come from the cells (see ``test_collect.notebook``).
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from autograder import cli
from autograder.course import submission_info
from autograder.collect import CollectError, collect
from test_collect import export, filed, notebook, pairs
from tree_digest import tree_digest

ROSTER = ("id,name,email,canvas_id\n"
          "s1,Seán O'Brien,sean@uni.edu,\n"
          "s2,Ana García-López,ana@uni.edu,\n"
          "s3,Fatima Al-Sayed,fatima@uni.edu,\n"
          "s4,Ann Smith,asmith@uni.edu,\n"
          "s5,Bo Lee,bob@uni.edu,\n")


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def info(course, student, assignment):
    return submission_info.read(course, student, assignment)


# --- identity from the LMS's prefix ------------------------------------------------------------------

def test_a_blackboard_upload_named_as_another_students_attempt_stays_with_its_uploader(tmp_path, roster):
    lms = export(tmp_path / "lms", {
        "Dropout ch02_asmith_attempt_2026-10-05-22-00-00_x_bob_attempt_2026-10-06-23-00-00_ch02.ipynb":
            notebook(text="ann's work"),
    })
    got = collect(lms, tmp_path / "course", roster=roster)
    assert pairs(got) == [("s4", "ch02")] and "s5" in got.missing["ch02"]
    assert info(tmp_path / "course", "s4", "ch02").lms_id == "asmith"


def test_a_moodle_upload_named_as_another_participant_is_recorded_as_its_uploader(tmp_path, roster):
    lms = export(tmp_path / "lms", {
        "Ann Smith_1001_assignsubmission_file_x_1002_assignsubmission_file_ch02.ipynb": notebook(text="ann"),
        "Bo Lee_1002_assignsubmission_file_ch02.ipynb": notebook(text="bo"),
    })
    got = collect(lms, tmp_path / "course", roster=roster)
    assert pairs(got) == [("s4", "ch02"), ("s5", "ch02")]
    assert [info(tmp_path / "course", s, "ch02").lms_id for s in ("s4", "s5")] == ["1001", "1002"]
    assert b"ann" in filed(tmp_path / "course")["s4", "ch02"]


def test_canvas_lastfirst_names_match_the_roster_and_anonymous_ones_stay_apart(tmp_path, roster):
    lms = export(tmp_path / "lms", {
        "obrienseán_12345_900001_ch02.ipynb": notebook(text="sean"),
        "garcíalópezana_LATE_12346_900002_ch02.ipynb": notebook(text="ana"),
        "alsayedfatima_12347_900003_ch02.ipynb": notebook(text="fatima"),
        "anon_aB1cD_900004_ch02.ipynb": notebook(text="anon one"),
        "anon_eF2gH_900005_ch02.ipynb": notebook(text="anon two"),
    })
    got = collect(lms, tmp_path / "course", roster=roster)
    assert pairs(got) == [("s1", "ch02"), ("s2", "ch02"), ("s3", "ch02")]
    assert sorted(name for name, _, _ in got.unmatched) == ["anon_aB1cD_900004_ch02.ipynb",
                                                           "anon_eF2gH_900005_ch02.ipynb"]
    assert all("anonymous" in why for _, _, why in got.unmatched) and got.needs_attention
    assert info(tmp_path / "course", "s1", "ch02").matched_by == "name"
    allowed = collect(lms, tmp_path / "course", roster=roster, allow_unmatched=True)
    assert {("anon_aB1cD", "ch02"), ("anon_eF2gH", "ch02")} <= set(pairs(allowed))


def test_two_participants_with_one_roster_name_are_never_guessed(tmp_path, roster):
    lms = export(tmp_path / "lms", {"Ann Smith_1001_assignsubmission_file_ch02.ipynb": notebook(text="one"),
                                    "Ann Smith_1002_assignsubmission_file_ch02.ipynb": notebook(text="two"),
                                    "Bo Lee_1003_assignsubmission_file_ch02.ipynb": notebook(text="bo")})
    got = collect(lms, tmp_path / "course", roster=roster)
    assert pairs(got) == [("s5", "ch02")]
    (held,) = got.held
    assert held.who == "s4" and len(held.files) == 2 and "not guessed" in held.why and got.missing == {"ch02": ["s1", "s2", "s3"]}


# --- time only from the LMS, in the LMS's time zone ---------------------------------------------------

def test_blackboard_times_are_read_in_the_course_files_lms_time_zone(tmp_path, roster):
    course = tmp_path / "course"
    course.mkdir()
    (course / "course.toml").write_text('[lms]\ntimezone = "America/New_York"\n')
    lms = export(tmp_path / "lms", {"Dropout ch02_asmith_attempt_2026-10-05-23-30-00_ch02.ipynb": notebook()})
    collect(lms, course, roster=roster)
    recorded = info(course, "s4", "ch02")
    assert recorded.submitted_at == datetime(2026, 10, 5, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    assert recorded.source == "blackboard" and recorded.order == "blackboard-attempt:2026-10-05-23-30-00"
    assert json.loads(course.joinpath("submitted/s4/ch02/submission.json").read_text())["submitted_at"] == \
        "2026-10-05T23:30:00-04:00"


def test_without_an_lms_time_zone_blackboards_time_is_not_used_and_that_is_said(tmp_path, roster):
    lms = export(tmp_path / "lms", {"Dropout ch02_asmith_attempt_2026-10-05-23-30-00_ch02.ipynb": notebook()})
    got = collect(lms, tmp_path / "course", roster=roster, dry_run=True)
    (line,) = got.planned
    assert "from file-mtime" in line or "no time" in line
    assert "[lms] timezone" in line


@pytest.mark.parametrize("toml,words", [
    ('[lms]\ntimezone = "Mars/Olympus"\n', "line 2: lms.timezone: 'Mars/Olympus' is not a known time zone"),
    ("[lms]\ntimezone = 5\n", "line 2: lms.timezone: 5 is not a time zone name"),
    ('[lms]\nzone = "UTC"\n', "line 2: lms.zone: unknown key"),
])
def test_a_bad_lms_time_zone_is_explained_and_nothing_is_copied(tmp_path, toml, words):
    course = tmp_path / "course"
    course.mkdir()
    (course / "course.toml").write_text(toml)
    lms = export(tmp_path / "lms", {"Dropout ch02_asmith_attempt_2026-10-05-23-30-00_ch02.ipynb": notebook()})
    with pytest.raises(CollectError, match="course.toml") as err:
        collect(lms, course)
    assert words in str(err.value) and not (course / "submitted").exists()


# --- nothing replaced silently --------------------------------------------------------------------------

def test_an_older_canvas_attachment_never_replaces_a_newer_one(tmp_path):
    course = tmp_path / "course"
    collect(export(tmp_path / "new", {"leebo_12348_900010_ch02.ipynb": notebook(text="newer")}), course)
    older = export(tmp_path / "old", {"leebo_12348_900001_ch02.ipynb": notebook(text="older")})
    got = collect(older, course)
    (held,) = got.held
    assert "older by Canvas attachment id" in held.why and "--pick" in held.todo
    assert b"newer" in filed(course)["leebo_12348", "ch02"]
    picked = collect(older, course, picks=["leebo_12348_900001_ch02.ipynb"])
    (_, _, _, why, saved), = picked.replaced
    assert why == "picked with --pick" and b"newer" in (saved / "exercise.ipynb").read_bytes()
    assert b"older" in filed(course)["leebo_12348", "ch02"]


def test_a_newer_attachment_replaces_and_the_report_says_by_what(tmp_path):
    course = tmp_path / "course"
    collect(export(tmp_path / "a", {"leebo_12348_900001_ch02.ipynb": notebook(text="first")}), course)
    got = collect(export(tmp_path / "b", {"leebo_12348_900010_ch02.ipynb": notebook(text="second")}), course, "ch02")
    assert any("replaced leebo_12348/ch02 with a newer submission by Canvas attachment id" in line
               for line in got.report())
    assert b"second" in filed(course)["leebo_12348", "ch02"]


def test_a_notebook_of_another_assignment_never_replaces_that_assignments_submission(tmp_path):
    course = tmp_path / "course"
    collect(export(tmp_path / "ch02", {"smithann_1_800001_ch02.ipynb": notebook("ch02", "graded ch02")}), course)
    ch03 = {"smithann_1_800010_mine.ipynb": notebook("ch02", "finished ch02 again"),
            "leebo_2_800011_a.ipynb": notebook("ch03", "b"), "jonescy_3_800012_b.ipynb": notebook("ch03", "c"),
            "parkeve_5_800014_d.ipynb": notebook("ch03", "e"),
            "kimdi_4_800013_c.ipynb": notebook("ch02", "di's ch02, uploaded to ch03")}
    got = collect(export(tmp_path / "ch03", ch03), course)
    assert b"graded ch02" in filed(course)["smithann_1", "ch02"]
    (held,) = got.held
    assert held.files == ("smithann_1_800010_mine.ipynb",) and "came in an LMS export of ch03" in held.why
    assert ("kimdi_4", "ch02") in pairs(got)  # nothing to replace: filed under its own assignment, with a note
    assert any("kimdi_4_800013_c.ipynb: is ch02 by its cells or name" in n for n in got.notes)


def test_the_assignment_option_files_a_stray_notebook_under_the_export_not_over_another(tmp_path):
    course = tmp_path / "course"
    collect(export(tmp_path / "ch02", {"smithann_1_800001_ch02.ipynb": notebook("ch02", "graded ch02")}), course)
    got = collect(export(tmp_path / "ch03", {"smithann_1_800010_mine.ipynb": notebook("ch02", "stray")}), course,
                  "ch03")
    assert pairs(got) == [("smithann_1", "ch03")] and b"graded ch02" in filed(course)["smithann_1", "ch02"]


# --- one student's conflict holds that student only ------------------------------------------------------

def test_two_moodle_files_hold_one_student_and_latest_is_not_offered_without_an_order(tmp_path):
    lms = export(tmp_path / "lms", {"Ann Smith_1001_assignsubmission_file_ch02.ipynb": notebook(text="a"),
                                    "Ann Smith_1001_assignsubmission_file_ch02 (1).ipynb": notebook(text="b"),
                                    "Bo Lee_1002_assignsubmission_file_ch02.ipynb": notebook(text="bo")})
    got = collect(lms, tmp_path / "course", latest=True)
    assert pairs(got) == [("Bo_Lee_1002", "ch02")]
    (held,) = got.held
    assert "--latest" not in held.todo and "no order" in held.todo and len(held.files) == 2
    picked = collect(lms, tmp_path / "course", picks=["Ann Smith_1001_assignsubmission_file_ch02 (1).ipynb"])
    assert b"b" in filed(tmp_path / "course")["Ann_Smith_1001", "ch02"] and not picked.held


def test_canvas_attachment_ids_let_latest_choose(tmp_path):
    lms = export(tmp_path / "lms", {"leebo_12348_900001_ch02.ipynb": notebook(text="first"),
                                    "leebo_12348_900002_ch02-1.ipynb": notebook(text="second")})
    (held,) = collect(lms, tmp_path / "course", dry_run=True).held
    assert "--latest to keep the newest by Canvas attachment id (leebo_12348_900002_ch02-1.ipynb)" in held.todo
    collect(lms, tmp_path / "course", latest=True)
    assert b"second" in filed(tmp_path / "course")["leebo_12348", "ch02"]


def test_a_pick_that_names_no_file_is_refused(tmp_path):
    lms = export(tmp_path / "lms", {"alice/ch02.ipynb": notebook()})
    with pytest.raises(CollectError, match="--pick nope.ipynb: no such notebook"):
        collect(lms, tmp_path / "course", picks=["nope.ipynb"])
    assert not (tmp_path / "course").exists()


# --- a re-collect never leaves one student's work in two folders ---------------------------------------

def test_a_recollect_with_a_roster_moves_folders_filed_under_lms_names(tmp_path, roster):
    course = tmp_path / "course"
    first = export(tmp_path / "first", {"obrienseán_12345_900001_ch02.ipynb": notebook(text="sean ch02"),
                                        "garcíalópezana_12346_900002_ch02.ipynb": notebook(text="ana ch02")})
    collect(first, course)
    assert sorted(filed(course)) == [("garcíalópezana_12346", "ch02"), ("obrienseán_12345", "ch02")]
    second = export(tmp_path / "second", {"obrienseán_12345_900011_ch03.ipynb": notebook(text="sean ch03")})
    got = collect(second, course, roster=roster)
    assert sorted(filed(course)) == [("s1", "ch02"), ("s1", "ch03"), ("s2", "ch02")]
    assert sorted(got.moved) == [("garcíalópezana_12346", "s2", "ch02"), ("obrienseán_12345", "s1", "ch02")]
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["s1", "s2"]
    assert b"ana ch02" in filed(course)["s2", "ch02"]
    assert got.missing == {"ch03": ["s2", "s3", "s4", "s5"]}  # the moved ch02 is in the course; the collect was ch03's
    assert "moved submitted/obrienseán_12345/ch02 to submitted/s1/ch02: the roster says it is s1's" in got.report()


def test_a_move_onto_a_different_notebook_is_held_and_loses_nothing(tmp_path, roster):
    course = tmp_path / "course"
    collect(export(tmp_path / "first", {"Seán O'Brien_1001_assignsubmission_file_ch02.ipynb":
                                        notebook(text="under roster id")}), course, roster=roster)
    collect(export(tmp_path / "second", {"obrienseán_12345_900001_ch02.ipynb": notebook(text="under canvas name")}),
            course)
    before = [tree_digest(course / "submitted" / f) for f in ("s1", "obrienseán_12345")]
    got = collect(export(tmp_path / "third", {"Bo Lee_1002_assignsubmission_file_ch02.ipynb": notebook()}), course,
                  roster=roster)
    (held,) = got.held
    assert held.who == "s1" and "hold different notebooks" in held.why and "by hand" in held.todo
    assert [tree_digest(course / "submitted" / f) for f in ("s1", "obrienseán_12345")] == before
    assert pairs(got) == [("s5", "ch02")]


def test_a_different_notebook_with_no_order_to_compare_is_held_until_picked(tmp_path, roster):
    course = tmp_path / "course"
    collect(export(tmp_path / "first", {"obrienseán_12345_900001_ch02.ipynb": notebook(text="canvas")}), course)
    second = export(tmp_path / "second", {"Seán O'Brien_1001_assignsubmission_file_ch02.ipynb": notebook(text="moodle")})
    got = collect(second, course, roster=roster)
    assert got.moved == [("obrienseán_12345", "s1", "ch02")]  # the earlier folder joins the roster id ...
    (held,) = got.held                                          # ... and Moodle gives no order to compare with
    assert "neither has an LMS order" in held.why and "--pick FILE" in held.todo
    assert b"canvas" in filed(course)["s1", "ch02"]
    picked = collect(second, course, roster=roster, picks=["Seán O'Brien_1001_assignsubmission_file_ch02.ipynb"])
    (_, _, _, why, saved), = picked.replaced
    assert why == "picked with --pick" and b"canvas" in (saved / "exercise.ipynb").read_bytes()
    assert sorted(filed(course)) == [("s1", "ch02")] and b"moodle" in filed(course)["s1", "ch02"]


# --- dry run and the command line -------------------------------------------------------------------------

def test_a_dry_run_prints_the_plan_and_writes_nothing(tmp_path, roster, capsys):
    lms = export(tmp_path / "lms", {"obrienseán_12345_900001_ch02.ipynb": notebook(),
                                    "Dropout ch02_asmith_attempt_2026-10-05-23-30-00_ch02.ipynb": notebook(text="a")})
    course = tmp_path / "course"
    cli.main(["collect", str(lms), "--course", str(course), "--roster", str(roster), "--dry-run"])  # exits 0
    out = capsys.readouterr().out
    assert "dry run" in out and "s1 (canvas obrienseán_12345, roster by name) ch02 <- obrienseán_12345_900001" in out
    assert "s4 (blackboard asmith, roster by id or email login) ch02" in out and "time:" in out
    assert not course.exists()


def test_the_command_exits_non_zero_with_what_to_do_when_anything_is_held(tmp_path, capsys):
    lms = export(tmp_path / "lms", {"bob/ch02.ipynb": notebook(text="1"), "bob/ch02 (2).ipynb": notebook(text="2"),
                                    "alice/ch02.ipynb": notebook()})
    os.utime(lms / "bob" / "ch02.ipynb", (1_000_000, 1_000_000))
    with pytest.raises(SystemExit) as stop:
        cli.main(["collect", str(lms), "--course", str(tmp_path / "course")])
    assert "not everything was collected" in str(stop.value.code) and "--pick FILE" in str(stop.value.code)
    out = capsys.readouterr().out
    assert "held bob/ch02: 2 different notebooks" in out and "collected 1 notebook(s)" in out


def test_the_command_succeeds_when_everything_was_collected(tmp_path, capsys):
    lms = export(tmp_path / "lms", {"alice/ch02.ipynb": notebook()})
    cli.main(["collect", str(lms), "--course", str(tmp_path / "course")])
    assert "collected 1 notebook(s) from 1 student(s)" in capsys.readouterr().out


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["collect", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--assignment", "--roster", "--allow-unmatched", "--pick", "--latest", "--dry-run",
                   "--timestamps", "canvas_id", "moodle_id", "blackboard_login", "gradescope_sid", "[lms] timezone"):
        assert option in text


def test_an_export_split_between_assignments_replaces_nothing_it_cannot_place(tmp_path):
    course = tmp_path / "course"
    collect(export(tmp_path / "ch02", {"smithann_1_800001_ch02.ipynb": notebook("ch02", "graded ch02")}), course)
    split = {"smithann_1_800010_mine.ipynb": notebook("ch02", "stray ch02"),
             "leebo_2_800011_a.ipynb": notebook("ch03", "bo's ch03")}
    got = collect(export(tmp_path / "mixed", split), course)
    (held,) = got.held  # the rest of its export (Bo) is ch03
    assert "came in an LMS export of ch03" in held.why and "--assignment ch02" in held.todo
    assert b"graded ch02" in filed(course)["smithann_1", "ch02"] and ("leebo_2", "ch03") in pairs(got)


def test_a_time_for_a_held_submission_waits_and_the_class_is_collected(tmp_path):
    lms = export(tmp_path / "lms", {"bob/ch02.ipynb": notebook(text="1"), "bob/ch02 (2).ipynb": notebook(text="2"),
                                    "alice/ch02.ipynb": notebook()})
    times = tmp_path / "times.csv"
    times.write_text("student,assignment,submitted_at\nbob,ch02,2026-10-05T20:00:00+02:00\n"
                     "alice,ch02,2026-10-05T21:00:00+02:00\n")
    got = collect(lms, tmp_path / "course", timestamps=times)
    assert pairs(got) == [("alice", "ch02")] and info(tmp_path / "course", "alice", "ch02").source == "timestamps.csv"
    assert any("line 2: bob/ch02 is held" in note for note in got.notes)


def test_a_dry_run_shows_moves_and_replacements_it_would_make(tmp_path, roster):
    course = tmp_path / "course"
    collect(export(tmp_path / "first", {"obrienseán_12345_900001_ch02.ipynb": notebook(text="v1")}), course)
    before = tree_digest(course)
    got = collect(export(tmp_path / "second", {"obrienseán_12345_900002_ch02.ipynb": notebook(text="v2")}), course,
                  "ch02", roster=roster, dry_run=True)
    assert "move submitted/obrienseán_12345/ch02 to submitted/s1/ch02" in got.planned
    assert any("replaces the earlier copy: a newer submission by Canvas attachment id" in line for line in got.planned)
    assert tree_digest(course) == before and len(got) == 0


def test_two_earlier_folders_of_one_student_never_merge(tmp_path, roster):
    course = tmp_path / "course"
    collect(export(tmp_path / "a", {"obrienseán_12345_900001_ch02.ipynb": notebook(text="from canvas")}), course)
    collect(export(tmp_path / "b", {"Seán O'Brien_1001_assignsubmission_file_ch02.ipynb": notebook(text="moodle")}),
            course)
    assert sorted(filed(course)) == [("Seán_O_Brien_1001", "ch02"), ("obrienseán_12345", "ch02")]
    got = collect(export(tmp_path / "c", {"obrienseán_12345_900009_ch02.ipynb": notebook(text="newest")}), course,
                  roster=roster)
    (held,) = got.held
    assert held.who == "s1" and held.files == ("obrienseán_12345_900009_ch02.ipynb",)
    assert "hold different notebooks" in held.why
    kept = sorted(data for data in filed(course).values())
    assert len(kept) == 2 and any(b"from canvas" in d for d in kept) and any(b"moodle" in d for d in kept)


def test_the_course_file_accepts_the_lms_time_zone(tmp_path):
    from autograder.course.deadlines import load_course_file

    path = tmp_path / "course.toml"
    path.write_text('[due]\nch02 = 2026-10-05T23:59:00-04:00\n[lms]\ntimezone = "America/New_York"\n')
    assert load_course_file(path).lms_timezone == ZoneInfo("America/New_York")
    path.write_text("[due]\nch02 = 2026-10-05T23:59:00-04:00\n")
    assert load_course_file(path).lms_timezone is None
