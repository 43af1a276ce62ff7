"""Checking a plan against what the course already holds, then carrying it out.

A submission in the course is replaced only by a newer one of the same student and assignment
(by the LMS's order, or trusted times, where both have one; a hand-made folder's file time), or
by one the instructor picked; where nothing tells which is newer the new one is held. Every
replaced or moved-away notebook is first copied into ``COURSE/collect_backup/<time>/``. A folder an earlier
collect made under an LMS name, which the roster now gives to a student, is moved into that
student's folder, never merged over a different notebook.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shlex
import shutil
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from autograder.course import submission_info
from autograder.course.deadlines import TRUSTED_SOURCES
from autograder.course.files import write_atomically
from autograder.course.layout import NOTEBOOK, Course
from autograder.course.submission_info import SubmissionInfo
from autograder.collect.archives import CHUNK
from autograder.collect.errors import CollectError
from autograder.collect.lms_names import Person
from autograder.collect.plan import ORDER_NAMES, PICK, Plan, Upload, order_kind

BACKUP = "collect_backup"


@dataclass
class Filing:
    """What carrying out a plan does to the course."""

    moves: list = field(default_factory=list)     # (earlier folder, student, assignment, identical)
    grades_move: set = field(default_factory=set)  # (earlier folder, student, assignment) whose gradebook row moves too
    replaces: dict = field(default_factory=dict)  # (student, assignment) -> why, shown in the report
    info: dict = field(default_factory=dict)      # (student, assignment) -> SubmissionInfo to write
    followed: dict = field(default_factory=dict)  # (earlier folder, assignment) -> names recorded there for its LMS id


def sha256(path: Path) -> str | None:
    if not path.is_file() or path.is_symlink():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _submitted(course: Path) -> Path:
    return Course(course).root / "submitted"


def earlier_folders(course: Path) -> dict[str, str]:
    submitted = _submitted(course)
    if not submitted.is_dir() or submitted.is_symlink():
        return {}
    return {p.name.casefold(): p.name for p in submitted.iterdir() if p.is_dir() and not p.is_symlink()}


def record(u: Upload, matched_by: str) -> SubmissionInfo:
    """What submission.json says of ``u``: the LMS's time if it wrote one, else the file's own (marked as such)."""
    claim = u.claim
    if claim.when is not None:
        when, source = claim.when, claim.time_source
    else:
        when = submission_info.from_epoch(u.found.mtime)
        source = "canvas-late-marker" if claim.late else ("file-mtime" if when else None)
    return SubmissionInfo(when, source, u.found.sha256, u.person.lms, u.person.lms_id, min(u.person.names, default=""),
                          u.person.email, export_file=u.found.name, order=u.order, matched_by=matched_by,
                          time_note=claim.note)


def newer(u: Upload, before: SubmissionInfo | None) -> bool | None:
    """Whether ``u`` is newer than the submission recorded in ``before``; None when nothing tells."""
    if before is None:
        return None
    if u.order and before.order and order_kind(u.order) == order_kind(before.order):
        if u.order == before.order:
            return None
        return u.order > before.order
    if (u.claim.when and before.submitted_at and u.claim.time_source in TRUSTED_SOURCES
            and before.source in TRUSTED_SOURCES and u.claim.when != before.submitted_at):
        return u.claim.when > before.submitted_at
    return None


def _why_newer(u: Upload, before: SubmissionInfo) -> str:
    kind = order_kind(u.order)
    return ORDER_NAMES.get(kind, "the LMS's time") if before.order and kind == order_kind(before.order) \
        else "the LMS's time"


def check(plan: Plan, course: Path, roster, gradebook=lambda: None) -> Filing:
    """Hold what would misfile or silently replace a submission; find earlier folders to move.

    ``gradebook`` opens the gradebook (or gives None when there is none yet); it is opened only
    when a folder is to move, to move that folder's grades with it.
    """
    filing = Filing()
    earlier = earlier_folders(course)
    if roster is None:
        _follow_renamed_people(plan, course, earlier, filing)
    _symbolic_links(plan, course)
    _case_clashes(plan, earlier)
    if roster is not None:
        _moves(plan, course, roster, earlier, filing, gradebook)
    incoming = {(s, a): f for f, s, a, identical in filing.moves if not identical}
    for key, u in sorted(plan.copies.items()):
        student, assignment = key
        where = incoming.get(key, student)
        current = sha256(Course(course).submitted_notebook(where, assignment))
        before = submission_info.read(course, where, assignment)
        if current is not None and current != u.found.sha256 and not _may_replace(plan, key, u, before):
            continue
        if current is not None and current != u.found.sha256:
            filing.replaces[key] = _replacing(plan, key, u, before)
        filing.info[key] = record(u, plan.matched_by.get(u.person, ""))
    _followed_notes(plan, filing)
    return filing


def _may_replace(plan: Plan, key, u: Upload, before: SubmissionInfo | None) -> bool:
    student, assignment = key
    if key in plan.picked:
        return True
    if newer(u, before) is False:
        plan.hold(student, assignment, [u], f"older by {_why_newer(u, before)} than the submission collected "
                                            f"before ({before.export_file or 'in the course'})",
                  f"{PICK} to replace the newer one anyway (it is kept in {BACKUP}/)")
    elif newer(u, before) is None:
        earlier = before.export_file if before and before.export_file else "in the course"
        plan.hold(student, assignment, [u], f"differs from the submission collected before ({earlier}), and "
                                            f"neither has an LMS order that tells which is newer",
                  f"{PICK} to replace it (the earlier one is kept in {BACKUP}/)")
    elif u.export_assignment:
        # Newer, but of an export that is not (known to be) this assignment's: never over this assignment's.
        plan.hold(student, assignment, [u], f"is {assignment} by its cells or name but came in an LMS export of "
                                            f"{u.export_assignment}; the course already holds another "
                                            f"{assignment} submission, which it would replace",
                  f"{PICK} if it is {student}'s resubmission of {assignment}, or collect with --assignment "
                  f"{assignment} if the export is {assignment}'s")
    else:
        return True
    del plan.copies[key]
    return False


def _replacing(plan: Plan, key, u: Upload, before: SubmissionInfo | None) -> str:
    return "picked with --pick" if key in plan.picked else f"a newer submission by {_why_newer(u, before)}"


def _symbolic_links(plan: Plan, course: Path) -> None:
    """A symbolic link in the course would send a copy elsewhere: the course is being tampered with."""
    submitted = _submitted(course)
    for student, assignment in plan.copies:
        for path in (submitted, submitted / student, submitted / student / assignment,
                     submitted / student / assignment / f"{NOTEBOOK}.ipynb"):
            if path.is_symlink() and f"{path} is a symbolic link; remove it first" not in plan.problems:
                plan.problems.append(f"{path} is a symbolic link; remove it first")


def _case_clashes(plan: Plan, earlier: dict[str, str]) -> None:
    """A folder differing only in case is one person twice (or two people in one folder on some disks)."""
    for key, u in sorted(plan.copies.items()):
        student, assignment = key
        other = earlier.get(student.casefold(), student)
        if other != student:
            plan.hold(student, assignment, [u], f"would sit beside {other} from an earlier collect",
                      f"rename submitted/{other} to submitted/{student} if they are one person, then collect again")
            del plan.copies[key]


# LMSs whose ids name one person across assignments (Moodle numbers participants per assignment;
# Canvas's anonymous ids are per assignment too).
COURSE_WIDE_IDS = ("canvas", "blackboard", "gradescope")


def _folders_of_lms_people(course: Path, earlier: dict[str, str]) -> dict[tuple[str, str], dict[str, set[str]]]:
    """(LMS, id) -> the earlier folders whose submissions that LMS person sent -> the names recorded with them."""
    found = {}
    for folder in earlier.values():
        for sub in (_submitted(course) / folder).iterdir():
            info = submission_info.read(course, folder, sub.name) if sub.is_dir() and not sub.is_symlink() else None
            if info and info.lms in COURSE_WIDE_IDS and info.lms_id and not info.lms_id.startswith("anon_"):
                names = found.setdefault((info.lms, info.lms_id.casefold()), {}).setdefault(folder, set())
                names.update({info.name} - {""})
    return found


def _follow_renamed_people(plan: Plan, course: Path, earlier: dict[str, str], filing: Filing) -> None:
    """Without a roster, a person is filed under their LMS name and id; one whose earlier submissions sit in
    another folder (a student renamed in Canvas since, or filed under a roster id) goes there, not to a second one."""
    people = None
    for (student, assignment), u in sorted(plan.copies.items()):
        if student.casefold() in earlier or u.person.lms not in COURSE_WIDE_IDS or u.person.anonymous:
            continue
        people = _folders_of_lms_people(course, earlier) if people is None else people
        folders = people.get((u.person.lms, u.person.lms_id.casefold()), {})
        if len(folders) != 1:
            continue
        (folder, names), = folders.items()
        del plan.copies[student, assignment]
        if (folder, assignment) in plan.copies:
            plan.hold(student, assignment, [u], f"is {u.person.shown}, whose earlier submissions are in "
                                                f"submitted/{folder}, where another notebook of this collect goes",
                      "collect with a roster, or --pick one")
            continue
        plan.copies[folder, assignment] = u
        filing.followed[folder, assignment] = names


def _followed_notes(plan: Plan, filing: Filing) -> None:
    """Why a file went to an earlier folder, once it is sure to be filed there (a held one is not)."""
    for key, names in sorted(filing.followed.items()):
        if key not in filing.info:
            continue
        u, name = plan.copies[key], filing.info[key].name
        lms, was = u.person.lms, ", ".join(sorted(names))
        renamed = f"; their LMS name was {was}, now {name}" if name and names and name not in names else ""
        plan.notes.append(f"{u.found.name}: filed in submitted/{key[0]}, beside that {lms} person's earlier "
                          f"submissions (same {lms} id {u.person.lms_id}{renamed})")


def _recorded_person(folder: str, info: SubmissionInfo) -> Person:
    return Person(info.lms or "plain", info.lms_id, folder, (info.name,) if info.name else (), info.email)


def _moves(plan: Plan, course: Path, roster, earlier: dict[str, str], filing: Filing, gradebook) -> None:
    """Folders an earlier collect made under an LMS name, that the roster now gives to a student."""
    for folder in sorted(earlier.values()):
        if folder in roster.ids:
            continue
        assignments = sorted(p.name for p in (_submitted(course) / folder).iterdir() if p.is_dir() and not p.is_symlink())
        infos = {a: submission_info.read(course, folder, a) for a in assignments}
        if not infos or any(info is None for info in infos.values()):
            continue  # whose work it is was not recorded: left where it is
        owners = {frozenset(roster.match(_recorded_person(folder, info)).ids) for info in infos.values()}
        if len(owners) != 1 or len(next(iter(owners))) != 1:
            continue
        student = next(iter(next(iter(owners))))
        for assignment in assignments:
            _move_one(plan, course, folder, student, assignment, filing, gradebook)


def _move_one(plan: Plan, course: Path, folder: str, student: str, assignment: str, filing: Filing,
              gradebook) -> None:
    theirs = sha256(Course(course).submitted_notebook(folder, assignment))
    ours = sha256(Course(course).submitted_notebook(student, assignment))
    # Two earlier folders of one student may both hold this assignment: the first move takes the place.
    incoming = next((f for f, s, a, same in filing.moves if (s, a) == (student, assignment) and not same), None)
    if incoming is not None:
        ours = sha256(Course(course).submitted_notebook(incoming, assignment))
    if ours is None or ours == theirs:
        graded = _graded(gradebook, assignment, folder, student)
        graded |= {student for _, s, a in filing.grades_move if (s, a) == (student, assignment)}
        if {folder, student} <= graded:
            _hold_for_two_grades(plan, course, folder, student, assignment, gradebook())
            return
        if folder in graded:
            filing.grades_move.add((folder, student, assignment))
        filing.moves.append((folder, student, assignment, ours is not None))
        return
    waiting = plan.copies.pop((student, assignment), None)  # this collect's notebook waits too, listed
    plan.hold(student, assignment, [waiting] if waiting else [],
              f"submitted/{folder}/{assignment} (collected earlier under an LMS name, the roster now says it is "
              f"{student}'s) and submitted/{incoming or student}/{assignment} hold different notebooks",
              "keep one: move the other out of submitted/ by hand, then collect again")


def _graded(gradebook, assignment: str, *students: str) -> set[str]:
    """Which of ``students`` the gradebook has grades of for ``assignment`` (none when there is no gradebook)."""
    book = gradebook()
    return book.students_graded(assignment, students) if book is not None else set()


def _hold_for_two_grades(plan: Plan, course: Path, folder: str, student: str, assignment: str, book) -> None:
    """One student, graded under two names: which grades count is the instructor's choice, never merged."""
    waiting = plan.copies.pop((student, assignment), None)
    plan.hold(student, assignment, [waiting] if waiting else [],
              f"submitted/{folder}/{assignment} (collected earlier under an LMS name, the roster now says it is "
              f"{student}'s) is not moved: the gradebook holds grades of both {folder} and {student} for "
              f"{assignment}, and one student keeps one",
              f"keep one: delete the other name's row from the gradebook (e.g. "
              f"{delete_row_command(book, course, folder, assignment)}), then collect again")


