"""Generate the student notebooks with nbgrader (solutions stubbed, hidden tests removed)."""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import nbformat

from autograder.course.layout import ASSIGNMENTS, CHAPTERS, NOTEBOOK, REPO
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
        generate_assignment(course, name)
        released.append(course / "release" / name / f"{NOTEBOOK}.ipynb")
    return released


def generate_assignment(course: Path, name: str) -> None:
    """What `nbgrader generate_assignment <name> --force` does in ``course``, in this process.

    Run as a command it cost 4-9 s per assignment, mostly starting Python and importing nbgrader
    (and jsonschema's IRI grammar, which importing `autograder` skips); here the imports are paid once.
    The settings are the course's own nbgrader_config.py, which `prepare_course` writes."""
    import nbgrader.api
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(course).resolve()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config, root=str(root))
    coursedir.assignment_id = name
    messages = io.StringIO()
    log = logging.getLogger(f"{__name__}.nbgrader")  # nbgrader's progress lines stay out of our output
    log.propagate = False
    handler = logging.StreamHandler(messages)
    log.addHandler(handler)
    try:
        with _alembic_head_in_process(nbgrader.api):
            converter = GenerateAssignment(coursedir=coursedir, config=config, log=log)
            converter.force = True
            converter.start()
    except Exception as exc:
        raise RuntimeError(f"nbgrader generate_assignment {name} failed: {exc}\n{messages.getvalue()[-2000:]}") from exc
    finally:
        log.removeHandler(handler)


@contextlib.contextmanager
def _alembic_head_in_process(api):
    """nbgrader stamps a new course's gradebook.db with its schema's head revision, which it asks the
    `alembic heads` command for (seconds of start-up, and the command must be on PATH); read it from
    nbgrader's own migration scripts here instead, for the duration."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    asked = api.get_alembic_version
    api.get_alembic_version = lambda: ScriptDirectory(ALEMBIC_DIR).get_current_head()
    try:
        yield
    finally:
        api.get_alembic_version = asked


# The book's exercise pages add this under the title; the student kit leaves it out (BOOK_ONLY).
KIT_LINK = f"""\
:::{{note}}
Work on this exercise on your own machine: download the
{{download}}`student kit <{BOOK_LINK}>` (every exercise notebook, the checks and a
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
