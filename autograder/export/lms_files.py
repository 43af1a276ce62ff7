"""Grade files in the formats the LMSs import: Canvas's gradebook CSV, Moodle's grading worksheet, Gradescope's scores.

Every score is ``export.row_total`` (late penalty included); every cell goes through
``export.spreadsheet_safe``, since names come from file names. Who is who comes from the roster
(id, name, email, and its LMS id columns ``canvas_id``, ``moodle_id``, ``gradescope_sid``) and
from what collect recorded of the LMS export (``submission.json``: the Canvas user id, the Moodle
participant number, the Gradescope SID and email); the roster's ids come first.

- ``canvas_gradebook.csv``: Canvas's gradebook import. Columns ``Student, ID, SIS User ID,
  SIS Login ID, Section``, then one per assignment, titled ``ch02 (123456)`` when the course file
  gives Canvas's id for it ([canvas] assignment_ids), else ``ch02`` (Canvas then matches the title
  or creates the assignment). The second line is Canvas's "Points Possible" row. Canvas matches a
  student by ID (its user id, known when collected from a Canvas export), then SIS User ID (the
  roster id), then name. An empty cell changes nothing in Canvas.
- ``moodle_<assignment>.csv``: Moodle's offline grading worksheet (one per assignment, as Moodle
  has one per assignment). Moodle matches rows only by ``Identifier`` ("Participant 1001", the
  number in the names of Moodle's download). Moodle numbers participants per assignment, so the
  number is the one recorded with that very submission, else the roster's ``moodle_id``, never
  one from another assignment; rows without one are listed as a warning.
  Moodle reads a worksheet's grade on the assignment's own scale ("Maximum grade", 100 by
  default), not on ours: the grades are scaled to ``scale`` (``export --moodle-scale`` or
  course.toml's ``[moodle] max``) when given, else written as raw points with a warning. Its
  "Feedback comments" are ``comments.lms_comment``, the one the hand-back's comments.csv carries too.
- ``gradescope_<assignment>.csv``: Gradescope's assignment scores layout, one column per question
  (here: per function and written answer, in the notebook's order). ``Submission ID`` is Gradescope's, from
  the ``submission_<id>`` folder collect recorded; ``Submission Time`` is in UTC. Lateness is filled in only from a submission time an
  LMS or the instructor recorded (``deadlines.TRUSTED_SOURCES``; file times only with
  ``trust_file_times``): a file's own time can be days off.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder.export.comments import amount, lms_comment
from autograder.export.missing_rows import full_marks
from autograder.course.deadlines import FILE_TIME_SOURCES, TRUSTED_SOURCES, Policy, due_date
from autograder.export.grades import by_student, row_total, spreadsheet_safe

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_POSSIBLE = "    Points Possible"  # as Canvas writes it; its importer looks for "Points Possible"
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
MOODLE_PARTICIPANT = "Participant "
MOODLE_DATE = "%A, %d %B %Y, %I:%M %p"  # Moodle's strftimedatetime; its importer reads it with strtotime()
GRADESCOPE_COLUMNS = ["First Name", "Last Name", "SID", "Email", "Sections", "Total Score", "Max Points", "Status",
                      "Submission ID", "Submission Time", "Lateness (H:M:S)", "View Count", "Submission Count"]
GRADESCOPE_TIME = "%Y-%m-%d %H:%M:%S %z"


@dataclass(frozen=True)
class Identity:
    """One student as the LMSs know them."""

    student: str                                # the folder name in the course (the roster id with a roster)
    name: str = ""
    email: str = ""
    sis_id: str = ""                            # the roster's id
    lms_ids: dict = field(default_factory=dict)  # lms -> its own id for this student


def _recorded_ids(recorded) -> dict:
    """LMS ids collect recorded that hold across assignments: Canvas user ids and Gradescope SIDs.

    Moodle's participant numbers are per assignment (see ``moodle_participant``); Canvas's
    anonymous ids name no one.
    """
    return {i.lms: i.lms_id for i in recorded
            if i.lms in ("canvas", "gradescope") and i.lms_id and not i.lms_id.startswith("anon_")}


def identities(students, roster=None, infos=None) -> dict[str, Identity]:
    """An Identity per student: the roster's entries first (with their LMS id columns), then what each
    submission.json says."""
    by_id = {entry.id: entry for entry in roster or ()}
    recorded_for = {}
    for (student, _), info in sorted((infos or {}).items()):
        if info is not None:
            recorded_for.setdefault(student, []).append(info)
    found = {}
    for student in sorted(set(students) | set(by_id)):
        entry = by_id.get(student)
        recorded = recorded_for.get(student, [])
        lms_ids = _recorded_ids(recorded)
        for lms in ("canvas", "moodle", "gradescope"):
            given = getattr(entry, f"{lms}_id" if lms != "gradescope" else "gradescope_sid", "") if entry else ""
            if given:
                lms_ids[lms] = given
        name = entry.name if entry and entry.name else next((i.name for i in recorded if i.name), "")
        email = entry.email if entry and entry.email else next((i.email for i in recorded if i.email), "")
        found[student] = Identity(student, name or student, email, entry.id if entry else "", lms_ids)
    return found


def _number(value: float):
    """A score as a plain number: no float noise, whole numbers without '.0'."""
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value


def _write(path: Path, lines) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8", errors="replace") as fh:
        csv.writer(fh).writerows([spreadsheet_safe(cell) for cell in line] for line in lines)
    return path


def _assignments(rows: list[dict]) -> list[str]:
    return sorted({r["assignment"] for r in rows})


def canvas_lines(rows: list[dict], people: dict[str, Identity], canvas_ids: dict | None = None):
    assignments = _assignments(rows)
    canvas_ids = canvas_ids or {}
    yield CANVAS_COLUMNS + [f"{a} ({canvas_ids[a]})" if a in canvas_ids else a for a in assignments]
    yield [CANVAS_POINTS_POSSIBLE, "", "", "", ""] + [_number(full_marks(rows, a)) for a in assignments]
    grouped = by_student(rows)
    for student, person in sorted(people.items()):
        scores = {r["assignment"]: _number(row_total(r)[0]) for r in grouped.get(student, [])}
        yield ([person.name, person.lms_ids.get("canvas", ""), person.sis_id, "", ""]
               + [scores.get(a, "") for a in assignments])


def _moodle_date(moment: datetime | None) -> str:
    return moment.astimezone().strftime(MOODLE_DATE) if moment else ""


def moodle_participant(person: Identity, info) -> str:
    """The participant number of one submission: the one Moodle wrote with it, else the roster's moodle_id."""
    if info is not None and info.lms == "moodle" and info.lms_id:
        return info.lms_id
    return person.lms_ids.get("moodle", "")