def delete_row_command(book, course: Path, student: str, assignment: str) -> str:
    """A shell command that deletes one gradebook row, for the gradebook in use: ``sqlite3`` for a SQLite
    file, ``psql`` for PostgreSQL (the URL without its password, which psql asks for)."""
    sql = (f"DELETE FROM results WHERE student='{student.replace(chr(39), chr(39) * 2)}' "
           f"AND assignment='{assignment.replace(chr(39), chr(39) * 2)}'")
    url = getattr(getattr(book, "engine", None), "url", None)
    backend = url.get_backend_name() if url is not None else "sqlite"
    if backend == "postgresql":
        import sqlalchemy as sa

        plain = sa.engine.URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                                     database=url.database, query=url.query)
        return f"psql {_shell_word(plain.render_as_string(hide_password=False))} -c {_shell_word(sql)}"
    where = url.database if url is not None and url.database else Course(Path(course)).results_db
    return f"sqlite3 {_shell_word(str(where))} {_shell_word(sql)}"


def _shell_word(text: str) -> str:
    """``text`` as one shell word: in double quotes when nothing in it is special there (SQL reads better
    with its single quotes as they are), else as shlex quotes it."""
    if text and not any(c in text for c in '"$`\\!') and text.isprintable():
        return f'"{text}"'
    return shlex.quote(text)


