"""Generate the student notebooks with nbgrader (solutions stubbed, hidden tests removed)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat

from autograder.course.layout import ASSIGNMENTS, CHAPTERS, NOTEBOOK, REPO, tool_env
from autograder.release.sources import write_sources
from autograder.release.student_kit import BOOK_LINK, BOOK_ONLY


def prepare_course(course: Path) -> None:
    """The course folder's nbgrader settings: ours, plus the assignment list from its one source of truth."""
    course.mkdir(parents=True, exist_ok=True)
    settings = (REPO / "autograder" / "course" / "nbgrader_config.py").read_text()
    names = [{"name": name} for name in ASSIGNMENTS]
    (course / "nbgrader_config.py").write_text(f"{settings}\nc.CourseDirectory.db_assignments = {names!r}\n")


def release(course: Path, assignments=tuple(ASSIGNMENTS)) -> list[Path]:
    prepare_course(course)
    write_sources(course, assignments)
    released = []
    for name in assignments:
        proc = subprocess.run(["nbgrader", "generate_assignment", name, "--force"], cwd=course, env=tool_env(),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{proc.stderr[-2000:]}")
        released.append(course / "release" / name / f"{NOTEBOOK}.ipynb")
    return released


# The book's exercise pages add this under the title; the student kit leaves it out (BOOK_ONLY).
KIT_LINK = f"""\
:::{{note}}
Work on this exercise on your own machine: download the
{{download}}`student kit <{BOOK_LINK}>` (all seven exercise notebooks, the checks and a
`requirements.txt`), then follow {{doc}}`/students`.
:::"""


def kit_link_cell() -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(KIT_LINK, metadata={BOOK_ONLY: True})


def student_notebook_for_book(released: Path) -> nbformat.NotebookNode:
    """The released notebook with outputs and volatile metadata stripped, as the book shows it,
    and the kit link right after the title cell.

    nbformat 4.5 with a cell id on every cell: a student's Jupyter adds cells with ids, and in a
    4.4 notebook those make the file invalid. The ids are fixed (the cell's nbgrader id, else its
    place), so a re-release writes the same bytes.
    """
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    titled = bool(nb.cells) and nb.cells[0].cell_type == "markdown" and nb.cells[0].source.lstrip().startswith("#")
    nb.cells.insert(1 if titled else 0, kit_link_cell())
    nb.nbformat, nb.nbformat_minor = 4, 5
    for index, cell in enumerate(nb.cells):
        cell["id"] = cell_id(cell, index)
    nbformat.validate(nb)
    return nb


def cell_id(cell, index: int) -> str:
    """A fixed, unique id: the nbgrader id (unique within a release) or, for a plain cell, its place."""
    if cell.metadata.get(BOOK_ONLY):
        return "kit-link"
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    return grade_id if grade_id else f"cell-{index:02d}"


def sync_book(course: Path, assignments=None) -> list[Path]:
    """Copy each released notebook (of ``assignments``, default all) to ``chapters/<chapter>/exercise.ipynb``."""
    written = []
    for name, chapter in ASSIGNMENTS.items():
        if assignments and name not in assignments:
            continue
        target = CHAPTERS / chapter / "exercise.ipynb"
        nbformat.write(student_notebook_for_book(course / "release" / name / f"{NOTEBOOK}.ipynb"), target)
        written.append(target)
    return written
