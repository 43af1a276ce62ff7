"""Hostile notebook JSON against the repair (autograder/grade/repair.py) and the rebuild after it.

Whatever shape the file has, grading gets a notebook to run or a reason in words, never an exception;
the test cells that run are the release's, once each; and the repair is the same every time.
"""
from __future__ import annotations

import copy
import json

import nbformat
import pytest

from autograder.course.cells import is_solution, is_test, nbgrader_meta
from autograder.grade.rebuild import read
from autograder.grade.repair import read_repaired

from test_repair import BOOK_COPY

RELEASED = nbformat.read(BOOK_COPY, as_version=4)


def _submission() -> dict:
    return json.loads(BOOK_COPY.read_text())


def _index(nb: dict, test: bool) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if (is_test if test else is_solution)(c))


def _screen(tmp_path, nb_or_bytes):
    path = tmp_path / "exercise.ipynb"
    if isinstance(nb_or_bytes, bytes):
        path.write_bytes(nb_or_bytes)
    else:
        path.write_text(json.dumps(nb_or_bytes))
    return read(path, RELEASED)


def _tests_are_the_release(rebuilt) -> None:
    """The rebuilt notebook's test cells are the release's, in its order, each once, unchanged."""
    mine = [(nbgrader_meta(c)["grade_id"], c.source) for c in rebuilt.cells if is_test(c)]
    theirs = [(nbgrader_meta(c)["grade_id"], c.source) for c in RELEASED.cells if is_test(c)]
    assert mine == theirs


def _answer_kept(rebuilt, source: str) -> bool:
    return any(c.source == source for c in rebuilt.cells if is_solution(c))


def _hostile(how: str) -> dict:
    nb = _submission()
    cells = nb["cells"]
    answer = _index(nb, test=False)
    if how == "a 10 MB id":
        cells[answer]["id"] = "a" * 10_000_000
    elif how == "an id with characters the format forbids":
        cells[answer]["id"] = "my answer/ü"
    elif how == "deeply nested cell metadata":
        deep = {}
        for _ in range(400):
            deep = {"x": deep}
        cells[answer]["metadata"]["deep"] = deep
    elif how == "cells of unknown type":
        cells.insert(answer, {"cell_type": "heading", "metadata": {}, "source": "x", "level": 1})
        cells.insert(answer, {"cell_type": None, "source": "raise SystemExit"})
        cells.insert(answer, "not a cell")
        cells.insert(answer, {"cell_type": ["code"], "metadata": {}, "source": "unhashable type"})
    elif how == "outputs of wrong types":
        cells[answer]["outputs"] = [1, None, {"output_type": "nonsense"}]
        cells[answer]["execution_count"] = "seven"
    elif how == "outputs not a list":
        cells[answer]["outputs"] = {"output_type": "stream"}
    elif how == "a source list holding non-strings":
        cells[answer]["source"] = [cells[answer]["source"], 1, None]
    elif how == "nbformat_minor not a number":
        nb["nbformat_minor"] = "five"
    elif how == "notebook metadata of wrong types":
        nb["metadata"] = {"kernelspec": 5, "language_info": ["python"], "nbgrader": "x"}
    elif how == "attachments and execution_count of wrong types":
        markdown = next(c for c in cells if c["cell_type"] == "markdown")
        markdown["attachments"] = "not a mapping"
        cells[answer]["execution_count"] = -3
    elif how == "format version as text":
        nb["nbformat"] = "4"
    elif how == "output text that nbformat cannot read":
        cells[answer]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [1, 2]}]
    elif how == "no cells key":
        del nb["cells"]
    return nb


REPAIRABLE = ["a 10 MB id", "an id with characters the format forbids", "deeply nested cell metadata",
              "cells of unknown type", "outputs of wrong types", "outputs not a list", "nbformat_minor not a number",
              "notebook metadata of wrong types", "attachments and execution_count of wrong types",
              "format version as text", "output text that nbformat cannot read"]


@pytest.mark.parametrize("how", REPAIRABLE)
def test_a_hostile_shape_is_repaired_and_graded_on_the_release_tests(tmp_path, how):
    nb = _hostile(how)
    answer = "".join(nb["cells"][_index(nb, test=False)]["source"])
    screened = _screen(tmp_path, nb)
    assert screened.reason is None and screened.notebook is not None, screened.reason
    _tests_are_the_release(screened.notebook)
    assert _answer_kept(screened.notebook, answer)
    ids = [c.id for c in screened.notebook.cells if "id" in c]
    assert all(len(i) <= 64 for i in ids)


@pytest.mark.parametrize("how", ["a source list holding non-strings", "no cells key"])
def test_a_shape_that_cannot_be_read_is_refused_in_words(tmp_path, how):
    screened = _screen(tmp_path, _hostile(how))
    assert screened.notebook is None and "not a notebook this course can read:" in screened.reason


def test_json_nested_past_the_parser_is_refused_in_words(tmp_path):
    depth = 200_000
    text = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": ' + b'{"a": ' * depth + b'1' + b'}' * depth + b', "cells": []}'
    screened = _screen(tmp_path, text)
    assert screened.notebook is None and "nested too deeply" in screened.reason


def test_a_student_cell_claiming_a_test_id_after_repair_runs_as_the_students_code_only(tmp_path):
    """A broken file (so it is repaired) whose answer cell carries the hidden test's grade_id and test flags,
    and an extra copy of the test cell with its source replaced: the release's test runs, once, unchanged."""
    nb = _submission()
    cells = nb["cells"]
    test = cells[_index(nb, test=True)]
    answer = cells[_index(nb, test=False)]
    forged = copy.deepcopy(test)
    forged["source"] = "pass  # the test, emptied"
    forged["id"] = test["id"]
    answer["metadata"]["nbgrader"] = dict(test["metadata"]["nbgrader"])
    answer["execution_count"] = "x"  # makes the file invalid, so it goes through the repair
    cells.append(forged)
    cells.insert(0, copy.deepcopy(forged))
    nb["nbformat_minor"] = 4
    screened = _screen(tmp_path, nb)
    assert screened.notebook is not None, screened.reason
    _tests_are_the_release(screened.notebook)
    assert not any("the test, emptied" in c.source for c in screened.notebook.cells)
    assert any("repaired before grading" in f for f in screened.flags)


def test_the_repair_is_the_same_every_time(tmp_path):
    nb = _hostile("cells of unknown type")
    for cell in nb["cells"]:
        if isinstance(cell, dict):
            cell.pop("id", None)
    nb["cells"][-1]["id"] = "cell-1"  # an id a generated one could collide with
    path = tmp_path / "exercise.ipynb"
    path.write_text(json.dumps(nb))
    first, second = read_repaired(path), read_repaired(path)
    assert nbformat.writes(first[0]) == nbformat.writes(second[0]) and first[1] == second[1]
    ids = [c.id for c in first[0].cells]
    assert len(set(ids)) == len(ids)
