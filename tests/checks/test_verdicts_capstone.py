"""The capstone's verdicts (chapter 8): honest styles get full marks, each classic mistake loses its function.

Every answer is run through its collector and judged after a JSON round trip, as in a notebook.
The answers are the exercise source's own solutions, edited.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from autograder.sample import build_class as sample_class
from dropout_checks import judge
from dropout_checks.registry import of_assignment
from dropout_collect import capture
from dropout_kit import capstone_checks
from dropout_kit._core import ExerciseFailure

from test_verdicts_numpy import solutions

ROWS = {row.grade_id: row for row in of_assignment("ch08")}


def verdicts(ns, seed: int = 0) -> dict:
    """grade id -> verdict, every function of the notebook."""
    found = {}
    for grade_id, row in ROWS.items():
        with capture() as emitted:
            row.collector(grade_id, *(ns[name] for name in row.answers), seed=seed)
        assert len(emitted) == 1
        found[grade_id] = judge("ch08", grade_id, json.loads(json.dumps(emitted[0])), seed=seed)
    return found


def lost(ns, seed: int = 0) -> dict:
    return {g: v.reason for g, v in verdicts(ns, seed).items() if not v.passed}


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_the_exercise_solution_gets_full_marks(seed):
    assert lost(solutions("ch08"), seed) == {}


FORWARD_DRAW = "    mask = rng.random(x.shape) >= p_drop\n"
SHUFFLE = ("        order = rng.permutation(len(X))\n", "        order = np.arange(len(X))\n")
STYLES = {
    "binomial int mask, no shuffling": [(FORWARD_DRAW, "    mask = rng.binomial(1, 1.0 - p_drop, size=x.shape)\n"), SHUFFLE],
    "np.where and a float mask": [("    return x * mask * scale, {\"mask\": mask, \"scale\": scale}",
                                    "    return np.where(mask, x * scale, 0.0), {\"mask\": mask.astype(float), \"scale\": scale}")],
    "loss as a 0-d array, history via lists of arrays": [("    return loss, dscores / n", "    return np.asarray(loss), dscores / n"),
                                                         ("history[\"loss\"].append(float(np.mean(losses)))",
                                                          "history[\"loss\"].append(np.mean(losses))")],
    "in-place updates": [("    params = {name: value.copy() for name, value in params.items()}\n", ""),
                         ("params[name] = params[name] - lr * grads[name]", "params[name] -= lr * grads[name]")],
}


@pytest.mark.parametrize("edits", list(STYLES.values()), ids=list(STYLES))
def test_a_correct_answer_in_another_style_gets_full_marks(edits):
    ns = solutions("ch08", edits)
    assert lost(ns) == {}
    capstone_checks.check_fc_net_loss(ns["fc_net_loss"])
    capstone_checks.check_train_fc_net(ns["train_fc_net"], ns["fc_net_loss"])


OUTPUT_DROPOUT = '''def fc_net_loss(params, X, y, p_drop, train, rng=None):
    z1 = X @ params["W1"] + params["b1"]
    hidden = np.maximum(z1, 0.0)
    scores, cache = dropout_forward(hidden @ params["W2"] + params["b2"], p_drop, train, rng)
    loss, dscores = softmax_loss(scores, y)
    dout = dropout_backward(dscores, cache)
    dz1 = (dout @ params["W2"].T) * (z1 > 0)
    return loss, {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": hidden.T @ dout, "b2": dout.sum(axis=0)}
'''
BACKWARD_LINE = '    dz1 = dropout_backward(dscores @ params["W2"].T, cache) * (z1 > 0)'
MISTAKES = [  # (edits, the grade id that must fail, words of its reason)
    ([("scale = 1.0 / (1.0 - p_drop) if p_drop < 1.0 else 0.0", "scale = 1.0")], "fc_net_loss", "1/(1-p_drop)"),
    ([("return x * 1.0, {\"mask\": None, \"scale\": 1.0}", "return x * (1.0 - p_drop), {\"mask\": None, \"scale\": 1.0 - p_drop}")],
     "fc_net_loss", "in evaluation inverted dropout does nothing"),
    ([(BACKWARD_LINE, '    dz1 = (dscores @ params["W2"].T) * (z1 > 0)')], "fc_net_loss", "same mask and scale in the backward"),
    ([('    return dout * cache["mask"] * cache["scale"]', '    return dout * cache["mask"]')], "fc_net_loss",
     'grads["b1"]'),
    ([(FORWARD_DRAW, "    mask = np.random.default_rng(0).random(x.shape) >= p_drop\n")], "fc_net_loss", "same hidden units"),
    ([("dropout_forward(np.maximum(z1, 0.0), p_drop, train, rng)", "dropout_forward(np.maximum(z1, 0.0), p_drop, True, rng)")],
     "fc_net_loss", "train=False"),
    ([("    return loss, dscores / n", "    return loss, dscores")], "fc_net_loss", "(softmax(scores) - one_hot(y)) / N"),
    ([(FORWARD_DRAW, "    mask = rng.random(x.shape) < p_drop\n")], "fc_net_loss", "with p_drop=0 nothing is dropped"),
    ("output dropout", "fc_net_loss", "never to the output scores"),
    ([("loss_fn(params, X[batch], y[batch], p_drop, True, rng)",
       "loss_fn(params, X[batch], y[batch], p_drop, True, np.random.default_rng(0))")], "train_fc_net", "same state"),
    ([("loss_fn(params, X_val, y_val, p_drop, False, rng)", "loss_fn(params, X_val, y_val, p_drop, True, rng)")],
     "train_fc_net", "train=False"),
    ([("params[name] = params[name] - lr * grads[name]", "params[name] = params[name] + lr * grads[name]")], "train_fc_net",
     "did not lower the loss"),
    ([("losses.append(loss)", "losses = [loss]")], "train_fc_net", "mean of that epoch's mini-batch losses"),
    ([("loss_fn(params, X[batch], y[batch], p_drop, True, rng)", "loss_fn(params, X[batch], y[batch], 0.0, True, rng)")],
     "train_fc_net", "p_drop it was given"),
]


def _namespace(edits):
    if edits == "output dropout":
        ns = solutions("ch08")
        exec(OUTPUT_DROPOUT, ns)
        return ns
    return solutions("ch08", edits)


@pytest.mark.parametrize("edits, grade_id, words", MISTAKES, ids=[f"{g}-{i}" for i, (_, g, _) in enumerate(MISTAKES)])
def test_a_classic_mistake_loses_its_function_with_a_reason(edits, grade_id, words):
    reasons = lost(_namespace(edits))
    assert grade_id in reasons, reasons
    assert words in reasons[grade_id], reasons[grade_id]
    if grade_id == "train_fc_net":
        assert "fc_net_loss" not in reasons, reasons  # a loop mistake costs only the loop


def test_the_visible_checks_catch_the_mistakes_they_can_see():
    for edits, grade_id in ((MISTAKES[2][0], "fc_net_loss"), (MISTAKES[1][0], "fc_net_loss"),
                            (MISTAKES[9][0], "train_fc_net"), (MISTAKES[10][0], "train_fc_net")):
        ns = _namespace(edits)
        with pytest.raises(ExerciseFailure):
            if grade_id == "fc_net_loss":
                capstone_checks.check_fc_net_loss(ns["fc_net_loss"])
            else:
                capstone_checks.check_train_fc_net(ns["train_fc_net"], ns["fc_net_loss"])


def test_the_sample_class_loses_exactly_the_expected_functions():
    for student, (assignment, _, edits) in sample_class.STUDENTS.items():
        if assignment != "ch08":
            continue
        ns = solutions("ch08", edits if isinstance(edits, list) else ())
        assert set(lost(ns)) == sample_class.EXPECTED_LOSSES.get(student, set()), student


def test_a_stub_loses_both_functions_and_says_not_implemented():
    reasons = lost(solutions("ch08", stub="all"))
    assert set(reasons) == set(ROWS)
    assert all("not implemented" in r for r in reasons.values()), reasons


def test_the_gradient_check_steps_cross_no_relu_kink():
    from dropout_collect import capstone_plans as plans
    for seed in range(20):
        x, _ = plans.check_batch(seed)
        params = plans.loss_params(seed)
        z = x @ params["W1"] + params["b1"]
        for d in range(plans.DIRECTIONS):
            moved = plans.moved(params, seed, d, 1.0)
            assert np.array_equal(z > 0, x @ moved["W1"] + moved["b1"] > 0)
            assert 1e-8 <= plans.step_size(seed, d) <= 1e-5


def test_the_training_band_holds_with_room_for_correct_loops():
    """A few seeds of the measurement behind ``capstone_verdicts.GAP`` and ``FALL``, in both loop styles."""
    from dropout_checks import capstone_verdicts as cv
    from dropout_collect import capstone_plans as plans
    from dropout_reference import fc_net_loss, train_fc_net
    x, y, x_val, y_val = plans.training_data()
    in_order = solutions("ch08", [SHUFFLE])["train_fc_net"]
    gaps, ratios = [], []
    for seed in range(8):
        for loop in (train_fc_net, in_order):
            params, _ = loop(fc_net_loss, plans.initial_params(seed), x, y, x_val, y_val, plans.TRAIN_P, plans.LR,
                             plans.EPOCHS, plans.TRAIN_BATCH, plans.training_rng(seed))
            train_loss = cv.network(params, x, y)[0]
            gaps.append(cv.network(params, x_val, y_val)[0] - train_loss)
            ratios.append(train_loss / cv.network(plans.initial_params(seed), x, y)[0])
    assert cv.GAP[0] + 0.1 < min(gaps) and max(gaps) < cv.GAP[1] - 0.1, gaps
    assert max(ratios) < cv.FALL / 4, ratios


KEYWORDS = [("loss, grads = loss_fn(params, X[batch], y[batch], p_drop, True, rng)",
             "loss, grads = loss_fn(params=params, X=X[batch], y=y[batch], p_drop=p_drop, train=True, rng=rng)")]


def test_a_loop_that_calls_loss_fn_with_keywords_gets_full_marks():
    ns = solutions("ch08", KEYWORDS)
    assert lost(ns) == {}
    capstone_checks.check_train_fc_net(ns["train_fc_net"], ns["fc_net_loss"])


def test_malformed_or_shuffled_records_fail_with_a_reason():
    ns = solutions("ch08")
    for grade_id, row in ROWS.items():
        with capture() as emitted:
            row.collector(grade_id, *(ns[name] for name in row.answers), seed=0)
        good = json.loads(json.dumps(emitted[0]))
        records = good["records"]
        cases = [records[:-1], records[::-1], records + records[-1:], [], None, [{}] * len(records),
                 [{"value": {"__object__": "x"}}] * len(records)]
        cases += [records[:i] + [{"error": {"__error__": {"type": "ValueError", "message": "m"}}}] + records[i + 1:]
                  for i in range(0, len(records), 7)]
        for bad in cases:
            result = judge("ch08", grade_id, {**good, "records": bad})
            assert not result.passed and result.reason, (grade_id, bad if bad is None else len(bad))
