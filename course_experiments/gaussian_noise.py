"""Gaussian views of dropout noise (chapter 7): fast dropout's moment matching and the local
reparameterisation trick of variational dropout. NumPy, seeded, each call well under a second."""
from __future__ import annotations

import numpy as np


def sigmoid(s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-s))


def fast_dropout_unit(w: np.ndarray, x: np.ndarray, p_drop: float, n_masks: int = 200_000,
                      seed: int = 0) -> dict:
    """One logistic unit ``sigmoid(sum_i m_i w_i x_i)`` with vanilla dropout on its inputs.

    Wang and Manning (2013) replace the random sum by a Gaussian with its mean
    ``q sum w x`` and variance ``q (1-q) sum (w x)^2`` and integrate the sigmoid against it with the
    probit approximation ``E[sigmoid(u)] ~ sigmoid(mu / sqrt(1 + pi s^2 / 8))``: no mask is drawn.
    Returns the sampled moments of the sum, the Gaussian's, the expected output by Monte Carlo over
    masks (the target), the fast-dropout value and the weight-scaled ``sigmoid(mu)``.
    """
    rng = np.random.default_rng(seed)
    q = 1.0 - p_drop
    terms = w * x
    sums = (rng.random((n_masks, x.size)) < q) @ terms
    mu, var = q * terms.sum(), q * (1 - q) * np.sum(terms ** 2)
    return {"mc_mean": float(sums.mean()), "mc_var": float(sums.var()),
            "gauss_mean": float(mu), "gauss_var": float(var),
            "mc_output": float(sigmoid(sums).mean()),
            "mc_output_se": float(sigmoid(sums).std(ddof=1) / np.sqrt(n_masks)),
            "fast_dropout": float(sigmoid(mu / np.sqrt(1 + np.pi * var / 8))),
            "weight_scaled": float(sigmoid(mu))}


def local_reparameterisation(a: np.ndarray, theta: np.ndarray, alpha: float, n_draws: int = 10_000,
                             seed: int = 0, chunk: int = 1000) -> dict:
    """Kingma, Salimans and Welling (2015): with Gaussian weight noise ``w_ij = theta_ij (1 + sqrt(alpha) e_ij)``
    the pre-activations ``b = a w`` of a mini-batch ``a`` (shape ``(N, D)``) are Gaussian with mean
    ``a theta`` and variance ``alpha (a*a)(theta*theta)``, independent across examples, so one can
    sample ``b`` directly: ``N*H`` random numbers per step instead of ``N*D*H`` (a weight sample
    per example).

    Returns the mean and variance of ``b`` from sampled weights (one weight sample per example and
    draw), the closed forms, and the number of random numbers each way for one mini-batch.
    """
    rng = np.random.default_rng(seed)
    N, D = a.shape
    H = theta.shape[1]
    samples = []
    for start in range(0, n_draws, chunk):
        weights = theta * (1 + np.sqrt(alpha) * rng.standard_normal((min(chunk, n_draws - start), N, D, H)))
        samples.append(np.einsum("nd,kndh->knh", a, weights))
    samples = np.concatenate(samples)
    return {"sampled_mean": samples.mean(0), "sampled_var": samples.var(0),
            "mean": a @ theta, "var": alpha * (a * a) @ (theta * theta),
            "draws_per_weight_sample": N * D * H, "draws_local": N * H}
