"""Dropout whose mask is shared along some axes: spatial (channels) and locked (time steps)."""
from __future__ import annotations

from ._checks import check_float_array, check_ndim
from .functional import masked_forward


def spatial_dropout_forward(x, p_drop, train, rng=None):
    """Tompson et al. (2015): one keep/drop per (sample, channel) of ``x`` shaped ``(N, C, *spatial)``.

    Works for 1 to 3 spatial dimensions, like ``torch.nn.Dropout1d/2d/3d`` with batched input.
    """
    x = check_float_array(x)
    check_ndim(x, range(3, 6), "(N, C, L), (N, C, H, W) or (N, C, D, H, W)")
    mask_shape = x.shape[:2] + (1,) * (x.ndim - 2)
    return masked_forward(x, p_drop, train, rng, inverted=True, mask_shape=mask_shape)


def locked_dropout_forward(x, p_drop, train, rng=None):
    """Gal & Ghahramani (2016): for ``x`` shaped ``(T, N, D)``, one mask per (sample, feature), reused at every step."""
    x = check_float_array(x)
    check_ndim(x, range(3, 4), "(T, N, D) = (time, batch, features)")
    return masked_forward(x, p_drop, train, rng, inverted=True, mask_shape=(1,) + x.shape[1:])
