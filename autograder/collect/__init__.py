"""Bring a class's submissions into ``course/submitted/<student>/<assignment>/exercise.ipynb``.

Who handed in what, and when, comes only from what the LMS wrote or the instructor gave, never
from the part of a file name the student chose:

- ``lms_names``: each LMS's own prefix (``NAMING_STYLES``), read from the left; the rest of the
  name is the student's and is data. Gradescope's people and times come from its metadata file.
- ``roster``: the class list maps the LMS's ids (then emails, then names, normalised) to your ids;
  an ambiguous name is never guessed.
- ``assignments``: ``--assignment``, else the notebook's graded cells, else a word like ``ch02``
  in its name; an LMS export is one assignment's, so a notebook whose cells say another is never
  filed over that other assignment's submission.
- ``plan`` decides, ``filing`` checks the course and carries it out; ``archives`` reads folders
  and zips into a private staging folder, each file once.

A problem of one student (two different notebooks, an older resubmission, an ambiguous match, a
misplaced notebook) holds that student's files, with what to do; the rest of the class is
collected. Problems with the source, the roster, the times file or the course folder itself
raise :class:`CollectError` and nothing is copied.
"""
from __future__ import annotations

import functools
import os
import tempfile
import zipfile
from pathlib import Path

from autograder.course import submission_info
from autograder.course.deadlines import CourseFileError, load_course_file
from autograder.course.layout import ASSIGNMENTS, Course
from autograder.collect.archives import LIMITS, Limits, harvest_folder, harvest_zip, printable, stage, unwrap
from autograder.collect.assignments import assignments_graded_in, assignments_named
from autograder.collect.errors import CollectError
from autograder.collect.filing import BACKUP, apply_times, carry_out, check, sha256
from autograder.collect.lms_names import GRADESCOPE_METADATA, NAMING_STYLES, NamingStyle, Person, blackboard_titles, claim_file, \
    claim_folder, naming_style, read_gradescope_metadata, safe_id
from autograder.collect.plan import Held, Plan, build, claims, describe_time
from autograder.collect.roster import LMS_ID_COLUMNS, RosterEntry, RosterIndex, name_forms, read_roster

__all__ = ["BACKUP", "CollectError", "Collected", "GRADESCOPE_METADATA", "Held", "LIMITS", "LMS_ID_COLUMNS", "Limits",
           "NAMING_STYLES", "NamingStyle", "Person", "RosterEntry", "assignments_graded_in", "assignments_named",
           "collect", "name_forms", "naming_style", "read_roster", "safe_id", "stage"]


