"""The course's class list, kept in the course folder, and students named from it.

One source of truth: ``collect --roster CSV`` records the class list it was given as
``COURSE/roster.csv`` (a byte copy, after it read without a problem), and every later verb
(feedback, report, manual, similarity, export, handback) reads that file, unless it is given a
``--roster`` of its own. A later ``collect --roster`` replaces it. Without one, students are
named by their ids (the folder names in ``COURSE/submitted``) alone.

Pages and files show ``Name (id)`` where the roster names the student. A name comes from the
instructor's CSV, which was itself often exported from an LMS where students chose how their
names are written, so :func:`label` keeps only printable text (no control characters, no
bidirectional overrides that could make ``Name (id)`` read as another id); each page still
escapes it as it escapes everything.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

from autograder.collect.roster import RosterEntry, read_roster
from autograder.course.files import write_bytes_atomically
from autograder.course.layout import Course

MAX_NAME = 120  # characters of a name shown; a roster cell can be any length


def record(course: Path, roster: Path) -> Path:
    """Keep ``roster`` as the course's class list (checked first: raises CollectError naming bad lines)."""
    read_roster(Path(roster))
    target = Course(Path(course)).roster
    write_bytes_atomically(target, Path(roster).read_bytes(), prefix=".roster")
    return target


def load(course: Path, roster: Path | None = None) -> tuple[RosterEntry, ...] | None:
    """The roster given, else the course's recorded one, else None."""
    if roster is not None:
        return read_roster(Path(roster))
    recorded = Course(Path(course)).roster
    return read_roster(recorded) if recorded.is_file() else None


def names(entries) -> dict[str, str]:
    """Roster id -> name, for the entries that have a name."""
    return {e.id: e.name for e in entries or () if e.name}


def course_names(course: Path, roster: Path | None = None) -> dict[str, str]:
    """Roster id -> name from the roster given or the course's own (empty without either)."""
    return names(load(course, roster))


# Cc: control characters; Cf: format characters, among them the bidirectional overrides (U+202E)
# that would show "Ann (bob)" as another name's id; Cs: lone surrogates from a mis-decoded file.
HIDDEN = ("Cc", "Cf", "Cs")


def clean(text: str, hidden: tuple[str, ...] = HIDDEN, blank: str = "", limit: int = MAX_NAME) -> str:
    """A name as it may be shown: composed Unicode, printable, one line, at most ``limit`` characters.

    Characters of the ``hidden`` Unicode categories are dropped; whitespace and the characters in
    ``blank`` become single spaces.
    """
    text = unicodedata.normalize("NFC", str(text))
    kept = "".join(" " if c.isspace() or c in blank else c for c in text
                   if c.isspace() or unicodedata.category(c) not in hidden)
    return " ".join(kept.split())[:limit]


def label(student: str, known: dict[str, str]) -> str:
    """``Name (id)`` where the roster names ``student``, else the id alone."""
    name = clean(known.get(student, "")) if known else ""
    return f"{name} ({student})" if name and name != student else student
