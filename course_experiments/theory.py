"""Exact statements checked by enumeration or closed form (chapters 1, 2 and 7)."""
from __future__ import annotations

import itertools

import numpy as np

from dropout_reference import inverted_dropout_forward


def all_masks(n: int) -> np.ndarray:
    """Every keep-mask of ``n`` units, shape ``(2**n, n)``: the 2^n thinned networks."""
    return np.array(list(itertools.product([False, True], repeat=n)))


def mask_probabilities(masks: np.ndarray, p_drop: float) -> np.ndarray:
    kept = masks.sum(axis=1)
    return (1 - p_drop) ** kept * p_drop ** (masks.shape[1] - kept)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def geometric_mean_vs_weight_scaling(W: np.ndarray, b: np.ndarray, x: np.ndarray, p_drop: float):
    """Srivastava et al. (2014, sec. 7): for one softmax layer with dropped inputs, the renormalised
    (probability-weighted) geometric mean of all 2^n sub-network predictions equals the
    prediction of the network whose weights are scaled by ``1 - p_drop``.

    Returns ``(geometric_mean, weight_scaled)``, both probability vectors.
    """
    masks = all_masks(x.size)
    weights = mask_probabilities(masks, p_drop)
    log_preds = _log_softmax((masks * x) @ W + b)         # (2^n, K)
    log_geo = weights @ log_preds
    geo = np.exp(log_geo - log_geo.max())
    scaled = np.exp(_log_softmax((1 - p_drop) * x @ W + b))
    return geo / geo.sum(), scaled


def ridge_equivalent_weights(X: np.ndarray, y: np.ndarray, p_drop: float) -> np.ndarray:
    """Srivastava et al. (2014, sec. 9.1) with inverted scaling: minimising the expected squared
    error under input dropout is ridge regression with penalty
    ``p/(1-p) * sum_j w_j^2 ||X_j||^2``, a data-dependent weighting of each coefficient."""
    gram = X.T @ X
    return np.linalg.solve(gram + p_drop / (1 - p_drop) * np.diag(np.diag(gram)), X.T @ y)


def dropout_trained_linear_weights(X: np.ndarray, y: np.ndarray, p_drop: float, steps: int = 20000,
                                   lr: float = 0.05, seed: int = 0) -> np.ndarray:
    """Train ``y ~ dropout(X) w`` by gradient descent with a fresh mask each step; Polyak average."""
    rng = np.random.default_rng(seed)
    n, d = X.shape
    w = np.zeros(d)
    average = np.zeros(d)
    for step in range(steps):
        Xd, _ = inverted_dropout_forward(X, p_drop, True, rng)
        w -= lr * Xd.T @ (Xd @ w - y) / n
        if step >= steps // 2:
            average += w
    return average / (steps - steps // 2)
