"""A hostile student's attacks on the capstone's grading (chapter 8), and honest styles it must not punish.

Each attack is an answer a student could hand in; the verdicts are judged on its collected data after a
JSON round trip, as in a notebook (``lost`` of test_verdicts_capstone). What cannot be defended inside the
kernel is named in the report and in ``capstone_verdicts``'s docstring, not tested as if it held.
"""
from __future__ import annotations

import textwrap

import pytest

from dropout_kit import capstone_checks
from dropout_kit._core import ExerciseFailure

from test_verdicts_capstone import lost
from test_verdicts_numpy import solutions

FORWARD_DRAW = "    mask = rng.random(x.shape) >= p_drop\n"
LOSS_LINE = '    hidden, cache = dropout_forward(np.maximum(z1, 0.0), p_drop, train, rng)\n'

# Masks that break the rule where one-example calls cannot see it: only a batch shows them.
BATCH_MISTAKES = {
    "one mask shared by every example of the batch":
        [(FORWARD_DRAW, "    mask = rng.random(x.shape[1:]) >= p_drop\n")],
    "one keep decision per example, shared by all its units":
        [(FORWARD_DRAW, "    mask = rng.random((x.shape[0], 1)) >= p_drop\n")],
    "dropout only on one-example calls (detecting the test)":
        [(FORWARD_DRAW, "    mask = rng.random(x.shape) >= (p_drop if len(x) == 1 else 0.0)\n"),
         ("scale = 1.0 / (1.0 - p_drop) if p_drop < 1.0 else 0.0",
          "scale = (1.0 / (1.0 - p_drop) if p_drop < 1.0 else 0.0) if len(x) == 1 else 1.0")],
}


@pytest.mark.parametrize("edits", list(BATCH_MISTAKES.values()), ids=list(BATCH_MISTAKES))
def test_a_mask_wrong_only_on_batches_loses_fc_net_loss(edits):
    reasons = lost(solutions("ch08", edits))
    assert "fc_net_loss" in reasons, reasons


SELF_CONSISTENT_WRONG = {
    "dropout on the inputs": [(LOSS_LINE, "    X = dropout_forward(X, p_drop, train, rng)[0]\n"
                                          "    z1 = X @ params['W1'] + params['b1']\n"
                                          "    hidden, cache = dropout_forward(np.maximum(z1, 0.0), 0.0, train, rng)\n")],
    "mask fixed by the input, not drawn": [(FORWARD_DRAW, "    mask = np.random.default_rng(abs(hash(x.tobytes())) % 2**32)"
                                                          ".random(x.shape) >= p_drop\n")],
    "mask from a private counter, ignoring rng": [(FORWARD_DRAW, "    global _n\n    _n = globals().get('_n', 0) + 1\n"
                                                                 "    mask = np.random.default_rng(_n).random(x.shape) >= p_drop\n")],
    "scale applied twice, forward and backward alike": [("return x * mask * scale, {", "return x * mask * scale ** 2, {"),
                                                         ("cache[\"mask\"] * cache[\"scale\"]",
                                                          "cache[\"mask\"] * cache[\"scale\"] ** 2")],
}


@pytest.mark.parametrize("edits", list(SELF_CONSISTENT_WRONG.values()), ids=list(SELF_CONSISTENT_WRONG))
def test_a_wrong_network_whose_loss_and_grads_agree_loses_fc_net_loss(edits):
    reasons = lost(solutions("ch08", edits))
    assert "fc_net_loss" in reasons, reasons


FRESH_RNG_PER_EPOCH = [("        order = rng.permutation(len(X))\n",
                        "        rng = np.random.default_rng(7)\n        order = rng.permutation(len(X))\n")]
PARAMS_NOT_TRAINED = [("    return params, history\n", "    return {k: v * 0 for k, v in params.items()}, history\n")]
WRAPPER_DETECTED = [("    for _ in range(epochs):\n",
                     "    if getattr(loss_fn, '__name__', '') != 'fc_net_loss':\n"
                     "        p_drop = 0.0\n"
                     "    for _ in range(epochs):\n")]
