"""Property checks for the PyTorch exercises (chapters 4 and 6)."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ._core import fail, not_implemented, require


class ModeProbe(nn.Module):
    """Identity that records the mode and grad state it was called in."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return x


def _mc_model(seed: int = 0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(32, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 4))


def check_enable_mc_dropout(cm) -> None:
    name = "enable_mc_dropout"
    model = _mc_model().eval()
    bn = model[1]
    stats = (bn.running_mean.clone(), bn.running_var.clone())
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(1))
    try:
        with cm(model):
            modes = [(type(m).__name__, m.training) for m in model.modules()]
            with torch.no_grad():
                a, b = model(x), model(x)
    except Exception as err:  # noqa: BLE001
        not_implemented(name, err)
        fail(name, f"raised {type(err).__name__}: {err}")
    for kind, training in modes:
        if kind == "Dropout":
            require(training, name, "inside the context every dropout module must be in training mode")
        else:
            require(not training, name, f"inside the context {kind} must stay in evaluation mode (only dropout goes stochastic)")
    require(not torch.equal(a, b), name, "two predictions inside the context were identical: dropout is not active")
    require(torch.equal(bn.running_mean, stats[0]) and torch.equal(bn.running_var, stats[1]), name,
            "BatchNorm running statistics changed: BatchNorm must stay in evaluation mode")
    # Modes come back exactly, from a mixed state, even when the body raises.
    model.train()
    model[4].eval()
    saved = [m.training for m in model.modules()]
    try:
        with cm(model):
            raise KeyError("probe")
    except KeyError:
        pass
    require([m.training for m in model.modules()] == saved, name,
            "after the context (left by an exception) every module must be back in the mode it had before")


def check_mc_dropout_predict(fn, full: bool = True) -> None:
    name = "mc_dropout_predict"
    model = _mc_model().eval()
    bn = model[1]
    before = bn.running_mean.clone()
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(2))
    try:
        probs = fn(model, x, 30)
    except Exception as err:  # noqa: BLE001
        not_implemented(name, err)
        fail(name, f"raised {type(err).__name__}: {err}")
    require(not getattr(probs, "requires_grad", False), name,
            "run the passes under torch.no_grad(): the result should not track gradients")
    probs = _as_tensor(probs)
    require(tuple(probs.shape) == (30, 7, 4), name, f"expected probabilities of shape (T, N, K) = (30, 7, 4), got {tuple(probs.shape)}")
    require(torch.allclose(probs.sum(-1), torch.ones(30, 7, dtype=torch.float64), atol=1e-5) and (probs >= 0).all(), name,
            "each sample must be a probability vector (apply softmax to the logits)")
    require(probs.std(0).mean() > 1e-4, name, "the T samples are identical: dropout must be active during the passes")
    require(torch.equal(bn.running_mean, before), name, "BatchNorm statistics changed: keep BatchNorm in evaluation mode")
    require(not any(m.training for m in model.modules()), name, "the model must be back in evaluation mode afterwards")


