"""The inputs every hidden test uses: generated here, on both sides, from fixed seeds.

The collector (in the kernel) and the checker (trusted) each build the same inputs from the
same seed; the checker never takes an input back from the kernel, so a kernel that changes
what it was given only hurts itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

INVALID_P = (-0.1, 1.5, math.nan)

# kind -> (input shapes, whether the scale is 1/(1-p) in training)
FORWARD_KINDS = {
    "vanilla": ((200, 100),),
    "inverted": ((200, 100), (8, 3, 5, 5)),
    "spatial": ((100, 40, 6), (100, 40, 3, 3), (60, 30, 2, 3, 3)),
    "locked": ((12, 100, 40),),
}


@dataclass(frozen=True)
class ForwardCall:
    """One call ``fn(x, p_drop, train, rng)`` of a forward's hidden test."""
    purpose: str          # "train", "fresh", "eval", "p0", "p1" or "invalid"
    shape: tuple
    p_drop: float
    train: bool
    positive: bool        # x in [1, 2): a zero output can only mean "dropped"
    key: int | None = None  # calls with the same key get the same input


def forward_plan(kind: str) -> list[ForwardCall]:
    shapes = FORWARD_KINDS[kind]
    calls = [ForwardCall("train", s, p, True, True) for p in (0.25, 0.7) for s in shapes]
    calls += [ForwardCall("fresh", shapes[0], 0.5, True, True, key=1000)] * 2
    calls += [ForwardCall("eval", shapes[0], p, False, False) for p in (0.0, 0.3, 0.75)]
    calls += [ForwardCall("p0", shapes[0], 0.0, True, True), ForwardCall("p1", shapes[0], 1.0, True, True)]
    calls += [ForwardCall("invalid", shapes[0], p, True, True) for p in INVALID_P]
    return calls


def array_for(seed: int, index: int, shape: tuple, positive: bool) -> np.ndarray:
    """Input number ``index`` of a test: uniform in [1, 2) if ``positive``, else standard normal."""
    rng = np.random.default_rng([seed, index])
    return rng.uniform(1.0, 2.0, size=shape) if positive else rng.standard_normal(shape)


def forward_inputs(kind: str, seed: int) -> list[tuple[ForwardCall, np.ndarray]]:
    """Each call of the plan with its input ``x``."""
    return [(call, array_for(seed, index if call.key is None else call.key, call.shape, call.positive))
            for index, call in enumerate(forward_plan(kind))]


def student_rng(seed: int) -> np.random.Generator:
    """The generator handed to the student's functions (any use of it is fine)."""
    return np.random.default_rng([seed, 99_999])
