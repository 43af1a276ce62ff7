"""Collectors for the NumPy exercises: call the student's functions, send back what they returned."""
from __future__ import annotations

import numpy as np

from . import plans
from .core import emit, invoke


def forward(grade_id: str, fn, kind: str, seed: int = 0) -> None:
    """Every call of :func:`plans.forward_plan`; one shared ``rng`` as a student would use it."""
    rng = plans.student_rng(seed)
    records = []
    for call, x in plans.forward_inputs(kind, seed):
        before = x.copy()
        record = invoke(fn, x, call.p_drop, call.train, rng)
        record["input_unchanged"] = bool(np.array_equal(x, before, equal_nan=True))
        records.append(record)
    emit(grade_id, records)
