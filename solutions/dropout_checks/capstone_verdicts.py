"""Verdicts on the capstone (chapter 8): a dropout network's loss, gradients and training (trusted side).

The network (:mod:`dropout_collect.capstone_plans`) is recomputed here from the regenerated
inputs. In evaluation, and in training with ``p_drop = 0``, it is deterministic and compared
exactly. In training with one example, the gradient of ``b1`` is the hidden layer's gradient, zero
exactly where a unit was dropped: the mask it shows is checked against the rule (kept fraction,
fresh draws), and the loss and every gradient are recomputed with it. A batch of scaled unit
vectors shows its whole mask in the ``W1`` gradient likewise (independent across examples and
units, which one-example calls cannot see). On a batch, the analytic
gradient is compared with central differences of the student's own loss, the mask held fixed by
seeding the generator alike. The training loop is judged on what its loss function saw (every
step's update included, on projections of params and grads) and on the trained parameters,
evaluated here. What the loss function saw is recorded inside the student's kernel: a loop that
rewrites that record (reaching the watcher's closure) is flagged for review, not caught here.
"""
from __future__ import annotations

import numpy as np

from dropout_collect import capstone_plans as plans
from dropout_kit.properties import SGD_STEP, close, difference_tolerance

from . import masks
from ._core import DELTA, as_array, describe, fail, require, value_of

PARAMS = tuple(plans.PARAM_SHAPES)


# ----------------------------------------------------------------------------- the network, recomputed

