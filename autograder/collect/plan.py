"""Deciding where every notebook of an export goes, before anything is copied.

Pure but for reading the staged notebooks' cells: the result is a ``Plan`` that ``filing``
checks against the course and carries out (or ``--dry-run`` only prints). Problems of one
student hold that student's files only (``Held``); the rest of the class goes ahead.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from autograder.collect.archives import Found, printable
from autograder.collect.assignments import assignments_graded_in, assignments_named
from autograder.collect.lms_names import Claim, Person, blackboard_titles, claim_file, claim_folder, safe_id
from autograder.collect.roster import NO_MATCH, Match, RosterIndex

PICK = "--pick FILE"
UNCLEAR = "an assignment it does not tell (its notebooks are split between assignments; pass --assignment)"
ALONE = "an assignment it does not tell (no one else's notebook in it says which; pass --assignment)"
# Times recorded for want of an LMS record; late penalties ignore them unless the course file says otherwise.
UNTRUSTED_TIMES = {"file-mtime": "the file's own time, not an LMS record",
                   "canvas-late-marker": "Canvas marked it LATE; the time is the file's own"}
ORDER_NAMES = {"canvas-attachment": "Canvas attachment id", "blackboard-attempt": "Blackboard attempt time",
               "gradescope-created": "Gradescope submission time", "file-time": "file time"}


@dataclass(frozen=True)
class Upload:
    """One notebook for one person: what the LMS claims, and the assignment it is filed under."""

    found: Found
    person: Person
    claim: Claim
    assignment: str
    export_assignment: str = ""   # the assignment its LMS export is for, when that differs or is unclear

    @property
    def order(self) -> str:
        """The LMS's order of submissions; a hand-made folder's file time (the instructor's copy)."""
        if self.claim.order:
            return self.claim.order
        return f"file-time:{self.found.mtime:020.6f}" if self.person.lms == "plain" else ""


@dataclass(frozen=True)
class Held:
    """Files not collected because of a problem of one student (or one LMS person), and what to do."""

    who: str
    assignment: str
    files: tuple[str, ...]
    why: str
    todo: str

    def lines(self) -> list[str]:
        where = f"{self.who}/{self.assignment}" if self.assignment else self.who
        return [f"held {where}: {self.why}", *(f"    {name}" for name in self.files), f"    to do: {self.todo}"]


@dataclass
class Plan:
    uploads: list = field(default_factory=list)      # every Upload with a known assignment
    student_of: dict = field(default_factory=dict)   # Person -> folder name
    matched_by: dict = field(default_factory=dict)   # Person -> how the roster matched
    copies: dict = field(default_factory=dict)       # (student, assignment) -> Upload
    picked: set = field(default_factory=set)         # (student, assignment) chosen with --pick
    held: list = field(default_factory=list)
    unmatched: list = field(default_factory=list)    # (file, person shown, why)
    unidentified: list = field(default_factory=list)  # (file, why)
    notes: list = field(default_factory=list)
    not_on_roster: list = field(default_factory=list)
    problems: list = field(default_factory=list)     # any of these, and nothing is copied

    def hold(self, who: str, assignment: str, uploads, why: str, todo: str) -> None:
        self.held.append(Held(who, assignment, tuple(sorted({u.found.name for u in uploads})), why, todo))


# ---------------------------------------------------------------------------------------------
# Who: the LMS's claim of every file.

def claims(found: list[Found], metadata: dict | None, lms_timezone, plan: Plan,
           titles: dict | None = None) -> list[tuple[Found, Claim]]:
    """The LMS's claim of every file; ``titles`` as from ``blackboard_titles`` (default: of ``found``)."""
    out = []
    if titles is None:
        titles = blackboard_titles(item.parts[0] for item in found if len(item.parts) == 1)
    for item in found:
        if len(item.parts) == 1:
            claim = claim_file(item.parts[0], lms_timezone, titles)
            # "ch02_exercise.ipynb" at the top names an assignment, not a person.
            if claim is None or (claim.people[0].lms == "plain" and assignments_named(claim.people[0].label)):
                plan.unidentified.append((item.name, "cannot tell whose notebook this is: at the top of the export "
                                                     "a notebook must carry an LMS's name or be named "
                                                     "<student>_<anything>.ipynb"))
                continue
        else:
            claim, note = claim_folder(item.parts[0], "/".join(item.parts[1:]), metadata)
            if note and note not in plan.notes:
                plan.notes.append(note)
        out.append((item, claim))
        if len(claim.people) > 1:
            plan.notes.append(f"{item.name}: a group submission, copied for each of "
                              f"{', '.join(p.label for p in claim.people)}")
    return out


# ---------------------------------------------------------------------------------------------
# Which assignment: --assignment, else the notebook's graded cells, else a word in its name; an LMS
# export is one assignment's, so a notebook whose cells say another is marked as misplaced.

def _own_assignment(item: Found, claim: Claim, plan: Plan) -> tuple[str | None, bool]:
    """The assignment the notebook itself says, and False when it says several (then it is listed)."""
    graded = assignments_graded_in(item.staged)
    if len(graded) == 1:
        return next(iter(graded)), True
    if graded:
        plan.unidentified.append((item.name, f"holds graded cells of {', '.join(sorted(graded))}: "
                                             f"pass --assignment to say which"))
        return None, False
    named = assignments_named(claim.original.removesuffix(".ipynb"))
    return (next(iter(named)) if len(named) == 1 else None), True


def _export_assignments(owned: list, given: str | None) -> list[str]:
    """Per notebook: the assignment its LMS export is for ("" for hand-made folders).

    ``--assignment``, else the title Blackboard wrote, else what most notebooks of *other* people
    in that export are: a student's own uploads never vote, so a lone notebook of another
    assignment cannot make its export look like that assignment's. Notebooks split evenly are
    ``UNCLEAR``; with no one else's to tell, ``ALONE``. Either way a notebook is then filed under
    its own assignment only where it replaces nothing.
    """
    totals, files_of = {}, {}
    for index, ((_, claim), own) in enumerate(owned):
        if claim.export:
            totals.setdefault(claim.export, Counter())[own] += 1
            for person in claim.people:
                files_of.setdefault((claim.export, person), set()).add(index)
    found = []
    for (_, claim), _own in owned:
        titled = assignments_named(claim.export.partition(":")[2]) if claim.export.startswith("blackboard:") else set()
        if not claim.export:
            found.append("")
        elif given:
            found.append(given)
        elif len(titled) == 1:
            found.append(next(iter(titled)))
        else:
            mine = set().union(*(files_of[claim.export, person] for person in claim.people))
            found.append(_most_of(totals[claim.export] - Counter(owned[i][1] for i in mine)))
    return found


def _most_of(counted: Counter) -> str:
    known = {a: n for a, n in counted.items() if a}
    if not known:
        return ALONE
    top = max(known.values())
    if top * 2 > sum(known.values()):
        return next(a for a, n in known.items() if n == top)
    return UNCLEAR


def assign(claimed: list, given: str | None, plan: Plan) -> list[tuple[Found, Claim, str, str]]:
    owned = []
    for item, claim in claimed:
        own, readable = _own_assignment(item, claim, plan)
        if readable:
            owned.append(((item, claim), own))
    out = []
    for ((item, claim), own), export in zip(owned, _export_assignments(owned, given)):
        if given:
            if own and own != given and assignments_graded_in(item.staged):
                plan.notes.append(f"{item.name}: filed under {given} as asked, though it holds the graded cells "
                                  f"of {own}")
            out.append((item, claim, given, ""))
        elif own:
            misplaced = export if export and export != own else ""
            if misplaced and misplaced not in (UNCLEAR, ALONE):
                plan.notes.append(f"{item.name}: is {own} by its cells or name, though the rest of its {claim.export} "
                                  f"export is {misplaced}: filed under {own} only where that replaces nothing")
            out.append((item, claim, own, misplaced))
        elif export and export not in (UNCLEAR, ALONE):
            out.append((item, claim, export, ""))
        else:
            named = assignments_named(claim.original.removesuffix(".ipynb"))
            why = f"its name says {' and '.join(sorted(named))}" if named else "neither its cells nor its name say"
            plan.unidentified.append((item.name, f"cannot tell which assignment: {why} (rename it to contain "
                                                 f"ch0N or pass --assignment)"))
    return out


# ---------------------------------------------------------------------------------------------
# Whose folder: the roster's id, else the LMS's name made safe; never one folder for two people.

def identify(uploads: list[Upload], roster: RosterIndex | None, allow_unmatched: bool, plan: Plan) -> list[Upload]:
    """The uploads that have a folder; the others are held or listed as unmatched."""
    of_person = {}
    for u in uploads:
        of_person.setdefault(u.person, []).append(u)
    people = sorted(of_person, key=lambda p: (p.lms, p.label, p.lms_id))
    matches = {p: roster.match(p) if roster else NO_MATCH for p in people}
    blocked = set()
    for person in people:
        match = matches[person]
        mine = of_person[person]
        if len(match.ids) > 1:
            plan.hold(person.shown, "", mine, f"matches several roster entries by {match.how}: "
                                              f"{', '.join(sorted(match.ids))}",
                      "add this LMS id to the right roster line (e.g. a canvas_id or moodle_id column) and "
                      "collect again")
            blocked.update(mine)
        elif match.ids:
            plan.student_of[person], plan.matched_by[person] = next(iter(match.ids)), match.how
        elif roster is not None and not allow_unmatched:
            why = ("anonymous: the LMS names no one" if person.anonymous
                   else "matches no one on the roster (by LMS id, email or name)")
            plan.unmatched += [(u.found.name, person.shown, why) for u in mine]
            blocked.update(mine)
        else:
            plan.student_of[person] = safe_id(person.label)
            if roster is not None:
                plan.not_on_roster.append(plan.student_of[person])
    blocked |= _name_guesses(uploads, matches, plan, blocked)
    blocked |= _shared_folders(people, roster, plan, of_person, blocked)
    return [u for u in uploads if u not in blocked]


def _name_guesses(uploads, matches: dict, plan: Plan, blocked: set) -> set:
    """Two LMS people whose names point at one roster entry, for one assignment: which is it? Never guessed."""
    by_entry, held = {}, set()
    for u in uploads:
        match = matches[u.person]
        if u not in blocked and match.how == "name" and len(match.ids) == 1:
            by_entry.setdefault((next(iter(match.ids)), u.assignment), {}).setdefault(u.person, []).append(u)
    for (student, assignment), found in sorted(by_entry.items()):
        if len(found) > 1:
            mine = [u for ups in found.values() for u in ups]
            plan.hold(student, assignment, mine, f"{' and '.join(p.shown for p in found)} all match {student} by "
                                                  f"name only; which one is {student} is not guessed",
                      "add their LMS ids to the roster (canvas_id, moodle_id, blackboard_login or gradescope_sid) "
                      "and collect again")
            held.update(mine)
    return held


def _shared_folders(people, roster, plan: Plan, of_person: dict, blocked: set) -> set:
    """People who would share a folder are held, all but a roster student in their own folder."""
    owners = {i.casefold(): {("roster", i)} for i in roster.ids} if roster else {}
    mine = {p: [u for u in of_person[p] if u not in blocked] for p in people}
    for person in people:
        student = plan.student_of.get(person)
        if student and mine[person]:
            owner = ("roster", student) if person in plan.matched_by else (person.lms, person.label, person.lms_id)
            owners.setdefault(student.casefold(), set()).add(owner)
    held = set()
    for person in people:
        student = plan.student_of.get(person)
        if student is None or not mine[person] or person in plan.matched_by:
            continue
        if not student:
            plan.hold(person.shown, "", mine[person], "its LMS name gives no usable folder name",
                      "collect with a roster that lists this person")
        elif len(owners[student.casefold()]) > 1:
            others = sorted(o[1] for o in owners[student.casefold()] if o[1] != person.label)
            plan.hold(person.shown, "", mine[person], f"would share the folder {student!r} with "
                                                      f"{', '.join(others)}",
                      "use a roster that lists them, or rename one of the folders in the export")
        else:
            continue
        held.update(mine[person])
    return held


# ---------------------------------------------------------------------------------------------
# One notebook per student and assignment.

def order_kind(order: str) -> str:
    return order.partition(":")[0]


def newest(uploads: list[Upload]) -> Upload | None:
    """The newest by the LMS's own order, when every one has an order of one kind and one is newest."""
    orders = [u.order for u in uploads]
    if not all(orders) or len({order_kind(o) for o in orders}) != 1:
        return None
    ranked = sorted(uploads, key=lambda u: u.order, reverse=True)
    return ranked[0] if ranked[0].order != ranked[1].order else None


def choose(uploads: list[Upload], picks: set[str], latest: bool, plan: Plan) -> None:
    grouped = {}
    for u in uploads:
        grouped.setdefault((plan.student_of[u.person], u.assignment), []).append(u)
    for key, candidates in sorted(grouped.items()):
        _choose_one(key, candidates, picks, latest, plan)


def _choose_one(key, candidates: list[Upload], picks: set[str], latest: bool, plan: Plan) -> None:
    student, assignment = key
    picked = [u for u in candidates if printable(u.found.name) in picks]
    if len({u.found.sha256 for u in picked}) > 1:
        plan.hold(student, assignment, picked, "more than one of its files was picked", "pick one")
        return
    if picked:
        plan.copies[key] = picked[0]
        plan.picked.add(key)
        plan.notes.append(f"{student}/{assignment}: kept {picked[0].found.name} (--pick)")
        return
    proper = [u for u in candidates if not u.export_assignment]
    misplaced = [u for u in candidates if u.export_assignment]
    contents = {u.found.sha256 for u in proper}
    stray = [u for u in misplaced if u.found.sha256 not in contents]
    if proper and stray:
        # A notebook of this assignment found in another assignment's export never beats one handed in here.
        plan.hold(student, assignment, stray, f"is {assignment} by its cells or name but came in an LMS export of "
                                              f"{stray[0].export_assignment}, beside another {assignment} "
                                              f"submission", f"{PICK} to take it as {student}'s {assignment}")
        candidates = proper
    if len({u.found.sha256 for u in candidates}) == 1:
        plan.copies[key] = candidates[0]
        if len(candidates) > 1:
            plan.notes.append(f"{student}/{assignment}: {', '.join(u.found.name for u in candidates)} are identical; "
                              f"collected once")
        return
    best = newest(candidates)
    if latest and best is not None:
        plan.copies[key] = best
        plan.notes.append(f"{student}/{assignment}: kept {best.found.name}, the newest by "
                          f"{ORDER_NAMES[order_kind(best.order)]} (--latest)")
        return
    todo = f"{PICK} to keep one"
    if best is not None:
        todo += f", or --latest to keep the newest by {ORDER_NAMES[order_kind(best.order)]} ({best.found.name})"
    else:
        todo += " (the export gives no order to tell which is newer)"
    plan.hold(student, assignment, candidates, f"{len(candidates)} different notebooks", todo)


def describe_time(when: datetime | None, source: str | None, note: str = "") -> str:
    """``2026-10-05T23:30:00-04:00 from blackboard``, or why there is none; a time the LMS wrote but was not used is said."""
    if when is None:
        shown = "no time (Canvas marked it LATE)" if source == "canvas-late-marker" else "no time"
    else:
        shown = f"{when.isoformat()} from {source}"
        if source in UNTRUSTED_TIMES:
            shown += f" ({UNTRUSTED_TIMES[source]})"
    return f"{shown} ({note})" if note else shown


def build(claimed: list, given: str | None, roster: RosterIndex | None, *, allow_unmatched: bool,
          picks: set[str], latest: bool, plan: Plan) -> Plan:
    uploads = [Upload(item, person, claim, assignment, export)
               for item, claim, assignment, export in assign(claimed, given, plan) for person in claim.people]
    plan.uploads = uploads
    kept = identify(uploads, roster, allow_unmatched, plan)
    choose(kept, picks, latest, plan)
    return plan


__all__ = ["Plan", "Upload", "Held", "Match", "build", "claims", "choose", "newest", "describe_time"]
