"""Who handed a file in, and when, from the prefix each LMS writes before the student's own file name.

One table, ``NAMING_STYLES``. Each LMS writes a fixed prefix and then the name the student gave
the upload: the prefix is read from the left and ends where the LMS's format says it ends;
everything after it is the student's file name, which is data (it may name the assignment)
and never identity or time. When prefixes of several LMSs fit one name, the shortest wins:
the LMS's real prefix ends before the student's part starts, so text the student wrote can
only make a longer, later match.

    canvas      lastfirst[_LATE]_<user id>_<attachment id>_<file>     anon_<anonymous id>[_LATE]_<attachment id>_<file>
    moodle      Full Name_<participant>_assignsubmission_file_<file>  (or such a folder, the files inside)
    blackboard  Title_<login>_attempt_YYYY-MM-DD-HH-MM-SS_<file>      (the time in the LMS's time zone)
    gradescope  submission_<id>/<files>, people and time from submission_metadata.yml
    plain       <student>/<files> or <student>_<file> (hand-made folders: the whole name is the owner)
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from autograder.collect.errors import CollectError
from autograder.course.submission_info import GRADESCOPE_FOLDER

GRADESCOPE_METADATA = "submission_metadata.yml"
MAX_ID_LENGTH = 80
ORDER_WIDTH = 20  # attachment ids are zero-padded so that orders compare as strings


@dataclass(frozen=True)
class NamingStyle:
    """How one LMS names a submission.

    ``kind`` is ``"file"`` (a file at the top of the export) or ``"folder"`` (a folder per
    submission). For files, ``pattern`` is the LMS's prefix, matched from the first character;
    the rest of the name is the student's. For folders it must match the whole folder name.
    """

    lms: str
    kind: str
    pattern: re.Pattern
    example: str


def _style(lms: str, kind: str, pattern: str, example: str) -> NamingStyle:
    return NamingStyle(lms, kind, re.compile(pattern), example)


STAMP = r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d"
SORTABLE = r"[^\s\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]"
NAMING_STYLES = (
    # Canvas's anonymous grading has no user id; "anon" comes first so a numeric anonymous id is never a user id.
    _style("canvas", "file", r"anon_(?P<anon>[A-Za-z0-9]+)(?:_(?P<late>(?i:late)))?_(?P<attachment>\d+)_",
           "anon_fC7Vx_678901_ch02.ipynb"),
    # lastfirst is Canvas's sortable name with everything but letters and digits removed: never an underscore,
    # a space or ASCII punctuation. Canvas's "letters" include marks and invisible joiners that Python's \w
    # does not (Devanagari vowel signs, a zero-width joiner), so anything else is taken as part of the name.
    _style("canvas", "file", rf"(?P<sortable>{SORTABLE}+)(?:_(?P<late>(?i:late)))?_(?P<user>\d+)_(?P<attachment>\d+)_",
           "smithann_LATE_12345_678901_ch02_exercise.ipynb"),
    # Moodle replaces "_" in full names by a space, so the name holds none.
    _style("moodle", "file", r"(?P<name>[^_]+)_(?P<participant>\d+)_assignsubmission_file_",
           "Ann Smith_1001_assignsubmission_file_ch02.ipynb"),
    _style("moodle", "folder", r"(?P<name>[^_]+)_(?P<participant>\d+)_assignsubmission_(?:file|onlinetext)_?",
           "Ann Smith_1001_assignsubmission_file_"),
    # The title is the instructor's and may hold "_"; the first "_<login>_attempt_<time>_" ends the prefix.
    _style("blackboard", "file", rf"(?P<title>.+?)_(?P<login>[^_]+)_attempt_(?P<stamp>{STAMP})_",
           "Dropout ch02_asmith_attempt_2024-01-01-10-00-00_exercise.ipynb"),
    _style("gradescope", "folder", GRADESCOPE_FOLDER, "submission_123456"),
    _style("plain", "folder", r"(?P<name>.+)", "alice"),
    _style("plain", "file", r"(?P<name>[^_]+)_", "Sybil_ch02_exercise (1).ipynb"),
)


def naming_style(name: str, kind: str) -> tuple[NamingStyle, re.Match] | None:
    """The style that reads ``name``, with its match; for files ``match.string[match.end():]`` is the student's part.

    ``name`` is read in Unicode's composed form (NFC): an export unpacked on a Mac spells "é" as "e" and a
    combining accent (NFD), and the same LMS name must read as the same person either way.

    For files: of the LMS prefixes that fit at the start and leave a file name after them, the
    shortest (then the first in the table); a plain ``<student>_`` only when no LMS prefix fits.
    """
    name = unicodedata.normalize("NFC", name)
    fits = []
    for order, style in enumerate(NAMING_STYLES):
        if style.kind != kind:
            continue
        match = style.pattern.fullmatch(name) if kind == "folder" else style.pattern.match(name)
        if match and (kind == "folder" or match.end() < len(name)):
            fits.append((style.lms == "plain", match.end() if kind == "file" else 0, order, style, match))
    if not fits:
        return None
    *_, style, match = min(fits, key=lambda fit: fit[:3])
    return style, match


@dataclass(frozen=True)
class Person:
    """Someone the LMS says handed a file in. Equal for every file of one person in one LMS."""

    lms: str
    lms_id: str                   # the LMS's own id: Canvas user id, Moodle participant, Blackboard login, Gradescope SID
    label: str                    # readable, and the folder name (made safe) when no roster names them
    names: tuple[str, ...] = ()   # display names the LMS gives, for the roster's name fallback
    email: str = ""
    anonymous: bool = False       # Canvas's anonymous grading or Moodle's blind marking: no one to match

    @property
    def shown(self) -> str:
        return f"{self.label} ({self.lms})"


@dataclass(frozen=True)
class Claim:
    """What the LMS wrote about one file: who, when and in which order; and the student's part of its name."""

    people: tuple[Person, ...]
    original: str                 # the student's file name (data: it may name the assignment)
    export: str = ""              # one LMS export is one assignment's; "" for hand-made folders
    title: str = ""               # Blackboard's assignment title (written by the LMS, may name the assignment)
    when: datetime | None = None
    time_source: str | None = None
    order: str = ""               # "<kind>:<value>", comparable with orders of the same kind
    late: bool = False            # Canvas wrote LATE, without a time
    note: str = ""                # why a time the LMS wrote was not used


