"""The models and inputs of the PyTorch hidden tests: built the same way on both sides.

Every weight, running statistic and input comes from ``numpy.random.default_rng([seed, key,
index])`` and is loaded into a freshly built module with ``load_state_dict``; building a module
here never touches torch's global random state (``nn.utils.skip_init``), so the kernel's
random stream is the student's alone and the trusted checker rebuilds exactly the same models
to recompute what a correct answer returns.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

MC_P = 0.5        # dropout rate of every probe model: kept units are doubled
MC_T = 30         # stochastic passes asked of mc_dropout_predict
TRAIN_LR = 0.1    # plain SGD, no momentum: one step is w - lr * grad


class ModeProbe(nn.Module):
    """Identity that records ``(training, grad enabled)`` at each call: what a loop ran the model in."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x):
        self.calls.append((bool(self.training), bool(torch.is_grad_enabled())))
        return x


def _rng(seed: int, key: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, key, index])


def _tensor(array) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _linear(n_in: int, n_out: int) -> nn.Linear:
    return nn.utils.skip_init(nn.Linear, n_in, n_out)  # weights come from the plan, not the global RNG


def _load(model: nn.Module, seed: int, key: int, gain: float = 1.0) -> nn.Module:
    """Fill every parameter and buffer of ``model`` from the plan (BatchNorm with non-trivial statistics)."""
    state = {}
    for index, (name, current) in enumerate(model.state_dict().items()):
        rng, shape = _rng(seed, key, index), tuple(current.shape)
        field = name.rsplit(".", 1)[-1]
        module = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        if field == "num_batches_tracked":
            state[name] = torch.zeros((), dtype=torch.long)
        elif isinstance(module, nn.Linear):
            scale = gain / np.sqrt(module.in_features) if field == "weight" else 0.2
            state[name] = _tensor(rng.standard_normal(shape) * scale)
        elif field == "weight":      # BatchNorm's gamma
            state[name] = _tensor(rng.uniform(0.5, 1.5, shape))
        elif field == "bias":        # BatchNorm's beta
            state[name] = _tensor(rng.standard_normal(shape) * 0.3)
        elif field == "running_mean":  # far enough from the batch mean that the two modes differ clearly
            state[name] = _tensor(rng.standard_normal(shape) * 0.7)
        elif field == "running_var":
            state[name] = _tensor(rng.uniform(0.3, 2.5, shape))
        else:
            raise KeyError(name)
    model.load_state_dict(state)
    return model


def _normal(seed: int, key: int, shape: tuple) -> torch.Tensor:
    return _tensor(_rng(seed, key, 10_000).standard_normal(shape))


def _labels(seed: int, key: int, n: int, k: int) -> torch.Tensor:
    return torch.from_numpy(_rng(seed, key, 20_000).integers(0, k, size=n).astype(np.int64))


def module_modes(model: nn.Module) -> list:
    """``[(type name, training)]`` of every module, the model itself first (``model.modules()`` order)."""
    return [(type(m).__name__, bool(m.training)) for m in model.modules()]


def set_modes(model: nn.Module, modes) -> nn.Module:
    """Set each module's own flag (no recursion), so mixed states can be built exactly."""
    for module, training in zip(model.modules(), modes):
        module.training = bool(training)
    return model


# ----------------------------------------------------------------------------- enable_mc_dropout

def context_model(seed: int = 0) -> nn.Sequential:
    """Ends in dropout, so inside the context each output is 0 or ``relu(bn(linear(x))) / (1 - p)``."""
    model = nn.Sequential(_linear(5, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(MC_P))
    return _load(model, seed, key=1)


def context_input(seed: int = 0) -> torch.Tensor:
    return _normal(seed, 1, (64, 5))


@dataclass(frozen=True)
class ContextPhase:
    """One ``with enable_mc_dropout(model):`` of the hidden test, from a given state of the modes."""
    name: str
    modes: tuple   # training flag of (Sequential, Linear, BatchNorm1d, ReLU, Dropout)
    raises: bool   # the body raises, to see that the modes come back all the same


# Chosen so that the output after leaving the context shows each module's mode: BatchNorm in
# training mode normalises with the batch's statistics, dropout in training mode zeroes units.
CONTEXT_PHASES = (
    ContextPhase("from evaluation mode", (False, False, False, False, False), False),
    ContextPhase("from a mixed state (model.train(), then BatchNorm and Dropout in eval)",
                 (True, True, False, True, False), False),
    ContextPhase("from training mode", (True, True, True, True, True), False),
    ContextPhase("left by an exception, from a mixed state (model.eval(), then BatchNorm in train)",
                 (False, False, True, False, False), True),
)
CONTEXT_TYPES = ("Sequential", "Linear", "BatchNorm1d", "ReLU", "Dropout")


# ----------------------------------------------------------------------------- mc_dropout_predict

def predict_model(seed: int = 0) -> nn.Sequential:
    """Dropout on the logits: each sample is ``softmax(z * m / (1 - p))`` for one of 2^K masks ``m``."""
    model = nn.Sequential(_linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), _linear(16, 4), nn.Dropout(MC_P))
    return _load(model, seed, key=2, gain=0.8)


def predict_input(seed: int = 0) -> torch.Tensor:
    return _normal(seed, 2, (12, 5))


# ----------------------------------------------------------------------------- train_epoch

@dataclass(frozen=True)
class TrainScenario:
    """One call ``train_epoch(model, optimiser, x, y, batch_size=...)``, model in eval mode beforehand."""
    name: str
    n: int
    batch_size: int
    batchnorm: bool
    repeated: bool   # every example the same: each batch is the same whatever the order


