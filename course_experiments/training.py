"""A training loop that gets train and eval modes right, with a history to plot."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from dropout_reference import DropoutMLP

from .data import Split


@dataclass
class History:
    train_loss: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Loss and accuracy in evaluation mode; the model's previous mode is restored."""
    was_training = model.training
    model.eval()
    try:
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y).item()
        acc = (logits.argmax(-1) == y).float().mean().item()
    finally:
        model.train(was_training)
    return loss, acc


def train_classifier(model: nn.Module, data: Split, epochs: int = 300, lr: float = 1e-3,
                     batch_size: int = 50, seed: int = 0, schedule=None, record_every: int = 10,
                     max_norm: float | None = None) -> History:
    """Mini-batch Adam on cross-entropy. ``schedule(epoch)``, if given, returns the hidden rate to use;
    ``max_norm``, if given, caps every hidden unit's incoming weight vector after each step."""
    gen = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    n = data.x_train.shape[0]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout masks come from the global RNG; fork keeps it local
        for epoch in range(epochs):
            if schedule is not None:
                model.set_dropout(schedule(epoch))
            model.train()
            for idx in torch.randperm(n, generator=gen).split(batch_size):
                optimiser.zero_grad()
                nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx]).backward()
                optimiser.step()
                if max_norm is not None:
                    apply_max_norm(model, max_norm)
            if epoch % record_every == record_every - 1 or epoch == epochs - 1:
                for split, (loss, acc) in (("train", evaluate(model, data.x_train, data.y_train)),
                                           ("test", evaluate(model, data.x_test, data.y_test))):
                    getattr(history, f"{split}_loss").append(loss)
                    getattr(history, f"{split}_acc").append(acc)
    return history


def make_mlp(data: Split, p_drop_hidden: float, p_drop_input: float = 0.0, hidden=(512, 512), seed: int = 0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DropoutMLP(data.n_features, hidden, data.n_classes, p_drop_input=p_drop_input, p_drop_hidden=p_drop_hidden)


@torch.no_grad()
def apply_max_norm(model: nn.Module, c: float) -> None:
    """Max-norm constraint of Srivastava et al. (2014): rescale each row of every Linear weight
    (a unit's incoming weights) whose L2 norm exceeds ``c`` back onto the ball of radius ``c``."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            norms = module.weight.norm(dim=1, keepdim=True)
            module.weight.mul_(torch.clamp(c / norms.clamp_min(1e-12), max=1.0))