def claim_file(name: str, lms_timezone: tzinfo | None, blackboard_titles: dict | None = None) -> Claim | None:
    """The claim of a file at the top of an export; None when no style reads it.

    ``blackboard_titles`` (see :func:`blackboard_titles`) tells where Blackboard's title ends when a
    login holds ``_``; without it the login is the text after the title's last ``_``.
    """
    matched = naming_style(name, "file")
    if matched is None:
        return None
    style, match = matched
    found = {k: v for k, v in match.groupdict().items() if v}
    original = match.string[match.end():]
    if style.lms == "canvas":
        return _canvas(found, original)
    if style.lms == "moodle":
        return Claim((_moodle_person(found),), original, export="moodle")
    if style.lms == "blackboard":
        return _blackboard(_split_title(found, blackboard_titles or {}), original, lms_timezone)
    return Claim((Person("plain", "", found["name"], (found["name"],)),), original)


def _canvas(found: dict, original: str) -> Claim:
    order = f"canvas-attachment:{int(found['attachment']):0{ORDER_WIDTH}d}"
    late = "late" in found
    if "anon" in found:
        person = Person("canvas", f"anon_{found['anon']}", f"anon_{found['anon']}", anonymous=True)
    else:
        person = Person("canvas", found["user"], f"{found['sortable']}_{found['user']}", (found["sortable"],))
    return Claim((person,), original, export="canvas", order=order, late=late,
                 time_source="canvas-late-marker" if late else None)


def _moodle_person(found: dict) -> Person:
    name = found["name"].strip()
    # Blind marking writes "Participant" for every name: a number, no person to match by name.
    blind = name.casefold() == "participant"
    return Person("moodle", found["participant"], f"{name}_{found['participant']}", () if blind else (name,),
                  anonymous=blind)


def _blackboard_head(found: dict) -> str:
    """``Title_login``: what Blackboard writes before ``_attempt_<time>_``."""
    return f"{found['title']}_{found['login']}"


def _title_prefixes(head: str) -> list[str]:
    parts = head.split("_")
    return ["_".join(parts[:k]) for k in range(1, len(parts))]


