"""A failing visible check shows, in a real kernel, its one sentence, not a traceback through the kit."""
from __future__ import annotations

import nbformat
from nbclient import execute

import dropout_kit
from dropout_kit import _display

WRONG_SCALE = """\
import numpy as np
from dropout_kit import numpy_checks as checks

def inverted_dropout_forward(x, p_drop, train=True, rng=None):
    mask = rng.random(x.shape) >= p_drop
    return x * mask, {"mask": mask, "scale": 1.0}
"""
CRASHING = """\
def inverted_dropout_forward(x, p_drop, train=True, rng=None):
    return helper(x)

def helper(x):
    raise ValueError("my own bug")
"""
CHECK = 'checks.check_forward(inverted_dropout_forward, "inverted")'


def _run(sources: list[str]) -> list:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    execute(nb, kernel_name="python3", allow_errors=True, timeout=300)
    return nb.cells


def _error(cell) -> dict:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert len(errors) == 1, cell.outputs
    return errors[0]


def test_a_failing_check_shows_its_sentence_and_where_the_students_code_raised():
    cells = _run([WRONG_SCALE, CHECK, CRASHING, CHECK, 'import dropout_kit\ndropout_kit.summary("ch02")'])
    wrong, crashed = _error(cells[1]), _error(cells[3])
    for error in (wrong, crashed):
        assert error.ename == "ExerciseFailure"
        assert error.traceback[0] == f"ExerciseFailure: {error.evalue}"
        assert error.traceback[-1] == _display.RUN_ALL_NOTE
        assert len(error.traceback) <= 2 + 1 + _display.MAX_FRAMES
        assert not any(_display.KIT_DIR in line or "numpy_checks" in line or "_core.py" in line
                       for line in error.traceback), error.traceback
    assert "scales them by 1/(1-p_drop)" in wrong.evalue and len(wrong.traceback) == 2
    assert "raised ValueError: my own bug" in crashed.evalue
    assert crashed.traceback[1] == "Raised in your code (ValueError):"
    assert crashed.traceback[2].endswith("in inverted_dropout_forward: return helper(x)")
    assert crashed.traceback[3].endswith('in helper: raise ValueError("my own bug")')
    assert all(line.startswith("  Cell In[") for line in crashed.traceback[2:4])
    summary = "".join(o.get("text", "") for o in cells[4].outputs)
    assert summary.startswith("0 of 2 visible checks pass") and "not run yet: vanilla_dropout_forward" in summary


def test_outside_ipython_the_kit_changes_no_exception_handling():
    assert _display.register(dropout_kit.ExerciseFailure) is False
