"""What a graded notebook may show, as safe HTML.

The student sees their own cells, the given cells, each test cell with its visible code only,
and the outputs of the cells that ran before any hidden test code did. Once hidden code has run,
everything in the kernel is within the student's reach: IPython's input history, stack frames,
bytecode, patched modules. A student's code can re-encode any of it (reversed, base64, as a
picture) into any later output, so no output from then on is shown, not even a test's; only
whether such a cell raised one of Python's built-in exceptions. Hidden test code and all outputs
are for the instructor's view (``show_hidden``). The data hidden tests hand to the trusted
checker is shown to no one: it holds the grader's inputs, and a student could also forge it.

The notebook is read as plain JSON and every field is checked before use: a submission controls
its own cells' metadata and outputs, and a malformed one must not stop the other students' pages.
"""
from __future__ import annotations

import builtins
import json
from pathlib import Path

from autograder.feedback.safe_html import data_image, escape, markdown, note, pre
from autograder.course.cells import nbgrader_meta as _nbgrader

COLLECTED_MIME = "application/vnd.dropout-course.collected+json"
_GRADER_MIME_PREFIX = "application/vnd.dropout-course."  # any of the course's own MIME types is grader data
HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"  # as in nbgrader_config.py
IMAGE_LIMIT = 1_000_000  # base64 characters of one image (a plot is ~50 kB)
PAGE_BUDGET = 4_000_000  # characters of HTML per notebook page; a flood of output stops here
GRADER_KEY = "dropout_grader"  # the graded notebook's metadata the grader writes (the kernel cannot)
CLEAN_CELLS = "cells_before_hidden_code"  # how many leading cells ran before any hidden test code
# Names a cell's error may be given by once hidden code has run: a fixed list cannot carry test code.
BUILTIN_ERRORS = frozenset(name for name, value in vars(builtins).items()
                           if isinstance(value, type) and issubclass(value, BaseException))


def load(path: Path) -> dict | None:
    """The notebook as JSON, or None if it cannot be read as a notebook."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return None
    return nb if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else None


def _text(value) -> str:
    """Notebook text fields are a string or a list of strings; anything else counts as empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def cell_kind(cell: dict) -> str:
    """markdown, raw, student (an answer cell or one the student added), test, or given."""
    if cell.get("cell_type") in ("markdown", "raw"):
        return cell["cell_type"]
    info = _nbgrader(cell)
    if not info or info.get("solution"):
        return "student"
    return "test" if info.get("grade") else "given"


def strip_hidden(source: str) -> str:
    """The source without its hidden-test blocks (an unterminated block runs to the end)."""
    kept, hiding = [], False
    for line in source.splitlines(keepends=True):
        if HIDDEN_BEGIN in line:
            hiding = True
        elif HIDDEN_END in line and hiding:
            hiding = False
        elif not hiding:
            kept.append(line)
    return "".join(kept).rstrip("\n")


def visible_tests(released: dict | None) -> dict[str, str]:
    """grade_id -> the test code students were given, from the released notebook."""
    cells = released["cells"] if released else []
    # The release has no hidden blocks already; stripping again costs nothing should it ever have one.
    return {str(_nbgrader(c).get("grade_id")): strip_hidden(_text(c.get("source")))
            for c in cells if isinstance(c, dict) and cell_kind(c) == "test"}


def _is_grader_data(data: dict) -> bool:
    return any(str(mime).startswith(_GRADER_MIME_PREFIX) for mime in data)


def _image(mime: str, value) -> str:
    encoded = _text(value)
    if len(encoded) > IMAGE_LIMIT:
        return note(f"[{mime} image of {len(encoded):,} characters not shown: too large]")
    return data_image(mime, encoded) or note(f"[{mime} image not shown: not valid base64]")


def _scrubbed(text: str) -> str:
    """Text a student's code printed, with any hidden-test block it got hold of (IPython's
    history holds the cells as run) cut out."""
    if HIDDEN_BEGIN not in text:
        return text
    return strip_hidden(text) + "\n[hidden test code removed by the grader]"


def render_output(output: dict, brief_errors: bool) -> str | None:
    """One output as safe HTML, or None for outputs nobody should see.

    Only plain text and PNG/JPEG images are shown; HTML, JavaScript, SVG, LaTeX and widget
    outputs could run code or load resources, so the page names their types instead.
    """
    kind = output.get("output_type")
    if kind == "stream":
        return pre(_scrubbed(_text(output.get("text"))), "stderr" if output.get("name") == "stderr" else "stream")
    if kind == "error":
        headline = _scrubbed(f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}")
        if brief_errors:  # a test's traceback quotes the test and checker code around the failure
            return pre(headline, "error")
        frames = output.get("traceback")
        return pre(_scrubbed("\n".join(_text(f) for f in frames)) if isinstance(frames, list) and frames else headline,
                   "error")
    if kind not in ("execute_result", "display_data", "update_display_data"):
        return None
    data = output.get("data")
    if not isinstance(data, dict) or not data or _is_grader_data(data):
        return None
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            return _image(mime, data[mime])
    if "text/plain" in data:
        return pre(_scrubbed(_text(data["text/plain"])))
    return note(f"[output of type {', '.join(sorted(data))[:200]} not shown]")