# ---------------------------------------------------------------------------------------------
# Carrying it out.

def _replace_atomically(staged: Path, target: Path) -> None:
    """Copy into a new file beside ``target``, then rename it: a grader never sees half a copy."""
    with staged.open("rb") as src:
        write_atomically(target, lambda out: shutil.copyfileobj(src, out, CHUNK), prefix=".collect")


class Backup:
    """``COURSE/collect_backup/<UTC time>/<student>/<assignment>/``: made on first use, never overwritten."""

    def __init__(self, course: Path):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.root = Course(course).root / BACKUP / f"{stamp}-{secrets.token_hex(2)}"
        self.used = False

    def keep(self, folder: Path, student: str, assignment: str) -> Path:
        target = self.root / student / assignment
        target.mkdir(parents=True)
        for name in (f"{NOTEBOOK}.ipynb", "submission.json"):
            if (folder / name).is_file() and not (folder / name).is_symlink():
                shutil.copy2(folder / name, target / name)
        self.used = True
        return target


def _move_folder(layout: Course, backup: Backup, folder: str, student: str, assignment: str,
                 identical: bool) -> None:
    source = layout.submitted_notebook(folder, assignment).parent
    if identical:
        backup.keep(source, folder, assignment)
        shutil.rmtree(source)
    else:
        layout.submitted_notebook(student, assignment).parent.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, layout.submitted_notebook(student, assignment).parent)


