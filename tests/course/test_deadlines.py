"""Due dates, extensions and late penalties: the course file, the penalty's edge cases, and where it shows.

Everything is built in ``tmp_path`` from hand-made rows and course files; nothing is graded.
"""
from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder.course import submission_info
from autograder.collect import CollectError, collect
from autograder.export.export_all import export_all, load_policy, penalised
from autograder.course.deadlines import (CourseFileError, LateRule, Penalty, Policy, load_course_file, penalty,
                                  show_duration, with_penalties)
from autograder.export.grades import export, row_total
from autograder.feedback.pages import feedback
from autograder.course.layout import Course
from autograder.course.submission_info import SubmissionInfo

CEST = timezone(timedelta(hours=2))
DUE = datetime(2026, 10, 5, 23, 59, tzinfo=CEST)
COURSE_FILE = """\
[due]
ch02 = 2026-10-05T23:59:00+02:00
ch03 = "2026-10-12T23:59:00+02:00"

[extensions]
"Ann_Smith_1001" = { ch02 = "2026-10-07T23:59:00+02:00" }
bob = { ch03 = 2 }

[late]
per_day = 0.10
max = 0.5
grace_minutes = 15
after_max = "cap"

[canvas]
assignment_ids = { ch02 = 4321 }
"""


def policy(**late) -> Policy:
    rule = {"per_day": 0.1, "max": 0.5, "grace_minutes": 15, "after_max": "cap", **late}
    return Policy(due={"ch02": DUE}, late=LateRule(**rule),
                  extensions={("ann", "ch02"): DUE + timedelta(days=2), ("bob", "ch02"): timedelta(days=1)})


def late(**delta) -> datetime:
    return DUE + timedelta(**delta)


# --- the penalty of one submission --------------------------------------------------------------

@pytest.mark.parametrize("submitted,fraction,days", [
    (late(seconds=0), 0.0, 0),                       # exactly on time
    (late(seconds=-1), 0.0, 0),
    (late(minutes=15), 0.0, 0),                      # the last second of the grace period
    (late(minutes=15, seconds=1), 0.1, 1),           # past it: lateness counts from the due date
    (late(days=1), 0.1, 1),
    (late(days=1, seconds=1), 0.2, 2),               # a started day counts as a day
    (late(days=2, hours=3), 0.3, 3),
    (late(days=5), 0.5, 5),                          # at the cap
    (late(days=9), 0.5, 9),                          # past it: capped
])
def test_penalty_per_started_day_after_the_grace_period(submitted, fraction, days):
    found = penalty(policy(), "zoe", "ch02", submitted, "gradescope")
    assert (found.fraction, found.days_late, found.flag) == (pytest.approx(fraction), days, None)


def test_one_second_late_without_grace_costs_a_day_and_says_so():
    found = penalty(policy(grace_minutes=0), "zoe", "ch02", late(seconds=1), "timestamps.csv")
    assert found == Penalty(0.1, 1, "submitted 1 second late: -10% (1 day at 10%)")


def test_the_reason_names_the_lateness_and_the_percentage():
    assert penalty(policy(), "zoe", "ch02", late(days=2, hours=3), "gradescope").reason == \
        "submitted 2 days 3 hours late: -30% (3 days at 10%)"
    inside = penalty(policy(), "zoe", "ch02", late(minutes=10), "gradescope")
    assert inside.fraction == 0 and "within the 15-minute grace period" in inside.reason


def test_late_means_past_the_grace_period_whatever_the_rate():
    """The one rule of "is this late" that `deadlines` counts by and export charges by."""
    assert not penalty(policy(), "zoe", "ch02", late(minutes=11), "gradescope").late
    assert not penalty(policy(), "zoe", "ch02", late(seconds=0), "gradescope").late
    assert penalty(policy(), "zoe", "ch02", late(minutes=15, seconds=1), "gradescope").late
    assert penalty(policy(per_day=0.0), "zoe", "ch02", late(hours=2), "gradescope").late  # late, though free
    assert not penalty(policy(), "zoe", "ch02", None, None).late


def test_deadlines_counts_a_submission_within_the_grace_period_as_on_time(tmp_path, capsys):
    from autograder import cli

    course = tmp_path / "course"
    for student, minutes in (("ann", 11), ("bob", 20), ("cat", -5)):
        path = Course(course).submitted_notebook(student, "ch02")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        submission_info.write(Course(course).submission_info(student, "ch02"),
                              SubmissionInfo(late(minutes=minutes), "gradescope"))
    (course / "course.toml").write_text("[due]\nch02 = 2026-10-05T23:59:00+02:00\n"
                                        "[late]\nper_day = 0.1\ngrace_minutes = 15\n")
    cli.main(["deadlines", "--course", str(course)])
    out = capsys.readouterr().out
    assert "submissions with a due date: 2 on time (1 within the grace period), 1 late, 0 unknown time" in out
    assert "ann/ch02: submitted 11 minutes late, within the 15-minute grace period: no penalty" in out


