"""The grader's pure verdict functions: executed cells in, points and reasons out (milliseconds)."""
import nbformat
import pytest

from autograder.grade import score as verdicts
from dropout_checks import Verdict
from dropout_collect.wire import MIME

new_code_cell = nbformat.v4.new_code_cell


def graded_cell(grade_id, outputs=(), points=3, executed=True):
    cell = new_code_cell("collect(...)", metadata={"nbgrader": {"grade": True, "grade_id": grade_id, "points": points}})
    cell.outputs = list(outputs)
    cell.execution_count = 1 if executed else None
    return cell


def answer_cell(outputs=()):
    cell = new_code_cell("def f(): ...", metadata={"nbgrader": {"solution": True, "grade_id": "answer_01"}})
    cell.outputs = list(outputs)
    return cell


def data(payload):
    return nbformat.v4.new_output("display_data", data={MIME: payload, "text/plain": "<data>"})


def error(ename, evalue=""):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


def judge_by_payload(assignment, grade_id, payload, seed=0):
    """A stand-in checker: passes exactly the payload {"ok": True}."""
    if payload is None:
        return Verdict(False, "")
    return Verdict(True, "") if payload == {"ok": True} else Verdict(False, f"{grade_id}: wrong data")


def notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def test_points_come_only_from_the_judged_data():
    nb = notebook(answer_cell(), graded_cell("f", [data({"ok": True}), error("AssertionError", "visible check")]),
                  answer_cell(), graded_cell("g", [nbformat.v4.new_output("stream", text="all tests pass!")]))
    got = verdicts.score("ch02", {"f": 3.0, "g": 2.0}, nb, None, 60, judge_by_payload)
    assert got["f"] == {"points": 3.0, "max_points": 3.0, "reason": ""}, "a failing visible check costs nothing"
    assert got["g"]["points"] == 0 and got["g"]["reason"] == "the hidden test produced no data"


def test_the_last_collected_output_is_the_one_judged():
    cell = graded_cell("f", [data({"ok": True}), data({"ok": False})])
    assert verdicts.collected(cell) == {"ok": False}
    assert verdicts.collected(graded_cell("f", [nbformat.v4.new_output("execute_result", data={MIME: {"x": 1}},
                                                                     execution_count=1)])) == {"x": 1}


@pytest.mark.parametrize("outputs,answer_outputs,words", [
    ([error("NameError", "name 'f' is not defined")], [], "did not define it"),
    ([error("NotImplementedError")], [], "not implemented yet"),
    ([error("CellTimeoutError")], [], "did not finish within 60 s"),
    ([error("NameError", "name 'f' is not defined")], [error("ModuleNotFoundError", "No module named 'dropout_reference'")],
     "the answer cell raised ModuleNotFoundError: No module named 'dropout_reference'"),
])
def test_missing_data_is_explained_in_words(outputs, answer_outputs, words):
    nb = notebook(answer_cell(answer_outputs), graded_cell("f", outputs))
    reason = verdicts.score("ch02", {"f": 3.0}, nb, None, 60, judge_by_payload)["f"]["reason"]
    assert words in reason, reason


def test_a_test_that_never_ran_names_why_the_run_stopped():
    nb = notebook(answer_cell(), graded_cell("f", executed=False))
    reason = verdicts.score("ch02", {"f": 3.0}, nb, "the notebook's kernel died", 60, judge_by_payload)["f"]["reason"]
    assert reason == "the test did not run: the notebook's kernel died"


def test_a_missing_test_cell_scores_zero():
    got = verdicts.score("ch02", {"f": 3.0}, notebook(answer_cell()), None, 60, judge_by_payload)
    assert got["f"] == {"points": 0.0, "max_points": 3.0, "reason": "the test cell is missing"}


