"""Verdicts on the PyTorch exercises' collected data (trusted side only).

Each verdict rebuilds the hidden test's models and inputs from :mod:`dropout_collect.torch_plans`
and recomputes, with its own torch, what a correct answer returns: outputs with dropout are
checked unit by unit ("0 or h / (1 - p)" for the ``h`` recomputed here), everything else by
value. Modes the outputs cannot show (a Linear's flag, grad tracking) are read from the
collector's observations. Values are compared in float64 with the kit's tolerance for PyTorch results
(:data:`dropout_kit.properties.TORCH_RESULT`), so a correct float32 computation in any reasonable style passes.
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import torch
from torch.nn import functional as F

from dropout_collect import torch_plans as plans
from dropout_collect import wire

from dropout_kit.properties import PROBABILITY_SUM, TORCH_RESULT, UNCHANGED, close

from . import masks
from ._core import DELTA, as_array, as_float, describe, fail, require, value_of

# Outputs are compared with the kit's tolerance for PyTorch results (float32 work in another order:
# shuffled rows, batched passes, log_softmax + nll), which the visible checks use too.
RTOL, ATOL = TORCH_RESULT.rtol, TORCH_RESULT.atol


def _close(a, b) -> np.ndarray:
    """Elementwise agreement in float64 (shapes must already broadcast)."""
    return TORCH_RESULT.elementwise(a, b)


def _all_close(a, b, tolerance=TORCH_RESULT) -> bool:
    return close(a, b, tolerance)


def _forward(model, x) -> np.ndarray:
    with torch.no_grad():
        return model(x).double().numpy()


def _records(records, count: int, name: str) -> list:
    require(isinstance(records, list) and len(records) == count and all(isinstance(r, dict) for r in records), name,
            "the hidden test did not run to the end (did an answer cell redefine something it uses?)")
    return records


def _field(mapping, key: str, name: str):
    if not isinstance(mapping, dict) or key not in mapping:
        fail(name, "the grader received malformed data for this test")
    return mapping[key]


def _output(value, shape: tuple, name: str, what: str) -> np.ndarray:
    array = as_array(value, name, what)
    require(array.shape == shape, name, f"{what} has shape {array.shape}, expected {shape}")
    require(np.isfinite(array.astype(np.float64)).all(), name, f"{what} holds NaN or inf")
    return array.astype(np.float64)


def _modes(value, name: str) -> list:
    """An observed ``[(type name, training)]`` list, checked for form."""
    ok = isinstance(value, list) and all(isinstance(m, tuple) and len(m) == 2 and isinstance(m[0], str)
                                         and isinstance(m[1], bool) for m in value)
    require(ok, name, "the grader received malformed data for this test")
    return value


def _mode(training: bool) -> str:
    return "training" if training else "evaluation"


def _dropped_or_scaled(out: np.ndarray, h: np.ndarray) -> bool:
    """Every unit is 0 (dropped) or ``h / (1 - p)`` (kept and scaled)."""
    kept = _close(out, h / (1 - plans.MC_P))
    return bool((kept | (np.abs(out) <= ATOL)).all())


# ----------------------------------------------------------------------------- enable_mc_dropout

@functools.lru_cache(maxsize=4)
def _context_hidden(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``relu(bn(linear(x)))`` of the probe model with BatchNorm in eval mode, and in train mode."""
    x = plans.context_input(seed)
    with_running = plans.set_modes(plans.context_model(seed), (False,) * 5)
    with_batch = plans.set_modes(plans.context_model(seed), (False, False, True, False, False))
    return _forward(with_running[:3], x), _forward(with_batch[:3], x)


