"""Read a submission, refuse what must not run, and rebuild it on the released notebook.

Rebuilding is what makes edited, deleted, duplicated or re-tagged test cells harmless: the
notebook that gets graded is the released one, cell for cell, with only the student's answer
cells (and any cells they added) taken from the submission.
"""
from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass

import nbformat

# The reference solution, the experiments built on it, and the instructor's files.
FORBIDDEN = re.compile(r"dropout_reference|course_experiments|gradebook\.db|results\.db|[\\/]source[\\/]|solutions[\\/]")

# Names whose only use in a dropout exercise would be to reach into the grader: rewriting
# modules or built-ins, silencing IPython's error reports, or evaluating hidden strings.
TAMPERING_NAMES = frozenset({  # as bare names
    "__builtins__", "builtins", "get_ipython", "setattr", "delattr", "__import__", "importlib", "exec",
    "eval", "compile", "globals", "ctypes", "gc",
})
TAMPERING_ATTRIBUTES = frozenset({  # as attributes of anything (`model.eval()` is fine: not listed)
    "__builtins__", "get_ipython", "showtraceback", "excepthook", "__dict__", "__globals__", "__code__",
    "__subclasses__", "_getframe", "currentframe",
})
TAMPERING_MODULES = frozenset({"builtins", "ctypes", "gc", "importlib", "IPython", "inspect", "signal"})
# `class AssertionError(...)` would change what the tests' own `except` clauses catch.
BUILTIN_EXCEPTIONS = frozenset(name for name, value in vars(builtins).items()
                               if isinstance(value, type) and issubclass(value, BaseException))
# Calls that end the grading kernel itself.
KERNEL_KILLERS = frozenset({"_exit", "kill", "killpg", "abort"})


@dataclass
class Screened:
    notebook: nbformat.NotebookNode | None  # what to grade; None when nothing should run
    reason: str | None                      # why every function scores 0, when it does


def is_students(cell) -> bool:
    """An answer cell or a code cell the student added; tests and given code are the release's."""
    meta = cell.metadata.get("nbgrader")
    return cell.cell_type == "code" and (meta is None or bool(meta.get("solution")))


def _bound_by_imports(notebook) -> set[str]:
    """Names the locked cells import (`np`, `checks`, `torch`, ...): the tests rely on them."""
    names = set()
    for cell in notebook.cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
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
    except SyntaxError:
        return None  # it fails on its own when run, and costs only what it breaks
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
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
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
    released_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in released.cells]
    # Released cells without an id (instructions) are recognised by their text.
    released_text = {c.source: i for i, c in enumerate(released.cells) if released_ids[i] is None}
    answer_ids = {c.metadata["nbgrader"]["grade_id"] for c in released.cells
                  if c.metadata.get("nbgrader", {}).get("solution")}
    answers: dict[str, str] = {}
    added: dict[int, list] = {}  # index of the released cell they follow (-1: the top) -> cells
    anchor = -1
    for cell in submitted.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is None and cell.source in released_text:
            anchor = released_text[cell.source]
            continue
        if grade_id is not None and grade_id in released_ids and grade_id not in answers:
            anchor = released_ids.index(grade_id)
            if grade_id in answer_ids and cell.cell_type == "code":
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
        if grade_id in answers:
            cell.source = answers[grade_id]
        rebuilt.cells.append(cell)
        rebuilt.cells.extend(added.get(index, []))
    return rebuilt


def screen(path, released: nbformat.NotebookNode, source: nbformat.NotebookNode) -> Screened:
    """Decide what of the submission at ``path`` gets graded (see the module docstring)."""
    try:
        submitted = nbformat.read(path, as_version=4)
        nbformat.validate(submitted)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the student's problem, not ours
        return Screened(None, f"the submitted file is not a notebook this course can read ({type(err).__name__}: "
                              f"{str(err)[:120]}); export it again from Jupyter as .ipynb")
    rebuilt = _rebuild(submitted, released)
    protected = _bound_by_imports(source)
    for cell in filter(is_students, rebuilt.cells):
        match = FORBIDDEN.search(cell.source)
        if match:
            return Screened(None, f"an answer cell uses {match.group(0)!r}: submissions may not import the reference "
                                  "solution or read the hidden tests or the gradebook, so this exercise scores 0")
        found = tampering(cell.source, protected)
        if found:
            return Screened(None, f"an answer cell tampers with the grading: {found}. Submissions may not change "
                                  "numpy, torch, the test helpers, Python's built-ins or the kernel, so this "
                                  "exercise scores 0")
    return Screened(rebuilt, None)


def reached_for_instructor_files(graded: nbformat.NotebookNode, hidden: list[str]) -> str | None:
    """After the run: did a student cell fail while reaching for the course's hidden files?

    The sandbox makes such a read fail; this turns the failure into the same verdict that a
    visible attempt gets from :func:`screen`, however the path was spelled.
    """
    for cell in filter(is_students, graded.cells):
        for output in cell.get("outputs", []):
            text = output.get("evalue", "") if output.get("output_type") == "error" else ""
            if text and (FORBIDDEN.search(text) or any(path in text for path in hidden)):
                return (f"an answer cell tried to reach the instructor's files ({output.get('ename')}: {text[:200]}); "
                        "the grading sandbox hides them, and this exercise scores 0")
    return None
