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