def network(params: dict, x: np.ndarray, y: np.ndarray, keep=None, scale: float = 1.0):
    """``(loss, grads)`` with the hidden layer multiplied by ``keep * scale`` (``keep`` None: nothing dropped)."""
    z1 = x @ params["W1"] + params["b1"]
    factor = scale * (np.ones_like(z1) if keep is None else keep)
    hidden = np.maximum(z1, 0.0) * factor
    scores = hidden @ params["W2"] + params["b2"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    dscores /= n
    dz1 = (dscores @ params["W2"].T) * factor * (z1 > 0)
    return float(loss), {"W1": x.T @ dz1, "b1": dz1.sum(axis=0), "W2": hidden.T @ dscores, "b2": dscores.sum(axis=0)}


# ----------------------------------------------------------------------------- fc_net_loss

NAME = "fc_net_loss"
SOFTMAX_HINT = ("the gradient of the mean softmax loss with respect to the scores is (softmax(scores) - one_hot(y)) / N")


def _loss_and_grads(record, where: str, name: str = NAME) -> tuple[float, dict]:
    result = value_of(record, name, where)
    require(isinstance(result, tuple | list) and len(result) == 2, name, "must return a pair (loss, grads)")
    loss, grads = result
    try:
        loss = float(np.asarray(loss, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        fail(name, f"the loss must be a number, got {describe(loss)}")
    require(np.isfinite(loss), name, f"the loss is {loss} {where}")
    require(isinstance(grads, dict) and set(PARAMS) <= set(grads), name,
            f"grads must be a dict with the keys {', '.join(PARAMS)}")
    arrays = {}
    for key in PARAMS:
        arrays[key] = as_array(grads[key], name, f'grads["{key}"]')
        require(arrays[key].shape == plans.PARAM_SHAPES[key], name,
                f'grads["{key}"] must have the shape of params["{key}"], {plans.PARAM_SHAPES[key]}; got {arrays[key].shape}')
    return loss, arrays


def _compare(name, where, loss, grads, want_loss, want_grads, mismatch_hint: str) -> None:
    require(close(loss, want_loss), name, f"the loss {where} is {loss:.6g}, expected {want_loss:.6g} ({mismatch_hint})")
    for key in ("b2", "W2", "b1", "W1"):  # from the output back: the first wrong one names the cause
        if not close(grads[key], want_grads[key]):
            hint = SOFTMAX_HINT if key in ("W2", "b2") else "backpropagate through the second affine layer, " \
                   "the dropout mask and scale, and the ReLU"
            fail(name, f'grads["{key}"] {where} differs from the gradient of your loss ({hint})')


def _plain(name, call, params, x, y, record) -> None:
    where = f"with train={call.train}, p_drop={call.p_drop} on {call.n} examples"
    loss, grads = _loss_and_grads(record, where)
    want_loss, want_grads = network(params, x, y)
    hint = ("in evaluation inverted dropout does nothing: no mask, no scaling" if not call.train
            else "with p_drop=0 nothing is dropped and the scale is 1")
    _compare(name, where, loss, grads, want_loss, want_grads, hint)


def _read_keep(call, grads) -> np.ndarray:
    """The keep decisions ``(N, H)`` a training call's gradients show (zero on inactive units).

    A dropped unit's gradient is dout * 0 * scale: exactly 0.0 in any float arithmetic. A kept active unit's
    is exactly 0.0 only if its weighted sum of dscores cancels to the last bit (far below 1e-15 per unit), so
    exact zeros, not a threshold, tell the two apart (a relative threshold would misread ~1e-9 of the kept units).
    One example: the b1 gradient is its hidden gradient. A "rows" batch: row i of the W1 gradient is
    ROW_SCALE times example i's (:func:`plans.rows_batch`).
    """
    if call.purpose == "rows":
        return grads["W1"][:call.n] != 0
    return (grads["b1"] != 0)[None]


def _exact_keep(name, call, params, x, y, record) -> tuple[np.ndarray, np.ndarray]:
    """The keep decisions of a training call whose mask can be read, checked exactly: ``(kept, active)``, (N, H)."""
    examples = "one example" if call.n == 1 else f"a batch of {call.n}"
    where = f"with train=True, p_drop={call.p_drop} on {examples}"
    loss, grads = _loss_and_grads(record, where)
    active = (x @ params["W1"] + params["b1"]) > 0
    keep = _read_keep(call, grads).astype(float)
    scale = 1.0 / (1.0 - call.p_drop)
    want_loss, want_grads = network(params, x, y, keep, scale)
    if not close(loss, want_loss):
        if keep[active].all():
            fail(name, f"on {examples} in training (p_drop={call.p_drop}) your gradients show no hidden unit dropped, "
                       f"but the loss {loss:.6g} is not that of the network without dropout ({want_loss:.6g}): apply dropout "
                       "to the hidden layer (after the ReLU, never to the output scores) of every example, and multiply "
                       "the gradient by the same mask and scale in the backward pass")
        if close(loss, network(params, x, y, keep, 1.0)[0]):
            fail(name, f"in training the kept hidden units must be scaled by 1/(1-p_drop) = {scale:.4g} (inverted "
                       "dropout); they were not scaled")
        fail(name, f"on {examples} in training (p_drop={call.p_drop}) the loss {loss:.6g} is not that of the network "
                   f"with the hidden units your gradients show kept ({want_loss:.6g}): dropout goes on the hidden "
                   "layer after the ReLU, scaled by 1/(1-p_drop), and backward uses the same mask")
    _compare(name, where, loss, grads, want_loss, want_grads, "")
    return keep.astype(bool), active


def _rows_independent(name, batches) -> None:
    """Within a batch, no decision is shared by two examples or by two units of one example."""
    first, second, left, right = [], [], [], []
    for keep, active in batches:
        for a in range(0, len(keep) - 1, 2):  # examples 0 and 1, 2 and 3, ...: units active in both
            both = active[a] & active[a + 1]
            first.append(keep[a][both])
            second.append(keep[a + 1][both])
        for row, on in zip(keep, active):     # within an example: its 1st and 2nd active unit, 3rd and 4th, ...
            units = row[on]
            pairs = len(units) // 2
            left.append(units[0:2 * pairs:2])
            right.append(units[1:2 * pairs:2])
    p = plans.SINGLE_P
    across = masks.independent_draws(np.concatenate(first), np.concatenate(second), p)
    require(across.passed, name, f"two examples of one batch agreed on {across.summary('keep decisions')}: draw one "
                                 "decision per example and unit (a mask of the hidden layer's full shape, not one row "
                                 "shared by the batch)")
    within = masks.independent_draws(np.concatenate(left), np.concatenate(right), p)
    require(within.passed, name, f"two hidden units of one example agreed on {within.summary('keep decisions')}: "
                                 "keep each unit independently (a mask of the hidden layer's full shape, not one "
                                 "decision per example)")


def _gradient_check(name, seed, calls_records) -> None:
    """Central differences of the student's own loss along random directions, the mask held fixed."""
    (first_call, first), (_, again) = calls_records[:2]
    where = f"with train=True, p_drop={first_call.p_drop} on a batch of {first_call.n}"
    loss, grads = _loss_and_grads(first, where)
    repeat, _ = _loss_and_grads(again, where)
    require(close(loss, repeat), name, "two calls with generators seeded alike gave different losses "
                                       f"({loss:.6g} and {repeat:.6g}): draw the dropout mask from the rng argument")
    for d in range(plans.DIRECTIONS):
        (_, plus), (_, minus) = calls_records[2 + 2 * d: 4 + 2 * d]
        up, _ = _loss_and_grads(plus, where)
        down, _ = _loss_and_grads(minus, where)
        eps = plans.step_size(seed, d)
        numeric = (up - down) / (2 * eps)
        v = plans.direction(seed, d)
        analytic = sum(float((grads[k] * v[k]).sum()) for k in PARAMS)
        require(close(numeric, analytic, difference_tolerance(up, down, eps)), name,
                f"gradient check {where}: along a random direction your loss changes at the rate {numeric:.6g} "
                f"(central differences, step {eps:.2g}, same mask), your grads say {analytic:.6g}: the backward "
                "pass does not match the forward (is the mask and the scale applied in backward too?)")


def fc_net_loss(records, seed: int = 0) -> None:
    """Plain network in evaluation; exact one-example training calls; a gradient check on a batch."""
    inputs = plans.loss_inputs(seed)
    require(isinstance(records, list) and len(records) == len(inputs) and all(isinstance(r, dict) for r in records),
            NAME, "the hidden test did not run to the end (did an answer cell redefine something it uses?)")
    singles, batches, checks = [], [], []
    for (call, params, x, y), record in zip(inputs, records):
        if call.purpose in ("eval", "p0"):
            _plain(NAME, call, params, x, y, record)
        elif call.purpose in ("single", "rows"):
            keep, active = _exact_keep(NAME, call, params, x, y, record)
            (singles if call.purpose == "single" else batches).append((keep[0], active[0]) if call.n == 1 else (keep, active))
        else:
            checks.append((call, record))
    _gradient_check(NAME, seed, checks)
    kept = np.concatenate([keep[active] for keep, active in singles + batches])
    fraction = masks.kept_fraction(kept, plans.SINGLE_P)
    require(fraction.passed, NAME,
            f"kept {fraction.observed:.3f} of {fraction.events} active hidden units over {len(singles) + len(batches)} calls "
            f"with p_drop={plans.SINGLE_P}, expected {fraction.expected:.3f} ± {fraction.tolerance:.3f} (p_drop is the "
            f"probability of DROPPING; a correct mask fails this with probability < {DELTA:g})")
    pairs = list(zip(singles[0::2], singles[1::2]))
    first = np.concatenate([a[0][a[1]] for a, _ in pairs])
    second = np.concatenate([b[0][a[1]] for a, b in pairs])
    if np.array_equal(first, second):
        fail(NAME, f"two training calls on the same example always dropped the same hidden units ({len(pairs)} pairs): "
                   "draw a fresh mask from rng on every call (do not keep or reseed one)")
    test = masks.independent_draws(first, second, plans.SINGLE_P)
    require(test.passed, NAME, f"two training calls on the same example agreed on {test.summary('keep decisions')}: "
                               "draw a fresh mask from rng on every call")
    _rows_independent(NAME, batches)


# ----------------------------------------------------------------------------- train_fc_net

TRAIN = "train_fc_net"
# Bands for a correct loop on the plan's data, with dropout at TRAIN_P: after training, the training loss
# (evaluation mode) is at most FALL times the one before, and the gap (validation minus training loss, both
# in evaluation mode) lies in GAP. Measured with the reference loop over 400 seeds, shuffled and in order
# (800 runs): the ratio was at most 0.031, the gap 0.30 on average (sd 0.037, range 0.22 to 0.43). GAP's
# ends lie 8 and 9.7 standard deviations from the mean, FALL over 50 from the largest ratio: for tails no
# heavier than a normal one, a correct loop fails with probability < 1e-15 (< 1e-12 for a class of 500).
# This is an estimate from the measured spread, not a bound like the mask tests' Hoeffding bounds.
# Measured without dropout the gap is 0.31 (sd 0.037): on this small data set dropout barely narrows it,
# so the band checks that training worked and generalises as it should, not that dropout was on
# (the calls to loss_fn show that).
FALL = 0.25
GAP = (0.0, 0.66)


def _trained(record) -> tuple[dict, dict]:
    result = value_of(record, TRAIN, "on the chapter's training data")
    require(isinstance(result, tuple | list) and len(result) == 2, TRAIN, "must return a pair (params, history)")
    params, history = result
    require(isinstance(params, dict) and set(PARAMS) <= set(params), TRAIN,
            f"the trained params must be a dict with the keys {', '.join(PARAMS)}")
    arrays = {}
    for key in PARAMS:
        arrays[key] = as_array(params[key], TRAIN, f'params["{key}"]')
        require(arrays[key].shape == plans.PARAM_SHAPES[key] and np.isfinite(arrays[key]).all(), TRAIN,
                f'the trained params["{key}"] must be finite numbers of shape {plans.PARAM_SHAPES[key]}')
    require(isinstance(history, dict) and {"loss", "val_loss"} <= set(history), TRAIN,
            'history must be a dict with the keys "loss" and "val_loss"')
    curves = {}
    for key in ("loss", "val_loss"):
        values = as_array(history[key], TRAIN, f'history["{key}"]')
        require(values.dtype.kind in "iuf", TRAIN, f'history["{key}"] must be a list of numbers')
        curves[key] = values.astype(np.float64).ravel()
        require(curves[key].size == plans.EPOCHS, TRAIN,
                f'history["{key}"] must hold one number per epoch ({plans.EPOCHS}), got {curves[key].size}')
    return arrays, curves


def _epochs(calls) -> list[tuple[list[dict], list[dict]]]:
    """The loss function's calls, epoch by epoch: ``(training calls, evaluation calls)``."""
    steps = plans.TRAIN_N // plans.TRAIN_BATCH
    require(isinstance(calls, list) and all(isinstance(c, dict) for c in calls), TRAIN,
            "the hidden test did not run to the end")
    # Told apart by size (the validation set is larger than any mini-batch), so a wrong flag is named as such.
    evaluation = [c for c in calls if c.get("n") == plans.VAL_N]
    training = [c for c in calls if c.get("n") != plans.VAL_N]
    for c in evaluation:
        require(c.get("train") is False, TRAIN, "the validation loss must be computed with train=False: dropout is off "
                                                f"at evaluation (got train={c.get('train')})")
    for c in training:
        require(c.get("train") is True, TRAIN, f"every training step must call loss_fn with train=True (dropout on), "
                                               f"got train={c.get('train')}")
        require(c.get("n") == plans.TRAIN_BATCH, TRAIN, f"every mini-batch must hold batch_size={plans.TRAIN_BATCH} "
                                                        f"examples, got {c.get('n')}")
        require(c.get("p_drop") == plans.TRAIN_P, TRAIN, f"loss_fn must get the p_drop it was given ({plans.TRAIN_P}), "
                                                         f"got {c.get('p_drop')}")
    require(len(training) == plans.EPOCHS * steps, TRAIN,
            f"loss_fn was called {len(training)} times on mini-batches, expected one call per mini-batch: "
            f"{plans.EPOCHS} epochs of {steps} mini-batches of {plans.TRAIN_BATCH}")
    require(len(evaluation) == plans.EPOCHS, TRAIN,
            f"loss_fn was called {len(evaluation)} times on the validation set ({plans.VAL_N} examples), expected once "
            f"per epoch ({plans.EPOCHS}), with train=False")
    states = [c.get("rng") for c in training]
    require(all(isinstance(s, int) for s in states), TRAIN, "pass the rng you were given to loss_fn in training")
    require(len(set(states)) == len(states), TRAIN,
            "two training steps got a generator in the same state, so they drew the same dropout mask: pass the one "
            "rng on to every step (do not create or reseed a generator inside the loop)")
    order = [c.get("n") != plans.VAL_N for c in calls]
    per_epoch = []
    for e in range(plans.EPOCHS):
        chunk = order[e * (steps + 1): (e + 1) * (steps + 1)]
        require(chunk == [True] * steps + [False], TRAIN,
                f"each epoch must run its {steps} training steps, then evaluate the validation set once")
        per_epoch.append((calls[e * (steps + 1): e * (steps + 1) + steps], [calls[e * (steps + 1) + steps]]))
    return per_epoch


STEP_WORDS = {"p:": "params", "g:": "grads"}


def _steps(calls, trained: dict, seed: int) -> None:
    """Each call's params are the previous call's minus ``lr`` times its grads (unchanged after an evaluation),
    and the returned params are the last call's: plain SGD on every parameter, with the lr it was given."""
    keys = [prefix + name for prefix in STEP_WORDS for name in PARAMS]
    for c in calls:
        require(all(isinstance(c.get(k), float) for k in keys if k.startswith("p:") or c.get("train") is True), TRAIN,
                "loss_fn must get params as a dict of arrays of the given shapes, and return grads with the same keys "
                "and shapes")
    probes = plans.probes(seed)
    final = {name: float((trained[name] * probes[name]).sum()) for name in PARAMS}
    for step, (now, after) in enumerate(zip(calls, calls[1:] + [None])):
        for name in PARAMS:
            want = now["p:" + name] - (plans.LR * now["g:" + name] if now.get("train") is True else 0.0)
            got = final[name] if after is None else after["p:" + name]
            if not close(got, want, SGD_STEP):
                what = ("the returned params are not the last step's" if after is None
                        else f'params["{name}"] after call {step + 1} of loss_fn are not the previous params')
                fail(TRAIN, f"{what} minus lr * grads (lr={plans.LR}, plain SGD; unchanged by the evaluation): update "
                            f'every parameter by params[name] -= lr * grads[name] after each training step, and '
                            f'nothing else ({name}: {got:.6g}, expected {want:.6g})')


def train_fc_net(records, seed: int = 0) -> None:
    """SGD with dropout on, evaluation with it off, once per epoch; the trained network judged here."""
    require(isinstance(records, list) and len(records) == 2 and all(isinstance(r, dict) for r in records), TRAIN,
            "the hidden test did not run to the end (did an answer cell redefine something it uses?)")
    params, curves = _trained(records[0])
    calls = value_of(records[1], TRAIN, "")
    for e, (steps, (evaluation,)) in enumerate(_epochs(calls)):
        losses = [c.get("loss") for c in steps] + [evaluation.get("loss")]
        require(all(isinstance(v, float) for v in losses), TRAIN,
                f"loss_fn did not return a number as the loss in epoch {e + 1}")
        require(close(curves["loss"][e], np.mean(losses[:-1])), TRAIN,
                f'history["loss"][{e}] must be the mean of that epoch\'s mini-batch losses ({np.mean(losses[:-1]):.6g}), '
                f"got {curves['loss'][e]:.6g}")
        require(close(curves["val_loss"][e], losses[-1]), TRAIN,
                f'history["val_loss"][{e}] must be the loss loss_fn returned on the validation set that epoch')
    x, y, x_val, y_val = plans.training_data()
    start = network(plans.initial_params(seed), x, y)[0]
    train_loss, val_loss = network(params, x, y)[0], network(params, x_val, y_val)[0]
    require(close(curves["val_loss"][-1], val_loss), TRAIN,
            f"the returned params give a validation loss of {val_loss:.6g} without dropout, but the last entry of "
            f'history["val_loss"] is {curves["val_loss"][-1]:.6g}: return the trained params, and evaluate with '
            "train=False")
    require(train_loss <= FALL * start, TRAIN,
            f"training did not lower the loss enough: {start:.4g} before, {train_loss:.4g} after {plans.EPOCHS} epochs "
            f"(at most {FALL:g} times the start is expected; step params -= lr * grads)")
    gap = val_loss - train_loss
    require(GAP[0] <= gap <= GAP[1], TRAIN,
            f"the trained network's validation loss minus its training loss (both without dropout) is {gap:.4g}; "
            f"training with dropout as stated gives {GAP[0]:g} to {GAP[1]:g}")
    _steps(calls, params, seed)  # last: a loop that trains badly is told that first, in the band's words
