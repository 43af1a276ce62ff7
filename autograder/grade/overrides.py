"""Overrides: a person changes the points of one graded function of one submission, with a reason.

Uses: a regrade request the checker cannot see, a zero for copying. Every change is an event in
the gradebook's ``overrides`` table (same database and code path as the grades: SQLite or
PostgreSQL), appended and never edited: who, when, the points before and after, the reason.
Removing an override is an event too, so the table is the audit log.

The score used everywhere (export, LMS files, feedback, report) is the autograded one with the
overrides applied (:func:`apply`, called by ``Gradebook.rows``). The student's feedback shows the
new points and the reason.

Across regrades: an override is for the verdict the instructor read. It stays applied while the
function's verdict reads the same (the same points and maximum, and the same reason with numbers,
shapes and quoted values left out, as the class report compares reasons; a regrade draws new
inputs, so those change on their own). When a regrade changes the verdict, the override is no
longer applied and the submission is flagged for review (CSV, JSON, report, ``override --list``):
set it again (``dropout-grader override``) or remove it. It is never dropped silently.
"""
from __future__ import annotations

import csv
import getpass
import hashlib
import math
from datetime import datetime, timezone
from pathlib import Path

from autograder.report.reasons import normalise_reason

SHEET_COLUMNS = ("student", "assignment", "function", "points", "reason")   # "by" and "row_key" optional
# The sheet `override --sheet` writes: every graded function, points and reason left to fill in.
TEMPLATE_COLUMNS = ["student", "name", "assignment", "function", "max_points", "autograded_points", "points",
                    "reason", "row_key"]
ERRORS_SHOWN = 50


class OverrideError(Exception):
    """Bad input to ``override``; the message names what and where, and nothing was recorded."""


def verdict_key(info: dict) -> str:
    """What an override is tied to: the autograded points, maximum and reason (normalised), as a short digest."""
    text = "\0".join((_number(info.get("points")), _number(info.get("max_points")),
                      normalise_reason(str(info.get("reason") or ""))))
    return "v-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _number(value) -> str:
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError):
        return str(value)


def who() -> str:
    """The author recorded when ``--by`` is not given: the login of whoever runs the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def current(log: list[dict]) -> dict[tuple[str, str, str], dict]:
    """(student, assignment, function) -> the override in force (its last "set" event, unless removed since)."""
    found = {}
    for event in sorted(log, key=lambda e: e["id"]):
        key = (event["student"], event["assignment"], event["function"])
        if event["action"] == "set":
            found[key] = event
        else:
            found.pop(key, None)
    return found


def stale_flag(event: dict) -> str:
    return (f"override of {event['function']} ({_points(event['points'])} points, by {event['author']}) not applied: "
            f"a regrade changed its verdict since; check it, then `dropout-grader override` it again or "
            f"`--remove` it")


def apply(rows: list[dict], log: list[dict]) -> list[dict]:
    """Copies of ``rows`` with the overrides in force applied; an override whose verdict changed is flagged instead.

    An overridden function's entry keeps the autograded points as ``autograded_points`` and gets an
    ``override`` entry (points, reason, by, at); the row's ``score`` is the autograded score with
    overrides, ``autograded_score`` the score before them.
    """
    active = current(log)
    if not active:
        return rows
    out = []
    for row in rows:
        mine = {f: e for (s, a, f), e in active.items() if (s, a) == (row["student"], row["assignment"])}
        if not mine or row.get("missing"):
            out.append(row)
            continue
        functions, found_flags = dict(row["functions"]), list(row.get("flags") or [])
        score = float(row["score"])
        for function, event in sorted(mine.items()):
            info = functions.get(function)
            if info is None or verdict_key(info) != event["verdict"]:
                found_flags.append(stale_flag(event))
                continue
            functions[function] = {**info, "points": float(event["points"]), "autograded_points": info["points"],
                                   "override": {"points": float(event["points"]), "reason": event["reason"],
                                                "by": event["author"], "at": event["at"]}}
            score += float(event["points"]) - float(info["points"])
        out.append({**row, "functions": functions, "flags": found_flags, "score": round(score, 6),
                    "autograded_score": row["score"]})
    return out


def _points(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def describe(event: dict) -> str:
    """One line of the audit log. A removal names the autograded points it goes back to (and the overridden ones it
    leaves): ``old_points`` is what was shown before the change, the override's own points."""
    of = f" / {_points(event['max_points'])}"
    what = (f"set to {_points(event['points'])}{of} (was {_points(event['old_points'])})" if event["action"] == "set"
            else f"removed: back to the autograded {_points(event['autograded_points'])}{of} "
                 f"(was {_points(event['old_points'])})")
    return (f"{event['at']} {event['author']}: {event['student']}/{event['assignment']}/{event['function']} "
            f"{what}: {event['reason']}")


