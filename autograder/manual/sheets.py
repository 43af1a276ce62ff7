"""Grading written answers by hand: a page per question to read, a sheet per question to fill, one import.

``write_sheets`` puts, for each assignment and written question, into ``COURSE/manual/``:

* ``<assignment>_<question>.html``: the question, the model answer from the instructor's source
  notebook, and every student's answer side by side (escaped, as plain text: what the student
  typed, LaTeX source included), with the sheet line each one is graded on;
* ``<assignment>_<question>.csv``: one line per student (student, name, assignment, question,
  max_points, points, comment, answer_digest, row_key) to fill in; points and comments already
  given are filled in, so a sheet written again loses nothing. ``name`` is the roster's name of the
  student (collect/course_roster.py), for the reader only: the import never reads it.

``import_sheets`` checks every line of every sheet first and writes nothing unless all are good;
then one transaction records them all (:meth:`Gradebook.grade_written`). A line with empty
points is skipped (that answer stays as it is). ``answer_digest`` ties a line to the text it was
written for: a student who resubmitted a changed answer since makes the line an error, never a
grade for text nobody read. What a regrade keeps of these grades is decided in :mod:`written`.

Sheets go through spreadsheets, which rewrite cells that look like numbers or dates: "0042"
comes back as "42", "1-2" as a date, 16 digits as "1.23457E+15". So the two keys the grader
writes start with a letter (``h-`` digests, ``k-`` row keys) and cannot be read as either, and
a line carrying a ``row_key`` is matched by it, not by the student's name as the spreadsheet
saved it. A key that is not one the grader wrote makes its line an error, never a guess.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat
from tqdm import tqdm

from autograder.feedback import notebook_view
from autograder.export.grades import _FORMULA_START, spreadsheet_safe
from autograder.feedback.pages import page_stem
from autograder.course.csv_input import delimiter_of
from autograder.course.layout import Course
from autograder.feedback.safe_html import escape, markdown, note, page, pre
from autograder.manual.written import answer_digest, digest_matches, unanswered
from autograder.course.cells import grade_id, is_written

COLUMNS = ["student", "assignment", "question", "max_points", "points", "comment", "answer_digest", "row_key"]
SHEET_COLUMNS = ["student", "name", *COLUMNS[1:]]  # as written; "name" is for the reader, never imported
REQUIRED = COLUMNS[:6]          # answer_digest and row_key are optional: a sheet made by hand may lack them
_DIGEST = re.compile(r"(?:h-)?[0-9a-f]{16}")  # tagged, or bare as sheets written before the tag have it
_ROW_KEY = "k-"
_RAW_STUDENT = " student as written"  # the name cell before stripping (no header cell can carry it: stripped)
ERRORS_SHOWN = 50
_SOLUTION = re.compile(r"^[ \t]*### (?:BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)
_GRID = "display:grid;grid-template-columns:repeat(auto-fill,minmax(20rem,1fr));gap:.8rem"
_CARD = "border:1px solid #ccc;border-radius:4px;padding:.5rem"


class ManualError(Exception):
    """Bad input to the manual grading step; the message says what and where, nothing was written."""


@dataclass(frozen=True)
class Question:
    prompt: str   # the markdown above the answer cell (the question as students read it)
    model: str    # the model answer, without the solution markers


def model_answers(course: Path, assignment: str) -> dict[str, Question]:
    """The written questions of the instructor's source notebook, with their model answers."""
    path = Course(Path(course)).source_notebook(assignment)
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return {}
    found, prompt = {}, ""
    for cell in nb.cells:
        if is_written(cell):
            found[grade_id(cell)] = Question(prompt, _SOLUTION.sub("", cell.source).strip())
        elif cell.cell_type == "markdown":
            prompt = cell.source
    return found


def by_question(rows: list[dict], assignments=None) -> dict[tuple[str, str], list[dict]]:
    """(assignment, question) -> the gradebook rows holding an answer to it, by student."""
    grouped = defaultdict(list)
    for row in rows:
        if assignments and row["assignment"] not in assignments:
            continue
        for question in sorted(row.get("written") or {}):
            grouped[row["assignment"], question].append(row)
    return dict(sorted(grouped.items()))