def _check_inside(name: str, phase, inside, h_eval, h_batch) -> None:
    where = f"inside the context ({phase.name})"
    require(isinstance(inside, list) and len(inside) == 2, name, "the grader received malformed data for this test")
    outs = [_output(o, h_eval.shape, name, f"the model's output {where}") for o in inside]
    for out in outs:
        if _dropped_or_scaled(out, h_eval):
            continue
        if _all_close(out, h_eval):
            fail(name, f"{where} the model's output was its deterministic evaluation output: dropout is not active "
                       "(put the dropout modules in training mode)")
        if _dropped_or_scaled(out, h_batch) or _all_close(out, h_batch):
            fail(name, f"{where} BatchNorm normalised with the batch's statistics, so it was in training mode: "
                       "it must stay in evaluation mode, only dropout modules may be in training mode "
                       "(model.train() switches BatchNorm too)")
        fail(name, f"{where} each output unit should be 0 or the evaluation-mode activation / (1 - p): "
                   "only dropout may act differently from evaluation mode")
    require(not np.array_equal(outs[0], outs[1]), name,
            f"two forward passes {where} gave the same output: dropout is not active")
    units = np.concatenate([h_eval > 1e-3] * 2)   # units a drop can be seen on
    kept = np.concatenate(outs)[units] > np.concatenate([h_eval] * 2)[units]
    fraction = masks.kept_fraction(kept, plans.MC_P)
    require(fraction.passed, name,
            f"{where} dropout kept {fraction.observed:.3f} of {kept.size} units, expected {fraction.expected:.3f} ± "
            f"{fraction.tolerance:.3f} (a correct context fails this with probability < {DELTA:g})")


def _check_modes(name: str, observed, expected, when: str, hint: str) -> None:
    observed = _modes(observed, name)
    require([t for t, _ in observed] == list(plans.CONTEXT_TYPES), name,
            "the grader received malformed data for this test")
    for (kind, training), want in zip(observed, expected):
        if training != want:
            fail(name, f"{when} the {kind} module was in {_mode(training)} mode, expected {_mode(want)} mode{hint}")


def _check_phase(name: str, phase, record, h_eval, h_batch, stats) -> None:
    result = value_of(record, name, f"when used {phase.name}")
    require(isinstance(result, dict), name, "the grader received malformed data for this test")
    _check_inside(name, phase, _field(result, "inside", name), h_eval, h_batch)
    _check_modes(name, _field(result, "inside_modes", name), [t == "Dropout" for t in plans.CONTEXT_TYPES],
                 f"inside the context ({phase.name})", ": only dropout modules may be in training mode")
    if phase.raises:
        require(_field(result, "propagated", name) is True, name,
                "an exception raised inside the with-block was swallowed by the context manager: let it propagate")
    when = f"after the context was left ({phase.name})"
    _check_modes(name, _field(result, "after_modes", name), phase.modes, when,
                 ": restore every module's own mode on exit (even when the body raises: use try/finally)")
    running = _field(result, "running_stats", name)
    require(isinstance(running, tuple) and len(running) == 2, name, "the grader received malformed data for this test")
    for got, want, what in zip(running, stats, ("running_mean", "running_var")):
        require(_all_close(_output(got, want.shape, name, f"BatchNorm's {what}"), want, UNCHANGED), name,
                f"BatchNorm's {what} changed {when.replace('after', 'by the time')}: it must stay in evaluation mode")
    # The output after exit shows what BatchNorm and dropout were restored to.
    bn_training, dropout_training = phase.modes[2], phase.modes[4]
    h = h_batch if bn_training else h_eval
    after = _output(_field(result, "after", name), h.shape, name, f"the model's output {when}")
    ok = _dropped_or_scaled(after, h) and (after[h > 1e-3] == 0).any() if dropout_training else _all_close(after, h)
    require(ok, name, f"{when} the model's output shows BatchNorm was not back in {_mode(bn_training)} mode or dropout "
                      f"not back in {_mode(dropout_training)} mode: restore every module's own mode on exit")