def test_after_max_zero_takes_everything_only_past_the_cap():
    at_cap = penalty(policy(after_max="zero"), "zoe", "ch02", late(days=5), "gradescope")
    past = penalty(policy(after_max="zero"), "zoe", "ch02", late(days=5, seconds=1), "gradescope")
    assert at_cap.fraction == pytest.approx(0.5)
    assert past.fraction == 1.0 and "no points" in past.reason and past.days_late == 6


def test_extensions_move_the_due_date():
    assert penalty(policy(), "ann", "ch02", late(days=2), "gradescope").fraction == 0  # a new date
    extended = penalty(policy(), "ann", "ch02", late(days=2, hours=1), "gradescope")
    assert extended.fraction == pytest.approx(0.1) and "extended due date 2026-10-07 23:59" in extended.reason
    assert penalty(policy(), "bob", "ch02", late(hours=23), "gradescope").fraction == 0  # one day more
    assert penalty(policy(), "bob", "ch02", late(days=1, hours=1), "gradescope").fraction == pytest.approx(0.1)
    assert penalty(policy(), "zoe", "ch02", late(hours=1), "gradescope").fraction == pytest.approx(0.1)


def test_no_due_date_no_penalty_and_no_flag():
    assert penalty(policy(), "zoe", "ch05", late(days=30), "gradescope") == Penalty()


def test_a_missing_time_is_flagged_and_costs_nothing():
    found = penalty(policy(), "zoe", "ch02", None, None)
    assert found.fraction == 0 and "no submission time known" in found.flag


@pytest.mark.parametrize("source,words", [("file-mtime", "only the file's own time"),
                                          ("canvas-late-marker", "Canvas marks this submission LATE")])
def test_file_times_decide_nothing_unless_trusted(source, words):
    untrusted = penalty(policy(), "zoe", "ch02", late(days=3), source)
    assert untrusted.fraction == 0 and words in untrusted.flag
    trusted = penalty(policy(trust_file_times=True), "zoe", "ch02", late(days=3), source)
    assert trusted.fraction == pytest.approx(0.3) and trusted.flag is None


def test_durations_read_as_words():
    assert show_duration(timedelta(days=2, hours=3, minutes=4)) == "2 days 3 hours 4 minutes"
    assert show_duration(timedelta(days=2, minutes=31, seconds=9)) == "2 days 31 minutes"
    assert show_duration(timedelta(minutes=1, seconds=5)) == "1 minute"
    assert show_duration(timedelta(seconds=1)) == "1 second"


# --- the course file ----------------------------------------------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_course_file_loads(tmp_path):
    loaded = load_course_file(write(tmp_path, COURSE_FILE))
    assert loaded.due["ch03"] == datetime(2026, 10, 12, 23, 59, tzinfo=CEST)
    assert loaded.extensions["bob", "ch03"] == timedelta(days=2)
    assert loaded.extensions["Ann_Smith_1001", "ch02"] == DUE + timedelta(days=2)
    assert loaded.late == LateRule(0.1, 0.5, "cap", 15.0, False) and loaded.canvas_ids == {"ch02": 4321}


@pytest.mark.parametrize("text,message", [
    ("[due]\nch02 = 2026-10-05T23:59:00+02:00\nch9 = 2026-10-05T23:59:00+02:00\n",
     "line 3: due.ch9: unknown assignment"),
    ("[due]\nch02 = 2026-10-05T23:59:00\n", "line 2: due.ch02: 2026-10-05T23:59:00 has no timezone"),
    ("[due]\nch02 = 2026-10-05\n", "line 2: due.ch02: 2026-10-05 is a date without a time"),
    ("[due]\nch02 = \"next monday\"\n", "line 2: due.ch02: 'next monday' is not a date and time"),
    ("[late]\nper_day = -0.1\n", "line 2: late.per_day: -0.1 is negative"),
    ("[late]\nper_day = 10\n", "late.per_day: 10 is more than 1"),
    ("[late]\nmax = \"half\"\n", "late.max: 'half' is not a number"),
    ("[late]\n\n\nafter_max = \"drop\"\n", "line 4: late.after_max: 'drop': choose \"cap\" or \"zero\""),
    ("[late]\npenalty = 0.1\n", "line 2: late.penalty: unknown key"),
    ("deadline = 1\n", "line 1: deadline: unknown key"),
    ("[due]\nch02 = 2026-10-05T23:59:00+02:00\n[extensions]\nann = { ch03 = 2 }\n",
     "line 4: extensions.ann: ch03 has no due date"),
    ("[due]\nch02 = 2026-10-05T23:59:00+02:00\n[extensions]\nann = { ch02 = -1 }\n",
     "extensions.ann: ch02: -1 days is negative"),
    ("[due]\nch02 = 2026-10-05T23:59:00+02:00\n[extensions]\nann = { ch99 = 1 }\n",
     "extensions.ann: unknown assignment 'ch99'"),
    ("[canvas]\nassignment_ids = { ch02 = \"x\" }\n", "line 2: canvas.assignment_ids: ch02: 'x' is not a Canvas id"),
    ("[due\n", "is not valid TOML"),
])
def test_a_bad_course_file_names_the_key_and_line(tmp_path, text, message):
    with pytest.raises(CourseFileError) as err:
        load_course_file(write(tmp_path, text))
    assert message in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path):
    with pytest.raises(CourseFileError) as err:
        load_course_file(write(tmp_path, "[due]\nch9 = 1\n[late]\nper_day = -1\nmax = 2\n"))
    assert [line.split(":")[0].strip() for line in str(err.value).splitlines()[1:]] == ["line 2", "line 4", "line 5"]


