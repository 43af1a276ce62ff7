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
              "written": {q: {"max_points": p} for q, p in written.items()}}
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
