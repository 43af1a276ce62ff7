"""Screening and rebuilding a submission, without running it (fast; no nbgrader, no kernel)."""
import nbformat
import pytest

from autograder import sandbox
from autograder.screening import _rebuild, screen, tampering
from autograder.sources import source_notebook
from autograder.paths import SAMPLE_CLASS, SOURCES

PROTECTED = {"np", "checks", "torch", "nn", "F"}


@pytest.mark.parametrize("code,words", [
    ("np.allclose = lambda *a: True", "np.allclose"),
    ("import numpy\nnumpy.random.default_rng = None", "numpy.random.default_rng"),
    ("checks.check_forward = print", "checks.check_forward"),
    ("setattr(np, 'allclose', print)", "setattr"),
    ("get_ipython().showtraceback = print", "get_ipython"),
    ("import sys\nsys.excepthook = print", "excepthook"),
    ("import sys\nsys.modules['numpy'] = None", "sys.modules"),
    ("__builtins__.print = None", "__builtins__"),
    ("from builtins import *", "builtins"),
    ("import ctypes", "ctypes"),
    ("exec('x = 1')", "exec"),
    ("f = __import__('os')", "__import__"),
    ("class AssertionError(Exception):\n    pass", "AssertionError"),
    ("KeyError = ValueError", "KeyError"),
    ("def checks():\n    pass", "checks"),
    ("np = None", "np"),
    ("import os\nos._exit(0)", "end the grading kernel"),
    ("import os, signal\nos.kill(os.getpid(), 9)", "signal"),
])
def test_tampering_is_named(code, words):
    found = tampering(code, PROTECTED)
    assert found and words in found, found


@pytest.mark.parametrize("code", [
    "def forward(self, x):\n    self.train()\n    model.eval()\n    return F.dropout(x, self.p_drop, self.training)",
    "class Dropout(nn.Module):\n    def __init__(self, p_drop=0.5):\n        super().__init__()\n        self.p_drop = p_drop",
    "for m in model.modules():\n    m.train()",
    "import numpy as np\nrng = np.random.default_rng(0)\nx = rng.random((2, 3))",
    "cache = {}\ncache['mask'] = mask\nout = x * mask",
    "import sys\nprint('done', file=sys.stderr)\nsys.exit(0)",
    "class ShapeError(ValueError):\n    pass",  # a student's own exception class
    "def broken(:\n    pass",  # a syntax error fails when run; screening has nothing to say
])
def test_ordinary_code_is_not_flagged(code):
    assert tampering(code, PROTECTED) is None


def _released():
    return nbformat.read(SAMPLE_CLASS / "bob" / "exercise.ipynb", as_version=4)  # untouched stubs of ch02


def _alice():
    return nbformat.read(SAMPLE_CLASS / "alice" / "exercise.ipynb", as_version=4)


def test_rebuild_restores_tests_and_keeps_answers_and_added_cells():
    released, student = _released(), _alice()
    tests = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests[0].source = "pass"
    student.cells.remove(tests[1])
    student.cells.insert(3, nbformat.v4.new_code_cell("helper = 1"))
    rebuilt = _rebuild(student, released)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in rebuilt.cells}
    original = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in released.cells}
    for grade_id in ("vanilla_dropout_forward", "inverted_dropout_forward", "given_01"):
        assert by_id[grade_id] == original[grade_id]
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in _alice().cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    assert all(by_id[g] == s for g, s in answers.items())
    sources = [c.source for c in rebuilt.cells]
    assert sources.index("helper = 1") == sources.index(answers["answer_02"]) + 1
    assert len(rebuilt.cells) == len(released.cells) + 1


def test_a_second_copy_of_an_answer_runs_after_the_first():
    student = _alice()
    answer = next(c for c in student.cells if c.metadata.get("nbgrader", {}).get("solution"))
    copy = nbformat.from_dict(dict(answer))
    copy.source, copy.id = "# my second try\n" + answer.source, "second-try"
    student.cells.insert(student.cells.index(answer) + 1, copy)
    sources = [c.source for c in _rebuild(student, _released()).cells]
    assert sources.index(copy.source) == sources.index(answer.source) + 1


def test_screen_explains_unreadable_files(tmp_path):
    released = _released()
    source = source_notebook(SOURCES / "ch02.md")
    for name, content in {"empty": b"", "garbage": b"\x00\x01", "v5": b'{"nbformat": 5, "cells": []}'}.items():
        path = tmp_path / f"{name}.ipynb"
        path.write_bytes(content)
        result = screen(path, released, source)
        assert result.notebook is None and "not a notebook this course can read" in result.reason


def test_missing_bubblewrap_is_explained(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap.*--no-sandbox"):
        sandbox.require_bwrap()


def test_kernel_sandbox_hides_and_protects(tmp_path, monkeypatch):
    """The bwrap command itself: read-only root, hidden folders, one writable folder, no caps."""
    monkeypatch.setenv(sandbox.HIDE_ENV, f"{tmp_path}:/nonexistent")
    command = sandbox._bwrap_command("bwrap", "/work/dir", "/scratch/kernel-1", str(tmp_path / "runtime"),
                                     ["-f", "/tmp/kernel/connection.json"])
    text = " ".join(command)
    assert text.startswith("bwrap --ro-bind / /")
    assert f"--tmpfs {tmp_path}" in text and "/nonexistent" not in text
    assert "--bind /work/dir /work/dir" in text and "--bind /scratch/kernel-1 /scratch/kernel-1" in text
    assert "--cap-drop ALL" in text and "--clearenv" in text and "TMPDIR /scratch/kernel-1" in text
    assert command.index("--bind") > command.index(str(tmp_path)), "the work folder is mounted after the hiding"
    tmp_emptied = any(command[i:i + 2] == ["--tmpfs", "/tmp"] for i in range(len(command)))
    assert tmp_emptied != sandbox._software_under("/tmp"), "/tmp is emptied unless the project lives there"


def test_a_hidden_folder_holding_the_software_hides_only_its_other_subfolders(tmp_path, monkeypatch):
    """A clone under /tmp: /tmp's other folders are hidden; the project and symbolic links are not."""
    (tmp_path / "other").mkdir()
    (tmp_path / "project").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "other")
    monkeypatch.setattr(sandbox, "_software_under", lambda f: str(f) in (str(tmp_path), str(tmp_path / "project")))
    assert sandbox._to_hide(str(tmp_path)) == [str(tmp_path / "other")]
    assert sandbox._to_hide(str(tmp_path / "missing")) == []