class Collected(list):
    """The ``(student, assignment, path)`` of every notebook this collect put in the course.

    It is a list of those triples (what is really on disk afterwards, checked; empty for a dry
    run); the attributes say what was planned, what was not collected and why.

    Attributes
    ----------
    planned : list of str
        One line per submission: who, which assignment, from which file, how the roster matched,
        and the submission time with where it comes from. A dry run returns only this.
    held : list of Held
        Files not collected because of one student's problem, each with what to do.
    unmatched : list of (str, str, str)
        With a roster: files whose LMS person matches no one (file, person, why).
    missing : dict of str to list of str
        For each assignment this collect was about (``assignment``, or those of its notebooks): the
        roster ids with no submission of it in the course once this collect is done (held ones aside).
    not_on_roster : list of str
        Students filed under their LMS name (with ``allow_unmatched``).
    skipped, refused, unidentified :
        Files that are not notebooks; files refused (links, unsafe or oversized); notebooks whose
        owner or assignment cannot be told, with the reason.
    no_notebook : list of (str, str)
        Files (not notebooks) of LMS people who handed in no notebook in this export: a zip or a
        PDF of their work, say (file, person). Nothing of theirs is collected, so it is listed.
    unchanged : list of (str, str)
        Submissions already in the course exactly as this collect found them: nothing was copied.
    replaced : list of (str, str, Path, str, Path)
        Submissions replaced: student, assignment, path, why, where the earlier one was saved.
    moved : list of (str, str, str)
        Earlier folders (under an LMS name) whose assignment moved into a roster student's folder.
    grades_moved : list of (str, str, str)
        Those of ``moved`` whose gradebook row (grades, written marks) moved with them.
    notes : list of str
        Choices made on the way (identical copies, picks, group submissions, times not used).
    """

    def __init__(self, triples=(), *, planned=(), held=(), unmatched=(), missing=(), not_on_roster=(), skipped=(),
                 refused=(), unidentified=(), replaced=(), moved=(), grades_moved=(), notes=(), backup=None,
                 dry_run=False, no_notebook=(), unchanged=()):
        super().__init__(triples)
        self.planned, self.held, self.unmatched = list(planned), list(held), list(unmatched)
        self.missing, self.not_on_roster = dict(missing), list(not_on_roster)
        self.skipped, self.refused, self.unidentified = list(skipped), list(refused), list(unidentified)
        self.replaced, self.moved, self.notes = list(replaced), list(moved), list(notes)
        self.grades_moved = list(grades_moved)
        self.no_notebook, self.unchanged = list(no_notebook), list(unchanged)
        self.backup, self.dry_run = backup, dry_run

    @property
    def copied(self) -> list[tuple[str, str, Path]]:
        """Those of the triples whose notebook this collect copied in (new or replacing), not found already there."""
        there = set(self.unchanged)
        return [t for t in self if (t[0], t[1]) not in there]

    @property
    def needs_attention(self) -> bool:
        """Something handed in was not collected: held, unmatched, unidentified or refused."""
        return bool(self.held or self.unmatched or self.unidentified or self.refused or self.no_notebook)

    def report(self) -> list[str]:
        """One line per thing the instructor should know, beyond the count."""
        lines = [f"refused {name}: {why}" for name, why in self.refused]
        lines += [f"not collected {name}: {why}" for name, why in self.unidentified]
        for held in self.held:
            lines += held.lines()
        lines += [f"unmatched {name}: {who} {why}" for name, who, why in self.unmatched]
        lines += [f"no notebook from {who}: handed in {name}, which is not a notebook" for name, who in self.no_notebook]
        lines += [f"moved submitted/{folder}/{a} to submitted/{s}/{a}: the roster says it is {s}'s"
                  + (f"; its grades in the gradebook moved from {folder} to {s} with it"
                     if (folder, s, a) in self.grades_moved else "")
                  for folder, s, a in self.moved]
        lines += [f"replaced {s}/{a} with {why}" + (f" (earlier copy saved in {saved})" if saved else "")
                  for s, a, _, why, saved in self.replaced]
        lines += self.notes
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file(s) that are not notebooks")
        lines += self._unchanged_lines()
        if self.not_on_roster:
            lines.append(f"not on the roster, filed under their LMS name: {', '.join(self.not_on_roster)}")
        lines += [f"no {assignment} submission from: {', '.join(students)}"
                  for assignment, students in sorted(self.missing.items())]
        return [printable(line) for line in lines]

    def _unchanged_lines(self) -> list[str]:
        if self.dry_run or not self.unchanged:
            return []
        if len(self.unchanged) == len(self) and not (self.moved or self.replaced):
            return [f"nothing changed: all {len(self)} notebook(s) were already in the course as collected before"]
        return [f"{len(self.unchanged)} of the {len(self)} notebook(s) were already in the course as collected "
                f"before (not copied again)"]

    def summary(self) -> list[str]:
        """What to do next, when something was not collected."""
        todo = []
        if self.held:
            todo.append(f"{len(self.held)} held: see 'to do' under each (--pick FILE takes one file as its "
                        f"student's submission), then collect again")
        if self.unmatched:
            todo.append(f"{len(self.unmatched)} file(s) match no one on the roster: add the students (or their "
                        f"LMS ids: {', '.join(LMS_ID_COLUMNS.values())}) to the roster, or pass "
                        f"--allow-unmatched to file them under their LMS name")
        if self.unidentified:
            todo.append(f"{len(self.unidentified)} notebook(s) of unknown owner or assignment: see 'not collected'")
        if self.refused:
            todo.append(f"{len(self.refused)} file(s) refused: see 'refused'")
        if self.no_notebook:
            todo.append(f"{len(self.no_notebook)} file(s) from people who handed in no notebook: see 'no notebook "
                        f"from'; get the .ipynb (or put it, named as the LMS names files, into the export) and "
                        f"collect again")
        return todo


def _lms_timezone(course: Path, found) -> object | None:
    """The LMS's time zone from course.toml, read only when a Blackboard name needs it."""
    if not any(naming_style(f.parts[0], "file") and naming_style(f.parts[0], "file")[0].lms == "blackboard"
               for f in found if len(f.parts) == 1):
        return None
    path = Course(course).course_file
    if not path.exists():
        return None
    try:
        return load_course_file(path).lms_timezone
    except CourseFileError as err:
        raise CollectError(f"{err}\n(collect reads [lms] timezone from it, for Blackboard's attempt times)") from err


def _already_there(plan: Plan, course: Path) -> list[tuple[str, str]]:
    """Submissions whose notebook the course holds exactly as this collect found it."""
    return [key for key, u in sorted(plan.copies.items())
            if sha256(Course(course).submitted_notebook(*key)) == u.found.sha256]