def moodle_lines(rows: list[dict], people: dict[str, Identity], infos: dict, now: datetime,
                 scale: float | None = None):
    """The worksheet of one assignment (``rows`` are that assignment's); grades scaled to ``scale`` when given."""
    yield MOODLE_COLUMNS
    marks = {a: full_marks(rows, a) for a in _assignments(rows)}
    for row in sorted(rows, key=lambda r: r["student"]):
        person = people[row["student"]]
        info = infos.get((row["student"], row["assignment"]))
        participant = moodle_participant(person, info)
        raw, full = row_total(row)[0], marks[row["assignment"]]
        points = (raw / full * scale if full else 0.0) if scale else raw
        grade, maximum = f"{points:.2f}", f"{scale if scale else full:.2f}"
        # The comment's total is the Grade column's, and the points it was scaled from, which the rest counts in.
        total = f"{grade} / {maximum}" + (f" ({amount(raw)} of {amount(full)} points)" if scale else "")
        yield [MOODLE_PARTICIPANT + participant if participant else "", person.name, person.email,
               "No submission" if row.get("missing") else "Submitted for grading", grade, maximum, "Yes",
               _moodle_date(info.submitted_at if info else None), _moodle_date(now), lms_comment(row, total)]


def split_name(name: str) -> tuple[str, str]:
    """(first, last): "Smith, Ann" and "Ann Smith" give ("Ann", "Smith"); one word is a first name."""
    if "," in name:
        last, first = (part.strip() for part in name.split(",", 1))
        return first, last
    words = name.split()
    return (" ".join(words[:-1]), words[-1]) if len(words) > 1 else (name.strip(), "")


def trusted_time(policy: Policy | None, info) -> bool:
    """Whether a submission's recorded time may decide lateness: an LMS's or the instructor's record, or a file's
    own time where the course file says to trust those."""
    if info is None or info.submitted_at is None:
        return False
    return info.source in TRUSTED_SOURCES or (info.source in FILE_TIME_SOURCES and policy is not None
                                              and policy.late.trust_file_times)


def _lateness(policy: Policy | None, row: dict, info) -> str:
    if policy is None or not trusted_time(policy, info):
        return ""
    due, _ = due_date(policy, row["student"], row["assignment"])
    if due is None:
        return ""
    seconds = max(0, int((info.submitted_at - due) / timedelta(seconds=1)))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _notebook_order(assignment: str) -> list[str]:
    from autograder.release.sources import graded_order  # parses the exercise source: only when needed
    try:
        return graded_order(assignment)
    except (FileNotFoundError, ValueError):  # no source for it (an assignment of another course file)
        return []


