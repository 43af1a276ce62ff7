"""nbgrader's cell metadata, read in one place.

A cell's ``metadata.nbgrader`` says what nbgrader made of it: an answer cell (``solution``), a
graded cell (``grade``, with ``grade_id`` and ``points``), a locked one. A submission's metadata is
the student's to edit, so every reader here takes any JSON: a missing or malformed field reads as
absent, never as an error. Kinds, as the grader uses them:

    test      graded, not an answer: autograded by the hidden tests
    written   graded and an answer: a person grades it
    answer    an answer cell (``solution``), autograded or written
"""
from __future__ import annotations


def nbgrader_meta(cell) -> dict:
    """A cell's nbgrader metadata, or {} when it is missing or malformed (a student may edit it)."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _meta(cell_or_meta) -> dict:
    """Accepts a cell (it has "metadata", which nbgrader's metadata never has) or its nbgrader metadata
    (which may have "cell_type" and "source": nbgrader's schema 3 records both)."""
    if isinstance(cell_or_meta, dict) and "metadata" not in cell_or_meta:
        return cell_or_meta
    return nbgrader_meta(cell_or_meta)


def grade_id(cell_or_meta) -> str | None:
    value = _meta(cell_or_meta).get("grade_id")
    return value if isinstance(value, str) else None


def is_grade(cell_or_meta) -> bool:
    return bool(_meta(cell_or_meta).get("grade"))


def is_solution(cell_or_meta) -> bool:
    return bool(_meta(cell_or_meta).get("solution"))


def is_locked(cell_or_meta) -> bool:
    return bool(_meta(cell_or_meta).get("locked"))


def is_written(cell_or_meta) -> bool:
    """A written answer (a cell that is both an answer and graded): a person grades it."""
    return is_grade(cell_or_meta) and is_solution(cell_or_meta)


def is_test(cell_or_meta) -> bool:
    """An autograded test cell (graded, not an answer: written answers are graded by a person)."""
    return is_grade(cell_or_meta) and not is_solution(cell_or_meta)


def points(cell_or_meta) -> float:
    """The cell's points, 0 when missing or not a number."""
    try:
        return float(_meta(cell_or_meta).get("points", 0))
    except (TypeError, ValueError):
        return 0.0
