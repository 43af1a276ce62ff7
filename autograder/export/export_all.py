"""Gradebook rows as export and feedback show them, and the export of everything the instructor takes away.

The gradebook keeps what grading found; the course file (late policy) and the roster (who is in
the class) are applied here, on every export and feedback run, so changing either takes effect
at once and nothing about them is ever stored in the gradebook.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from autograder.course import submission_info
from autograder.export.missing_rows import add_missing
from autograder.collect.course_roster import load as load_roster, names as roster_names
from autograder.course.deadlines import Policy, load_course_file, with_penalties
from autograder.export.grades import class_wide_flags, export
from autograder.course.layout import Course
from autograder.export.lms_files import identities, write_lms_files


def load_policy(course: Path, course_file: Path | None = None) -> Policy | None:
    """The course file given, else ``COURSE/course.toml`` if there is one, else None (no due dates)."""
    path = Path(course_file) if course_file else Course(Path(course)).course_file
    if course_file is None and not path.exists():
        return None
    return load_course_file(path)


def penalised(rows: list[dict], course: Path, policy: Policy | None) -> list[dict]:
    """The rows with their late penalties, from the times collect recorded."""
    return with_penalties(policy, rows, submission_info.times(course, rows))


class PendingAnswers(ValueError):
    """Written answers wait for a person: an export now would send incomplete grades (``allow_pending`` to go on)."""


def pending_summary(rows: list[dict]) -> str | None:
    """One sentence on the written answers still pending, by assignment, or None when every one is graded."""
    by_assignment: dict[str, set] = {}
    count = 0
    for row in rows:
        waiting = [q for q, w in (row.get("written") or {}).items() if w.get("points") is None]
        if waiting:
            count += len(waiting)
            by_assignment.setdefault(row["assignment"], set()).add(row["student"])
    if not count:
        return None
    where = ", ".join(f"{a} ({len(s)} submission{'s' if len(s) != 1 else ''})" for a, s in sorted(by_assignment.items()))
    return (f"{count} written answer(s) still pending in {where}: these grades leave them out (they count neither "
            f"for nor against) and are not final; grade them with `dropout-grader manual`")


def export_all(rows: list[dict], course: Path, out: Path, *, course_file: Path | None = None, roster=None,
               assignments=(), now: datetime | None = None, allow_pending: bool = False,
               moodle_scale: float | None = None) -> tuple[dict[str, Path], list[str]]:
    """grades.csv/.json/.png plus the LMS import files in ``out/lms``; returns the paths and warnings.

    Raises CourseFileError or CollectError (a bad roster), or PendingAnswers when written answers
    are pending and ``allow_pending`` is not set, before anything is written. ``roster``: a class
    list (default: the course's, collect/course_roster.py). ``moodle_scale``: see
    ``lms_export.write_lms_files``.
    """
    pending = pending_summary(rows)
    if pending and not allow_pending:
        raise PendingAnswers(f"{pending}. Nothing was exported; to export anyway, add --allow-pending")
    policy = load_policy(course, course_file)
    entries = load_roster(course, Path(roster) if roster is not None else None)
    shown = penalised(rows, course, policy)
    warnings = [f"WARNING: {pending}"] if pending else []
    if entries is not None:
        ids = {e.id for e in entries}
        strangers = sorted({r["student"] for r in rows} - ids)
        if strangers:
            warnings.append(f"not on the roster (kept, under their folder names): {', '.join(strangers)}")
        shown = add_missing(shown, [e.id for e in entries], assignments)
        missing = sorted({r["student"] for r in shown if r.get("missing")})
        if missing:
            warnings.append(f"0 points, no submission: {sum(1 for r in shown if r.get('missing'))} notebook(s) "
                            f"of {', '.join(missing)}")
    paths = export(shown, out, roster_names(entries))
    for assignment, common in class_wide_flags(shown).items():  # said once here too, as on its grades.csv line
        warnings += [f"{assignment}, every submission: {flag}" for flag in common]
    infos = {(r["student"], r["assignment"]): submission_info.read(course, r["student"], r["assignment"])
             for r in shown if not r.get("missing")}
    people = identities({r["student"] for r in shown}, entries, infos)
    lms_paths, lms_warnings = write_lms_files(shown, out / "lms", people, infos, policy, now, moodle_scale)
    return {**paths, **lms_paths}, warnings + lms_warnings
