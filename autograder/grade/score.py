"""Pure verdict functions: from an executed notebook to points and reasons, no I/O.

The points of a graded cell come only from :func:`dropout_checks.judge` on the data its hidden
collector emitted; what the kernel printed, raised or displayed otherwise never earns a point.
When no data came, the cell's outputs and the answer cell above it explain why in words.

A reason may quote text the student's code chose (an exception's class name and message, what a
function returned). That text is produced after hidden test code ran, so it could carry that code;
a lost point therefore gets a second reason for the student's own page, ``student_reason``, which
quotes none of it (see :func:`without_chosen_text`).
"""
from __future__ import annotations

import ast
import functools
from datetime import datetime
from pathlib import Path

import nbformat

from dropout_collect.wire import ALLOWED_DTYPES, MIME, VERSION
from dropout_kit.text import shortened, with_note

from autograder.feedback.notebook_view import BUILTIN_ERRORS
from autograder.course.cells import is_test, is_written, nbgrader_meta, points

CHOSEN = "…"  # stands for text the student's code chose, in reasons for the student


def points_of(released: nbformat.NotebookNode) -> dict[str, float]:
    """Points per autograded cell, as the released notebook being graded states them."""
    return {m["grade_id"]: points(m) for m in map(nbgrader_meta, released.cells)
            if m.get("grade") and not is_written(m)}


def written_points_of(released: nbformat.NotebookNode) -> dict[str, float]:
    """Points per written answer, which wait for a person."""
    return {m["grade_id"]: points(m) for m in map(nbgrader_meta, released.cells) if is_written(m)}


def written_answers(notebook: nbformat.NotebookNode, released: nbformat.NotebookNode) -> dict:
    """Each written answer of the (rebuilt) submission, pending manual grading."""
    text = {nbgrader_meta(c).get("grade_id"): c.get("source", "") for c in notebook.cells}
    return {grade_id: {"points": None, "max_points": maximum, "status": "pending", "answer": text.get(grade_id, "")}
            for grade_id, maximum in written_points_of(released).items()}


def collected(cell) -> dict | None:
    """The data the cell's hidden collector emitted (the last such output), or None."""
    found = None
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
        if MIME in data:
            found = data[MIME]
    return found


def without_collected(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with the collected data removed (kept for feedback, which must not show it)."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if MIME not in o.get("data", {})]
    return notebook


def _seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                      for k in ("iopub.status.busy", "iopub.status.idle"))
    except (KeyError, ValueError, AttributeError):
        return 0.0
    return (end - start).total_seconds()


def _first_error(cell, for_student: bool = False) -> tuple[str, str] | None:
    """(class name, message) of the cell's first error; for the student, no message and only a built-in name."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            name, message = str(output.get("ename", "Error")), str(output.get("evalue", ""))
            if for_student:
                return (name if name in BUILTIN_ERRORS else "an exception of its own class"), CHOSEN
            return name, message
    return None


def answer_error(cells: list, test_index: int, cell_timeout: int, for_student: bool = False) -> str | None:
    """The error of the answer cell just above a test, when it raised one."""
    for cell in reversed(cells[:test_index]):
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            return None  # reached the previous test without meeting an answer cell
        if meta.get("solution"):
            error = _first_error(cell, for_student)
            if error is None or error[0] == "NotImplementedError":
                return None
            if error[0] == "KeyboardInterrupt" and _seconds(cell) >= cell_timeout - 1:
                return f"the answer cell did not finish within {cell_timeout} s and was interrupted"
            return shortened(f"the answer cell raised {error[0]}: {error[1]}", 400)
    return None


def missing_data_reason(cells: list, index: int, cell_timeout: int, problem: str | None,
                        for_student: bool = False) -> str:
    """Why a graded cell produced no data, in words (``for_student``: without text the kernel chose)."""
    cell = cells[index]
    error = _first_error(cell, for_student)
    if for_student and problem:
        problem = problem.split("; the kernel said:")[0]  # the kernel's own last words (see executor._tail)
    if error is None:
        if cell.get("execution_count") is None and not cell.get("outputs"):
            return f"the test did not run: {problem}" if problem else "the test did not run"
        reason = "the hidden test produced no data"
    elif error[0] == "NotImplementedError":
        reason = "not implemented yet (the stub still raises NotImplementedError)"
    elif error[0] == "NameError":
        name = "a name the test uses is not defined" if for_student else error[1]
        reason = f"{name}: the answer cell did not define it (did it raise, or was it renamed?)"
    elif error[0] in ("KeyboardInterrupt", "CellTimeoutError"):
        reason = f"the test did not finish within {cell_timeout} s"
    else:
        reason = f"the test stopped with {error[0]}: {shortened(error[1], 300)}"
    cause = answer_error(cells, index, cell_timeout, for_student)
    return f"{reason} ({cause})" if cause else reason


@functools.cache
def checks_vocabulary() -> frozenset[str]:
    """The short string constants of the trusted checks and the collectors ("mask", "scale", "value"):
    the only texts a check can look for in collected data, so keeping them keeps the verdict, and they
    are the grader's own words."""
    import dropout_checks
    import dropout_collect

    words = set()
    modules = [*Path(dropout_checks.__file__).parent.glob("*.py"), *Path(dropout_collect.__file__).parent.glob("*.py")]
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) <= 40:
                words.add(node.value)
    return frozenset(words)


