"""Tests of randomness on keep-masks: one place for each predicate and its false-failure bound.

The exercises state one rule for every mask: each unit (each weight, each (sample, channel),
each (sample, feature)) is kept independently with probability ``q = 1 - p_drop``, with a
fresh draw on every call. Every test here turns that rule into a rate of 0/1 events that are
*independent* under it, and compares the observed rate with its value under the rule:

* :func:`kept_fraction`: the units kept, against ``q``;
* :func:`independent_along`: disjoint neighbouring pairs along one axis (entries 0 and 1,
  2 and 3, ...) that agree (both kept or both dropped), against ``q**2 + p_drop**2``; a mask
  shared by the whole batch, a contiguous block or a stripe agrees far more often;
* :func:`independent_draws`: two masks drawn by two calls (or two layers) that agree unit by
  unit, against ``q_a * q_b + p_a * p_b``; a reseeded or reused mask agrees everywhere.

Bound: the events of one test are independent 0/1 variables, so by Hoeffding's inequality
their mean lies within ``hoeffding(n) = sqrt(ln(2 / DELTA) / (2 n))`` of its expectation but
with probability below ``DELTA = 1e-11``: a correct mask fails a test with probability
< 1e-11, whatever its size. :data:`SLACK` widens each test by 1e-6 for generators that round
the keep probability (float32 uniforms shift it by < 6e-8), so the bound holds for them too.
``tests/checks/test_hidden_checks_flake.py`` adds these up over a whole class.

Every test goes through :func:`dropout_kit.properties.rate_test` (shared with the visible
checks, as are :data:`SLACK`, :func:`kept_fraction` and :func:`shared_along`), so counting its
calls counts the statistical checks of a verdict.
"""
from __future__ import annotations

import math

import numpy as np

from dropout_kit import properties
from dropout_kit.properties import SLACK, RateTest, kept_fraction, rate_test, shared_along  # noqa: F401 - part of this API

# The visible checks judge the kept fraction and the sharing of decisions too, so the rate test, its
# bound and those two predicates are the kit's (dropout_kit.properties); the tests below are the
# grader's own. Each calls ``properties.rate_test`` through the module, so counting its calls counts them.


def agreement_probability(p_a: float, p_b: float | None = None) -> float:
    """Probability that two independent keep decisions agree: both kept, or both dropped."""
    p_b = p_a if p_b is None else p_b
    return (1.0 - p_a) * (1.0 - p_b) + p_a * p_b


def neighbour_pairs(kept: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Entries 0, 2, 4, ... and 1, 3, 5, ... along ``axis``: disjoint pairs of neighbours (an odd last one left out)."""
    kept = np.asarray(kept)
    n = kept.shape[axis] // 2 * 2
    return np.take(kept, np.arange(0, n, 2), axis=axis), np.take(kept, np.arange(1, n, 2), axis=axis)


def independent_along(kept, axis: int, p_drop: float) -> RateTest | None:
    """Neighbours along ``axis`` agree as often as independent decisions do (``None``: fewer than two entries).

    The pairs are disjoint, so their agreements are independent events under the rule.
    """
    kept = np.asarray(kept, dtype=bool)
    if kept.shape[axis] < 2:
        return None
    first, second = neighbour_pairs(kept, axis)
    return properties.rate_test(first == second, agreement_probability(p_drop))


def independent_draws(kept_a, kept_b, p_a: float, p_b: float | None = None) -> RateTest:
    """Two masks of one shape, from two calls or two layers, agree unit by unit as independent draws do."""
    kept_a, kept_b = np.asarray(kept_a, dtype=bool), np.asarray(kept_b, dtype=bool)
    if kept_a.shape != kept_b.shape:
        raise ValueError(f"masks of shapes {kept_a.shape} and {kept_b.shape} cannot be compared unit by unit")
    return properties.rate_test(kept_a == kept_b, agreement_probability(p_a, p_b))


def constant_along(kept, axis: int) -> bool:
    """Every line along ``axis`` (of two entries or more) holds one decision: one mask shared by the
    whole batch, or one decision per sample. Exact, and practically impossible for a correct mask:
    each of the ``m`` lines of ``n`` entries is constant with probability ``q**n + p_drop**n``, so all
    are with probability ``(q**n + p_drop**n)**m``, below 1e-70 at every size the hidden tests use
    (``tests/checks/test_mask_statistics.py`` checks it), far inside the budget of the rate tests.
    """
    kept = np.asarray(kept, dtype=bool)
    return kept.shape[axis] >= 2 and shared_along(kept, (axis,))


def constant_probability(shape: tuple, axis: int, p_drop: float) -> float:
    """Probability that a correct mask of ``shape`` is constant along ``axis`` (see :func:`constant_along`)."""
    n = shape[axis]
    lines = int(np.prod(shape)) // n
    return ((1 - p_drop) ** n + p_drop ** n) ** lines


EQUAL_COUNTS_BOUND = 1e-20  # equal_counts is only asked where a correct mask shows it with less probability


def equal_counts(kept) -> bool:
    """Every entry along axis 0 (every sample) keeps the same number of its units, neither none nor all:
    a fixed number per sample (``rng.choice(n, k, replace=False)``, a permutation) instead of one coin
    per unit. Exact; :func:`equal_counts_probability` is the chance that a correct mask shows it."""
    kept = np.asarray(kept, dtype=bool)
    counts = kept.reshape(kept.shape[0], -1).sum(axis=1)
    return kept.shape[0] >= 2 and 0 < counts[0] < kept[0].size and bool((counts == counts[0]).all())


def equal_counts_probability(shape: tuple, p_drop: float) -> float:
    """Probability that ``shape[0]`` independent rows of ``prod(shape[1:])`` units, each kept with
    probability ``1 - p_drop``, all keep the same number: ``sum_c P(c) ** rows`` (binomial ``P``)."""
    rows, n = shape[0], int(np.prod(shape[1:]))
    q = 1.0 - p_drop
    if not 0 < q < 1:
        return 1.0
    log_pmf = [math.lgamma(n + 1) - math.lgamma(c + 1) - math.lgamma(n - c + 1) + c * math.log(q)
               + (n - c) * math.log(1 - q) for c in range(n + 1)]
    return float(sum(math.exp(rows * value) for value in log_pmf))
