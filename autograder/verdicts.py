"""Pure verdict functions: from an executed notebook to points and reasons, no I/O.

The points of a graded cell come only from :func:`dropout_checks.judge` on the data its hidden
collector emitted; what the kernel printed, raised or displayed otherwise never earns a point.
When no data came, the cell's outputs and the answer cell above it explain why in words.
"""
from __future__ import annotations

from datetime import datetime

import nbformat

from dropout_collect.wire import MIME


def nbgrader_meta(cell) -> dict:
    """A cell's nbgrader metadata, or {} when it is missing or malformed (a student may edit it)."""
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _points(meta: dict) -> float:
    try:
        return float(meta.get("points", 0))
    except (TypeError, ValueError):
        return 0.0


def is_written(meta: dict) -> bool:
    """A written answer (a cell that is both an answer and graded): a person grades it."""
    return bool(meta.get("grade")) and bool(meta.get("solution"))


def points_of(released: nbformat.NotebookNode) -> dict[str, float]:
    """Points per autograded cell, as the released notebook being graded states them."""
    return {m["grade_id"]: _points(m) for m in map(nbgrader_meta, released.cells)
            if m.get("grade") and not is_written(m)}


def written_points_of(released: nbformat.NotebookNode) -> dict[str, float]:
    """Points per written answer, which wait for a person."""
    return {m["grade_id"]: _points(m) for m in map(nbgrader_meta, released.cells) if is_written(m)}


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


def _first_error(cell) -> tuple[str, str] | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return str(output.get("ename", "Error")), str(output.get("evalue", ""))
    return None


def answer_error(cells: list, test_index: int, cell_timeout: int) -> str | None:
    """The error of the answer cell just above a test, when it raised one."""
    for cell in reversed(cells[:test_index]):
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            return None  # reached the previous test without meeting an answer cell
        if meta.get("solution"):
            error = _first_error(cell)
            if error is None or error[0] == "NotImplementedError":
                return None
            if error[0] == "KeyboardInterrupt" and _seconds(cell) >= cell_timeout - 1:
                return f"the answer cell did not finish within {cell_timeout} s and was interrupted"
            return f"the answer cell raised {error[0]}: {error[1]}"[:400]
    return None


def missing_data_reason(cells: list, index: int, cell_timeout: int, problem: str | None) -> str:
    """Why a graded cell produced no data, in words."""
    cell = cells[index]
    error = _first_error(cell)
    if error is None:
        if cell.get("execution_count") is None and not cell.get("outputs"):
            return f"the test did not run: {problem}" if problem else "the test did not run"
        reason = "the hidden test produced no data"
    elif error[0] == "NotImplementedError":
        reason = "not implemented yet (the stub still raises NotImplementedError)"
    elif error[0] == "NameError":
        reason = f"{error[1]}: the answer cell did not define it (did it raise, or was it renamed?)"
    elif error[0] in ("KeyboardInterrupt", "CellTimeoutError"):
        reason = f"the test did not finish within {cell_timeout} s"
    else:
        reason = f"the test stopped with {error[0]}: {error[1][:300]}"
    cause = answer_error(cells, index, cell_timeout)
    return f"{reason} ({cause})" if cause else reason


REASON_KEPT = 600  # characters of a reason (a student's exception message can be any length)


def score(assignment: str, points: dict[str, float], notebook: nbformat.NotebookNode, problem: str | None,
          cell_timeout: int, judge, seed: int = 0) -> dict:
    """Per graded cell: points, maximum and the reason for any lost point.

    ``judge(assignment, grade_id, payload, seed)`` is the trusted checker
    (``dropout_checks.judge``), passed in so that this function stays pure and testable;
    ``seed`` is the run's secret seed, from which the checker regenerates the inputs.
    """
    index = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(notebook.cells)
             if nbgrader_meta(c).get("grade") and not is_written(nbgrader_meta(c))}
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
        if len(reason) > REASON_KEPT:
            reason = reason[:REASON_KEPT] + " [...]"
        functions[grade_id] = {"points": 0.0, "max_points": maximum, "reason": reason}
    return functions


def zero(points: dict[str, float], reason: str) -> dict:
    return {grade_id: {"points": 0.0, "max_points": maximum, "reason": reason} for grade_id, maximum in points.items()}
