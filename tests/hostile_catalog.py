"""Adversarial, broken and hung submissions, each with the grade and reason it must get.

Every case starts from alice's full-marks ch02 notebook (vanilla 3 points, inverted 3 points)
and changes one thing. ``build(case, course, repo)`` returns the bytes of the submitted file;
``EXPECTED[case]`` is (points per function, words the reason must contain or None).
The README's table of hostile cases is this catalog in prose.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat

from autograder.paths import SAMPLE_CLASS

FULL = {"vanilla_dropout_forward": 3, "inverted_dropout_forward": 3}
ZERO = {"vanilla_dropout_forward": 0, "inverted_dropout_forward": 0}
FIRST_LOST = {"vanilla_dropout_forward": 0, "inverted_dropout_forward": 3}

# case -> (points per function, words in every lost function's reason)
EXPECTED = {
    "imports_reference": (ZERO, "dropout_reference"),
    "reads_hidden_tests": (ZERO, "/source/"),
    "reads_gradebook_obfuscated": (ZERO, "tried to reach the instructor's files"),
    "edits_test_cell": (FULL, None),
    "deletes_test_cells": (FULL, None),
    "duplicates_test_cell": (FULL, None),
    "retags_test_cell": (FULL, None),
    "monkeypatches_numpy": (ZERO, "np.allclose"),
    "monkeypatches_checks": (ZERO, "checks.check_forward"),
    "silences_tracebacks": (ZERO, "get_ipython"),
    "redefines_assertionerror": (ZERO, "AssertionError"),
    "patches_builtins": (ZERO, "builtins"),
    "sys_exit_after_answers": (FULL, None),
    "raises_systemexit": (FIRST_LOST, "SystemExit"),
    "raises_keyboardinterrupt": (FIRST_LOST, "KeyboardInterrupt"),
    "os_exit": (ZERO, "end the grading kernel"),
    "kills_kernel_dynamically": (ZERO, "kernel died"),
    "infinite_loop": (FIRST_LOST, "did not finish within"),
    "memory_bomb": (FIRST_LOST, "MemoryError"),
    "spawns_many_processes": (FIRST_LOST, "the answer cell raised"),
    "writes_outside_and_deletes_others": (FIRST_LOST, "Read-only file system"),
    "prints_100_mb": (FULL, None),
    "warns_on_stderr": (FULL, None),
    "not_json": (ZERO, "not a notebook"),
    "empty_file": (ZERO, "not a notebook"),
    "nbformat_3": (FULL, None),
    "nbformat_5": (ZERO, "not a notebook"),
    "extra_cells": (FULL, None),
    "missing_answer_cell": ({"vanilla_dropout_forward": 3, "inverted_dropout_forward": 0}, "not implemented"),
}


def _alice() -> nbformat.NotebookNode:
    return nbformat.read(SAMPLE_CLASS / "alice" / "exercise.ipynb", as_version=4)


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _prefix_first_answer(code: str):
    def edit(nb, course, repo):
        answer = _cell(nb, "answer_02")
        answer.source = code.format(course=course, repo=repo) + answer.source
    return edit


def _append_to_first_answer(code: str):
    def edit(nb, course, repo):
        answer = _cell(nb, "answer_02")
        answer.source = answer.source + "\n" + code
    return edit


def _edit_test(nb, course, repo):
    _cell(nb, "vanilla_dropout_forward").source = "pass  # tests? what tests?"
    _cell(nb, "inverted_dropout_forward").source = "pass"


def _delete_tests(nb, course, repo):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


def _duplicate_test(nb, course, repo):
    test = _cell(nb, "vanilla_dropout_forward")
    fake = copy.deepcopy(test)
    fake.source, fake.id = "assert True", "duplicated-test"
    nb.cells.insert(nb.cells.index(test), fake)


def _retag_test(nb, course, repo):
    test = _cell(nb, "inverted_dropout_forward")
    test.metadata["nbgrader"].update(grade=False, solution=True, locked=False, grade_id="answer_99")
    test.source = "pass"


def _extra_cells(nb, course, repo):
    """A helper in a cell of the student's own that the answer needs: dropping it would cost points."""
    answer = _cell(nb, "answer_02")
    assert "rng.random(x.shape) >= p_drop" in answer.source
    answer.source = answer.source.replace("rng.random(x.shape) >= p_drop", "rng.random(x.shape) >= threshold(p_drop)")
    at = nb.cells.index(answer)
    nb.cells.insert(at, nbformat.v4.new_markdown_cell("My notes: a helper first."))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell("def threshold(p_drop):\n    return p_drop"))
    nb.cells.append(nbformat.v4.new_code_cell("print(threshold(0.25))"))


