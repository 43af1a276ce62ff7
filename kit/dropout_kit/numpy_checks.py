"""Visible checks for the NumPy exercises (chapters 1, 2, 3, 5 and 7).

Each check calls your function on a few small inputs and raises :class:`ExerciseFailure` with
a sentence naming the property that failed and the input it failed on. They are a quick subset
of what the hidden tests check; the requirements are all in the exercise text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._core import DELTA, call_quietly, crashed, fail, positive_input, require, visible_check
from .properties import close, close_product, is_keep_mask, kept_fraction, shared_along


@dataclass(frozen=True)
class ForwardKind:
    name: str
    inverted: bool      # scale 1/(1-p) in training, identity at test
    shared: str         # "": a coin per element; "spatial": per (sample, channel); "time": per (sample, feature)
    shapes: tuple       # input shapes to try


KINDS = {
    "vanilla": ForwardKind("vanilla_dropout_forward", False, "", ((200, 100),)),
    "inverted": ForwardKind("inverted_dropout_forward", True, "", ((200, 100), (8, 3, 5, 5))),
    "spatial": ForwardKind("spatial_dropout_forward", True, "spatial", ((100, 40, 6), (100, 40, 4, 4), (60, 30, 2, 3, 3))),
    "locked": ForwardKind("locked_dropout_forward", True, "time", ((12, 100, 40),)),
}


def _shared_axes(kind: ForwardKind, ndim: int) -> tuple:
    return {"spatial": tuple(range(2, ndim)), "time": (0,)}.get(kind.shared, ())


def _expected_scale(kind: ForwardKind, p_drop: float, train: bool) -> float:
    if kind.inverted:
        return (1.0 / (1.0 - p_drop) if p_drop < 1 else 0.0) if train else 1.0
    return 1.0 if train else 1.0 - p_drop


def _run(fn, name, x, p_drop, train, rng):
    before = x.copy()
    where = f"for x of shape {x.shape}, p_drop={p_drop}, train={train}"
    try:
        result, _ = call_quietly(fn, x, p_drop, train, rng)
    except Exception as err:  # noqa: BLE001 - any crash becomes a sentence
        crashed(name, err, where)
    require(np.array_equal(x, before), name, "modified its input x in place; compute a new array instead")
    require(isinstance(result, tuple) and len(result) == 2, name, "must return a pair (out, cache)")
    out, cache = result
    require(isinstance(cache, dict) and "mask" in cache and "scale" in cache, name,
            'cache must be a dict with at least the keys "mask" and "scale"')
    out = np.asarray(out)
    require(out.shape == x.shape, name, f"output shape {out.shape} differs from input shape {x.shape} ({where})")
    return out, cache


def _check_training(fn, kind: ForwardKind, p_drop: float, shape, rng) -> np.ndarray:
    name = kind.name
    x = positive_input(rng, shape)
    out, cache = _run(fn, name, x, p_drop, True, rng)
    require(cache["mask"] is not None, name, "in training with 0 < p_drop < 1 the cache must hold the keep-mask")
    mask = np.asarray(cache["mask"])
    require(is_keep_mask(mask), name, "the mask must be boolean (True = kept)")
    try:
        np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        fail(name, f"mask of shape {mask.shape} does not broadcast to x of shape {x.shape}")
    scale = float(cache["scale"])
    require(close(out, x * mask * scale), name,
            f'out must equal x * cache["mask"] * cache["scale"] (x of shape {shape}, p_drop={p_drop})')
    kept = out != 0
    if abs(kept.mean() - p_drop) < abs(kept.mean() - (1 - p_drop)):
        fail(name, f"about {kept.mean():.2f} of the units survived with p_drop={p_drop}: p_drop is the probability "
                   f"of DROPPING, so about {1 - p_drop:.2f} should survive (did you use it as a keep probability?)")
    shared = _shared_axes(kind, x.ndim)
    if shared:
        what = "channel" if kind.shared == "spatial" else "feature over time"
        require(shared_along(kept, shared), name, f"for x of shape {shape} each (sample, {what}) must be kept or dropped "
                                      "as a whole, but some were partly dropped (a mask per element?)")
        units = kept.all(axis=shared)
    else:
        units = kept
    want = _expected_scale(kind, p_drop, True)
    got = out[kept] / x[kept]
    if got.size and not close(got, np.full_like(got, want)):
        fail(name, f"kept units were multiplied by {np.median(got):.4g}; with p_drop={p_drop} "
                   f"{'inverted dropout scales them by 1/(1-p_drop)' if kind.inverted else 'vanilla dropout leaves them unscaled'}"
                   f" = {want:.4g}")
    fraction = kept_fraction(units, p_drop)
    require(fraction.passed, name,
            f"kept {fraction.observed:.4f} of {fraction.events} independent units, expected {fraction.expected:.4f} "
            f"± {fraction.tolerance:.4f} (p_drop={p_drop}; a correct mask fails this with probability < {DELTA:g})")
    return out


@visible_check(lambda fn, kind, *args, **kwargs: KINDS[kind].name)
def check_forward(fn, kind: str, seed: int = 0) -> None:
    """Training at p_drop=0.25 on each input shape, a fresh mask per call, evaluation mode."""
    kind = KINDS[kind]
    rng = np.random.default_rng(seed)
    for shape in kind.shapes:
        _check_training(fn, kind, 0.25, shape, rng)
    x = positive_input(rng, kind.shapes[0])
    first, _ = _run(fn, kind.name, x, 0.5, True, rng)
    second, _ = _run(fn, kind.name, x, 0.5, True, rng)
    require(not np.array_equal(first, second), kind.name,
            "two calls on the same input drew the same mask: draw a fresh one from rng on every call")
    for p_drop in (0.0, 0.3):
        x = rng.standard_normal(kind.shapes[0])
        out, _ = _run(fn, kind.name, x, p_drop, False, rng)
        want = _expected_scale(kind, p_drop, False)
        if not close(out, x * want):
            hint = ("inverted dropout does nothing at test time" if kind.inverted
                    else "vanilla dropout multiplies by 1 - p_drop at test time")
            fail(kind.name, f"in evaluation mode (train=False, p_drop={p_drop}) the output should be x * {want:g}: {hint}")
    # The exercise text: in evaluation no random numbers are drawn, so rng may be left out.
    x = rng.standard_normal(kind.shapes[0])
    try:
        result, _ = call_quietly(fn, x, 0.3, False)
    except Exception as err:  # noqa: BLE001
        crashed(kind.name, err, "in evaluation mode called without rng, as f(x, 0.3, False): evaluation draws "
                                "no random numbers, so it must not need rng")
    require(isinstance(result, tuple) and len(result) == 2 and close(np.asarray(result[0]), x * _expected_scale(
        kind, 0.3, False)), kind.name, "called without rng in evaluation mode, f(x, 0.3, False) gave another output")
    if kind.shared == "spatial":
        _check_other_ranks_refused(fn, kind.name, rng)


def _check_other_ranks_refused(fn, name: str, rng) -> None:
    """Spatial dropout takes (N, C) plus 1 to 3 spatial dimensions; any other rank raises ValueError."""
    for shape in ((6, 4), (2, 3, 2, 2, 2, 2)):
        try:
            call_quietly(fn, positive_input(rng, shape), 0.5, True, rng)
        except ValueError:
            continue
        except Exception as err:  # noqa: BLE001
            fail(name, f"for x of shape {shape} ({len(shape)} dimensions) raise ValueError, not {type(err).__name__}")
        fail(name, f"x of shape {shape} has {len(shape) - 2} spatial dimensions (1 to 3 are allowed): raise ValueError")


# ----------------------------------------------------------------------------- backward (chapters 3, 5)

BACKWARD_CASES = {
    # (dout shape, mask shape or None for an evaluation cache, scale)
    "dropout": (((20,), (20,), 2.0), ((6, 7), (6, 7), 1 / 0.6), ((4, 3, 5, 5), (4, 3, 1, 1), 1.25),
                ((3, 4), None, 0.7)),
    "spatial": (((10, 8, 6), (10, 8, 1), 1 / 0.6), ((6, 5, 4, 4), (6, 5, 1, 1), 1.25), ((6, 5, 4, 4), None, 1.0)),
}
BACKWARD_NAMES = {"dropout": "dropout_backward", "spatial": "spatial_dropout_backward"}


@visible_check(lambda fn, kind="dropout", *args, **kwargs: BACKWARD_NAMES[kind])
def check_backward(fn, kind: str = "dropout", seed: int = 0) -> None:
    """``dx == dout * mask * scale`` with the cache's own mask (``dout * scale`` when it is None)."""
    name = BACKWARD_NAMES[kind]
    rng = np.random.default_rng(seed)
    for x_shape, mask_shape, scale in BACKWARD_CASES[kind]:
        mask = None if mask_shape is None else rng.random(mask_shape) < 0.6
        dout = rng.standard_normal(x_shape)
        cache = {"mask": None if mask is None else mask.copy(), "scale": scale, "x_shape": x_shape}
        where = (f"for dout of shape {x_shape} and a mask of shape {mask_shape}" if mask is not None
                 else f'for dout of shape {x_shape} and cache["mask"] None (evaluation)')
        try:
            dx, _ = call_quietly(fn, dout.copy(), cache)
        except Exception as err:  # noqa: BLE001
            crashed(name, err, where)
        dx = np.asarray(dx)
        require(dx.shape == x_shape, name, f"dx has shape {dx.shape}, expected {x_shape} (the shape of dout)")
        if mask is None:
            require(close(dx, dout * scale), name,
                    f'with cache["mask"] None (evaluation) dx must be dout * cache["scale"] (scale {scale:g})')
            continue
        if not close(dx, dout * mask * scale):
            if close(dx, dout * mask):
                fail(name, f'dx is missing the scale: it must be dout * cache["mask"] * cache["scale"] ({where}, scale {scale:g})')
            fail(name, f"dx must be dout * cache['mask'] * cache['scale'], using the mask saved in the forward pass "
                       f"({where}; a new random mask gives the gradient of another network)")