def sheet_stem(assignment: str, question: str) -> str:
    return f"{page_stem(assignment)}_{page_stem(question)}"


def _points_text(value) -> str:
    return "" if value is None else notebook_view.points(value)


def row_key(student: str, assignment: str, question: str) -> str:
    """The key of one sheet line: a letter first, so no spreadsheet turns it into a number or a date."""
    text = "\0".join((student, assignment, question)).encode("utf-8", "surrogatepass")
    return _ROW_KEY + hashlib.sha256(text).hexdigest()[:16]


def sheet_lines(assignment: str, question: str, rows: list[dict], names: dict[str, str] | None = None) -> list[list]:
    """The sheet's lines, in SHEET_COLUMNS order."""
    from autograder.collect.course_roster import clean

    lines = []
    for row in rows:
        info = row["written"][question]
        lines.append([row["student"], clean((names or {}).get(row["student"], "")), assignment, question, _points_text(info.get("max_points")),
                      _points_text(info.get("points")), info.get("comment", "") if info.get("points") is not None
                      else "", answer_digest(info.get("answer")), row_key(row["student"], assignment, question)])
    return lines


def _card(row: dict, question: str, line: int, twins: list[str], who) -> str:
    info = row["written"][question]
    answer = str(info.get("answer") or "")
    if info.get("points") is None:
        status = "pending"
    else:
        status = f"{notebook_view.points(info['points'])} / {notebook_view.points(info['max_points'])}"
    parts = [f"<div style='{_CARD}' id='{escape(quote(row['student'], safe=''))}'>",
             f"<p><strong>{escape(who(row['student']))}</strong> <span class='label'>sheet row {line} · {escape(status)}"
             "</span></p>",
             note("no answer") if unanswered(answer) else pre(answer)]
    if info.get("points") is not None and info.get("comment"):
        parts.append(f"<p class='label'>comment: {escape(str(info['comment']))}</p>")
    if twins:
        parts.append(f"<p class='lost'>the same text as: {escape(', '.join(map(who, twins)))}</p>")
    parts.append("</div>")
    return "\n".join(parts)


def question_page(assignment: str, question: str, rows: list[dict], model: Question | None, sheet: str,
                  names: dict[str, str] | None = None) -> str:
    from autograder.collect.course_roster import label

    def who(student: str) -> str:
        return label(student, names or {})

    maximum = rows[0]["written"][question].get("max_points")
    title = f"{assignment} · {question} ({_points_text(maximum)} point{'' if maximum == 1 else 's'})"
    pending = sum(r["written"][question].get("points") is None for r in rows)
    empty = sum(unanswered(r["written"][question].get("answer")) for r in rows)
    # Identical non-empty answers, shown on each card: worth a look for copying.
    texts = defaultdict(list)
    for row in rows:
        answer = str(row["written"][question].get("answer") or "").strip()
        if not unanswered(answer):
            texts[answer].append(row["student"])
    body = [f"<h1>{escape(title)}</h1>",
            f"<p>{len(rows)} answers, {pending} pending, {empty} empty. Grade them in "
            f"<code>{escape(sheet)}</code> (columns points and comment), then run "
            f"<code>dropout-grader manual --import {escape(sheet)}</code>.</p>"]
    if model is None:
        body.append(note("the model answer was not found: release this assignment into the course folder"))
    else:
        body += ["<h2>The question</h2>", f"<blockquote>{markdown(model.prompt)}</blockquote>",
                 "<h2>Model answer</h2>", pre(model.model)]
    body.append("<h2>Answers</h2>")
    cards = [_card(r, question, line, [s for s in texts.get(str(r["written"][question].get("answer") or "").strip(),
                                                              []) if s != r["student"]], who)
             for line, r in enumerate(rows, start=2)]
    body.append(f"<div style='{_GRID}'>\n" + "\n".join(cards) + "\n</div>")
    return page(title, "\n".join(body))


