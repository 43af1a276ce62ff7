"""Collectors for the PyTorch exercises (chapters 4 and 6): run the student's code, send data back.

The models and inputs come from :mod:`dropout_collect.torch_plans`, so the checker can rebuild
them and recompute what a correct answer returns. What cannot be recomputed (the modes of
the modules inside a context, whether a result tracks gradients, what mode the model was
called in) is reported as plain observations next to the outputs.
"""
from __future__ import annotations

import torch

from . import torch_plans as plans
from .core import emit, invoke, seeded


class _RaisedInBody(Exception):
    """Raised by the hidden test inside ``with enable_mc_dropout(model):`` to test the exit path."""


def _forward(model, x):
    with torch.no_grad():
        return model(x)


def _context_phase(cm, phase: plans.ContextPhase, seed: int) -> dict:
    model, x = plans.context_model(seed), plans.context_input(seed)
    plans.set_modes(model, phase.modes)
    seen = {"propagated": False}
    try:
        with cm(model):
            seen["inside_modes"] = plans.module_modes(model)
            seen["inside"] = [_forward(model, x) for _ in range(2)]
            if phase.raises:
                raise _RaisedInBody("raised by the hidden test inside the with-block")
    except _RaisedInBody:
        seen["propagated"] = True
    seen["after_modes"] = plans.module_modes(model)
    bn = model[1]
    seen["running_stats"] = (bn.running_mean.clone(), bn.running_var.clone())  # before any forward after exit
    seen["after"] = _forward(model, x)
    return seen


@seeded
def enable_mc_dropout(grade_id: str, cm, seed: int = 0) -> None:
    """One ``with cm(model):`` per phase of the plan, each on a fresh probe model."""
    emit(grade_id, [invoke(_context_phase, cm, phase, seed) for phase in plans.CONTEXT_PHASES])


@seeded
def mc_dropout_predict(grade_id: str, fn, seed: int = 0) -> None:
    """``fn(model, x, T)`` on an eval-mode model, then the model's modes and output afterwards."""
    model, x = plans.predict_model(seed).eval(), plans.predict_input(seed)
    tracked = []

    def call():
        out = fn(model, x, plans.MC_T)
        # A tensor's requires_grad does not travel on the wire: sent as an observation.
        tracked.append(bool(getattr(out, "requires_grad", False)))
        return out

    record = invoke(call)
    record["requires_grad"] = tracked[0] if tracked else None
    record["after_modes"] = invoke(plans.module_modes, model)
    record["after"] = invoke(_forward, model, x)
    emit(grade_id, [record])


def _state(model) -> dict:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


@seeded
def train_epoch(grade_id: str, fn, seed: int = 0) -> None:
    """Each scenario of the plan: the returned loss and the model's parameters and buffers after."""
    records = []
    for scenario in plans.TRAIN_SCENARIOS:
        model, x, y = plans.train_setup(scenario, seed)
        record = invoke(fn, model, plans.optimiser_for(model), x, y, batch_size=scenario.batch_size)
        record["state"] = invoke(_state, model)
        records.append(record)
    emit(grade_id, records)


@seeded
def evaluate(grade_id: str, fn, seed: int = 0) -> None:
    """Two calls on a train-mode model; the probe inside records the mode and grad state of each pass."""
    model, x, y = plans.evaluate_setup(seed)
    probe = model[3]  # taken before the student's code can touch the model
    first, second = invoke(fn, model, x, y), invoke(fn, model, x, y)
    emit(grade_id, [{"first": first, "second": second, "probe_calls": invoke(lambda: list(probe.calls))}])


@seeded
def metric(grade_id: str, fn, name: str | None = None, seed: int = 0) -> None:
    """Every case of :func:`torch_plans.metric_cases` (``name`` defaults to the grade_id)."""
    records = []
    for case in plans.metric_cases(name or grade_id, seed):
        args, kwargs = case.arguments()
        records.append(invoke(fn, *args, **kwargs))
    emit(grade_id, records)
