"""Turn the readable MyST exercise sources into nbgrader source notebooks.

In the sources a cell is tagged ``solution`` (an answer cell, stubbed for students) or
``grade:<name>:<points>`` (a locked test cell worth ``points``); this module writes the
nbgrader metadata those tags stand for, so the sources stay free of boilerplate.
"""
from __future__ import annotations

import functools
from pathlib import Path

import jupytext
import nbformat

from .paths import SOURCES


def _nbgrader_metadata(cell, index: int) -> dict | None:
    tags = cell.metadata.get("tags", [])
    grade_tags = [t for t in tags if t.startswith("grade:")]
    if "solution" in tags:
        return {"solution": True, "grade": False, "locked": False, "grade_id": f"answer_{index:02d}", "schema_version": 3}
    if grade_tags:
        _, grade_id, points = grade_tags[0].split(":")
        return {"solution": False, "grade": True, "locked": True, "grade_id": grade_id, "points": int(points),
                "schema_version": 3}
    if cell.cell_type == "code":  # given code (imports): locked so edits are undone at grading
        return {"solution": False, "grade": False, "locked": True, "grade_id": f"given_{index:02d}", "schema_version": 3}
    return None


def source_notebook(markdown: Path) -> nbformat.NotebookNode:
    nb = jupytext.read(markdown)
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader_metadata(cell, index)
        cell.metadata.pop("tags", None)
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
        nbformat.write(source_notebook(SOURCES / f"{name}.md"), target)
        written.append(target)
    return written


@functools.lru_cache(maxsize=None)
def _points(assignment: str) -> tuple[tuple[str, int], ...]:
    nb = source_notebook(SOURCES / f"{assignment}.md")
    return tuple((c.metadata["nbgrader"]["grade_id"], c.metadata["nbgrader"]["points"])
                 for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


def points_by_function(assignment: str) -> dict[str, int]:
    """Points per graded cell; parsed once per process (grading asks for every submission)."""
    return dict(_points(assignment))
