"""Every visible code cell of a lesson can be copied and run (issue 18, item 7).

The build-only statements, MyST-NB ``glue(...)`` calls and the ``assert``s that check a sentence's claim,
live in hidden cells (``:tags: [remove-cell]``), one per section, after the section's last visible
code cell, written one statement per line. A visible cell holds only what a reader would type.

Decided here: an ``assert`` inside a function or class a reader copies (a guard of the code itself) is
code, and allowed in a visible cell; an ``assert`` anywhere else in a visible cell (top level, or in a
loop or ``if`` at top level) is a build-only check and is not. ``from myst_nb import glue`` is needed by
the hidden cells only, so it sits in a hidden cell after the imports. A cell with ``remove-input``
shows its output, so it counts as visible.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lesson_prose import lesson_files

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^(`{3,}|~{3,})")
_HEADING = re.compile(r"^#{1,6} ")


def code_cells(text: str) -> list[dict]:
    """Each ``code-cell`` of a MyST notebook: its first line (1-based), section, hidden flag and code."""
    lines = text.splitlines()
    cells, section, fence, i = [], 0, None, 0
    while i < len(lines):
        line = lines[i]
        opener = _FENCE.match(line)
        if fence is None and _HEADING.match(line):
            section += 1
        elif fence is None and opener:
            fence = opener.group(1)
            if line[len(fence):].startswith("{code-cell}"):
                j = i + 1
                options = []
                while j < len(lines) and lines[j].startswith(":"):
                    options.append(lines[j])
                    j += 1
                start = j
                while not (lines[j].startswith(fence) and lines[j].strip().rstrip("`~") == ""):
                    j += 1
                cells.append({"line": i + 1, "code_line": start + 1, "section": section,
                              "hidden": any("remove-cell" in o for o in options if "tags" in o),
                              "code": "\n".join(lines[start:j])})
                fence = None
                i = j
        elif fence is not None and line.startswith(fence) and line.strip().rstrip("`~") == "":
            fence = None
        i += 1
    return cells


def _is_glue(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "glue"


def build_only_statements(code: str) -> list[tuple[int, str]]:
    """(line, kind) of each glue call anywhere, and of each assert outside a function or class body."""
    found = []

    def visit(node: ast.AST, in_definition: bool) -> None:
        if _is_glue(node):
            found.append((node.lineno, "glue(...)"))
        if isinstance(node, ast.Assert) and not in_definition:
            found.append((node.lineno, "assert"))
        inside = in_definition or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(code), False)
    return sorted(found)


def shared_lines(code: str) -> list[int]:
    """Lines holding more than one statement: ``a; b``, or a compound statement's body on its header line."""
    bad = set()
    for node in ast.walk(ast.parse(code)):
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, field, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], (ast.stmt, ast.excepthandler)):
                continue
            if isinstance(node, ast.stmt) and field == "body" and block[0].lineno == node.lineno:
                bad.add(node.lineno)
            for before, after in zip(block, block[1:]):
                if after.lineno == before.end_lineno:
                    bad.add(after.lineno)
    return sorted(bad)


LESSONS = lesson_files(ROOT)


def glue_imports(code: str) -> list[tuple[int, str]]:
    """(line, kind) of each import of MyST-NB, which only the hidden cells need."""
    return [(node.lineno, "import of myst_nb") for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("myst_nb")
            or isinstance(node, ast.Import) and any(a.name.startswith("myst_nb") for a in node.names)]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.parent.name)
def test_visible_cells_hold_no_glue_call_or_build_only_assert(lesson):
    offenders = [f"  line {cell['code_line'] + line - 1}: {kind}"
                 for cell in code_cells(lesson.read_text()) if not cell["hidden"]
                 for line, kind in build_only_statements(cell["code"]) + glue_imports(cell["code"])]
    assert not offenders, (f"{lesson.relative_to(ROOT)}: move these into the section's trailing hidden cell "
                           "(`:tags: [remove-cell]`):\n" + "\n".join(offenders))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.parent.name)
def test_hidden_cells_trail_their_section_one_statement_per_line(lesson):
    cells = code_cells(lesson.read_text())
    problems = []
    for k, cell in enumerate(cells):
        if not cell["hidden"] or not build_only_statements(cell["code"]):
            continue
        problems += [f"  line {cell['code_line'] + line - 1}: more than one statement on the line"
                     for line in shared_lines(cell["code"])]
        later = [c for c in cells[k + 1:] if c["section"] == cell["section"] and not c["hidden"]]
        if later:
            problems.append(f"  line {cell['line']}: hidden cell is followed by a visible cell (line "
                            f"{later[0]['line']}) in the same section")
    assert not problems, f"{lesson.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_checks_see_what_they_should():
    text = "\n".join([
        "# T", "```{code-cell} ipython3", "def f(x):", "    assert x > 0", "    return x",
        "for k in range(2):", "    assert k < 2", "y = f(1); glue('y', y, display=False)", "```",
        "```{code-cell} ipython3", ":tags: [remove-cell]", "glue('a', 1, display=False)", "```",
        "```{code-cell} ipython3", "z = 1", "```",
        "## S", "```{code-cell} ipython3", ":tags: [remove-cell]", "assert y; glue('b', 2, display=False)",
        "for k in (1,): glue('c', k, display=False)", "```",
    ])
    cells = code_cells(text)
    assert [(c["section"], c["hidden"]) for c in cells] == [(1, False), (1, True), (1, False), (2, True)]
    assert build_only_statements(cells[0]["code"]) == [(5, "assert"), (6, "glue(...)")]
    assert shared_lines(cells[3]["code"]) == [1, 2]
    assert shared_lines(cells[1]["code"]) == []
    assert glue_imports("from myst_nb import glue\nimport myst_nb\nimport numpy") == [
        (1, "import of myst_nb"), (2, "import of myst_nb")]
