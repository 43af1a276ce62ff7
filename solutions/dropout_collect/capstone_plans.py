"""The capstone's hidden-test inputs (chapter 8): a small network's parameters, batches and data.

As in :mod:`plans`, the collector (in the kernel) and the checker (trusted) build the same
inputs from the same seed. The network is ``X (N, D) -> affine -> ReLU -> dropout -> affine ->
softmax loss`` with ``params = {"W1" (D, H), "b1" (H,), "W2" (H, K), "b2" (K,)}``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plans import array_for, student_rng

D, H, K = 12, 24, 3
PARAM_SHAPES = {"W1": (D, H), "b1": (H,), "W2": (H, K), "b2": (K,)}
BATCH = 16
MIN_PREACTIVATION = 1e-3   # every ReLU input of the gradient check's batch is at least this far from the kink


def network_params(seed: int, key: int) -> dict:
    """Parameters of the gradient tests: standard normal scaled so the scores stay of order one."""
    return {name: array_for(seed, key + i, shape, positive=False) / np.sqrt(shape[0] if len(shape) == 2 else 4)
            for i, (name, shape) in enumerate(PARAM_SHAPES.items())}


def labelled_batch(seed: int, key: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = array_for(seed, key, (n, D), positive=False)
    y = np.random.default_rng([seed, key, 2]).integers(0, K, size=n)
    return x, y


# ----------------------------------------------------------------------------- fc_net_loss

@dataclass(frozen=True)
class LossCall:
    """One call ``fc_net_loss(params, X, y, p_drop, train, rng)`` of the hidden test.

    ``purpose``: "eval" and "p0" (the plain network: exact), "single" (one example in training:
    its ``b1`` gradient shows which hidden units were kept, so the whole call is recomputed
    exactly; two calls share a ``key``, so two masks drawn on one input are compared), "rows" (a
    batch of scaled basis vectors, :func:`rows_batch`: row i of the ``W1`` gradient is the hidden
    gradient of example i, so the whole mask of a batch is read and recomputed exactly), "check"
    (a batch in training with a generator of seed ``rng_key``, the analytic gradient of the
    gradient check), "plus"/"minus" (the same batch and seed at ``params ± eps * direction``).
    """
    purpose: str
    p_drop: float
    train: bool
    n: int
    key: int
    direction: int = -1
    rng_key: int = -1


SINGLE_P = 0.25      # with ~12 of 24 hidden units active per example, 40 examples give ~480 keep decisions
SINGLE_PAIRS = 20
ROWS_N, ROWS_CALLS, ROW_SCALE = 8, 8, 3.0  # ~12 active units a row: ~770 keep decisions, ~190 shared by row pairs
CHECK_P = 0.5
DIRECTIONS = 4


def loss_plan() -> list[LossCall]:
    calls = [LossCall("eval", 0.5, False, BATCH, 700), LossCall("eval", 0.3, False, BATCH, 701),
             LossCall("p0", 0.0, True, BATCH, 702)]
    calls += [LossCall("single", SINGLE_P, True, 1, 710 + pair) for pair in range(SINGLE_PAIRS) for _ in range(2)]
    calls += [LossCall("rows", SINGLE_P, True, ROWS_N, 730 + i) for i in range(ROWS_CALLS)]
    calls += [LossCall("check", CHECK_P, True, BATCH, 760, rng_key=761), LossCall("check", CHECK_P, True, BATCH, 760, rng_key=761)]
    for d in range(DIRECTIONS):
        calls += [LossCall(sign, CHECK_P, True, BATCH, 760, direction=d, rng_key=761) for sign in ("plus", "minus")]
    return calls


def loss_params(seed: int) -> dict:
    return network_params(seed, 800)


def rows_batch(seed: int, key: int) -> tuple[np.ndarray, np.ndarray]:
    """Example i is ROW_SCALE times the i-th unit vector, so ``X.T @ dz1`` puts example i's hidden gradient,
    times ROW_SCALE, in row i of the ``W1`` gradient (every other term is an exact 0.0 * finite)."""
    x = np.zeros((ROWS_N, D))
    x[np.arange(ROWS_N), np.arange(ROWS_N)] = ROW_SCALE
    return x, np.random.default_rng([seed, key, 2]).integers(0, K, size=ROWS_N)


def check_batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The gradient check's batch: redrawn until no ReLU input lies within MIN_PREACTIVATION of 0.

    A finite difference across the kink of a ReLU measures no derivative; with every input this far
    away and steps that move none of them by more than a quarter of it (:func:`step_size`), none is crossed.
    """
    params = loss_params(seed)
    for attempt in range(1000):
        x, y = labelled_batch(seed, 760 + 1000 * attempt, BATCH)
        if np.abs(x @ params["W1"] + params["b1"]).min() >= MIN_PREACTIVATION:
            return x, y
    raise RuntimeError("no batch without a ReLU input near zero")  # probability < (BATCH * H * 1e-3) ** 1000


