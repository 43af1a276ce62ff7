"""Collectors for the NumPy exercises: call the student's functions, send back what they returned."""
from __future__ import annotations

import numpy as np

from . import plans, wire
from .core import emit, invoke, seeded


def _call(fn, *args, **kwargs) -> tuple[dict, object]:
    """:func:`invoke`'s record, plus the raw result (to call methods on it, or pass it on)."""
    box = []

    def call():
        box.append(fn(*args, **kwargs))
        return box[-1]

    record = invoke(call)
    return record, (box[0] if box else None)


def _as_value_error(fn):
    """``fn``, but a subclass of ``ValueError`` is reported as ``ValueError`` itself.

    Used on calls that must raise ``ValueError`` (invalid probabilities): the data sends only
    an exception's class name, and a student's own ``ValueError`` subclass is a correct answer.
    """
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as err:
            if type(err) is ValueError:
                raise
            raise ValueError(str(err)) from None
    return call


def _attribute(obj, name: str) -> dict:
    """What ``obj.name`` holds, as a record (a property that raises is data too)."""
    return invoke(lambda: getattr(obj, name, None))


# ----------------------------------------------------------------------------- forwards (chapters 2, 5, 7)

@seeded
def forward(grade_id: str, fn, kind: str, seed: int = 0) -> None:
    """Every call of :func:`plans.forward_plan`; one shared ``rng`` as a student would use it."""
    rng = plans.student_rng(seed)
    records = []
    for call, x in plans.forward_inputs(kind, seed):
        before = x.copy()
        record = invoke(_as_value_error(fn) if call.purpose == "invalid" else fn, x, call.p_drop, call.train, rng)
        record["input_unchanged"] = bool(np.array_equal(x, before, equal_nan=True))
        records.append(record)
    emit(grade_id, records)


# ----------------------------------------------------------------------------- chapter 1

def keep_to_drop(grade_id: str, fn) -> None:
    """``fn(p_keep)`` for every value of ``plans.KEEP_VALUES``, then every invalid one."""
    records = [invoke(fn, p) for p in plans.KEEP_VALUES]
    emit(grade_id, records + [invoke(_as_value_error(fn), p) for p in plans.INVALID_P])


def all_keep_masks(grade_id: str, fn) -> None:
    """``fn(n)`` for every ``n`` of ``plans.MASK_SIZES``; the value is sent as returned."""
    emit(grade_id, [invoke(fn, n) for n in plans.MASK_SIZES])


@seeded
def expected_masked_output(grade_id: str, fn, seed: int = 0) -> None:
    """``fn(a, p_drop)`` for each case of ``plans.expectation_inputs``."""
    emit(grade_id, [invoke(fn, a, p_drop) for p_drop, a in plans.expectation_inputs(seed)])


# ----------------------------------------------------------------------------- backward (chapters 3, 5)

@seeded
def backward(grade_id: str, fn, kind: str = "dropout", seed: int = 0) -> None:
    """``fn(dout, cache)`` for each planned cache; the returned ``dx`` is sent."""
    emit(grade_id, [invoke(fn, dout.copy(), plans.backward_cache(call, mask))
                    for call, dout, mask in plans.backward_inputs(kind, seed)])


@seeded
def layer(grade_id: str, cls, seed: int = 0) -> None:
    """Run :func:`plans.layer_plan` on the student's layer class; one record per step.

    "init", "eval" and "train" records also hold ``training``, the layer's flag after the step.
    Every step runs even if an earlier one failed (the verdict reads them in order); without a
    layer object only the "invalid" steps can run. Each step acts on the layer it names.
    """
    rng = plans.student_rng(seed)
    layers = {}
    records = []
    for step in plans.layer_plan():
        obj = layers.get(step.layer)
        if step.action == "init":
            given = {"rng": rng} if plans.LAYER_BUILT_WITH_RNG[step.layer] else {}
            record, obj = _call(cls, step.p_drop, **given)
            layers[step.layer] = obj
        elif step.action == "invalid":
            record = invoke(_as_value_error(cls), step.p_drop)
        elif obj is None:
            record = {"error": wire.encode(RuntimeError("the layer could not be built"))}
        elif step.action in ("eval", "train"):
            record = invoke(lambda: getattr(obj, step.action)())
        else:
            data = plans.layer_array(seed, step)
            record = invoke(lambda: getattr(obj, step.action)(data))
        if step.action in ("init", "eval", "train") and obj is not None:
            record["training"] = _attribute(obj, "training")
        records.append(record)
    emit(grade_id, records)


# ----------------------------------------------------------------------------- chapter 7

@seeded
def dropconnect_forward(grade_id: str, fn, seed: int = 0) -> None:
    """Each call of ``plans.DROPCONNECT_PLAN`` on the planned ``x, W, b``; one shared ``rng``."""
    rng = plans.student_rng(seed)
    records = []
    for call in plans.DROPCONNECT_PLAN:
        x, W, b = plans.dropconnect_inputs(seed)
        records.append(invoke(fn, x, W, b, call.p_drop, call.train, rng))
    emit(grade_id, records)


@seeded
def dropconnect_backward(grade_id: str, forward_fn, backward_fn, seed: int = 0) -> None:
    """The student's forward in training, then their backward on its cache.

    Two records: the forward's ``(out, cache)`` (the verdict needs the mask and scale it drew,
    and checks them against ``out``) and the backward's ``(dx, dW, db)``.
    """
    x, W, b = plans.dropconnect_inputs(seed)
    first, result = _call(forward_fn, x, W, b, plans.DROPCONNECT_BACKWARD_P, True, plans.student_rng(seed))
    if "error" in first:
        emit(grade_id, [first])
        return
    cache = result[1] if isinstance(result, tuple) and len(result) == 2 else None
    emit(grade_id, [first, invoke(backward_fn, plans.dropconnect_dout(seed), cache)])
