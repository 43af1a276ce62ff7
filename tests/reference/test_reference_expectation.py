"""Expectations exactly, by enumerating every mask; variances against their closed forms;
and every statistical check run over 1000 seeds without a single failure."""
import itertools

import numpy as np
import pytest

import dropout_reference as ref
from dropout_reference.stats_checks import groups_for_median_of_means, keep_rate_is, median_of_means


class ScriptedRng:
    """Stands in for a Generator and makes the forward draw one chosen mask.

    The reference keeps a unit when a uniform draw is below 1 - p_drop, so 0 means keep
    and a number just below 1 means drop.
    """

    def __init__(self, keep):
        self.keep = np.asarray(keep, dtype=bool)

    def random(self, size, dtype=np.float64):
        return np.where(self.keep, 0.0, np.nextafter(1.0, 0.0)).astype(dtype).reshape(size)


def expectation_by_enumeration(forward, x, p_drop, statistic=lambda out: out):
    """Sum of P(mask) * statistic(forward(x with that mask)) over all 2^n masks."""
    total = np.zeros_like(x)
    probability_mass = 0.0
    for bits in itertools.product([False, True], repeat=x.size):
        keep = np.array(bits).reshape(x.shape)
        prob = (1 - p_drop) ** keep.sum() * p_drop ** (~keep).sum()
        out, cache = forward(x, p_drop, True, ScriptedRng(keep))
        np.testing.assert_array_equal(cache["mask"], keep)
        total += prob * statistic(out)
        probability_mass += prob
    assert probability_mass == pytest.approx(1.0, abs=1e-12)
    return total


@pytest.mark.parametrize("p_drop", [0.2, 0.5, 0.7])
def test_vanilla_and_inverted_expectations_match_their_test_time_outputs(p_drop):
    x = np.array([[2.0, 3.5, 1.2], [4.1, -0.5, 0.25]])  # n = 6 units: 64 masks
    for forward in (ref.vanilla_dropout_forward, ref.inverted_dropout_forward):
        expected_train = expectation_by_enumeration(forward, x, p_drop)
        test_time, _ = forward(x, p_drop, False, None)
        np.testing.assert_allclose(expected_train, test_time, rtol=1e-12, err_msg=forward.__name__)
    # The two conventions differ only by the constant 1/(1-p): vanilla's test output is (1-p) x.
    np.testing.assert_allclose(ref.vanilla_dropout_forward(x, p_drop, False)[0], (1 - p_drop) * x)


@pytest.mark.parametrize("p_drop", [0.3, 0.5])
def test_variance_of_inverted_dropout_by_enumeration(p_drop):
    x = np.array([1.5, -2.0, 0.5, 3.0])
    mean = expectation_by_enumeration(ref.inverted_dropout_forward, x, p_drop)
    second_moment = expectation_by_enumeration(ref.inverted_dropout_forward, x, p_drop, np.square)
    variance = second_moment - mean ** 2
    np.testing.assert_allclose(variance, x ** 2 * p_drop / (1 - p_drop), rtol=1e-12)


@pytest.mark.parametrize("p_drop,c,v", [(0.5, 1.0, 1.0), (0.2, -0.5, 2.0), (0.7, 2.0, 0.5)])
def test_variance_shift_closed_form(p_drop, c, v):
    """Li et al. (2019): for x with mean c and variance v, Var[dropout(x)] = (c^2 + v)/(1-p) - c^2.

    Median of 130 group means of squared deviations from the known mean; each group is
    sized by Chebyshev so that it misses 2% with probability <= 1/4, hence the median misses
    with probability <= exp(-130/8) < 1e-7.
    """
    q = 1 - p_drop
    expected = (c ** 2 + v) / q - c ** 2
    # E[(y - c)^4] exactly, for y = m x / q with x ~ N(c, v): with prob. q, y - c ~ N(c/q - c, v/q^2),
    # otherwise y - c = -c. It bounds the variance of each squared deviation.
    mu, s2 = c / q - c, v / q ** 2
    fourth = q * (mu ** 4 + 6 * mu ** 2 * s2 + 3 * s2 ** 2) + (1 - q) * c ** 4
    groups = groups_for_median_of_means()
    per_group = int(np.ceil(4 * fourth / (0.02 * expected) ** 2))
    rng = np.random.default_rng(2019)
    x = rng.normal(c, np.sqrt(v), size=groups * per_group)
    y, _ = ref.inverted_dropout_forward(x, p_drop, True, rng)
    estimate = median_of_means((y - c) ** 2, groups)
    assert abs(estimate - expected) < 0.02 * expected, f"variance {estimate:.4f} vs closed form {expected:.4f}"
    # Evaluation mode has no shift: the variance is v itself, which is the mismatch BatchNorm sees.
    assert expected > v


def test_every_statistical_check_passes_on_1000_seeds():
    """Each check fails correct code with probability < 1e-11, so 4000 of them fail with < 4e-8."""
    failures = []
    for seed in range(1000):
        rng = np.random.default_rng(seed)
        x = np.ones((100, 100))
        _, inv = ref.inverted_dropout_forward(x, 0.3, True, rng)
        _, van = ref.vanilla_dropout_forward(x, 0.6, True, rng)
        _, spa = ref.spatial_dropout_forward(np.ones((50, 200, 2, 2)), 0.5, True, rng)
        _, loc = ref.locked_dropout_forward(np.ones((3, 100, 100)), 0.1, True, rng)
        for name, mask, keep in (("inverted", inv["mask"], 0.7), ("vanilla", van["mask"], 0.4),
                                 ("spatial", spa["mask"], 0.5), ("locked", loc["mask"], 0.9)):
            ok, why = keep_rate_is(mask, keep)
            if not ok:
                failures.append(f"seed {seed} {name}: {why}")
    assert not failures, "\n".join(failures[:10])


def test_keep_rate_check_rejects_a_wrong_rate():
    mask = np.random.default_rng(0).random(10_000) < 0.5
    assert keep_rate_is(mask, 0.5)[0]
    ok, why = keep_rate_is(mask, 0.6)
    assert not ok and "expected 0.6000" in why
