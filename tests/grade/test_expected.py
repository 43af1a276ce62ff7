"""The expected grading time per submission, read from the gradebook's rows (which are dicts)."""
from autograder.course.gradebook import GradeRow
from autograder.grade.expected import OTHER_SECONDS, TYPICAL_SECONDS, estimator


class _Book:
    def __init__(self, rows):
        self._rows = rows

    def rows(self, overrides: bool = True):
        return self._rows


def _row(assignment: str, seconds) -> GradeRow:
    return GradeRow(student="s", assignment=assignment, sha256="x", score=0.0, max_score=6.0, functions={},
                    flags=[], written={}, seconds=seconds)


def test_the_last_run_s_median_wins_and_unknown_assignments_get_the_typical_time():
    cost = estimator(_Book([_row("ch02", 1.0), _row("ch02", 9.0), _row("ch02", 2.0), _row("ch04", None)]))
    assert cost(("ann", "ch02", None)) == 2.0
    assert cost(("ann", "ch04", None)) == TYPICAL_SECONDS["ch04"]  # graded before times were kept
    assert cost(("ann", "ch03", None)) == OTHER_SECONDS
