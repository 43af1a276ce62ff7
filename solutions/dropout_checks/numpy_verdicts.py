"""Verdicts on the NumPy exercises' collected data (trusted side only).

Every verdict on a function that draws masks (the forwards, the layer, DropConnect) checks the
whole rule its exercise states, on the keep decisions read from the output (the inputs are
positive, so a zero means "dropped"): the mask's shape and ``out == x * mask * scale``; the
sharing the rule asks for (one decision per (sample, channel), or per (sample, feature) over
time); no decision shared along a whole axis; the kept fraction; independence of neighbours
along every axis; and independent fresh draws between two calls, or two layers, on one input
(:func:`check_decisions`, :func:`check_fresh`, the statistics in :mod:`masks`).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from dropout_collect import plans
from dropout_kit.properties import close_product, is_keep_mask

from . import masks
from ._core import DELTA, as_array, as_float, close, describe, fail, raised, require, value_of

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


def _unit_axes(kind: str, ndim: int) -> tuple[str, ...]:
    """What each axis of the keep decisions holds, in words (the decisions of spatial and locked
    dropout are one per (sample, channel) and one per (sample, feature))."""
    if kind == "spatial":
        return ("samples", "channels")
    if kind == "locked":
        return ("samples", "features")
    return {2: ("samples (rows of x)", "units (columns of x)"),
            4: ("samples", "channels", "rows", "columns")}.get(ndim, tuple(f"entries along axis {i}" for i in range(ndim)))


BATCH_SHARED = "is one mask shared by the whole batch, e.g. rng.random(x.shape[1:])?"


def _dependence_hint(test: masks.RateTest) -> str:
    """A guess at the mistake, from the direction of the deviation (a mask shared along a whole
    axis is named before this test runs)."""
    if test.observed < test.expected:
        return " (an alternating pattern?)"
    return " (a block or a stripe of units, or decisions shared between neighbours?)"


def check_decisions(name: str, units: np.ndarray, p_drop: float, axes: tuple[str, ...], where: str,
                    unit: str = "unit", first_axis_hint: str = BATCH_SHARED) -> None:
    """The rule on one mask's keep decisions ``units``: no decision shared along an axis, not the same
    number kept by every sample, kept fraction ``1 - p_drop``, and independence along every axis (see
    :mod:`masks`; each rate test fails a correct mask with probability < DELTA, each exact one with
    probability < 1e-20). Sharing is named first: it also throws the kept fraction off."""
    mixed = units.any() and not units.all()  # all kept or all dropped: the kept fraction says what is wrong
    for axis, axis_name in enumerate(axes):
        if mixed and masks.constant_along(units, axis):
            hint = first_axis_hint if axis == 0 else "one decision shared along this axis?"
            fail(name, f"{where}, all {units.shape[axis]} {axis_name} had the same keep decisions: each {unit} must "
                       f"be kept or dropped independently ({hint})")
    if (mixed and masks.equal_counts_probability(units.shape, p_drop) < masks.EQUAL_COUNTS_BOUND
            and masks.equal_counts(units)):
        count = int(units.reshape(units.shape[0], -1)[0].sum())
        fail(name, f"{where}, each of the {units.shape[0]} {axes[0]} kept exactly {count} of its "
                   f"{units[0].size} {unit}s: each {unit} must be kept or dropped independently, so the number kept "
                   "varies (a fixed number, e.g. rng.choice(n, k, replace=False) or a permutation, is not independent)")
    fraction = masks.kept_fraction(units, p_drop)
    require(fraction.passed, name,
            f"kept {fraction.observed:.4f} of {fraction.events} independent {unit}s {where}, expected "
            f"{fraction.expected:.4f} ± {fraction.tolerance:.4f} (p_drop={p_drop} is the probability of DROPPING; "
            f"a correct mask fails this with probability < {DELTA:g})")
    for axis, axis_name in enumerate(axes):
        test = masks.independent_along(units, axis, p_drop)
        if test is not None and not test.passed:
            fail(name, f"{where}, neighbouring {axis_name} agreed on {test.summary('pairs of keep decisions')}: "
                       f"each {unit} must be kept or dropped independently"
                       + _dependence_hint(test))


def check_fresh(name: str, first: np.ndarray, second: np.ndarray, p_drop: float, what: str, advice: str) -> None:
    """Two masks that the rule draws independently (two calls, two layers) are independent draws."""
    if np.array_equal(first, second):
        fail(name, f"{what} drew the same mask: {advice}")
    test = masks.independent_draws(first, second, p_drop)
    how = "more" if test.observed > test.expected else "less"
    require(test.passed, name, f"{what} agreed on {test.summary('keep decisions')}, {how} often than independent "
                               f"masks do: {advice}")


FRESH_ADVICE = "draw a fresh one from rng on every call (do not reseed a generator inside the function or reuse a mask)"


def _check_training(kind, name, call, x, out, cache, statistical) -> np.ndarray:
    """Check one training call; return its keep decisions (one per unit, (sample, channel) or (sample, feature))."""
    inverted = kind != "vanilla"
    p_drop = call.p_drop
    require(cache["mask"] is not None, name, "in training with 0 < p_drop < 1 the cache must hold the keep-mask")
    mask = as_array(cache["mask"], name, 'cache["mask"]')
    require(is_keep_mask(mask), name, "the mask must be boolean (True = kept)")
    try:
        broadcast = np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        broadcast = None
    require(broadcast == x.shape, name, f"the mask must broadcast to the shape of x, {x.shape}, without changing it; "
                                        f"got a mask of shape {mask.shape}")
    scale = as_float(cache["scale"], name, 'cache["scale"]')
    require(close(out, x * mask * scale), name, 'out must equal x * cache["mask"] * cache["scale"]')
    kept = out != 0
    rate = kept.mean()
    if statistical and abs(rate - p_drop) < abs(rate - (1 - p_drop)) and abs(p_drop - 0.5) > 0.1:
        fail(name, f"about {rate:.2f} of the units survived with p_drop={p_drop}: p_drop is the probability "
                   f"of DROPPING, so about {1 - p_drop:.2f} should survive (did you use it as a keep probability?)")
    shared = _shared_axes(kind, x.ndim)
    if shared:
        what = "channel" if kind == "spatial" else "feature over time"
        require(masks.shared_along(kept, shared), name,
                f"for x of shape {call.shape} each (sample, {what}) must be kept or dropped "
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
        unit = {"spatial": "(sample, channel) pair", "locked": "(sample, feature) pair"}.get(kind, "unit")
        shared_shape = {"spatial": "(1, C, 1, 1)", "locked": "(1, 1, D)"}.get(kind, "x.shape[1:]")
        check_decisions(name, units, p_drop, _unit_axes(kind, x.ndim), f"for x of shape {call.shape} and p_drop={p_drop}",
                        unit=unit, first_axis_hint=BATCH_SHARED.replace("x.shape[1:]", shared_shape))
    return units


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
            fresh.append((call, _check_training(kind, name, call, x, out, cache, statistical=False)))
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
    (call, first), (_, second) = fresh
    check_fresh(name, first, second, call.p_drop, f"two calls on the same x of shape {call.shape}", FRESH_ADVICE)


# ----------------------------------------------------------------------------- helpers

def _count(records, n: int, name: str) -> None:
    require(isinstance(records, list) and len(records) == n and all(isinstance(r, dict) for r in records), name,
            "the hidden test did not run to the end (did an answer cell redefine something it uses?)")


def _numeric(value, name: str, what: str) -> np.ndarray:
    """An array of numbers (booleans included), or a failure naming what came back instead."""
    array = as_array(value, name, what)
    require(array.dtype.kind in "biuf", name, f"{what} must hold numbers, got {describe(value)} of dtype {array.dtype}")
    return array


def _number(value, name: str, what: str) -> float:
    """A real number (Python or a NumPy scalar); a bool or a string is not one."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        return float(value)
    require(isinstance(value, int | float) and not isinstance(value, bool), name,
            f"{what} must return a number, got {describe(value)}")
    return float(value)