# ----------------------------------------------------------------------------- the Dropout layer (chapter 3)

@visible_check(lambda cls, *args, **kwargs: getattr(cls, "__name__", "Dropout"))
def check_layer(cls, seed: int = 0) -> None:
    """``Dropout(0.4, rng=rng)``: modes, forward/backward on 2-D and 4-D inputs, evaluation mode."""
    name = getattr(cls, "__name__", "Dropout")
    rng = np.random.default_rng(seed)
    try:
        layer, _ = call_quietly(cls, 0.4, rng=rng)
    except Exception as err:  # noqa: BLE001
        crashed(name, err, "when built as Dropout(0.4, rng=rng)")
    require(getattr(layer, "training", None) is True, name, "a new layer must start in training mode (.training True)")
    for shape in [(300, 50), (20, 6, 10, 10)]:
        x = positive_input(rng, shape)
        dout = rng.standard_normal(shape)
        try:
            first = np.asarray(layer.forward(x))
            out = np.asarray(layer.forward(x))
            dx = np.asarray(layer.backward(dout))
        except Exception as err:  # noqa: BLE001
            crashed(name, err, f"in forward or backward, for an input of shape {shape} in training mode")
        require(first.shape == shape and out.shape == shape and dx.shape == shape, name,
                f"forward and backward must keep the shape {shape}")
        kept = out != 0
        require(close(out[kept] / x[kept], np.full(int(kept.sum()), 1 / 0.6)), name,
                "kept units must be scaled by 1/(1-p_drop) (inverted dropout)")
        require(not np.array_equal(first, out), name,
                f"two forward calls on the same input drew the same mask (input {shape}): draw a fresh one "
                "from the layer's rng on every call")
        if not close(dx, dout * kept / 0.6):
            if close(dx, dout * kept):
                fail(name, f"backward is missing the scale: dx = dout * mask / (1 - p_drop) (input {shape})")
            fail(name, f"backward must reuse the mask of the last forward call: dx = dout * mask / (1 - p_drop) "
                       f"(input {shape})")
    layer.eval()
    require(getattr(layer, "training", None) is False, name, ".eval() must set .training to False")
    x = rng.standard_normal((4, 5))
    require(close(layer.forward(x), x), name, "in evaluation mode forward must be the identity (out == x)")
    require(close(layer.backward(np.ones((4, 5))), np.ones((4, 5))), name,
            "in evaluation mode backward must pass dout through unchanged")
    layer.train()
    require(getattr(layer, "training", None) is True, name, ".train() must set .training back to True")
    x = positive_input(rng, (30, 20))
    try:
        everything_dropped = np.asarray(cls(1.0, rng=rng).forward(x))
    except Exception as err:  # noqa: BLE001
        crashed(name, err, "for Dropout(1.0) in training mode (every unit dropped)")
    require(everything_dropped.shape == x.shape and np.all(everything_dropped == 0), name,
            "Dropout(1.0) drops every unit: forward must return all zeros (scale 0, no division by zero)")


