"""Element-wise dropout: the vanilla (2014 paper) and inverted (modern) forwards, and the backward.

Every forward returns ``(out, cache)`` with ``out == x * cache["mask"] * cache["scale"]`` in
training and ``out == x * cache["scale"]`` in evaluation (``mask`` is ``None`` there).
"""
from __future__ import annotations

import numpy as np

from ._checks import check_float_array, check_p_drop, check_rng, check_train
from ._masks import apply_mask, draw_keep_mask, inverted_scale, keep_probability


def masked_forward(x, p_drop, train, rng, *, inverted: bool, mask_shape=None):
    """Shared engine of every numpy forward; ``mask_shape`` must broadcast to ``x.shape``.

    Structured variants (spatial, locked) differ from plain dropout only in the mask's shape.
    """
    p_drop = check_p_drop(p_drop)
    train = check_train(train)
    x = check_float_array(x)
    check_rng(rng, train, p_drop)
    if train:
        mask = draw_keep_mask(rng, x.shape if mask_shape is None else mask_shape, p_drop)
        scale = inverted_scale(p_drop) if inverted else 1.0
    else:
        mask = None
        scale = 1.0 if inverted else keep_probability(p_drop)
    out = apply_mask(x, mask, scale)
    cache = {"mask": mask, "scale": scale, "p_drop": p_drop, "train": train, "x_shape": x.shape}
    return out, cache


def vanilla_dropout_forward(x, p_drop, train, rng=None):
    """Dropout as in Srivastava et al. (2014): drop in training, multiply by ``1 - p_drop`` at test."""
    return masked_forward(x, p_drop, train, rng, inverted=False)


def inverted_dropout_forward(x, p_drop, train, rng=None):
    """Inverted dropout (PyTorch's): scale survivors by ``1 / (1 - p_drop)``; identity at test."""
    return masked_forward(x, p_drop, train, rng, inverted=True)


def dropout_backward(dout, cache):
    """Gradient of the loss w.r.t. ``x``: ``dout * mask * scale``, with the forward's own mask."""
    dout = check_float_array(dout, "dout")
    expected = tuple(cache["x_shape"])
    if dout.shape != expected:
        raise ValueError(f"dout has shape {dout.shape} but the forward's x had shape {expected}")
    return apply_mask(dout, cache["mask"], cache["scale"])
