"""Visible checks for the capstone (chapter 8): your network's loss, its gradients, your training loop.

The gradient check compares your gradients with central differences of your own loss, so it
needs no answer to compare with: it asks whether your backward pass is the derivative of your
forward pass. The hidden tests also recompute the network and check where dropout goes.
"""
from __future__ import annotations

import numpy as np

from ._core import call_quietly, crashed, fail, require, visible_check
from .properties import close, difference_tolerance

SHAPES = {"W1": (12, 24), "b1": (24,), "W2": (24, 3), "b2": (3,)}


def _params(rng) -> dict:
    return {name: rng.standard_normal(shape) / np.sqrt(shape[0] if len(shape) == 2 else 4)
            for name, shape in SHAPES.items()}


def _call(fn, name, params, x, y, p_drop, train, rng):
    where = f"for a batch of {len(x)}, p_drop={p_drop}, train={train}"
    try:
        (result, _) = call_quietly(fn, {k: v.copy() for k, v in params.items()}, x, y, p_drop, train, rng)
    except Exception as err:  # noqa: BLE001 - any crash becomes a sentence
        crashed(name, err, where)
    require(isinstance(result, tuple | list) and len(result) == 2, name, "must return a pair (loss, grads)")
    loss, grads = result
    require(np.ndim(loss) == 0 and np.isfinite(float(loss)), name, f"the loss must be a finite number ({where})")
    require(isinstance(grads, dict) and set(SHAPES) <= set(grads), name, 'grads must be a dict with the keys "W1", "b1", "W2", "b2"')
    for key, shape in SHAPES.items():
        require(np.shape(grads[key]) == shape, name, f'grads["{key}"] must have shape {shape}, got {np.shape(grads[key])}')
    return float(loss), {k: np.asarray(grads[k], dtype=np.float64) for k in SHAPES}


def _batch(rng, params, n=16):
    """A batch whose ReLU inputs all lie at least 1e-3 from the kink (a finite difference across one measures nothing)."""
    while True:
        x, y = rng.standard_normal((n, SHAPES["W1"][0])), rng.integers(0, SHAPES["b2"][0], size=n)
        z = x @ params["W1"] + params["b1"]
        if np.abs(z).min() >= 1e-3:
            return x, y, np.abs(z).min()


def _gradient_check(fn, name, params, x, y, margin, p_drop, train, rng, seed):
    """Central differences along 3 random directions, each call with a generator of the same seed."""
    loss, grads = _call(fn, name, params, x, y, p_drop, train, np.random.default_rng(seed))
    again, _ = _call(fn, name, params, x, y, p_drop, train, np.random.default_rng(seed))
    require(close(loss, again), name, f"two calls with generators seeded alike gave different losses ({loss:.6g} and "
                                      f"{again:.6g}, train={train}): draw the dropout mask from the rng argument")
    for _ in range(3):
        v = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
        norm = np.sqrt(sum((a ** 2).sum() for a in v.values()))
        v = {k: a / norm for k, a in v.items()}
        eps = min(1e-5, 0.25 * margin / np.abs(x @ v["W1"] + v["b1"]).max())
        up, _ = _call(fn, name, {k: params[k] + eps * v[k] for k in SHAPES}, x, y, p_drop, train, np.random.default_rng(seed))
        down, _ = _call(fn, name, {k: params[k] - eps * v[k] for k in SHAPES}, x, y, p_drop, train, np.random.default_rng(seed))
        numeric = (up - down) / (2 * eps)
        analytic = sum(float((grads[k] * v[k]).sum()) for k in SHAPES)
        require(close(numeric, analytic, difference_tolerance(up, down, eps)), name,
                f"gradient check (train={train}, p_drop={p_drop}): along a random direction your loss changes at the rate "
                f"{numeric:.6g}, your grads say {analytic:.6g}: the backward pass does not match the forward"
                + (" (is the mask and the scale applied in backward too?)" if train and p_drop else ""))
    return loss, grads


def _batch_mask(fn, name, params, rng, calls: int = 3) -> None:
    """Examples 3 * e_i: row i of the W1 gradient is 3 times example i's hidden gradient, exactly 0 where dropped.

    A correct mask (p_drop = 0.5) makes the pairs of examples agree on every unit active in both with
    probability 0.5 ** (decisions shared): 87 at seed 0 (below 1e-20), at least 27 for any seed below 1000
    (below 1e-8); every example's active units alike is rarer still (6 or more active units per example).
    """
    n, d = 8, SHAPES["W1"][0]
    x = np.zeros((n, d))
    x[np.arange(n), np.arange(n)] = 3.0
    active = x @ params["W1"] + params["b1"] > 0
    kept = []
    for _ in range(calls):
        _, grads = _call(fn, name, params, x, np.arange(n) % SHAPES["b2"][0], 0.5, True, rng)
        kept.append(np.asarray(grads["W1"])[:n] != 0)
    rows_alike = all(len(set(k[i][active[i]])) <= 1 for k in kept for i in range(n))
    require(not rows_alike, name, "in training every example kept all its hidden units or none: keep each unit "
                                  "independently (a mask of the hidden layer's full shape, not one decision per example)")
    both = [(i, i + 1) for i in range(0, n - 1, 2)]
    shared = all(np.array_equal(k[i][active[i] & active[j]], k[j][active[i] & active[j]]) for k in kept for i, j in both)
    require(not shared, name, "in training the examples of a batch dropped the same hidden units: draw one decision "
                              "per example and unit (a mask of the hidden layer's full shape, not one row shared by the batch)")


