"""Written answers graded by a person: pages and sheets from the gradebook, an all-or-nothing import.

A course folder with ch02 released (its source notebook holds the model answers) and gradebooks of
hand-made rows; no notebook is graded here.
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import re
import shutil

import pytest

from autograder import cli
from autograder.export.grades import export, row_total
from autograder.feedback.pages import feedback
from autograder.course.gradebook import Gradebook
from autograder.manual.sheets import COLUMNS, SHEET_COLUMNS, ManualError, import_sheets, model_answers, row_key, write_sheets
from autograder.release.notebooks import release
from autograder.release.sources import written_points
from autograder.manual.written import answer_digest
from inert_html import assert_inert

QUESTIONS = sorted(written_points("ch02"))          # q_dropout_variance, q_test_time_scaling
Q = "q_test_time_scaling"
ANSWERS = {
    "alice": "Inverted dropout divides by $1-p$ in training, so $E[m a / q] = a$.",
    "bob": "<script>alert('x')</script> & <img src=x onerror=alert(1)> it's **scaled**",
    "=cmd|' /C calc'!A0": "A name a spreadsheet would run; the answer is fine.",
    "carol": "YOUR ANSWER HERE",
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    release(course, ("ch02",))
    return course


def result(student: str, answer: str, sha: str = "a" * 64, **written_extra) -> dict:
    written = {q: {"points": None, "max_points": 1.0, "status": "pending",
                   "answer": answer if q == Q else f"{student} on {q}"} for q in QUESTIONS}
    for q, info in written_extra.items():
        written[q].update(info)
    return {"student": student, "assignment": "ch02", "sha256": sha, "score": 3.0, "max_score": 6.0, "seconds": 4.2,
            "functions": {"vanilla_dropout_forward": {"points": 3.0, "max_points": 3.0, "reason": ""},
                          "inverted_dropout_forward": {"points": 0.0, "max_points": 3.0, "reason": "kept units"}},
            "flags": [], "written": written}


def filled_book(url: str) -> Gradebook:
    book = Gradebook(url)
    for student, answer in ANSWERS.items():
        book.record(result(student, answer))
    return book


@pytest.fixture
def book(tmp_path):
    return filled_book(f"sqlite:///{tmp_path / 'results.db'}")


def read_sheet(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_sheet(path, lines, columns=COLUMNS) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(lines)


def line(student="alice", points="1", comment="clear", question=Q, assignment="ch02", maximum="1", digest=None):
    answer = ANSWERS.get(student, "")
    return [student, assignment, question, maximum, points, comment,
            answer_digest(answer) if digest is None else digest]


def test_model_answers_come_from_the_source_notebook(course):
    models = model_answers(course, "ch02")
    assert sorted(models) == QUESTIONS
    assert models[Q].model.startswith("With keep probability") and "BEGIN SOLUTION" not in models[Q].model
    assert "Why does inverted dropout need no scaling at test time" in models[Q].prompt


def test_pages_show_every_answer_escaped_beside_the_model_answer(course, book, tmp_path):
    out = tmp_path / "manual"
    pages = write_sheets(book.rows(), course, out)
    assert sorted(p.name for p in pages) == [f"ch02_{q}.html" for q in QUESTIONS]
    text = (out / f"ch02_{Q}.html").read_text()
    assert_inert(text)
    assert "<script" not in text and "<img" not in text
    for student, answer in ANSWERS.items():
        assert html.escape(student, quote=True) in text
        if student != "carol":
            assert html.escape(answer, quote=True) in text, student
    assert "no answer" in text  # carol left nbgrader's placeholder
    assert html.escape(model_answers(course, "ch02")[Q].model, quote=True) in text
    assert text.index("Model answer") < text.index("alice")
    sheet = read_sheet(out / f"ch02_{Q}.csv")
    assert list(sheet[0]) == SHEET_COLUMNS and SHEET_COLUMNS[0] == "student" and set(COLUMNS) < set(SHEET_COLUMNS)
    assert [r["student"] for r in sheet] == ["'" + s if s.startswith("=") else s for s in sorted(ANSWERS)]
    assert all(r["points"] == "" and r["max_points"] == "1" and r["question"] == Q for r in sheet)
    index = (out / "index.html").read_text()
    assert_inert(index)
    assert f"ch02_{Q}.csv" in index


def test_a_good_sheet_records_points_comments_and_totals(course, book, tmp_path):
    out = tmp_path / "manual"
    write_sheets(book.rows(), course, out)
    path = out / f"ch02_{Q}.csv"
    sheet = read_sheet(path)
    for record in sheet:  # filled in as a spreadsheet would: names and digests as written
        record["points"] = {"alice": "1", "bob": "0.5", "carol": ""}.get(record["student"], "0")
        record["comment"] = {"alice": "clear", "bob": "-0.5: say why the means match"}.get(record["student"], "")
    write_sheet(path, [list(r.values()) for r in sheet], columns=SHEET_COLUMNS)
    done = import_sheets([path], book)
    assert done == {"graded": 3, "students": 3, "pending": 2 * len(ANSWERS) - 3}
    rows = {r["student"]: r for r in book.rows()}
    assert rows["alice"]["written"][Q] | {"answer": ""} == {"points": 1.0, "max_points": 1.0, "status": "graded",
                                                             "comment": "clear", "answer": ""}
    assert rows["bob"]["written"][Q]["comment"] == "-0.5: say why the means match"
    assert rows["=cmd|' /C calc'!A0"]["written"][Q]["points"] == 0.0
    assert rows["carol"]["written"][Q]["points"] is None  # an empty points cell leaves the answer as it was
    assert row_total(rows["alice"]) == (4.0, 7.0) and row_total(rows["bob"]) == (3.5, 7.0)
    assert row_total(rows["carol"]) == (3.0, 6.0)  # pending adds nothing, to points or to the maximum
    # Feedback and exports show the graded answer with its comment, and the other one as pending.
    page = feedback([rows["alice"]], course, tmp_path / "fb")[0].read_text()
    assert "4 / 7" in page and "clear" in page and "pending" in page and "graded by your instructor later" in page
    exported = {(r["student"], r["function"]): r for r in read_sheet(export(book.rows(), tmp_path / "ex")["csv"])}
    assert exported["alice", Q]["points"] == "1.0" and exported["alice", Q]["reason"] == "clear"
    assert exported["alice", "q_dropout_variance"]["reason"] == "written answer: pending manual grading"
    assert float(exported["alice", Q]["assignment_total"]) == 4.0
    # Written again, the sheet carries what was imported, so nothing is lost and nothing is stale.
    write_sheets(book.rows(), course, out)
    again = {r["student"]: r for r in read_sheet(path)}
    assert (again["alice"]["points"], again["alice"]["comment"]) == ("1", "clear")
    assert again["bob"]["comment"] == "'-0.5: say why the means match"  # spreadsheet-safe, and read back as is
    assert import_sheets([path], book)["graded"] == 3
    assert {r["student"]: r["written"] for r in book.rows()} == {s: r["written"] for s, r in rows.items()}


BAD_LINES = {
    "unknown student": ([line("zoe", digest="")], "no graded submission of 'zoe'"),
    "unknown question": ([line(question="q_nope")], "has no written question 'q_nope'"),
    "unknown assignment": ([line(assignment="ch09")], "unknown assignment 'ch09' (the gradebook has: ch02)"),
    "points over the maximum": ([line(points="2")], "more than the maximum of 1"),
    "negative points": ([line(points="-1")], "is negative"),
    "points not a number": ([line(points="one")], "'one' is not a number"),
    "points NaN": ([line(points="nan")], "is not a number"),
    "duplicate": ([line(), line(points="0")], "again (already on"),
    "comment without points": ([line(points="")], "a comment but no points"),
    "answer changed": ([line(digest="0" * 16)], "answer has changed since this sheet was written"),
    "wrong maximum": ([line(maximum="2")], "max_points '2'"),
    "extra cells": ([line() + ["", "surprise"]], "more cells than the header"),
}


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_a_bad_line_is_named_and_nothing_is_imported(book, tmp_path, kind):
    bad_lines, words = BAD_LINES[kind]
    path = tmp_path / "scores.csv"
    write_sheet(path, [line("bob", points="1"), *bad_lines])  # line 2 is good; the first bad one is line 3
    before, db = book.rows(), (tmp_path / "results.db").read_bytes()
    with pytest.raises(ManualError) as err:
        import_sheets([path], book)
    bad_line = 4 if kind == "duplicate" else 3
    assert f"{path} line {bad_line}: " in str(err.value) and words in str(err.value), str(err.value)
    assert "nothing was imported" in str(err.value)
    assert book.rows() == before and (tmp_path / "results.db").read_bytes() == db


def test_missing_columns_and_unreadable_sheets_are_refused(book, tmp_path):
    before = book.rows()
    no_points = tmp_path / "a.csv"
    write_sheet(no_points, [["alice", "ch02", Q, "1", "ok"]], columns=["student", "assignment", "question",
                                                                        "max_points", "comment"])
    with pytest.raises(ManualError, match=r"a.csv line 1: no column points"):
        import_sheets([no_points], book)
    empty = tmp_path / "b.csv"
    empty.write_text("")
    binary = tmp_path / "c.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ManualError) as err:
        import_sheets([empty, binary, tmp_path / "missing.csv"], book)
    assert "b.csv line 1: no column student" in str(err.value) and "c.csv: cannot be read" in str(err.value)
    assert "missing.csv: cannot be read" in str(err.value)
    assert book.rows() == before


def test_lines_are_counted_as_the_file_has_them(book, tmp_path):
    """A comment spanning lines, a blank line: the bad line is named where an editor shows it."""
    path = tmp_path / "scores.csv"
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    writer.writerow(line("alice", comment="first line\nsecond line\nthird"))
    text.write("\r\n")
    writer.writerow(line("bob", points="9"))
    path.write_text(text.getvalue(), newline="")
    with pytest.raises(ManualError, match=r"scores.csv line 6: points 9 is more than the maximum"):
        import_sheets([path], book)


def test_a_duplicate_across_two_sheets_is_refused(book, tmp_path):
    first, second = tmp_path / "one.csv", tmp_path / "two.csv"
    write_sheet(first, [line("alice")])
    write_sheet(second, [line("alice", points="0")])
    before = book.rows()
    again = r"two.csv line 2: alice/ch02/q_test_time_scaling again \(already on .*one.csv line 2\)"
    with pytest.raises(ManualError, match=again):
        import_sheets([first, second], book)
    assert book.rows() == before


def test_the_transaction_is_all_or_nothing(book):
    """A row changed after the check (a regrade in between): the marks written before it are rolled back."""
    before = book.rows()
    marks = {("alice", "ch02"): {Q: {"points": 1.0, "comment": "", "answer": ANSWERS["alice"]}},
             ("bob", "ch02"): {Q: {"points": 1.0, "comment": "", "answer": "not what bob wrote"}}}
    with pytest.raises(LookupError, match="bob's answer"):
        book.grade_written(marks)
    assert book.rows() == before


def test_rewriting_the_sheets_never_overwrites_grades_not_imported(course, book, tmp_path):
    out = tmp_path / "manual"
    write_sheets(book.rows(), course, out)
    path = out / f"ch02_{Q}.csv"
    sheet = read_sheet(path)
    sheet[0]["points"] = "1"
    write_sheet(path, [list(r.values()) for r in sheet], columns=SHEET_COLUMNS)
    kept, page = path.read_bytes(), (out / f"ch02_{Q}.html").read_bytes()
    (out / f"ch02_{Q}.html").write_text("an old page")
    unsaved = r"ch02_q_test_time_scaling.csv: points for .*cmd.* on 'q_test_time_scaling' that the gradebook"
    with pytest.raises(ManualError, match=unsaved):
        write_sheets(book.rows(), course, out)
    assert path.read_bytes() == kept and (out / f"ch02_{Q}.html").read_text() == "an old page"
    assert page  # the first run wrote a page


def test_a_regrade_keeps_a_grade_only_for_an_unchanged_answer(book):
    answers = {Q: ANSWERS["alice"], "q_dropout_variance": "alice on q_dropout_variance"}
    marks = {q: {"points": 1.0, "comment": "good", "answer": a} for q, a in answers.items()}
    book.grade_written({("alice", "ch02"): marks})
    # A resubmission (new sha256) that changes one answer, and only adds a trailing newline to the other.
    book.record(result("alice", ANSWERS["alice"] + "\n", sha="b" * 64,
                       q_dropout_variance={"answer": "a new answer"}))
    written = next(r for r in book.rows() if r["student"] == "alice")["written"]
    assert (written[Q]["points"], written[Q]["comment"], written[Q]["status"]) == (1.0, "good", "graded")
    assert written[Q]["answer"] == ANSWERS["alice"] + "\n"  # the text stored is the new submission's
    assert (written["q_dropout_variance"]["points"], written["q_dropout_variance"]["status"]) == (None, "pending")
    assert "comment" not in written["q_dropout_variance"]


def test_the_command_line(course, book, tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'results.db'}"
    shutil.rmtree(tmp_path / "manual", ignore_errors=True)
    cli.main(["manual", "--course", str(course), "--db", db, "--out", str(tmp_path / "manual")])
    assert "wrote 2 page(s)" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    write_sheet(bad, [line(points="x")])
    with pytest.raises(SystemExit) as exit_:
        cli.main(["manual", "--course", str(course), "--db", db, "--import", str(bad)])
    assert f"{bad} line 2: points 'x' is not a number" in str(exit_.value.code)
    good = tmp_path / "good.csv"
    write_sheet(good, [line()])
    cli.main(["manual", "--course", str(course), "--db", db, "--import", str(good)])
    assert "recorded 1 written grade(s) for 1 submission(s)" in capsys.readouterr().out


def test_on_postgresql_too(tmp_path):
    from pg_server import postgres_server

    with postgres_server() as url:
        book = filled_book(url)
        good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
        write_sheet(good, [line("alice"), line("bob", points="0.5", comment="half")])
        write_sheet(bad, [line("carol", points="1", comment=""), line("alice", points="7")])
        before = book.rows()
        with pytest.raises(ManualError, match="bad.csv line 3: points 7 is more than the maximum"):
            import_sheets([bad], book)
        assert book.rows() == before
        assert import_sheets([good], book)["graded"] == 2
        rows = {r["student"]: r for r in book.rows()}
        assert row_total(rows["bob"]) == (3.5, 7.0) and rows["bob"]["written"][Q]["comment"] == "half"
        book.record(result("bob", ANSWERS["bob"], sha="c" * 64))  # regraded, answer unchanged: grade kept
        assert next(r for r in book.rows() if r["student"] == "bob")["written"][Q]["points"] == 0.5
        assert next(r for r in book.rows() if r["student"] == "bob")["seconds"] == 4.2
        book.engine.dispose()


def test_after_a_resubmission_the_sheet_is_written_again_with_that_answer_pending(course, book, tmp_path):
    out = tmp_path / "manual"
    write_sheets(book.rows(), course, out)
    path = out / f"ch02_{Q}.csv"
    write_sheet(path, [line("alice", points="1")])
    import_sheets([path], book)
    book.record(result("alice", "a changed answer", sha="d" * 64))
    with pytest.raises(ManualError, match="line 2: alice's answer has changed since this sheet was written"):
        import_sheets([path], book)  # the old grade is not applied to the new text
    write_sheets(book.rows(), course, out)  # the stale line is no unsaved work: the sheet is written again
    again = {r["student"]: r for r in read_sheet(path)}
    assert again["alice"]["points"] == "" and again["alice"]["answer_digest"] == answer_digest("a changed answer")


def test_help_explains_both_commands():
    import subprocess

    from autograder.course.layout import tool_env

    for step, words in (("manual", "one transaction"), ("report", "most common reasons")):
        out = subprocess.run(["dropout-grader", step, "--help"], env=tool_env(), capture_output=True, text=True)
        assert out.returncode == 0 and words in " ".join(out.stdout.split()), out.stdout


# ---------------------------------------------------------------------------------------------
# Sheets that went through a spreadsheet.

_NUMBER_LIKE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DAY_MONTH = re.compile(r"(\d{1,2})-(\d{1,2})")
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _as_a_spreadsheet_saves(cell: str) -> str:
    """A cell as a spreadsheet writes it back with its default (General) format."""
    date = _DAY_MONTH.fullmatch(cell)
    if date and 1 <= int(date[1]) <= 12 and 1 <= int(date[2]) <= 31:
        return f"{int(date[2]):02d}-{_MONTHS[int(date[1]) - 1]}"  # "1-2" is the 2nd of January
    if _NUMBER_LIKE.fullmatch(cell):
        number = float(cell)
        return str(int(number)) if number.is_integer() and abs(number) < 1e11 else f"{number:.6G}"
    return cell


def spreadsheet_round_trip(text: str) -> str:
    """A CSV opened in a spreadsheet and saved again: numbers and dates rewritten, a BOM, CRLF, empty rows after."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rows[0])
    writer.writerows([_as_a_spreadsheet_saves(c) for c in row] for row in rows[1:])
    writer.writerows([[""] * len(rows[0])] * 3)
    return "\ufeff" + out.getvalue()


