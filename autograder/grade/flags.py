"""Flag code in a submission worth a human look.

Flags never change a grade: points come from the trusted checker alone. They point the
instructor at code that reaches for the grader's internals, which a correct answer never needs.
"""
from __future__ import annotations

import ast
import builtins
import io
import re
import tokenize

import nbformat

from autograder.course.cells import is_solution
from autograder.grade.rebuild import is_students

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
    # what the grader's wrappers and callers hold (a recorder's list in a closure, a collector's frame)
    "__closure__", "cell_contents", "f_locals", "f_globals", "f_back", "tb_frame", "gi_frame",
})
TAMPERING_MODULES = frozenset({"builtins", "ctypes", "gc", "importlib", "inspect", "signal", "pkgutil"})
# `class AssertionError(...)` would change what the tests' own `except` clauses catch.
BUILTIN_EXCEPTIONS = frozenset(name for name, value in vars(builtins).items()
                               if isinstance(value, type) and issubclass(value, BaseException))
# Calls that end the grading kernel itself.
KERNEL_KILLERS = frozenset({"_exit", "kill", "killpg", "abort"})


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
        if cell.cell_type != "code" or is_solution(cell):
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
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in TAMPERING_ATTRIBUTES):
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