def enable_mc_dropout(records, seed: int = 0) -> None:
    """Inside: only dropout active (outputs 0 or h/(1-p)); after: every mode as before, even after a raise."""
    name = "enable_mc_dropout"
    records = _records(records, len(plans.CONTEXT_PHASES), name)
    h_eval, h_batch = _context_hidden(seed)
    bn = plans.context_model(seed)[1]
    stats = (bn.running_mean.double().numpy(), bn.running_var.double().numpy())
    for phase, record in zip(plans.CONTEXT_PHASES, records):
        _check_phase(name, phase, record, h_eval, h_batch, stats)


# ----------------------------------------------------------------------------- mc_dropout_predict

PREDICT_TYPES = ("Sequential", "Linear", "BatchNorm1d", "ReLU", "Linear", "Dropout")


@functools.lru_cache(maxsize=4)
def _predict_expected(seed: int):
    """Eval-mode logits ``z``, batch-statistics logits, and ``softmax(z * m / (1 - p))`` for every mask ``m``."""
    x = plans.predict_input(seed)
    z = _forward(plans.predict_model(seed).eval(), x)
    bn_train = plans.predict_model(seed).eval()
    bn_train[1].train()
    z_batch = _forward(bn_train[:4], x)  # without the final dropout
    keep_masks = np.array(list(itertools.product((0.0, 1.0), repeat=z.shape[1])))
    return z, _softmax_candidates(z, keep_masks), _softmax_candidates(z_batch, keep_masks), keep_masks


def _softmax_candidates(z: np.ndarray, keep_masks: np.ndarray) -> np.ndarray:
    """``(2^K, N, K)``: the softmax of each input's logits under each keep-mask, inverted scaling."""
    scaled = z[None] * keep_masks[:, None, :] / (1 - plans.MC_P)
    scaled -= scaled.max(-1, keepdims=True)
    e = np.exp(scaled)
    return e / e.sum(-1, keepdims=True)