def _must_raise_value_error(record, name: str, what: str) -> None:
    got = raised(record)
    if got == "NotImplementedError":
        value_of(record, name, "")
    if got != "ValueError":
        fail(name, f"{what} and should raise ValueError" + (f", but {got} was raised" if got else ""))


def _flag(record, name: str, what: str):
    """The value of ``.training`` a collector read (a bool, or None if it is not one)."""
    value = value_of(record, name, f"when reading .training {what}") if isinstance(record, dict) else None
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype == bool:
        return bool(value)
    return value if isinstance(value, bool) else None


# ----------------------------------------------------------------------------- chapter 1

def keep_to_drop(records) -> None:
    """``p_drop = 1 - p_keep`` (relative tolerance), ``ValueError`` outside [0, 1] and for NaN."""
    name = "keep_to_drop"
    _count(records, len(plans.KEEP_VALUES) + len(plans.INVALID_P), name)
    for p_keep, record in zip(plans.KEEP_VALUES, records):
        got = _number(value_of(record, name, f"for p_keep={p_keep}"), name, f"keep_to_drop({p_keep})")
        want = 1.0 - p_keep
        require(close(got, want), name, f"keep probability {p_keep} should give p_drop {want:g}, got {got:.6g}")
    for p_keep, record in zip(plans.INVALID_P, records[len(plans.KEEP_VALUES):]):
        _must_raise_value_error(record, name, f"p_keep={p_keep} is not a probability")