def _move_graded_copy(layout: Course, folder: str, student: str, assignment: str) -> None:
    """The executed copy that feedback shows follows the grades (unless the student already has one)."""
    source, target = layout.graded_notebook(folder, assignment), layout.graded_notebook(student, assignment)
    if source.is_file() and not source.is_symlink() and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, target)
        if not any(source.parent.iterdir()):
            source.parent.rmdir()


def carry_out(plan: Plan, filing: Filing, course: Path, gradebook=lambda: None) -> tuple[list, list, list, Path | None]:
    """Moves (with their grades, the gradebook's row and the folder in one transaction), copies, then
    submission.json files. Returns (collected, replaced, moved, backup folder or None)."""
    layout, backup = Course(course), Backup(course)
    moved = []
    for folder, student, assignment, identical in filing.moves:
        if (folder, student, assignment) in filing.grades_move:
            try:
                with gradebook().renaming(folder, student, assignment):
                    _move_folder(layout, backup, folder, student, assignment, identical)
            except LookupError as err:
                raise CollectError(f"submitted/{folder}/{assignment} was not moved to {student}: {err} (was `grade` "
                                   f"running?); collect again to see what to do") from err
            _move_graded_copy(layout, folder, student, assignment)
        else:
            _move_folder(layout, backup, folder, student, assignment, identical)
        moved.append((folder, student, assignment))
        if not any((layout.root / "submitted" / folder).iterdir()):
            (layout.root / "submitted" / folder).rmdir()
    collected, replaced = [], []
    for key, u in sorted(plan.copies.items()):
        student, assignment = key
        target = layout.submitted_notebook(student, assignment)
        target.parent.mkdir(parents=True, exist_ok=True)
        before = sha256(target)
        if before != u.found.sha256:
            if before is not None:
                replaced.append((student, assignment, target, filing.replaces.get(key, "a resubmission"),
                                 backup.keep(target.parent, student, assignment)))
            _replace_atomically(u.found.staged, target)
        if sha256(target) != u.found.sha256:
            raise RuntimeError(f"{target} does not hold what was copied; is something else writing there?")
        collected.append((student, assignment, target))
    for (student, assignment), info in sorted(filing.info.items()):
        info = _keep_given_time(course, student, assignment, info)
        submission_info.write(layout.submission_info(student, assignment), info)
    return collected, replaced, moved, backup.root if backup.used else None


