"""Grade one notebook on this machine, as the instructor's grader would: for self-learners.

Releases the notebook's assignment into a throwaway course, grades the notebook in the
sandbox with the hidden tests, and says per function what it earned and why. Written answers
are graded by a person, so a self-learner gets the model answers to compare with their own.
"""
from __future__ import annotations

import re
import tempfile
import textwrap
from pathlib import Path

from autograder.collect import assignments_graded_in, assignments_named
from autograder.grade.pipeline import grade_submission
from autograder.course.cells import grade_id, is_written
from autograder.course.layout import ASSIGNMENTS, SOURCES
from autograder.manual.written import unanswered
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


_SOLUTION = re.compile(r"^### BEGIN SOLUTION\n(.*?)^### END SOLUTION", re.MULTILINE | re.DOTALL)
_QUESTION = re.compile(r"\*\*(Q\d+)\.\*\*\s*(.*)", re.DOTALL)


def model_answers(assignment: str) -> dict[str, tuple[str, str]]:
    """Written question id -> (the question as the notebook asks it, the model answer), from the exercise source."""
    from autograder.release.sources import source_notebook

    cells = source_notebook(SOURCES / f"{assignment}.md", written_answers=True).cells
    answers = {}
    for index, cell in enumerate(cells):
        if not is_written(cell):
            continue
        answer = _SOLUTION.search(cell.source)
        asked = next((c.source.strip() for c in reversed(cells[:index]) if c.cell_type == "markdown"
                      and not is_written(c) and c.source.strip()), "")
        answers[grade_id(cell)] = (asked, answer.group(1).strip() if answer else "")
    return answers


def answers_text(assignment: str, asked: list[str]) -> str:
    """The model answers of the questions ``asked`` (the written answers of the result), for reading after grading."""
    known = model_answers(assignment)
    lines = ["", "Model answers to the written questions (a person grades yours; compare after you have answered):"]
    for question in asked:
        text, answer = known.get(question, ("", ""))
        found = _QUESTION.search(text)
        label, text = (f"{found.group(1)} ({question})", found.group(2)) if found else (question, text)
        lines.append("")
        lines += textwrap.wrap(f"{label}: {' '.join(text.split())}", 96)
        lines += textwrap.wrap(" ".join(answer.split()) or "(no model answer in the source)", 96,
                               initial_indent="  ", subsequent_indent="  ")
    return "\n".join(lines)


def report(result: dict, with_answers: bool = True) -> str:
    """The result in words, one line per function and written answer, then the model answers."""
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
    for flag in result.get("flags", []):  # e.g. a notebook repaired before grading
        lines.append(f"Note: {flag}")
    written = result.get("written", {})
    answered = [q for q, info in written.items() if not unanswered(info.get("answer"))]
    if with_answers and answered:
        lines.append(answers_text(result["assignment"], answered))
    if with_answers and len(answered) < len(written):  # try first, then compare: no model answer for a blank
        left = ", ".join(q for q in written if q not in answered)
        lines.append(f"\nNo model answer yet for what you left blank, {left}: write your answer, then check again.")
    return "\n".join(lines)