STOLEN_FUNCTION = [("    for _ in range(epochs):\n",
                    "    if getattr(loss_fn, '__closure__', None):\n"
                    "        inner = [c.cell_contents for c in loss_fn.__closure__ if callable(c.cell_contents)]\n"
                    "        loss_fn = inner[0] if inner else loss_fn\n"
                    "    for _ in range(epochs):\n")]
LOOP_ATTACKS = {
    "a generator reseeded alike every epoch": FRESH_RNG_PER_EPOCH,
    "params other than the trained ones": PARAMS_NOT_TRAINED,
    "no dropout when the loss function is not the student's own": WRAPPER_DETECTED,
    "the loss function behind the grader's wrapper called directly": STOLEN_FUNCTION,
}


@pytest.mark.parametrize("edits", list(LOOP_ATTACKS.values()), ids=list(LOOP_ATTACKS))
def test_a_loop_that_games_the_recorder_loses_train_fc_net(edits):
    reasons = lost(solutions("ch08", edits))
    assert "train_fc_net" in reasons and "fc_net_loss" not in reasons, reasons


HONEST = {
    "float32 throughout": [("    z1 = X @ params[\"W1\"] + params[\"b1\"]\n",
                            "    params = {k: np.asarray(v, np.float32) for k, v in params.items()}\n"
                            "    X = np.asarray(X, np.float32)\n"
                            "    z1 = X @ params[\"W1\"] + params[\"b1\"]\n")],
    "dropout before the ReLU (the same network)": [(LOSS_LINE, "    z1, cache = dropout_forward(z1, p_drop, train, rng)\n"
                                                               "    hidden = np.maximum(z1, 0.0)\n")],
    "a warning printed and raised on every call": [(LOSS_LINE, LOSS_LINE + "    import warnings\n    print('training' if train else 'eval')\n"
                                                               "    warnings.warn('slow code')\n")],
    "rng.binomial and a float mask": [(FORWARD_DRAW, "    mask = rng.binomial(1, 1.0 - p_drop, size=x.shape).astype(x.dtype)\n")],
}


@pytest.mark.parametrize("edits", list(HONEST.values()), ids=list(HONEST))
def test_an_honest_answer_in_another_style_keeps_full_marks(edits):
    ns = solutions("ch08", edits)
    assert lost(ns) == {}
    capstone_checks.check_fc_net_loss(ns["fc_net_loss"])


CLASS_BASED = '''
class Net:
    """The network as an object: each layer keeps what its backward needs."""
    def __init__(self, params, p_drop, train, rng):
        self.params, self.p_drop, self.train, self.rng = params, p_drop, train, rng

    def forward(self, X):
        self.X = X
        self.z1 = X @ self.params["W1"] + self.params["b1"]
        self.keep = np.ones_like(self.z1)
        if self.train and self.p_drop > 0:
            self.keep = (self.rng.random(self.z1.shape) > self.p_drop) / (1 - self.p_drop)
        self.h = np.maximum(self.z1, 0) * self.keep
        return self.h @ self.params["W2"] + self.params["b2"]

    def backward(self, dscores):
        dz1 = (dscores @ self.params["W2"].T) * self.keep * (self.z1 > 0)
        return {"W1": self.X.T @ dz1, "b1": dz1.sum(0), "W2": self.h.T @ dscores, "b2": dscores.sum(0)}


def fc_net_loss(params, X, y, p_drop, train, rng=None):
    net = Net(params, p_drop, train, rng)
    loss, dscores = softmax_loss(net.forward(X), y)
    return float(loss), net.backward(dscores)
'''


def test_a_class_based_network_keeps_full_marks():
    ns = solutions("ch08")
    exec(CLASS_BASED, ns)
    assert lost(ns) == {}


FLOAT32_WRONG_BACKWARD = HONEST["float32 throughout"] + [('    return dout * cache["mask"] * cache["scale"]',
                                                          '    return dout * cache["mask"]')]


def test_the_float32_widening_of_the_gradient_check_hides_no_mistake():
    reasons = lost(solutions("ch08", FLOAT32_WRONG_BACKWARD))
    assert 'grads["b1"]' in reasons.get("fc_net_loss", ""), reasons


