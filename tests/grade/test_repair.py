"""A submitted notebook that slips on the format is repaired and graded; one that is not a notebook is refused
with a whole sentence."""
from __future__ import annotations

import copy
import json

import nbformat
import pytest

from autograder.course.layout import CHAPTERS
from autograder.grade.rebuild import read
from autograder.grade.repair import read_repaired

BOOK_COPY = CHAPTERS / "02_vanilla_vs_inverted" / "exercise.ipynb"


def _break(how: str) -> dict:
    nb = json.loads(BOOK_COPY.read_text())
    broken = copy.deepcopy(nb)
    cells = broken["cells"]
    if how == "ids in a 4.4 file":  # a cell added by a newer Jupyter to an old file
        broken["nbformat_minor"] = 4
    elif how == "stray fields":  # a code cell turned into markdown keeps its execution_count
        cells[0]["execution_count"], cells[2]["scrolled"] = 3, True
    elif how == "bad output":
        cells[2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x", "colour": "red"}]
    elif how == "repeated and missing ids":
        cells[3]["id"] = cells[2]["id"]
        del cells[4]["id"]
    elif how == "metadata not a mapping":
        cells[1]["metadata"], broken["metadata"] = "oops", []
    return broken


@pytest.mark.parametrize("how", ["ids in a 4.4 file", "stray fields", "bad output", "repeated and missing ids",
                                 "metadata not a mapping"])
def test_format_slips_are_repaired_and_every_cell_source_kept(tmp_path, how):
    path = tmp_path / "exercise.ipynb"
    path.write_text(json.dumps(_break(how)))
    nb, repairs = read_repaired(path)
    nbformat.validate(nb)
    original = nbformat.read(BOOK_COPY, as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in original.cells]
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    if how != "repeated and missing ids":  # nbformat's reader mends those itself, quietly
        assert repairs
    screened = read(path, original)
    assert screened.notebook is not None and screened.reason is None
    if repairs:
        assert any("repaired before grading" in flag for flag in screened.flags)


@pytest.mark.parametrize("content,words", [
    (b"{ not json", "is not JSON (Expecting property name enclosed in double quotes at line 1, column 3)"),
    (b"[1, 2]", "holds JSON, but not a notebook"),
    (b"\xff\xfe", "not UTF-8"),
    (b'{"nbformat": 5, "cells": []}', "nbformat cannot read it"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "worksheets": []}', "holds JSON, but not a notebook"),
    (b'{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": ["x"]}', "cannot convert it from version 3"),
])
def test_what_cannot_be_repaired_is_refused_in_whole_sentences(tmp_path, content, words):
    path = tmp_path / "exercise.ipynb"
    path.write_bytes(content)
    screened = read(path, nbformat.read(BOOK_COPY, as_version=4))
    assert screened.notebook is None
    assert words in screened.reason and screened.reason.endswith("Export it again from Jupyter as .ipynb")


@pytest.mark.parametrize("slip,repairs", [
    (None, []),  # what an old Jupyter saves: converted as Jupyter converts it, not flagged
    ("metadata not a mapping", ["converted from nbformat 3", "reset metadata that was not a mapping (1 cell(s))"]),
    ("stray field", ["converted from nbformat 3",
                     "removed fields or entries that do not belong in a cell (1 cell(s))"]),
])
def test_an_nbformat_3_file_is_converted_and_graded_on_every_cell(tmp_path, slip, repairs):
    original = nbformat.read(BOOK_COPY, as_version=4)
    old = json.loads(nbformat.writes(nbformat.convert(copy.deepcopy(original), 3)))  # convert works in place
    cells = old["worksheets"][0]["cells"]
    assert old["nbformat"] == 3 and "cells" not in old
    if slip == "metadata not a mapping":
        cells[1]["metadata"] = "oops"
    elif slip == "stray field":
        cells[2]["scrolled"] = True
    path = tmp_path / "exercise.ipynb"
    path.write_text(json.dumps(old))
    nb, done = read_repaired(path)
    assert done == repairs
    assert [c.source for c in nb.cells] == [c.source for c in original.cells]
    screened = read(path, original)
    assert screened.notebook is not None and screened.reason is None
    assert bool(screened.flags) == bool(repairs)
