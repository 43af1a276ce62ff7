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
