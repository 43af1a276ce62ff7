"""Hand the feedback pages back: one zip per assignment, in the form the class's LMS takes.

Each zip holds, per student, the student's feedback page for that assignment and their graded
notebook page (``feedback.feedback``, student view: never ``--show-hidden``), in a folder whose
name the LMS (or the instructor looking for a student) understands. Who a folder is for comes
from what collect recorded (``submission.json``: the LMS and its id for that person) and from the
roster, never from a file name a student chose; every name goes through :func:`path_part`
(composed Unicode, no control or format characters, no ``/``, ``\\`` or ``..``, no leading dot).

- ``moodle``: Moodle's "Upload multiple feedback files in a zip" (assignment, View all
  submissions, Grading action). Its importer (moodle/moodle, mod/assign/feedback/file/
  importziplib.php, ``is_valid_filename_for_import``, and its test importziplib_test.php) splits
  each folder name at ``_`` into ``fullname_participantid_plugintype_pluginname_``: the second
  part must be the participant number of this assignment (Moodle numbers them per assignment),
  the third and fourth a submission plugin of the assignment (``assignsubmission_file``); the name
  is not checked, but a ``_`` in it would shift the number, so it becomes a space. Hidden files
  (``.``, ``~``) are skipped by Moodle. So a folder is ``Full Name_<participant>_assignsubmission_file_``,
  as Moodle's own download names it; a student with no participant number recorded for that
  assignment (nor a ``moodle_id`` in the roster) is left out and listed.
- ``canvas``: Canvas has no import of feedback files per student that keeps a file's own name
  ("Re-upload Submissions" attaches a file under the name of the submission it matches:
  instructure/canvas-lms issue 2406), so one folder per student, ``Name (Canvas user id)``, to
  attach in SpeedGrader, and ``comments.csv`` (student, name, Canvas id, points, comment) to paste.
- ``gradescope``, ``blackboard``: no bulk upload of feedback files either; folders
  ``Name (SID or email)`` and ``Name (login)``, and ``comments.csv``.
- ``folders``: ``Name (id)``, or the id alone without a roster, and ``comments.csv``.

``auto`` (the default) takes, per assignment, the LMS collect recorded for every submission of
it, else ``folders``. A zip that would hold nobody (no one of the assignment has a Moodle
participant number) is refused, and then no zip is written; the comment of ``comments.csv`` is
``export.comments.lms_comment``, the one Moodle's grading worksheet carries.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.collect.course_roster import HIDDEN, clean
from autograder.course import submission_info
from autograder.course.files import write_atomically

LMS_CHOICES = ("auto", "moodle", "canvas", "gradescope", "blackboard", "folders")
MOODLE_PLUGIN = "assignsubmission_file"  # the submission plugin of a file-upload assignment
MAX_PART = 100                            # characters of one folder name in a zip
COMMENTS = "comments.csv"
COMMENT_COLUMNS = ["student", "name", "lms_id", "points", "max_points", "folder", "comment"]
_NOT_IN_NAMES = '/\\:*?"<>|'              # path separators, and what Windows refuses in a file name


class HandbackError(ValueError):
    """The hand-back cannot be made as asked; nothing was written."""


@dataclass
class Bundle:
    """One assignment's zip: where, for which LMS, who is in it, and who is not and why."""

    assignment: str
    lms: str
    path: Path
    folders: dict = field(default_factory=dict)   # student -> folder name in the zip
    left_out: list = field(default_factory=list)  # (student, why)


def path_part(text: str, fallback: str = "student") -> str:
    """One safe path component: NFC, printable, no separators, no leading dot, at most MAX_PART characters."""
    kept = clean(text, hidden=(*HIDDEN, "Co", "Cn"), blank=_NOT_IN_NAMES, limit=len(str(text)))
    kept = kept.lstrip(".~ ")[:MAX_PART].rstrip(". ")
    return kept if kept and kept not in (".", "..") else fallback


def _lms_of(infos: dict) -> str:
    """The one LMS every submission was collected from, else "folders"."""
    found = {i.lms if i is not None else "" for i in infos.values()}
    if len(found) == 1 and next(iter(found)) in LMS_CHOICES[1:5]:
        return next(iter(found))
    return "folders"


def _recorded_id(info, lms: str) -> str:
    return info.lms_id if info is not None and info.lms == lms and info.lms_id else ""


def folder_name(lms: str, student: str, name: str, info, entry) -> tuple[str | None, str]:
    """(folder, LMS id) of one student's submission for ``lms``; folder None (with why) when the LMS id is unknown."""
    shown = path_part(name or (info.name if info is not None else "") or student, path_part(student))
    if lms == "moodle":
        participant = _recorded_id(info, "moodle") or (entry.moodle_id if entry is not None else "")
        if not (participant.isascii() and participant.isdigit()):  # Moodle's is_numeric: ASCII digits
            return None, "no Moodle participant number recorded for this assignment (collect it from Moodle's " \
                         "download, or give the roster a moodle_id column)"
        return f"{shown.replace('_', ' ')}_{participant}_{MOODLE_PLUGIN}_", participant
    column = {"canvas": "canvas_id", "gradescope": "gradescope_sid", "blackboard": "blackboard_login"}.get(lms)
    given = getattr(entry, column, "") if entry is not None and column else ""
    lms_id = _recorded_id(info, lms) or given
    if lms == "gradescope" and not lms_id:
        lms_id = (info.email if info is not None and info.lms == "gradescope" else "") or \
                 (entry.email if entry is not None else "")
    if lms == "canvas" and lms_id.startswith("anon_"):
        lms_id = ""  # an anonymous id names no one the instructor can find
    label = path_part(lms_id, "") if lms != "folders" else student
    return (f"{shown} ({label})" if label and label != shown else shown), lms_id


