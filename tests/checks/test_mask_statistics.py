"""The randomness predicates of the checker (``dropout_checks.masks``), in milliseconds.

Each predicate must pass masks drawn by the rule (each unit kept independently with
probability ``1 - p_drop``, fresh on every call) and fail the classic ways of breaking it;
the power tests show that, at the sizes the hidden tests use, a mask shared along an axis or
reused between calls fails with certainty (its agreement is exactly 1, above every bound).
"""
import math

import numpy as np
import pytest

from dropout_checks import DELTA
from dropout_checks import masks
from dropout_checks._core import hoeffding
from dropout_collect import plans


def draw(seed, shape, p_drop):
    return np.random.default_rng(seed).random(shape) >= p_drop


def rotating_block(shape, p_drop, offset=0):
    """Exactly (1 - p_drop) * n kept units in one contiguous (wrapped) block: the right fraction, not random."""
    n = math.prod(shape)
    return ((np.arange(n) + offset) % n < round((1 - p_drop) * n)).reshape(shape)


# ----------------------------------------------------------------------------- the one test and its bound

def test_a_rate_test_is_hoeffdings_bound_plus_the_stated_slack():
    test = masks.rate_test(np.ones(400, bool), 0.5)
    assert test.tolerance == pytest.approx(math.sqrt(math.log(2 / DELTA) / 800) + masks.SLACK)
    assert test.events == 400 and test.observed == 1.0 and not test.passed
    assert masks.rate_test([True, False] * 200, 0.5).passed
    assert DELTA <= 1e-8 and masks.SLACK < 1e-5


def test_hoeffdings_bound_holds_where_it_can_be_seen():
    """At delta = 0.05 a simulation can see the bound: far fewer than 5% of 20000 honest rates leave it."""
    rng = np.random.default_rng(7)
    n, q = 200, 0.3
    rates = rng.binomial(n, q, size=20_000) / n
    outside = np.mean(np.abs(rates - q) >= hoeffding(n, 0.05))
    assert outside < 0.05
    # and it is not vacuous: a bound of half the width is left far more often
    assert np.mean(np.abs(rates - q) >= hoeffding(n, 0.05) / 4) > 0.05


def test_a_rate_test_needs_events():
    with pytest.raises(ValueError):
        masks.rate_test(np.zeros(0, bool), 0.5)


def test_agreement_probability():
    assert masks.agreement_probability(0.25) == pytest.approx(0.75 ** 2 + 0.25 ** 2)
    assert masks.agreement_probability(0.25, 0.7) == pytest.approx(0.75 * 0.3 + 0.25 * 0.7)
    assert masks.agreement_probability(0.0) == masks.agreement_probability(1.0) == 1.0


# ----------------------------------------------------------------------------- kept fraction

def test_kept_fraction_passes_the_rule_and_fails_a_swapped_convention():
    kept = draw(0, (200, 100), 0.25)
    assert masks.kept_fraction(kept, 0.25).passed
    assert not masks.kept_fraction(draw(0, (200, 100), 0.75), 0.25).passed  # p_drop used as a keep probability


# ----------------------------------------------------------------------------- independence along an axis

def test_neighbour_pairs_are_disjoint_and_leave_an_odd_one_out():
    a = np.arange(5 * 3).reshape(5, 3)
    first, second = masks.neighbour_pairs(a, 0)
    assert first.tolist() == [a[0].tolist(), a[2].tolist()] and second.tolist() == [a[1].tolist(), a[3].tolist()]
    first, second = masks.neighbour_pairs(a, 1)
    assert first.shape == second.shape == (5, 1) and (second - first == 1).all()


@pytest.mark.parametrize("p_drop", [0.25, 0.5, 0.7])
def test_independent_units_pass_along_every_axis(p_drop):
    for seed in range(20):
        kept = draw(seed, (20, 6, 10, 10), p_drop)
        assert all(masks.independent_along(kept, axis, p_drop).passed for axis in range(4))


def test_a_mask_shared_by_the_batch_fails_along_the_batch_axis():
    kept = np.broadcast_to(draw(1, (1, 100), 0.25), (200, 100))  # rng.random(x.shape[1:])
    assert not masks.independent_along(kept, 0, 0.25).passed
    assert masks.independent_along(kept, 0, 0.25).observed == 1.0
    # (along the units its 10000 pairs are 200 copies of 50, so that test may go either way)


def test_a_rotating_block_fails_although_its_fraction_is_exact():
    kept = rotating_block((200, 100), 0.25, offset=37)
    assert masks.kept_fraction(kept, 0.25).passed
    assert not masks.independent_along(kept, 1, 0.25).passed


def test_an_alternating_pattern_fails_below_the_expectation():
    kept = np.indices((200, 100)).sum(axis=0) % 2 == 0  # a checkerboard: neighbours never agree
    test = masks.independent_along(kept, 1, 0.5)
    assert not test.passed and test.observed < test.expected