# Everything in the kernel is within the student's reach: the recorder's list sits in the wrapper's closure.
# This loop trains without dropout (a classic mistake) and then rewrites what the recorder saw.
FORGED_LOG = [("    return params, history\n",
               "    for cell in getattr(loss_fn, '__closure__', None) or ():\n"
               "        if isinstance(cell.cell_contents, list):\n"
               "            for entry in cell.cell_contents:\n"
               "                entry['p_drop'] = 0.5\n"
               "    return params, history\n"),
              ("loss_fn(params, X[batch], y[batch], p_drop, True, rng)", "loss_fn(params, X[batch], y[batch], 0.0, True, rng)")]


def test_a_forged_call_log_is_an_accepted_residual_and_is_flagged_for_review():
    """The verdict cannot tell a rewritten log from a true one (the trained parameters, judged here, land in
    the band with or without dropout); what it can do is have the tampering flagged for a human."""
    from autograder.grade.flags import tampering
    ns = solutions("ch08", FORGED_LOG)
    assert "train_fc_net" not in lost(ns)  # the residual, as it stands: if this fails, it was closed; update the report
    source = textwrap.dedent(FORGED_LOG[0][1])
    assert "__closure__" in tampering(source, set())
    assert "cell_contents" in tampering(source.replace("getattr(loss_fn, '__closure__', None)", "()"), set())


@pytest.mark.parametrize("edits", list(BATCH_MISTAKES.values())[:2], ids=list(BATCH_MISTAKES)[:2])
def test_the_visible_check_sees_a_batch_mask_of_the_wrong_shape(edits):
    ns = solutions("ch08", edits)
    with pytest.raises(ExerciseFailure, match="full shape"):
        capstone_checks.check_fc_net_loss(ns["fc_net_loss"])


@pytest.mark.parametrize("seed", range(20))
def test_the_visible_batch_mask_check_passes_the_solution(seed):
    capstone_checks.check_fc_net_loss(solutions("ch08")["fc_net_loss"], seed=seed)


UPDATE_LINE = "params[name] = params[name] - lr * grads[name]"
WRONG_STEPS = {
    "biases not updated": [(UPDATE_LINE, "params[name] = params[name] - (lr * grads[name] if name[0] == 'W' else 0)")],
    "W2 not updated": [(UPDATE_LINE, "params[name] = params[name] - (lr * grads[name] if name != 'W2' else 0)")],
    "lr doubled": [(UPDATE_LINE, "params[name] = params[name] - 2 * lr * grads[name]")],
    "lr halved": [(UPDATE_LINE, "params[name] = params[name] - 0.5 * lr * grads[name]")],
    "the previous step's grads": [("            for name in params:\n",
                                   "            prev, last = locals().get('last', grads), grads\n"
                                   "            for name in params:\n"), (UPDATE_LINE, "params[name] = params[name] - lr * prev[name]")],
    "momentum": [("            for name in params:\n",
                  "            old = locals().get('velocity', {})\n"
                  "            velocity = {k: 0.5 * old.get(k, 0) + grads[k] for k in grads}\n"
                  "            for name in params:\n"), (UPDATE_LINE, "params[name] = params[name] - lr * velocity[name]")],
}


@pytest.mark.parametrize("edits", list(WRONG_STEPS.values()), ids=list(WRONG_STEPS))
def test_a_loop_whose_steps_are_not_plain_sgd_loses_train_fc_net(edits):
    """These all trained well enough for the band (full marks before the steps were checked)."""
    reasons = lost(solutions("ch08", edits))
    assert "lr * grads" in reasons.get("train_fc_net", ""), reasons
    assert "fc_net_loss" not in reasons


FLOAT32_LOOP = [("    params = {name: value.copy() for name, value in params.items()}\n",
                 "    params = {name: value.astype(np.float32) for name, value in params.items()}\n")]


def test_a_float32_loop_keeps_full_marks():
    assert lost(solutions("ch08", FLOAT32_LOOP)) == {}
