"""Turn the readable MyST exercise sources into nbgrader source notebooks.

In the sources a cell is tagged ``solution`` (an answer cell, stubbed for students),
``grade:<name>:<points>`` (a locked test cell worth ``points``) or, on a markdown cell,
``written:<question_id>:<points>`` (a written answer that a person grades: nbgrader's
manually graded answer cell, whose model answer sits between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` and is released as "YOUR ANSWER HERE"); this module writes the nbgrader
metadata those tags stand for, so the sources stay free of boilerplate.
"""
from __future__ import annotations

import functools
from pathlib import Path

import jupytext
import nbformat

from autograder.course.cells import grade_id, is_grade, is_written, nbgrader_meta
from autograder.course.layout import SOURCES


def _nbgrader_metadata(cell, index: int) -> dict | None:
    tags = cell.metadata.get("tags", [])
    grade_tags = [t for t in tags if t.startswith("grade:")]
    written_tags = [t for t in tags if t.startswith("written:")]
    if written_tags:
        _, question_id, points = written_tags[0].split(":")
        if cell.cell_type != "markdown":
            raise ValueError(f"written:{question_id} must tag a markdown cell, not a {cell.cell_type} cell")
        return {"solution": True, "grade": True, "locked": False, "grade_id": question_id, "points": int(points),
                "schema_version": 3}
    if "solution" in tags:
        return {"solution": True, "grade": False, "locked": False, "grade_id": f"answer_{index:02d}", "schema_version": 3}
    if grade_tags:
        _, grade_id, points = grade_tags[0].split(":")
        return {"solution": False, "grade": True, "locked": True, "grade_id": grade_id, "points": int(points),
                "schema_version": 3}
    if cell.cell_type == "code":  # given code (imports): locked so edits are undone at grading
        return {"solution": False, "grade": False, "locked": True, "grade_id": f"given_{index:02d}", "schema_version": 3}
    return None


def source_notebook(markdown: Path, written_answers: bool = False) -> nbformat.NotebookNode:
    """The nbgrader source notebook of an exercise.

    ``written_answers=True`` gives the whole notebook, as :func:`write_sources` hands it to
    nbgrader: each written answer cell graded by a person, with its model answer. By default a
    written answer cell stays in place as an empty, ungraded answer cell, so that code which
    runs every answer cell or judges every graded cell (the sample class, the verdict tests)
    meets only the autograded exercise, while the answer cells still line up one to one with
    those of the released notebook.
    """
    nb = jupytext.read(markdown)
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader_metadata(cell, index)
        cell.metadata.pop("tags", None)
        if meta and is_written(meta) and not written_answers:
            cell.source = ""
            meta = {key: value for key, value in meta.items() if key != "points"} | {"grade": False}
        if meta:
            cell.metadata["nbgrader"] = meta
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def write_sources(course: Path, assignments) -> list[Path]:
    """Write ``course/source/<assignment>/exercise.ipynb`` for each assignment."""
    written = []
    for name in assignments:
        target = course / "source" / name / "exercise.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(SOURCES / f"{name}.md", written_answers=True), target)
        written.append(target)
    return written


@functools.lru_cache(maxsize=None)
def _graded(assignment: str) -> tuple[tuple[str, int, bool], ...]:
    """(grade id, points, written) of every graded cell, in the notebook's order."""
    nb = source_notebook(SOURCES / f"{assignment}.md", written_answers=True)
    return tuple((grade_id(c), nbgrader_meta(c)["points"], is_written(c)) for c in nb.cells if is_grade(c))


def _points(assignment: str, written: bool) -> tuple[tuple[str, int], ...]:
    return tuple((name, points) for name, points, is_answer in _graded(assignment) if is_answer == written)


def graded_order(assignment: str) -> list[str]:
    """The grade ids of the functions and written answers, as a student meets them in the notebook."""
    return [name for name, _, _ in _graded(assignment)]


def points_by_function(assignment: str) -> dict[str, int]:
    """Points per autograded cell (written answers excluded); parsed once per process."""
    return dict(_points(assignment, False))


def written_points(assignment: str) -> dict[str, int]:
    """Points per written answer, which a person grades."""
    return dict(_points(assignment, True))
