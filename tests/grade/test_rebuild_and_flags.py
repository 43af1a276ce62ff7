"""Flagging and rebuilding a submission, and the sandbox's command line, without running anything (fast)."""
from pathlib import Path

import nbformat
import pytest

from autograder.grade import sandbox
from autograder.grade.flags import code_without_comments, flags, tampering
from autograder.grade.rebuild import _rebuild, read, with_hidden_tests
from autograder.release.sources import source_notebook
from autograder.course.layout import SAMPLE_CLASS, SOURCES

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
    ("vars(checks)['check_forward'] = print", "vars"),
    ("import pkgutil\nref = pkgutil.resolve_name('dropout_' + 'reference')", "pkgutil"),
    ("import numpy as np\nnp.allclose = lambda *a: True", "np.allclose"),
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
    "from IPython.display import display\ndisplay(x)",  # showing a value is not tampering
    "import warnings\nwarnings.warn('slow')",
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


def test_unreadable_files_are_explained(tmp_path):
    released = _released()
    for name, content in {"empty": b"", "garbage": b"\x00\x01", "v5": b'{"nbformat": 5, "cells": []}'}.items():
        path = tmp_path / f"{name}.ipynb"
        path.write_bytes(content)
        result = read(path, released)
        assert result.notebook is None and "not a notebook this course can read" in result.reason


