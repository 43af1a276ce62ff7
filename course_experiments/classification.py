"""Chapter 4's experiments on the MNIST-1D-like task: the rate sweep, sparsity, MC vs weight scaling."""
from __future__ import annotations

import functools

import numpy as np
import torch

from dropout_reference import mc_dropout_predict

from .data import mnist1d_split
from .training import evaluate, make_mlp, train_classifier

HIDDEN = (256, 256)
EPOCHS = 150
N_TRAIN = 1000


@functools.lru_cache(maxsize=None)
def trained_mlp(p_drop_hidden: float, seed: int, epochs: int = EPOCHS):
    """Train (once per process) an MLP with the given hidden rate; returns ``(model, history, data)``."""
    data = mnist1d_split(N_TRAIN, 2000, seed=seed)
    model = make_mlp(data, p_drop_hidden, hidden=HIDDEN, seed=seed)
    history = train_classifier(model, data, epochs=epochs, batch_size=100, seed=seed)
    return model.eval(), history, data


def rate_sweep(p_drops=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5), seeds=(0, 1, 2)) -> dict:
    """Final test accuracy for every (rate, seed): ``{"p_drop": [...], "acc": array (rates, seeds)}``."""
    acc = np.array([[trained_mlp(p, s)[1].test_acc[-1] for s in seeds] for p in p_drops])
    return {"p_drop": list(p_drops), "seeds": list(seeds), "acc": acc}


@torch.no_grad()
def fraction_near_zero(model, x, threshold: float = 1e-2) -> float:
    """Share of hidden ReLU activations (all layers, eval mode) at most ``threshold``."""
    model.eval()
    acts = torch.cat([a.flatten() for a in model.hidden_activations(x)])
    return float((acts <= threshold).float().mean())


def activation_sparsity(p_drops=(0.0, 0.5), seed: int = 0) -> dict:
    """Hidden activations of models trained with each rate, and their near-zero fraction."""
    out = {}
    for p in p_drops:
        model, _, data = trained_mlp(p, seed)
        with torch.no_grad():
            acts = torch.cat([a.flatten() for a in model.hidden_activations(data.x_test)]).numpy()
        out[p] = {"activations": acts, "near_zero": fraction_near_zero(model, data.x_test)}
    return out


def mc_vs_weight_scaling(p_drop: float = 0.4, seed: int = 0, sample_counts=(1, 2, 5, 10, 20, 50)) -> dict:
    """Test accuracy of MC averaging over T masks, next to the weight-scaled (eval-mode) network."""
    model, _, data = trained_mlp(p_drop, seed)
    _, scaled = evaluate(model, data.x_test, data.y_test)
    probs = mc_dropout_predict(model, data.x_test, T=max(sample_counts), generator=torch.Generator().manual_seed(seed))
    mc = {T: float((probs[:T].mean(0).argmax(-1) == data.y_test).float().mean()) for T in sample_counts}
    return {"weight_scaling": scaled, "mc": mc}