def _answer_with_an_all_digit_digest() -> str:
    """An answer whose digest, as sheets wrote it before the h- tag, was all digits (about 1 text in 1,900)."""
    return next(text for n in range(100_000) if (text := f"answer {n}")
                and hashlib.sha256(text.encode()).hexdigest()[:16].isdigit())


TRICKY = {"0042": "leading zero", "1001": "all digits", "1-2": "a date", "12345678901234567": "seventeen digits",
          "alice": _answer_with_an_all_digit_digest()}


@pytest.fixture
def tricky_book(tmp_path):
    book = Gradebook(f"sqlite:///{tmp_path / 'tricky.db'}")
    for student, answer in TRICKY.items():
        book.record(result(student, answer))
    return book


def _filled(path, points: dict[str, str]) -> str:
    """The sheet at ``path`` with points typed in for the students named, as the grader's own CSV."""
    records = read_sheet(path)
    for record in records:
        record["points"] = points.get(record["student"], "")
        record["comment"] = "ok" if record["points"] else ""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SHEET_COLUMNS)
    writer.writerows(list(r.values()) for r in records)
    return out.getvalue()


def test_keys_on_a_sheet_are_never_read_as_numbers_or_dates(course, tricky_book, tmp_path):
    write_sheets(tricky_book.rows(), course, tmp_path / "manual")
    records = read_sheet(tmp_path / "manual" / f"ch02_{Q}.csv")
    keys = [r["answer_digest"] for r in records] + [r["row_key"] for r in records]
    keys += [answer_digest(f"answer {n}") for n in range(3000)]
    for key in keys:
        assert key[0].isalpha() and _as_a_spreadsheet_saves(key) == key and not _NUMBER_LIKE.fullmatch(key), key
    # The tricky names themselves do not survive, which is why lines are matched by row_key.
    assert {_as_a_spreadsheet_saves(s) for s in TRICKY} == {"42", "1001", "02-Jan", "1.23457E+16", "alice"}


