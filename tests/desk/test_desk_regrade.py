"""Regrade from the desk, for real: one sample student graded, the row spoiled by hand, the desk's button
grades the notebook again through the pipeline (in a scheduler worker) and the gradebook has the true score."""
from __future__ import annotations

import shutil

import pytest

from autograder.collect import collect
from autograder.course.gradebook import Gradebook, default_url
from autograder.course.layout import SAMPLE_CLASS
from autograder.grade.pipeline import grade_all
from autograder.release.notebooks import release
from desk_course import running
from test_desk_http import client, status, xsrf_of


@pytest.fixture
def graded(tmp_path):
    course = tmp_path / "course"
    release(course, ("ch02",))
    lms = tmp_path / "lms"
    shutil.copytree(SAMPLE_CLASS / "carol", lms / "carol")
    collect(lms, course, assignment="ch02")
    book = Gradebook(default_url(course))
    grade_all(course, book, jobs=1, cell_timeout=30, isolate=False)
    return course, book


def test_the_regrade_button_grades_the_notebook_again(graded):
    course, book = graded
    [true] = book.rows()
    spoiled = {**true, "score": 0.0, "functions": {f: {**i, "points": 0.0, "reason": "spoiled by the test"}
                                                   for f, i in true["functions"].items()}}
    book.record(spoiled)
    with running(course, book) as base:
        opener = client(base)
        _, page, _ = status(opener, base + "/a/ch02/s/carol")
        assert "spoiled by the test" in page
        assert "cell test" in page or "class='cell" in page, "the graded notebook is shown"
        code, page, _ = status(opener, base + "/a/ch02/s/carol/regrade", {"_xsrf": xsrf_of(page)})
    assert code == 200 and "graded again" in page, page[-2000:]
    [again] = book.rows()
    assert again["score"] == true["score"] and again["functions"].keys() == true["functions"].keys()
    assert all(i["reason"] != "spoiled by the test" for i in again["functions"].values())
