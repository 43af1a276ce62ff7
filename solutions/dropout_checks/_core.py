"""Shared plumbing of the verdicts: failures in words, bounds, unpacking collected records."""
from __future__ import annotations

import math

import numpy as np

from dropout_collect import wire

DELTA = 1e-11  # false-failure probability per statistical check; 1000 seeds x dozens of checks < 1e-6
RTOL = 1e-5    # relative tolerance: a correct float32 computation passes, a wrong formula does not
ATOL = 1e-6


class Failure(AssertionError):
    """A property of the student's function does not hold; the message says which, on what input."""


def fail(function: str, message: str):
    raise Failure(f"{function}: {message}")


def require(condition, function: str, message: str) -> None:
    if not condition:
        fail(function, message)


def hoeffding(n: int, delta: float = DELTA) -> float:
    """Half-width within which the mean of ``n`` independent 0/1 draws lies, but with prob. ``delta``."""
    return math.sqrt(math.log(2.0 / delta) / (2.0 * n))


def close(a, b, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Elementwise agreement, relative to the size of the values, in float64."""
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))
    except (TypeError, ValueError):
        return False


def describe(value) -> str:
    if isinstance(value, wire.Object):
        return f"an object of type {value}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def value_of(record, function: str, context: str):
    """The value a call returned, or a failure saying what it raised instead."""
    if not isinstance(record, dict):
        fail(function, "the grader received malformed data for this test")
    if "error" in record:
        err = record["error"]
        if isinstance(err, wire.Error) and err.type == "NotImplementedError":
            fail(function, "not implemented yet (the stub still raises NotImplementedError)")
        fail(function, f"raised {err!r} {context}")
    if "value" not in record:
        fail(function, "the grader received malformed data for this test")
    return record["value"]


def raised(record) -> str | None:
    """The class name of what a call raised, or None if it returned."""
    if isinstance(record, dict) and isinstance(record.get("error"), wire.Error):
        return record["error"].type
    return None


def as_array(value, function: str, what: str) -> np.ndarray:
    if isinstance(value, wire.Object) or value is None or isinstance(value, dict | str):
        fail(function, f"{what} must be an array, got {describe(value)}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        fail(function, f"{what} must be an array, got {describe(value)}")
    if array.dtype == object:
        fail(function, f"{what} must be a numeric array")
    return array


def as_float(value, function: str, what: str) -> float:
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        fail(function, f"{what} must be a number, got {describe(value)}")
