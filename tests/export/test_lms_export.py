"""The LMS import files (Canvas, Moodle, Gradescope) and the roster's missing students, on hand-made rows.

Headers are compared with the LMSs' own (Canvas's gradebook export/import, Moodle's offline grading
worksheet as ``mod/assign/gradingtable.php`` writes it, Gradescope's "Download Grades" CSV), and the
files are read back the way those importers read them. Nothing is graded.
"""
from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder import cli
from autograder.course import submission_info
from autograder.export.missing_rows import add_missing, full_marks
from autograder.export.export_all import export_all
from autograder.course.gradebook import Gradebook, default_url
from autograder.course.layout import Course
from autograder.export.lms_files import split_name
from autograder.release.sources import points_by_function, written_points
from autograder.course.submission_info import SubmissionInfo

CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
                 "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
GRADESCOPE_HEADER = ["First Name", "Last Name", "SID", "Email", "Sections", "Total Score", "Max Points", "Status",
                     "Submission ID", "Submission Time", "Lateness (H:M:S)", "View Count", "Submission Count"]
CEST = timezone(timedelta(hours=2))
NOW = datetime(2026, 11, 1, 9, 30, tzinfo=CEST)


def row(student: str, assignment: str = "ch02", score: float = 3.0, maximum: float = 4.0, **extra) -> dict:
    return {"student": student, "assignment": assignment, "sha256": "0" * 64, "score": score, "max_score": maximum,
            "functions": {"f_one": {"points": score - 1, "max_points": maximum - 1, "reason": "lost"},
                          "f_two": {"points": 1.0, "max_points": 1, "reason": ""}}, "flags": [], **extra}


def roster(tmp_path: Path, lines: str) -> Path:
    path = tmp_path / "class.csv"
    path.write_text("id,name,email\n" + lines, encoding="utf-8")
    return path


