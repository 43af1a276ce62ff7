"""Visible checks for the PyTorch exercises (chapters 4 and 6).

Each check builds a small model or a few hand-checkable inputs, calls your function and raises
:class:`ExerciseFailure` with a sentence naming the property that failed. They leave torch's
global random state as they found it. The hidden tests check more; the requirements are all in
the exercise text.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import nn

from ._core import crashed, fail, require, visible_check
from .properties import PROBABILITY_SUM, TORCH_RESULT, UNCHANGED, close


def _own_random_state(check):
    """Run ``check`` without touching the global torch random stream the student's kernel uses."""
    @functools.wraps(check)
    def run(*args, **kwargs):
        with torch.random.fork_rng(devices=[]):
            return check(*args, **kwargs)
    return run


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


def _as_tensor(value) -> torch.Tensor:
    """Results may come back as tensors, NumPy arrays or floats: compare them all as float64 tensors."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64)
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def _near(got, want) -> bool:
    """Agreement within the tolerance the grader uses for PyTorch results: a correct float32
    computation passes, a wrong formula does not."""
    try:
        got = _as_tensor(got).numpy()
    except Exception:  # noqa: BLE001 - not numbers: not near anything
        return False
    return close(got, np.asarray(want, dtype=np.float64), TORCH_RESULT)


# ----------------------------------------------------------------------------- chapter 6

@visible_check("enable_mc_dropout")
@_own_random_state
def check_enable_mc_dropout(cm) -> None:
    name = "enable_mc_dropout"
    model = _mc_model().eval()
    bn = model[1]
    stats = (bn.running_mean.clone(), bn.running_var.clone())
    x = torch.randn(64, 5)
    try:
        with cm(model):
            modes = [(type(m).__name__, m.training) for m in model.modules()]
            with torch.no_grad():
                a, b = model(x), model(x)
    except Exception as err:  # noqa: BLE001
        crashed(name, err, "when used as `with enable_mc_dropout(model):` on a model in evaluation mode")
    for kind, training in modes:
        if kind == "Dropout":
            require(training, name, "inside the context every dropout module must be in training mode")
        else:
            require(not training, name, f"inside the context the {kind} module must be in evaluation mode "
                                        "(only dropout modules go stochastic)")
    require(not torch.equal(a, b), name, "two predictions inside the context were identical: dropout is not active")
    require(close(bn.running_mean, stats[0], UNCHANGED) and close(bn.running_var, stats[1], UNCHANGED), name,
            "BatchNorm running statistics changed: BatchNorm must stay in evaluation mode")
    # Modes come back exactly, from a mixed state, even when the body raises.
    model.train()
    model[4].eval()
    saved = [m.training for m in model.modules()]
    propagated = False
    try:
        with cm(model):
            raise KeyError("raised by the check inside the with-block")
    except KeyError:
        propagated = True
    require(propagated, name, "an exception raised inside the with-block was swallowed: let it propagate")
    bare = nn.Dropout(0.5).eval()  # the model may itself be a dropout module
    try:
        with cm(bare):
            inside = bare.training
    except Exception as err:  # noqa: BLE001
        crashed(name, err, "for a model that is itself a dropout module, nn.Dropout(0.5)")
    require(inside and not bare.training, name, "a model that is itself a dropout module (nn.Dropout(0.5)) must be "
                                                "in training mode inside the context and back in evaluation mode after")
    require([m.training for m in model.modules()] == saved, name,
            "after the context (left by an exception, from a mixed state) every module must be back in the "
            "mode it had before: restore each module's own mode on exit (try/finally)")


@visible_check("mc_dropout_predict")
@_own_random_state
def check_mc_dropout_predict(fn) -> None:
    name = "mc_dropout_predict"
    model = _mc_model().eval()
    bn = model[1]
    before = bn.running_mean.clone()
    x = torch.randn(7, 5)
    try:
        probs = fn(model, x, 10)
    except Exception as err:  # noqa: BLE001
        crashed(name, err, "for T=10 passes on x of shape (7, 5)")
    require(not getattr(probs, "requires_grad", False), name,
            "run the passes under torch.no_grad(): the result should not track gradients")
    probs = _as_tensor(probs)
    require(tuple(probs.shape) == (10, 7, 4), name,
            f"expected probabilities of shape (T, N, K) = (10, 7, 4), got {tuple(probs.shape)}")
    require(close(probs.sum(-1).numpy(), np.ones((10, 7)), PROBABILITY_SUM) and bool((probs >= 0).all()),
            name, "each sample must be a probability vector: apply softmax to the model's output (the logits)")
    require(probs.std(0).mean() > 1e-4, name, "the T samples are identical: dropout must be active during the passes")
    require(close(bn.running_mean, before, UNCHANGED), name, "BatchNorm statistics changed: keep BatchNorm in evaluation mode")
    left = [type(m).__name__ for m in model.modules() if m.training]
    require(not left, name, f"afterwards {', '.join(left)} was left in training mode: every module must be back "
                            "in the mode it had before the call (evaluation)")


def _metric(fn, name: str, cases) -> None:
    """``cases``: (arguments, check(result) -> bool, message) hand-checkable in words."""
    for args, kwargs, ok, message in cases:
        try:
            got = fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001
            crashed(name, err, f"on probs of shape {tuple(args[0].shape)}")
        try:
            passed = ok(got)
        except Exception as err:  # noqa: BLE001 - a result of the wrong kind
            fail(name, f"{message}; the result could not be read as numbers ({type(err).__name__}: {err})")
        require(passed, name, f"{message}; got {_show(got)}")


def _show(value) -> str:
    try:
        array = _as_tensor(value)
        return f"{array.numpy().round(4).tolist()}" if array.numel() <= 8 else f"shape {tuple(array.shape)}"
    except Exception:  # noqa: BLE001
        return f"a {type(value).__name__}"


@visible_check("predictive_entropy")
def check_predictive_entropy(fn) -> None:
    uniform = torch.full((4, 3, 5), 0.2, dtype=torch.float64)
    one_hot = torch.eye(3, dtype=torch.float64)[None].repeat(6, 1, 1)
    _metric(fn, "predictive_entropy", [
        ((uniform,), {}, lambda r: _near(r, np.full(3, math.log(5))),
         "uniform predictions over K=5 classes must have entropy log(5) (natural log) for each of the N=3 inputs, shape (3,)"),
        ((one_hot,), {}, lambda r: _near(r, np.zeros(3)),
         "certain one-hot predictions must have entropy 0 (treat 0 log 0 as 0, not NaN)"),
    ])


@visible_check("mutual_information")
def check_mutual_information(fn) -> None:
    same = torch.tensor([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]], dtype=torch.float64)[None].repeat(8, 1, 1)
    split = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]], dtype=torch.float64).repeat(3, 1, 1)
    _metric(fn, "mutual_information", [
        ((same,), {}, lambda r: _near(r, np.zeros(2)),
         "8 identical samples must have zero mutual information for each of the N=2 inputs, shape (2,)"),
        ((split,), {}, lambda r: _near(r, np.array([math.log(2)])),
         "samples split evenly between two certain answers must have mutual information log 2 (natural log)"),
    ])


@visible_check("expected_calibration_error")
def check_expected_calibration_error(fn) -> None:
    calibrated = torch.tensor([[0.75, 0.25]] * 4, dtype=torch.float64)
    # 0.6 sits on an edge: in (0.4, 0.6], apart from 0.7 in (0.6, 0.8]. Left-closed bins merge them.
    edge = torch.tensor([[0.6, 0.4], [0.7, 0.3]], dtype=torch.float64)
    want = 0.5 * abs(1 - 0.6) + 0.5 * abs(0 - 0.7)
    _metric(fn, "expected_calibration_error", [
        ((calibrated, torch.tensor([0, 0, 0, 1])), {}, lambda r: _near(float(_as_tensor(r)), 0.0),
         "4 predictions at confidence 0.75 with 3 right are perfectly calibrated: ECE must be 0"),
        ((edge, torch.tensor([0, 1])), {"n_bins": 5}, lambda r: _near(float(_as_tensor(r)), want),
         f"with n_bins=5 a confidence of exactly 0.6 belongs to the bin (0.4, 0.6] (bins are closed on the right), "
         f"apart from 0.7 in (0.6, 0.8]: expected ECE {want:.4f}"),
    ])


@visible_check("negative_log_likelihood")
def check_negative_log_likelihood(fn) -> None:
    probs = torch.tensor([[0.5, 0.5], [0.9, 0.1]], dtype=torch.float64)
    want = -(math.log(0.5) + math.log(0.1)) / 2
    _metric(fn, "negative_log_likelihood", [
        ((probs, torch.tensor([0, 1])), {}, lambda r: _near(float(_as_tensor(r)), want),
         f"the true labels get probabilities 0.5 and 0.1: the NLL is the mean of -log (natural log), {want:.4f}"),
    ])


# ----------------------------------------------------------------------------- chapter 4

def _probe_model(seed: int = 0):
    torch.manual_seed(seed)
    probe = ModeProbe()
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), probe, nn.Dropout(0.5), nn.Linear(16, 3))
    return model, probe


def _toy_data(n: int = 64):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=gen)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long()


class ClearingWatch(torch.optim.SGD):
    """Plain SGD that notices gradients carried over from one step to the next.

    After each step it writes a marker into every gradient; a loop that clears the gradients
    (``optimiser.zero_grad()``, ``model.zero_grad()``, or setting them to None) before the next
    backward pass removes it, a loop that does not adds the next gradient onto it.
    """

    MARK = 1e6  # far above any gradient of the toy model and data below

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.carried_over = False

    def _grads(self):
        return [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]

    @torch.no_grad()
    def step(self, closure=None):
        if any(bool((g.abs() > self.MARK / 2).any()) for g in self._grads()):
            self.carried_over = True  # skip the update: the marker would wreck the model
        else:
            super().step(closure)
        for grad in self._grads():
            grad.fill_(self.MARK)


@visible_check("train_epoch")
@_own_random_state
def check_train_epoch(fn) -> None:
    name = "train_epoch"
    model, probe = _probe_model()
    x, y = _toy_data()
    model.eval()  # a correct loop switches to training mode itself
    optimiser = ClearingWatch(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    try:
        loss = fn(model, optimiser, x, y, batch_size=16)
    except Exception as err:  # noqa: BLE001
        crashed(name, err, "for 64 examples and batch_size=16")
    require(len(probe.calls) == 4, name,
            f"with 64 examples and batch_size=16 expected 4 forward passes (one per mini-batch), saw {len(probe.calls)}")
    require(all(training for training, _ in probe.calls), name,
            "the model was not in training mode: call model.train() at the start of train_epoch")
    require(all(grad for _, grad in probe.calls), name, "gradients were disabled during training")
    require(not optimiser.carried_over, name,
            "gradients piled up from one mini-batch to the next: clear them with optimiser.zero_grad() before "
            "each backward pass (not once per epoch)")
    require(any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), name,
            "no parameter changed: call loss.backward() and optimiser.step() for every mini-batch")
    require(isinstance(loss, float) and math.isfinite(loss), name,
            f"must return the mean training loss as a Python float (e.g. with .item()), got {type(loss).__name__}")


@visible_check("evaluate")
@_own_random_state
def check_evaluate(fn) -> None:
    name = "evaluate"
    model, probe = _probe_model()
    x, y = _toy_data()
    model.train()
    try:
        first = fn(model, x, y)
        second = fn(model, x, y)
    except Exception as err:  # noqa: BLE001
        crashed(name, err, "on a model in training mode")
    require(probe.calls, name, "the model was never called")
    require(not any(training for training, _ in probe.calls), name,
            "the model was in training mode while evaluating: call model.eval() (dropout must be off)")
    require(not any(grad for _, grad in probe.calls), name, "evaluate without building a graph: use torch.no_grad()")
    require(isinstance(first, tuple) and len(first) == 2, name, "must return a tuple (mean loss, accuracy)")
    require(first == second, name, "two evaluations of the same model differ: dropout is still active")
    model.eval()
    with torch.no_grad():
        logits = model(x)
    want_loss = nn.functional.cross_entropy(logits, y).item()
    want_acc = (logits.argmax(-1) == y).float().mean().item()
    got_loss, got_acc = float(first[0]), float(first[1])
    require(_near(got_loss, want_loss) and _near(got_acc, want_acc), name,
            f"expected (mean cross-entropy, accuracy as a fraction) = ({want_loss:.4f}, {want_acc:.4f}) "
            f"on 64 examples, got ({got_loss:.4f}, {got_acc:.4f})")