def _open_gradebook(gradebook, course: Path):
    """The gradebook to keep in step with moved folders; None when grading has not made one yet."""
    if gradebook is not None and not isinstance(gradebook, (str, os.PathLike)):
        return gradebook
    import sqlalchemy

    from autograder.course.gradebook import Gradebook, default_url

    if gradebook is None and not Course(course).results_db.exists():
        return None
    url = str(gradebook) if gradebook is not None else default_url(course)
    try:
        return Gradebook(url)
    except sqlalchemy.exc.SQLAlchemyError as err:
        raise CollectError(f"cannot open the gradebook {url} (a moved folder takes its grades along): {err}") from err


def _without_notebooks(skipped: list[str], claimed: list, metadata, titles: dict,
                       unwrapped: int) -> list[tuple[str, str]]:
    """Files not notebooks, of people who handed in no notebook: (file, person)."""
    with_notebook = {person for _, claim in claimed for person in claim.people}
    found = []
    for name in skipped:
        parts = _skipped_parts(name, unwrapped)
        claim = _claim_of(parts, metadata, titles)
        found += [(name, p.shown) for p in (claim.people if claim else ()) if p not in with_notebook]
    return found


def _blackboard_titles_of(found, not_notebooks: list[str], unwrapped: int) -> dict[str, str]:
    """Blackboard's title, read from every name it wrote at the top, a notebook's or not."""
    tops = [f.parts[0] for f in found if len(f.parts) == 1]
    tops += [p[0] for p in (_skipped_parts(n, unwrapped) for n in not_notebooks) if len(p) == 1]
    return blackboard_titles(tops)