def _index_page(entries: list[tuple[str, str, int, int]]) -> str:
    lines = ["<h1>Written answers to grade</h1>",
             "<table><tr><th>assignment</th><th>question</th><th>pending</th><th>answers</th><th>files</th></tr>"]
    for assignment, question, pending, total in entries:
        stem = sheet_stem(assignment, question)
        lines.append(f"<tr><td>{escape(assignment)}</td><td><code>{escape(question)}</code></td><td>{pending}</td>"
                     f"<td>{total}</td><td><a href='{escape(quote(stem + '.html'))}'>page</a> · "
                     f"<a href='{escape(quote(stem + '.csv'))}'>sheet</a></td></tr>")
    lines.append("</table>")
    return page("Written answers to grade", "\n".join(lines))


def _unspreadsheet(text: str) -> str:
    """Undo export.spreadsheet_safe: the ' it puts before a cell a spreadsheet would run as a formula."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def _as_written(record: dict, delimiter: str) -> dict:
    """A line's cells stripped and without the formula guard; "0,5" points read as 0.5 where "," is no delimiter."""
    cells = {column: _unspreadsheet((value or "").strip()) if isinstance(value, str) else ""
             for column, value in record.items() if isinstance(column, str)}
    if delimiter == ";":
        for column in ("points", "max_points"):
            if cells.get(column, "").count(",") == 1:
                cells[column] = cells[column].replace(",", ".")
    return cells


def _keys(rows: list[dict]) -> dict[str, tuple[dict, str]]:
    """row_key -> (gradebook row, question), for every written answer of the gradebook."""
    return {row_key(row["student"], row["assignment"], question): (row, question)
            for row in rows for question in (row.get("written") or {})}


