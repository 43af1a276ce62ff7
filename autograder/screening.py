"""Read a submission, rebuild it on the released notebook, and flag code worth a human look.

Rebuilding is what makes edited, deleted, duplicated or re-tagged test cells harmless: the
notebook that runs is the released one, cell for cell, with only the student's answer cells
(and any cells they added) taken from the submission. Flags never change a grade: points come
from the trusted checker alone. They point the instructor at code that reaches for the
grader's internals, which a correct answer never needs.
"""
from __future__ import annotations

import ast
import builtins
import copy
import io
import re
import tokenize
from dataclasses import dataclass

import nbformat

from .notebook_view import CLEAN_CELLS, GRADER_KEY, HIDDEN_BEGIN

# The reference solution, the experiments built on it, and the instructor's files.
FORBIDDEN = re.compile(r"dropout_reference|dropout_checks|dropout_collect|course_experiments|vnd\.dropout-course|"
                       r"gradebook\.db|results\.db|\.grading_secret|[\\/]source[\\/]|solutions[\\/]")

# Names whose only use in a dropout exercise would be to reach into the grader: rewriting
# modules or built-ins, silencing IPython's error reports, or evaluating hidden strings.
TAMPERING_NAMES = frozenset({  # as bare names
    "__builtins__", "builtins", "get_ipython", "setattr", "delattr", "__import__", "importlib", "exec",
    "eval", "compile", "globals", "ctypes", "gc", "vars", "pkgutil",
})
TAMPERING_ATTRIBUTES = frozenset({  # as attributes of anything (`model.eval()` is fine: not listed)
    "__builtins__", "get_ipython", "showtraceback", "excepthook", "__dict__", "__globals__", "__code__",
    "__subclasses__", "_getframe", "currentframe",
})
TAMPERING_MODULES = frozenset({"builtins", "ctypes", "gc", "importlib", "inspect", "signal", "pkgutil"})
# `class AssertionError(...)` would change what the tests' own `except` clauses catch.
BUILTIN_EXCEPTIONS = frozenset(name for name, value in vars(builtins).items()
                               if isinstance(value, type) and issubclass(value, BaseException))
# Calls that end the grading kernel itself.
KERNEL_KILLERS = frozenset({"_exit", "kill", "killpg", "abort"})


@dataclass
class Screened:
    notebook: nbformat.NotebookNode | None  # what to run; None when the file is not a readable notebook
    reason: str | None                      # why every function scores 0, when it does
    flags: list[str]                        # for the instructor's review; never affect points


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell.get("metadata"), dict) else None
    return meta if isinstance(meta, dict) else {}


def is_students(cell) -> bool:
    """An answer cell or a code cell the student added; tests and given code are the release's."""
    if GRADER_CELL in cell.get("metadata", {}):
        return False
    meta = cell.get("metadata", {}).get("nbgrader")
    return cell.cell_type == "code" and (meta is None or bool(_meta(cell).get("solution")))


def code_without_comments(source: str) -> str:
    """The code of a cell with comments and strings' insides kept, comments dropped."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type != tokenize.COMMENT]
        return tokenize.untokenize(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError, RecursionError):
        return source


def _bound_by_imports(notebook) -> set[str]:
    """Names the locked cells import (`np`, `checks`, `torch`, ...): the tests rely on them."""
    names = set()
    for cell in notebook.cells:
        if cell.cell_type != "code" or _meta(cell).get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def tampering(source: str, protected: set[str]) -> str | None:
    """What in this code reaches into the grader, in words; None when nothing does."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None  # it fails on its own when run, and costs only what it breaks
    except (RecursionError, MemoryError):
        return "its code is nested too deeply to be read"
    # Attributes of any module, the tests' or one this code imports itself, are off limits.
    modules = protected | {(a.asname or a.name).split(".")[0] for node in ast.walk(tree)
                           if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Name) and node.id in TAMPERING_NAMES:
            return f"it uses {node.id!r} (line {line})"
        if isinstance(node, ast.Attribute) and (node.attr in TAMPERING_ATTRIBUTES
                                                or (node.attr == "modules" and _root_name(node) == "sys")):
            return f"it uses {ast.unparse(node)!r} (line {line})"
        if isinstance(node, ast.Attribute) and node.attr in KERNEL_KILLERS:
            return f"it calls {ast.unparse(node)!r} (line {line}), which would end the grading kernel"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            # Its own name: the set of modules above must survive this loop.
            imported = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in imported:
                if module.split(".")[0] in TAMPERING_MODULES:
                    return f"it imports {module!r} (line {line})"
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and _root_name(target) in modules:
                return f"it changes {ast.unparse(target)} (line {line})"
        if isinstance(node, ast.Module):
            for statement in node.body:
                for name in _top_level_names(statement):
                    if name in protected or name in BUILTIN_EXCEPTIONS:
                        return f"it redefines {name!r} (line {statement.lineno}), which the tests rely on"
    return None