def test_a_sheet_saved_by_a_spreadsheet_imports_every_honest_edit(course, tricky_book, tmp_path):
    out = tmp_path / "manual"
    write_sheets(tricky_book.rows(), course, out)
    path = out / f"ch02_{Q}.csv"
    given = {"0042": "1", "1001": "0.5", "1-2": "0", "12345678901234567": "1", "alice": "0.5"}
    path.write_text(spreadsheet_round_trip(_filled(path, given)), encoding="utf-8", newline="")
    saved = path.read_bytes().decode("utf-8")
    assert saved.startswith("\ufeff") and "\r\n" in saved and "\n42," in saved and "02-Jan" in saved
    assert import_sheets([path], tricky_book) == {"graded": 5, "students": 5, "pending": 5}
    rows = {r["student"]: r["written"][Q] for r in tricky_book.rows()}
    assert {s: (w["points"], w["comment"]) for s, w in rows.items()} == {s: (float(p), "ok") for s, p in given.items()}
    # The saved sheet is no unsaved work: writing the sheets again goes ahead and carries the grades.
    write_sheets(tricky_book.rows(), course, out)
    assert {r["row_key"]: r["points"] for r in read_sheet(path)} == {
        row_key(s, "ch02", Q): p for s, p in given.items()}


def test_a_saved_sheet_with_grades_not_imported_is_not_overwritten(course, tricky_book, tmp_path):
    out = tmp_path / "manual"
    write_sheets(tricky_book.rows(), course, out)
    path = out / f"ch02_{Q}.csv"
    path.write_text(spreadsheet_round_trip(_filled(path, {"0042": "1"})), encoding="utf-8", newline="")
    with pytest.raises(ManualError, match="points for '42' on 'q_test_time_scaling'"):
        write_sheets(tricky_book.rows(), course, out)


