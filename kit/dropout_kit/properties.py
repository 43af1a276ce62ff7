"""The properties that both the visible checks and the instructor's grader judge, each with one tolerance.

A visible check (this kit) and the hidden verdict on the same function must agree on what
"correct" means: a correct answer that the grader accepts must not fail here, and the other way
round. So every comparison both sides make is a pure predicate in this module, with the
tolerance of its property named once below. Nothing here calls a student's function, draws a
random number or holds an answer; the grader's own statistical tests (independence along an
axis, fresh draws) build on :func:`rate_test` on its side.

Tolerances (``|got - want| <= atol + rtol * |want|``, in float64, NaN never close):

========================  ==========  ==========  =================================================
property                  rtol        atol        why this size
========================  ==========  ==========  =================================================
:data:`FORMULA`           1e-5        1e-6        a stated NumPy formula (outputs, gradients,
                                                  scales, probabilities) computed in float32 or
                                                  float64 passes; a wrong formula is off by > 1e-2
:data:`TORCH_RESULT`      1e-4        1e-6        a PyTorch result computed in another order
                                                  (batched passes, shuffled rows, log_softmax + nll)
:data:`PROBABILITY_SUM`   1e-4        1e-5        a softmax row sums to one (float32 rows of K terms)
:data:`UNCHANGED`         0           0           what the rule says must not move (BatchNorm's
                                                  running statistics)
:data:`GRADIENT_CHECK`    1e-4        1e-5        a directional derivative from central differences
                                                  of a float64 loss (steps >= 1e-8 that cross no
                                                  ReLU kink: rounding < 1e-7) against the analytic
                                                  gradient; a missing mask or scale is off by > 1e-2
                                                  (a float32 loss: see :func:`difference_tolerance`)
:data:`SGD_STEP`          1e-5        1e-5        a training step ``params - lr * grads`` seen on
                                                  unit-vector projections (float32: ~1e-7); a wrong
                                                  lr or a skipped parameter is off by far more on
                                                  some step (tests/checks/test_capstone_attacks.py)
========================  ==========  ==========  =================================================

A matrix product is compared with :func:`close_product`: relative to its largest entry, since
float32 sums of products that cancel to nearly zero are off by more than ``rtol`` of that entry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DELTA = 1e-11  # false-failure probability of one statistical check of a correct answer
SLACK = 1e-6   # rounding of the keep probability by an honest generator (float32 uniforms: < 6e-8)


@dataclass(frozen=True)
class Tolerance:
    """Elementwise agreement ``|got - want| <= atol + rtol * |want|`` (NumPy's ``isclose``: equal
    infinities agree, NaN agrees with nothing)."""
    rtol: float
    atol: float

    def elementwise(self, got, want) -> np.ndarray:
        """Which entries agree (``got`` and ``want`` must broadcast)."""
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        return np.isclose(got, want, rtol=self.rtol, atol=self.atol, equal_nan=False)

    def holds(self, got, want) -> bool:
        """``got`` has the shape of ``want`` and agrees everywhere; anything that is not numbers fails."""
        try:
            got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        except (TypeError, ValueError, RuntimeError):  # RuntimeError: a torch tensor that tracks gradients
            return False
        return got.shape == want.shape and bool(self.elementwise(got, want).all())


FORMULA = Tolerance(rtol=1e-5, atol=1e-6)
TORCH_RESULT = Tolerance(rtol=1e-4, atol=1e-6)
PROBABILITY_SUM = Tolerance(rtol=1e-4, atol=1e-5)
UNCHANGED = Tolerance(rtol=0.0, atol=0.0)
GRADIENT_CHECK = Tolerance(rtol=1e-4, atol=1e-5)
SGD_STEP = Tolerance(rtol=1e-5, atol=1e-5)

# A float32 loss (exactly representable in float32, which a float64 one is with probability ~2**-29) is
# computed to ~1e-7 relative, so a difference quotient over a step of 1e-5 carries an error of ~1e-2 that
# no correct float32 network avoids: its gradient check is widened by that much.
FLOAT32_ULPS = 64


def difference_tolerance(up: float, down: float, eps: float, tolerance: Tolerance = GRADIENT_CHECK) -> Tolerance:
    """The tolerance of ``(up - down) / (2 * eps)``: ``tolerance``, plus the rounding of a float32 loss."""
    if all(float(np.float32(v)) == v for v in (up, down)):
        slack = FLOAT32_ULPS * float(np.finfo(np.float32).eps) * max(abs(up), abs(down)) / (2 * eps)
        return Tolerance(rtol=tolerance.rtol, atol=tolerance.atol + slack)
    return tolerance


def close(got, want, tolerance: Tolerance = FORMULA) -> bool:
    """``got`` equals ``want`` within the property's ``tolerance`` (same shape, no NaN)."""
    return tolerance.holds(got, want)


def close_product(got, want, tolerance: Tolerance = FORMULA) -> bool:
    """A matrix product agrees relative to its largest entry (see the module's note)."""
    try:
        want = np.asarray(want, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    scaled = Tolerance(rtol=tolerance.rtol, atol=tolerance.rtol * float(np.abs(want).max(initial=0.0)) + tolerance.atol)
    return scaled.holds(got, want)


def is_keep_mask(mask) -> bool:
    """Booleans, or numbers that are all 0 or 1 (True / 1 = kept)."""
    mask = np.asarray(mask)
    return mask.dtype == bool or bool(np.isin(mask, (0, 1)).all())


def shared_along(kept, axes: tuple) -> bool:
    """Every keep decision is the same along ``axes`` (one per channel, one per sequence): exact."""
    kept = np.asarray(kept, dtype=bool)
    return bool((kept.all(axis=axes) | (~kept).all(axis=axes)).all())


# ----------------------------------------------------------------------------- rates of random events

def hoeffding(n: int, delta: float = DELTA) -> float:
    """Half-width within which the mean of ``n`` independent 0/1 draws lies, but with probability ``delta``."""
    return math.sqrt(math.log(2.0 / delta) / (2.0 * n))


@dataclass(frozen=True)
class RateTest:
    """An observed rate of independent 0/1 events against its expectation under the rule."""
    observed: float
    expected: float
    tolerance: float
    events: int

    @property
    def passed(self) -> bool:
        return abs(self.observed - self.expected) < self.tolerance

    def summary(self, events: str) -> str:
        """``"62.0% of 10000 pairs (expected 62.5% ± 3.7%; ...)"``, for a failure message."""
        return (f"{self.observed:.1%} of {self.events} {events} (expected {self.expected:.1%} ± {self.tolerance:.1%}; "
                f"a correct mask fails this with probability < {DELTA:g})")


def rate_test(events, expected: float) -> RateTest:
    """The one statistical test: the mean of independent 0/1 ``events`` within Hoeffding's bound
    (widened by :data:`SLACK`) of ``expected``; a correct answer fails it with probability < DELTA."""
    events = np.asarray(events, dtype=bool).ravel()
    if events.size == 0:
        raise ValueError("a rate test needs at least one event")
    return RateTest(float(events.mean()), float(expected), hoeffding(events.size) + SLACK, int(events.size))


def kept_fraction(kept, p_drop: float) -> RateTest:
    """The units kept (``kept`` True) against the keep probability ``1 - p_drop``."""
    return rate_test(kept, 1.0 - p_drop)