@visible_check("fc_net_loss")
def check_fc_net_loss(fn, seed: int = 0) -> None:
    """Gradient checks in evaluation and in training; evaluation is the network with p_drop = 0; fresh masks."""
    name = "fc_net_loss"
    rng = np.random.default_rng(seed)
    params = _params(rng)
    x, y, margin = _batch(rng, params)
    plain, plain_grads = _gradient_check(fn, name, params, x, y, margin, 0.0, True, rng, seed + 1)
    for p_drop in (0.5, 0.2):
        loss, grads = _call(fn, name, params, x, y, p_drop, False, rng)
        require(close(loss, plain) and all(close(grads[k], plain_grads[k]) for k in SHAPES), name,
                f"with train=False (p_drop={p_drop}) the loss and gradients must be those of the network without dropout "
                "(as with p_drop=0): in evaluation inverted dropout does nothing, no mask and no scaling")
    _gradient_check(fn, name, params, x, y, margin, 0.5, True, rng, seed + 2)
    first, _ = _call(fn, name, params, x, y, 0.5, True, rng)
    second, _ = _call(fn, name, params, x, y, 0.5, True, rng)
    require(first != second, name, "two training calls with one generator gave the same loss: draw a fresh mask on every call")
    _batch_mask(fn, name, params, rng)
    zero = {k: np.zeros(s) for k, s in SHAPES.items()}
    loss, _ = _call(fn, name, zero, x, y, 0.0, False, rng)
    require(close(loss, np.log(SHAPES["b2"][0])), name,
            f"with all parameters zero every class has probability 1/K, so the loss must be ln K = {np.log(3):.4f}, got {loss:.6g}")


@visible_check("train_fc_net")
def check_train_fc_net(fn, loss_fn, seed: int = 0) -> None:
    """One call per mini-batch in training, one evaluation per epoch with train=False, a fresh generator state per step."""
    name = "train_fc_net"
    rng = np.random.default_rng(seed)
    params = _params(rng)
    x, y = rng.standard_normal((40, 12)), np.arange(40) % 3
    x[np.arange(40), y] += 3.0  # learnable: the label shows in the inputs
    x_val, y_val = rng.standard_normal((30, 12)), np.arange(30) % 3
    calls = []

    def watched(params, X, y, p_drop, train, rng=None):  # fc_net_loss's names: keywords work too
        state = repr(rng.bit_generator.state) if hasattr(rng, "bit_generator") else None
        calls.append((len(X), p_drop, train, state))
        return loss_fn(params, X, y, p_drop, train, rng)

    epochs, batch = 5, 8
    try:
        result, _ = call_quietly(fn, watched, params, x, y, x_val, y_val, 0.5, 0.1, epochs, batch, rng)
    except Exception as err:  # noqa: BLE001
        crashed(name, err, f"for {epochs} epochs of mini-batches of {batch}")
    require(isinstance(result, tuple | list) and len(result) == 2, name, "must return a pair (params, history)")
    trained, history = result
    require(isinstance(trained, dict) and set(SHAPES) <= set(trained), name, 'the trained params must be a dict with the keys "W1", "b1", "W2", "b2"')
    require(isinstance(history, dict) and {"loss", "val_loss"} <= set(history), name,
            'history must be a dict with the keys "loss" and "val_loss"')
    for key in ("loss", "val_loss"):
        require(len(history[key]) == epochs, name, f'history["{key}"] must hold one number per epoch ({epochs}), got {len(history[key])}')
    training = [c for c in calls if c[2] is True]
    evaluation = [c for c in calls if c[2] is not True]
    require(len(training) == epochs * len(x) // batch, name,
            f"loss_fn was called {len(training)} times with train=True; expected one call per mini-batch, {epochs * len(x) // batch}")
    require(all(c[2] is False and c[0] == len(x_val) for c in evaluation) and len(evaluation) == epochs, name,
            "evaluate the whole validation set once per epoch, with train=False (dropout off)")
    require(all(c[1] == 0.5 for c in training), name, "pass p_drop on to loss_fn in training")
    states = [c[3] for c in training]
    require(None not in states and len(set(states)) == len(states), name,
            "two training steps got a generator in the same state, so they drew the same mask: pass the one rng on")
    if not history["loss"][-1] < history["loss"][0]:
        fail(name, f"the training loss did not fall: {history['loss'][0]:.4g} in the first epoch, "
                   f"{history['loss'][-1]:.4g} in the last (step params[name] -= lr * grads[name])")