def without_chosen_text(payload, grade_id: str):
    """The collected payload with every text the kernel chose replaced by CHOSEN: strings and keys (but
    for the grader's own words), class names, exception messages, labels, unknown tags and dtypes.
    Numbers, arrays and the payload's shape stay, so judging it gives the verdict on the same numbers,
    in words that quote nothing the student's code wrote."""
    if not isinstance(payload, dict):
        return _unchosen(payload)
    return {"version": payload.get("version") if payload.get("version") == VERSION else CHOSEN,
            "grade_id": grade_id if payload.get("grade_id") == grade_id else CHOSEN,
            "records": _unchosen(payload.get("records"))}


MAX_DEPTH = 64  # deeper than any collector nests its data (the decoder refuses it anyway)


def _unchosen(value, depth: int = 0):
    if isinstance(value, str):
        return value if value in checks_vocabulary() else CHOSEN
    if depth > MAX_DEPTH:
        return CHOSEN
    if isinstance(value, list):
        return [_unchosen(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value  # numbers, booleans, None
    if len(value) == 1 and str(next(iter(value))).startswith("__"):
        return _unchosen_tagged(*next(iter(value.items())), depth)
    return {_unchosen(str(key)): _unchosen(v, depth + 1) for key, v in value.items()}  # "value", "error", ...


MAX_QUOTED_DIMS, MAX_QUOTED_DIM = 4, 4096  # an array shape larger than any exercise's inputs is not quoted


def _plausible_shape(shape) -> bool:
    return (isinstance(shape, list) and len(shape) <= MAX_QUOTED_DIMS
            and all(type(n) is int and 0 <= n <= MAX_QUOTED_DIM for n in shape))


def _known(text, names) -> bool:
    return isinstance(text, str) and text in names  # a forged list or dict is no name (and unhashable)


def _unchosen_tagged(tag: str, body, depth: int):
    if tag == "__error__" and isinstance(body, dict):
        name = body.get("type")
        return {tag: {"type": name if _known(name, BUILTIN_ERRORS) else "Exception", "message": CHOSEN}}
    if tag == "__array__" and isinstance(body, dict):
        if not _plausible_shape(body.get("shape")):
            return CHOSEN  # a shape can spell anything ((104, 105, ...) or a 0-size (10**9, ...)): not quoted
        dtype = body.get("dtype")
        return {tag: {**body, "dtype": dtype if _known(dtype, ALLOWED_DTYPES) else CHOSEN}}
    if tag == "__int__":
        return {tag: body if isinstance(body, str) and body.lstrip("-").isdigit() else "0"}
    if tag == "__float__":
        return {tag: body if body in ("nan", "inf", "-inf") else "nan"}
    if tag in ("__tuple__", "__dict__"):
        return {tag: _unchosen(body, depth + 1)}
    return {"__object__" if tag == "__object__" else "__unknown__": CHOSEN}


def student_reason(assignment: str, grade_id: str, payload, judge, seed: int, cells: list, index: int,
                   cell_timeout: int, problem: str | None) -> str:
    """Why a point was lost, in words that quote no text the student's code chose (for the student's page)."""
    if payload is None:
        return missing_data_reason(cells, index, cell_timeout, problem, for_student=True)
    try:
        reason = judge(assignment, grade_id, without_chosen_text(payload, grade_id), seed).reason
    except Exception:  # noqa: BLE001 - forged data must never stop the grading; the points are decided already
        reason = ""
    return reason or ("a check failed on text your code returned or raised; this page does not quote such text "
                      "(your instructor's copy of the reason does)")


REASON_KEPT = 600  # characters of a reason (a student's exception message can be any length)


def _kept(reason: str) -> str:
    return shortened(reason, REASON_KEPT)


def score(assignment: str, points: dict[str, float], notebook: nbformat.NotebookNode, problem: str | None,
          cell_timeout: int, judge, seed: int = 0) -> dict:
    """Per graded cell: points, maximum and the reason for any lost point.

    ``judge(assignment, grade_id, payload, seed)`` is the trusted checker
    (``dropout_checks.judge``), passed in so that this function stays pure and testable;
    ``seed`` is the run's secret seed, from which the checker regenerates the inputs.
    """
    index = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(notebook.cells)
             if is_test(c)}
    functions = {}
    for grade_id, maximum in points.items():
        if grade_id not in index:
            functions[grade_id] = {"points": 0.0, "max_points": maximum, "reason": "the test cell is missing"}
            continue
        payload = collected(notebook.cells[index[grade_id]])
        verdict = judge(assignment, grade_id, payload, seed)
        if verdict.passed:
            functions[grade_id] = {"points": maximum, "max_points": maximum, "reason": ""}
            continue
        reason = verdict.reason or missing_data_reason(notebook.cells, index[grade_id], cell_timeout, problem)
        shown = student_reason(assignment, grade_id, payload, judge, seed, notebook.cells, index[grade_id],
                               cell_timeout, problem)
        functions[grade_id] = {"points": 0.0, "max_points": maximum, "reason": _kept(reason),
                               "student_reason": _kept(shown)}
    return with_fix_first_notes(assignment, functions)


def with_fix_first_notes(assignment: str, functions: dict) -> dict:
    """One bug can cost two functions (a wrong enable_mc_dropout fails mc_dropout_predict too): a lost
    function that depends on another lost one says which to fix first (``registry.depends_on``)."""
    from dropout_checks import fix_first_notes

    lost = {grade_id for grade_id, info in functions.items() if info["points"] < info["max_points"]}
    for grade_id, note in fix_first_notes(assignment, lost).items():
        info = functions[grade_id]
        if "not implemented" in info["reason"]:
            continue  # a stub has no cause elsewhere
        for key in ("reason", "student_reason"):
            if key in info:
                info[key] = with_note(info[key], note)
    return functions


def zero(points: dict[str, float], reason: str) -> dict:
    return {grade_id: {"points": 0.0, "max_points": maximum, "reason": reason} for grade_id, maximum in points.items()}