def record(course: Path, student: str, assignment: str, **info) -> None:
    path = Course(course).submission_info(student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    submission_info.write(path, SubmissionInfo(**info))


def read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def dicts(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def exported(tmp_path):
    """ann handed in ch02 and ch03 (from Moodle), bob ch02 (from Canvas), cat nothing; dan is not on the roster."""
    course = tmp_path / "course"
    record(course, "ann", "ch02", submitted_at=datetime(2026, 10, 5, 20, 0, tzinfo=CEST), source="timestamps.csv",
           lms="moodle", lms_id="1001")
    record(course, "bob", "ch02", source="canvas-late-marker", lms="canvas", lms_id="12345")
    rows = [row("ann"), row("ann", "ch03", 5.0, 6.0), row("bob", score=2.0), row("dan", score=4.0)]
    class_list = roster(tmp_path, "ann,Ann Smith,ann@uni.edu\nbob,\"Jones, Bob\",bob@uni.edu\n"
                                  "cat,Cat Lee,cat@uni.edu\n")
    paths, warnings = export_all(rows, course, tmp_path / "export", roster=class_list, now=NOW)
    return paths, warnings


# --- headers as the LMSs write and read them ----------------------------------------------------------

def test_canvas_file_has_canvas_columns_and_the_points_possible_row(exported):
    paths, _ = exported
    lines = read(paths["canvas"])
    assert lines[0] == CANVAS_HEADER + ["ch02", "ch03"]
    assert lines[1][0].strip() == "Points Possible" and lines[1][1:] == ["", "", "", "", "4", "6"]
    by_name = {line[0]: line for line in lines[2:]}
    assert by_name["Jones, Bob"] == ["Jones, Bob", "12345", "bob", "", "", "2", "0"]  # Canvas id from the LMS
    assert by_name["Cat Lee"][5:] == ["0", "0"] and by_name["Ann Smith"][5:] == ["3", "5"]
    assert by_name["dan"][2] == "" and by_name["dan"][5:] == ["4", ""]  # not on the roster: kept, no ch03 row


def canvas_import(path: Path) -> dict:
    """What Canvas's GradebookImporter takes from the file: student key -> {assignment title: grade}."""
    lines = read(path)
    header = lines[0]
    assert len(header) > 3 and re.search("Student", header[0]) and re.search("ID", header[1])
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    assert re.search("Section", header[4])  # the last student column must be the section
    titles = [re.sub(r"\s*\(\d+\)$", "", title) for title in header[5:]]
    grades, possible = {}, {}
    for line in lines[1:]:
        if re.search("Points Possible", line[0]):
            possible = dict(zip(titles, line[5:]))
            continue
        grades[line[1] or line[2] or line[0]] = dict(zip(titles, line[5:]))
    return {"grades": grades, "possible": possible}


def test_canvas_reads_back_every_student_and_score(exported):
    paths, _ = exported
    read_back = canvas_import(paths["canvas"])
    assert read_back["possible"] == {"ch02": "4", "ch03": "6"}
    assert read_back["grades"] == {"ann": {"ch02": "3", "ch03": "5"}, "12345": {"ch02": "2", "ch03": "0"},
                                   "cat": {"ch02": "0", "ch03": "0"}, "dan": {"ch02": "4", "ch03": ""}}


def test_canvas_assignment_ids_from_the_course_file_title_the_columns(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "course.toml").write_text("[canvas]\nassignment_ids = { ch02 = 98765 }\n")
    paths, _ = export_all([row("ann"), row("ann", "ch03")], course, tmp_path / "export", now=NOW)
    assert read(paths["canvas"])[0][5:] == ["ch02 (98765)", "ch03"]


def test_moodle_worksheet_has_moodles_columns_one_file_per_assignment(exported):
    paths, warnings = exported
    assert {kind for kind in paths if kind.startswith("moodle")} == {"moodle ch02", "moodle ch03"}
    lines = dicts(paths["moodle ch02"])
    assert list(lines[0]) == MOODLE_HEADER
    ann = next(line for line in lines if line["Full name"] == "Ann Smith")
    assert ann["Identifier"] == "Participant 1001" and ann["Email address"] == "ann@uni.edu"
    assert (ann["Status"], ann["Grade"], ann["Maximum Grade"], ann["Grade can be changed"]) == \
        ("Submitted for grading", "3.00", "4.00", "Yes")
    assert datetime.strptime(ann["Last modified (grade)"], "%A, %d %B %Y, %I:%M %p")  # Moodle's own format
    cat = next(line for line in lines if line["Full name"] == "Cat Lee")
    assert (cat["Status"], cat["Grade"], cat["Feedback comments"], cat["Last modified (submission)"]) == \
        ("No submission", "0.00", "no submission", "")
    assert any("moodle_ch02.csv: no Moodle participant number for bob, cat, dan" in w for w in warnings)


def test_moodle_reads_back_the_rows_it_can_match(exported):
    """Moodle's offline importer: columns found by name, rows matched by 'Participant <number>' only."""
    paths, _ = exported
    lines = read(paths["moodle ch02"])
    header = lines[0]
    grade, ident, modified = header.index("Grade"), header.index("Identifier"), header.index("Last modified (grade)")
    matched = {line[ident].removeprefix("Participant "): line[grade] for line in lines[1:]
               if re.fullmatch(r"Participant \d+", line[ident]) and line[modified]}
    assert matched == {"1001": "3.00"}


def test_gradescope_file_has_gradescopes_columns_and_one_per_question(exported):
    paths, _ = exported
    lines = dicts(paths["gradescope ch02"])
    assert list(lines[0])[:13] == GRADESCOPE_HEADER
    assert list(lines[0])[13:] == ["1: f_one (3.0 pts)", "2: f_two (1.0 pts)"]
    bob = next(line for line in lines if line["SID"] == "bob")
    assert (bob["First Name"], bob["Last Name"], bob["Email"], bob["Total Score"], bob["Max Points"]) == \
        ("Bob", "Jones", "bob@uni.edu", "2", "4")
    assert bob["Status"] == "Graded" and bob["1: f_one (3.0 pts)"] == "1" and bob["2: f_two (1.0 pts)"] == "1"
    cat = next(line for line in lines if line["SID"] == "cat")
    assert (cat["Status"], cat["Total Score"], cat["1: f_one (3.0 pts)"]) == ("Missing", "0", "")


@pytest.mark.parametrize("name,expected", [("Ann Smith", ("Ann", "Smith")), ("Smith, Ann", ("Ann", "Smith")),
                                           ("Ann Marie de Vries", ("Ann Marie de", "Vries")), ("Cher", ("Cher", ""))])
def test_names_split_for_gradescope(name, expected):
    assert split_name(name) == expected


# --- the roster: missing students and assignments ----------------------------------------------------

def test_a_roster_student_with_no_submission_gets_zero_and_the_reason_in_grades_csv(exported):
    paths, warnings = exported
    lines = dicts(paths["csv"])
    missing = [(line["student"], line["assignment"]) for line in lines if line["reason"] == "no submission"]
    assert missing == [("bob", "ch03"), ("cat", "ch02"), ("cat", "ch03")]
    cat = [line for line in lines if line["student"] == "cat"]
    assert [(line["points"], line["max_points"], line["student_total"], line["student_max"]) for line in cat] == \
        [("0", "4.0", "0.0", "10.0"), ("0", "6.0", "0.0", "10.0")]
    summary = {s["student"]: s for s in json.loads(paths["json"].read_text())}
    assert summary["cat"]["assignments"]["ch03"] == {"score": 0.0, "max_score": 6.0, "status": "no submission"}
    assert summary["bob"]["max_total"] == 10.0 and summary["dan"]["max_total"] == 4.0
    assert any("not on the roster" in w and "dan" in w for w in warnings)
    assert any("no submission: 3 notebook(s) of bob, cat" in w for w in warnings)


def test_assignments_nobody_handed_in_are_added_with_their_full_marks():
    rows = add_missing([row("ann")], ["ann", "bob"], ["ch04"])
    assert [(r["student"], r["assignment"], r.get("missing", False)) for r in rows] == [
        ("ann", "ch02", False), ("ann", "ch04", True), ("bob", "ch02", True), ("bob", "ch04", True)]
    ch04 = sum(points_by_function("ch04").values()) + sum(written_points("ch04").values())
    assert ch04 > 0 and rows[1]["max_score"] == ch04 and rows[2]["max_score"] == 4.0


def test_full_marks_count_written_answers_graded_or_not():
    written = {"q1": {"points": None, "max_points": 2}, "q2": {"points": 1.0, "max_points": 3}}
    assert full_marks([row("ann", written=written), row("bob")], "ch02") == 9.0


# --- nothing a name holds becomes a formula ------------------------------------------------------------

def test_no_cell_of_any_lms_file_starts_a_formula(tmp_path):
    course = tmp_path / "course"
    record(course, "=evil", "ch02", lms="moodle", lms_id="7", name="@SUM(A1)", email="-x@uni.edu")
    rows = [row("=evil"), row("+bob")]
    class_list = roster(tmp_path, "bob,\"=HYPERLINK(\"\"http://x\"\")\",bob@uni.edu\n")
    paths, _ = export_all(rows, course, tmp_path / "export", roster=class_list, now=NOW)
    cells = [cell for kind, path in paths.items() if path.suffix == ".csv" for line in read(path) for cell in line]
    dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")
                 or (cell.startswith("-") and not re.fullmatch(r"-[\d.]+", cell))]
    assert dangerous == []
    assert "'=HYPERLINK(\"http://x\")" in cells and "'@SUM(A1)" in cells and "'-x@uni.edu" in cells


# --- the late penalty reaches the LMS files --------------------------------------------------------------

def test_the_lms_files_carry_the_penalised_score_and_the_lateness(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "course.toml").write_text("[due]\nch02 = 2026-10-05T23:59:00+02:00\n[late]\nper_day = 0.25\n")
    record(course, "ann", "ch02", submitted_at=datetime(2026, 10, 6, 1, 59, 30, tzinfo=CEST), source="gradescope",
           lms="moodle", lms_id="1001")
    paths, _ = export_all([row("ann", score=4.0)], course, tmp_path / "export", now=NOW)
    assert read(paths["canvas"])[2][5] == "3"
    moodle, = dicts(paths["moodle ch02"])
    assert moodle["Grade"] == "3.00" and moodle["Feedback comments"] == \
        "3.00 / 4.00 — late penalty -1 point: submitted 2 hours late: -25% (1 day at 25%); all checks pass"
    gradescope, = dicts(paths["gradescope ch02"])
    assert gradescope["Total Score"] == "3" and gradescope["Lateness (H:M:S)"] == "02:00:30"


def test_a_scaled_moodle_comment_gives_the_grade_column_and_the_points_it_was_scaled_from(tmp_path):
    paths, _ = export_all([row("ann")], tmp_path / "course", tmp_path / "export", now=NOW, moodle_scale=100)
    moodle, = dicts(paths["moodle ch02"])
    assert (moodle["Grade"], moodle["Maximum Grade"]) == ("75.00", "100.00")
    assert moodle["Feedback comments"] == "75.00 / 100.00 (3 of 4 points) — f_one: lost"


# --- the command line ------------------------------------------------------------------------------------

def test_export_and_deadlines_commands(tmp_path, capsys):
    course = tmp_path / "course"
    course.mkdir()
    book = Gradebook(default_url(course))
    for student, score in (("ann", 3.0), ("bob", 1.0)):
        book.record({**row(student, score=score), "written": {}})
    record(course, "ann", "ch02", submitted_at=datetime(2026, 10, 8, 0, 30, tzinfo=CEST), source="gradescope")
    Course(course).submitted_notebook("ann", "ch02").write_text("{}")
    (course / "course.toml").write_text("[due]\nch02 = 2026-10-05T23:59:00+02:00\n[late]\nper_day = 0.1\n"
                                        "[extensions]\nannn = { ch02 = 1 }\n")
    class_list = roster(tmp_path, "ann,Ann Smith,ann@uni.edu\nbob,Bob Jones,bob@uni.edu\ncat,Cat Lee,\n")
    cli.main(["export", "--course", str(course), "--roster", str(class_list), "--assignments", "ch02"])
    out = capsys.readouterr().out
    assert "canvas_gradebook.csv" in out and "moodle_ch02.csv" in out and "0 points, no submission" in out
    assert (course / "export" / "lms" / "gradescope_ch02.csv").is_file()
    cli.main(["deadlines", "--course", str(course)])
    out = capsys.readouterr().out
    assert "ann/ch02: submitted 2 days 31 minutes late: -30% (3 days at 10%)" in out
    assert "extensions name students with no submission" in out and "annn" in out
    assert "late: -10% per started day" in out
    (course / "course.toml").write_text("[due]\nch02 = 2026-10-05T23:59:00+02:00\n")  # dates, no penalty
    cli.main(["deadlines", "--course", str(course)])
    out = capsys.readouterr().out
    assert "late: no penalty" in out and "-0%" not in out
    (course / "course.toml").write_text("[late]\nper_day = -1\n")
    with pytest.raises(SystemExit, match="line 2: late.per_day: -1 is negative"):
        cli.main(["export", "--course", str(course)])


# --- issue 19: exports that agree ------------------------------------------------------------------------

def test_gradescope_lateness_only_from_a_trusted_time(tmp_path):
    """A file's own time (Canvas's LATE marker, a file time) can be days off: no lateness from it, unless trusted."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "course.toml").write_text("[due]\nch02 = 2026-10-05T23:59:00+02:00\n")
    late = datetime(2026, 10, 9, 11, 0, tzinfo=CEST)
    record(course, "ann", "ch02", submitted_at=late, source="gradescope")
    record(course, "bob", "ch02", submitted_at=late, source="file-mtime")
    record(course, "cat", "ch02", submitted_at=late, source="canvas-late-marker")
    rows = [row("ann"), row("bob"), row("cat")]
    paths, _ = export_all(rows, course, tmp_path / "export", now=NOW)
    lateness = {line["SID"]: line["Lateness (H:M:S)"] for line in dicts(paths["gradescope ch02"])}
    assert lateness == {"ann": "83:01:00", "bob": "", "cat": ""}
    times = {line["SID"]: line["Submission Time"] for line in dicts(paths["gradescope ch02"])}
    assert times == {"ann": "2026-10-09 09:00:00 +0000", "bob": "", "cat": ""}  # nor a submission time
    (course / "course.toml").write_text("[due]\nch02 = 2026-10-05T23:59:00+02:00\n[late]\ntrust_file_times = true\n")
    paths, _ = export_all(rows, course, tmp_path / "export", now=NOW)
    assert {line["Lateness (H:M:S)"] for line in dicts(paths["gradescope ch02"])} == {"83:01:00"}


def test_moodle_worksheet_is_scaled_to_moodles_maximum_or_warned(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    rows = [row("ann", score=3.0), row("ann", "ch03", 5.0, 6.0)]
    paths, warnings = export_all(rows, course, tmp_path / "export", now=NOW)
    assert not any("raw points" in w for w in warnings)  # no one came from Moodle: no note about Moodle's scale
    for assignment in ("ch02", "ch03"):
        record(course, "ann", assignment, lms="moodle", lms_id="1001")
    paths, warnings = export_all(rows, course, tmp_path / "export", now=NOW)
    assert dicts(paths["moodle ch02"])[0]["Grade"] == "3.00"
    assert any("moodle_ch02.csv: grades are raw points out of 4" in w and "--moodle-scale 100" in w for w in warnings)
    paths, warnings = export_all(rows, course, tmp_path / "export", now=NOW, moodle_scale=100)
    ann = dicts(paths["moodle ch02"])[0]
    assert (ann["Grade"], ann["Maximum Grade"]) == ("75.00", "100.00")
    assert not any("raw points" in w for w in warnings)
    (course / "course.toml").write_text("[moodle]\nmax = { ch03 = 12 }\n")
    paths, warnings = export_all(rows, course, tmp_path / "export", now=NOW)
    assert (dicts(paths["moodle ch03"])[0]["Grade"], dicts(paths["moodle ch03"])[0]["Maximum Grade"]) == \
        ("10.00", "12.00")
    assert [w for w in warnings if "raw points" in w] == [w for w in warnings if w.startswith("moodle_ch02.csv")]
    (course / "course.toml").write_text("[moodle]\nmax = { ch03 = -5, ch99 = 10 }\n")
    with pytest.raises(ValueError, match=r"line 2: moodle.max: ch03: -5 is not a maximum grade"):
        export_all(rows, course, tmp_path / "export", now=NOW)


def test_pending_written_answers_refuse_the_export_unless_allowed(tmp_path, capsys):
    course = tmp_path / "course"
    course.mkdir()
    book = Gradebook(default_url(course))
    book.record({**row("ann"), "written": {"q1": {"points": None, "max_points": 2, "answer": "because"}}})
    book.record({**row("bob"), "written": {"q1": {"points": 1.0, "max_points": 2, "answer": "so"}}})
    with pytest.raises(SystemExit, match=r"1 written answer\(s\) still pending in ch02 \(1 submission\).*"
                                         r"Nothing was exported.*--allow-pending"):
        cli.main(["export", "--course", str(course)])
    assert not (course / "export").exists()
    cli.main(["export", "--course", str(course), "--allow-pending"])
    assert "WARNING: 1 written answer(s) still pending in ch02" in capsys.readouterr().err
    assert (course / "export" / "grades.csv").is_file()


def test_a_flag_every_submission_shares_is_said_once(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "course.toml").write_text("[due]\nch02 = 2026-10-05T23:59:00+02:00\n")
    rows = [row("ann"), row("bob", flags=["reaches for builtins"]), row("cat")]  # no submission times recorded
    paths, warnings = export_all(rows, course, tmp_path / "export", now=NOW)
    assert sum("ch02, every submission: no submission time known" in w for w in warnings) == 1
    lines = dicts(paths["csv"])
    said = [line for line in lines if "no submission time known" in line["flags"]]
    assert len(said) == 1 and said[0]["student"] == "(every submission)" and said[0]["assignment"] == "ch02"
    assert {line["flags"] for line in lines if line["student"] == "bob"} == {"reaches for builtins"}
    assert {line["flags"] for line in lines if line["student"] == "ann"} == {""}


# --- the Gradescope file: its submission ids, one offset, the notebook's order ----------------------------

def test_gradescope_file_gives_the_submission_id_collect_recorded(tmp_path):
    """Gradescope names each submission's folder ``submission_<id>``; collect keeps that path as export_file."""
    course = tmp_path / "course"
    record(course, "ann", "ch02", lms="gradescope", lms_id="S1", export_file="export/submission_271828/exercise.ipynb")
    record(course, "bob", "ch02", lms="moodle", lms_id="1001", export_file="Bob_1001_assignsubmission_file_x.ipynb")
    record(course, "cat", "ch02", lms="gradescope", lms_id="S3", export_file="submission_9/a/submission_8/x.ipynb")
    paths, _ = export_all([row("ann"), row("bob"), row("cat"), row("dan")], course, tmp_path / "export", now=NOW)
    ids = {line["SID"]: line["Submission ID"] for line in dicts(paths["gradescope ch02"])}
    assert ids == {"S1": "271828", "bob": "", "S3": "9", "dan": ""}  # without a roster the SID is Gradescope's


def test_gradescope_submission_times_are_all_in_utc(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "course.toml").write_text("[due]\nch02 = 2026-10-05T23:59:00+02:00\n")
    record(course, "ann", "ch02", submitted_at=datetime(2026, 10, 5, 20, 0, tzinfo=timezone.utc), source="gradescope")
    record(course, "bob", "ch02", submitted_at=datetime(2026, 10, 5, 20, 0, tzinfo=timezone(timedelta(hours=-4))),
           source="timestamps.csv")
    paths, _ = export_all([row("ann"), row("bob")], course, tmp_path / "export", now=NOW)
    times = {line["SID"]: line["Submission Time"] for line in dicts(paths["gradescope ch02"])}
    assert times == {"ann": "2026-10-05 20:00:00 +0000", "bob": "2026-10-06 00:00:00 +0000"}


def test_gradescope_questions_follow_the_notebook(tmp_path):
    """ch02's graded cells in the order the released notebook has them, written answers among them; a name the
    notebook no longer has goes last."""
    functions = {name: {"points": 1.0, "max_points": points, "reason": ""}
                 for name, points in sorted(points_by_function("ch02").items())}
    functions["zz_retired"] = {"points": 0.0, "max_points": 1, "reason": ""}
    written = {name: {"points": 1.0, "max_points": points, "answer": "so"}
               for name, points in sorted(written_points("ch02").items())}
    graded = {**functions, **written}
    course = tmp_path / "course"
    course.mkdir()
    paths, _ = export_all([row("ann", functions=functions, written=written)], course, tmp_path / "export", now=NOW)
    header = read(paths["gradescope ch02"])[0][len(GRADESCOPE_HEADER):]
    names = [re.fullmatch(r"\d+: (\S+) \(.*\)", column).group(1) for column in header]
    source = (Path(__file__).parents[2] / "solutions" / "exercises" / "ch02.md").read_text(encoding="utf-8")
    in_source = sorted((source.index(f":{name}:"), name) for name in graded if f":{name}:" in source)
    assert names == [name for _, name in in_source] + ["zz_retired"]
    assert names != sorted(names[:-1]) + ["zz_retired"]  # the notebook's order is not the alphabet's here
