"""Which assignment a notebook is for: the nbgrader ids of its graded cells, else a whole word like ``ch02``."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from autograder.course.layout import ASSIGNMENTS
from autograder.course.cells import grade_id

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
    from autograder.release.sources import points_by_function

    return {grade_id: a for a in ASSIGNMENTS for grade_id in points_by_function(a)}


def assignments_graded_in(notebook: Path) -> set[str]:
    """Assignments whose graded cells' nbgrader ids the notebook holds (renaming keeps them)."""
    try:
        doc = json.loads(Path(notebook).read_bytes())
    except (ValueError, RecursionError):
        return set()
    cells = _list(_dict(doc).get("cells"))
    for worksheet in _list(_dict(doc).get("worksheets")):  # nbformat 3
        cells += _list(_dict(worksheet).get("cells"))
    ids = {grade_id(c) for c in cells}
    table = _assignment_of_grade_id()
    return {table[i] for i in ids if isinstance(i, str) and i in table}


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return list(value) if isinstance(value, list) else []
