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


# ----------------------------------------------------------------------------- chapter 1

KEEP_VALUES = (0.0, 0.2, 0.5, 0.8, 1.0)   # keep_to_drop(p_keep) on each, then INVALID_P
MASK_SIZES = (1, 3, 6)                     # all_keep_masks(n) on each
# expected_masked_output(a, p_drop): (p_drop, number of units); p_drop=0 checks 0**0 = 1 is handled
EXPECTATION_CASES = ((0.0, 5), (0.3, 5), (0.5, 5), (0.9, 5), (0.25, 3), (0.6, 8))


def expectation_inputs(seed: int) -> list[tuple[float, np.ndarray]]:
    """``(p_drop, a)`` for each call of ``expected_masked_output``; ``a`` standard normal."""
    return [(p_drop, array_for(seed, 300 + index, (n,), positive=False))
            for index, (p_drop, n) in enumerate(EXPECTATION_CASES)]


# ----------------------------------------------------------------------------- backward (chapters 3, 5)

@dataclass(frozen=True)
class BackwardCall:
    """One call ``fn(dout, cache)`` with ``cache = {"mask", "scale", "x_shape"}``."""
    x_shape: tuple
    mask_shape: tuple | None   # None: an evaluation cache (mask None)
    scale: float


BACKWARD_KINDS = {
    # Every cache a forward of exercise 2 can produce, incl. masks smaller than dout (broadcast).
    "dropout": (BackwardCall((6, 7), (6, 7), 1 / 0.6), BackwardCall((4, 3, 5, 5), (4, 3, 5, 5), 2.0),
                BackwardCall((4, 3, 5, 5), (4, 3, 1, 1), 1.25), BackwardCall((5, 4, 6), (1, 4, 6), 1 / 0.7),
                BackwardCall((6, 7), (6, 7), 1.0), BackwardCall((3, 4), None, 0.7)),
    # The caches of spatial dropout: one entry per (sample, channel).
    "spatial": (BackwardCall((10, 8, 6), (10, 8, 1), 1 / 0.6), BackwardCall((6, 5, 4, 4), (6, 5, 1, 1), 1.25),
                BackwardCall((4, 3, 2, 3, 3), (4, 3, 1, 1, 1), 2.0), BackwardCall((6, 5, 4, 4), None, 1.0)),
}


def mask_for(seed: int, index: int, shape: tuple, p_keep: float = 0.6) -> np.ndarray:
    """A boolean keep-mask for the backward tests (as a forward would have saved it)."""
    return np.random.default_rng([seed, index, 1]).random(shape) < p_keep


def backward_inputs(kind: str, seed: int) -> list[tuple[BackwardCall, np.ndarray, np.ndarray | None]]:
    """``(call, dout, mask)`` for each call of a backward's hidden test."""
    return [(call, array_for(seed, 400 + index, call.x_shape, positive=False),
             None if call.mask_shape is None else mask_for(seed, 400 + index, call.mask_shape))
            for index, call in enumerate(BACKWARD_KINDS[kind])]


def backward_cache(call: BackwardCall, mask) -> dict:
    """The cache handed to the student's backward (a fresh copy of the mask every time)."""
    return {"mask": None if mask is None else mask.copy(), "scale": call.scale, "x_shape": call.x_shape}


# ----------------------------------------------------------------------------- the Dropout layer (chapter 3)

LAYER_P = 0.4
LAYER_SHAPES = ((300, 50), (20, 6, 10, 10))
LAYER_EVAL_SHAPE = (4, 5)


@dataclass(frozen=True)
class LayerStep:
    """One step of the layer's hidden test, in order.

    ``action`` is "init" (``Dropout(LAYER_P, rng=rng)``, or ``Dropout(LAYER_P)`` for a layer
    built without one), "forward", "backward", "eval", "train" (the mode switches) or "invalid"
    (``Dropout(p)`` for a ``p`` of ``INVALID_P``). ``mode`` is the mode the layer should be in;
    ``key`` names the input (see :func:`layer_array`); ``layer`` names the layer object the step
    acts on (see :data:`LAYER_BUILT_WITH_RNG`).
    """
    action: str
    mode: str = "train"
    shape: tuple = ()
    key: int = 0
    p_drop: float = LAYER_P
    layer: str = "main"


# The layers of the hidden test, and whether each is given the test's rng. "twin_a" and "twin_b"
# are built one after the other from that rng and draw from it in turn, so their masks on one
# input are independent (a layer that copies or reseeds its generator, or shares a mask, repeats
# the other's). "own_a" and "own_b" are built without one: each makes its own unseeded generator.
LAYER_BUILT_WITH_RNG = {"main": True, "twin_a": True, "twin_b": True, "own_a": False, "own_b": False}


def layer_plan() -> list[LayerStep]:
    steps = [LayerStep("init")]
    for i, shape in enumerate(LAYER_SHAPES):
        # Two forwards on one input, then backward: it must use the LAST forward's (fresh) mask.
        steps += [LayerStep("forward", shape=shape, key=500 + i), LayerStep("forward", shape=shape, key=500 + i),
                  LayerStep("backward", shape=shape, key=510 + i)]
    steps += [LayerStep("eval", mode="eval"), LayerStep("forward", "eval", LAYER_EVAL_SHAPE, 520),
              LayerStep("backward", "eval", LAYER_EVAL_SHAPE, 521),
              LayerStep("train"), LayerStep("forward", shape=LAYER_SHAPES[0], key=522),
              LayerStep("backward", shape=LAYER_SHAPES[0], key=523)]
    # Two new layers on one rng, then two without one: each pair's masks on one input independent.
    for pair, key in ((("twin_a", "twin_b"), 530), (("own_a", "own_b"), 540)):
        steps += [LayerStep("init", layer=name) for name in pair]
        steps += [LayerStep("forward", shape=LAYER_SHAPES[0], key=key, layer=name) for name in pair]
    steps += [LayerStep("invalid", p_drop=p) for p in INVALID_P]
    return steps


def layer_array(seed: int, step: LayerStep) -> np.ndarray:
    """The input of a "forward" step (positive in training) or the ``dout`` of a "backward" step."""
    positive = step.action == "forward" and step.mode == "train"
    return array_for(seed, step.key, step.shape, positive)


# ----------------------------------------------------------------------------- DropConnect (chapter 7)

DROPCONNECT_SHAPES = ((30, 40), (40, 50))   # x (N, D), W (D, M); b (M,)


@dataclass(frozen=True)
class DropConnectCall:
    """One call ``dropconnect_forward(x, W, b, p_drop, train, rng)``."""
    purpose: str          # "train", "fresh" (two equal calls must differ) or "eval"
    p_drop: float
    train: bool


DROPCONNECT_PLAN = (DropConnectCall("train", 0.3, True), DropConnectCall("train", 0.7, True),
                    DropConnectCall("fresh", 0.5, True), DropConnectCall("fresh", 0.5, True),
                    DropConnectCall("eval", 0.3, False))
DROPCONNECT_BACKWARD_P = 0.4


def dropconnect_inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x`` and ``W`` in [1, 2) (no cancellation, no zero weights), ``b`` standard normal."""
    (n, d), (_, m) = DROPCONNECT_SHAPES
    return (array_for(seed, 600, (n, d), True), array_for(seed, 601, (d, m), True),
            array_for(seed, 602, (m,), False))


def dropconnect_dout(seed: int) -> np.ndarray:
    (n, _), (_, m) = DROPCONNECT_SHAPES
    return array_for(seed, 603, (n, m), False)