# ---------------------------------------------------------------------------------------------
# Checking a change before it is recorded.

def _row_index(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["student"], r["assignment"]): r for r in rows if not r.get("missing")}


def check_change(raw: dict, shown: dict, student: str, assignment: str, function: str, points_text: str | None,
                 reason: str, author: str, at: str) -> tuple[dict | None, list[str]]:
    """An event for one change, or the problems with it. ``raw`` and ``shown`` index the gradebook's rows
    without and with the overrides; ``points_text`` None means remove."""
    problems = []
    row = raw.get((student, assignment))
    if row is None:
        known = sorted({s for s, a in raw if a == assignment})
        hint = f" (graded for {assignment}: {', '.join(known[:10])}{' ...' if len(known) > 10 else ''})" if known \
            else f" (nothing graded for {assignment!r})"
        return None, [f"no graded submission of {student!r} for {assignment!r}{hint}"]
    info = row["functions"].get(function)
    if info is None:
        return None, [f"{assignment} has no graded function {function!r} (it has: "
                      f"{', '.join(sorted(row['functions'])) or 'none'})"]
    if not reason.strip():
        problems.append("no reason: every override needs one (the student reads it on the feedback page)")
    effective = float(shown[(student, assignment)]["functions"][function]["points"])
    top = float(info["max_points"])
    base = {"student": student, "assignment": assignment, "function": function, "max_points": top,
            "autograded_points": float(info["points"]), "verdict": verdict_key(info), "reason": reason.strip(),
            "author": author.strip() or who(), "at": at, "old_points": effective}
    if points_text is None:
        return (None if problems else {**base, "action": "remove", "points": None}), problems
    try:
        value = float(points_text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        problems.append(f"points {points_text!r} is not a number")
    elif value < 0:
        problems.append(f"points {points_text} is negative")
    elif value > top:
        problems.append(f"points {points_text} is more than {function}'s maximum of {_points(top)}")
    if problems:
        return None, problems
    return {**base, "action": "set", "points": value}, []


def _keys(rows: list[dict]) -> dict[str, tuple[str, str, str]]:
    """row_key -> (student, assignment, function), with the manual sheets' keys (``k-``): a key survives a
    spreadsheet that turns a student id such as "0042" into "42"."""
    from autograder.manual.sheets import row_key

    return {row_key(r["student"], r["assignment"], f): (r["student"], r["assignment"], f)
            for r in rows if not r.get("missing") for f in r["functions"]}


def _target(cells: dict, key: str, keys: dict, where: str, problems: list) -> tuple[str, str, str] | None:
    """(student, assignment, function) of a line: by its row_key when it has one, else by the cells as written."""
    if not key:
        return cells["student"], cells["assignment"], cells["function"]
    if key not in keys:
        problems.append(f"{where}: row_key {key!r} is not one the grader wrote for this gradebook (edited by hand, "
                        "or changed by a spreadsheet?): write the sheet again with `dropout-grader override --sheet`")
        return None
    found = keys[key]
    said = (cells["assignment"], cells["function"])
    if any(given and given != real for given, real in zip(said, found[1:])):  # an empty cell says nothing
        problems.append(f"{where}: row_key {key!r} is the key of {'/'.join(found)}, but the line says "
                        f"{'/'.join(said)}")
        return None
    return found


def read_sheets(paths, raw_rows: list[dict], shown_rows: list[dict], author: str, at: str):
    """Every line of every sheet checked: (events, problems naming file and line).

    A line with a ``row_key`` is matched by it (the student cell is then only for the reader); a line
    of a written template with neither points nor reason is left out."""
    from autograder.course.csv_input import read_table

    raw, shown = _row_index(raw_rows), _row_index(shown_rows)
    keys = _keys(raw_rows)
    events, problems, seen = [], [], {}
    for path in map(Path, paths):
        try:
            reader, header = read_table(path, SHEET_COLUMNS, "override sheet", OverrideError, semicolons=True)
        except OverrideError as err:
            problems.append(str(err))
            continue
        try:
            for record in reader:
                line = reader.line_num  # where the record ends: blank lines are skipped, so never count records
                if None in record:  # more cells than the header names
                    problems.append(f"{path} line {line}: more cells than the header has columns")
                    continue
                cells = {c: _cell(record.get(header[c])) for c in SHEET_COLUMNS}
                if reader.reader.dialect.delimiter == ";" and cells["points"].count(",") == 1:
                    cells["points"] = cells["points"].replace(",", ".")  # "2,5" from a decimal-comma locale
                by = _cell(record.get(header["by"])) if "by" in header else ""
                line_key = _cell(record.get(header["row_key"])) if "row_key" in header else ""
                if not any(cells.values()):
                    continue  # a blank line a spreadsheet left
                if line_key and not (cells["points"] or cells["reason"]):
                    continue  # a line of the written template nobody filled in
                where = f"{path} line {line}"
                key = _target(cells, line_key, keys, where, problems)
                if key is None:
                    continue
                if key in seen:
                    problems.append(f"{where}: {'/'.join(key)} again (already on {seen[key]})")
                    continue
                seen[key] = where
                if not cells["points"]:
                    problems.append(f"{where}: no points (write the new points; to remove an override use "
                                    "`dropout-grader override --remove`)")
                    continue
                event, found = check_change(raw, shown, *key, cells["points"], cells["reason"], by or author, at)
                problems += [f"{where}: {p}" for p in found]
                if event:
                    events.append(event)
        except csv.Error as err:  # a quote never closed, a NUL byte
            problems.append(f"{path} line {reader.line_num}: {err}")
    return events, problems


def _cell(value) -> str:
    """A cell as written, stripped, without the ' a spreadsheet-safe export puts before a formula-like cell."""
    text = (value or "").strip() if isinstance(value, str) else ""
    return text[1:] if text.startswith("'") and text[1:2] in ("=", "+", "-", "@") else text


def fail(problems: list[str]) -> OverrideError:
    shown = problems[:ERRORS_SHOWN]
    more = f"\n  ... and {len(problems) - ERRORS_SHOWN} more" if len(problems) > ERRORS_SHOWN else ""
    return OverrideError(f"nothing was recorded; {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)


def record(gradebook, events: list[dict]) -> int:
    """All ``events`` in one transaction, or none (a regrade since they were checked rolls back)."""
    try:
        return gradebook.add_override_events(events)
    except LookupError as err:
        raise OverrideError(f"nothing was recorded: {err}; run the command again") from err


def change(gradebook, student: str, assignment: str, function: str, points: str | None, reason: str,
           author: str = "") -> dict:
    """Set (``points`` given) or remove (None) one override; returns the event recorded."""
    event, problems = check_change(_row_index(gradebook.rows(overrides=False)), _row_index(gradebook.rows()),
                                   student, assignment, function, points, reason, author or who(), now())
    if points is None and event is not None:
        key = (student, assignment, function)
        if key not in current(gradebook.override_log()):
            problems, event = [f"{'/'.join(key)} has no override to remove"], None
    if problems:
        raise fail(problems)
    record(gradebook, [event])
    return event


def import_sheets(paths, gradebook, author: str = "") -> list[dict]:
    events, problems = read_sheets(paths, gradebook.rows(overrides=False), gradebook.rows(), author or who(), now())
    if problems:
        raise fail(problems)
    record(gradebook, events)
    return events


def listing(gradebook, assignments=None) -> list[str]:
    """The overrides in force, one line each, those a regrade left for review marked."""
    raw = _row_index(gradebook.rows(overrides=False))
    lines = []
    for (student, assignment, function), event in sorted(current(gradebook.override_log()).items()):
        if assignments and assignment not in assignments:
            continue
        info = (raw.get((student, assignment)) or {}).get("functions", {}).get(function)
        state = "" if info is not None and verdict_key(info) == event["verdict"] else \
            "  [NOT APPLIED: the verdict changed in a regrade; review it]"
        lines.append(f"{student}/{assignment}/{function}: {_points(event['points'])} / "
                     f"{_points(event['max_points'])} (autograded {_points(event['autograded_points'])}), "
                     f"by {event['author']} at {event['at']}: {event['reason']}{state}")
    return lines


def write_sheet(gradebook, path: Path, assignments=None, names: dict[str, str] | None = None) -> int:
    """A sheet to fill in: one line per graded function of every submission, with its row_key; returns the lines.

    Lines left without points and reason are skipped by ``--import``; the student and name cells are
    for the reader (the row_key says whose line it is)."""
    import io

    from autograder.collect.course_roster import clean
    from autograder.course.files import write_bytes_atomically
    from autograder.export.grades import spreadsheet_safe
    from autograder.manual.sheets import row_key

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TEMPLATE_COLUMNS)
    count = 0
    for row in sorted(gradebook.rows(overrides=False), key=lambda r: (r["assignment"], r["student"])):
        if row.get("missing") or (assignments and row["assignment"] not in assignments):
            continue
        for function, info in sorted(row["functions"].items()):
            writer.writerow([spreadsheet_safe(v) for v in (
                row["student"], clean((names or {}).get(row["student"], "")), row["assignment"], function,
                _points(info["max_points"]), _points(info["points"]), "", "",
                row_key(row["student"], row["assignment"], function))])
            count += 1
    write_bytes_atomically(Path(path), buffer.getvalue().encode("utf-8", "replace"), prefix=".overrides")
    return count
