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


def dropout_loss_penalty(X: np.ndarray, y: np.ndarray, w: np.ndarray, p_drop: float) -> dict:
    """The expected squared error of a linear model under inverted input dropout, in closed form, at
    a *fixed* ``w`` (an identity about the loss, not about training; ``mc_dropout_loss`` samples it):
    ``||y - Xw||^2 + p/(1-p) * sum_j w_j^2 ||X_j||^2``. Returns the plain loss, the penalty and their sum.
    """
    plain = float(np.sum((y - X @ w) ** 2))
    penalty = float(p_drop / (1 - p_drop) * np.sum(w ** 2 * np.sum(X ** 2, axis=0)))
    return {"plain": plain, "penalty": penalty, "closed_form": plain + penalty}


def mc_dropout_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray, p_drop: float, n_masks: int = 20000,
                    seed: int = 0, chunk: int = 1000) -> tuple[float, float]:
    """Mean and standard error of ``||y - dropout(X) w||^2`` over ``n_masks`` fresh inverted masks."""
    rng = np.random.default_rng(seed)
    losses = []
    for start in range(0, n_masks, chunk):
        masks = rng.random((min(chunk, n_masks - start),) + X.shape) >= p_drop
        residual = y - (masks * X / (1 - p_drop)) @ w
        losses.append(np.sum(residual ** 2, axis=1))
    losses = np.concatenate(losses)
    return float(losses.mean()), float(losses.std(ddof=1) / np.sqrt(losses.size))


def mc_additive_noise_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray, sigma: float, n_draws: int = 20000,
                           seed: int = 0, chunk: int = 1000) -> tuple[float, float]:
    """Bishop (1995)'s setting: Gaussian noise of standard deviation ``sigma`` *added* to every input.
    Mean and standard error of ``||y - (X + E) w||^2``; the closed form is
    ``||y - Xw||^2 + n sigma^2 ||w||^2``, a plain L2 (Tikhonov) penalty."""
    rng = np.random.default_rng(seed)
    losses = []
    for start in range(0, n_draws, chunk):
        noisy = X + sigma * rng.standard_normal((min(chunk, n_draws - start),) + X.shape)
        losses.append(np.sum((y - noisy @ w) ** 2, axis=1))
    losses = np.concatenate(losses)
    return float(losses.mean()), float(losses.std(ddof=1) / np.sqrt(losses.size))


def _sigmoid(s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-s))


def _nwgm(probabilities: np.ndarray, outputs: np.ndarray) -> float:
    """Baldi and Sadowski's normalised weighted geometric mean of Bernoulli outputs ``O`` with
    weights ``P``: ``G / (G + G')``, ``G = prod O^P``, ``G' = prod (1-O)^P`` (computed in logs)."""
    log_g = probabilities @ np.log(outputs)
    log_g_c = probabilities @ np.log1p(-outputs)
    return float(1.0 / (1.0 + np.exp(log_g_c - log_g)))


def sigmoid_unit_means(w: np.ndarray, b: float, x: np.ndarray, p_drop: float) -> dict:
    """One logistic unit ``sigmoid(w . (m * x) + b)`` with vanilla input dropout, over all 2^n masks:
    the weighted arithmetic mean of the outputs, their NWGM, and the weight-scaled output
    ``sigmoid((1 - p_drop) w . x + b)`` (Baldi and Sadowski 2013: the last two are equal)."""
    masks = all_masks(x.size)
    probabilities = mask_probabilities(masks, p_drop)
    outputs = _sigmoid((masks * x) @ w + b)
    return {"arithmetic": float(probabilities @ outputs), "nwgm": _nwgm(probabilities, outputs),
            "weight_scaled": float(_sigmoid((1 - p_drop) * x @ w + b))}


def two_layer_means(W1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: float, x: np.ndarray,
                    p_drop: float) -> dict:
    """A sigmoid hidden layer and a logistic output unit, with vanilla dropout on the inputs *and* the
    hidden units, enumerated over all ``2^(n_in + n_hidden)`` masks: arithmetic mean, NWGM and the
    weight-scaled network (every dropped layer's outgoing weights times ``1 - p_drop``). Here the
    NWGM and weight scaling are no longer equal: the hidden sigmoid sits between them."""
    n_in, n_hidden = x.size, b1.size
    masks = all_masks(n_in + n_hidden)
    probabilities = mask_probabilities(masks, p_drop)
    hidden = _sigmoid((masks[:, :n_in] * x) @ W1 + b1) * masks[:, n_in:]
    outputs = _sigmoid(hidden @ w2 + b2)
    q = 1 - p_drop
    scaled = _sigmoid(q * _sigmoid(q * x @ W1 + b1) @ w2 + b2)
    return {"arithmetic": float(probabilities @ outputs), "nwgm": _nwgm(probabilities, outputs),
            "weight_scaled": float(scaled)}
