"""What collect records beside each collected notebook (``submission.json``), and the instructor's times CSV.

``submission.json`` holds when the notebook was handed in and how that is known (``source``),
the SHA-256 of the notebook it describes, and who the LMS says sent it (its name for the LMS,
the LMS's own id: Canvas user id, Moodle participant number, Gradescope SID, Blackboard login;
name and email where the export gives them), the file's name in the export, the LMS's order
of submissions (``order``: ``canvas-attachment:<id>``, ``blackboard-attempt:<time>``,
``gradescope-created:<time>``, comparable within one kind; collect replaces a submission only by
a newer one by it) and how the roster matched the person. Late penalties and the LMS import
files read it; readers ignore fields they do not know.

Sources of the time, most to least trusted: ``timestamps.csv`` (the instructor's, via
``collect --timestamps``), ``gradescope`` (``created_at`` in its metadata), ``blackboard`` (the
attempt's time in the prefix Blackboard writes, read in course.toml's ``[lms] timezone``; never
the student's part of the name), ``canvas-late-marker`` (Canvas put ``LATE`` in the name; the
time is the file's own) and ``file-mtime`` (the file's own time, which an LMS may not have set).
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from autograder.course.deadlines import parse_time
from autograder.course.files import write_bytes_atomically
from autograder.course.layout import ASSIGNMENTS, Course
from autograder.course.csv_input import read_table

SOURCES = ("timestamps.csv", "gradescope", "blackboard", "canvas-late-marker", "file-mtime")
# The folder Gradescope's export gives each submission; collect's naming styles read it with this pattern too.
GRADESCOPE_FOLDER = r"submission_(?P<submission>\d+)"
MAX_BYTES = 64 * 1024  # a sidecar is a few hundred bytes; anything larger was not written by collect


@dataclass(frozen=True)
class SubmissionInfo:
    submitted_at: datetime | None = None
    source: str | None = None
    sha256: str = ""
    lms: str = ""
    lms_id: str = ""
    name: str = ""
    email: str = ""
    export_file: str = ""   # the file's name in the LMS export, as the LMS wrote it
    order: str = ""         # the LMS's order of submissions, "<kind>:<value>" (Canvas attachment id, Blackboard attempt, ...)
    matched_by: str = ""    # how the roster matched the LMS's person (canvas_id, email, name, ...), "" without a roster
    time_note: str = ""     # why a time the LMS wrote was not used (e.g. no LMS time zone set)

    @property
    def gradescope_submission(self) -> str:
        """Gradescope's submission id, from the folder the file came in ("" for another LMS or none recorded).

        The first such folder of the path is Gradescope's; one further down is the student's own.
        """
        if self.lms != "gradescope":
            return ""
        found = (re.fullmatch(GRADESCOPE_FOLDER, part) for part in self.export_file.split("/"))
        return next((m["submission"] for m in found if m), "")

    def to_json(self) -> str:
        data = asdict(self)
        data["submitted_at"] = self.submitted_at.isoformat() if self.submitted_at else None
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SubmissionInfo | None:
        """None for anything that is not a sidecar as collect writes it."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                return None
            known = {f.name for f in fields(cls)}
            values = {k: v for k, v in data.items() if k in known and (v is None or isinstance(v, str))}
            when = values.get("submitted_at")
            values["submitted_at"] = parse_time(when) if when else None
            if values.get("source") not in (*SOURCES, None):
                return None
            return cls(**values)
        except (ValueError, TypeError, RecursionError):
            return None


def from_epoch(seconds: float | None) -> datetime | None:
    """A POSIX time as an aware UTC datetime (UTC, so the file reads the same on every machine)."""
    if not seconds or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def write(path: Path, info: SubmissionInfo) -> None:
    """Write beside the notebook through a new file and a rename: never half a file, never through a link."""
    write_bytes_atomically(path, info.to_json().encode("utf-8"), prefix=".submission")


def read(course: Path, student: str, assignment: str) -> SubmissionInfo | None:
    """The sidecar of one submission, or None (none recorded, e.g. collected before they existed)."""
    path = Course(Path(course)).submission_info(student, assignment)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_BYTES:
        return None
    return SubmissionInfo.from_json(data.decode("utf-8", "replace"))


def times(course: Path, rows: list[dict]) -> dict:
    """(student, assignment) -> (submitted_at or None, source or None) for the rows' submissions."""
    found = {}
    for row in rows:
        info = read(course, row["student"], row["assignment"])
        found[row["student"], row["assignment"]] = (info.submitted_at, info.source) if info else (None, None)
    return found


def read_timestamps(path: Path) -> dict:
    """The instructor's times: a CSV with columns ``student``, ``assignment``, ``submitted_at`` (ISO 8601, timezone).

    Returns ``{(student casefolded, assignment): (submitted_at, student as written, line)}``.
    Raises ValueError listing every bad line; nothing is used then.
    """
    path = Path(path)
    reader, header = read_table(path, ("student", "assignment", "submitted_at"), "times file")
    found, problems = {}, []
    for line, row in enumerate(reader, start=2):
        student, assignment, when = ((row.get(header[c]) or "").strip()
                                     for c in ("student", "assignment", "submitted_at"))
        if not (student or assignment or when):
            continue
        if not student:
            problems.append(f"line {line}: no student")
        if assignment not in ASSIGNMENTS:
            problems.append(f"line {line}: unknown assignment {assignment!r}; choose from {', '.join(ASSIGNMENTS)}")
        try:
            moment = parse_time(when)
        except ValueError as err:
            problems.append(f"line {line}: submitted_at {when!r} {err}: write e.g. 2026-10-05T23:59:00+02:00")
            continue
        key = (student.casefold(), assignment)
        if key in found and found[key][0] != moment:
            problems.append(f"line {line}: {student}/{assignment} already has another time on line {found[key][2]}")
        found.setdefault(key, (moment, student, line))
    if problems:
        raise ValueError(f"times file {path}:\n  " + "\n  ".join(problems))
    return found