# ----------------------------------------------------------------------------- chapter 1

def _is_number(value) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))) \
        or (isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf")


@visible_check("keep_to_drop")
def check_keep_to_drop(fn) -> None:
    name = "keep_to_drop"
    for p_keep in (0.0, 0.2, 0.5, 0.8, 1.0):
        try:
            got, _ = call_quietly(fn, p_keep)
        except Exception as err:  # noqa: BLE001
            crashed(name, err, f"for p_keep={p_keep}")
        require(_is_number(got), name, f"must return a number, got {type(got).__name__} for p_keep={p_keep}")
        require(close(float(got), 1 - p_keep), name,
                f"keep probability {p_keep} should give p_drop {1 - p_keep:g}, got {float(got):.6g}")
    for p_keep in (-0.1, 1.5, float("nan")):
        try:
            got, _ = call_quietly(fn, p_keep)
        except ValueError:
            continue
        except Exception as err:  # noqa: BLE001
            fail(name, f"p_keep={p_keep} must raise ValueError, it raised {type(err).__name__}: {err}")
        hint = (" (every comparison with NaN is False, so `p_keep < 0 or p_keep > 1` lets it through: "
                "test `not 0 <= p_keep <= 1`)" if p_keep != p_keep else "")
        fail(name, f"p_keep={p_keep} is not a probability: raise ValueError, instead it returned {got!r}{hint}")


@visible_check("all_keep_masks")
def check_all_keep_masks(fn) -> None:
    name = "all_keep_masks"
    for n in (1, 2, 3):
        try:
            masks, _ = call_quietly(fn, n)
        except Exception as err:  # noqa: BLE001
            crashed(name, err, f"for n={n}")
        masks = np.asarray(masks)
        require(masks.shape == (2 ** n, n), name, f"for n={n} expected shape {(2 ** n, n)}, got {masks.shape}")
        require(masks.dtype.kind in "biuf" and is_keep_mask(masks), name,
                f"for n={n} the entries must be 0/1 or booleans")
        distinct = len({tuple(row) for row in masks.astype(int).tolist()})
        require(distinct == 2 ** n, name, f"for n={n} only {distinct} of the {2 ** n} masks are distinct: "
                                          "each keep-mask must appear exactly once")


@visible_check("expected_masked_output")
def check_expected_masked_output(fn, seed: int = 0) -> None:
    name = "expected_masked_output"
    rng = np.random.default_rng(seed)
    for p_drop, a in ((0.5, np.array([1.0, 2.0, 3.0])), (0.3, rng.standard_normal(4))):
        where = f"for a = {np.round(a, 4)} and p_drop={p_drop}"
        try:
            got, _ = call_quietly(fn, a.copy(), p_drop)
        except Exception as err:  # noqa: BLE001
            crashed(name, err, where)
        got = np.asarray(got)
        require(got.shape == a.shape, name, f"the result must have the shape of a, {a.shape}, got {got.shape} ({where})")
        want = (1 - p_drop) * a
        require(close(got, want), name,
                f"{where} the probability-weighted sum over all {2 ** a.size} masks is (1 - p_drop) * a = "
                f"{np.round(want, 4)}, got {np.round(got, 4)}")


# ----------------------------------------------------------------------------- chapter 7

def _dropconnect_inputs(rng):
    return positive_input(rng, (30, 40)), positive_input(rng, (40, 50)), rng.standard_normal(50)


@visible_check("dropconnect_forward")
def check_dropconnect_forward(fn, seed: int = 0) -> None:
    name = "dropconnect_forward"
    rng = np.random.default_rng(seed)
    x, W, b = _dropconnect_inputs(rng)
    where = f"for x {x.shape}, W {W.shape}, b {b.shape}"
    try:
        result, _ = call_quietly(fn, x, W, b, 0.3, True, rng)
    except Exception as err:  # noqa: BLE001
        crashed(name, err, f"{where}, p_drop=0.3, train=True")
    require(isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict), name,
            "must return a pair (out, cache) with cache a dict")
    out, cache = result
    require("mask" in cache and "scale" in cache, name, 'cache must hold at least the keys "mask" and "scale"')
    out, mask = np.asarray(out), np.asarray(cache["mask"])
    require(out.shape == (30, 50), name, f"out must have shape (N, M) = (30, 50), got {out.shape} ({where})")
    require(mask.shape == W.shape, name, f"the mask must cover the weights: shape {W.shape}, got {mask.shape}")
    scale = float(cache["scale"])
    require(close(scale, 1 / 0.7), name,
            f'cache["scale"] should be 1/(1-p_drop) = {1 / 0.7:.4f} for p_drop=0.3, got {scale:.4g}')
    require(close_product(out, x @ (W * mask * scale) + b), name,
            f'out must equal x @ (W * cache["mask"] * cache["scale"]) + b ({where}, p_drop=0.3)')
    try:
        result, _ = call_quietly(fn, x, W, b, 0.3, False, rng)
    except Exception as err:  # noqa: BLE001
        crashed(name, err, f"{where}, p_drop=0.3, train=False")
    require(isinstance(result, tuple) and len(result) == 2, name, "must return a pair (out, cache)")
    require(close_product(result[0], x @ W + b), name,
            "in evaluation mode (train=False) DropConnect must use W itself: out == x @ W + b")


