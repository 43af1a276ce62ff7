"""Small, exact or Monte Carlo checks for chapters 2 and 7 (DropConnect inference, recurrent masks,
embedding dropout, DropPath). Everything is numpy, seeded, and runs in well under a second."""
from __future__ import annotations

import numpy as np


def relu(u: np.ndarray) -> np.ndarray:
    return np.maximum(u, 0.0)


def dropconnect_inference(W: np.ndarray, v: np.ndarray, p_drop: float, activation=relu,
                          n_masks: int = 20000, n_gauss: int = 20000, seed: int = 0) -> dict:
    """Three test-time answers for one DropConnect layer ``a = f((M * W) v)`` (Wan et al. 2013,
    no inverted scaling, ``M_ij ~ Bernoulli(q)``, ``q = 1 - p_drop``):

    - ``"mc"``: the average of ``f`` over ``n_masks`` random weight masks (the target);
    - ``"gaussian"``: moment matching, ``u ~ N(q W v, q(1-q) (W*W)(v*v))``, average of ``f(u)``
      over ``n_gauss`` draws;
    - ``"naive"``: ``f(q W v)``, the "scale the weights by q" rule.

    Each value has the shape of ``W @ v``.
    """
    rng = np.random.default_rng(seed)
    q = 1.0 - p_drop
    masks = rng.random((n_masks,) + W.shape) < q
    mc = activation((masks * W) @ v).mean(axis=0)
    mean = q * W @ v
    var = q * (1 - q) * (W * W) @ (v * v)
    u = mean + np.sqrt(var) * rng.standard_normal((n_gauss,) + mean.shape)
    return {"mc": mc, "gaussian": activation(u).mean(axis=0), "naive": activation(mean)}


def rnn_forward(x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, p_drop: float,
                rng: np.random.Generator, locked: bool = True):
    """A tiny tanh RNN, ``h_t = tanh((x_t * z_t / q) W_x + (h_{t-1} * m_t / q) W_h)``, with dropout on
    the input ``x_t`` AND on the recurrent state ``h_{t-1}``.

    ``locked=True`` draws one input mask ``z`` and one state mask ``m`` per sequence and reuses them
    at every step (Gal and Ghahramani 2016); ``locked=False`` draws fresh masks at every step.
    ``x`` has shape ``(T, N, D)``. Returns ``(h, input_masks, state_masks)`` with ``h`` of shape
    ``(T, N, H)`` and the masks stacked over time, ``(T, N, D)`` and ``(T, N, H)``.
    """
    T, N, D = x.shape
    H = W_h.shape[0]
    q = 1.0 - p_drop
    h = np.zeros((N, H))
    if locked:
        z_once, m_once = rng.random((N, D)) < q, rng.random((N, H)) < q
    hs, zs, ms = [], [], []
    for t in range(T):
        z, m = (z_once, m_once) if locked else (rng.random((N, D)) < q, rng.random((N, H)) < q)
        h = np.tanh((x[t] * z / q) @ W_x + (h * m / q) @ W_h)
        hs.append(h); zs.append(z); ms.append(m)
    return np.stack(hs), np.stack(zs), np.stack(ms)


def memory_through_masks(steps: int, p_drop: float, n_units: int = 200_000, seed: int = 0) -> dict:
    """Which coordinates of the recurrent state pass through ``steps`` masked steps *uninterrupted*
    (kept at every one of them): with a fresh mask per step a unit survives with probability
    ``q**steps``; with one locked mask per sequence it survives with probability ``q``.

    Returns the empirical fractions and their theoretical values.
    """
    rng = np.random.default_rng(seed)
    q = 1.0 - p_drop
    fresh = np.ones(n_units, bool)
    for _ in range(steps):
        fresh &= rng.random(n_units) < q
    mask = rng.random(n_units) < q
    locked = np.ones(n_units, bool)
    for _ in range(steps):
        locked &= mask  # the same mask at every step
    return {"fresh_alive": float(fresh.mean()), "locked_alive": float(locked.mean()),
            "fresh_alive_theory": q ** steps, "locked_alive_theory": q}


def survival_probabilities(n_blocks: int, p_last: float = 0.5) -> np.ndarray:
    """Huang et al. (2016): survival probability of residual block ``l = 1..L`` decays linearly from
    1 (at the input) to ``p_last`` (the last block): ``p_l = 1 - l/L * (1 - p_last)``."""
    l = np.arange(1, n_blocks + 1)
    return 1.0 - l / n_blocks * (1.0 - p_last)


def drop_path(branch: np.ndarray, p_drop: float, train: bool, rng: np.random.Generator | None = None):
    """DropPath (timm's per-sample form, not Huang et al.'s stochastic depth, which shares one coin
    per mini-batch and scales at test time) on a residual branch of shape ``(N, ...)``: each
    *sample* keeps or drops the whole branch, kept branches are scaled by ``1/q``. Identity in evaluation.
    Returns ``(out, keep)`` with ``keep`` of shape ``(N, 1, ..., 1)`` (``None`` in evaluation)."""
    if not train or p_drop == 0.0:
        return branch, None
    q = 1.0 - p_drop
    keep = rng.random((branch.shape[0],) + (1,) * (branch.ndim - 1)) < q
    return (branch * keep / q if q > 0 else np.zeros_like(branch)), keep


def residual_stack(x: np.ndarray, weights: list[np.ndarray], p_drops: np.ndarray, train: bool,
                   rng: np.random.Generator | None = None):
    """``x <- x + drop_path(relu(x W_l))`` for each block; returns ``(out, keeps)`` where ``keeps``
    is a ``(L, N)`` boolean array of which branches ran (all True in evaluation)."""
    keeps = []
    for W, p in zip(weights, p_drops):
        branch, keep = drop_path(relu(x @ W), float(p), train, rng)
        x = x + branch
        keeps.append(np.ones(x.shape[0], bool) if keep is None else keep.reshape(-1))
    return x, np.array(keeps)


def embedding_dropout(E: np.ndarray, ids: np.ndarray, p_drop: float, rng: np.random.Generator):
    """Merity et al. (2018): drop whole rows of the embedding matrix ``E`` (shape ``(V, D)``), that is
    whole *words*, kept rows scaled by ``1/q``, then look up ``ids`` (any integer shape). A dropped
    word is a zero vector at every position where it occurs. Returns ``(vectors, kept_words)``."""
    q = 1.0 - p_drop
    kept = rng.random(E.shape[0]) < q
    scale = kept / q if q > 0 else np.zeros(E.shape[0])
    return (E * scale[:, None])[ids], kept