def all_keep_masks(records) -> None:
    """Shape ``(2**n, n)``, entries 0/1 or booleans, no mask twice."""
    name = "all_keep_masks"
    _count(records, len(plans.MASK_SIZES), name)
    for n, record in zip(plans.MASK_SIZES, records):
        masks = _numeric(value_of(record, name, f"for n={n}"), name, f"all_keep_masks({n})")
        require(masks.shape == (2 ** n, n), name, f"for n={n} expected shape {(2 ** n, n)}, got {masks.shape}")
        require(is_keep_mask(masks), name, f"for n={n} the entries must be 0/1 or booleans")
        distinct = len(np.unique(masks.astype(np.int8), axis=0))
        require(distinct == 2 ** n, name, f"for n={n} only {distinct} of the {2 ** n} masks are distinct: "
                                          "each keep-mask must appear exactly once")


def _exact_expectation(a: np.ndarray, p_drop: float) -> np.ndarray:
    """``sum_m P(m) m * a`` over all ``2**n`` masks, in float64 (``0**0 == 1`` as in the formula)."""
    n = a.size
    masks = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.float64)
    kept = masks.sum(axis=1)
    return ((1.0 - p_drop) ** kept * p_drop ** (n - kept)) @ (masks * a)


def expected_masked_output(records, seed: int = 0) -> None:
    """The probability-weighted sum over all masks, recomputed here by enumeration."""
    name = "expected_masked_output"
    cases = plans.expectation_inputs(seed)
    _count(records, len(cases), name)
    for (p_drop, a), record in zip(cases, records):
        where = f"for a of {a.size} units and p_drop={p_drop}"
        got = _numeric(value_of(record, name, where), name, "the result")
        require(got.shape == a.shape, name, f"the result must have the shape of a, {a.shape}, got {got.shape} ({where})")
        want = _exact_expectation(a, p_drop)
        require(close(got, want), name, f"{where} the probability-weighted sum over all {2 ** a.size} masks is "
                                        f"{np.round(want, 4)}, got {np.round(got, 4)} (a = {np.round(a, 4)})")


# ----------------------------------------------------------------------------- backward (chapters 3, 5)

BACKWARD_NAMES = {"dropout": "dropout_backward", "spatial": "spatial_dropout_backward"}