def test_an_axis_of_one_entry_has_no_pairs():
    assert masks.independent_along(np.ones((1, 5), bool), 0, 0.5) is None


# ----------------------------------------------------------------------------- fresh draws and sharing

def test_independent_draws_pass_and_a_reused_or_nudged_mask_fails():
    a, b = draw(1, (200, 100), 0.5), draw(2, (200, 100), 0.5)
    assert masks.independent_draws(a, b, 0.5).passed
    assert not masks.independent_draws(a, a, 0.5).passed
    nudged = a.copy()
    nudged[:2] = ~nudged[:2]  # a different mask, but 99% the same decisions
    assert not masks.independent_draws(a, nudged, 0.5).passed
    # two rates: the same uniforms thresholded at 0.25 and 0.7 (a generator reseeded per call) are coupled
    u = np.random.default_rng(3).random((200, 100))
    assert not masks.independent_draws(u >= 0.25, u >= 0.7, 0.25, 0.7).passed
    assert masks.independent_draws(draw(4, (200, 100), 0.25), draw(5, (200, 100), 0.7), 0.25, 0.7).passed
    with pytest.raises(ValueError):
        masks.independent_draws(a, a[:10], 0.5)


def test_shared_along():
    per_channel = np.broadcast_to(draw(0, (6, 5, 1, 1), 0.5), (6, 5, 4, 4))
    assert masks.shared_along(per_channel, (2, 3))
    assert not masks.shared_along(draw(0, (6, 5, 4, 4), 0.5), (2, 3))


# ----------------------------------------------------------------------------- power at the hidden tests' sizes

def _decision_shapes():
    """(what, shape of the keep decisions, p_drop) of every statistically checked mask in the plans."""
    cases = []
    for kind in plans.FORWARD_KINDS:
        for call in plans.forward_plan(kind):
            if call.purpose in ("train", "fresh"):
                shape = {"spatial": call.shape[:2], "locked": call.shape[1:]}.get(kind, call.shape)
                cases.append((kind, shape, call.p_drop))
    cases += [("layer", shape, plans.LAYER_P) for shape in plans.LAYER_SHAPES]
    cases += [("dropconnect", plans.DROPCONNECT_SHAPES[1], call.p_drop) for call in plans.DROPCONNECT_PLAN if call.train]
    return cases


@pytest.mark.parametrize("what, shape, p_drop", _decision_shapes())
def test_sharing_along_any_axis_or_reusing_a_mask_is_always_caught(what, shape, p_drop):
    """A mask shared along an axis agrees on every pair (rate exactly 1): it must lie outside the bound."""
    for axis in range(len(shape)):
        pairs = math.prod(shape) // shape[axis] * (shape[axis] // 2)
        assert masks.agreement_probability(p_drop) + hoeffding(pairs) + masks.SLACK < 1, (what, shape, axis)
    assert masks.agreement_probability(p_drop) + hoeffding(math.prod(shape)) + masks.SLACK < 1
    shared = np.broadcast_to(draw(0, (1,) + shape[1:], p_drop), shape)
    assert 0 < p_drop < 1 and not masks.independent_along(shared, 0, p_drop).passed


def test_a_correct_mask_is_practically_never_constant_along_an_axis():
    for what, shape, p_drop in _decision_shapes():
        for axis in range(len(shape)):
            assert masks.constant_probability(shape, axis, p_drop) < 1e-70, (what, shape, axis)
    per_sample = np.broadcast_to(draw(0, (200, 1), 0.5), (200, 100))
    assert masks.constant_along(per_sample, 1) and not masks.constant_along(per_sample, 0)
    assert not masks.constant_along(np.ones((1, 5), bool), 0)  # one entry is no evidence
    assert masks.constant_probability((2, 3), 0, 0.5) == pytest.approx(0.5 ** 3)


def test_a_fixed_number_per_sample_is_seen_and_a_correct_mask_practically_never_looks_like_one():
    rng = np.random.default_rng(0)
    fixed = rng.random((200, 100)).argsort(axis=1).argsort(axis=1) < 75  # 75 of 100 per sample, at random places
    assert masks.equal_counts(fixed) and masks.kept_fraction(fixed, 0.25).passed
    assert not masks.equal_counts(draw(0, (200, 100), 0.25))
    assert not masks.equal_counts(np.ones((5, 4), bool)) and not masks.equal_counts(np.ones((1, 4), bool))
    # the exact chance for two rows of one unit: both kept or both dropped
    assert masks.equal_counts_probability((2, 1), 0.3) == pytest.approx(0.7 ** 2 + 0.3 ** 2)
    # checked wherever the hidden tests' sizes make it practically impossible for a correct mask
    applied = [(what, shape) for what, shape, p_drop in _decision_shapes()
               if masks.equal_counts_probability(shape, p_drop) < masks.EQUAL_COUNTS_BOUND]
    assert {what for what, _ in applied} == {"vanilla", "inverted", "spatial", "locked", "layer", "dropconnect"}
