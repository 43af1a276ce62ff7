"""nbgrader's cell metadata, read in one place (``autograder.course.cells``): any JSON a student left in it."""
import nbformat
import pytest

from autograder.course import cells

# As nbgrader writes it into a released notebook (schema 3 records the cell's type too).
TEST = {"grade": True, "solution": False, "locked": True, "points": 3, "grade_id": "t", "schema_version": 3,
        "cell_type": "code"}
WRITTEN = {"grade": True, "solution": True, "locked": False, "points": 2, "grade_id": "q", "schema_version": 3,
           "cell_type": "markdown"}
ANSWER = {"grade": False, "solution": True, "locked": False, "grade_id": "a", "schema_version": 3, "cell_type": "code"}


def cell(meta):
    return nbformat.v4.new_code_cell("pass", metadata={"nbgrader": meta})


@pytest.mark.parametrize("wrap", [cell, lambda meta: meta], ids=["cell", "metadata"])
def test_a_cell_and_its_metadata_read_the_same(wrap):
    assert cells.is_test(wrap(TEST)) and not cells.is_written(wrap(TEST)) and cells.points(wrap(TEST)) == 3.0
    assert cells.is_written(wrap(WRITTEN)) and not cells.is_test(wrap(WRITTEN)) and cells.points(wrap(WRITTEN)) == 2.0
    assert cells.is_solution(wrap(ANSWER)) and not cells.is_grade(wrap(ANSWER)) and cells.points(wrap(ANSWER)) == 0.0
    assert cells.is_locked(wrap(TEST)) and cells.grade_id(wrap(TEST)) == "t"


@pytest.mark.parametrize("metadata", [None, [], "x", {"nbgrader": None}, {"nbgrader": []}, {"nbgrader": "grade"}])
def test_malformed_metadata_reads_as_none(metadata):
    broken = {"cell_type": "code", "source": "", "metadata": metadata}
    assert cells.nbgrader_meta(broken) == {} and not cells.is_grade(broken) and cells.grade_id(broken) is None


def test_points_that_are_not_a_number_are_zero():
    assert cells.points({**TEST, "points": "three"}) == 0.0 and cells.points({**TEST, "points": None}) == 0.0