def cells_before_hidden_code(nb: dict) -> int:
    """How many leading cells of a graded notebook ran before any hidden test code (0 when not recorded:
    a notebook graded before this was recorded shows no output)."""
    meta = nb.get("metadata")
    info = meta.get(GRADER_KEY) if isinstance(meta, dict) else None
    count = info.get(CLEAN_CELLS) if isinstance(info, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else 0


_WITHHELD = note("[outputs from here on are not shown: the grader's hidden tests ran from this cell on, and "
                 "code in the notebook could have copied them into any output. The points and reasons above "
                 "say what failed; run your notebook yourself to see what it prints]")


def withheld_output(outputs) -> str | None:
    """What a page says of a cell's outputs after hidden code ran: only that there were some, and the
    name of a built-in exception it raised (a student's own exception class could be named anything)."""
    outputs = [o for o in outputs if isinstance(o, dict)] if isinstance(outputs, list) else []
    if not outputs:
        return None
    errors = [_text(o.get("ename")) for o in outputs if o.get("output_type") == "error"]
    if not errors:
        return note("[output not shown]")
    raised = errors[0] if errors[0] in BUILTIN_ERRORS else "an exception of its own class"
    return note(f"[this cell raised {raised}; its output is not shown]")


def _label(kind: str, grade_id: str, functions: dict) -> str:
    if kind == "student":
        return "<p class='label'>your code</p>"
    if kind != "test":
        return ""
    info = functions.get(grade_id)
    if not isinstance(info, dict):
        return f"<p class='label'>test <code>{escape(grade_id)}</code></p>"
    return (f"<p class='label'>test <code>{escape(grade_id)}</code>: "
            f"{escape(points(info.get('points')))} / {escape(points(info.get('max_points')))} points</p>")


def points(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _source(cell: dict, kind: str, grade_id: str, tests: dict[str, str], show_hidden: bool) -> str:
    source = _text(cell.get("source"))
    if show_hidden or kind == "student":
        return source
    if kind == "test" and grade_id in tests:
        return tests[grade_id]
    return strip_hidden(source)  # a test the release does not know, or a given cell: never the hidden block


class _Budget:
    """Characters of HTML a notebook page may still take; a flood of cells or output stops there."""

    def __init__(self, limit: int = PAGE_BUDGET):
        self.left = limit

    def take(self, html: str) -> bool:
        self.left -= len(html)
        return self.left >= 0


_OVER_BUDGET = note("[the rest of this notebook is not shown: it is too large for one page]")


def render_cell(cell: dict, tests: dict[str, str], functions: dict, show_hidden: bool, budget: _Budget,
                outputs_shown: bool = True) -> list[str]:
    """The cell's HTML pieces; stops early (ending with _OVER_BUDGET) when the budget runs out.

    ``outputs_shown=False`` (the cell ran after hidden code did): its outputs are withheld."""
    kind = cell_kind(cell)
    if kind == "markdown":
        pieces = [f"<div class='cell markdown'>{markdown(_text(cell.get('source')))}</div>"]
        return pieces if budget.take(pieces[0]) else [_OVER_BUDGET]
    grade_id = str(_nbgrader(cell).get("grade_id", ""))
    head = f"<div class='cell {kind}'>{_label(kind, grade_id, functions)}"
    pieces = [head + pre(_source(cell, kind, grade_id, tests, show_hidden), "source")]
    if not budget.take(pieces[0]):
        return [_OVER_BUDGET]
    outputs = cell.get("outputs") if kind != "raw" else None
    if not outputs_shown:
        said = withheld_output(outputs)
        return pieces + [said, "</div>"] if said else pieces + ["</div>"]
    brief_errors = kind == "test" and not show_hidden
    for output in outputs if isinstance(outputs, list) else []:
        shown = render_output(output, brief_errors) if isinstance(output, dict) else None
        if not shown:
            continue
        if not budget.take(shown):
            return pieces + ["</div>", _OVER_BUDGET]
        pieces.append(shown)
    return pieces + ["</div>"]


def render_notebook(nb: dict, released: dict | None, functions: dict, show_hidden: bool = False) -> str:
    """The cells of a graded notebook as safe HTML, within PAGE_BUDGET characters.

    For a student, outputs are shown only for the cells that ran before hidden test code did."""
    tests, budget, parts = visible_tests(released), _Budget(), []
    clean = len(nb["cells"]) if show_hidden else cells_before_hidden_code(nb)
    for index, cell in enumerate(nb["cells"]):
        if index == clean:
            parts.append(_WITHHELD)
        if isinstance(cell, dict):
            parts.extend(render_cell(cell, tests, functions, show_hidden, budget, outputs_shown=index < clean))
        if parts and parts[-1] is _OVER_BUDGET:
            break
    return "\n".join(parts)
