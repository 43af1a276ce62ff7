"""The one mask helper: every forward draws its keep-mask here."""
from __future__ import annotations

import numpy as np


def keep_probability(p_drop: float) -> float:
    return 1.0 - p_drop


def inverted_scale(p_drop: float) -> float:
    """1 / (1 - p_drop); 0 when everything is dropped, so nothing ever divides by zero."""
    return 1.0 / (1.0 - p_drop) if p_drop < 1.0 else 0.0


def draw_keep_mask(rng, shape: tuple[int, ...], p_drop: float) -> np.ndarray | None:
    """Boolean mask, True where a unit survives; ``None`` when nothing is dropped.

    ``u < 1 - p_drop`` with ``u`` uniform on [0, 1) keeps a unit with probability exactly
    ``1 - p_drop``, is all-False for ``p_drop == 1`` and all-True for ``p_drop == 0``.
    """
    if p_drop == 0.0:
        return None
    if p_drop == 1.0:
        return np.zeros(shape, dtype=bool)
    return rng.random(shape, dtype=np.float32) < np.float32(keep_probability(p_drop))


def apply_mask(x: np.ndarray, mask: np.ndarray | None, scale: float) -> np.ndarray:
    """``x * mask * scale`` in two passes, never modifying ``x``."""
    out = x * x.dtype.type(scale)
    if mask is not None:
        out *= mask
    return out