@visible_check("dropconnect_backward")
def check_dropconnect_backward(forward, backward, seed: int = 0) -> None:
    name = "dropconnect_backward"
    rng = np.random.default_rng(seed)
    x, W, b = _dropconnect_inputs(rng)
    before = "dropconnect_forward(x, W, b, 0.4, True, rng) (the backward is checked on its cache)"
    try:
        result, _ = call_quietly(forward, x, W, b, 0.4, True, rng)
    except NotImplementedError:
        fail(name, "not implemented yet: dropconnect_forward still raises NotImplementedError, and the backward "
                   "is checked on the cache your forward returns")
    except Exception as err:  # noqa: BLE001
        fail(name, f"{before} raised {type(err).__name__}: {err}")
    require(isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)
            and "mask" in result[1] and "scale" in result[1], name,
            f'{before} must return a pair (out, cache) whose cache holds "mask" and "scale"')
    cache = result[1]
    mask, scale = np.asarray(cache["mask"]), float(cache["scale"])
    dout = rng.standard_normal((30, 50))
    try:
        grads, _ = call_quietly(backward, dout, cache)
    except Exception as err:  # noqa: BLE001
        crashed(name, err, "for dout of shape (30, 50) and the cache of dropconnect_forward(x, W, b, 0.4, True, rng)")
    require(isinstance(grads, (tuple, list)) and len(grads) == 3, name, "must return a triple (dx, dW, db)")
    dx, dW, db = (np.asarray(g) for g in grads)
    for got, want, what in ((dx, x.shape, "dx"), (dW, W.shape, "dW"), (db, b.shape, "db")):
        require(got.shape == want, name, f"{what} must have shape {want}, got {got.shape}")
    W_used = W * mask * scale
    require(close_product(dx, dout @ W_used.T), name,
            "dx must be dout @ (W * mask * scale).T: the dropped weights carry no gradient to x")
    if not close_product(dW, (x.T @ dout) * mask * scale):
        if close_product(dW, (x.T @ dout) * mask):
            fail(name, 'dW is missing the scale: it must be (x.T @ dout) * mask * cache["scale"]')
        fail(name, "dW must be (x.T @ dout) * mask * scale: zero on dropped weights")
    require(close_product(db, dout.sum(axis=0)), name, "db must be dout summed over the batch (axis 0)")
