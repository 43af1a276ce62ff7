"""Calling a student's function safely and sending what happened as data."""
from __future__ import annotations

import contextlib
import functools
import inspect
import warnings

from . import wire

_captured: list | None = None  # set by capture(): payloads kept here instead of displayed
_seed = 0                       # set by the grader for each submission (see set_seed)


def set_seed(seed: int) -> None:
    """The seed of this run's inputs. The grader draws it per submission from a secret, so data
    collected in another run (another student's, or an earlier one) is data for other inputs."""
    global _seed
    _seed = int(seed)


def seeded(collector):
    """``collector(..., seed=None)`` uses the run's seed (see :func:`set_seed`), however it is called."""
    signature = inspect.signature(collector)

    @functools.wraps(collector)
    def with_seed(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        if bound.arguments.get("seed") is None:
            bound.arguments["seed"] = _seed
        return collector(*bound.args, **bound.kwargs)
    return with_seed


def invoke(fn, *args, **kwargs) -> dict:
    """``{"value": ...}`` or ``{"error": ...}`` for one call, as wire data; never raises.

    Warnings are recorded and otherwise ignored (a warning costs no points). A
    ``KeyboardInterrupt`` (how the grader stops a cell that runs too long) is let through.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # noqa: BLE001 - SystemExit included: it is the student's failure
            return {"error": wire.encode(err), "warnings": len(caught)}
    return {"value": wire.encode(result), "warnings": len(caught)}


def emit(grade_id: str, records) -> None:
    """Display the collected records as one output of the running test cell."""
    payload = {"version": wire.VERSION, "grade_id": grade_id, "records": records}
    if _captured is not None:
        _captured.append(payload)
        return
    from IPython.display import display

    display({wire.MIME: payload}, raw=True)


@contextlib.contextmanager
def capture():
    """Keep emitted payloads in a list instead of displaying them (tests, local checks)."""
    global _captured
    previous, _captured = _captured, []
    try:
        yield _captured
    finally:
        _captured = previous
