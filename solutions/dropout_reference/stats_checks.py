"""Statistical checks with a stated false-failure rate.

Randomness makes "the keep rate is 1 - p_drop" true only in distribution. These helpers
turn such claims into checks that fail a *correct* implementation with probability at most
``delta`` (default 1e-11), using bounds that need no distributional assumptions.
"""
from __future__ import annotations

import math

import numpy as np

DEFAULT_DELTA = 1e-11  # so that thousands of checks in one run still fail correct code with prob. < 1e-6


def hoeffding_tolerance(n: int, delta: float = DEFAULT_DELTA) -> float:
    """Half-width ``t`` with ``P(|mean - q| >= t) <= delta`` for ``n`` independent Bernoulli(q) draws.

    Hoeffding: ``P(|mean - q| >= t) <= 2 exp(-2 n t^2)``.
    """
    return math.sqrt(math.log(2.0 / delta) / (2.0 * n))


def keep_rate_is(mask, expected_keep: float, delta: float = DEFAULT_DELTA) -> tuple[bool, str]:
    """Is the fraction of True in ``mask`` consistent with ``expected_keep``?  Returns (ok, reason)."""
    mask = np.asarray(mask, dtype=bool)
    rate = float(mask.mean())
    tol = hoeffding_tolerance(mask.size, delta)
    ok = abs(rate - expected_keep) < tol
    return ok, (f"kept {rate:.4f} of {mask.size} units, expected {expected_keep:.4f} +/- {tol:.4f} "
                f"(a correct mask fails this check with probability < {delta:g})")


def groups_for_median_of_means(delta: float = DEFAULT_DELTA) -> int:
    """Number of groups so that the median of group estimates fails with probability <= delta.

    Each group fails with probability <= 1/4 (Chebyshev); the median fails only if half of
    the groups do, which Hoeffding bounds by ``exp(-k / 8)``.
    """
    return math.ceil(8 * math.log(1.0 / delta))


def median_of_means(samples: np.ndarray, groups: int) -> float:
    usable = (samples.size // groups) * groups
    return float(np.median(samples[:usable].reshape(groups, -1).mean(axis=1)))