@pytest.mark.parametrize("metadata", [{"nbgrader": "oops"}, {"nbgrader": None}, {"nbgrader": []}, "junk", {}])
def test_malformed_metadata_reads_as_none(metadata):
    assert verdicts.nbgrader_meta({"metadata": metadata}) == {}


def test_points_are_read_from_the_release_and_collected_data_is_dropped_for_feedback():
    nb = notebook(answer_cell(), graded_cell("f", [data({"ok": True}), error("AssertionError")], points=4))
    assert verdicts.points_of(nb) == {"f": 4.0}
    kept = verdicts.without_collected(nb)
    assert [o["output_type"] for o in kept.cells[1].outputs] == ["error"]


def test_the_real_checker_judges_missing_and_forged_data_without_raising():
    from dropout_checks import judge

    assert judge("ch02", "vanilla_dropout_forward", None).passed is False
    for forged in ({"version": 1, "records": "nope"}, {"version": 99}, [1, 2], "x",
                   {"version": 1, "records": [{"value": {"__array__": {"dtype": "float64", "shape": [10**9],
                                                                      "data": ""}}}]}):
        verdict = judge("ch02", "vanilla_dropout_forward", forged)
        assert verdict.passed is False and verdict.reason.startswith("vanilla_dropout_forward")
    assert "no check" in judge("ch02", "not_a_function", {"version": 1}).reason


def test_long_reasons_are_cut():
    def verbose(assignment, grade_id, payload, seed=0):
        return Verdict(False, "x" * 10_000)
    reason = verdicts.score("ch02", {"f": 3.0}, notebook(graded_cell("f")), None, 60, verbose)["f"]["reason"]
    assert len(reason) <= verdicts.REASON_KEPT + 80 and reason.endswith("more characters, not shown]")


def test_long_reasons_keep_whole_sentences_and_say_what_is_left_out():
    sentences = [f"Sentence number {i} says 1.333 is the scale." for i in range(40)]

    def wordy(assignment, grade_id, payload, seed=0):
        return Verdict(False, " ".join(sentences))
    reason = verdicts.score("ch02", {"f": 3.0}, notebook(graded_cell("f")), None, 60, wordy)["f"]["reason"]
    kept, note = reason.rsplit(" [", 1)
    assert kept.endswith("the scale.") and kept in " ".join(sentences) and len(kept) <= verdicts.REASON_KEPT
    assert note.endswith("more characters not shown]")


def test_a_function_that_depends_on_a_failing_one_says_which_to_fix_first():
    failing = {"enable_mc_dropout", "mc_dropout_predict", "mutual_information"}

    def judge(assignment, grade_id, payload, seed=0):
        return Verdict(grade_id not in failing, "" if grade_id not in failing else f"{grade_id}: wrong")
    cells = [graded_cell(f) for f in ("enable_mc_dropout", "mc_dropout_predict", "predictive_entropy",
                                      "mutual_information")]
    result = verdicts.score("ch06", dict.fromkeys(["enable_mc_dropout", "mc_dropout_predict", "predictive_entropy",
                                                   "mutual_information"], 1.0), notebook(*cells), None, 60, judge)
    assert result["mc_dropout_predict"]["reason"] == (
        "mc_dropout_predict: wrong. Note: mc_dropout_predict may use enable_mc_dropout, whose own test lost points "
        "too: fix enable_mc_dropout first.")
    assert result["mc_dropout_predict"]["student_reason"].endswith("fix enable_mc_dropout first.")
    assert result["enable_mc_dropout"]["reason"] == "enable_mc_dropout: wrong"  # it depends on nothing
    assert result["mutual_information"]["reason"] == "mutual_information: wrong"  # predictive_entropy passed


def test_the_seed_reaches_the_checker():
    seen = []

    def spy(assignment, grade_id, payload, seed=0):
        seen.append(seed)
        return Verdict(True, "")
    verdicts.score("ch02", {"f": 3.0}, notebook(graded_cell("f")), None, 60, spy, seed=1234)
    assert seen == [1234]
