"""The class as a gradebook should list it: every roster student for every assignment, 0 where nothing came.

The gradebook holds rows only for notebooks that were graded; an LMS import needs the students who
handed in nothing too. With a roster, each (roster student, assignment) without a row gets a row
of its own: 0 points out of the assignment's full marks, ``missing`` set, reason "no submission".
Roster ids are the folder names collect files students under when it is given the same roster.
"""
from __future__ import annotations

from autograder.course.layout import ASSIGNMENTS


def full_marks(rows: list[dict], assignment: str) -> float:
    """Everything an assignment is worth: autograded points plus every written answer, graded or not.

    Read from the graded rows; for an assignment nobody handed in, from its source.
    """
    marks = [float(r["max_score"]) + sum(float(w["max_points"]) for w in (r.get("written") or {}).values())
             for r in rows if r["assignment"] == assignment and not r.get("missing")]
    if marks:
        return max(marks)
    from autograder.release.sources import points_by_function, written_points  # parses the exercise source: only when needed

    return float(sum(points_by_function(assignment).values()) + sum(written_points(assignment).values()))


def add_missing(rows: list[dict], roster_ids, assignments=()) -> list[dict]:
    """``rows`` plus a "no submission" row per roster student and assignment without one, sorted.

    The assignments are those anyone handed in plus ``assignments`` (e.g. one nobody handed in yet).
    """
    wanted = sorted({r["assignment"] for r in rows} | set(assignments), key=_order)
    have = {(r["student"], r["assignment"]) for r in rows}
    added = [{"student": student, "assignment": assignment, "sha256": "", "score": 0.0,
              "max_score": full_marks(rows, assignment), "functions": {}, "flags": [], "written": {},
              "missing": True}
             for student in roster_ids for assignment in wanted if (student, assignment) not in have]
    return sorted([*rows, *added], key=lambda r: (r["student"], _order(r["assignment"])))


def _order(assignment: str):
    names = list(ASSIGNMENTS)
    return (names.index(assignment), "") if assignment in names else (len(names), assignment)
