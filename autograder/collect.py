"""Bring a class's submissions into ``course/submitted/<student>/<assignment>/exercise.ipynb``.

The source is a folder or a ``.zip`` as a learning-management system exports it. Each notebook's
owner comes from the whole name the LMS gave it (see ``NAMING_STYLES``: Canvas, Moodle, Blackboard,
Gradescope, or plain ``<student>/...ipynb`` folders and ``<student>_<anything>.ipynb`` files),
made a safe folder name; an optional roster maps those LMS identities to the roster's ids.

The assignment comes, in this order, from ``assignment=`` (``--assignment``), from the graded
cells' nbgrader ids inside the notebook, or from a whole word ``ch02``, ``chapter 2`` or
``exercise 2`` in its name. A notebook whose owner or assignment cannot be told is listed, never
guessed.

Collect is all or nothing: two different notebooks for one student and assignment (unless
``latest=True`` picks the newest), two people who would share a folder, an ambiguous roster
match or an oversized archive raise :class:`CollectError` listing every problem, and nothing is
copied. Symbolic links are refused and never followed, in folders and archives alike; archive
members with absolute or ``..`` paths are refused; archives are read within ``Limits``. The
originals are only read, each once, into a private staging folder; the course gets copies.

Beside each notebook goes ``submission.json`` (see ``submission_info``): when it was handed in,
how that is known (the LMS's record, the file's own time, or the instructor's ``timestamps``
CSV), and who the LMS says sent it; late penalties and the LMS import files read it.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from .paths import ASSIGNMENTS, NOTEBOOK
from .layout import Course
from . import submission_info
from .submission_info import SubmissionInfo
from .csv_input import read_table

GRADESCOPE_METADATA = "submission_metadata.yml"
CHUNK = 2**20
MAX_ID_LENGTH = 80


class CollectError(ValueError):
    """The submissions cannot be collected as they are; nothing was copied."""


@dataclass(frozen=True)
class Limits:
    """What one collect agrees to read.

    A zip's member count and declared sizes are checked from its central directory, then the
    sizes are enforced again while inflating, since a declared size can lie.
    """

    members: int = 20_000              # entries in an archive
    notebook_bytes: int = 50 * 2**20   # one notebook; a larger one is reported, not copied
    total_bytes: int = 2 * 2**30       # everything inflated from one archive


LIMITS = Limits()


# ---------------------------------------------------------------------------------------------
# Who handed a notebook in: one table of the names LMS exports give, first match wins.

@dataclass(frozen=True)
class NamingStyle:
    """How one LMS names a submission.

    ``kind`` is ``"folder"`` (a folder per submission, notebooks inside) or ``"file"`` (a notebook
    at the top of the export). Named groups: ``name``/``sortable`` (a person's name), ``login`` and
    ``id`` (what a roster may list), ``stamp`` (the attempt's time), ``title``/``original`` (where
    the assignment may be named), ``submission`` (Gradescope's id, resolved by its metadata file).
    """

    lms: str
    kind: str
    pattern: re.Pattern
    example: str


def _style(lms: str, kind: str, pattern: str, example: str) -> NamingStyle:
    return NamingStyle(lms, kind, re.compile(pattern), example)


NAMING_STYLES = (
    _style("moodle", "folder", r"(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?:file|onlinetext)_",
           "Ann Smith_1001_assignsubmission_file_"),
    _style("moodle", "file", r"(?P<name>.+)_(?P<id>\d+)_assignsubmission_file_(?P<original>.+)",
           "Ann Smith_1001_assignsubmission_file_ch02.ipynb"),
    _style("blackboard", "file",
           r"(?P<title>.+)_(?P<login>[^_]+)_attempt_(?P<stamp>\d{4}(?:-\d\d){5})(?P<original>.*)",
           "Dropout ch02_asmith_attempt_2024-01-01-10-00-00_exercise.ipynb"),
    _style("canvas", "file", r"(?P<sortable>[^\W_]+)(?P<late>_(?i:late))?_(?P<id>\d+)_\d+_(?P<original>.+)",
           "smithann_LATE_12345_678901_ch02_exercise.ipynb"),
    _style("gradescope", "folder", r"submission_(?P<submission>\d+)", "submission_123456"),
    _style("plain", "folder", r"(?P<name>.+)", "alice"),
    _style("plain", "file", r"(?P<name>[^_]+)_(?P<original>.+)", "Sybil_ch02_exercise (1).ipynb"),
)


def naming_style(name: str, kind: str) -> tuple[NamingStyle, re.Match] | None:
    """The first style of ``kind`` whose pattern matches the whole ``name``, with its match."""
    for style in NAMING_STYLES:
        match = style.pattern.fullmatch(name) if style.kind == kind else None
        if match:
            return style, match
    return None


@dataclass(frozen=True)
class Person:
    """Someone the LMS says handed a notebook in."""

    lms: str
    label: str                       # readable LMS identity, before it becomes a folder name
    keys: frozenset = frozenset()    # ids, logins, emails a roster may list
    names: frozenset = frozenset()   # human names a roster may list
    stamp: float | None = None       # the LMS's time of the submission, if it gives one
    lms_id: str = ""                 # the LMS's own id (Canvas user id, Moodle participant, Gradescope SID, login)
    email: str = ""
    late: bool = False               # Canvas put LATE in the file name


def _person(style: NamingStyle, match: re.Match) -> Person:
    found = {k: v for k, v in match.groupdict().items() if v}
    who = found.get("name") or found.get("sortable") or found.get("login")
    label = f"{who}_{found['id']}" if "id" in found else who
    return Person(style.lms, label, frozenset({who, *(found[k] for k in ("login", "id") if k in found)}),
                  frozenset(found[k] for k in ("name", "sortable") if k in found), _attempt_time(found.get("stamp")),
                  lms_id=found.get("id") or found.get("login") or "", late="late" in found)


def _attempt_time(stamp: str | None) -> float | None:
    """Blackboard's ``2024-01-01-10-00-00``, local time."""
    try:
        return time.mktime(time.strptime(stamp, "%Y-%m-%d-%H-%M-%S")) if stamp else None
    except (ValueError, OverflowError):
        return None


def _gradescope_people(metadata: dict, folder: str) -> list[Person]:
    entry = metadata.get(folder)
    if not isinstance(entry, dict):
        return []
    people = []
    created = _field(entry, "created_at")
    stamp = created.timestamp() if isinstance(created, datetime) else None
    for submitter in _field(entry, "submitters") or []:
        if not isinstance(submitter, dict):
            continue
        name, sid, email = (str(_field(submitter, k) or "").strip() for k in ("name", "sid", "email"))
        handle = sid or email
        if name or handle:
            people.append(Person("gradescope", f"{name}_{handle}" if name and handle else name or handle,
                                 frozenset(k for k in (sid, email) if k), frozenset({name} - {""}), stamp,
                                 lms_id=sid, email=email))
    return people


def _field(mapping: dict, key: str):
    """Gradescope writes Ruby symbols (``:name``); a hand-edited file may not."""
    return mapping.get(f":{key}", mapping.get(key))


def read_gradescope_metadata(path: Path) -> dict:
    """``submission_metadata.yml``: ``{"submission_<id>": {":submitters": [{":name", ":sid", ":email"}]}}``."""
    try:
        import yaml
    except ImportError as err:  # PyYAML comes with nbgrader and jupytext
        raise CollectError("reading Gradescope's submission_metadata.yml needs PyYAML (pip install pyyaml)") from err
    try:
        metadata = yaml.safe_load(path.read_bytes())
    except yaml.YAMLError as err:
        raise CollectError(f"Gradescope's {GRADESCOPE_METADATA} is not valid YAML: {err}") from err
    if not isinstance(metadata, dict):
        raise CollectError(f"Gradescope's {GRADESCOPE_METADATA} should map submission folders to submitters")
    return metadata


def safe_id(text: str) -> str:
    """``text`` as a folder name: letters, digits, ``_ . -``; no separators, no leading dot."""
    cleaned = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", text)).strip("._-")
    return cleaned[:MAX_ID_LENGTH].rstrip("._-")


# ---------------------------------------------------------------------------------------------
# Which assignment a notebook is for.

_CHAPTER_WORD = re.compile(r"(?<![^\W_])(?:chapter|ch)[\s_-]?0*(\d+)(?![^\W_])", re.IGNORECASE)
_EXERCISE_WORD = re.compile(r"(?<![^\W_])exercise[\s_-]?0*(\d+)(?![^\W_])", re.IGNORECASE)


def assignments_named(text: str) -> set[str]:
    """Released assignments a name spells out as a whole word; ``ch``/``chapter`` beat ``exercise``.

    ``sketch1`` or ``Approach3`` name nothing; in ``ch02_exercise-1`` the ``-1`` is a copy number.
    """
    for word in (_CHAPTER_WORD, _EXERCISE_WORD):
        named = {f"ch{int(n):02d}" for n in word.findall(text)} & set(ASSIGNMENTS)
        if named:
            return named
    return set()


@functools.lru_cache(maxsize=None)
def _assignment_of_grade_id() -> dict[str, str]:
    from .sources import points_by_function

    return {grade_id: a for a in ASSIGNMENTS for grade_id in points_by_function(a)}


def assignments_graded_in(notebook: Path) -> set[str]:
    """Assignments whose graded cells' nbgrader ids the notebook holds (renaming keeps them)."""
    try:
        doc = json.loads(notebook.read_bytes())
    except (ValueError, RecursionError):
        return set()
    cells = _list(_dict(doc).get("cells"))
    for worksheet in _list(_dict(doc).get("worksheets")):  # nbformat 3
        cells += _list(_dict(worksheet).get("cells"))
    ids = {_dict(_dict(_dict(c).get("metadata")).get("nbgrader")).get("grade_id") for c in cells}
    table = _assignment_of_grade_id()
    return {table[i] for i in ids if isinstance(i, str) and i in table}


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return list(value) if isinstance(value, list) else []


# ---------------------------------------------------------------------------------------------
# The roster.

@dataclass(frozen=True)
class RosterEntry:
    id: str
    name: str
    email: str


def read_roster(path: Path) -> tuple[RosterEntry, ...]:
    """Read a class list: a CSV with a header naming ``id``, ``name`` and ``email`` (more columns are ignored).

    Ids become folder names, so they must be safe ones; ids and emails must be unique.
    """
    path = Path(path)
    reader, header = read_table(path, ("id", "name", "email"), "roster", CollectError)
    entries, problems, line_of = [], [], {}
    for line, row in enumerate(reader, start=2):
        entry = RosterEntry(*((row.get(header[c]) or "").strip() for c in ("id", "name", "email")))
        if not any(entry.__dict__.values()):
            continue
        if not entry.id:
            problems.append(f"line {line}: no id")
        elif safe_id(entry.id) != entry.id:
            problems.append(f"line {line}: id {entry.id!r} cannot be a folder name (use letters, digits, . _ -)")
        if entry.email and "@" not in entry.email:
            problems.append(f"line {line}: {entry.email!r} is not an email address")
        for kind, value in (("id", entry.id), ("email", entry.email)):
            if value and (kind, value.casefold()) in line_of:
                problems.append(f"line {line}: {kind} {value!r} is already on line {line_of[kind, value.casefold()]}")
            line_of.setdefault((kind, value.casefold()), line)
        entries.append(entry)
    if problems:
        raise CollectError(f"roster {path}:\n  " + "\n  ".join(problems))
    if not entries:
        raise CollectError(f"roster {path} lists nobody")
    return tuple(entries)


def _name_key(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name)
    return "".join(c for c in plain if c.isalnum()).casefold()


def _name_forms(name: str) -> set[str]:
    """``Ann Smith``, ``Smith, Ann`` and Canvas's ``smithann`` all say the same person."""
    words = re.findall(r"[^\W_]+", name)
    forms = {_name_key("".join(words)), _name_key("".join(words[-1:] + words[:-1]))}
    if "," in name:
        last, first = name.split(",", 1)
        forms.add(_name_key(first + last))
    return forms - {""}


class _RosterIndex:
    def __init__(self, entries):
        self.ids = {e.id for e in entries}
        self.exact, self.by_name = {}, {}
        for e in entries:
            keys = {e.id, e.email, e.email.partition("@")[0] if e.email else ""} - {""}
            for key in keys:
                self.exact.setdefault(key.casefold(), set()).add(e.id)
            for form in _name_forms(e.name):
                self.by_name.setdefault(form, set()).add(e.id)

    def match(self, person: Person) -> set[str]:
        """Roster ids for ``person``: by id, email or login first, by name only if none of those match."""
        found = set().union(*(self.exact.get(k.casefold(), set()) for k in person.keys))
        if not found:
            found = set().union(*(self.by_name.get(f, set()) for n in person.names for f in _name_forms(n)))
        return found


# ---------------------------------------------------------------------------------------------
# Reading the source, each file once, into a private staging folder.

@dataclass(frozen=True)
class _Found:
    parts: tuple[str, ...]   # its path inside the export
    staged: Path
    sha256: str
    mtime: float
    shown: str = ""          # how messages name it

    @property
    def name(self) -> str:
        return self.shown or "/".join(self.parts)


@dataclass
class _Harvest:
    found: list[_Found] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _ignored(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _wanted(name: str) -> bool:
    return name.lower().endswith(".ipynb") or name == GRADESCOPE_METADATA


def _stage(stream, target: Path, cap: int) -> tuple[str, int] | None:
    """Copy ``stream`` into ``target`` chunk by chunk; None once it holds more than ``cap`` bytes.

    Never asks for more than ``cap + 1`` bytes, so nothing beyond the cap is inflated or held.
    """
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while chunk := stream.read(min(CHUNK, cap + 1 - size)):
            size += len(chunk)
            if size > cap:
                return None
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _too_large(cap: int) -> str:
    return f"larger than {cap / 2**20:g} MiB, so not copied (is it a notebook?)"


def _harvest_folder(root: Path, staging: Path, limits: Limits) -> _Harvest:
    harvest, pending = _Harvest(), [()]
    while pending:
        rel = pending.pop()
        try:
            with os.scandir(root.joinpath(*rel)) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as err:
            harvest.refused.append(("/".join(rel) or str(root), f"could not be listed ({err.strerror})"))
            continue
        for entry in entries:
            parts = (*rel, entry.name)
            name = "/".join(parts)
            if _ignored(entry.name):
                continue
            if entry.is_symlink():
                harvest.refused.append((name, "a symbolic link: refused, never followed"))
            elif entry.is_dir(follow_symlinks=False):
                pending.append(parts)
            elif not _wanted(entry.name):
                harvest.skipped.append(name)
            else:
                _stage_file(Path(entry.path), parts, staging / str(len(harvest.found)), limits, harvest)
    return harvest


def _stage_file(path: Path, parts, target: Path, limits: Limits, harvest: _Harvest) -> None:
    name = "/".join(parts)
    try:
        # O_NOFOLLOW: a file swapped for a link since the listing is still not followed;
        # O_NONBLOCK: a FIFO named *.ipynb cannot hang the collect.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        harvest.refused.append((name, f"could not be opened ({err.strerror})"))
        return
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            harvest.refused.append((name, "not a regular file"))
            return
        staged = _stage(stream, target, limits.notebook_bytes)
    if staged is None:
        harvest.refused.append((name, _too_large(limits.notebook_bytes)))
    else:
        harvest.found.append(_Found(parts, target, staged[0], info.st_mtime))


def _zip_entry_count(source: Path, limits: Limits) -> None:
    """Refuse an oversized central directory before ``zipfile`` loads all of it into memory."""
    with source.open("rb") as fh:
        record = zipfile._EndRecData(fh)  # the same reader ZipFile uses; private but stable since 2.x
    if record and (record[zipfile._ECD_ENTRIES_TOTAL] > limits.members
                   or record[zipfile._ECD_SIZE] > limits.members * 1024):
        raise CollectError(f"{source} holds more than {limits.members} entries; refusing to open it")


def _unsafe_member(info: zipfile.ZipInfo) -> str | None:
    name = info.filename.replace("\\", "/")
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link in the archive: refused"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute path in the archive: refused"
    if ".." in name.split("/"):
        return "a path with '..' in the archive: refused"
    return None


def _harvest_zip(source: Path, staging: Path, limits: Limits) -> _Harvest:
    _zip_entry_count(source, limits)
    harvest, wanted = _Harvest(), []
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as err:
        raise CollectError(f"{source} cannot be read as a .zip archive: {err}") from err
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.members:
            raise CollectError(f"{source} holds {len(infos)} entries, more than the {limits.members} allowed")
        for info in infos:
            parts = tuple(p for p in info.filename.replace("\\", "/").split("/") if p not in ("", "."))
            unsafe = _unsafe_member(info)
            if unsafe:
                harvest.refused.append((info.filename, unsafe))
            elif info.is_dir() or not parts or any(_ignored(p) for p in parts):
                continue
            elif not _wanted(parts[-1]):
                harvest.skipped.append(info.filename)
            elif info.file_size > limits.notebook_bytes:
                harvest.refused.append((info.filename, _too_large(limits.notebook_bytes)))
            else:
                wanted.append((info, parts))
        declared = sum(info.file_size for info, _ in wanted)
        if declared > limits.total_bytes:
            raise CollectError(f"{source} would inflate to {declared / 2**30:.1f} GiB of notebooks, more than "
                               f"the {limits.total_bytes / 2**30:g} GiB allowed")
        budget, seen = limits.total_bytes, set()
        for index, (info, parts) in enumerate(wanted):
            cap = min(limits.notebook_bytes, budget)
            target = staging / str(index)
            try:
                with archive.open(info) as stream:
                    staged = _stage(stream, target, cap)
            except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as err:
                harvest.refused.append((info.filename, f"could not be read from the archive ({err})"))
                continue
            if staged is None and cap < limits.notebook_bytes:
                raise CollectError(f"{source} inflates to more than the {limits.total_bytes / 2**30:g} GiB allowed")
            if staged is None:
                harvest.refused.append((info.filename, _too_large(limits.notebook_bytes)))
                continue
            budget -= staged[1]
            shown = f"{info.filename} (archive entry {index + 1})" if parts in seen else ""
            seen.add(parts)
            try:
                mtime = time.mktime((*info.date_time, 0, 0, -1))
            except (OverflowError, ValueError):
                mtime = 0.0
            harvest.found.append(_Found(parts, target, staged[0], mtime, shown))
    return harvest


def _lms_named(name: str, kind: str) -> bool:
    matched = naming_style(name, kind)
    return matched is not None and matched[0].lms != "plain"


def _unwrap(found: list[_Found]) -> list[_Found]:
    """Drop one folder that wraps the whole class (``export/alice/...``), never a student's own folder."""
    tops = {f.parts[0] for f in found}
    if len(tops) != 1 or any(len(f.parts) < 2 for f in found):
        return found
    if _lms_named(tops.pop(), "folder"):
        return found
    files = [f.parts[1] for f in found if len(f.parts) == 2]
    folders = {f.parts[1] for f in found if len(f.parts) > 2}
    wraps = (GRADESCOPE_METADATA in files or any(_lms_named(name, "file") for name in files)
             or (not files and not any(assignments_named(name) for name in folders)))
    return [replace(f, parts=f.parts[1:]) for f in found] if wraps else found


# ---------------------------------------------------------------------------------------------
# Deciding where every notebook goes, before anything is copied.

@dataclass
class _Plan:
    copies: dict = field(default_factory=dict)     # (student, assignment) -> _Found
    unidentified: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    problems: list = field(default_factory=list)   # any of these, and nothing is copied
    not_on_roster: list = field(default_factory=list)
    info: dict = field(default_factory=dict)       # (student, assignment) -> SubmissionInfo for submission.json


def _submission_info(found: _Found, person: Person) -> SubmissionInfo:
    """When ``found`` was handed in, as well as the export tells, and who the LMS says sent it."""
    if person.stamp is not None:  # Gradescope's metadata or Blackboard's attempt time
        when, source = submission_info.from_epoch(person.stamp), person.lms
    else:
        when, source = submission_info.from_epoch(found.mtime), "canvas-late-marker" if person.late else "file-mtime"
    return SubmissionInfo(when, source if when or person.late else None, found.sha256, person.lms, person.lms_id,
                          min(person.names, default=""), person.email)


def _keep(plan: _Plan, key, chosen: tuple[_Found, Person]) -> None:
    plan.copies[key] = chosen[0]
    plan.info[key] = _submission_info(*chosen)


def _owners(found: _Found, metadata: dict | None, plan: _Plan) -> tuple[list[Person], str] | None:
    """Who handed ``found`` in, and the part of its name that may say the assignment."""
    if len(found.parts) == 1:
        matched = naming_style(found.parts[0], "file")
        if matched is None or (matched[0].lms == "plain" and assignments_named(matched[1]["name"])):
            plan.unidentified.append((found.name, "cannot tell whose notebook this is: at the top of the export "
                                                  "a notebook must be named <student>_<anything>.ipynb"))
            return None
        style, match = matched
        hint = " ".join(filter(None, (match.groupdict().get("title"), match.groupdict().get("original"))))
        return [_person(style, match)], hint
    folder, hint = found.parts[0], "/".join(found.parts[1:])
    style, match = naming_style(folder, "folder")
    if style.lms == "gradescope":
        people = _gradescope_people(metadata or {}, folder)
        if people:
            return people, hint
        plan.notes.append(f"{folder}: not in Gradescope's {GRADESCOPE_METADATA}, so filed under its folder name")
        return [Person("plain", folder, frozenset({folder}), frozenset())], hint
    return [_person(style, match)], hint


def _assignment(found: _Found, hint: str, given: str | None, plan: _Plan) -> str | None:
    graded = assignments_graded_in(found.staged)
    if given:
        if graded and given not in graded:
            plan.notes.append(f"{found.name}: filed under {given} as asked, though it holds the graded cells "
                              f"of {', '.join(sorted(graded))}")
        return given
    if len(graded) == 1:
        return graded.pop()
    if graded:
        plan.unidentified.append((found.name, f"holds graded cells of {', '.join(sorted(graded))}: "
                                              f"pass --assignment to say which"))
        return None
    named = assignments_named(hint.removesuffix(".ipynb"))
    if len(named) == 1:
        return named.pop()
    why = f"its name says {' and '.join(sorted(named))}" if named else "neither its cells nor its name say"
    plan.unidentified.append((found.name, f"cannot tell which assignment: {why} (rename it to contain "
                                          f"ch0N or pass --assignment)"))
    return None


def _student_ids(people: set[Person], roster, plan: _Plan) -> dict[Person, str]:
    """Folder name per person: the roster's id, else the LMS identity made safe; never one for two."""
    index = _RosterIndex(roster) if roster is not None else None
    ids = {}
    owner_of = {i.casefold(): ("roster", i) for i in index.ids} if index else {}
    for person in sorted(people, key=lambda p: (p.lms, p.label)):
        matches = index.match(person) if index else set()
        if len(matches) > 1:
            plan.problems.append(f"{person.label} ({person.lms}) matches several roster entries: "
                                 f"{', '.join(sorted(matches))}")
            continue
        matched = len(matches) == 1
        student = matches.pop() if matched else safe_id(person.label)
        if not student:
            plan.problems.append(f"{person.label!r} ({person.lms}) gives no usable folder name")
            continue
        owner = ("roster", student) if matched else (person.lms, person.label)
        other = owner_of.setdefault(student.casefold(), owner)
        if other != owner:
            plan.problems.append(f"{other[1]} and {owner[1]} would both be filed as {student!r}: "
                                 f"rename one folder or use a roster")
            continue
        ids[person] = student
        if index and not matched:
            plan.not_on_roster.append(student)
    return ids


def _choose(key, candidates: list[tuple[_Found, Person]], latest: bool, plan: _Plan) -> None:
    student, assignment = key
    contents = {f.sha256 for f, _ in candidates}
    found = [f for f, _ in candidates]
    names = ", ".join(f.name for f in found)
    if len(contents) == 1:
        _keep(plan, key, candidates[0])
        if len(found) > 1:
            plan.notes.append(f"{student}/{assignment}: {names} are identical; collected once")
        return
    if latest:
        def when(candidate):
            found, person = candidate
            return person.stamp if person.stamp is not None else found.mtime

        newest, runner_up = sorted(candidates, key=when, reverse=True)[:2]
        if when(newest) != when(runner_up):
            _keep(plan, key, newest)
            plan.notes.append(f"{student}/{assignment}: kept {newest[0].name}, the newest of {names} (--latest)")
            return
    plan.problems.append(f"{student}/{assignment}: {len(found)} different notebooks, {names}; keep one "
                         f"(or pass --latest to keep the newest)")


def _plan(harvest: _Harvest, metadata: dict | None, given: str | None, roster, latest: bool) -> _Plan:
    plan = _Plan()
    placed = []
    for found in harvest.found:
        owners = _owners(found, metadata, plan)
        if owners is None:
            continue
        assignment = _assignment(found, owners[1], given, plan)
        if assignment is not None:
            placed += [(found, person, assignment) for person in owners[0]]
            if len(owners[0]) > 1:
                plan.notes.append(f"{found.name}: a group submission, copied for each of "
                                  f"{', '.join(p.label for p in owners[0])}")
    ids = _student_ids({person for _, person, _ in placed}, roster, plan)
    grouped = {}
    for found, person, assignment in placed:
        if person in ids:
            grouped.setdefault((ids[person], assignment), []).append((found, person))
    for key, candidates in sorted(grouped.items()):
        _choose(key, candidates, latest, plan)
    return plan


# ---------------------------------------------------------------------------------------------
# The result, and copying.

class Collected(list):
    """The ``(student, assignment, path)`` of every notebook this collect put in the course.

    It is a list of those triples (what is really on disk afterwards, checked); the attributes
    say what was not collected and why.

    Attributes
    ----------
    missing : list of str
        Roster ids with no notebook in this collect.
    not_on_roster : list of str
        Students collected under their LMS identity because the roster does not list them.
    skipped : list of str
        Files that are not notebooks (never read).
    refused : list of (str, str)
        Files refused, with the reason: symbolic links, unsafe or unreadable archive members,
        oversized notebooks.
    unidentified : list of (str, str)
        Notebooks whose owner or assignment could not be told, with the reason.
    replaced : list of (str, str, Path)
        Submissions that replaced a different notebook from an earlier collect (a resubmission).
    notes : list of str
        Choices made on the way (identical copies, ``--latest`` picks, group submissions).
    """

    def __init__(self, triples=(), *, missing=(), not_on_roster=(), skipped=(), refused=(), unidentified=(),
                 replaced=(), notes=()):
        super().__init__(triples)
        self.missing, self.not_on_roster = list(missing), list(not_on_roster)
        self.skipped, self.refused, self.unidentified = list(skipped), list(refused), list(unidentified)
        self.replaced, self.notes = list(replaced), list(notes)

    def report(self) -> list[str]:
        """One line per thing the instructor should know, beyond the count."""
        lines = [f"refused {name}: {why}" for name, why in self.refused]
        lines += [f"not collected {name}: {why}" for name, why in self.unidentified]
        lines += [f"replaced {s}/{a} with a resubmission" for s, a, _ in self.replaced]
        lines += self.notes
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file(s) that are not notebooks")
        if self.not_on_roster:
            lines.append(f"not on the roster, filed under their LMS name: {', '.join(self.not_on_roster)}")
        if self.missing:
            lines.append(f"no submission from: {', '.join(self.missing)}")
        return lines


def _sha256(path: Path) -> str | None:
    if not path.is_file() or path.is_symlink():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_course(course: Path, plan: _Plan) -> None:
    """Copies go into real folders, one per person across collects.

    A symbolic link in the course would send a copy elsewhere; a folder from an earlier collect
    whose name differs only in case would be one person twice (or two people in one folder on a
    case-insensitive disk).
    """
    submitted = Course(course).root / "submitted"
    earlier = {p.name.casefold(): p.name for p in submitted.iterdir()} if submitted.is_dir() else {}
    for student in sorted({s for s, _ in plan.copies}):
        if earlier.get(student.casefold(), student) != student:
            plan.problems.append(f"{student} would sit beside {earlier[student.casefold()]} from an earlier collect; "
                                 f"rename one of them")
    for student, assignment in plan.copies:
        for path in (submitted, submitted / student, submitted / student / assignment,
                     submitted / student / assignment / f"{NOTEBOOK}.ipynb"):
            if path.is_symlink():
                plan.problems.append(f"{path} is a symbolic link; remove it first")


def _replace_atomically(staged: Path, target: Path) -> None:
    """Copy into a new file beside ``target``, then rename it: a grader never sees half a copy."""
    partial = target.with_name(f".collect-{os.getpid()}-{secrets.token_hex(4)}")
    # Mode 0o666 less the umask, as a plain copy would get (a NamedTemporaryFile is always 0o600).
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out, staged.open("rb") as src:
            shutil.copyfileobj(src, out, CHUNK)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _commit(plan: _Plan, course: Path) -> tuple[list, list]:
    collected, replaced = [], []
    for (student, assignment), found in sorted(plan.copies.items()):
        target = Course(course).submitted_notebook(student, assignment)
        target.parent.mkdir(parents=True, exist_ok=True)
        before = _sha256(target)
        if before != found.sha256:
            _replace_atomically(found.staged, target)
            if before is not None:
                replaced.append((student, assignment, target))
        if _sha256(target) != found.sha256:
            raise CollectError(f"{target} does not hold what was copied; is something else writing there?")
        collected.append((student, assignment, target))
    return collected, replaced


def _apply_times(plan: _Plan, given: dict, course: Path, times_file: Path) -> None:
    """The instructor's times replace what the export told, for this collect's submissions or earlier ones.

    A time for a submission that is in neither stops the collect: it is most likely a misspelt name.
    """
    submitted = Course(course).root / "submitted"
    earlier = {p.name.casefold(): p.name for p in submitted.iterdir()} if submitted.is_dir() else {}
    for (student_key, assignment), (when, student, line) in sorted(given.items()):
        key = next((k for k in plan.info if k[0].casefold() == student_key and k[1] == assignment), None)
        if key is not None:
            plan.info[key] = replace(plan.info[key], submitted_at=when, source="timestamps.csv")
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
            plan.info[name, assignment] = replace(before, submitted_at=when, source="timestamps.csv",
                                                  sha256=_sha256(notebook) or "")


def _record_info(plan: _Plan, course: Path) -> None:
    """Write submission.json beside each notebook; a time the instructor gave stays while its notebook is unchanged."""
    for (student, assignment), info in sorted(plan.info.items()):
        if info.source != "timestamps.csv":
            before = submission_info.read(course, student, assignment)
            if before and before.source == "timestamps.csv" and before.sha256 == info.sha256:
                info = replace(info, submitted_at=before.submitted_at, source=before.source)
        submission_info.write(Course(course).submission_info(student, assignment), info)


def collect(source: Path, course: Path, assignment: str | None = None, *, roster=None, latest: bool = False,
            limits: Limits = LIMITS, timestamps: Path | None = None) -> Collected:
    """Copy every submission in ``source`` into ``course/submitted/<student>/<assignment>/exercise.ipynb``.

    Parameters
    ----------
    source : Path
        A folder or ``.zip`` as an LMS exports it. Only read.
    course : Path
        The instructor's course folder.
    assignment : str, optional
        File every notebook under this assignment, whatever its name or cells say.
    roster : Path or sequence of RosterEntry, optional
        A class list (see :func:`read_roster`): students are filed under its ids, and those with
        no notebook are reported.
    latest : bool
        When one student has several different notebooks for one assignment, keep the newest
        (the LMS's time stamp, else the file's) instead of stopping.
    limits : Limits
        Caps on what is read from an archive.
    timestamps : Path, optional
        A CSV of ``student,assignment,submitted_at`` (ISO 8601 with timezone): these times
        replace what the export tells, in each submission's ``submission.json``.

    Returns
    -------
    Collected
        A list of ``(student, assignment, path)`` for what is now in the course, plus what was not
        collected and why.

    Raises
    ------
    CollectError
        When the source cannot be read or collecting it would lose, merge or misfile a notebook;
        nothing is copied then.
    """
    if assignment is not None and assignment not in ASSIGNMENTS:
        raise CollectError(f"unknown assignment {assignment!r}; choose one of {', '.join(ASSIGNMENTS)}")
    if isinstance(roster, (str, os.PathLike)):
        roster = read_roster(Path(roster))
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
        reader = _harvest_folder if source.is_dir() else _harvest_zip
        harvest = reader(source, Path(tmp), limits)
        found = _unwrap(harvest.found)
        metadata_files = [f for f in found if f.parts[-1] == GRADESCOPE_METADATA]
        metadata = next((read_gradescope_metadata(f.staged) for f in metadata_files if len(f.parts) == 1), None)
        harvest.skipped += [f.name for f in metadata_files if len(f.parts) > 1]
        harvest.found = [f for f in found if f.parts[-1] != GRADESCOPE_METADATA]
        plan = _plan(harvest, metadata, assignment, roster, latest)
        _check_course(course, plan)
        _apply_times(plan, given_times, course, Path(timestamps or ""))
        if plan.problems:
            raise CollectError("nothing was collected; fix these and collect again:\n  - "
                               + "\n  - ".join(plan.problems))
        collected, replaced = _commit(plan, course)
        _record_info(plan, course)
    missing = sorted({e.id for e in roster} - {s for s, _ in plan.copies}) if roster is not None else []
    return Collected(collected, missing=missing, not_on_roster=sorted(set(plan.not_on_roster)),
                     skipped=harvest.skipped, refused=harvest.refused, unidentified=plan.unidentified,
                     replaced=replaced, notes=plan.notes)
