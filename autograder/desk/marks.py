"""A written answer's points and comment, saved from the desk as you go.

Recorded by ``Gradebook.grade_written``, the transaction `manual --import` uses, so exports,
feedback and sheets see a mark however it was given. Optimistic versioning: each answer shown
carries the version of the mark it was shown with (a digest of the answer, points and comment);
a save made from an older version is refused with what is stored now, never written over it,
so two windows grading one answer lose no update. The check is repeated inside the write's
transaction (``expected``), so a `manual --import` running at the same moment cannot slip in.
"""
from __future__ import annotations

import hashlib
import json
import math

from autograder.feedback.notebook_view import points as show_points
from autograder.manual.written import answer_digest

COMMENT_LIMIT = 10_000  # characters: a comment is for a student to read, not a place for files


class MarkError(Exception):
    """A mark that cannot be saved; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, current: dict | None = None):
        super().__init__(message)
        self.status, self.current = status, current


def version(info: dict) -> str:
    """What a mark was shown as: a save from any other version was made without seeing the one stored."""
    text = json.dumps([answer_digest(info.get("answer")), info.get("points"), str(info.get("comment", ""))])
    return "m-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def describe(info: dict) -> str:
    if info.get("points") is None:
        return "not graded yet"
    comment = str(info.get("comment", "")).strip()
    return f"{show_points(info['points'])} / {show_points(info['max_points'])}" + (
        f", comment “{comment[:200]}”" if comment else ", no comment")


def _stored(gradebook, student: str, assignment: str, question: str) -> dict:
    for row in gradebook.rows(overrides=False):
        if (row["student"], row["assignment"]) == (student, assignment):
            info = (row.get("written") or {}).get(question)
            if info is None:
                break
            return info
    raise MarkError(f"{student} has no written answer to {assignment}/{question} in the gradebook", 404)


def stale(info: dict) -> MarkError:
    return MarkError("Not saved: this answer's mark was changed in another window (or by `manual --import`) "
                     f"since you opened it; it is now {describe(info)}. What you typed is kept here: “Replace with mine” "
                     "saves it over that mark; reloading the page shows the mark stored.", 409, info)


def save(gradebook, student: str, assignment: str, question: str, points_text: str, comment: str,
         seen_version: str) -> dict:
    """Record one mark; returns the answer's entry as stored now. Raises ``MarkError``."""
    info = _stored(gradebook, student, assignment, question)
    if seen_version != version(info):
        raise stale(info)
    top = float(info["max_points"])
    points_text, comment = points_text.strip().replace(",", "."), comment.strip()
    if not points_text:
        raise MarkError(f"Not saved: give points (0 to {show_points(top)})" + (", or clear the comment"
                                                                               if comment else ""))
    try:
        value = float(points_text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise MarkError(f"Not saved: points {points_text!r} is not a number")
    if not 0 <= value <= top:
        raise MarkError(f"Not saved: points must be between 0 and {show_points(top)}, not {points_text}")
    if len(comment) > COMMENT_LIMIT:
        raise MarkError(f"Not saved: the comment has {len(comment):,} characters; at most {COMMENT_LIMIT:,}")
    mark = {"points": value, "comment": comment, "answer": str(info.get("answer", "")),
            "expected": (info.get("points"), str(info.get("comment", "")))}
    try:
        gradebook.grade_written({(student, assignment): {question: mark}})
    except LookupError:  # someone saved in between, or a regrade changed the answer
        raise stale(_stored(gradebook, student, assignment, question)) from None
    return _stored(gradebook, student, assignment, question)


def pending(rows: list[dict], assignment: str, question: str | None = None) -> int:
    """Written answers of ``assignment`` (of one question, if given) still waiting for points."""
    return sum(info.get("points") is None for row in rows if row["assignment"] == assignment
               for q, info in (row.get("written") or {}).items() if question in (None, q))
