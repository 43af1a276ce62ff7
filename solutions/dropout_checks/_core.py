"""Shared plumbing of the verdicts: failures in words, unpacking collected records.

The comparisons themselves (tolerances, Hoeffding's bound) are the kit's
:mod:`dropout_kit.properties`, which the visible checks use too, so the two sides cannot drift.
"""
from __future__ import annotations

import numpy as np

from dropout_collect import wire
from dropout_kit.properties import DELTA, close, hoeffding  # noqa: F401 - re-exported to the verdicts


class Failure(AssertionError):
    """A property of the student's function does not hold; the message says which, on what input."""


def fail(function: str, message: str):
    raise Failure(f"{function}: {message}")


def require(condition, function: str, message: str) -> None:
    if not condition:
        fail(function, message)


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
