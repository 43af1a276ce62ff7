"""Grade one submission again, as `dropout-grader grade` does, and record it.

The pipeline's ``grade_submission`` runs in one of the scheduler's worker processes, under the
same sandbox and memory limits as a class's grading; the result replaces the row, keeping written
marks whose answer is unchanged and overrides whose verdict reads the same (gradebook, overrides).
"""
from __future__ import annotations

import functools
from pathlib import Path

from autograder.course.layout import Course


class RegradeError(Exception):
    """The submission cannot be regraded; the message says why."""


def regrade(course_root: Path, gradebook, student: str, assignment: str, isolate: bool = True,
            timeout: float = 600, cell_timeout: int = 60) -> dict:
    from autograder.grade import pipeline, sandbox, scheduling

    course = Course(Path(course_root).resolve())
    found = {(s, a): notebook for s, a, notebook in course.submissions()}  # never a path built from the request
    notebook = found.get((student, assignment))
    if notebook is None:
        raise RegradeError(f"no submission of {student!r} for {assignment} in {course.root / 'submitted'}")
    if isolate:
        try:
            sandbox.require_bwrap()
        except sandbox.SandboxUnavailable as err:
            raise RegradeError(str(err)) from err
    task = functools.partial(pipeline.grade_submission, timeout=timeout, cell_timeout=cell_timeout, isolate=isolate)
    result = None
    for result in scheduling.run(task, course.root, [(student, assignment, notebook)],
                                 functools.partial(pipeline.lost_submission, course), jobs=1):
        if result.get("not_graded"):  # no kernel came up: the row stays as it was
            raise RegradeError(f"{student}/{assignment} was not regraded: {result['not_graded']}; its grade is unchanged")
        gradebook.record(result)
    if result is None:
        raise RegradeError(f"the grader returned nothing for {student}/{assignment}")
    return result
