"""Collectors of the capstone (chapter 8): the student's network loss and training loop, as data."""
from __future__ import annotations

import numpy as np

from . import capstone_plans as plans
from .core import emit, invoke, seeded


@seeded
def fc_net_loss(grade_id: str, fn, seed: int = 0) -> None:
    """Every call of :func:`plans.loss_plan`, each on fresh copies of its inputs; ``(loss, grads)`` sent."""
    shared = plans.student_rng(seed)
    records = []
    for call, params, x, y in plans.loss_inputs(seed):
        rng = plans.call_rng(seed, call, shared)
        records.append(invoke(fn, {k: v.copy() for k, v in params.items()}, x.copy(), y.copy(), call.p_drop,
                              call.train, rng))
    emit(grade_id, records)


def _fingerprint(rng) -> int | None:
    """Where a generator stands (equal for two generators that will draw the same masks), or None."""
    try:
        state = rng.bit_generator.state
    except AttributeError:
        return None
    return hash(repr(state)) % 2**52  # wire ints are exact below 2**53


def _loss_value(result) -> float | None:
    try:
        return float(result[0])
    except Exception:  # noqa: BLE001 - whatever the loss returned, the verdict sees None and says so
        return None


def _projected(arrays, probes: dict, prefix: str) -> dict:
    """``{prefix + name: arrays[name] . probes[name]}``, None for what cannot be read as such an array."""
    projected = {}
    for name, probe in probes.items():
        try:
            value = float(np.sum(np.asarray(arrays[name], dtype=np.float64) * probe))
        except Exception:  # noqa: BLE001 - a missing key or a wrong shape: the checker says which step
            value = None
        projected[prefix + name] = value
    return projected


@seeded
def train_fc_net(grade_id: str, fn, loss_fn, seed: int = 0) -> None:
    """The student's loop on :func:`plans.training_data`, with ``loss_fn`` watched on every call.

    Two records: the loop's ``(params, history)``, then one entry per ``loss_fn`` call (the batch
    size, ``p_drop``, ``train``, where the generator stood, the loss returned, and ``params`` and
    ``grads`` projected on :func:`plans.probes` as ``"p:W1"``... and ``"g:W1"``...), in order.
    """
    x, y, x_val, y_val = plans.training_data()
    probes = plans.probes(seed)
    calls = []

    def watched(params, X, y, p_drop, train, rng=None):  # fc_net_loss's names: keywords work too
        entry = {"n": int(len(X)), "p_drop": p_drop, "train": train, "rng": _fingerprint(rng), "loss": None,
                 **_projected(params, probes, "p:")}
        calls.append(entry)
        result = loss_fn(params, X, y, p_drop, train, rng)
        entry["loss"] = _loss_value(result)
        try:
            entry.update(_projected(result[1], probes, "g:"))
        except Exception:  # noqa: BLE001 - no grads to read: the checker says so
            pass
        return result

    record = invoke(fn, watched, plans.initial_params(seed), x, y, x_val, y_val, plans.TRAIN_P, plans.LR,
                    plans.EPOCHS, plans.TRAIN_BATCH, plans.training_rng(seed))
    emit(grade_id, [record, invoke(lambda: [{k: _plain(v) for k, v in c.items()} for c in calls])])


def _plain(value):
    """A spied argument as data: numbers and booleans as they are, anything else by its type's name."""
    if isinstance(value, bool | int | float | np.bool_ | np.integer | np.floating) or value is None:
        return value.item() if isinstance(value, np.generic) else value
    return type(value).__name__
