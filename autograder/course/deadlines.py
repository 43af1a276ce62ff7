"""Due dates, extensions and the late policy of a course, from ``COURSE/course.toml``; pure (no I/O but reading it).

The course file, COURSE/course.toml (every table optional):

    [due]                       # one due date per assignment, ISO 8601 with its timezone
    ch02 = 2026-10-05T23:59:00+02:00
    ch03 = "2026-10-12T23:59:00+02:00"     # a quoted string works too

    [extensions]                # per student (the folder name collect gave them): a new due date, or days added
    "Ann_Smith_1001" = { ch02 = "2026-10-07T23:59:00+02:00" }
    bob = { ch03 = 2 }

    [late]
    per_day = 0.10              # fraction of the points earned taken per day late (partial days round up)
    max = 0.5                   # the most a late penalty takes ...
    after_max = "cap"           # ... "cap": never more than max; "zero": no points once the penalty passes max
    grace_minutes = 15          # this late still counts as on time; past it, lateness counts from the due date
    trust_file_times = false    # a file's own time (not an LMS's record) decides lateness only if true

    [canvas]
    assignment_ids = { ch02 = 123456 }     # Canvas's ids, for "ch02 (123456)" columns in the Canvas import file

    [lms]
    timezone = "America/New_York"          # the LMS's time zone (IANA name): Blackboard's attempt times are in it

    [moodle]
    max = { ch02 = 100 }                   # the assignment's maximum grade in Moodle: the worksheet is scaled to it

A late penalty takes its fraction of the points a submission earned. The submission time is
the one collect recorded beside the notebook (submission.json): Gradescope's metadata,
Blackboard's attempt time, or a time given with `collect --timestamps times.csv`. A file's own
time (and Canvas's LATE marker, which comes without a time) decides nothing unless
trust_file_times is true: without a trusted time there is no penalty, and the CSV's flags say so.
The penalty is applied when grades are exported or feedback is written, never stored in the
gradebook, so a changed course file takes effect on the next export.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from autograder.course.layout import ASSIGNMENTS

COURSE_FILE = "course.toml"
# Where each submission time came from; the first three are records an LMS or the instructor made.
TRUSTED_SOURCES = ("gradescope", "blackboard", "timestamps.csv")
FILE_TIME_SOURCES = ("file-mtime", "canvas-late-marker")
_LATE_KEYS = {"per_day", "max", "after_max", "grace_minutes", "trust_file_times"}
_TOP_KEYS = {"due", "extensions", "late", "canvas", "lms", "moodle"}


class CourseFileError(ValueError):
    """The course file cannot be used as it is; every problem is listed, with its line."""


@dataclass(frozen=True)
class LateRule:
    per_day: float = 0.0
    max: float = 1.0
    after_max: str = "cap"
    grace_minutes: float = 0.0
    trust_file_times: bool = False


@dataclass(frozen=True)
class Policy:
    due: dict = field(default_factory=dict)          # assignment -> aware datetime
    extensions: dict = field(default_factory=dict)   # (student, assignment) -> aware datetime or timedelta
    late: LateRule = LateRule()
    canvas_ids: dict = field(default_factory=dict)   # assignment -> Canvas assignment id
    lms_timezone: tzinfo | None = None               # [lms] timezone: the zone of times an LMS writes without one
    moodle_max: dict = field(default_factory=dict)   # [moodle] max: assignment -> Moodle's maximum grade
    path: Path | None = None


@dataclass(frozen=True)
class Penalty:
    """What lateness costs one submission: ``fraction`` of the points earned (1.0 = all of them).

    ``flag`` is for the instructor (a time that is missing or not trusted); it never changes a point.
    """

    fraction: float = 0.0
    days_late: int = 0
    reason: str = ""
    flag: str | None = None

    @property
    def late(self) -> bool:
        """Past the due date and its grace period, so counted as late (even where the rate makes it cost nothing);
        a submission within the grace period has a reason saying so, but no day late."""
        return self.days_late > 0


def parse_time(value) -> datetime:
    """An aware datetime from a TOML datetime or an ISO 8601 string; ValueError without a timezone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as err:
            raise ValueError("is not a date and time") from err
    if isinstance(value, date) and not isinstance(value, datetime):
        raise ValueError("is a date without a time")
    if not isinstance(value, datetime):
        raise ValueError("is not a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("has no timezone")
    return value


def _shown(value) -> str:
    """A value from the course file as it was written there."""
    return value.isoformat() if isinstance(value, date) else repr(value)


def show_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %z").replace("+0000", "UTC")


# ---------------------------------------------------------------------------------------------
# Reading and checking the course file.

def _key_pattern(key: str) -> str:
    return rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*="""


def _line_of(lines: list[str], table: str | None, key: str | None) -> int | None:
    """The line where ``key`` is set inside ``[table]`` (or where the table starts); None if not found."""
    current, table_line = None, None
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        header = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]\s*(#.*)?", text)
        if header:
            current = header.group(1).strip().strip("\"'")
            if table is None and current == key:
                return number
            if table is not None and current == table and table_line is None:
                if key is None:
                    return number
                table_line = number
            continue
        if key is not None and current == table and re.match(_key_pattern(key), text):
            return number
    return table_line


class _Problems:
    def __init__(self, path: Path, text: str):
        self.path, self.lines, self.found = path, text.splitlines(), []

    def add(self, table: str | None, key: str | None, message: str) -> None:
        line = _line_of(self.lines, table, key)
        where = f"line {line}" if line else "somewhere"
        name = ".".join(p for p in (table, key) if p)
        self.found.append(f"{where}: {name}: {message}" if name else f"{where}: {message}")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _due(table, problems: _Problems) -> dict:
    due = {}
    if not isinstance(table, dict):
        problems.add("due", None, "must be a table of assignment = due date")
        return due
    for assignment, value in table.items():
        if assignment not in ASSIGNMENTS:
            problems.add("due", assignment, f"unknown assignment; choose from {', '.join(ASSIGNMENTS)}")
            continue
        try:
            due[assignment] = parse_time(value)
        except (ValueError, TypeError) as err:
            problems.add("due", assignment, f"{_shown(value)} {err}: write a date, time and timezone, "
                                            f"e.g. 2026-10-05T23:59:00+02:00")
    return due


def _extensions(table, due: dict, problems: _Problems) -> dict:
    extensions = {}
    if not isinstance(table, dict):
        problems.add("extensions", None, "must be a table of student = { assignment = new due date or days }")
        return extensions
    for student, given in table.items():
        if not isinstance(given, dict):
            problems.add("extensions", student, "must be a table like { ch02 = \"2026-10-07T23:59:00+02:00\" } "
                                                "or { ch02 = 2 } (days)")
            continue
        for assignment, value in given.items():
            if assignment not in ASSIGNMENTS:
                problems.add("extensions", student, f"unknown assignment {assignment!r}; choose from "
                                                    f"{', '.join(ASSIGNMENTS)}")
            elif assignment not in due:
                problems.add("extensions", student, f"{assignment} has no due date in [due] to extend")
            elif _number(value):
                if value < 0:
                    problems.add("extensions", student, f"{assignment}: {value} days is negative")
                else:
                    extensions[student, assignment] = timedelta(days=value)
            else:
                try:
                    extensions[student, assignment] = parse_time(value)
                except (ValueError, TypeError) as err:
                    problems.add("extensions", student, f"{assignment}: {_shown(value)} {err}: write a number of days "
                                                        f"or a date, time and timezone")
    return extensions


def _late(table, problems: _Problems) -> LateRule:
    if not isinstance(table, dict):
        problems.add("late", None, "must be a table")
        return LateRule()
    for key in sorted(set(table) - _LATE_KEYS):
        problems.add("late", key, f"unknown key; the [late] keys are {', '.join(sorted(_LATE_KEYS))}")
    values = {}
    for key, low, high in (("per_day", 0, 1), ("max", 0, 1), ("grace_minutes", 0, None)):
        if key not in table:
            continue
        value = table[key]
        if not _number(value):
            problems.add("late", key, f"{value!r} is not a number")
        elif value < low:
            problems.add("late", key, f"{value} is negative")
        elif high is not None and value > high:
            problems.add("late", key, f"{value} is more than {high} (a fraction: 0.1 means 10%)")
        else:
            values[key] = float(value)
    if "after_max" in table:
        if table["after_max"] in ("cap", "zero"):
            values["after_max"] = table["after_max"]
        else:
            problems.add("late", "after_max", f"{table['after_max']!r}: choose \"cap\" or \"zero\"")
    if "trust_file_times" in table:
        if isinstance(table["trust_file_times"], bool):
            values["trust_file_times"] = table["trust_file_times"]
        else:
            problems.add("late", "trust_file_times", "must be true or false")
    return LateRule(**values)


def _per_assignment(table, problems: _Problems, section: str, key: str, example: str, read) -> dict:
    """``[section] key = { chNN = value, ... }``: one value per assignment, each checked by ``read``.

    ``read(assignment, value)`` returns the value to keep, or a sentence saying what is wrong with it.
    """
    if not isinstance(table, dict):
        problems.add(section, None, "must be a table")
        return {}
    for unknown in sorted(set(table) - {key}):
        problems.add(section, unknown, f"unknown key; the [{section}] key is {key}")
    given = table.get(key, {})
    if not isinstance(given, dict):
        problems.add(section, key, f"must be a table like {example}")
        return {}
    found = {}
    for assignment, value in given.items():
        if assignment not in ASSIGNMENTS:
            problems.add(section, key, f"unknown assignment {assignment!r}; choose from {', '.join(ASSIGNMENTS)}")
            continue
        kept = read(assignment, value)
        if isinstance(kept, str):
            problems.add(section, key, kept)
        else:
            found[assignment] = kept
    return found


def _canvas_id(assignment, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return f"{assignment}: {value!r} is not a Canvas id (a positive whole number, as in the assignment's address)"
    return value


def _moodle_max(assignment, value):
    if not _number(value) or value <= 0:
        return (f"{assignment}: {_shown(value)} is not a maximum grade (a positive number, "
                f"as the assignment's 'Maximum grade' in Moodle)")
    return float(value)


def _canvas(table, problems: _Problems) -> dict:
    """``[canvas] assignment_ids``: each assignment's Canvas id, for the gradebook import file."""
    return _per_assignment(table, problems, "canvas", "assignment_ids", "{ ch02 = 123456 }", _canvas_id)


def _moodle(table, problems: _Problems) -> dict:
    """``[moodle] max``: the maximum grade each assignment has in Moodle, so the worksheet's grades are scaled to it."""
    return _per_assignment(table, problems, "moodle", "max", "{ ch02 = 100 }", _moodle_max)


def _lms(table, problems: _Problems) -> tzinfo | None:
    """``[lms] timezone``: an IANA name such as "America/New_York", never a bare offset (offsets miss DST)."""
    if not isinstance(table, dict):
        problems.add("lms", None, "must be a table")
        return None
    for key in sorted(set(table) - {"timezone"}):
        problems.add("lms", key, "unknown key; the [lms] key is timezone")
    name = table.get("timezone")
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    example = 'write the LMS\'s time zone as its IANA name, e.g. timezone = "America/New_York"'
    if not isinstance(name, str) or not name.strip():
        problems.add("lms", "timezone", f"{_shown(name)} is not a time zone name: {example}")
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        problems.add("lms", "timezone", f"{name!r} is not a known time zone: {example} (see the tz database; "
                                        f"if no name is known at all, pip install tzdata)")
        return None


def load_course_file(path: Path) -> Policy:
    """Read and check ``course.toml``; CourseFileError lists every problem with its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CourseFileError(f"cannot read the course file {path}: {err}") from err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # its message names the line and column
        raise CourseFileError(f"{path} is not valid TOML: {err}") from err
    problems = _Problems(path, text)
    for key in sorted(set(data) - _TOP_KEYS):
        problems.add(None, key, f"unknown key; a course file holds the tables {', '.join(sorted(_TOP_KEYS))}")
    due = _due(data.get("due", {}), problems)
    policy = Policy(due=due, extensions=_extensions(data.get("extensions", {}), due, problems),
                    late=_late(data.get("late", {}), problems), canvas_ids=_canvas(data.get("canvas", {}), problems),
                    lms_timezone=_lms(data.get("lms", {}), problems),
                    moodle_max=_moodle(data.get("moodle", {}), problems), path=path)
    if problems.found:
        raise CourseFileError(f"{path}:\n  " + "\n  ".join(problems.found))
    return policy


# ---------------------------------------------------------------------------------------------
# The penalty of one submission.

def due_date(policy: Policy, student: str, assignment: str) -> tuple[datetime | None, bool]:
    """The due date that holds for this student, and whether an extension made it."""
    due = policy.due.get(assignment)
    extension = policy.extensions.get((student, assignment))
    if due is None or extension is None:
        return due, False
    return (due + extension if isinstance(extension, timedelta) else extension), True


def show_duration(delta: timedelta) -> str:
    """``2 days 3 hours``, ``2 days 31 minutes``, ``1 second``: days, hours and minutes, seconds only alone."""
    seconds = int(delta.total_seconds())
    units = [("day", seconds // 86400), ("hour", seconds % 86400 // 3600), ("minute", seconds % 3600 // 60)]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for unit, n in units if n]
    return " ".join(shown) or f"{seconds} second{'s' if seconds != 1 else ''}"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.4g}%"


def penalty(policy: Policy, student: str, assignment: str, submitted_at: datetime | None,
            source: str | None = None) -> Penalty:
    """The late penalty of one submission.

    No due date: no penalty. No submission time, or only a file's own time while the course file
    does not trust those (``source`` in FILE_TIME_SOURCES): no penalty, and a flag saying why.
    Up to ``grace_minutes`` late is on time; past that, each started day costs ``per_day``.
    """
    due, extended = due_date(policy, student, assignment)
    if due is None:
        return Penalty()
    if source in FILE_TIME_SOURCES and not policy.late.trust_file_times:
        if source == "canvas-late-marker":
            flag = "Canvas marks this submission LATE, but its export gives no time"
        else:
            flag = "only the file's own time is known, which the LMS may not have set"
        return Penalty(flag=f"{flag}: no late penalty applied (give its time with `collect --timestamps`, "
                            f"or set trust_file_times = true in [late])")
    if submitted_at is None:
        return Penalty(flag="no submission time known: no late penalty applied "
                            "(give it with `collect --timestamps`)")
    late_by = submitted_at - due
    where = f" (extended due date {show_time(due)})" if extended else ""
    if late_by <= timedelta(0):
        return Penalty()
    if late_by <= timedelta(minutes=policy.late.grace_minutes):
        return Penalty(reason=f"submitted {show_duration(late_by)} late{where}, within the "
                              f"{policy.late.grace_minutes:g}-minute grace period: no penalty")
    days = math.ceil(late_by / timedelta(days=1))
    fraction = round(days * policy.late.per_day, 10)
    said = f"submitted {show_duration(late_by)} late{where}"
    if fraction > policy.late.max + 1e-12:
        if policy.late.after_max == "zero":
            return Penalty(1.0, days, f"{said}, past the {_percent(policy.late.max)} cap: no points (-100%)")
        return Penalty(policy.late.max, days, f"{said}: -{_percent(policy.late.max)} (the most a late penalty takes)")
    if fraction == 0:
        return Penalty(0.0, days, f"{said}: no penalty")
    return Penalty(fraction, days, f"{said}: -{_percent(fraction)} ({days} day{'s' if days != 1 else ''} "
                                   f"at {_percent(policy.late.per_day)})")


def with_penalties(policy: Policy | None, rows: list[dict], times: dict) -> list[dict]:
    """Gradebook rows with ``late_penalty`` set (copies; the rows given are not changed).

    ``times`` maps (student, assignment) to (submitted_at or None, source or None). A flag from
    the penalty joins the row's screening flags, for the instructor only. Rows of missing
    submissions (``missing``) get none.
    """
    if policy is None:
        return list(rows)
    out = []
    for row in rows:
        if row.get("missing"):
            out.append(row)
            continue
        when, source = times.get((row["student"], row["assignment"]), (None, None))
        found = penalty(policy, row["student"], row["assignment"], when, source)
        flags = row.get("flags") or []
        flags = [flags] if isinstance(flags, str) else list(flags)
        out.append({**row, "late_penalty": found, "flags": flags + [found.flag] if found.flag else flags})
    return out