def _best_mask(probs: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: index of the closest candidate and whether it agrees within the tolerance."""
    excess = np.abs(probs[:, None] - candidates[None]) - (ATOL + RTOL * np.abs(candidates[None]))  # (T, M, N, K)
    worst = excess.max(-1)  # (T, M, N)
    return worst.argmin(1), worst.min(1) <= 0


def mc_dropout_predict(records, seed: int = 0) -> None:
    """Softmax samples of one dropout mask each, BatchNorm in eval, the model unchanged afterwards."""
    name = "mc_dropout_predict"
    record, = _records(records, 1, name)
    z, candidates, batch_candidates, candidate_masks = _predict_expected(seed)
    n, k = z.shape
    t = plans.MC_T
    value = value_of(record, name, f"for T={t} passes on x of shape ({n}, 5)")
    probs = as_array(value, name, "the returned probabilities")
    require(probs.shape == (t, n, k), name,
            f"expected probabilities of shape (T, N, K) = {(t, n, k)}, got {probs.shape}")
    probs = probs.astype(np.float64)
    sums_to_one = _all_close(probs.sum(-1), np.ones((t, n)), PROBABILITY_SUM)
    require(np.isfinite(probs).all() and (probs >= -ATOL).all() and sums_to_one,
            name, "each sample must be a probability vector: apply softmax to the model's output (the logits)")
    best, ok = _best_mask(probs, candidates)
    if not ok.all():
        if _all_close(probs, np.broadcast_to(_softmax_plain(z), probs.shape)):
            fail(name, "all T samples equal the deterministic prediction: dropout was not active during the passes")
        if _best_mask(probs, batch_candidates)[1].all():
            fail(name, "BatchNorm normalised with the batch's statistics during the passes: keep it in evaluation "
                       "mode, only dropout modules may be in training mode")
        fail(name, "each sample must be the softmax of one forward pass of the model with only dropout active "
                   f"(BatchNorm in evaluation mode); {int((~ok).sum())} of {ok.size} were not")
    require(not all(np.array_equal(probs[0], probs[i]) for i in range(1, t)), name,
            "the T samples are identical: draw a fresh dropout mask on every pass")
    kept = candidate_masks[best]  # (T, N, K) keep-decisions that explain the samples
    fraction = masks.kept_fraction(kept.astype(bool), plans.MC_P)
    require(fraction.passed, name,
            f"dropout kept {fraction.observed:.3f} of {kept.size} logits, expected {fraction.expected:.3f} ± "
            f"{fraction.tolerance:.3f} (a correct answer fails this with probability < {DELTA:g})")
    tracked = record.get("requires_grad")
    require(tracked is False, name, "the returned probabilities track gradients: run the passes under torch.no_grad()")
    after_modes = _modes(value_of(_field(record, "after_modes", name), name, "afterwards"), name)
    require([kind for kind, _ in after_modes] == list(PREDICT_TYPES), name,
            "the grader received malformed data for this test")
    for kind, training in after_modes:
        require(not training, name, f"afterwards the {kind} module was left in training mode: every module must be "
                                    "back in the mode it had before the call (evaluation)")
    after = value_of(_field(record, "after", name), name, "when the model was called afterwards")
    after = _output(after, z.shape, name, "the model's output afterwards")
    require(_all_close(after, z), name, "afterwards the model's evaluation output changed: restore every module's mode "
                                        "and leave BatchNorm's running statistics alone (keep it in evaluation mode)")


def _softmax_plain(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ----------------------------------------------------------------------------- train_epoch

def _state_of(record, scenario, name: str, initial: dict) -> dict:
    """The model's ``state_dict`` after the call, with exactly the plan's keys."""
    state = value_of(_field(record, "state", name), name, f"when the model's state was read ({scenario.name})")
    require(isinstance(state, dict) and set(state) == set(initial), name,
            "the grader received malformed data for this test")
    return state


def _tracked(state: dict, name: str) -> int:
    """BatchNorm's count of forward passes in training mode."""
    count = as_array(state["1.num_batches_tracked"], name, "num_batches_tracked")
    require(count.size == 1 and np.issubdtype(count.dtype, np.integer), name,
            "the grader received malformed data for this test")
    return int(count.reshape(-1)[0])


def _compare_state(state: dict, want: dict, name: str) -> tuple[bool, bool]:
    """(parameters agree, buffers agree) with the expected ``state_dict``."""
    params, buffers = True, True
    for key, value in want.items():
        got = as_array(state[key], name, key)
        exact = "num_batches" in key  # a count
        same = got.shape == value.shape and (np.array_equal(got, value) if exact else _all_close(got, value))
        if key.endswith(("weight", "bias")):
            params &= same
        else:
            buffers &= same
    return params, buffers


@functools.lru_cache(maxsize=32)
def _sgd(scenario, seed: int, steps: int = 1, accumulate: bool = False) -> tuple[list, dict]:
    """The losses of ``steps`` SGD steps on the scenario's whole ``(x, y)`` in train mode, and the state after.

    ``accumulate`` adds each step's gradient to the previous ones (gradients never cleared).
    """
    model, x, y = plans.train_setup(scenario, seed)
    model.train()
    losses, grads = [], None
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        new = torch.autograd.grad(loss, list(model.parameters()))
        grads = [a + b for a, b in zip(grads, new)] if accumulate and grads else new
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p.sub_(plans.TRAIN_LR * g)
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _initial_state(scenario, seed: int) -> dict:
    model, _, _ = plans.train_setup(scenario, seed)
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def _returned_loss(record, scenario, name: str) -> float:
    loss = value_of(record, name, f"({scenario.name}, batch_size={scenario.batch_size})")
    if isinstance(loss, wire.Object) or isinstance(loss, (str, dict, list, tuple)) or loss is None:
        fail(name, f"must return the mean training loss as a float, got {describe(loss)}")
    loss = as_float(loss, name, "the returned loss")
    require(math.isfinite(loss), name, f"returned a non-finite loss ({loss}) for {scenario.name}")
    return loss


@functools.lru_cache(maxsize=8)
def _moving(scenario, seed: int) -> tuple:
    """Parameters a step moves: not the bias of a layer followed by BatchNorm (its gradient is zero)."""
    model, x, y = plans.train_setup(scenario, seed)
    names = [n for n, _ in model.named_parameters()]
    grads = torch.autograd.grad(F.cross_entropy(model.train()(x), y), list(model.parameters()))
    return tuple(n for n, g in zip(names, grads) if g.abs().max() > 1e-5)


def _not_stepped(name: str, state: dict, initial: dict, scenario, seed: int) -> None:
    unchanged = [k for k in _moving(scenario, seed) if np.array_equal(as_array(state[k], name, k), initial[k])]
    require(not unchanged, name, f"after training on {scenario.name} the parameter(s) {', '.join(unchanged)} did not "
                                 "change: call loss.backward() and optimiser.step() for every mini-batch")


def _train_full_batch(name: str, scenario, record, seed: int) -> None:
    loss = _returned_loss(record, scenario, name)
    initial = _initial_state(scenario, seed)
    state = _state_of(record, scenario, name, initial)
    _not_stepped(name, state, initial, scenario, seed)
    tracked = _tracked(state, name)
    require(tracked > 0, name, f"on {scenario.name} BatchNorm never ran in training mode (its running statistics were "
                               "not updated): call model.train() at the start of train_epoch")
    require(tracked == 1, name, f"with batch_size = len(x) = {scenario.n} there is one mini-batch, but BatchNorm "
                                f"counted {tracked} forward passes in training mode (one forward pass per mini-batch)")
    losses, want = _sgd(scenario, seed)
    params, buffers = _compare_state(state, want, name)
    require(buffers, name, f"on {scenario.name} BatchNorm's running statistics differ from one forward pass in "
                           "training mode")
    require(params, name, f"on {scenario.name} the parameters differ from one SGD step on the mean cross-entropy "
                          "of the batch (model in training mode, gradients of this batch only)")
    require(_all_close(loss, losses[0]), name, f"on {scenario.name} returned loss {loss:.6g}, expected the batch's "
                                               f"mean cross-entropy {losses[0]:.6g} (computed before the step)")


def _train_minibatches(name: str, scenario, record, seed: int) -> None:
    _returned_loss(record, scenario, name)
    initial = _initial_state(scenario, seed)
    state = _state_of(record, scenario, name, initial)
    expected = scenario.n // scenario.batch_size
    tracked = _tracked(state, name)
    require(tracked > 0, name, "BatchNorm never ran in training mode: call model.train() at the start of train_epoch")
    require(tracked == expected, name, f"with {scenario.n} examples and batch_size={scenario.batch_size} expected "
                                       f"{expected} forward passes in training mode (one per mini-batch), BatchNorm "
                                       f"counted {tracked}")
    _not_stepped(name, state, initial, scenario, seed)
    for key, value in state.items():
        require(np.isfinite(as_array(value, name, key).astype(np.float64)).all(), name,
                f"after {scenario.name} {key} holds NaN or inf")


def _train_repeated(name: str, scenario, record, seed: int) -> None:
    loss = _returned_loss(record, scenario, name)
    initial = _initial_state(scenario, seed)
    state = _state_of(record, scenario, name, initial)
    _not_stepped(name, state, initial, scenario, seed)
    steps = scenario.n // scenario.batch_size
    losses, want = _sgd(scenario, seed, steps)
    if not _compare_state(state, want, name)[0]:
        if _compare_state(state, _sgd(scenario, seed, steps, True)[1], name)[0]:
            fail(name, "gradients piled up from one mini-batch to the next: clear them with optimiser.zero_grad() "
                       "before each backward pass (not once per epoch)")
        for other in range(1, 2 * steps + 1):
            if other != steps and _compare_state(state, _sgd(scenario, seed, other)[1], name)[0]:
                fail(name, f"with {scenario.n} examples and batch_size={scenario.batch_size} expected {steps} SGD "
                           f"steps, one per mini-batch, but the parameters are those after {other}")
        fail(name, f"on {scenario.name} the parameters differ from {steps} SGD steps on the mean cross-entropy of "
                   "each mini-batch (gradients cleared before each backward pass)")
    mean = float(np.mean(losses))
    if not _all_close(loss, mean):
        hint = " (not the last batch's loss)" if _all_close(loss, losses[-1]) else ""
        fail(name, f"on {scenario.name} returned loss {loss:.6g}, expected the mean of the mini-batch losses "
                   f"{mean:.6g}{hint}")


_SCENARIO_CHECKS = (_train_full_batch, _train_minibatches, _train_repeated)


def train_epoch(records, seed: int = 0) -> None:
    """One full-batch step recomputed exactly, four mini-batch passes counted, four identical steps recomputed."""
    name = "train_epoch"
    records = _records(records, len(plans.TRAIN_SCENARIOS), name)
    for check, scenario, record in zip(_SCENARIO_CHECKS, plans.TRAIN_SCENARIOS, records):
        check(name, scenario, record, seed)


# ----------------------------------------------------------------------------- evaluate

@functools.lru_cache(maxsize=4)
def _evaluate_expected(seed: int) -> tuple[float, float]:
    model, x, y = plans.evaluate_setup(seed)
    model.eval()
    with torch.no_grad():
        logits = model(x)
        return F.cross_entropy(logits, y).item(), (logits.argmax(-1) == y).double().mean().item()


def _pair(record, name: str, which: str) -> tuple[float, float]:
    result = value_of(record, name, f"on the {which} call")
    require(isinstance(result, tuple | list) and len(result) == 2, name,
            f"must return a pair (mean loss, accuracy), got {describe(result)}")
    return as_float(result[0], name, "the mean loss"), as_float(result[1], name, "the accuracy")


def evaluate(records, seed: int = 0) -> None:
    """Eval-mode loss and accuracy recomputed; the same twice; no graph built."""
    name = "evaluate"
    record, = _records(records, 1, name)
    first = _pair(_field(record, "first", name), name, "first")
    second = _pair(_field(record, "second", name), name, "second")
    calls = value_of(_field(record, "probe_calls", name), name, "")
    ok = isinstance(calls, list) and all(isinstance(c, tuple) and len(c) == 2 and all(isinstance(b, bool) for b in c)
                                         for c in calls)
    require(ok and calls, name, "the model was never called")
    want_loss, want_acc = _evaluate_expected(seed)
    if not (_all_close(first[0], want_loss) and _all_close(first[1], want_acc)):
        if any(training for training, _ in calls):
            fail(name, "the model was in training mode while evaluating (dropout on, BatchNorm on batch statistics): "
                       "call model.eval() first")
        fail(name, f"expected (mean cross-entropy, accuracy) = ({want_loss:.4f}, {want_acc:.4f}) in evaluation mode, "
                   f"got ({first[0]:.4f}, {first[1]:.4f})")
    require(_all_close(second, first), name, "two evaluations of the same model differ: dropout is still active")
    require(not any(training for training, _ in calls), name,
            "the model was in training mode during a call: call model.eval() before evaluating")
    require(not any(grad for _, grad in calls), name, "gradients were tracked while evaluating: use torch.no_grad()")


# ----------------------------------------------------------------------------- metrics

def _entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(-1)


def _expected_metric(name: str, case) -> np.ndarray | float:
    probs = case.probs.double().numpy()
    if name == "predictive_entropy":
        return _entropy(probs.mean(0))
    if name == "mutual_information":
        return _entropy(probs.mean(0)) - _entropy(probs).mean(0)
    labels = case.labels.numpy()
    if name == "negative_log_likelihood":
        return float(-np.log(probs[np.arange(len(labels)), labels]).mean())
    n_bins = case.n_bins or 15
    confidence, predicted = probs.max(-1), probs.argmax(-1)
    index = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)  # bins (b/B, (b+1)/B]
    ece = 0.0
    for b in np.unique(index):
        members = index == b
        ece += members.mean() * abs((predicted[members] == labels[members]).mean() - confidence[members].mean())
    return ece


