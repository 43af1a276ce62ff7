"""Chapter 6's experiment: MC dropout on 1-D regression, uncertain away from the data."""
from __future__ import annotations

import functools

import torch
from torch import nn

from dropout_reference import enable_mc_dropout

from .data import TRAINING_RANGE, sine_regression


def regression_net(p_drop: float = 0.1, width: int = 128) -> nn.Module:
    return nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Dropout(p_drop),
                         nn.Linear(width, width), nn.ReLU(), nn.Dropout(p_drop), nn.Linear(width, 1))


@functools.lru_cache(maxsize=None)
def fit_regression(seed: int = 0, p_drop: float = 0.1, steps: int = 2000):
    x, y = sine_regression(seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = regression_net(p_drop)
        optimiser = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-5)
        model.train()
        for _ in range(steps):
            optimiser.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimiser.step()
    return model.eval(), x, y


def mc_band(seed: int = 0, T: int = 200, grid=None) -> dict:
    """Mean and standard deviation of T stochastic predictions on a grid wider than the data."""
    model, x, y = fit_regression(seed)
    grid = torch.linspace(-8, 8, 321)[:, None] if grid is None else grid
    with torch.random.fork_rng(devices=[]), enable_mc_dropout(model), torch.no_grad():
        torch.manual_seed(seed + 1)
        samples = torch.stack([model(grid) for _ in range(T)]).squeeze(-1)
    g = grid.squeeze(-1)
    inside = torch.zeros_like(g, dtype=torch.bool)
    for lo, hi in TRAINING_RANGE:
        inside |= (g >= lo) & (g <= hi)
    outside = g.abs() >= 6.0
    std = samples.std(0)
    return {"grid": g.numpy(), "mean": samples.mean(0).numpy(), "std": std.numpy(), "x": x.squeeze(-1).numpy(),
            "y": y.squeeze(-1).numpy(), "std_inside": float(std[inside].mean()),
            "std_outside": float(std[outside].mean())}


def gal_tau(length_scale: float, p_drop: float, n: int, weight_decay: float) -> float:
    """Model precision of Gal & Ghahramani (2016): ``tau = q l^2 / (2 N lambda)`` with keep probability
    ``q = 1 - p_drop``, prior length-scale ``l`` and their weight-decay ``lambda``.

    Their objective is ``1/(2N) sum ||y - f||^2 + lambda sum ||W||^2``; torch's ``weight_decay=wd`` on
    ``mse_loss`` (a mean of squares) adds ``wd/2 ||W||^2`` to twice that objective, so ``lambda = wd / 4``.
    """
    lam = weight_decay / 4
    return (1 - p_drop) * length_scale ** 2 / (2 * n * lam)


@functools.lru_cache(maxsize=None)
def predictive_band(seed: int = 0, T: int = 200, half_width: float = 12.0, p_drop: float = 0.1) -> dict:
    """MC-dropout predictive mean and variance on a grid, with the noise term ``tau^{-1}``.

    ``tau^{-1}`` is estimated on a fresh validation sample from the same intervals: the mean squared
    error of the MC mean there, minus the mean model variance there (the part the sampled networks
    already explain), floored at a tiny positive value. Returns arrays on the grid and summary numbers
    inside the training intervals and far outside them (``|x| >= 6``).
    """
    model, x, y = fit_regression(seed, p_drop)
    x_val, y_val = sine_regression(seed=seed + 1000)
    grid = torch.linspace(-half_width, half_width, 481)[:, None]
    with torch.random.fork_rng(devices=[]), enable_mc_dropout(model), torch.no_grad():
        torch.manual_seed(seed + 1)
        samples = torch.stack([model(grid) for _ in range(T)]).squeeze(-1).double()
        val = torch.stack([model(x_val) for _ in range(T)]).squeeze(-1).double()
    mean, model_var = samples.mean(0), samples.var(0, unbiased=False)
    val_mse = float(((val.mean(0) - y_val.squeeze(-1).double()) ** 2).mean())
    noise_var = max(val_mse - float(val.var(0, unbiased=False).mean()), 1e-8)
    total_std = (model_var + noise_var).sqrt()
    g = grid.squeeze(-1).double()
    truth = torch.sin(g)
    error = (mean - truth).abs()
    inside = torch.zeros_like(g, dtype=torch.bool)
    for lo, hi in TRAINING_RANGE:
        inside |= (g >= lo) & (g <= hi)
    far = g.abs() >= 6.0
    covered = error <= 2 * total_std
    return {"grid": g.numpy(), "mean": mean.numpy(), "model_std": model_var.sqrt().numpy(),
            "total_std": total_std.numpy(), "noise_var": noise_var, "val_mse": val_mse,
            "x": x.squeeze(-1).numpy(), "y": y.squeeze(-1).numpy(), "error": error.numpy(),
            "inside": inside.numpy(), "far": far.numpy(),
            "coverage_inside": float(covered[inside].double().mean()),
            "coverage_far": float(covered[far].double().mean()),
            "error_far": float(error[far].mean()), "std_far": float(total_std[far].mean()),
            "error_inside": float(error[inside].mean()), "std_inside": float(total_std[inside].mean()),
            "z_far": float((error[far] / total_std[far]).median())}