def blackboard_titles(names) -> dict[str, str]:
    """``Title_login`` -> Title, for the Blackboard names of one collect.

    Blackboard writes one title for every file of an export, and a title or a login may hold
    ``_``: the title is the ``_``-prefix that the most people's names share (the longest, on a
    tie), so ``HW_1_john_smith`` beside ``HW_1_kmuller`` is John Smith's ``john_smith``, not
    ``smith``. Only what Blackboard wrote is read: the student's part comes after the attempt time.
    """
    heads = set()
    for name in names:
        matched = naming_style(name, "file")
        if matched and matched[0].lms == "blackboard":
            heads.add(_blackboard_head(matched[1].groupdict()))
    shared = Counter(prefix for head in heads for prefix in _title_prefixes(head))
    return {head: max(_title_prefixes(head), key=lambda p: (shared[p], len(p))) for head in heads}


def _split_title(found: dict, titles: dict) -> dict:
    head = _blackboard_head(found)
    title = titles.get(head, found["title"])
    return {**found, "title": title, "login": head[len(title) + 1:]}


def _blackboard(found: dict, original: str, lms_timezone: tzinfo | None) -> Claim:
    stamp = found["stamp"]
    when, note = attempt_time(stamp, lms_timezone), ""
    if lms_timezone is None:
        note = "Blackboard's attempt time is not used: set the LMS's time zone in course.toml ([lms] timezone)"
    elif when is None:
        note = f"Blackboard's attempt time {stamp} is not a date"
    person = Person("blackboard", found["login"], found["login"])
    return Claim((person,), original, export=f"blackboard:{found['title']}", title=found["title"], when=when,
                 time_source="blackboard" if when else None, order=f"blackboard-attempt:{stamp}", note=note)


def attempt_time(stamp: str, lms_timezone: tzinfo | None) -> datetime | None:
    """Blackboard's ``2024-01-01-10-00-00``, a wall-clock time in the LMS's time zone (never this machine's)."""
    if lms_timezone is None:
        return None
    try:
        return datetime.strptime(stamp, "%Y-%m-%d-%H-%M-%S").replace(tzinfo=lms_timezone)
    except ValueError:
        return None


def claim_folder(folder: str, rest: str, metadata: dict | None) -> tuple[Claim, str]:
    """The claim of a file inside ``folder`` (``rest`` is its path below it), and a note if one is due."""
    style, match = naming_style(folder, "folder")
    found = {k: v for k, v in match.groupdict().items() if v}
    if style.lms == "moodle":
        return Claim((_moodle_person(found),), rest, export="moodle"), ""
    if style.lms == "gradescope":
        claim = gradescope_claim(metadata or {}, folder, rest)
        if claim is not None:
            return claim, ""
        return (Claim((Person("plain", "", folder, ()),), rest),
                f"{folder}: not in Gradescope's {GRADESCOPE_METADATA}, so filed under its folder name")
    return Claim((Person("plain", "", folder, (folder,)),), rest), ""


def gradescope_claim(metadata: dict, folder: str, rest: str) -> Claim | None:
    entry = metadata.get(folder)
    if not isinstance(entry, dict):
        return None
    people = []
    for submitter in _field(entry, "submitters") or []:
        if not isinstance(submitter, dict):
            continue
        name, sid, email = (str(_field(submitter, k) or "").strip() for k in ("name", "sid", "email"))
        handle = sid or email
        if name or handle:
            people.append(Person("gradescope", handle, f"{name}_{handle}" if name and handle else name or handle,
                                 (name,) if name else (), email))
    if not people:
        return None
    created = _field(entry, "created_at")
    when = None
    if isinstance(created, datetime):
        # YAML reads a time without an offset as UTC; Gradescope always writes one.
        when = (created if created.tzinfo else created.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    return Claim(tuple(people), rest, export="gradescope", when=when, time_source="gradescope" if when else None,
                 order=f"gradescope-created:{when.isoformat()}" if when else "")


def _field(mapping: dict, key: str):
    """Gradescope writes Ruby symbols (``:name``); a hand-edited file may not."""
    return mapping.get(f":{key}", mapping.get(key))


def read_gradescope_metadata(path) -> dict:
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