def test_a_course_folder_without_a_course_file_has_no_policy_but_a_named_one_must_exist(tmp_path):
    assert load_policy(tmp_path) is None
    with pytest.raises(CourseFileError, match="cannot read"):
        load_policy(tmp_path, tmp_path / "missing.toml")


# --- where the penalty shows: totals, CSV, JSON, feedback ---------------------------------------

def row(student="zoe", score=8.0, **extra) -> dict:
    return {"student": student, "assignment": "ch02", "sha256": "0" * 64, "score": score, "max_score": 10.0,
            "functions": {"f": {"points": score, "max_points": 10, "reason": "lost points"}}, **extra}


def test_row_total_takes_the_penalty_from_the_points_earned_and_keeps_the_maximum():
    base = row(written={"q1": {"points": 2.0, "max_points": 2}})
    assert row_total(base) == (10.0, 12.0)
    assert row_total({**base, "late_penalty": Penalty(0.2, 2, "submitted 2 days late: -20%")}) == (8.0, 12.0)
    assert row_total({**base, "late_penalty": Penalty()}) == (10.0, 12.0)


def test_with_penalties_copies_rows_and_flags_unknown_times():
    rows = [row("zoe"), row("yan")]
    times = {("zoe", "ch02"): (late(days=2, hours=3), "gradescope")}
    shown = with_penalties(policy(), rows, times)
    assert "late_penalty" not in rows[0]  # the rows given are not changed
    assert shown[0]["late_penalty"].fraction == pytest.approx(0.3) and shown[0]["flags"] == []
    assert shown[1]["late_penalty"].fraction == 0 and "no submission time known" in shown[1]["flags"][0]
    assert with_penalties(None, rows, times) == rows


def test_the_csv_json_and_feedback_show_the_penalty_as_its_own_line(tmp_path):
    rows = with_penalties(policy(), [row("zoe")], {("zoe", "ch02"): (late(days=1, hours=2), "gradescope")})
    paths = export(rows, tmp_path / "export")
    with paths["csv"].open(newline="") as fh:
        lines = list(csv.DictReader(fh))
    penalty_line, = [line for line in lines if line["function"] == "late_penalty"]
    assert float(penalty_line["points"]) == pytest.approx(-1.6)
    assert penalty_line["reason"] == "submitted 1 day 2 hours late: -20% (2 days at 10%)"
    assert [float(line["student_total"]) for line in lines] == [pytest.approx(6.4)] * 2
    summary = json.loads(paths["json"].read_text())
    assert summary[0]["total"] == pytest.approx(6.4)
    assert summary[0]["assignments"]["ch02"]["late_penalty"]["points"] == pytest.approx(-1.6)
    page, = feedback(rows, tmp_path / "course", tmp_path / "fb")
    text = page.read_text()
    assert "submitted 1 day 2 hours late: -20% (2 days at 10%)" in text and "-1.6 points" in text and "6.4 / 10" in text


def test_an_on_time_submission_has_no_penalty_line(tmp_path):
    rows = with_penalties(policy(), [row("zoe")], {("zoe", "ch02"): (late(minutes=-5), "gradescope")})
    with export(rows, tmp_path / "export")["csv"].open(newline="") as fh:
        assert [line["function"] for line in csv.DictReader(fh)] == ["f"]


# --- times recorded at collect, and read back at export -----------------------------------------

GRADESCOPE = """\
submission_111:
  :submitters:
  - :name: Ann Smith
    :sid: '1001'
    :email: ann@uni.edu
  :created_at: 2026-10-07 10:00:00.000000000 +02:00
"""


