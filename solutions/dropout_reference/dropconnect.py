"""DropConnect (Wan et al., 2013): drop weights of an affine layer, not units."""
from __future__ import annotations

import numpy as np

from ._checks import check_float_array
from ._masks import apply_mask
from .functional import masked_forward


def dropconnect_forward(x, W, b, p_drop, train, rng=None):
    """``out = x @ (W * mask * scale) + b`` for ``x`` (N, D), ``W`` (D, M), ``b`` (M,).

    Inverted scaling, so evaluation uses ``W`` itself (the "mean network" inference).
    """
    x, W, b = check_float_array(x), check_float_array(W, "W"), check_float_array(b, "b")
    if x.ndim != 2 or W.ndim != 2 or b.ndim != 1 or x.shape[1] != W.shape[0] or W.shape[1] != b.shape[0]:
        raise ValueError(
            f"expected x (N, D), W (D, M), b (M,); got x {x.shape}, W {W.shape}, b {b.shape}"
        )
    W_used, cache = masked_forward(W, p_drop, train, rng, inverted=True)
    cache.update(x=x, W_used=W_used, out_shape=(x.shape[0], W.shape[1]))
    return x @ W_used + b, cache


def dropconnect_backward(dout, cache):
    """Return ``(dx, dW, db)``; ``dW`` is zero on dropped weights and carries the scale."""
    dout = check_float_array(dout, "dout")
    if dout.shape != cache["out_shape"]:
        raise ValueError(f"dout has shape {dout.shape} but the forward's output had shape {cache['out_shape']}")
    dx = dout @ cache["W_used"].T
    dW = apply_mask(cache["x"].T @ dout, cache["mask"], cache["scale"])
    db = dout.sum(axis=0)
    return dx, dW, np.asarray(db)