TRAIN_SCENARIOS = (
    # One full batch: order is irrelevant, so the step is recomputed exactly (BatchNorm in train mode).
    TrainScenario("one full batch", 48, 48, True, False),
    # Four mini-batches: BatchNorm with momentum=None counts the training forward passes.
    TrainScenario("four mini-batches", 64, 16, True, False),
    # Four identical mini-batches: four steps recomputed exactly, gradients cleared in between.
    TrainScenario("four identical mini-batches", 64, 16, False, True),
)


def train_setup(scenario: TrainScenario, seed: int = 0):
    """``(model, x, y)`` of a scenario; the model is in evaluation mode, as after an evaluation."""
    key = 3 + TRAIN_SCENARIOS.index(scenario)
    if scenario.batchnorm:
        momentum = None if scenario.batch_size < scenario.n else 0.1
        model = nn.Sequential(_linear(6, 16), nn.BatchNorm1d(16, momentum=momentum), nn.ReLU(), _linear(16, 3))
    else:
        model = nn.Sequential(_linear(6, 16), nn.ReLU(), _linear(16, 3))
    _load(model, seed, key, gain=1.5).eval()
    if scenario.repeated:
        x = _normal(seed, key, (1, 6)).repeat(scenario.n, 1)
        y = _labels(seed, key, 1, 3).repeat(scenario.n)
    else:
        x, y = _normal(seed, key, (scenario.n, 6)), _labels(seed, key, scenario.n, 3)
    return model, x, y


def optimiser_for(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=TRAIN_LR)


# ----------------------------------------------------------------------------- evaluate

def evaluate_setup(seed: int = 0):
    """``(model, x, y)``; the model has BatchNorm, a :class:`ModeProbe` (index 3) and dropout, in train mode."""
    model = nn.Sequential(_linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), ModeProbe(), nn.Dropout(MC_P),
                          _linear(16, 3))
    _load(model, seed, key=7, gain=1.5).train()
    return model, _normal(seed, 7, (50, 6)), _labels(seed, 7, 50, 3)


# ----------------------------------------------------------------------------- metrics

@dataclass(frozen=True)
class MetricCase:
    """One call of a metric: ``fn(probs)`` or ``fn(probs, labels[, n_bins=...])``."""
    purpose: str            # a hand-checkable case ("uniform", "edge", ...) or "random"
    probs: torch.Tensor
    labels: torch.Tensor | None = None
    n_bins: int | None = None

    def arguments(self):
        args = (self.probs.clone(),) if self.labels is None else (self.probs.clone(), self.labels.clone())
        return args, ({} if self.n_bins is None else {"n_bins": self.n_bins})


def _random_probs(seed: int, index: int, shape: tuple, dtype) -> torch.Tensor:
    logits = 2.0 * _rng(seed, 8, index).standard_normal(shape)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return torch.from_numpy(probs).to(dtype)


def _random_labels(seed: int, index: int, probs: torch.Tensor) -> torch.Tensor:
    """Labels that agree with the prediction about as often as its confidence says, roughly."""
    rng = _rng(seed, 9, index)
    n, k = probs.shape
    guess = probs.double().numpy().argmax(-1)
    return torch.from_numpy(np.where(rng.random(n) < 0.6, guess, rng.integers(0, k, size=n)).astype(np.int64))


def _samples_cases(seed: int) -> list:
    f64 = torch.float64
    return [
        MetricCase("random", _random_probs(seed, 0, (10, 20, 4), f64)),
        MetricCase("random", _random_probs(seed, 1, (7, 30, 6), f64)),
        MetricCase("random", _random_probs(seed, 2, (25, 16, 3), torch.float32)),
    ]


def metric_cases(name: str, seed: int = 0) -> list[MetricCase]:
    """The calls of one metric's hidden test: hand-checkable cases first, then random ones."""
    f64 = torch.float64
    split = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]], dtype=f64).repeat(3, 1, 1)   # (6, 1, 2)
    if name == "predictive_entropy":
        return [MetricCase("uniform", torch.full((4, 3, 5), 0.2, dtype=f64)),
                MetricCase("one-hot", torch.eye(3, dtype=f64)[None].repeat(6, 1, 1)),
                MetricCase("split", split), *_samples_cases(seed)]
    if name == "mutual_information":
        return [MetricCase("identical", _random_probs(seed, 3, (1, 4, 3), f64).repeat(8, 1, 1)),
                MetricCase("one-hot", torch.eye(3, dtype=f64)[None].repeat(5, 1, 1)),
                MetricCase("split", split), *_samples_cases(seed)]
    cases = []
    shapes = ((200, 4, f64, None), (300, 5, f64, 10), (250, 3, torch.float32, None))  # (N, K, dtype, n_bins)
    for index, (n, k, dtype, n_bins) in enumerate(shapes):
        probs = _random_probs(seed, 10 + index, (n, k), dtype)
        n_bins = n_bins if name == "expected_calibration_error" else None
        cases.append(MetricCase("random", probs, _random_labels(seed, index, probs), n_bins))
    if name == "expected_calibration_error":
        return [MetricCase("calibrated", torch.tensor([[0.75, 0.25]] * 4, dtype=f64), torch.tensor([0, 0, 0, 1])),
                # 0.6 sits on an edge of 5 bins: right-closed, it is in (0.4, 0.6], apart from 0.7.
                MetricCase("edge", torch.tensor([[0.6, 0.4], [0.7, 0.3]], dtype=f64), torch.tensor([0, 1]), 5),
                *cases]
    if name == "negative_log_likelihood":
        return [MetricCase("hand", torch.tensor([[0.5, 0.5], [0.9, 0.1]], dtype=f64), torch.tensor([0, 1])), *cases]
    raise KeyError(name)


METRICS = ("predictive_entropy", "mutual_information", "expected_calibration_error", "negative_log_likelihood")