def _plan(assignment: str, mine: list[dict], course: Path, out: Path, lms: str, entries: dict,
          known: dict[str, str]) -> tuple[Bundle, list]:
    """Who goes in one assignment's zip, under which folder, and the comments.csv lines (None for Moodle)."""
    from autograder.export.comments import lms_comment
    from autograder.export.grades import row_total

    infos = {r["student"]: submission_info.read(course, r["student"], assignment) for r in mine}
    chosen = _lms_of(infos) if lms == "auto" else lms
    bundle = Bundle(assignment, chosen, out / f"{assignment}_{chosen}.zip")
    comments, used = [], set()
    for row in sorted(mine, key=lambda r: r["student"]):
        student = row["student"]
        folder, lms_id = folder_name(chosen, student, known.get(student, ""), infos[student], entries.get(student))
        if folder is None:
            bundle.left_out.append((student, lms_id))
            continue
        if folder.casefold() in used:  # two people of one name and no id to tell them apart
            folder = f"{folder} ({path_part(student)})"
        used.add(folder.casefold())
        bundle.folders[student] = folder
        got, top = row_total(row)
        comments.append([student, known.get(student, ""), lms_id, got, top, folder, lms_comment(row)])
    return bundle, comments if chosen != "moodle" else None


def _nobody_in(empty: list[Bundle]) -> str:
    """Why no zip was written: per empty bundle, who was left out and why (each reason once)."""
    lines = []
    for bundle in empty:
        by_reason: dict[str, list[str]] = {}
        for student, why in bundle.left_out:
            by_reason.setdefault(why, []).append(student)
        for why, students in by_reason.items():
            more = f" and {len(students) - 10} more" if len(students) > 10 else ""
            lines.append(f"{bundle.assignment} ({bundle.lms}): {', '.join(students[:10])}{more}: {why}")
    return ("nothing was written: no student could be put in " + ", ".join(b.path.name for b in empty)
            + ":\n  " + "\n  ".join(lines) + "\n  (`--lms folders` names the folders by name and id instead)")


def handback(rows: list[dict], course: Path, out: Path, lms: str = "auto", roster=None,
             names: dict[str, str] | None = None) -> list[Bundle]:
    """One zip per assignment in ``out`` (``<assignment>_<lms>.zip``); returns what each holds.

    ``rows``: the gradebook rows with late penalties applied, as feedback shows them. ``roster``:
    the class list's entries (their LMS id columns and names), or None. Raises HandbackError, with
    nothing written, for an unknown ``lms`` or when a zip would hold nobody (no one of an assignment
    has a Moodle participant number, say). The zips are written all or none: each is made under
    another name first and renamed once every one is made, so a failure leaves the last run's zips.
    """
    from autograder.collect.course_roster import names as roster_names

    if lms not in LMS_CHOICES:
        raise HandbackError(f"unknown LMS {lms!r}; choose one of {', '.join(LMS_CHOICES)}")
    course, out = Path(course), Path(out)
    entries = {e.id: e for e in roster or ()}
    known = roster_names(roster or ()) if names is None else names
    by_assignment: dict[str, list[dict]] = {}
    for row in rows:
        if not row.get("missing"):
            by_assignment.setdefault(row["assignment"], []).append(row)
    plans = [(*_plan(a, mine, course, out, lms, entries, known), mine) for a, mine in sorted(by_assignment.items())]
    empty = [bundle for bundle, _, _ in plans if not bundle.folders]
    if empty:
        raise HandbackError(_nobody_in(empty))
    staged = []
    try:
        for bundle, comments, mine in plans:
            part = bundle.path.with_name(f".handback-{os.getpid()}-{bundle.path.name}")
            _write_zip(bundle, part, mine, course, known, comments)
            staged.append((part, bundle.path))
        for part, final in staged:
            os.replace(part, final)
    finally:
        for part, _ in staged:
            part.unlink(missing_ok=True)  # only those a failure left unrenamed are still there
    return [bundle for bundle, _, _ in plans]


def _write_zip(bundle: Bundle, target: Path, mine: list[dict], course: Path, known: dict[str, str],
               comments: list | None) -> None:
    """The zip of one bundle's pages (rendered here, student view) into ``target``, through a new file."""
    from autograder.feedback.pages import feedback, page_stems

    with tempfile.TemporaryDirectory(prefix="dropout-handback-") as tmp:
        pages = Path(tmp)
        feedback(mine, course, pages, show_hidden=False, names=known)
        stems = page_stems({r["student"] for r in mine})

        def fill(fh) -> None:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as archive:
                for student, folder in sorted(bundle.folders.items()):
                    stem = stems[student]
                    archive.write(pages / f"{stem}.html", f"{folder}/{stem}.html")
                    for page in sorted((pages / stem).glob("*.html")) if (pages / stem).is_dir() else ():
                        archive.write(page, f"{folder}/{stem}/{page.name}")
                if comments is not None:
                    archive.writestr(COMMENTS, _comments_csv(comments))

        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, fill, prefix=".handback")


def _comments_csv(lines: list[list]) -> str:
    from autograder.export.grades import spreadsheet_safe

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COMMENT_COLUMNS)
    writer.writerows([spreadsheet_safe(v) for v in line] for line in lines)
    return buffer.getvalue()
