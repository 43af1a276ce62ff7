"""The one place where inputs are validated.

Every public function funnels ``p_drop``, ``x`` and ``rng`` through these helpers so that
the error messages (and the convention they explain) are identical everywhere.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

CONVENTION = {
    "p_drop": "p_drop is the probability of DROPPING a unit (PyTorch's `p`)",
    "p_keep": "p_keep is the probability of KEEPING a unit (the 2014 paper's and CS231n's `p`)",
}
HINT = {
    "p_drop": " If you hold a keep probability, pass p_drop = 1 - p_keep.",
    "p_keep": "",
}


def check_p_drop(p_drop, name: str = "p_drop") -> float:
    """Return the probability as a float, or raise with a message that names the convention."""
    rule = f"{CONVENTION[name]} and must lie in [0, 1]"
    if isinstance(p_drop, (bool, np.bool_)) or not isinstance(p_drop, numbers.Real):
        raise TypeError(f"{rule}; got {p_drop!r} of type {type(p_drop).__name__}")
    value = float(p_drop)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{rule}; got {name}={value!r}.{HINT[name]}")
    return value


def check_float_array(x, name: str = "x") -> np.ndarray:
    """Return ``x`` as an ndarray of floating dtype without copying it."""
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"{name} must hold floating-point numbers, got dtype {arr.dtype}; "
            f"convert first, e.g. {name}.astype(np.float64)"
        )
    return arr


def check_train(train) -> bool:
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be True or False, got {train!r}")
    return bool(train)


def check_rng(rng, train: bool, p_drop: float):
    """A random source is needed only when something is dropped at random."""
    needs_rng = train and 0.0 < p_drop < 1.0
    if needs_rng and not callable(getattr(rng, "random", None)):
        raise TypeError(
            "rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)) in "
            f"training mode; got {rng!r}"
        )
    return rng


def check_ndim(x: np.ndarray, allowed: range, layout: str) -> None:
    if x.ndim not in allowed:
        raise ValueError(f"expected x of shape {layout}, got shape {x.shape}")
