"""Grade one notebook on this machine, as the instructor's grader would: for self-learners.

Releases the notebook's assignment into a throwaway course, grades the notebook in the
sandbox with the hidden tests, and says per function what it earned and why.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from autograder.collect import assignments_graded_in, assignments_named
from autograder.grade.pipeline import grade_submission
from autograder.course.layout import ASSIGNMENTS
from autograder.release.notebooks import release


class CheckError(ValueError):
    pass


def assignment_of(notebook: Path, assignment: str | None = None) -> str:
    """The assignment to grade ``notebook`` as: given, else from its graded cells, else from its name."""
    if assignment is not None:
        if assignment not in ASSIGNMENTS:
            raise CheckError(f"unknown assignment {assignment!r}; choose one of {', '.join(ASSIGNMENTS)}")
        return assignment
    for found in (assignments_graded_in(notebook), assignments_named(notebook.name)):
        if len(found) == 1:
            return found.pop()
    raise CheckError(f"cannot tell which exercise {notebook.name} is: pass --assignment chNN "
                     f"(one of {', '.join(ASSIGNMENTS)})")


def check(notebook: Path, assignment: str | None = None, isolate: bool = True, cell_timeout: int = 60) -> dict:
    """The grader's result for one notebook (see :func:`autograder.grade.pipeline.grade_submission`)."""
    notebook = notebook.resolve()
    if not notebook.is_file():
        raise CheckError(f"{notebook} is not a file: pass the path of your exercise notebook")
    name = assignment_of(notebook, assignment)
    with tempfile.TemporaryDirectory(prefix="dropout-check-") as tmp:
        course = Path(tmp) / "course"
        release(course, (name,))
        return grade_submission(course, "you", name, notebook, cell_timeout=cell_timeout, isolate=isolate)


def report(result: dict) -> str:
    """The result in words, one line per function and written answer."""
    lines = [f"{result['assignment']}: {result['score']:g} / {result['max_score']:g} points from the automatic tests"]
    width = max([len(f) for f in result["functions"]] + [len(q) for q in result.get("written", {})] + [8])
    for function, info in result["functions"].items():
        mark = "ok  " if info["points"] >= info["max_points"] else "LOST"
        lines.append(f"  {mark} {function:<{width}} {info['points']:g}/{info['max_points']:g}"
                     + (f"  {info['reason']}" if info["reason"] else ""))
    for question, info in result.get("written", {}).items():
        lines.append(f"  ...  {question:<{width}} ?/{info['max_points']:g}  written answer: graded by a person")
    if all(i["points"] == 0 and "not implemented" in i["reason"] for i in result["functions"].values()):
        lines.append("Every function is still a stub: fill in the cells marked # YOUR CODE HERE.")
    return "\n".join(lines)
