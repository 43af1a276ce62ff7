"""A kernel that never comes up is the grader's problem, not the student's: nothing is recorded for that
submission (an earlier grade stands), `grade` says so and exits 1, and the next run grades it.

The kernels are broken the way a broken set-up breaks them: the kernel spec they start from runs a
command that exits at once (JUPYTER_PATH, with --no-sandbox, where the kernel spec is found by name).
"""
import json
import shutil
import subprocess

import nbformat

from autograder.collect import collect
from autograder.course.gradebook import Gradebook, default_url
from autograder.course.layout import SAMPLE_CLASS, Course, tool_env
from autograder.grade import pipeline
from autograder.grade.execute import Execution
from autograder.release.notebooks import release

HONEST = {"alice": 6.0, "carol": 3.0}


def small_class(tmp_path):
    course = tmp_path / "course"
    release(course, assignments=("ch02",))
    lms = tmp_path / "lms"
    for student in HONEST:
        (lms / student).mkdir(parents=True)
        shutil.copy(SAMPLE_CLASS / student / "exercise.ipynb", lms / student / "ch02_exercise.ipynb")
    collect(lms, course)
    return course


def broken_kernels(tmp_path) -> dict:
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": ["/bin/false", "{connection_file}"],
                                                  "display_name": "broken", "language": "python"}))
    return {**tool_env(), "JUPYTER_PATH": str(tmp_path / "jupyter")}


def grade(course, env):
    return subprocess.run(["dropout-grader", "grade", "--course", str(course), "--jobs", "2", "--no-sandbox"],
                          env=env, capture_output=True, text=True, timeout=600)


def test_no_kernel_no_grade_and_the_next_run_grades(tmp_path):
    course = small_class(tmp_path)
    failed = grade(course, broken_kernels(tmp_path))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "2 submission(s) were NOT graded: the grader could not start a kernel" in failed.stderr
    assert "alice/ch02" in failed.stderr and "carol/ch02" in failed.stderr
    assert Gradebook(default_url(course)).rows() == []  # no zero recorded against anyone
    fixed = grade(course, tool_env())
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "graded 2 submission(s)" in fixed.stdout
    scores = {r["student"]: r["score"] for r in Gradebook(default_url(course)).rows()}
    assert scores == HONEST


def test_a_submission_whose_kernel_never_started_gets_no_result(tmp_path, monkeypatch):
    """In the pipeline itself: the result says `not_graded`, with the problem, and no graded notebook is kept."""
    course = small_class(tmp_path)
    never = Execution(nbformat.v4.new_notebook(), "the notebook could not be run (RuntimeError: no kernel)", 1.0,
                      started=False)
    monkeypatch.setattr(pipeline, "execute", lambda *args, **kwargs: never)
    paths = Course(course)
    result = pipeline.grade_submission(course, "alice", "ch02", paths.submitted_notebook("alice", "ch02"))
    assert result["not_graded"].startswith(pipeline.NOT_GRADED) and "no kernel" in result["not_graded"]
    assert result["score"] == 0 and not paths.graded_notebook("alice", "ch02").exists()
