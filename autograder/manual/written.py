"""Written answers across regrades: which grades a person gave survive a new grading of the submission.

The grader stores every written answer as pending (``points: None``) each time it grades a
notebook. A person's points and comment are for the text they read, so a regrade keeps them
exactly when that text is still there: the same answer (leading and trailing white space aside)
for a question worth the same maximum. A resubmission that changes an answer sends that answer
back to pending; its other, unchanged answers keep their grades.
"""
from __future__ import annotations

import hashlib

# What a person adds to a pending answer; everything else comes from the grader.
MANUAL_KEYS = ("points", "comment", "status")
PLACEHOLDER = "YOUR ANSWER HERE"  # what nbgrader releases in a written answer cell


def unanswered(answer) -> bool:
    """Nothing written: an empty cell or nbgrader's placeholder left as released."""
    text = str(answer or "").strip()
    return not text or text == PLACEHOLDER


def same_text(a, b) -> bool:
    return str(a or "").strip() == str(b or "").strip()


DIGEST_TAG = "h-"  # a letter first: no spreadsheet reads "h-0123..." as a number or a date


def answer_digest(answer) -> str:
    """A short fingerprint of an answer's text, printed on grading sheets to tell a stale sheet apart.

    Tagged, because a bare hex digest can be all digits ("0123...": a spreadsheet drops the zero)
    or digits around one ``e`` ("12e45...": read as 1.2E+46), and a sheet saved back would no
    longer match. Sheets written before the tag carry the bare 16 hex digits; see
    :func:`digest_matches`.
    """
    return DIGEST_TAG + _bare_digest(answer)


def _bare_digest(answer) -> str:
    return hashlib.sha256(str(answer or "").strip().encode("utf-8", "surrogatepass")).hexdigest()[:16]


def digest_matches(digest: str, answer) -> bool:
    """Whether a digest from a sheet (tagged, or bare as older sheets have it) is this answer's."""
    return digest in (answer_digest(answer), _bare_digest(answer))


def carry_over(old: dict | None, new: dict | None) -> dict:
    """``new`` (a fresh grading's written answers) with the manual grades of ``old`` where the answer is unchanged."""
    kept = {}
    for question, fresh in (new or {}).items():
        before = (old or {}).get(question)
        graded = isinstance(before, dict) and before.get("points") is not None
        if (graded and fresh.get("points") is None and same_text(before.get("answer"), fresh.get("answer"))
                and before.get("max_points") == fresh.get("max_points")):
            fresh = {**fresh, **{k: before[k] for k in MANUAL_KEYS if k in before}}
        kept[question] = fresh
    return kept
