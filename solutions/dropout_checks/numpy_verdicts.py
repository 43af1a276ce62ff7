"""Verdicts on the NumPy exercises' collected data (trusted side only)."""
from __future__ import annotations

import functools
import math

import numpy as np

from dropout_collect import plans

from ._core import close, fail, hoeffding, raised, require, value_of, as_array, as_float, DELTA

FORWARD_NAMES = {"vanilla": "vanilla_dropout_forward", "inverted": "inverted_dropout_forward",
                 "spatial": "spatial_dropout_forward", "locked": "locked_dropout_forward"}


def _shared_axes(kind: str, ndim: int) -> tuple:
    """Axes along which one keep/drop decision is shared."""
    return {"spatial": tuple(range(2, ndim)), "locked": (0,)}.get(kind, ())


def _expected_scale(kind: str, p_drop: float, train: bool) -> float:
    if kind == "vanilla":
        return 1.0 if train else 1.0 - p_drop
    return (1.0 / (1.0 - p_drop) if p_drop < 1 else 0.0) if train else 1.0


def _forward_result(record, name, call, x):
    where = f"for x of shape {call.shape}, p_drop={call.p_drop}, train={call.train}"
    result = value_of(record, name, where)
    require(record.get("input_unchanged") is True, name, "modified its input x in place; compute a new array instead")
    require(isinstance(result, tuple) and len(result) == 2, name, "must return a pair (out, cache)")
    out, cache = result
    require(isinstance(cache, dict) and "mask" in cache and "scale" in cache, name,
            'cache must be a dict with at least the keys "mask" and "scale"')
    out = as_array(out, name, "out")
    require(out.shape == x.shape, name, f"output shape {out.shape} differs from input shape {x.shape} ({where})")
    return out, cache


def _check_training(kind, name, call, x, out, cache, statistical):
    inverted = kind != "vanilla"
    p_drop = call.p_drop
    require(cache["mask"] is not None, name, "in training with 0 < p_drop < 1 the cache must hold the keep-mask")
    mask = as_array(cache["mask"], name, 'cache["mask"]')
    require(mask.dtype == bool or np.isin(mask, (0, 1)).all(), name, "the mask must be boolean (True = kept)")
    try:
        np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        fail(name, f"mask of shape {mask.shape} does not broadcast to x of shape {x.shape}")
    scale = as_float(cache["scale"], name, 'cache["scale"]')
    require(close(out, x * mask * scale), name, 'out must equal x * cache["mask"] * cache["scale"]')
    kept = out != 0
    rate = kept.mean()
    if statistical and abs(rate - p_drop) < abs(rate - (1 - p_drop)) and abs(p_drop - 0.5) > 0.1:
        fail(name, f"about {rate:.2f} of the units survived with p_drop={p_drop}: p_drop is the probability "
                   f"of DROPPING, so about {1 - p_drop:.2f} should survive (did you use it as a keep probability?)")
    shared = _shared_axes(kind, x.ndim)
    if shared:
        constant = kept.all(axis=shared) | (~kept).all(axis=shared)
        what = "channel" if kind == "spatial" else "feature over time"
        require(constant.all(), name, f"for x of shape {call.shape} each (sample, {what}) must be kept or dropped "
                                      "as a whole, but some were partly dropped (a mask per element?)")
        units = kept.all(axis=shared)
    else:
        units = kept
    want = _expected_scale(kind, p_drop, True)
    got = out[kept] / x[kept]
    if got.size and not close(got, np.full_like(got, want)):
        fail(name, f"kept units were multiplied by {np.median(got):.4g}; with p_drop={p_drop} "
                   f"{'inverted dropout scales them by 1/(1-p_drop)' if inverted else 'vanilla dropout leaves them unscaled'}"
                   f" = {want:.4g}")
    if statistical:
        tol = hoeffding(units.size)
        require(abs(units.mean() - (1 - p_drop)) < tol, name,
                f"kept {units.mean():.4f} of {units.size} independent units, expected {1 - p_drop:.4f} ± {tol:.4f} "
                f"(p_drop={p_drop}; a correct mask fails this with probability < {DELTA:g})")


def forward(records, kind: str, seed: int = 0) -> None:
    """Everything the spec asks of a forward, judged on the data its hidden test collected."""
    name = FORWARD_NAMES[kind]
    calls = plans.forward_inputs(kind, seed)
    require(isinstance(records, list) and len(records) == len(calls), name,
            "the hidden test did not run to the end (did an answer cell redefine something it uses?)")
    fresh = []
    for (call, x), record in zip(calls, records):
        if call.purpose == "invalid":
            got = raised(record)
            if got == "NotImplementedError":
                value_of(record, name, "")
            if got != "ValueError":
                fail(name, f"p_drop={call.p_drop} is not a probability and should raise ValueError"
                           + (f", but {got} was raised" if got else ""))
            continue
        out, cache = _forward_result(record, name, call, x)
        if call.purpose == "train":
            _check_training(kind, name, call, x, out, cache, statistical=True)
        elif call.purpose == "fresh":
            _check_training(kind, name, call, x, out, cache, statistical=False)
            fresh.append(out)
        elif call.purpose == "eval":
            want = _expected_scale(kind, call.p_drop, False)
            if not close(out, x * want):
                hint = ("inverted dropout does nothing at test time" if kind != "vanilla"
                        else "vanilla dropout multiplies by 1 - p_drop at test time")
                fail(name, f"in evaluation mode (train=False, p_drop={call.p_drop}) the output should be x * {want:g}: {hint}")
        elif call.purpose == "p0":
            require(close(out, x), name, "p_drop=0 in training must return x unchanged")
        elif call.purpose == "p1":
            require(np.isfinite(out).all() and (out == 0).all(), name,
                    "p_drop=1 in training must return all zeros (no NaN or inf: avoid dividing by 1 - p_drop = 0)")
    require(not np.array_equal(fresh[0], fresh[1]), name,
            "two calls drew the same mask: draw a fresh one from rng on every call")


# (assignment, grade_id) -> verdict(records)
VERDICTS = {
    ("ch02", "vanilla_dropout_forward"): functools.partial(forward, kind="vanilla"),
    ("ch02", "inverted_dropout_forward"): functools.partial(forward, kind="inverted"),
}
