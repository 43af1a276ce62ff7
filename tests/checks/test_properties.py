"""The property predicates both sides share (``dropout_kit.properties``): one tolerance per property.

The visible checks and the trusted checker compare values only through these predicates, so a
correct answer the grader accepts is accepted by the kit too; the tolerances pass float32 work
and fail wrong formulas.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import dropout_checks
import dropout_kit
from dropout_checks import masks
from dropout_kit import properties
from dropout_kit.properties import FORMULA, PROBABILITY_SUM, TORCH_RESULT, UNCHANGED, close, close_product

# Comparing numbers anywhere else would give a property a second tolerance.
COMPARISON = re.compile(r"\b(allclose|isclose|assert_allclose)\b|\b(rtol|atol|rel_tol|abs_tol)\s*=")
JUDGES = [*Path(dropout_kit.__file__).parent.glob("*.py"), *Path(dropout_checks.__file__).parent.glob("*.py")]


@pytest.mark.parametrize("module", [m for m in JUDGES if m.name != "properties.py"], ids=lambda m: m.name)
def test_checks_and_verdicts_compare_values_only_through_the_shared_predicates(module):
    found = [line for line in module.read_text().splitlines() if COMPARISON.search(line)]
    assert not found, f"{module.name} compares values with its own tolerance: {found}"


def test_the_trusted_checker_s_statistics_are_the_kit_s():
    assert masks.rate_test is properties.rate_test and masks.kept_fraction is properties.kept_fraction
    assert dropout_checks.DELTA == dropout_kit._core.DELTA == properties.DELTA


@pytest.mark.parametrize("tolerance", [FORMULA, TORCH_RESULT])
def test_float32_passes_and_a_wrong_formula_fails(tolerance):
    rng = np.random.default_rng(0)
    want = rng.uniform(-3, 3, size=1000)
    assert close(want.astype(np.float32), want, tolerance)
    assert not close(want * (1 + 1e-3), want, tolerance)
    assert not close(want * 0.75, want, tolerance)


def test_shapes_must_match_and_nan_is_never_close():
    assert not close(np.ones(3), np.ones((1, 3)))
    assert not close(np.array([np.nan]), np.array([np.nan]))
    assert not close(object(), 1.0)


def test_a_matrix_product_is_judged_relative_to_its_largest_entry():
    want = np.array([1000.0, 1e-3])
    assert close_product(want + np.array([0.0, 5e-3]), want)   # float32-size error on a cancelled entry
    assert not close(want + np.array([0.0, 5e-3]), want)
    assert not close_product(want + np.array([0.0, 1.0]), want)


def test_the_probability_sum_and_unchanged_tolerances():
    assert close(np.float32(1.0) + np.float32(3e-5), 1.0, PROBABILITY_SUM)
    assert not close(1.01, 1.0, PROBABILITY_SUM)
    assert close(np.arange(3.0), np.arange(3.0), UNCHANGED)
    assert not close(np.arange(3.0) + 1e-12, np.arange(3.0), UNCHANGED)
