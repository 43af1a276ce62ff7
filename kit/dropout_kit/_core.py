"""Shared plumbing for the checks: failures with a plain-language message."""
from __future__ import annotations

import math
import warnings

import numpy as np

DELTA = 1e-11  # per check; low enough that 1000 seeds x a dozen checks stay below 1e-6 in total


class ExerciseFailure(AssertionError):
    """A property of the student's function does not hold; the message says which and where."""


def fail(function: str, message: str) -> None:
    raise ExerciseFailure(f"{function}: {message}")


def require(condition, function: str, message: str) -> None:
    if not condition:
        fail(function, message)


def hoeffding(n: int, delta: float = DELTA) -> float:
    return math.sqrt(math.log(2.0 / delta) / (2.0 * n))


def call_quietly(fn, *args, **kwargs):
    """Call ``fn``; a warning it raises is recorded, never turned into a failure."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, caught


def not_implemented(function: str, err: Exception) -> None:
    if isinstance(err, NotImplementedError):
        fail(function, "not implemented yet (the stub still raises NotImplementedError)")


def positive_input(rng, shape) -> np.ndarray:
    """Values in [1, 2): no zeros, so a zero output can only mean "dropped"."""
    return rng.uniform(1.0, 2.0, size=shape)