_HINTS = {
    ("predictive_entropy", "uniform"): "uniform predictions over K=5 classes must have entropy log(5) (natural log)",
    ("predictive_entropy", "one-hot"): "certain one-hot predictions must have entropy 0 (treat 0·log 0 as 0, not NaN)",
    ("predictive_entropy", "split"): "samples split between two certain answers must have predictive entropy log 2: "
                                     "it is the entropy of the MEAN prediction, not the mean entropy of the samples",
    ("mutual_information", "identical"): "identical samples must have zero mutual information",
    ("mutual_information", "one-hot"): "identical one-hot samples must have mutual information 0 (treat 0·log 0 as "
                                       "0, not NaN)",
    ("mutual_information", "split"): "samples split between two certain answers must have mutual information log 2 "
                                     "(entropy of the mean minus the mean entropy of the samples)",
    ("expected_calibration_error", "calibrated"): "4 predictions at confidence 0.75 with 3 right are perfectly "
                                                  "calibrated: ECE must be 0",
    ("expected_calibration_error", "edge"): "with n_bins=5 a confidence of exactly 0.6 belongs to the bin (0.4, 0.6] "
                                            "(bins are closed on the right), apart from 0.7 in (0.6, 0.8]",
    ("negative_log_likelihood", "hand"): "NLL of probabilities [0.5, 0.1] for the true labels is the mean of "
                                         "-log (natural log)",
}