def _unsaved_work(path: Path, rows: list[dict]) -> str | None:
    """Why the sheet at ``path`` holds grades the gradebook lacks (None: writing it again loses nothing)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        records = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter_of(text)))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        return f"it cannot be read ({err})"
    index, keys = {(r["student"], r["assignment"]): r for r in rows}, _keys(rows)
    for record in map(lambda r: _as_written(r, delimiter_of(text)), records):
        points, comment = record.get("points", ""), record.get("comment", "")
        row, question = keys.get(record.get("row_key", ""), (None, None))
        if row is None:  # no key, or one the gradebook does not know: by name, as the sheet has it
            row, question = index.get((record.get("student", ""), record.get("assignment", ""))), record.get("question")
        info = (row or {}).get("written", {}).get(question or "", {})
        digest = record.get("answer_digest", "")
        if info and digest and not digest_matches(digest, info.get("answer")):
            continue  # graded for a text since replaced by a resubmission: nothing to keep
        stored = info.get("points")
        whose = f"{record.get('student')!r} on {record.get('question')!r}"
        if points and (stored is None or _number(points) != stored):
            return f"points for {whose} that the gradebook does not have"
        if comment and comment != str(info.get("comment", "")).strip():
            return f"a comment for {whose} that the gradebook does not have"
    return None


def write_sheets(rows: list[dict], course: Path, out: Path, assignments=None,
                 names: dict[str, str] | None = None) -> list[Path]:
    """A page and a sheet per assignment and question, and an index page; returns the pages.

    A sheet already there with points or comments not yet imported stops everything (nothing is
    written): it is the instructor's work. ``names``: roster id -> name (default: the course's roster).
    """
    from autograder.collect.course_roster import course_names

    known = course_names(Path(course)) if names is None else names
    groups = by_question(rows, assignments)
    unsaved = []
    for assignment, question in groups:
        sheet = out / f"{sheet_stem(assignment, question)}.csv"
        why = _unsaved_work(sheet, rows) if sheet.exists() else None
        if why:
            unsaved.append(f"{sheet}: {why}")
    if unsaved:
        raise ManualError("these sheets hold grades not imported yet; import them with `dropout-grader manual "
                          "--import SHEET` or move them away, then run this again (nothing was written):\n  "
                          + "\n  ".join(unsaved))
    out.mkdir(parents=True, exist_ok=True)
    models: dict[str, dict[str, Question]] = {}
    pages, entries = [], []
    for (assignment, question), question_rows in tqdm(groups.items(), unit="question", desc="manual"):
        if assignment not in models:
            models[assignment] = model_answers(course, assignment)
        stem = sheet_stem(assignment, question)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(SHEET_COLUMNS)
        lines = sheet_lines(assignment, question, question_rows, known)
        writer.writerows([spreadsheet_safe(v) for v in line] for line in lines)
        # errors="replace": a name with a lone surrogate (from a file name) must not stop the run.
        (out / f"{stem}.csv").write_text(buffer.getvalue(), encoding="utf-8", errors="replace")
        html = question_page(assignment, question, question_rows, models[assignment].get(question),
                             str(out / f"{stem}.csv"), known)
        (out / f"{stem}.html").write_text(html, encoding="utf-8", errors="replace")
        pages.append(out / f"{stem}.html")
        entries.append((assignment, question, sum(r["written"][question].get("points") is None for r in question_rows),
                        len(question_rows)))
    (out / "index.html").write_text(_index_page(entries), encoding="utf-8", errors="replace")
    return pages


# ---------------------------------------------------------------------------------------------
# Import.

def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _student_index(rows: list[dict]) -> dict[tuple[str, str], dict]:
    index = {}
    for row in rows:
        index[row["student"], row["assignment"]] = row
        # The sheet was written with errors="replace": such a name comes back with U+FFFD in it.
        readable = row["student"].encode("utf-8", "replace").decode("utf-8")
        index.setdefault((readable, row["assignment"]), row)
    return index


def _keyed_row(key: str, assignment: str, question: str, where: str, keys: dict, problems: list) -> dict | None:
    """The gradebook row a line's row_key names, or None (with the problem noted)."""
    if key not in keys:
        problems.append(f"{where}: row_key {key!r} is not one the grader wrote for this gradebook (edited by hand, "
                        "or changed by a spreadsheet?): write the sheet again with `dropout-grader manual`")
        return None
    row, keyed_question = keys[key]
    if (assignment, question) != (row["assignment"], keyed_question):
        problems.append(f"{where}: row_key {key!r} is the key of {row['student']}/{row['assignment']}/"
                        f"{keyed_question}, but the line says {assignment}/{question}")
        return None
    return row


def _named_row(raw_student: str, student: str, assignment: str, where: str, index: dict, problems: list,
               known_assignments: list[str]) -> dict | None:
    """The gradebook row of a line without a row_key, by the names on it, or None (with the problem noted)."""
    if assignment not in known_assignments:
        problems.append(f"{where}: unknown assignment {assignment!r} (the gradebook has: "
                        f"{', '.join(known_assignments) or 'nothing'})")
        return None
    row = index.get((raw_student, assignment)) or index.get((student, assignment))
    if row is None:
        problems.append(f"{where}: the gradebook has no graded submission of {student!r} for {assignment!r}")
    return row


