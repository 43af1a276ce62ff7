"""Property checks for the NumPy exercises (chapters 1, 2, 3, 5 and 7)."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ._core import DELTA, call_quietly, fail, hoeffding, not_implemented, positive_input, require

INVALID_P = (-0.1, 1.5, math.nan)


@dataclass(frozen=True)
class ForwardKind:
    name: str
    inverted: bool            # scale 1/(1-p) in training, identity at test
    shared_axes: tuple        # axes along which one coin is shared (spatial: H, W; locked: T)
    shapes: tuple             # input shapes to try


KINDS = {
    "vanilla": ForwardKind("vanilla_dropout_forward", False, (), ((200, 100),)),
    "inverted": ForwardKind("inverted_dropout_forward", True, (), ((200, 100), (8, 3, 5, 5))),
    "spatial": ForwardKind("spatial_dropout_forward", True, "spatial", ((100, 40, 6), (100, 40, 4, 4), (60, 30, 2, 3, 3))),
    "locked": ForwardKind("locked_dropout_forward", True, (0,), ((12, 100, 40),)),
}


def _shared(kind: ForwardKind, ndim: int) -> tuple:
    return tuple(range(2, ndim)) if kind.shared_axes == "spatial" else kind.shared_axes


def _run(fn, name, x, p_drop, train, rng):
    before = x.copy()
    try:
        result, _ = call_quietly(fn, x, p_drop, train, rng)
    except Exception as err:  # noqa: BLE001 - any crash becomes a sentence
        not_implemented(name, err)
        fail(name, f"raised {type(err).__name__}: {err} for x of shape {x.shape}, p_drop={p_drop}, train={train}")
    require(np.array_equal(x, before), name, "modified its input x in place; compute a new array instead")
    require(isinstance(result, tuple) and len(result) == 2, name, "must return a pair (out, cache)")
    out, cache = result
    require(isinstance(cache, dict) and "mask" in cache and "scale" in cache, name,
            'cache must be a dict with at least the keys "mask" and "scale"')
    out = np.asarray(out)
    require(out.shape == x.shape, name, f"output shape {out.shape} differs from input shape {x.shape}")
    return out, cache


def _expected_scale(kind: ForwardKind, p_drop: float, train: bool) -> float:
    if kind.inverted:
        return (1.0 / (1.0 - p_drop) if p_drop < 1 else 0.0) if train else 1.0
    return 1.0 if train else 1.0 - p_drop


def check_training_forward(fn, kind_name: str, p_drop: float, rng, statistical: bool = True) -> None:
    kind = KINDS[kind_name]
    name = kind.name
    for shape in kind.shapes:
        x = positive_input(rng, shape)
        out, cache = _run(fn, name, x, p_drop, True, rng)
        mask = cache["mask"]
        require(mask is not None, name, "in training with 0 < p_drop < 1 the cache must hold the keep-mask")
        mask = np.asarray(mask)
        require(mask.dtype == bool or np.isin(mask, (0, 1)).all(), name, "the mask must be boolean (True = kept)")
        try:
            np.broadcast_shapes(mask.shape, x.shape)
        except ValueError:
            fail(name, f"mask of shape {mask.shape} does not broadcast to x of shape {x.shape}")
        scale = float(cache["scale"])
        require(np.allclose(out, x * mask * scale), name, 'out must equal x * cache["mask"] * cache["scale"]')
        kept = out != 0
        rate = kept.mean()
        if statistical and abs(rate - p_drop) < abs(rate - (1 - p_drop)) and abs(p_drop - 0.5) > 0.1:
            fail(name, f"about {rate:.2f} of the units survived with p_drop={p_drop}: p_drop is the probability "
                       f"of DROPPING, so about {1 - p_drop:.2f} should survive (did you use it as a keep probability?)")
        shared = _shared(kind, x.ndim)
        if shared:
            constant = kept.all(axis=shared) | (~kept).all(axis=shared)
            what = "channel" if kind_name == "spatial" else "feature over time"
            require(constant.all(), name, f"for x of shape {shape} each (sample, {what}) must be kept or dropped "
                                          "as a whole, but some were partly dropped (a mask per element?)")
            units = kept.all(axis=shared)
        else:
            units = kept
        want = _expected_scale(kind, p_drop, True)
        got = out[kept] / x[kept]
        if got.size and not np.allclose(got, want):
            fail(name, f"kept units were multiplied by {np.median(got):.4g}; with p_drop={p_drop} "
                       f"{'inverted dropout scales them by 1/(1-p_drop)' if kind.inverted else 'vanilla dropout leaves them unscaled'}"
                       f" = {want:.4g}")
        if statistical:
            tol = hoeffding(units.size)
            require(abs(units.mean() - (1 - p_drop)) < tol, name,
                    f"kept {units.mean():.4f} of {units.size} independent units, expected {1 - p_drop:.4f} ± {tol:.4f} "
                    f"(p_drop={p_drop}; a correct mask fails this with probability < {DELTA:g})")
    # A new mask every call: two calls on the same input must differ.
    x = positive_input(rng, kind.shapes[0])
    a, _ = _run(fn, name, x, 0.5, True, rng)
    b, _ = _run(fn, name, x, 0.5, True, rng)
    require(not np.array_equal(a, b), name, "two calls drew the same mask: draw a fresh one from rng on every call")


def check_eval_forward(fn, kind_name: str, rng) -> None:
    kind = KINDS[kind_name]
    for p_drop in (0.0, 0.3, 0.75):
        x = rng.standard_normal(kind.shapes[0])
        out, cache = _run(fn, kind.name, x, p_drop, False, rng)
        want = _expected_scale(kind, p_drop, False)
        if not np.allclose(out, x * want, rtol=1e-5, atol=1e-8):  # relative: float32 arithmetic is fine
            hint = ("inverted dropout does nothing at test time" if kind.inverted
                    else "vanilla dropout multiplies by 1 - p_drop at test time")
            fail(kind.name, f"in evaluation mode (train=False, p_drop={p_drop}) the output should be x * {want:g}: {hint}")


def check_edge_cases(fn, kind_name: str, rng) -> None:
    kind = KINDS[kind_name]
    x = positive_input(rng, kind.shapes[0])
    out, _ = _run(fn, kind.name, x, 0.0, True, rng)
    require(np.allclose(out, x), kind.name, "p_drop=0 in training must return x unchanged")
    with np.errstate(all="ignore"):
        out, _ = _run(fn, kind.name, x, 1.0, True, rng)
    require(np.isfinite(out).all() and (out == 0).all(), kind.name,
            "p_drop=1 in training must return all zeros (no NaN or inf: avoid dividing by 1 - p_drop = 0)")
    for bad in INVALID_P:
        try:
            fn(x, bad, True, rng)
        except ValueError:
            continue
        except Exception as err:  # noqa: BLE001
            fail(kind.name, f"p_drop={bad} should raise ValueError, but raised {type(err).__name__}")
        fail(kind.name, f"p_drop={bad} is not a probability and should raise ValueError")


def check_forward(fn, kind_name: str, seed: int = 0, full: bool = True) -> None:
    """Everything the spec asks of a forward; ``full=False`` is the quick visible subset."""
    rng = np.random.default_rng(seed)
    check_training_forward(fn, kind_name, 0.25 if full else 0.5, rng, statistical=full)
    check_eval_forward(fn, kind_name, rng)
    if full:
        check_training_forward(fn, kind_name, 0.7, rng)
        check_edge_cases(fn, kind_name, rng)


# ----------------------------------------------------------------------------- backward

def check_backward(fn, name: str = "dropout_backward", seed: int = 0) -> None:
    """``dx == dout * mask * scale`` for caches of every shape the forwards produce."""
    rng = np.random.default_rng(seed)
    cases = [((6, 7), (6, 7), 1 / 0.6), ((4, 3, 5, 5), (4, 3, 5, 5), 2.0), ((4, 3, 5, 5), (4, 3, 1, 1), 1.25),
             ((5, 4, 6), (1, 4, 6), 1 / 0.7), ((6, 7), (6, 7), 1.0)]
    for x_shape, mask_shape, scale in cases:
        mask = rng.random(mask_shape) < 0.6
        dout = rng.standard_normal(x_shape)
        cache = {"mask": mask, "scale": scale, "x_shape": x_shape}
        try:
            dx, _ = call_quietly(fn, dout.copy(), cache)
        except Exception as err:  # noqa: BLE001
            not_implemented(name, err)
            fail(name, f"raised {type(err).__name__}: {err} for dout of shape {x_shape} and a mask of shape {mask_shape}")
        dx = np.asarray(dx)
        require(dx.shape == x_shape, name, f"dx has shape {dx.shape}, expected {x_shape} (the shape of dout)")
        want = dout * mask * scale
        if not np.allclose(dx, want):
            if np.allclose(dx, dout * mask):
                fail(name, f'dx is missing the scale: it must be dout * mask * cache["scale"] (scale {scale:g})')
            fail(name, f"dx must be dout * cache['mask'] * cache['scale'], using the mask saved in the forward pass "
                       f"(mask of shape {mask_shape}; a new random mask gives gradients of another network)")
    eval_cache = {"mask": None, "scale": 0.7, "x_shape": (3, 4)}
    dout = rng.standard_normal((3, 4))
    dx, _ = call_quietly(fn, dout, eval_cache)
    require(np.allclose(dx, 0.7 * dout), name, 'with cache["mask"] None (evaluation) dx must be dout * cache["scale"]')


def check_layer(cls, seed: int = 0, full: bool = True) -> None:
    name = getattr(cls, "__name__", "Dropout")
    rng = np.random.default_rng(seed)
    try:
        layer, _ = call_quietly(cls, 0.4, rng=rng)
    except Exception as err:  # noqa: BLE001
        not_implemented(name, err)
        fail(name, f"Dropout(0.4, rng=rng) raised {type(err).__name__}: {err}")
    require(getattr(layer, "training", None) is True, name, "a new layer must start in training mode (.training True)")
    for shape in [(300, 50), (20, 6, 10, 10)]:
        x = positive_input(rng, shape)
        try:
            out = np.asarray(layer.forward(x))
            dout = rng.standard_normal(shape)
            dx = np.asarray(layer.backward(dout))
        except Exception as err:  # noqa: BLE001
            not_implemented(name, err)
            fail(name, f"forward/backward raised {type(err).__name__}: {err} for input of shape {shape}")
        require(out.shape == shape and dx.shape == shape, name, f"forward and backward must keep the shape {shape}")
        kept = out != 0
        require(np.allclose(out[kept] / x[kept], 1 / 0.6), name, "kept units must be scaled by 1/(1-p_drop) (inverted dropout)")
        require(np.allclose(dx, dout * kept / 0.6), name,
                f"backward must reuse the mask of the last forward: dx = dout * mask / (1 - p_drop) (input {shape})")
        if full:
            tol = hoeffding(kept.size)
            require(abs(kept.mean() - 0.6) < tol, name,
                    f"kept {kept.mean():.4f} of the units with p_drop=0.4, expected 0.6 ± {tol:.4f}")
    result = layer.eval()
    require(getattr(layer, "training", None) is False, name, ".eval() must set .training to False")
    x = rng.standard_normal((4, 5))
    require(np.allclose(layer.forward(x), x), name, "in evaluation mode the layer must be the identity")
    require(np.allclose(layer.backward(np.ones((4, 5))), 1.0), name, "in evaluation mode backward must pass dout through")
    layer.train()
    require(layer.training is True, name, ".train() must set .training back to True")
    if full:
        for bad in INVALID_P:
            try:
                cls(bad)
            except ValueError:
                continue
            except Exception as err:  # noqa: BLE001
                fail(name, f"Dropout({bad}) should raise ValueError, not {type(err).__name__}")
            fail(name, f"Dropout({bad}) should raise ValueError: p_drop must lie in [0, 1]")
    del result


# ----------------------------------------------------------------------------- chapter 1

def check_keep_to_drop(fn) -> None:
    name = "keep_to_drop"
    for p_keep in (0.0, 0.2, 0.5, 0.8, 1.0):
        try:
            got = fn(p_keep)
        except Exception as err:  # noqa: BLE001
            not_implemented(name, err)
            fail(name, f"raised {type(err).__name__}: {err} for p_keep={p_keep}")
        require(math.isclose(got, 1 - p_keep, abs_tol=1e-12), name, f"keep probability {p_keep} should give p_drop {1 - p_keep:g}, got {got}")
    for bad in INVALID_P:
        try:
            fn(bad)
        except ValueError:
            continue
        fail(name, f"p_keep={bad} is not a probability: raise ValueError")


def check_all_keep_masks(fn) -> None:
    name = "all_keep_masks"
    for n in (1, 3, 6):
        try:
            masks = np.asarray(fn(n))
        except Exception as err:  # noqa: BLE001
            not_implemented(name, err)
            fail(name, f"raised {type(err).__name__}: {err} for n={n}")
        require(masks.shape == (2 ** n, n), name, f"for n={n} expected shape {(2 ** n, n)}, got {masks.shape}")
        require(np.isin(masks, (0, 1)).all(), name, "entries must be 0/1 or booleans")
        require(len({tuple(r) for r in masks.astype(int)}) == 2 ** n, name, f"for n={n} some masks repeat: all 2^n must be distinct")


def check_expected_masked_output(fn, seed: int = 0) -> None:
    name = "expected_masked_output"
    rng = np.random.default_rng(seed)
    for p_drop in (0.0, 0.3, 0.5, 0.9):
        a = rng.standard_normal(5)
        try:
            got = np.asarray(fn(a, p_drop))
        except Exception as err:  # noqa: BLE001
            not_implemented(name, err)
            fail(name, f"raised {type(err).__name__}: {err}")
        want = sum((1 - p_drop) ** sum(m) * p_drop ** (5 - sum(m)) * np.array(m) * a
                   for m in itertools.product((0, 1), repeat=5))
        require(got.shape == a.shape and np.allclose(got, want, rtol=1e-10), name,
                f"for p_drop={p_drop} the probability-weighted sum over all 32 masks should equal {np.round(want, 4)}, got {np.round(got, 4)}")


# ----------------------------------------------------------------------------- chapter 7

def _dropconnect_inputs(rng):
    return positive_input(rng, (30, 40)), positive_input(rng, (40, 50)), rng.standard_normal(50)


def check_dropconnect_forward(fn, seed: int = 0, full: bool = True) -> None:
    name = "dropconnect_forward"
    rng = np.random.default_rng(seed)
    x, W, b = _dropconnect_inputs(rng)
    try:
        out, cache = fn(x, W, b, 0.3, True, rng)
    except Exception as err:  # noqa: BLE001
        not_implemented(name, err)
        fail(name, f"raised {type(err).__name__}: {err}")
    mask = np.asarray(cache["mask"])
    require(mask.shape == W.shape, name, f"the mask must cover the weights: shape {W.shape}, got {mask.shape}")
    scale = float(cache["scale"])
    require(math.isclose(scale, 1 / 0.7, rel_tol=1e-5), name, f"scale should be 1/(1-p_drop) = {1 / 0.7:.4f}, got {scale:.4f}")
    require(np.allclose(out, x @ (W * mask * scale) + b), name, "out must equal x @ (W * mask * scale) + b")
    if full:
        tol = hoeffding(mask.size)
        require(abs(mask.mean() - 0.7) < tol, name, f"kept {mask.mean():.4f} of the weights, expected 0.7 ± {tol:.4f}")
    out, _ = fn(x, W, b, 0.3, False, rng)
    require(np.allclose(out, x @ W + b), name, "in evaluation mode DropConnect must use W itself: x @ W + b")


def check_dropconnect_backward(forward, backward, seed: int = 0) -> None:
    name = "dropconnect_backward"
    rng = np.random.default_rng(seed)
    x, W, b = _dropconnect_inputs(rng)
    _, cache = forward(x, W, b, 0.4, True, rng)
    mask, scale = np.asarray(cache["mask"]), float(cache["scale"])
    dout = rng.standard_normal((30, 50))
    try:
        dx, dW, db = backward(dout, cache)
    except Exception as err:  # noqa: BLE001
        not_implemented(name, err)
        fail(name, f"raised {type(err).__name__}: {err}")
    W_used = W * mask * scale
    require(np.allclose(dx, dout @ W_used.T), name, "dx must be dout @ (W * mask * scale).T: the dropped weights carry no gradient to x")
    require(np.allclose(dW, (x.T @ dout) * mask * scale), name, "dW must be (x.T @ dout) * mask * scale: zero on dropped weights")
    require(np.allclose(db, dout.sum(axis=0)), name, "db must be dout summed over the batch")