def test_collect_records_the_time_and_its_source(tmp_path):
    lms = tmp_path / "lms"
    (lms / "submission_111").mkdir(parents=True)
    (lms / "submission_111" / "ch02.ipynb").write_text("{}")
    (lms / "submission_metadata.yml").write_text(GRADESCOPE)
    got = collect(lms, tmp_path / "course", "ch02")
    (student, _, _), = got
    info = submission_info.read(tmp_path / "course", student, "ch02")
    assert info.submitted_at == datetime(2026, 10, 7, 10, 0, tzinfo=CEST) and info.source == "gradescope"
    assert (info.lms, info.lms_id, info.email, info.name) == ("gradescope", "1001", "ann@uni.edu", "Ann Smith")


def test_canvas_late_marker_and_file_times_are_recorded_as_such(tmp_path):
    lms = tmp_path / "lms"
    lms.mkdir()
    (lms / "smithann_LATE_12345_678901_ch02.ipynb").write_text("{}")
    (lms / "jonesbo_12346_678902_ch02.ipynb").write_text('{"x": 1}')
    collect(lms, tmp_path / "course")
    late_one = submission_info.read(tmp_path / "course", "smithann_12345", "ch02")
    plain = submission_info.read(tmp_path / "course", "jonesbo_12346", "ch02")
    assert (late_one.source, late_one.lms, late_one.lms_id) == ("canvas-late-marker", "canvas", "12345")
    assert plain.source == "file-mtime" and plain.submitted_at is not None


def test_a_times_csv_overrides_the_export_and_survives_a_recollect_of_the_same_notebook(tmp_path):
    lms = tmp_path / "lms"
    (lms / "alice").mkdir(parents=True)
    (lms / "alice" / "ch02.ipynb").write_text("{}")
    times = tmp_path / "times.csv"
    times.write_text("student,assignment,submitted_at\nAlice,ch02,2026-10-06T08:00:00+02:00\n")
    collect(lms, tmp_path / "course", timestamps=times)
    expected = (datetime(2026, 10, 6, 8, 0, tzinfo=CEST), "timestamps.csv")
    info = submission_info.read(tmp_path / "course", "alice", "ch02")
    assert (info.submitted_at, info.source) == expected
    collect(lms, tmp_path / "course")  # again, without the CSV: the instructor's time stays
    info = submission_info.read(tmp_path / "course", "alice", "ch02")
    assert (info.submitted_at, info.source) == expected
    (lms / "alice" / "ch02.ipynb").write_text('{"changed": true}')
    collect(lms, tmp_path / "course")  # a new notebook: its own time
    assert submission_info.read(tmp_path / "course", "alice", "ch02").source == "file-mtime"


@pytest.mark.parametrize("text,words", [
    ("student,assignment\nalice,ch02\n", "no column submitted_at"),
    ("student,assignment,submitted_at\nalice,ch02,2026-10-06T08:00:00\n", "line 2: submitted_at"),
    ("student,assignment,submitted_at\nalice,ch9,2026-10-06T08:00:00+02:00\n", "line 2: unknown assignment 'ch9'"),
    ("student,assignment,submitted_at\nalcie,ch02,2026-10-06T08:00:00+02:00\n", "no submission of 'alcie' for ch02"),
])
def test_a_bad_times_csv_stops_the_collect_and_copies_nothing(tmp_path, text, words):
    lms = tmp_path / "lms"
    (lms / "alice").mkdir(parents=True)
    (lms / "alice" / "ch02.ipynb").write_text("{}")
    times = tmp_path / "times.csv"
    times.write_text(text)
    with pytest.raises(CollectError, match=words):
        collect(lms, tmp_path / "course", timestamps=times)
    assert not (tmp_path / "course" / "submitted").exists()


def test_export_applies_the_course_file_at_once_and_never_stores_it(tmp_path):
    course = tmp_path / "course"
    info = SubmissionInfo(late(days=2, hours=3), "gradescope", lms="gradescope", lms_id="1001")
    Course(course).submission_info("zoe", "ch02").parent.mkdir(parents=True)
    submission_info.write(Course(course).submission_info("zoe", "ch02"), info)
    rows = [row("zoe")]
    write(course, "[due]\nch02 = 2026-10-05T23:59:00+02:00\n[late]\nper_day = 0.1\n")
    assert row_total(penalised(rows, course, load_policy(course))[0])[0] == pytest.approx(8.0 * 0.7)
    write(course, "[due]\nch02 = 2026-10-05T23:59:00+02:00\n[late]\nper_day = 0.25\nmax = 0.5\n")
    paths, _ = export_all(rows, course, tmp_path / "export")
    assert json.loads(paths["json"].read_text())[0]["total"] == pytest.approx(4.0)
    assert "late_penalty" not in rows[0]
