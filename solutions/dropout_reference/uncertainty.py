"""Uncertainty and calibration metrics for Monte Carlo samples; natural logarithms throughout."""
from __future__ import annotations

import torch


def _check_probs(probs: torch.Tensor, ndim: int, layout: str) -> torch.Tensor:
    if not isinstance(probs, torch.Tensor) or not probs.is_floating_point():
        raise TypeError(f"probs must be a floating-point torch.Tensor of shape {layout}")
    if probs.ndim != ndim:
        raise ValueError(f"expected probs of shape {layout}, got shape {tuple(probs.shape)}")
    return probs


def _check_labels(labels: torch.Tensor, n: int, k: int) -> torch.Tensor:
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError("labels must be an integer torch.Tensor of shape (N,)")
    if tuple(labels.shape) != (n,):
        raise ValueError(f"expected labels of shape ({n},), got shape {tuple(labels.shape)}")
    if n and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must lie in [0, {k - 1}]")
    return labels.long()


def _entropy(p: torch.Tensor) -> torch.Tensor:
    # xlogy gives 0 * log 0 = 0, so one-hot predictions have zero entropy, not NaN.
    return -torch.special.xlogy(p, p).sum(dim=-1)


def predictive_entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy of the mean prediction, ``H[mean_t p_t]``, per input: total uncertainty, shape ``(N,)``."""
    probs = _check_probs(probs, 3, "(T, N, K)")
    return _entropy(probs.mean(dim=0))


def mutual_information(probs: torch.Tensor) -> torch.Tensor:
    """``H[mean_t p_t] - mean_t H[p_t]``: the part of the uncertainty due to the model (epistemic)."""
    probs = _check_probs(probs, 3, "(T, N, K)")
    return (predictive_entropy(probs) - _entropy(probs).mean(dim=0)).clamp_min(0.0)


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> torch.Tensor:
    """ECE with ``n_bins`` equal-width confidence bins ``(i/n, (i+1)/n]`` (Guo et al., 2017)."""
    probs = _check_probs(probs, 2, "(N, K)")
    labels = _check_labels(labels, probs.shape[0], probs.shape[1])
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    stats = reliability_bins(probs, labels, n_bins)
    weights = stats["count"] / max(probs.shape[0], 1)
    return (weights * (stats["accuracy"] - stats["confidence"]).abs()).sum()


def reliability_bins(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> dict:
    """Per-bin count, mean confidence and accuracy: the data of a reliability diagram."""
    confidence, predicted = probs.max(dim=-1)
    correct = (predicted == labels).to(probs.dtype)
    # Right-closed bins: a confidence of exactly 1 belongs to the last bin, 1/n to the first.
    index = (torch.ceil(confidence * n_bins).long() - 1).clamp(0, n_bins - 1)
    count = torch.zeros(n_bins, dtype=probs.dtype).index_add_(0, index, torch.ones_like(confidence))
    conf_sum = torch.zeros(n_bins, dtype=probs.dtype).index_add_(0, index, confidence)
    acc_sum = torch.zeros(n_bins, dtype=probs.dtype).index_add_(0, index, correct)
    safe = count.clamp_min(1)
    return {"count": count, "confidence": conf_sum / safe, "accuracy": acc_sum / safe,
            "edges": torch.linspace(0, 1, n_bins + 1, dtype=probs.dtype)}


def negative_log_likelihood(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean ``-log p(label)`` of the predictions; a zero probability is clamped, not infinite."""
    probs = _check_probs(probs, 2, "(N, K)")
    labels = _check_labels(labels, probs.shape[0], probs.shape[1])
    picked = probs.gather(1, labels[:, None]).squeeze(1)
    return -torch.log(picked.clamp_min(torch.finfo(probs.dtype).tiny)).mean()
