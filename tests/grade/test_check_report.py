"""`check` for self-learners: after the points, the model answers of the written questions."""
from __future__ import annotations

import pytest

from autograder.course.layout import ASSIGNMENTS
from autograder.grade.check import model_answers, report
from autograder.release.sources import written_points


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if written_points(a)])
def test_the_report_ends_with_each_written_question_and_its_model_answer(assignment):
    written = written_points(assignment)
    answers = model_answers(assignment)
    assert set(answers) == set(written)
    result = {"assignment": assignment, "score": 0, "max_score": 1, "functions": {},
              "written": {q: {"max_points": p, "answer": "My own attempt."} for q, p in written.items()}}
    text = report(result)
    assert "Model answers to the written questions" in text
    for question, (asked, answer) in answers.items():
        assert "**Q" in asked and len(answer.split()) >= 15, question
        first_words = " ".join(answer.split()[:6])
        assert first_words in " ".join(text.split()), question
        assert f"({question}):" in text
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "Model answers" not in report(result, with_answers=False)


def test_the_report_passes_on_what_the_grader_noted():
    result = {"assignment": "ch02", "score": 6, "max_score": 6, "functions": {}, "written": {},
              "flags": ["the file did not follow the notebook format and was repaired before grading: x"]}
    assert "Note: the file did not follow the notebook format and was repaired before grading: x" in report(result)


def test_no_model_answer_for_a_question_left_blank():
    """Try first and look later: a blank answer (or nbgrader's placeholder) gets a nudge, not the model answer."""
    written = written_points("ch02")
    first, *others = sorted(written)
    result = {"assignment": "ch02", "score": 0, "max_score": 6, "functions": {},
              "written": {q: {"max_points": p, "answer": "An answer." if q == first else "YOUR ANSWER HERE"}
                          for q, p in written.items()}}
    text = report(result)
    assert f"({first}):" in text
    for question in others:
        assert f"({question}):" not in text and question in text.split("No model answer yet")[1]
    nothing = dict(result, written={q: {"max_points": p, "answer": ""} for q, p in written.items()})
    assert "Model answers" not in report(nothing) and "No model answer yet" in report(nothing)