def _keep_given_time(course: Path, student: str, assignment: str, info: SubmissionInfo) -> SubmissionInfo:
    """A time the instructor gave stays while its notebook is unchanged."""
    if info.source != "timestamps.csv":
        before = submission_info.read(course, student, assignment)
        if before and before.source == "timestamps.csv" and before.sha256 == info.sha256:
            return replace(info, submitted_at=before.submitted_at, source=before.source)
    return info


def apply_times(plan: Plan, filing: Filing, given: dict, course: Path, times_file: Path) -> None:
    """The instructor's times replace what the export told, for this collect's submissions or earlier ones.

    A time for a submission that is in neither stops the collect: it is most likely a misspelt name.
    """
    submitted = _submitted(course)
    earlier = earlier_folders(course)
    held = {(h.who.casefold(), h.assignment) for h in plan.held}
    for (student_key, assignment), (when, student, line) in sorted(given.items()):
        key = next((k for k in filing.info if k[0].casefold() == student_key and k[1] == assignment), None)
        if key is not None:
            filing.info[key] = replace(filing.info[key], submitted_at=when, source="timestamps.csv")
            continue
        if (student_key, assignment) in held:
            # One student's hold must not stop the class; the time is used once the hold is resolved.
            plan.notes.append(f"{times_file} line {line}: {student}/{assignment} is held, so its time is not "
                              f"recorded yet; give the times file again when you collect it")
            continue
        name = earlier.get(student_key)
        notebook = Course(course).submitted_notebook(name, assignment) if name else None
        if notebook is None or not notebook.is_file():
            plan.problems.append(f"{times_file} line {line}: no submission of {student!r} for {assignment}, in this "
                                 f"collect or the course (students are named as their folders in submitted/)")
        elif any(p.is_symlink() for p in (submitted, notebook.parent.parent, notebook.parent, notebook)):
            plan.problems.append(f"{notebook} or a folder above it is a symbolic link; remove it first")
        else:
            before = submission_info.read(course, name, assignment) or SubmissionInfo()
            filing.info[name, assignment] = replace(before, submitted_at=when, source="timestamps.csv",
                                                    sha256=sha256(notebook) or "")
