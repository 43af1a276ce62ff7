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
    and the kit link right after the title cell."""
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.pop("id", None)
    titled = bool(nb.cells) and nb.cells[0].cell_type == "markdown" and nb.cells[0].source.lstrip().startswith("#")
    link = kit_link_cell()
    link.pop("id", None)
    nb.cells.insert(1 if titled else 0, link)
    nb.nbformat_minor = 4
    return nb


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
