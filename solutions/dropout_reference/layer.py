"""A dropout layer object with the train/eval switch of ``torch.nn.Dropout``."""
from __future__ import annotations

import numpy as np

from ._checks import check_p_drop
from .functional import dropout_backward, inverted_dropout_forward


class Dropout:
    """Inverted dropout on inputs of any rank, e.g. ``(N, D)`` or ``(N, C, H, W)``.

    The mask is drawn per element, so no reshaping is needed (the 2014-style layer that
    flattens ``(N, C, H, W)`` to ``(N, C*H*W)`` draws the same distribution of masks).
    """

    def __init__(self, p_drop: float = 0.5, rng=None):
        self.p_drop = check_p_drop(p_drop)
        self.rng = rng if hasattr(rng, "random") else np.random.default_rng(rng)
        self.training = True
        self._cache = None

    def train(self, mode: bool = True) -> "Dropout":
        self.training = bool(mode)
        return self

    def eval(self) -> "Dropout":
        return self.train(False)

    def forward(self, x):
        out, self._cache = inverted_dropout_forward(x, self.p_drop, self.training, self.rng)
        return out

    __call__ = forward

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError("call forward before backward: the mask is drawn in forward")
        return dropout_backward(dout, self._cache)

    def extra_repr(self) -> str:
        return f"p_drop={self.p_drop}, training={self.training}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