def backward(records, kind: str = "dropout", seed: int = 0) -> None:
    """``dx == dout * mask * scale`` with the cache's own mask (``dout * scale`` when it is None)."""
    name = BACKWARD_NAMES[kind]
    cases = plans.backward_inputs(kind, seed)
    _count(records, len(cases), name)
    for (call, dout, mask), record in zip(cases, records):
        where = (f"for dout of shape {call.x_shape} and a mask of shape {call.mask_shape}" if mask is not None
                 else f'for dout of shape {call.x_shape} and cache["mask"] None (evaluation)')
        dx = _numeric(value_of(record, name, where), name, "dx")
        require(dx.shape == dout.shape, name, f"dx has shape {dx.shape}, expected {dout.shape} (the shape of dout)")
        if mask is None:
            require(close(dx, dout * call.scale), name,
                    f'with cache["mask"] None (evaluation) dx must be dout * cache["scale"] (scale {call.scale:g})')
            continue
        if close(dx, dout * mask * call.scale):
            continue
        if call.scale != 1.0 and close(dx, dout * mask):
            fail(name, f'dx is missing the scale: it must be dout * mask * cache["scale"] (scale {call.scale:g}, {where})')
        fail(name, "dx must be dout * cache['mask'] * cache['scale'], using the mask saved in the forward pass "
                   f"({where}; a new random mask gives gradients of another network)")


# ----------------------------------------------------------------------------- the Dropout layer (chapter 3)

def _layer_training_output(name, step, x, out) -> np.ndarray:
    """Check one training forward of the layer; return where it kept units (x > 0 everywhere)."""
    p_drop = plans.LAYER_P
    scale = 1.0 / (1.0 - p_drop)
    kept = out != 0
    ratio = out[kept] / x[kept]
    if ratio.size and not close(ratio, np.full_like(ratio, scale)):
        fail(name, f"kept units must be scaled by 1/(1-p_drop) = {scale:.4g} (inverted dropout), but were multiplied "
                   f"by {np.median(ratio):.4g} (input of shape {step.shape}, p_drop={p_drop})")
    check_decisions(name, kept, p_drop, _unit_axes("inverted", kept.ndim),
                    f"for an input of shape {step.shape} with p_drop={p_drop}")
    return kept


def _layer_call(name, seed, step, record, kept) -> np.ndarray | None:
    """Judge one forward or backward of the layer; return where its last forward kept units.

    ``kept`` is that of the layer's forward before (None after one in evaluation mode).
    """
    data = plans.layer_array(seed, step)
    training = step.mode == "train"
    where = f"for an input of shape {step.shape} in {'training' if training else 'evaluation'} mode"
    got = _numeric(value_of(record, name, f"in {step.action} {where}"), name, f"{step.action}'s result")
    require(got.shape == data.shape, name, f"{step.action} must keep the shape {step.shape}, got {got.shape}")
    if step.action == "forward":
        if not training:
            require(close(got, data), name, "in evaluation mode forward must be the identity (out == x)")
            return None
        return _layer_training_output(name, step, data, got)
    if not training:
        require(close(got, data), name, "in evaluation mode backward must pass dout through unchanged")
        return kept
    if not close(got, data * kept / (1.0 - plans.LAYER_P)):
        if close(got, data * kept):
            fail(name, f"backward is missing the scale: dx = dout * mask / (1 - p_drop) ({where})")
        fail(name, f"backward must reuse the mask of the last forward call: dx = dout * mask / (1 - p_drop) ({where})")
    return kept


def _layer_fresh(name, step, before: str, units, earlier_units) -> None:
    """Two training forwards on one input, by one layer or two, drew independent masks."""
    shape = f"of shape {step.shape}"
    if before == step.layer:
        what, advice = f"two forward calls on the same input {shape}", "draw a fresh one from the layer's rng on every call"
    elif plans.LAYER_BUILT_WITH_RNG[step.layer]:
        what, advice = (f"two layers built one after the other with the same rng, on the same input {shape},",
                        "each layer must draw its masks from the rng it was given (do not copy or reseed it, "
                        "and do not share a mask between layers)")
    else:
        what, advice = (f"two layers built without an rng (Dropout({step.p_drop})), on the same input {shape},",
                        "when rng is None make a new unseeded generator, np.random.default_rng() (no fixed seed)")
    check_fresh(name, earlier_units, units, plans.LAYER_P, what, advice)