def _as_tensor(value) -> torch.Tensor:
    """Results may come back as tensors, NumPy arrays or floats: compare them all as float64 tensors."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64)
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def _near(got, want: float) -> bool:
    """Relative agreement: a correct float32 computation passes, a wrong formula does not."""
    return math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-6)


def _probs(seed: int, shape):
    gen = torch.Generator().manual_seed(seed)
    return torch.softmax(2 * torch.randn(*shape, generator=gen, dtype=torch.float64), dim=-1)


def check_metric(fn, name: str, reference, full: bool = True) -> None:
    """Hand-checkable cases first (in words), then agreement with the reference on random samples."""
    try:
        if name == "predictive_entropy":
            uniform = torch.full((4, 3, 5), 0.2, dtype=torch.float64)
            require(torch.allclose(_as_tensor(fn(uniform)), torch.full((3,), math.log(5), dtype=torch.float64)), name,
                    "uniform predictions over K=5 classes must have entropy log(5) (natural log) for every input")
            one_hot = torch.eye(3, dtype=torch.float64)[None].repeat(6, 1, 1)
            require(torch.allclose(_as_tensor(fn(one_hot)), torch.zeros(3, dtype=torch.float64), atol=1e-6), name,
                    "certain one-hot predictions must have entropy 0 (treat 0 log 0 as 0, not NaN)")
        elif name == "mutual_information":
            same = _probs(1, (1, 4, 3)).repeat(8, 1, 1)
            require(torch.allclose(_as_tensor(fn(same)), torch.zeros(4, dtype=torch.float64), atol=1e-6), name,
                    "identical samples must have zero mutual information")
            split = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]], dtype=torch.float64).repeat(3, 1, 1)
            require(torch.allclose(_as_tensor(fn(split)), torch.tensor([math.log(2)], dtype=torch.float64)), name,
                    "samples split between two certain answers must have mutual information log 2")
        elif name == "expected_calibration_error":
            calibrated = torch.tensor([[0.75, 0.25]] * 4, dtype=torch.float64)
            require(abs(float(fn(calibrated, torch.tensor([0, 0, 0, 1])))) < 1e-6, name,
                    "4 predictions at confidence 0.75 with 3 right are perfectly calibrated: ECE must be 0")
            # 0.6 sits on an edge: in (0.4, 0.6], apart from 0.7 in (0.6, 0.8]. Left-closed bins merge them.
            edge = torch.tensor([[0.6, 0.4], [0.7, 0.3]], dtype=torch.float64)
            got = float(fn(edge, torch.tensor([0, 1]), n_bins=5))
            want = 0.5 * abs(1 - 0.6) + 0.5 * abs(0 - 0.7)
            require(_near(got, want), name, f"with n_bins=5 a confidence of exactly 0.6 belongs to the bin (0.4, 0.6] "
                                            f"(bins are closed on the right): expected ECE {want:.4f}, got {got:.4f}")
        elif name == "negative_log_likelihood":
            probs = torch.tensor([[0.5, 0.5], [0.9, 0.1]], dtype=torch.float64)
            want = -(math.log(0.5) + math.log(0.1)) / 2
            require(_near(float(fn(probs, torch.tensor([0, 1]))), want), name,
                    f"NLL of probabilities [0.5, 0.1] for the true labels is the mean of -log: {want:.4f}")
        if full:
            for seed in range(3):
                if name in ("predictive_entropy", "mutual_information"):
                    probs = _probs(seed, (10, 20, 4))
                    ours, theirs = fn(probs), reference(probs)
                else:
                    probs = _probs(seed, (200, 4))
                    labels = torch.randint(0, 4, (200,), generator=torch.Generator().manual_seed(seed))
                    ours, theirs = fn(probs, labels), reference(probs, labels)
                require(torch.allclose(_as_tensor(ours), theirs.double(), rtol=1e-4, atol=1e-6), name,
                        f"differs from the expected values on random predictions (seed {seed})")
    except AssertionError:
        raise
    except Exception as err:  # noqa: BLE001
        not_implemented(name, err)
        fail(name, f"raised {type(err).__name__}: {err}")


def _probe_model(seed: int = 0):
    torch.manual_seed(seed)
    probe = ModeProbe()
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), probe, nn.Dropout(0.5), nn.Linear(16, 3))
    return model, probe


def _toy_data(n: int = 64):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=gen)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long()


def check_train_epoch(fn) -> None:
    name = "train_epoch"
    model, probe = _probe_model()
    x, y = _toy_data()
    model.eval()  # a correct loop switches to training mode itself
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    try:
        loss = fn(model, optimiser, x, y, batch_size=16)
    except Exception as err:  # noqa: BLE001
        not_implemented(name, err)
        fail(name, f"raised {type(err).__name__}: {err}")
    require(len(probe.calls) >= 4, name, f"with 64 examples and batch_size=16 expected 4 forward passes, saw {len(probe.calls)}")
    require(all(training for training, _ in probe.calls), name, "the model was not in training mode: call model.train() first")
    require(all(grad for _, grad in probe.calls), name, "gradients were disabled during training")
    require(any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), name, "no parameter changed: call optimiser.step()")
    require(isinstance(loss, float) and math.isfinite(loss), name, "must return the mean training loss as a Python float")


def check_evaluate(fn) -> None:
    name = "evaluate"
    model, probe = _probe_model()
    x, y = _toy_data()
    model.train()
    try:
        first = fn(model, x, y)
        second = fn(model, x, y)
    except Exception as err:  # noqa: BLE001
        not_implemented(name, err)
        fail(name, f"raised {type(err).__name__}: {err}")
    require(probe.calls and not any(training for training, _ in probe.calls), name,
            "the model was in training mode while evaluating: call model.eval() (dropout must be off)")
    require(not any(grad for _, grad in probe.calls), name, "evaluate without building a graph: use torch.no_grad()")
    require(isinstance(first, tuple) and len(first) == 2, name, "must return (mean loss, accuracy)")
    require(first == second, name, "two evaluations of the same model differ: dropout is still active")
    model.eval()
    with torch.no_grad():
        logits = model(x)
    want_loss = nn.functional.cross_entropy(logits, y).item()
    want_acc = (logits.argmax(-1) == y).float().mean().item()
    require(abs(first[0] - want_loss) < 1e-5 and abs(first[1] - want_acc) < 1e-6, name,
            f"expected loss {want_loss:.4f} and accuracy {want_acc:.4f}, got {first}")