def _metric_value(name: str, case, record) -> np.ndarray:
    shape = tuple(case.probs.shape)
    value = value_of(record, name, f"on probs of shape {shape}")
    if isinstance(value, wire.Object) or value is None or isinstance(value, (str, dict)):
        fail(name, f"must return numbers, got {describe(value)}")
    if name in ("predictive_entropy", "mutual_information"):
        got = as_array(value, name, "the result")
        require(got.shape == (shape[1],), name, f"for probs of shape (T, N, K) = {shape} expected one value per input, "
                                               f"shape ({shape[1]},), got shape {got.shape}")
        return got.astype(np.float64)
    return np.float64(as_float(value, name, "the result"))


def _metric_hint(name: str, case, got, want) -> str:
    """A word on a classic mistake when the wrong value matches it."""
    with np.errstate(all="ignore"):
        if np.isnan(got).any():
            return " (NaN: treat 0·log 0 as 0, e.g. with torch.special.xlogy)"
        if _all_close(got * math.log(2), want) and np.any(np.abs(want) > 1e-3):
            return " (that is base 2: use natural logarithms)"
        if name == "mutual_information" and _all_close(-got, want):
            return " (wrong sign: entropy of the mean minus the mean of the samples' entropies)"
        if name == "expected_calibration_error" and case.purpose == "edge" and _all_close(got, 0.15):
            return " (bins closed on the left put 0.6 with 0.7)"
        if name == "negative_log_likelihood" and _all_close(got, want * len(case.labels)):
            return " (that is the sum: take the mean over inputs)"
    return ""


def metric(records, name: str, seed: int = 0) -> None:
    """Hand-checkable cases in words first, then random samples against values recomputed here."""
    cases = plans.metric_cases(name, seed)
    records = _records(records, len(cases), name)
    for case, record in zip(cases, records):
        got, want = _metric_value(name, case, record), _expected_metric(name, case)
        if _all_close(got, want):
            continue
        hint = _metric_hint(name, case, got, np.asarray(want))
        shown = f"{float(np.ravel(got)[0]):.6g}" if np.size(got) else "nothing"
        if case.purpose != "random":
            fail(name, f"{_HINTS[(name, case.purpose)]}; got {shown}{hint}")
        dtype = str(case.probs.dtype).replace("torch.", "")
        fail(name, f"differs from the expected values on random {dtype} probabilities of shape "
                   f"{tuple(case.probs.shape)}{'' if case.n_bins is None else f' with n_bins={case.n_bins}'}{hint}")
