"""Monte Carlo dropout (Gal & Ghahramani, 2016) in PyTorch."""
from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn.modules.dropout import _DropoutNd


def is_dropout(module: nn.Module) -> bool:
    """Every torch dropout flavour (Dropout, Dropout1d/2d/3d, AlphaDropout, ...) derives from _DropoutNd."""
    return isinstance(module, _DropoutNd)


@contextlib.contextmanager
def enable_mc_dropout(model: nn.Module):
    """Put only the dropout modules in training mode; every module's own mode returns on exit.

    Calling ``model.train()`` instead would also let BatchNorm use (and overwrite) batch
    statistics, which is the classic MC-dropout bug.
    """
    saved = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        for module in model.modules():
            if is_dropout(module):
                module.train()
        yield model
    finally:
        for module, mode in saved:
            module.training = mode


def _seed_from(generator: torch.Generator | None) -> int | None:
    if generator is None:
        return None
    return int(torch.randint(0, 2**62, (1,), generator=generator))


@torch.no_grad()
def mc_dropout_predict(model: nn.Module, x: torch.Tensor, T: int = 50,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """``T`` stochastic forward passes; returns softmax probabilities of shape ``(T, N, K)``.

    With a ``generator``, the dropout masks are reproducible and the global torch RNG is
    left exactly as it was (the draws happen inside ``torch.random.fork_rng``).
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T is the number of stochastic passes and must be a positive int, got {T!r}")
    seed = _seed_from(generator)
    with torch.random.fork_rng(devices=[], enabled=seed is not None), enable_mc_dropout(model):
        if seed is not None:
            torch.manual_seed(seed)
        return torch.stack([torch.softmax(model(x), dim=-1) for _ in range(T)])
