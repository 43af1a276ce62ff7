"""Read a submission and rebuild it on the released notebook.

Rebuilding is what makes edited, deleted, duplicated or re-tagged test cells harmless: the
notebook that runs is the released one, cell for cell, with only the student's answer cells
(and any cells they added) taken from the submission. What in the student's cells deserves a
human look is :mod:`autograder.grade.flags`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from autograder.course.cells import is_solution, is_test, nbgrader_meta
from autograder.feedback.notebook_view import CLEAN_CELLS, GRADER_KEY, HIDDEN_BEGIN
from autograder.grade.repair import NotANotebook, read_repaired


@dataclass
class Screened:
    notebook: nbformat.NotebookNode | None  # what to run; None when the file is not a readable notebook
    reason: str | None                      # why every function scores 0, when it does
    flags: list[str]                        # for the instructor's review; never affect points




def is_students(cell) -> bool:
    """An answer cell or a code cell the student added; tests and given code are the release's."""
    if GRADER_CELL in cell.get("metadata", {}):
        return False
    return cell.cell_type == "code" and ("nbgrader" not in cell.get("metadata", {}) or is_solution(cell))


def _rebuild(submitted, released) -> nbformat.NotebookNode:
    """The released notebook with the student's answers and added cells put back in place.

    Cells carrying a released id are matched by that id: answers keep the student's code,
    everything else (tests, given code, instructions) comes from the release. A second copy of
    an answer cell and any cell the student added stay, after the released cell they followed,
    so the notebook runs in the order the student ran it.
    """
    released_ids = [nbgrader_meta(c).get("grade_id") for c in released.cells]
    # Released cells without an id (instructions) are recognised by their text.
    released_text = {c.source: i for i, c in enumerate(released.cells) if released_ids[i] is None}
    answer_ids = {nbgrader_meta(c)["grade_id"] for c in released.cells if is_solution(c)}
    # Code answers and written (markdown) answers each come back only into a cell of their kind.
    answer_kind = {nbgrader_meta(c)["grade_id"]: c.cell_type for c in released.cells if is_solution(c)}
    answers: dict[str, str] = {}
    added: dict[int, list] = {}  # index of the released cell they follow (-1: the top) -> cells
    anchor = -1
    for cell in submitted.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if not isinstance(grade_id, str):
            grade_id = None
        source = cell.get("source", "")
        cell.source = source if isinstance(source, str) else "".join(map(str, source))
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        if grade_id is None and cell.source in released_text:
            anchor = released_text[cell.source]
            continue
        if grade_id is not None and grade_id in released_ids and grade_id not in answers:
            anchor = released_ids.index(grade_id)
            if grade_id in answer_ids and cell.cell_type == answer_kind[grade_id]:
                answers[grade_id] = cell.source
            continue
        if grade_id is not None and grade_id in released_ids and grade_id not in answer_ids:
            continue  # a copy of a test or of given code: the release has the real one
        maker = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
        added.setdefault(anchor, []).append(maker(cell.source))
    rebuilt = nbformat.v4.new_notebook(metadata=released.metadata)
    rebuilt.cells = list(added.get(-1, []))
    for index, cell in enumerate(released.cells):
        cell = nbformat.from_dict(cell)
        grade_id = released_ids[index]
        if grade_id in answer_ids:
            # A missing answer cell stays empty: the released stub would override a definition
            # the student wrote elsewhere (a notebook whose metadata was lost, say).
            cell.source = answers.get(grade_id, "")
        rebuilt.cells.append(cell)
        rebuilt.cells.extend(added.get(index, []))
    return rebuilt


def missing_answers(submitted_or_rebuilt: nbformat.NotebookNode, released: nbformat.NotebookNode) -> list[str]:
    """Answer cells of the release that the submission does not have (by id)."""
    have = {nbgrader_meta(c).get("grade_id") for c in submitted_or_rebuilt.cells if is_solution(c)}
    return [nbgrader_meta(c)["grade_id"] for c in released.cells if is_solution(c) and nbgrader_meta(c)["grade_id"] not in have]


def read(path, released: nbformat.NotebookNode) -> Screened:
    """The submission at ``path`` rebuilt on the release, or the reason it cannot be graded."""
    try:
        submitted, repairs = read_repaired(path)
    except NotANotebook as err:
        return Screened(None, f"the submitted file is not a notebook this course can read: {err}. "
                              "Export it again from Jupyter as .ipynb", [])
    except Exception as err:  # noqa: BLE001 - any unreadable file is the student's problem, not ours
        return Screened(None, f"the submitted file is not a notebook this course can read ({type(err).__name__}). "
                              "Export it again from Jupyter as .ipynb", [])
    missing = missing_answers(submitted, released)
    flags = [f"the submission has no answer cell {', '.join(missing)} (its metadata may have been lost): "
             "those cells ran empty, and the student's own cells ran as written"] if missing else []
    if repairs:
        flags.append(f"the file did not follow the notebook format and was repaired before grading: {'; '.join(repairs)}")
    return Screened(_rebuild(submitted, released), None, flags)


def with_hidden_tests(rebuilt: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy whose test cells are as the instructor wrote them (hidden collectors included)."""
    tests = {nbgrader_meta(c).get("grade_id"): c.source for c in source.cells if is_test(c)}
    runnable = nbformat.from_dict(copy.deepcopy(dict(rebuilt)))
    for cell in runnable.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if is_test(cell) and grade_id in tests:
            cell.source = tests[grade_id]
    return runnable


GRADER_CELL = "dropout_grader"  # metadata key of cells the grader adds (never shown, never the student's)


def first_hidden_cell(notebook: nbformat.NotebookNode) -> int:
    """The index of the first cell that runs hidden test code (a grader's cell, or a test or given cell
    with a hidden block), or the number of cells when none does."""
    for index, cell in enumerate(notebook.cells):
        if GRADER_CELL in cell.get("metadata", {}):
            return index
        if cell.get("cell_type") == "code" and not is_students(cell) and HIDDEN_BEGIN in str(cell.get("source", "")):
            return index
    return len(notebook.cells)


def with_seed(notebook: nbformat.NotebookNode, seed: int) -> nbformat.NotebookNode:
    """A cell that sets this run's seed for the collectors (the checker uses its own copy), just before
    the first hidden test: the cells above it run before any hidden code, so feedback may show their output."""
    code = f"### BEGIN HIDDEN TESTS\nimport dropout_collect as _grader\n_grader.set_seed({int(seed)})\ndel _grader\n### END HIDDEN TESTS"
    cell = nbformat.v4.new_code_cell(code, metadata={GRADER_CELL: "seed"})
    notebook.cells.insert(first_hidden_cell(notebook), cell)
    return notebook


def without_grader_cells(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook without the grader's cells, recording how many cells ran before hidden code
    did: feedback shows a student only those cells' outputs (see :mod:`autograder.feedback.notebook_view`)."""
    clean = first_hidden_cell(notebook)  # the grader's cells all come at or after it
    notebook.cells = [c for c in notebook.cells if GRADER_CELL not in c.get("metadata", {})]
    notebook.metadata[GRADER_KEY] = {CLEAN_CELLS: clean}
    return notebook