def _missing_answer(nb, course, repo):
    nb.cells.remove(_cell(nb, "answer_04"))


EDITS = {
    "imports_reference": _prefix_first_answer("from dropout_reference import vanilla_dropout_forward as _v\n"),
    "reads_hidden_tests": _prefix_first_answer("_leak = open('{course}/source/ch02/exercise.ipynb').read()\n"),
    "reads_gradebook_obfuscated": _prefix_first_answer(
        "_where = '{course}'\n_leak = open(_where + '/grade' + 'book' + '.db', 'rb').read()\n"),
    "edits_test_cell": _edit_test,
    "deletes_test_cells": _delete_tests,
    "duplicates_test_cell": _duplicate_test,
    "retags_test_cell": _retag_test,
    "monkeypatches_numpy": _prefix_first_answer("np.allclose = lambda *args, **kwargs: True\n"),
    "monkeypatches_checks": _prefix_first_answer("checks.check_forward = lambda *args, **kwargs: None\n"),
    "silences_tracebacks": _prefix_first_answer("get_ipython().showtraceback = lambda *args, **kwargs: None\n"),
    "redefines_assertionerror": _prefix_first_answer("class AssertionError(Exception):\n    pass\n"),
    "patches_builtins": _prefix_first_answer("import builtins\nbuiltins.isinstance = lambda *args: True\n"),
    "sys_exit_after_answers": _append_to_first_answer("import sys\nsys.exit(0)\n"),
    "raises_systemexit": _prefix_first_answer("raise SystemExit(3)\n"),
    "raises_keyboardinterrupt": _prefix_first_answer("raise KeyboardInterrupt\n"),
    "os_exit": _prefix_first_answer("import os\nos._exit(1)\n"),
    "kills_kernel_dynamically": _prefix_first_answer("import os\ngetattr(os, '_e' + 'xit')(1)\n"),
    "infinite_loop": _prefix_first_answer("while True:\n    pass\n"),
    "memory_bomb": _prefix_first_answer("_hog = bytearray(40 * 2**30)\n"),
    "spawns_many_processes": _prefix_first_answer(
        "import subprocess\n_children = [subprocess.Popen(['sleep', '600']) for _ in range(2000)]\n"),
    "writes_outside_and_deletes_others": _prefix_first_answer(
        "import shutil\nshutil.rmtree('{course}/submitted', ignore_errors=True)\n"
        "open('scratch_is_fine.txt', 'w').write('my own folder is writable')\n"
        "open('{repo}/escaped.txt', 'w').write('gotcha')\n"),
    "prints_100_mb": _prefix_first_answer("for _ in range(100):\n    print('x' * 2**20)\n"),
    "warns_on_stderr": _prefix_first_answer(
        "import sys, warnings\nwarnings.warn('a student warning')\nprint('to stderr', file=sys.stderr)\n"
        "_ = np.log(np.zeros(1))  # RuntimeWarning: divide by zero\n"),
    "extra_cells": _extra_cells,
    "missing_answer_cell": _missing_answer,
}

FILES = {
    "not_json": lambda: b"{ this is not json",
    "empty_file": lambda: b"",
}


def build(case: str, course: Path, repo: Path) -> bytes:
    """The submitted file for one case (``course`` and ``repo`` are what a cheat would aim at)."""
    if case in FILES:
        return FILES[case]()
    nb = _alice()
    if case == "nbformat_3":
        return nbformat.writes(nbformat.convert(nb, 3)).encode()
    if case == "nbformat_5":
        raw = json.loads(nbformat.writes(nb))
        raw["nbformat"] = 5
        return json.dumps(raw).encode()
    EDITS[case](nb, course, repo)
    return nbformat.writes(nb).encode()