def _layer_built(name, step, record) -> None:
    built = f"Dropout({step.p_drop}, rng=rng)" if plans.LAYER_BUILT_WITH_RNG[step.layer] else f"Dropout({step.p_drop})"
    value_of(record, name, f"when built as {built}")
    require(_flag(record.get("training"), name, "of a new layer") is True, name,
            "a new layer must start in training mode (.training True)")


def layer(records, seed: int = 0) -> None:
    """The layer's hidden test (:func:`plans.layer_plan`), step by step, on inputs regenerated here.

    Every training forward is checked for the rule (:func:`check_decisions`), and every two
    training forwards on the same input (``key``), by one layer or two, for independent masks.
    """
    name = "Dropout"
    steps = plans.layer_plan()
    _count(records, len(steps), name)
    kept = {}     # layer -> keep decisions of its last forward (None after one in evaluation mode)
    drawn = {}    # input key -> [(layer, keep decisions)] of the training forwards on it so far
    for step, record in zip(steps, records):
        if step.action == "invalid":
            _must_raise_value_error(record, name, f"Dropout({step.p_drop}) is not a valid layer (p_drop must lie in [0, 1])")
        elif step.action == "init":
            _layer_built(name, step, record)
        elif step.action in ("eval", "train"):
            value_of(record, name, f"on .{step.action}()")
            want = step.action == "train"
            require(_flag(record.get("training"), name, f"after .{step.action}()") is want, name,
                    f".{step.action}() must set .training to {want}")
        else:
            kept[step.layer] = _layer_call(name, seed, step, record, kept.get(step.layer))
            if step.action == "forward" and step.mode == "train":
                for before, units in drawn.get(step.key, []):
                    _layer_fresh(name, step, before, kept[step.layer], units)
                drawn.setdefault(step.key, []).append((step.layer, kept[step.layer]))


# ----------------------------------------------------------------------------- DropConnect (chapter 7)

DROPCONNECT_AXES = ("input units (rows of the mask)", "output units (columns of the mask)")


def _dropconnect_cache(name, cache, W):
    """The mask and scale of a DropConnect training cache."""
    require(isinstance(cache, dict) and "mask" in cache and "scale" in cache, name,
            'cache must be a dict with at least the keys "mask" and "scale"')
    require(cache["mask"] is not None, name, "in training the cache must hold the weight mask")
    mask = _numeric(cache["mask"], name, 'cache["mask"]')
    require(mask.shape == W.shape, name, f"the mask must cover the weights: shape {W.shape}, got {mask.shape}")
    require(is_keep_mask(mask), name, "the mask must be boolean (True = weight kept) or 0/1")
    scale = as_float(cache["scale"], name, 'cache["scale"]')
    return mask, scale


def dropconnect_forward(records, seed: int = 0) -> None:
    """Weights masked and scaled by 1/(1-p_drop), ``out == x @ (W * mask * scale) + b``; ``x @ W + b`` in evaluation."""
    name = "dropconnect_forward"
    x, W, b = plans.dropconnect_inputs(seed)
    _count(records, len(plans.DROPCONNECT_PLAN), name)
    fresh = []
    for call, record in zip(plans.DROPCONNECT_PLAN, records):
        where = f"for x {x.shape}, W {W.shape}, b {b.shape}, p_drop={call.p_drop}, train={call.train}"
        result = value_of(record, name, where)
        require(isinstance(result, tuple) and len(result) == 2, name, "must return a pair (out, cache)")
        out = _numeric(result[0], name, "out")
        require(out.shape == (x.shape[0], W.shape[1]), name,
                f"out must have shape {(x.shape[0], W.shape[1])}, got {out.shape} ({where})")
        if not call.train:
            require(close_product(out, x @ W + b), name,
                    f"in evaluation mode DropConnect must use W itself: out == x @ W + b ({where})")
            continue
        mask, scale = _dropconnect_cache(name, result[1], W)
        want_scale = 1.0 / (1.0 - call.p_drop)
        require(close(scale, want_scale), name, f'cache["scale"] should be 1/(1-p_drop) = {want_scale:.4f} for '
                                                f"p_drop={call.p_drop} (inverted scaling), got {scale:.4g}")
        require(close_product(out, x @ (W * mask * scale) + b), name,
                f'out must equal x @ (W * cache["mask"] * cache["scale"]) + b ({where})')
        kept = mask.astype(bool)
        if call.purpose == "fresh":
            fresh.append((call.p_drop, kept))
            continue
        rate = float(kept.mean())
        if abs(rate - call.p_drop) < masks.kept_fraction(kept, call.p_drop).tolerance:
            fail(name, f"kept {rate:.2f} of the weights with p_drop={call.p_drop}: p_drop is the probability of "
                       f"DROPPING, so about {1 - call.p_drop:.2f} should be kept")
        check_decisions(name, kept, call.p_drop, DROPCONNECT_AXES, f"for W of shape {W.shape} and p_drop={call.p_drop}",
                        unit="weight", first_axis_hint="is one row of the mask used for every input unit, "
                                                        "e.g. rng.random(W.shape[1:])?")
    (p_drop, first), (_, second) = fresh
    check_fresh(name, first, second, p_drop, "two calls on the same x, W, b", FRESH_ADVICE)