def _top_level_names(statement) -> list[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, ast.Assign):
        return [t.id for t in statement.targets if isinstance(t, ast.Name)]
    if isinstance(statement, (ast.AugAssign, ast.AnnAssign)) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    return []


def _rebuild(submitted, released) -> nbformat.NotebookNode:
    """The released notebook with the student's answers and added cells put back in place.

    Cells carrying a released id are matched by that id: answers keep the student's code,
    everything else (tests, given code, instructions) comes from the release. A second copy of
    an answer cell and any cell the student added stay, after the released cell they followed,
    so the notebook runs in the order the student ran it.
    """
    released_ids = [_meta(c).get("grade_id") for c in released.cells]
    # Released cells without an id (instructions) are recognised by their text.
    released_text = {c.source: i for i, c in enumerate(released.cells) if released_ids[i] is None}
    answer_ids = {_meta(c)["grade_id"] for c in released.cells if _meta(c).get("solution")}
    # Code answers and written (markdown) answers each come back only into a cell of their kind.
    answer_kind = {_meta(c)["grade_id"]: c.cell_type for c in released.cells if _meta(c).get("solution")}
    answers: dict[str, str] = {}
    added: dict[int, list] = {}  # index of the released cell they follow (-1: the top) -> cells
    anchor = -1
    for cell in submitted.cells:
        grade_id = _meta(cell).get("grade_id")
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
    have = {_meta(c).get("grade_id") for c in submitted_or_rebuilt.cells if _meta(c).get("solution")}
    return [_meta(c)["grade_id"] for c in released.cells if _meta(c).get("solution") and _meta(c)["grade_id"] not in have]


def read(path, released: nbformat.NotebookNode) -> Screened:
    """The submission at ``path`` rebuilt on the release, or the reason it cannot be graded."""
    try:
        submitted = nbformat.read(path, as_version=4)
        nbformat.validate(submitted)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the student's problem, not ours
        return Screened(None, f"the submitted file is not a notebook this course can read ({type(err).__name__}: "
                              f"{str(err)[:120]}); export it again from Jupyter as .ipynb", [])
    missing = missing_answers(submitted, released)
    flags = [f"the submission has no answer cell {', '.join(missing)} (its metadata may have been lost): "
             "those cells ran empty, and the student's own cells ran as written"] if missing else []
    return Screened(_rebuild(submitted, released), None, flags)


def _is_test(cell) -> bool:
    """An autograded test cell (graded, not an answer: written answers are graded by a person)."""
    return bool(_meta(cell).get("grade")) and not _meta(cell).get("solution")


def with_hidden_tests(rebuilt: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy whose test cells are as the instructor wrote them (hidden collectors included)."""
    tests = {_meta(c).get("grade_id"): c.source for c in source.cells if _is_test(c)}
    runnable = nbformat.from_dict(copy.deepcopy(dict(rebuilt)))
    for cell in runnable.cells:
        grade_id = _meta(cell).get("grade_id")
        if _is_test(cell) and grade_id in tests:
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
    did: feedback shows a student only those cells' outputs (see :mod:`autograder.notebook_view`)."""
    clean = first_hidden_cell(notebook)  # the grader's cells all come at or after it
    notebook.cells = [c for c in notebook.cells if GRADER_CELL not in c.get("metadata", {})]
    notebook.metadata[GRADER_KEY] = {CLEAN_CELLS: clean}
    return notebook


def flags(rebuilt: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[str]:
    """What in the student's cells deserves a human look (comments are not code)."""
    protected = _bound_by_imports(source)
    found = []
    for number, cell in enumerate(rebuilt.cells, 1):
        if not is_students(cell):
            continue
        code = code_without_comments(cell.source)
        match = FORBIDDEN.search(code)
        if match:
            found.append(f"cell {number} names {match.group(0)!r}, which only the grader uses "
                         "(the reference, the checks, the collectors' data, the sources or a gradebook)")
        tampered = tampering(code, protected)
        if tampered:
            found.append(f"cell {number}: {tampered}")
    return found
