"""Overrides on hand-made gradebook rows: set, remove, sheets all or nothing, the audit log, regrades, and where
the new score shows (export, LMS files, feedback). Nothing is graded."""
from __future__ import annotations

import csv
import json

import pytest

from autograder import cli
from autograder.export.export_all import export_all
from autograder.export.grades import export
from autograder.feedback.pages import feedback
from autograder.course.gradebook import Gradebook, default_url
from autograder.grade.overrides import OverrideError, change, import_sheets, listing

WRONG = "inverted_dropout_forward: kept units were multiplied by 1; with p_drop={p} they must be scaled by {s}"


def result(student: str, inverted_points: float = 1.0, p: float = 0.25, s: float = 1.333) -> dict:
    reason = "" if inverted_points == 3 else WRONG.format(p=p, s=s)
    return {"student": student, "assignment": "ch02", "sha256": "a" * 64, "score": 3.0 + inverted_points,
            "max_score": 6.0, "written": {},
            "functions": {"vanilla_dropout_forward": {"points": 3.0, "max_points": 3.0, "reason": ""},
                          "inverted_dropout_forward": {"points": inverted_points, "max_points": 3.0,
                                                       "reason": reason}}}


@pytest.fixture
def book(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    gradebook = Gradebook(default_url(course))
    for student in ("ann", "bob"):
        gradebook.record(result(student))
    return gradebook


def inverted(book, student="ann") -> dict:
    return next(r for r in book.rows() if r["student"] == student)["functions"]["inverted_dropout_forward"]


def test_an_override_changes_the_score_and_is_logged_with_old_and_new(book):
    change(book, "ann", "ch02", "inverted_dropout_forward", "2.5", "regrade: the check was too strict", "prof")
    ann = next(r for r in book.rows() if r["student"] == "ann")
    assert ann["score"] == 5.5 and ann["autograded_score"] == 4.0
    assert inverted(book)["points"] == 2.5 and inverted(book)["autograded_points"] == 1.0
    assert inverted(book)["override"]["reason"] == "regrade: the check was too strict"
    event, = book.override_log()
    assert (event["author"], event["old_points"], event["points"], event["action"]) == ("prof", 1.0, 2.5, "set")
    assert next(r for r in book.rows(overrides=False) if r["student"] == "ann")["score"] == 4.0  # stored as graded


def test_removing_goes_back_to_the_autograded_points_and_keeps_the_history(book):
    change(book, "ann", "ch02", "inverted_dropout_forward", "0", "copied from bob", "prof")
    change(book, "ann", "ch02", "inverted_dropout_forward", None, "wrong student", "prof")
    assert inverted(book)["points"] == 1.0 and "override" not in inverted(book)
    assert [(e["action"], e["old_points"]) for e in book.override_log()] == [("set", 1.0), ("remove", 0.0)]
    with pytest.raises(OverrideError, match="no override to remove"):
        change(book, "ann", "ch02", "inverted_dropout_forward", None, "again", "prof")


@pytest.mark.parametrize("student, function, points, reason, message", [
    ("cat", "inverted_dropout_forward", "1", "x", "no graded submission of 'cat' for 'ch02'"),
    ("ann", "inverted", "1", "x", "no graded function 'inverted'"),
    ("ann", "inverted_dropout_forward", "4", "x", "more than inverted_dropout_forward's maximum of 3"),
    ("ann", "inverted_dropout_forward", "-1", "x", "negative"),
    ("ann", "inverted_dropout_forward", "three", "x", "'three' is not a number"),
    ("ann", "inverted_dropout_forward", "nan", "x", "not a number"),
    ("ann", "inverted_dropout_forward", "2", "  ", "no reason"),
])
def test_bad_changes_are_refused_with_what_is_wrong(book, student, function, points, reason, message):
    with pytest.raises(OverrideError, match=message):
        change(book, student, "ch02", function, points, reason, "prof")
    assert book.override_log() == []


def sheet(tmp_path, text: str, name="overrides.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_sheet_imports_all_lines_or_none_naming_every_bad_line(book, tmp_path):
    bad = sheet(tmp_path, "student,assignment,function,points,reason\n"
                          "ann,ch02,inverted_dropout_forward,3,regrade\n"
                          "bob,ch02,inverted_dropout_forward,7,too many\n"
                          "\n"
                          "cat,ch02,inverted_dropout_forward,1,nobody\n"
                          "ann,ch02,inverted_dropout_forward,2,twice\n"
                          "bob,ch02,vanilla_dropout_forward,1,\n")
    with pytest.raises(OverrideError) as err:
        import_sheets([bad], book, "prof")
    text = str(err.value)
    assert "nothing was recorded; 4 problem(s)" in text
    assert f"{bad} line 3: points 7 is more than" in text and f"{bad} line 5: no graded submission of 'cat'" in text
    assert f"{bad} line 6: ann/ch02/inverted_dropout_forward again (already on {bad} line 2)" in text
    assert f"{bad} line 7: no reason" in text
    assert book.override_log() == []
    good = sheet(tmp_path, "\ufeffStudent;Assignment\n", "other.csv")  # wrong header: named, nothing recorded
    with pytest.raises(OverrideError, match="no column"):
        import_sheets([good], book, "prof")
    good = sheet(tmp_path, "student,assignment,function,points,reason,by\n"
                           "ann,ch02,inverted_dropout_forward,3,regrade,ta1\n"
                           "bob,ch02,vanilla_dropout_forward,0,copied,\n", "good.csv")
    assert len(import_sheets([good], book, "prof")) == 2
    assert [(e["student"], e["author"]) for e in book.override_log()] == [("ann", "ta1"), ("bob", "prof")]


def test_a_sheet_a_decimal_comma_spreadsheet_saved_imports(book, tmp_path):
    saved = tmp_path / "saved.csv"
    saved.write_bytes("\ufeffStudent;Assignment;Function;Points;Reason\r\n"
                      "ann;ch02;inverted_dropout_forward;2,5;\"regrade; mask test too strict\"\r\n;;;;\r\n"
                      .encode("utf-8"))
    event, = import_sheets([saved], book, "prof")
    assert (event["points"], event["reason"]) == (2.5, "regrade; mask test too strict")
    assert inverted(book)["points"] == 2.5


def test_a_sheet_written_by_the_grader_is_matched_by_row_key_even_when_a_spreadsheet_mangled_the_names(tmp_path):
    """Student "0042" comes back from a spreadsheet as "42": the row_key (the manual sheets' k- key) still finds it;
    a key the grader did not write, or one for another function, is an error; untouched lines are skipped."""
    from autograder.grade.overrides import write_sheet
    from autograder.manual.sheets import row_key

    course = tmp_path / "course"
    course.mkdir()
    book = Gradebook(default_url(course))
    for student in ("0042", "bob"):
        book.record(result(student))
    path = tmp_path / "template.csv"
    assert write_sheet(book, path, names={"0042": "Zoë Null"}) == 4
    with path.open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    assert [(r["student"], r["name"], r["function"], r["autograded_points"], r["points"]) for r in lines][:2] == \
        [("0042", "Zoë Null", "inverted_dropout_forward", "1", ""), ("0042", "Zoë Null", "vanilla_dropout_forward", "3", "")]
    key = row_key("0042", "ch02", "inverted_dropout_forward")
    assert lines[0]["row_key"] == key and key.startswith("k-")
    # As a spreadsheet saves it: the id turned into a number, one line filled in, the others untouched.
    lines[0].update(student="42", points="2.5", reason="regrade: the check was too strict")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
    event, = import_sheets([path], book, "prof")
    assert (event["student"], event["function"], event["points"]) == ("0042", "inverted_dropout_forward", 2.5)
    bad = sheet(tmp_path, "student,assignment,function,points,reason,row_key\n"
                          "42,ch02,inverted_dropout_forward,1,x,k-0123456789abcdef\n"
                          f"0042,ch02,vanilla_dropout_forward,1,x,{key}\n"
                          f"0042,ch02,,,only a reason,{key}\n", "bad.csv")
    with pytest.raises(OverrideError) as err:
        import_sheets([bad], book, "prof")
    text = str(err.value)
    assert "nothing was recorded; 3 problem(s)" in text
    assert f"{bad} line 2: row_key 'k-0123456789abcdef' is not one the grader wrote" in text
    assert f"{bad} line 3: row_key {key!r} is the key of 0042/ch02/inverted_dropout_forward, but the line says " \
           "ch02/vanilla_dropout_forward" in text
    assert f"{bad} line 4: no points" in text
    assert len(book.override_log()) == 1


def test_a_regrade_keeps_an_override_while_the_verdict_reads_the_same_else_flags_it(book):
    change(book, "ann", "ch02", "inverted_dropout_forward", "2", "partial credit", "prof")
    book.record({**result("ann", p=0.4, s=1.667), "sha256": "b" * 64})  # new inputs, the same mistake
    assert inverted(book)["points"] == 2.0
    book.record({**result("ann", inverted_points=0.0), "sha256": "c" * 64})  # the verdict changed
    ann = next(r for r in book.rows() if r["student"] == "ann")
    assert ann["functions"]["inverted_dropout_forward"]["points"] == 0.0 and ann["score"] == 3.0
    assert any("override of inverted_dropout_forward" in f and "not applied" in f for f in ann["flags"])
    assert "NOT APPLIED" in listing(book)[0]
    assert len(book.override_log()) == 1  # kept, for the instructor to decide


def test_exports_and_feedback_show_the_override_and_its_reason(book, tmp_path):
    change(book, "bob", "ch02", "vanilla_dropout_forward", "0", "copied from <ann>", "prof")
    rows = book.rows()
    paths = export(rows, tmp_path / "export")
    with paths["csv"].open(newline="") as fh:
        line = next(r for r in csv.DictReader(fh) if r["student"] == "bob" and r["function"] == "vanilla_dropout_forward")
    assert line["points"] == "0.0" and "copied from <ann>" in line["reason"] and line["assignment_total"] == "1.0"
    bob = next(s for s in json.loads(paths["json"].read_text()) if s["student"] == "bob")["assignments"]["ch02"]
    assert bob["score"] == 1.0 and bob["autograded_score"] == 4.0
    course = tmp_path / "course"
    lms, _ = export_all(rows, course, tmp_path / "export", now=None, allow_pending=True)
    with lms["gradescope ch02"].open(newline="") as fh:
        assert next(r for r in csv.DictReader(fh) if r["SID"] == "bob")["Total Score"] == "1"
    with lms["moodle ch02"].open(newline="") as fh:
        comment = next(r for r in csv.DictReader(fh) if r["Full name"] == "bob")["Feedback comments"]
    assert comment == ("1.00 / 6.00 — vanilla_dropout_forward: 0 / 3, changed by your instructor: copied from <ann>; "
                       "inverted_dropout_forward: kept units were multiplied by 1; with p_drop=0.25 they must be "
                       "scaled by 1.333")
    from autograder.report.class_report import assignment_page
    report = assignment_page("ch02", rows)
    assert "<td>3 → 0</td>" in report and "copied from &lt;ann&gt;" in report
    page = feedback(rows, course, tmp_path / "fb")
    text = next(p for p in page if "bob" in p.name).read_text()
    assert "copied from &lt;ann&gt;" in text and "changed by your instructor" in text


def test_the_override_command(book, tmp_path, capsys):
    course = tmp_path / "course"
    cli.main(["override", "--course", str(course), "ann", "ch02", "inverted_dropout_forward", "3",
              "--reason", "regrade request", "--by", "prof"])
    assert "ann/ch02/inverted_dropout_forward set to 3 / 3 (was 1): regrade request" in capsys.readouterr().out
    cli.main(["override", "--course", str(course), "--list"])
    assert "ann/ch02/inverted_dropout_forward: 3 / 3 (autograded 1), by prof" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--reason"):
        cli.main(["override", "--course", str(course), "ann", "ch02", "inverted_dropout_forward", "2"])
    with pytest.raises(SystemExit, match="more than"):
        cli.main(["override", "--course", str(course), "ann", "ch02", "inverted_dropout_forward", "9", "--reason", "x"])
    cli.main(["override", "--course", str(course), "ann", "ch02", "inverted_dropout_forward", "--remove",
              "--reason", "oops"])
    cli.main(["override", "--course", str(course), "--log"])
    out = capsys.readouterr().out
    # Removing goes back to the checker's 1 point, not to the 3 the override gave.
    assert out.count("removed: back to the autograded 1 / 3 (was 3): oops") == 2 and "set to 3 / 3 (was 1)" in out
    assert "removed (back to" not in out
    cli.main(["override", "--course", str(course), "--list"])
    assert capsys.readouterr().out == "no overrides\n"


def test_on_postgresql_too(tmp_path):
    from pg_server import postgres_server

    with postgres_server() as url:
        book = Gradebook(url)
        for student in ("ann", "bob"):
            book.record(result(student))
        bad = sheet(tmp_path, "student,assignment,function,points,reason\nann,ch02,inverted_dropout_forward,2,ok\n"
                              "bob,ch02,inverted_dropout_forward,x,no\n")
        with pytest.raises(OverrideError, match="line 3: points 'x' is not a number"):
            import_sheets([bad], book, "prof")
        assert book.override_log() == []
        change(book, "ann", "ch02", "inverted_dropout_forward", "2", "partial credit", "prof")
        book.record({**result("ann", p=0.4, s=1.667), "sha256": "b" * 64})  # regraded, same mistake: kept
        assert inverted(book)["points"] == 2.0 and book.override_log()[0]["old_points"] == 1.0
        with book.renaming("ann", "Ann_Smith_1001", "ch02"):  # collect moves the grades: the override follows
            pass
        assert inverted(book, "Ann_Smith_1001")["points"] == 2.0
        book.engine.dispose()