def test_comments_are_not_code_and_flags_name_the_cell():
    source = source_notebook(SOURCES / "ch02.md")
    student = _rebuild(_alice(), _released())
    answer = next(c for c in student.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = "# inspired by solutions/ and dropout_reference, written by me\n" + answer.source
    assert flags(student, source) == []
    assert "solutions" not in code_without_comments(answer.source)
    answer.source = "import dropout_reference\n" + answer.source
    assert any("dropout_reference" in f for f in flags(student, source))


def test_deep_or_broken_cells_never_crash_the_screening():
    source = source_notebook(SOURCES / "ch02.md")
    student = _rebuild(_alice(), _released())
    student.cells.append(nbformat.v4.new_code_cell("x = " + "(" * 100_000 + "1" + ")" * 100_000))
    student.cells.append(nbformat.v4.new_code_cell("def broken(:"))
    assert isinstance(flags(student, source), list)


def test_malformed_nbgrader_metadata_is_read_as_an_added_cell():
    student = _alice()
    answer = next(c for c in student.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.metadata["nbgrader"] = "oops"
    rebuilt = _rebuild(student, _released())
    assert answer.source in [c.source for c in rebuilt.cells]


def test_hidden_tests_come_back_from_the_source():
    nb_source = source_notebook(SOURCES / "ch02.md")
    rebuilt = _rebuild(_alice(), _released())
    runnable = with_hidden_tests(rebuilt, nb_source)
    meta = [c.metadata.get("nbgrader", {}) for c in runnable.cells]
    tests = [c.source for c, m in zip(runnable.cells, meta) if m.get("grade") and not m.get("solution")]
    assert tests and all("BEGIN HIDDEN TESTS" in t and "collect." in t for t in tests)
    written = [c.source for c, m in zip(runnable.cells, meta) if m.get("grade") and m.get("solution")]
    assert written and not any("BEGIN SOLUTION" in w for w in written), "a written answer is the student's, never the model"
    assert not any("BEGIN HIDDEN TESTS" in c.source for c in rebuilt.cells), "the rebuilt notebook itself is left as it was"


def test_written_answers_come_back_from_the_submission():
    student = _alice()
    question = next(c for c in student.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade"))
    question.source = "Because the expectation already matches: E[m x / q] = x."
    rebuilt = _rebuild(student, _released())
    assert question.source in [c.source for c in rebuilt.cells if c.metadata.get("nbgrader", {}).get("solution")]


def test_missing_bubblewrap_is_explained(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap.*--no-sandbox"):
        sandbox.require_bwrap()


def _command(tmp_path, uid=123456):
    hidden, allowed = tmp_path / "course", tmp_path / "repo" / ".venv"
    hidden.mkdir(exist_ok=True)
    allowed.mkdir(parents=True, exist_ok=True)
    kernel_dir = tmp_path / "scratch" / "k-1"
    return sandbox.bwrap_command("bwrap", str(kernel_dir), [str(hidden), str(tmp_path / "repo"), "/nonexistent"],
                                 [str(allowed)], ["-f", f"{kernel_dir}/kernel.json"], uid), kernel_dir


def _pairs(command):
    return {(command[i], command[i + 1]) for i in range(len(command) - 1)}


def test_kernel_sandbox_is_built_from_an_allow_list_with_no_network(tmp_path):
    command, kernel_dir = _command(tmp_path)
    assert command[0] == "bwrap" and ("--ro-bind", "/", "/") not in _pairs(command), "no view of the whole machine"
    pairs = _pairs(command)
    assert ("--ro-bind", "/usr") in pairs and ("--ro-bind", str(tmp_path / "repo" / ".venv")) in pairs
    assert ("--tmpfs", "/tmp") in pairs and ("--remount-ro", "/") in pairs
    assert not any(a == "--ro-bind" and command[i + 1] in (str(tmp_path / "repo"), str(tmp_path / "course"))
                   for i, a in enumerate(command)), "the repository and the course are never mounted"
    assert "--unshare-net" in command and "--unshare-pid" in command and "--die-with-parent" in command
    binds = [command[i + 1] for i, a in enumerate(command) if a == "--bind"]
    assert binds == [str(kernel_dir)], "the kernel's own folder is the only writable bind"
    assert ("--tmpfs", f"{kernel_dir}/work") in pairs, "its work folder is a tmpfs (counted against its memory)"
    assert ("--clearenv", "--setenv") in pairs and ("TMPDIR", f"{kernel_dir}/work") in pairs


def test_as_root_the_kernel_drops_to_its_own_user_with_no_capabilities(tmp_path):
    command, _ = _command(tmp_path, uid=123456)
    tail = command[command.index("--") + 1:]
    assert tail[0].endswith("setpriv") and ["--reuid", "123456"] == tail[1:3]
    assert "--inh-caps=-all" in tail and "--bounding-set=-all" in tail
    command, _ = _command(tmp_path, uid=None)
    assert command[command.index("--") - 2:command.index("--")] == ["--cap-drop", "ALL"]


def test_folders_leading_to_what_is_put_back_are_passable(tmp_path):
    command, kernel_dir = _command(tmp_path)
    passable = [command[i + 3] for i, a in enumerate(command) if a == "--perms" and command[i + 2] == "--dir"]
    assert str(kernel_dir.parent) in passable  # inside the emptied /tmp (pytest's tmp_path lives there)


def test_a_notebook_that_lost_its_metadata_keeps_the_students_code(tmp_path):
    """A jupytext round trip or a paste into a new notebook drops cell metadata: the answers then
    arrive as added cells, and the released stubs must not run after them and undo them."""
    student = _alice()
    for cell in student.cells:
        cell.metadata = {}
    path = tmp_path / "no_metadata.ipynb"
    nbformat.write(student, path)
    result = read(path, _released())
    answers = [c for c in result.notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert answers and all(c.source == "" for c in answers)
    assert not any("raise NotImplementedError" in c.source for c in result.notebook.cells)
    assert any("def vanilla_dropout_forward" in c.source for c in result.notebook.cells)
    assert result.flags and "no answer cell" in result.flags[0]


def test_the_seed_runs_just_before_the_first_hidden_test_and_the_kept_notebook_says_so():
    """Feedback shows a student only the outputs of cells that ran before any hidden code: the seed
    cell must not come first, and the graded notebook records where hidden code began."""
    from autograder.feedback.notebook_view import cells_before_hidden_code
    from autograder.grade.rebuild import GRADER_CELL, with_seed, without_grader_cells

    runnable = with_seed(with_hidden_tests(_rebuild(_alice(), _released()), source_notebook(SOURCES / "ch02.md")), 7)
    seed_at = next(i for i, c in enumerate(runnable.cells) if GRADER_CELL in c.metadata)
    first_test = next(i for i, c in enumerate(runnable.cells) if c.metadata.get("nbgrader", {}).get("grade")
                      and not c.metadata["nbgrader"].get("solution"))
    assert seed_at == first_test - 1 and seed_at > 0
    assert not any("BEGIN HIDDEN TESTS" in c.source for c in runnable.cells[:seed_at] if c.cell_type == "code")
    assert any(c.metadata.get("nbgrader", {}).get("solution") for c in runnable.cells[:seed_at]), "an answer is above"
    kept = without_grader_cells(runnable)
    assert not any(GRADER_CELL in c.metadata for c in kept.cells)
    assert cells_before_hidden_code(kept) == seed_at  # the test cell that followed the seed now has its index
    assert "BEGIN HIDDEN TESTS" in kept.cells[seed_at].source


def test_the_rules_fingerprint_reads_every_grader_stage():
    """The stages it names exist (a renamed stage would crash every `grade`, and kernel tests alone would see it)."""
    from autograder.grade.pipeline import _rules_fingerprint

    _rules_fingerprint.cache_clear()
    assert len(_rules_fingerprint()) == 64


# Modules of ours that the grade path imports but whose change cannot change a grade, and why.
NOT_RULES = {
    "autograder": "the package's start-up (marks an optional jsonschema grammar absent)",
    "autograder.course": "a package marker",
    "autograder.course.files": "the atomic write of the kept notebook",
    "autograder.course.layout": "where the course folder's files are",
    "autograder.feedback": "a package marker",
    "autograder.feedback.safe_html": "HTML of the students' pages",
}
OURS = ("autograder", "dropout_checks", "dropout_collect", "dropout_kit", "dropout_reference")


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module rather than a name defined in one (``from a.b import c``)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # its parent is a module, not a package
        return False


def _imported(module: str) -> set[str]:
    """Modules of ours that ``module`` names in an import statement, at any depth (lazy imports too)."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(module)
    package = module if spec.submodule_search_locations else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
                else node.module
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in OURS and _is_module(name):
                # `import a.b.c` runs the packages a and a.b too
                found |= {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
    return found


def test_the_rules_fingerprint_covers_every_module_the_grade_path_imports():
    """A module of ours that grading imports, however lazily, either changes the fingerprint (so a change
    to it regrades) or is listed above with the reason it cannot change a grade."""
    import importlib.util

    from autograder.grade.pipeline import rules_files

    entries = ["autograder.grade.pipeline", "autograder.grade.template_main", "autograder.grade.kernel_template"]
    seen, todo = set(entries), list(entries)
    while todo:
        for name in _imported(todo.pop()) - seen:
            seen.add(name)
            todo.append(name)
    covered = {path.resolve() for path in rules_files()}
    uncovered = {name for name in seen - set(NOT_RULES) if Path(importlib.util.find_spec(name).origin).resolve()
                 not in covered}
    assert not uncovered, f"grading imports {sorted(uncovered)}: add them to pipeline.RULES_* or to NOT_RULES"
    assert "dropout_reference" not in seen, "the grader must not import the reference solutions"
    for module in ("autograder.grade.repair", "dropout_kit.text", "dropout_checks.capstone_verdicts",
                   "dropout_collect.capstone_plans", "dropout_collect.capstone_collectors"):
        assert module in seen, f"the walk no longer reaches {module}: the import scan is broken"
