"""The trusted checker: turns data collected in a student's kernel into points and reasons.

Only the grader imports this package, in its own process; the sandbox hides it from student
kernels. Each graded cell (``grade_id``) has one row in :mod:`.registry` and so one verdict here, which regenerates the inputs of
its hidden test (:mod:`dropout_collect.plans`), reads what the student's functions returned
(:mod:`dropout_collect.wire`) and raises :class:`Failure` with a sentence when a property
does not hold. A verdict sees data only: whatever the kernel sends, it earns points only by
being the correct answer.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from dropout_collect import wire
from dropout_kit import fix_first
from dropout_kit.text import shortened

from ._core import DELTA, Failure
from .registry import GRADED_FUNCTIONS

# (assignment, grade_id) -> verdict(records[, seed]), from the registry of graded functions; the hidden
# test of that cell calls the registry's collector. A verdict with a seed judges the run's seed.
VERDICTS = {row.key: row.verdict for row in GRADED_FUNCTIONS}
# (assignment, grade_id) -> the graded functions of that notebook it may use (the registry's column).
DEPENDS_ON = {row.key: row.depends_on for row in GRADED_FUNCTIONS if row.depends_on}


def fix_first_notes(assignment: str, lost: set[str]) -> dict[str, str]:
    """For each function in ``lost`` that depends on another lost function: the note naming which to fix first."""
    notes = {}
    for grade_id in sorted(lost):
        failing = [d for d in DEPENDS_ON.get((assignment, grade_id), ()) if d in lost]
        if failing:
            notes[grade_id] = fix_first(grade_id, failing, graded=True)
    return notes


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str  # empty when passed


def _takes_seed(verdict) -> bool:
    return "seed" in inspect.signature(verdict).parameters


def judge(assignment: str, grade_id: str, payload, seed: int = 0) -> Verdict:
    """The verdict on one graded cell's collected payload (``None`` when none was collected).

    ``seed`` is the run's seed (the grader's, never the kernel's word for it): the verdict
    regenerates the inputs from it.
    """
    verdict = VERDICTS.get((assignment, grade_id))
    if verdict is None:
        return Verdict(False, f"the grader has no check for {grade_id!r} in {assignment} (tell your instructor)")
    if payload is None:
        return Verdict(False, "")  # the caller knows why (cell error, timeout) and says so
    try:
        if not isinstance(payload, dict) or payload.get("version") != wire.VERSION:
            raise wire.WireError("unknown format")
        if payload.get("grade_id") != grade_id:
            raise wire.WireError(f"it was labelled as data for {str(payload.get('grade_id'))[:60]!r}")
        records = wire.decode(payload.get("records"))
        verdict(records, seed=seed) if _takes_seed(verdict) else verdict(records)
    except Failure as failure:
        return Verdict(False, str(failure))
    except wire.WireError as err:
        return Verdict(False, f"{grade_id}: the data collected from your functions was not readable ({err})")
    except Exception as err:  # noqa: BLE001 - malformed data must cost only this function
        return Verdict(False, f"{grade_id}: the data collected from your functions could not be judged "
                              f"({type(err).__name__}: {shortened(str(err), 200)})")
    return Verdict(True, "")


__all__ = ["DELTA", "DEPENDS_ON", "Failure", "VERDICTS", "Verdict", "fix_first_notes", "judge"]