def _questions(rows: list[dict]) -> list[tuple[str, float]]:
    """Every function and written answer of the assignment, with its points, in the notebook's order (any the
    notebook no longer has after those, by name)."""
    maxima = {}
    for row in rows:
        for name, info in {**row["functions"], **(row.get("written") or {})}.items():
            maxima[name] = max(maxima.get(name, 0.0), float(info["max_points"]))
    place = {name: n for n, name in enumerate(_notebook_order(rows[0]["assignment"]) if rows else ())}
    return sorted(maxima.items(), key=lambda item: (place.get(item[0], len(place)), item[0]))


def gradescope_lines(rows: list[dict], people: dict[str, Identity], infos: dict, policy: Policy | None = None):
    """The scores of one assignment (``rows`` are that assignment's)."""
    questions = _questions(rows)
    yield GRADESCOPE_COLUMNS + [f"{n}: {name} ({points:.1f} pts)" for n, (name, points) in enumerate(questions, 1)]
    marks = {a: full_marks(rows, a) for a in _assignments(rows)}
    for row in sorted(rows, key=lambda r: r["student"]):
        person = people[row["student"]]
        info = infos.get((row["student"], row["assignment"]))
        first, last = split_name(person.name)
        pending = any(w.get("points") is None for w in (row.get("written") or {}).values())
        status = "Missing" if row.get("missing") else "Ungraded" if pending else "Graded"
        # Only a time the LMS or the instructor recorded (or file times the course file trusts), as for lateness.
        # In UTC: one offset for the whole file, whichever LMS or time zone each time came from.
        when = info.submitted_at.astimezone(timezone.utc).strftime(GRADESCOPE_TIME) if trusted_time(policy, info) else ""
        given = {**row["functions"], **(row.get("written") or {})}
        yield ([first, last, person.sis_id or person.lms_ids.get("gradescope", "") or person.student, person.email,
                "", _number(row_total(row)[0]), _number(marks[row["assignment"]]), status,
                info.gradescope_submission if info else "", when,
                _lateness(policy, row, info), "", ""]
               + [_number(given[name]["points"]) if name in given and given[name].get("points") is not None else ""
                  for name, _ in questions])


def _file_part(assignment: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", assignment) or "assignment"


def moodle_scales(rows: list[dict], policy: Policy | None, scale: float | None) -> dict[str, float]:
    """assignment -> the maximum grade to scale its worksheet to: ``scale`` for every one, else course.toml's."""
    given = dict(policy.moodle_max) if policy is not None else {}
    return {a: scale if scale else given[a] for a in _assignments(rows) if scale or a in given}


def write_lms_files(rows: list[dict], out: Path, people: dict[str, Identity], infos: dict | None = None,
                    policy: Policy | None = None, now: datetime | None = None,
                    moodle_scale: float | None = None) -> tuple[dict[str, Path], list[str]]:
    """Write the Canvas, Moodle and Gradescope files into ``out``; returns their paths and warnings to show.

    ``moodle_scale`` scales every Moodle worksheet to that maximum grade (else course.toml's
    ``[moodle] max`` per assignment, else raw points and a warning)."""
    infos = infos or {}
    now = now or datetime.now().astimezone()
    paths = {"canvas": _write(out / "canvas_gradebook.csv",
                              canvas_lines(rows, people, policy.canvas_ids if policy else None))}
    warnings = []
    scales = moodle_scales(rows, policy, moodle_scale)
    for assignment in _assignments(rows):
        of_assignment = [r for r in rows if r["assignment"] == assignment]
        part = _file_part(assignment)
        paths[f"moodle {assignment}"] = _write(out / f"moodle_{part}.csv",
                                               moodle_lines(of_assignment, people, infos, now, scales.get(assignment)))
        unknown = sorted(r["student"] for r in of_assignment
                         if not moodle_participant(people[r["student"]], infos.get((r["student"], assignment))))
        on_moodle = len(unknown) < len(of_assignment)  # no one with a participant number: the class is not on Moodle
        if assignment not in scales and on_moodle:
            full = _number(full_marks(rows, assignment))
            warnings.append(f"moodle_{part}.csv: grades are raw points out of {full}, but Moodle reads them on the "
                            f"assignment's own maximum grade (100 by default): set that to {full} in Moodle, or "
                            f"scale with `export --moodle-scale 100` or course.toml's [moodle] max = "
                            f"{{ {assignment} = 100 }}")
        paths[f"gradescope {assignment}"] = _write(out / f"gradescope_{part}.csv",
                                                   gradescope_lines(of_assignment, people, infos, policy))
        if unknown and on_moodle:
            warnings.append(f"moodle_{part}.csv: no Moodle participant number for {', '.join(unknown)}; "
                            f"Moodle will skip their rows (collect them from Moodle's download to record it)")
    return paths, warnings
