"""The notebooks students get are nbformat 4.5 with cell ids, so a cell their Jupyter adds keeps them valid."""
from __future__ import annotations

import json

import nbformat
import pytest

from autograder.course.layout import ASSIGNMENTS, CHAPTERS
from autograder.release.student_kit import kit_notebook


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_book_and_kit_notebooks_take_a_cell_added_with_todays_nbformat(assignment):
    book_copy = nbformat.read(CHAPTERS / ASSIGNMENTS[assignment] / "exercise.ipynb", as_version=4)
    kit_copy = nbformat.from_dict(json.loads(json.dumps(kit_notebook(assignment))))
    for nb in (book_copy, kit_copy):
        assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
        ids = [cell["id"] for cell in nb.cells]
        assert len(set(ids)) == len(ids), f"{assignment}: duplicate cell ids {ids}"
        nbformat.validate(nb)
        nb.cells.insert(2, nbformat.v4.new_code_cell("x = 1"))  # as JupyterLab's "insert cell" does
        nbformat.validate(nb)


def test_released_book_copy_has_the_same_ids_every_time(tmp_path):
    """Ids come from the cell, not from chance: a second sync writes the same bytes."""
    from autograder.release.notebooks import student_notebook_for_book

    source = CHAPTERS / ASSIGNMENTS["ch02"] / "exercise.ipynb"
    # The book copy without its kit-link cell stands in for a release (the link is added again).
    nb = json.loads(source.read_text())
    nb["cells"] = [c for c in nb["cells"] if c["id"] != "kit-link"]
    (tmp_path / "released.ipynb").write_text(json.dumps(nb))
    first = nbformat.writes(student_notebook_for_book(tmp_path / "released.ipynb"))
    second = nbformat.writes(student_notebook_for_book(tmp_path / "released.ipynb"))
    assert first == second == nbformat.writes(nbformat.read(source, as_version=4))
