"""Small data sets that need no download."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits


@dataclass(frozen=True)
class Split:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        return int(self.y_train.max()) + 1


def digits_split(n_train: int = 200, seed: int = 0) -> Split:
    """scikit-learn's 8x8 digits (shipped with the package), scaled to [0, 1].

    A deliberately small training set lets a wide MLP memorise it: the regime where
    dropout earns its keep.
    """
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = order[:n_train], order[n_train:]
    t = torch.from_numpy
    return Split(t(x[train]), t(y[train]), t(x[test]), t(y[test]))


def sine_regression(n: int = 80, seed: int = 0, noise: float = 0.1):
    """1-D regression: y = sin(x) + noise, observed only on two intervals of x.

    Returns ``(x, y)`` tensors of shape ``(n, 1)``; the gap in the middle and the outside
    are where an honest model should be unsure.
    """
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(-3.0, -1.0, n // 2), rng.uniform(1.0, 3.0, n - n // 2)])
    y = np.sin(x) + noise * rng.standard_normal(n)
    as_column = lambda a: torch.tensor(a, dtype=torch.float32)[:, None]
    return as_column(x), as_column(y)


TRAINING_RANGE = ((-3.0, -1.0), (1.0, 3.0))


# Ten hand-drawn 12-point templates, one per class, in the spirit of MNIST-1D (Greydanus, 2020).
_TEMPLATES = np.array([
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 4.75, 5.25, 6, 6.5, 6.5, 6, 5],
]) - 5.0


def mnist1d_split(n_train: int = 1000, n_test: int = 2000, length: int = 40, seed: int = 0) -> Split:
    """An MNIST-1D-like task made on the spot: each signal is a class template, padded,
    stretched, shifted, sheared and buried in correlated noise. Small MLPs overfit it
    readily, which makes it the course's test bed for regularisation.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    labels = rng.integers(0, 10, n)
    grid = np.linspace(0, 1, length)
    signals = np.empty((n, length), dtype=np.float64)
    for i, label in enumerate(labels):
        template = np.concatenate([np.zeros(rng.integers(4, 12)), _TEMPLATES[label], np.zeros(rng.integers(4, 12))])
        stretch = rng.uniform(0.8, 1.2)
        source = np.linspace(0, 1, template.size)
        wave = np.interp(np.clip((grid - 0.5) / stretch + 0.5, 0, 1), source, template)
        wave = np.roll(wave * rng.uniform(0.7, 1.3), rng.integers(0, length))
        wave += rng.uniform(-0.75, 0.75) * (grid - 0.5)                       # shear
        wave += np.convolve(rng.standard_normal(length + 4), np.ones(5) / 5, "valid") * 0.5  # correlated
        wave += 0.25 * rng.standard_normal(length)                            # white noise
        signals[i] = wave
    x = ((signals - signals.mean()) / signals.std()).astype(np.float32)
    t = torch.from_numpy
    return Split(t(x[:n_train]), t(labels[:n_train]), t(x[n_train:]), t(labels[n_train:]))