def _skipped_parts(name: str, unwrapped: int) -> list[str]:
    """A skipped file's path as the notebooks' are read, below the ``unwrapped`` wrapping folders."""
    return [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")][unwrapped:]


def _claim_of(parts: list[str], metadata, titles: dict):
    if not parts or (len(parts) == 1 and naming_style(parts[0], "file") is None):
        return None
    if len(parts) == 1:
        claim = claim_file(parts[0], None, titles)
        return None if claim.people[0].lms == "plain" else claim  # a stray file at the top names no one
    return claim_folder(parts[0], "/".join(parts[1:]), metadata)[0]


def _check_picks(picks: set[str], found) -> None:
    names = {printable(f.name) for f in found}
    unknown = sorted(picks - names)
    if unknown:
        raise CollectError(f"--pick {', '.join(unknown)}: no such notebook in the export; give the names as the "
                           f"held files are listed")


def _missing(roster, course: Path, plan: Plan, filing, given: str | None) -> dict[str, list[str]]:
    """Roster ids without a submission of each assignment this collect was about, once it is done.

    The course's own folders say who has what (an earlier batch counts); a dry run has copied and
    moved nothing, so what it plans is added. Held students did hand in and are named with the hold.
    """
    about = {u.assignment for u in plan.uploads} | ({given} if given else set())
    have = {(s, a) for s, a, _ in Course(course).submissions()} | set(plan.copies)
    have |= {(s, a) for _, s, a, _ in filing.moves} | {(h.who, h.assignment) for h in plan.held}
    missing = {a: sorted(e.id for e in roster if (e.id, a) not in have) for a in sorted(about)}
    return {a: students for a, students in missing.items() if students}


def _plan_lines(plan: Plan, filing) -> list[str]:
    """One line per submission to file, and one per earlier folder to move: what --dry-run prints."""
    lines = [f"move submitted/{folder}/{a} to submitted/{s}/{a}"
             + (" with its grades in the gradebook" if (folder, s, a) in filing.grades_move else "")
             + (" (identical: the earlier copy goes to the backup)" if identical else "")
             for folder, s, a, identical in filing.moves]
    for (student, assignment), u in sorted(plan.copies.items()):
        info = filing.info[student, assignment]
        how = plan.matched_by.get(u.person)
        who = f"{student} ({u.person.lms} {u.person.label}" + (f", roster by {how})" if how else ")")
        replacing = filing.replaces.get((student, assignment))
        lines.append(f"{who} {assignment} <- {u.found.name}; time: "
                     f"{describe_time(info.submitted_at, info.source, info.time_note)}"
                     + (f"; replaces the earlier copy: {replacing}" if replacing else ""))
    return [printable(line) for line in lines]


def collect(source: Path, course: Path, assignment: str | None = None, *, roster=None, latest: bool = False,
            limits: Limits = LIMITS, timestamps: Path | None = None, picks=(), allow_unmatched: bool = False,
            dry_run: bool = False, gradebook=None) -> Collected:
    """Copy every submission in ``source`` into ``course/submitted/<student>/<assignment>/exercise.ipynb``.

    Parameters
    ----------
    source : Path
        A folder or ``.zip`` as an LMS exports it. Only read.
    course : Path
        The instructor's course folder. Blackboard's attempt times are read in the time zone of
        its course.toml (``[lms] timezone``); without one they are not used.
    assignment : str, optional
        The assignment this export is for: every notebook is filed under it.
    roster : Path or sequence of RosterEntry, optional
        A class list (see :func:`read_roster`): students are filed under its ids; files of people
        it does not list are not collected (listed in ``unmatched``) unless ``allow_unmatched``.
    latest : bool
        When one student has several different notebooks for one assignment, keep the newest by
        the LMS's own order (Canvas attachment ids, Blackboard attempts, Gradescope times) where
        every one has such an order; otherwise they stay held.
    limits : Limits
        Caps on what is read from an archive.
    timestamps : Path, optional
        A CSV of ``student,assignment,submitted_at`` (ISO 8601 with timezone): these times
        replace what the export tells, in each submission's ``submission.json``.
    picks : iterable of str
        File names, as listed, to take as their student's submission over any other.
    allow_unmatched : bool
        With a roster, file people it does not list under their LMS name.
    dry_run : bool
        Decide everything, copy and write nothing; the result's ``planned`` says what would happen.
    gradebook : str or Gradebook, optional
        The gradebook (URL or object; default: the course's SQLite one, if grading made it). When an
        earlier folder moves to a roster id, its grades move with it in one transaction; when both
        names have grades for that assignment, the move is held.

    Raises
    ------
    CollectError
        When the source, roster, times file or course cannot be used; nothing is copied then.
    """
    if assignment is not None and assignment not in ASSIGNMENTS:
        raise CollectError(f"unknown assignment {assignment!r}; choose one of {', '.join(ASSIGNMENTS)}")
    if isinstance(roster, (str, os.PathLike)):
        roster = read_roster(Path(roster))
    index = RosterIndex(roster) if roster is not None else None
    try:
        given_times = submission_info.read_timestamps(Path(timestamps)) if timestamps is not None else {}
    except ValueError as err:
        raise CollectError(str(err)) from err
    source, course = Path(source), Path(course)
    if not source.exists():
        raise CollectError(f"{source} does not exist: pass the folder or .zip your LMS exported")
    if not source.is_dir() and not (source.is_file() and zipfile.is_zipfile(source)):
        raise CollectError(f"{source} is neither a folder nor a .zip archive")
    with tempfile.TemporaryDirectory(prefix="dropout-collect-") as tmp:
        reader = harvest_folder if source.is_dir() else harvest_zip
        harvest = reader(source, Path(tmp), limits)
        found, unwrapped = unwrap(harvest.found)
        not_notebooks = harvest.skipped + harvest.hidden  # as the archive names them, above any unwrapping
        metadata_files = [f for f in found if f.parts[-1] == GRADESCOPE_METADATA]
        metadata = next((read_gradescope_metadata(f.staged) for f in metadata_files if len(f.parts) == 1), None)
        harvest.skipped += [f.name for f in metadata_files if len(f.parts) > 1]
        found = [f for f in found if f.parts[-1] != GRADESCOPE_METADATA]
        picks = {printable(p) for p in picks}
        _check_picks(picks, found)
        plan = Plan()
        titles = _blackboard_titles_of(found, not_notebooks, unwrapped)
        claimed = claims(found, metadata, _lms_timezone(course, found), plan, titles)
        build(claimed, assignment, index, allow_unmatched=allow_unmatched, picks=picks, latest=latest, plan=plan)
        opened = functools.cache(lambda: _open_gradebook(gradebook, course))
        filing = check(plan, course, index, opened)
        apply_times(plan, filing, given_times, course, Path(timestamps or ""))
        if plan.problems:
            raise CollectError("nothing was collected; fix these and collect again:\n  - "
                               + "\n  - ".join(plan.problems))
        planned = _plan_lines(plan, filing)
        no_notebook = _without_notebooks(not_notebooks, claimed, metadata, titles, unwrapped)
        unchanged = [] if dry_run else _already_there(plan, course)
        collected, replaced, moved, backup = ([], [], [], None) if dry_run else carry_out(plan, filing, course,
                                                                                             opened)
    missing = _missing(roster, course, plan, filing, assignment) if roster is not None else {}
    return Collected(collected, planned=planned, held=plan.held, unmatched=plan.unmatched, missing=missing,
                     not_on_roster=sorted(set(plan.not_on_roster)), skipped=harvest.skipped, refused=harvest.refused,
                     unidentified=plan.unidentified, replaced=replaced, moved=moved,
                     grades_moved=[m for m in moved if m in filing.grades_move], notes=plan.notes,
                     backup=backup, dry_run=dry_run, no_notebook=no_notebook, unchanged=unchanged)