def dropconnect_backward(records, seed: int = 0) -> None:
    """``(dx, dW, db)`` recomputed from the regenerated ``x, W, dout`` and the forward's own mask and scale.

    The mask and scale come from the student's forward; they are accepted only if that forward's
    output agrees with them, so a made-up mask earns nothing unless it is the one that was used.
    """
    name = "dropconnect_backward"
    p_drop = plans.DROPCONNECT_BACKWARD_P
    x, W, b = plans.dropconnect_inputs(seed)
    dout = plans.dropconnect_dout(seed)
    require(isinstance(records, list) and len(records) in (1, 2) and all(isinstance(r, dict) for r in records), name,
            "the hidden test did not run to the end (did an answer cell redefine something it uses?)")
    first = records[0]
    if raised(first) == "NotImplementedError":
        fail(name, "not implemented yet: dropconnect_forward still raises NotImplementedError, and the backward "
                   "is tested on the cache your forward returns")
    before = f"dropconnect_forward(x, W, b, {p_drop}, True, rng) (the backward is tested on its cache)"
    result = value_of(first, name, f"in {before}")
    require(isinstance(result, tuple) and len(result) == 2, name, f"{before} must return a pair (out, cache)")
    mask, scale = _dropconnect_cache(name, result[1], W)
    require(math.isfinite(scale) and scale > 0, name, f'{before}: cache["scale"] must be a positive number, got {scale:g}')
    require(mask.any() and not mask.all(), name, f"{before} kept all or none of the weights with p_drop={p_drop}")
    W_used = W * mask * scale
    out = _numeric(result[0], name, "the forward's out")
    require(close_product(out, x @ W_used + b), name,
            f'{before}: its out does not equal x @ (W * cache["mask"] * cache["scale"]) + b')
    require(len(records) == 2, name, "the hidden test did not run to the end")
    grads = value_of(records[1], name, f"for dout of shape {dout.shape} and the cache of {before}")
    require(isinstance(grads, tuple | list) and len(grads) == 3, name, "must return a triple (dx, dW, db)")
    dx, dW, db = (_numeric(g, name, what) for g, what in zip(grads, ("dx", "dW", "db")))
    for got, want, what in ((dx, x.shape, "dx"), (dW, W.shape, "dW"), (db, b.shape, "db")):
        require(got.shape == want, name, f"{what} must have shape {want}, got {got.shape}")
    require(close_product(dx, dout @ W_used.T), name,
            "dx must be dout @ (W * mask * scale).T: the dropped weights carry no gradient to x")
    if not close_product(dW, (x.T @ dout) * mask * scale):
        if scale != 1.0 and close_product(dW, (x.T @ dout) * mask):
            fail(name, 'dW is missing the scale: it must be (x.T @ dout) * mask * cache["scale"]')
        fail(name, "dW must be (x.T @ dout) * mask * scale: zero on dropped weights")
    require(close_product(db, dout.sum(axis=0)), name, "db must be dout summed over the batch (axis 0)")