def direction(seed: int, d: int) -> dict:
    """A random direction in parameter space, of unit length overall."""
    parts = {name: array_for(seed, 900 + 10 * d + i, shape, positive=False)
             for i, (name, shape) in enumerate(PARAM_SHAPES.items())}
    norm = np.sqrt(sum(float((v ** 2).sum()) for v in parts.values()))
    return {name: v / norm for name, v in parts.items()}


def step_size(seed: int, d: int) -> float:
    """The finite-difference step along direction ``d``: at most 1e-5, and small enough to cross no ReLU kink."""
    x, _ = check_batch(seed)
    params, v = loss_params(seed), direction(seed, d)
    z = x @ params["W1"] + params["b1"]
    dz = np.abs(x @ v["W1"] + v["b1"]).max()
    return float(min(1e-5, 0.25 * np.abs(z).min() / dz))


def moved(params: dict, seed: int, d: int, sign: float) -> dict:
    v, eps = direction(seed, d), step_size(seed, d)
    return {name: params[name] + sign * eps * v[name] for name in PARAM_SHAPES}


def loss_inputs(seed: int) -> list[tuple[LossCall, dict, np.ndarray, np.ndarray]]:
    """``(call, params, X, y)`` for each call of :func:`loss_plan`."""
    params = loss_params(seed)
    inputs = []
    for call in loss_plan():
        if call.purpose in ("check", "plus", "minus"):
            x, y = check_batch(seed)
        elif call.purpose == "rows":
            x, y = rows_batch(seed, call.key)
        else:
            x, y = labelled_batch(seed, call.key, call.n)
        p = params if call.direction < 0 else moved(params, seed, call.direction, 1.0 if call.purpose == "plus" else -1.0)
        inputs.append((call, p, x, y))
    return inputs


def call_rng(seed: int, call: LossCall, shared: np.random.Generator) -> np.random.Generator:
    """The generator a call gets: the shared one, or a new one seeded alike for the gradient check's calls
    (the same seed draws the same mask, so the loss is one function of the parameters)."""
    return shared if call.rng_key < 0 else np.random.default_rng([seed, call.rng_key])


# ----------------------------------------------------------------------------- train_fc_net

# The training data are the same for everyone (their noise is what the band below was measured
# on); the initial parameters, the generator and so the masks come from the run's seed.
DATA_SEED = 2026
TRAIN_N, VAL_N = 60, 300
TRAIN_P, LR, EPOCHS, TRAIN_BATCH = 0.5, 0.1, 60, 10


def training_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Three classes that differ in 2 of D inputs; the other D - 2 are noise a network can memorise."""
    rng = np.random.default_rng([DATA_SEED, 1])
    centers = np.zeros((K, D))
    centers[:, :2] = rng.standard_normal((K, 2)) * 1.5

    def draw(n):
        y = np.arange(n) % K
        return centers[y] + rng.standard_normal((n, D)), y
    x, y = draw(TRAIN_N)
    x_val, y_val = draw(VAL_N)
    return x, y, x_val, y_val


def initial_params(seed: int) -> dict:
    """He-initialised weights, zero biases."""
    rng = np.random.default_rng([seed, 950])
    return {"W1": rng.standard_normal((D, H)) * np.sqrt(2.0 / D), "b1": np.zeros(H),
            "W2": rng.standard_normal((H, K)) * np.sqrt(1.0 / H), "b2": np.zeros(K)}


def training_rng(seed: int) -> np.random.Generator:
    return student_rng(seed)


def probes(seed: int) -> dict:
    """One random unit vector per parameter: the loss function's watcher sends ``params`` and ``grads`` projected
    on them, so the checker sees every step's update (a step that is not ``params -= lr * grads`` shows)."""
    rng = np.random.default_rng([seed, 960])
    vectors = {name: rng.standard_normal(shape) for name, shape in PARAM_SHAPES.items()}
    return {name: v / np.linalg.norm(v) for name, v in vectors.items()}
