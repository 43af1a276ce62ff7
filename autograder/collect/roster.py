"""The class list, and who in it an LMS's person is: by the LMS's own id first, by name only as a fallback.

The roster is a CSV with the columns ``id``, ``name`` and ``email``, and optionally one column per
LMS id (``LMS_ID_COLUMNS``): ``canvas_id`` (Canvas's numeric user id), ``moodle_id`` (the
participant number in Moodle's download names; Moodle numbers participants per assignment),
``blackboard_login`` (the login in Blackboard's names), ``gradescope_sid`` (the SID of
Gradescope's metadata). More columns are ignored.

Matching, first that finds anyone:

1. the LMS id against that LMS's column;
2. an email the LMS wrote (Gradescope) against ``email``;
3. a Blackboard login or Gradescope SID against ``id`` or the part of ``email`` before the ``@``
   of the entries with no id of that LMS (its column absent, or the entry's cell empty), and a
   hand-made folder's name likewise: an entry that has another id of that LMS is someone else;
4. names, normalised (case, accents, punctuation, spacing) in every order of their words, so
   "Seán O'Brien", "O'Brien, Seán" and Canvas's ``obrienseán`` are one name; not when every entry
   of that name has another id in that LMS's column (namesakes).

Canvas ids and Moodle numbers are never compared with roster ids: they are numbers of another
system and may equal a student number by chance.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from autograder.course.csv_input import read_table
from autograder.collect.errors import CollectError
from autograder.collect.lms_names import Person, safe_id

LMS_ID_COLUMNS = {"canvas": "canvas_id", "moodle": "moodle_id", "blackboard": "blackboard_login",
                  "gradescope": "gradescope_sid"}


@dataclass(frozen=True)
class RosterEntry:
    id: str
    name: str
    email: str
    canvas_id: str = ""
    moodle_id: str = ""
    blackboard_login: str = ""
    gradescope_sid: str = ""

    def lms_id(self, lms: str) -> str:
        column = LMS_ID_COLUMNS.get(lms)
        return getattr(self, column) if column else ""


def _entry_problems(entry: RosterEntry) -> list[str]:
    problems = []
    if not entry.id:
        problems.append("no id")
    elif safe_id(entry.id) != entry.id:
        problems.append(f"id {entry.id!r} cannot be a folder name (use letters, digits, . _ -)")
    if entry.email and "@" not in entry.email:
        problems.append(f"{entry.email!r} is not an email address")
    for column in ("canvas_id", "moodle_id"):
        value = getattr(entry, column)
        if value and not value.isdigit():
            problems.append(f"{column} {value!r} is not a number (the LMS's ids are whole numbers)")
    login = entry.blackboard_login
    if login and not re.fullmatch(r"[^\s/]+", login):
        problems.append(f"blackboard_login {login!r} holds a space or '/', which Blackboard's logins cannot")
    return problems


def read_roster(path: Path) -> tuple[RosterEntry, ...]:
    """Read a class list (see the module's text). Ids become folder names, so they must be safe ones;
    ids, emails and each LMS id must be unique. Raises CollectError naming every bad line."""
    path = Path(path)
    reader, header = read_table(path, ("id", "name", "email"), "roster", CollectError)
    columns = ("id", "name", "email", *(c for c in LMS_ID_COLUMNS.values() if c in header))
    entries, problems, line_of = [], [], {}
    for line, row in enumerate(reader, start=2):
        # Composed Unicode, as names are read from the LMS: a roster saved on a Mac may spell "é" decomposed.
        values = {c: unicodedata.normalize("NFC", (row.get(header[c]) or "").strip()) for c in columns}
        if not any(values.values()):
            continue
        entry = RosterEntry(**values)
        problems += [f"line {line}: {problem}" for problem in _entry_problems(entry)]
        for column in columns[:1] + columns[2:]:
            value = values[column].casefold()
            if value and (column, value) in line_of:
                problems.append(f"line {line}: {column} {values[column]!r} is already on line {line_of[column, value]}")
            line_of.setdefault((column, value), line)
        entries.append(entry)
    if problems:
        raise CollectError(f"roster {path}:\n  " + "\n  ".join(problems))
    if not entries:
        raise CollectError(f"roster {path} lists nobody")
    return tuple(entries)


def name_key(text: str) -> str:
    """Letters and digits only, without accents, case-folded: ``O'Brien`` and ``obrien`` agree."""
    plain = unicodedata.normalize("NFKD", text)
    return "".join(c for c in plain if c.isalnum() and not unicodedata.combining(c)).casefold()


def name_forms(name: str) -> set[str]:
    """Every way the LMSs write one name, as keys: "First Last", "Last, First" and Canvas's ``lastfirst``.

    Each rotation of the words is a form, so a last name of several words ("García-López",
    "O'Brien", "de la Cruz") comes first in one of them, as Canvas's sortable name puts it.
    """
    if "," in name:
        last, first = name.split(",", 1)
        name = f"{first} {last}"
    words = [w for w in re.split(r"[\s\-‐‑–'’`.,_]+", name) if name_key(w)]
    forms = {name_key("".join(words[k:] + words[:k])) for k in range(len(words))}
    return forms - {""}


@dataclass(frozen=True)
class Match:
    ids: frozenset
    how: str  # which column or rule matched, for the report and submission.json


NO_MATCH = Match(frozenset(), "")


class RosterIndex:
    def __init__(self, entries):
        self.entries = tuple(entries)
        self.ids = {e.id for e in self.entries}
        self.by_id = {e.id: e for e in self.entries}
        self.columns = {lms: {} for lms in LMS_ID_COLUMNS}
        self.emails, self.handles, self.by_name = {}, {}, {}
        for e in self.entries:
            for lms in LMS_ID_COLUMNS:
                if e.lms_id(lms):
                    self.columns[lms].setdefault(e.lms_id(lms).casefold(), set()).add(e.id)
            if e.email:
                self.emails.setdefault(e.email.casefold(), set()).add(e.id)
            for handle in {e.id, e.email.partition("@")[0] if e.email else ""} - {""}:
                self.handles.setdefault(handle.casefold(), set()).add(e.id)
            for form in name_forms(e.name):
                self.by_name.setdefault(form, set()).add(e.id)

    def has_column(self, lms: str) -> bool:
        return bool(self.columns.get(lms))

    def match(self, person: Person) -> Match:
        """Roster ids for ``person``, and how they were found (see the module's text for the order)."""
        if person.anonymous:
            return NO_MATCH
        if person.lms_id and self.has_column(person.lms):
            found = self.columns[person.lms].get(person.lms_id.casefold())
            if found:
                return Match(frozenset(found), LMS_ID_COLUMNS[person.lms])
        if person.email and person.email.casefold() in self.emails:
            return Match(frozenset(self.emails[person.email.casefold()]), "email")
        handle = person.lms_id if person.lms in ("blackboard", "gradescope") else ""
        handle = person.label if person.lms == "plain" else handle
        # Entry by entry, not column by column: an empty cell is an entry the column says nothing about.
        found = {i for i in self.handles.get(handle.casefold(), ()) if not self.by_id[i].lms_id(person.lms)}
        if handle and found:
            return Match(frozenset(found), "id or email login")
        found = set().union(*(self.by_name.get(form, set()) for n in person.names for form in name_forms(n)))
        if all(self._someone_else(i, person) for i in found):
            return NO_MATCH  # only namesakes: the roster gives each of them another id in this LMS
        # Two roster entries of this name stay ambiguous (held), even if the LMS id rules one out.
        return Match(frozenset(found), "name")

    def _someone_else(self, roster_id: str, person: Person) -> bool:
        """The roster gives this entry another id in the person's LMS: a namesake, never them."""
        known = self.by_id[roster_id].lms_id(person.lms)
        return bool(known and person.lms_id and known.casefold() != person.lms_id.casefold())