def _check_line(record: dict, where: str, index: dict, keys: dict, seen: dict, marks: dict, problems: list,
                known_assignments: list[str]) -> None:
    raw_student = _unspreadsheet(record.get(_RAW_STUDENT) or "")  # a name may end in a space
    student, assignment, question, maximum, points, comment, digest, line_key = (record.get(c, "") for c in COLUMNS)
    if not (student or assignment or question or points or comment):
        return  # a blank line in a spreadsheet
    if not points:
        if comment:
            problems.append(f"{where}: a comment but no points (give points, or leave both empty to skip)")
        return
    # A row_key survives a spreadsheet; the student's name may not ("0042" comes back as "42").
    row = (_keyed_row(line_key, assignment, question, where, keys, problems) if line_key else
           _named_row(raw_student, student, assignment, where, index, problems, known_assignments))
    if row is None:
        return
    info = (row.get("written") or {}).get(question)
    if info is None:
        known = ", ".join(sorted(row.get("written") or {})) or "none"
        problems.append(f"{where}: {assignment} has no written question {question!r} (it has: {known})")
        return
    key = (row["student"], assignment, question)
    if key in seen:
        problems.append(f"{where}: {row['student']}/{assignment}/{question} again (already on {seen[key]})")
        return
    seen[key] = where
    value, top = _number(points), float(info["max_points"])
    if value is None:
        problems.append(f"{where}: points {points!r} is not a number")
    elif value < 0:
        problems.append(f"{where}: points {points} is negative")
    elif value > top:
        problems.append(f"{where}: points {points} is more than the maximum of {notebook_view.points(top)}")
    if maximum and _number(maximum) != top:
        problems.append(f"{where}: max_points {maximum!r} but {question} is worth {notebook_view.points(top)} "
                        "(a sheet from another release?)")
    if digest and not _DIGEST.fullmatch(digest):
        problems.append(f"{where}: answer_digest {digest!r} is not one the grader writes (h- and 16 hex digits; "
                        "a spreadsheet may have turned it into a number): write the sheet again with "
                        "`dropout-grader manual`")
    elif digest and not digest_matches(digest, info.get("answer")):
        problems.append(f"{where}: {row['student']}'s answer has changed since this sheet was written "
                        "(a resubmission?): write the sheet again with `dropout-grader manual`")
    if value is not None and 0 <= value <= top:
        marks.setdefault((row["student"], assignment), {})[question] = {
            "points": value, "comment": comment, "answer": str(info.get("answer", ""))}


def read_sheets(paths, rows: list[dict]) -> tuple[dict, list[str]]:
    """Every mark of every sheet checked against the gradebook rows: (marks, problems)."""
    index, keys, seen, marks, problems = _student_index(rows), _keys(rows), {}, {}, []
    known_assignments = sorted({r["assignment"] for r in rows})
    for path in map(Path, paths):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            problems.append(f"{path}: cannot be read ({err})")
            continue
        delimiter = delimiter_of(text)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = [cell.strip() for cell in next(reader, [])]
            absent = [c for c in REQUIRED if c not in header]
            twice = sorted({c for c in header if c and header.count(c) > 1})
            if absent or twice:
                problems.append(f"{path} line 1: " + (f"no column {', '.join(absent)}; the header must name "
                                f"{', '.join(REQUIRED)} (found: {', '.join(header) or 'nothing'})" if absent
                                else f"column {', '.join(twice)} appears twice"))
                continue
            while True:
                line = reader.line_num + 1  # where the next record starts (a quoted cell may span lines)
                cells = next(reader, None)
                if cells is None:
                    break
                if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                    problems.append(f"{path} line {line}: more cells than the header has columns")
                    continue
                record = dict(zip(header, cells))
                _check_line(_as_written(record, delimiter) | {_RAW_STUDENT: record.get("student") or ""},
                            f"{path} line {line}", index, keys, seen, marks, problems, known_assignments)
        except csv.Error as err:
            problems.append(f"{path} line {reader.line_num}: {err}")
    return marks, problems


def import_sheets(paths, gradebook) -> dict:
    """Record the sheets' points and comments: all of them, or (on any problem) none."""
    rows = gradebook.rows()
    marks, problems = read_sheets(paths, rows)
    if problems:
        shown = problems[:ERRORS_SHOWN]
        more = f"\n  ... and {len(problems) - ERRORS_SHOWN} more" if len(problems) > ERRORS_SHOWN else ""
        raise ManualError(f"nothing was imported; {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)
    try:
        graded = gradebook.grade_written(marks)
    except LookupError as err:  # a grade run changed a row since it was read: the transaction rolled back
        raise ManualError(f"nothing was imported: {err}; run the import again") from err
    pending = sum(w.get("points") is None for r in gradebook.rows() for w in (r.get("written") or {}).values())
    return {"graded": graded, "students": len(marks), "pending": pending}