def _key_edited(text: str) -> str:
    return text.replace(row_key("1001", "ch02", Q), row_key("1001", "ch02", Q)[:-1] + "x")


def _key_of_another_question(text: str) -> str:
    return text.replace(row_key("1001", "ch02", Q), row_key("1001", "ch02", "q_dropout_variance"))


def _legacy_sheet(text: str) -> str:
    """A sheet as written before the h- tag and the row_key: the bare digest a spreadsheet made a number of."""
    records = list(csv.DictReader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS[:7])
    for r in records:
        writer.writerow([r[c] for c in COLUMNS[:6]] + [r["answer_digest"].removeprefix("h-")])
    return out.getvalue()


CORRUPTED = {  # how the sheet is corrupted, whose line shows it, what the error says, who is given points
    "row_key edited": (_key_edited, "1001", "row_key 'k-", TRICKY),
    "row_key of another line": (_key_of_another_question, "1001", "but the line says ch02/q_test_time_scaling",
                                TRICKY),
    # Without row_key only names match, and the spreadsheet changed the tricky ones: alice alone is graded.
    "bare digest made a number": (_legacy_sheet, "alice", "answer_digest '", ["alice"]),
}


@pytest.mark.parametrize("kind", sorted(CORRUPTED))
def test_a_corrupted_key_names_its_line_and_nothing_is_imported(course, tricky_book, tmp_path, kind):
    corrupt, student, words, graded = CORRUPTED[kind]
    out = tmp_path / "manual"
    write_sheets(tricky_book.rows(), course, out)
    path = out / f"ch02_{Q}.csv"
    text = corrupt(_filled(path, dict.fromkeys(graded, "1")))
    path.write_text(spreadsheet_round_trip(text), encoding="utf-8", newline="")
    line_of = 2 + [r["student"] for r in csv.DictReader(io.StringIO(text))].index(student)
    before = tricky_book.rows()
    with pytest.raises(ManualError) as err:
        import_sheets([path], tricky_book)
    message = str(err.value)
    assert "1 problem(s)" in message and f"{path} line {line_of}: " in message, message
    assert words in message.split(f"{path} line {line_of}: ")[1], message
    if kind == "bare digest made a number":
        assert "E+15'" in message and "spreadsheet" in message  # what the spreadsheet made of it, and why
    assert tricky_book.rows() == before


def test_a_sheet_saved_with_semicolons_and_decimal_commas_imports(course, tricky_book, tmp_path):
    out = tmp_path / "manual"
    write_sheets(tricky_book.rows(), course, out)
    path = out / f"ch02_{Q}.csv"
    records = list(csv.reader(io.StringIO(spreadsheet_round_trip(_filled(path, {"1-2": "0.5"})).lstrip("\ufeff"))))
    text = io.StringIO()
    csv.writer(text, delimiter=";", lineterminator="\r\n").writerows(
        [[c.replace(".", ",") if c == "0.5" else c for c in r] for r in records])
    path.write_text("\ufeff" + text.getvalue(), encoding="utf-8", newline="")
    assert "0,5" in path.read_text()
    assert import_sheets([path], tricky_book)["graded"] == 1
    assert next(r for r in tricky_book.rows() if r["student"] == "1-2")["written"][Q]["points"] == 0.5
