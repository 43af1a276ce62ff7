"""Shared plumbing of the visible checks: failures in words, and the record the summary reads."""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .properties import DELTA  # noqa: F401 - a correct answer fails a statistical check with at most this probability
from .text import shortened, with_note


class ExerciseFailure(AssertionError):
    """A property of the student's function does not hold; the message says which and where."""


def fail(function: str, message: str) -> None:
    raise ExerciseFailure(f"{function}: {message}")


def require(condition, function: str, message: str) -> None:
    if not condition:
        fail(function, message)


def call_quietly(fn, *args, **kwargs):
    """Call ``fn``; a warning it raises is recorded, never turned into a failure."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, caught


NOT_IMPLEMENTED = "not implemented yet (the stub still raises NotImplementedError)"


def crashed(function: str, err: Exception, context: str) -> None:
    """Turn an exception raised by the student's code into a failure in words."""
    if isinstance(err, NotImplementedError):
        fail(function, NOT_IMPLEMENTED)
    fail(function, f"raised {type(err).__name__}: {err} {context}".rstrip())


def positive_input(rng, shape) -> np.ndarray:
    """Values in [1, 2): no zeros, so a zero output can only mean "dropped"."""
    return rng.uniform(1.0, 2.0, size=shape)


# ----------------------------------------------------------------------------- the record of results

# function name -> (passed, message); a re-run of a check replaces its earlier entry.
RESULTS: dict[str, tuple[bool, str]] = {}


def _record(function: str, passed: bool, message: str) -> None:
    RESULTS.pop(function, None)  # a re-run moves to the end, in the order the checks last ran
    RESULTS[function] = (passed, message)


def visible_check(name):
    """Decorate a check: its outcome is recorded under ``name`` (a string, or a function of the
    check's arguments that returns one), and any exception the student's code let through
    becomes an :class:`ExerciseFailure` that says so in words."""
    def decorate(check):
        @functools.wraps(check)
        def run(*args, **kwargs):
            try:
                function = name(*args, **kwargs) if callable(name) else name
            except Exception:  # noqa: BLE001 - a bad argument must not hide the check's own message
                function = check.__name__.removeprefix("check_")
            try:
                check(*args, **kwargs)
            except ExerciseFailure as failure:
                note = fix_first(function, failing_dependencies(function))
                _record(function, False, with_note(str(failure), note))
                if not note:
                    raise
                # the student's own exception stays the cause, so the notebook still shows where it was raised
                raise ExerciseFailure(with_note(str(failure), note)) from (failure.__cause__ or failure.__context__)
            except Exception as err:  # noqa: BLE001 - whatever the student's code raised, in words
                message = (f"{function}: {NOT_IMPLEMENTED}" if isinstance(err, NotImplementedError)
                           else f"{function}: the check stopped because {type(err).__name__} was raised: {err}")
                message = with_note(message, fix_first(function, failing_dependencies(function)))
                _record(function, False, message)
                raise ExerciseFailure(message) from err
            except BaseException:
                _record(function, False, f"{function}: the check was interrupted before it finished")
                raise
            _record(function, True, "")
        return run
    return decorate


# The visible checks of each exercise notebook, in the order of its test cells.
EXERCISES = {
    "ch01": ("keep_to_drop", "all_keep_masks", "expected_masked_output"),
    "ch02": ("vanilla_dropout_forward", "inverted_dropout_forward"),
    "ch03": ("dropout_backward", "Dropout"),
    "ch04": ("train_epoch", "evaluate"),
    "ch05": ("spatial_dropout_forward", "spatial_dropout_backward"),
    "ch06": ("enable_mc_dropout", "mc_dropout_predict", "predictive_entropy", "mutual_information",
             "expected_calibration_error", "negative_log_likelihood"),
    "ch07": ("dropconnect_forward", "dropconnect_backward", "locked_dropout_forward"),
    "ch08": ("fc_net_loss", "train_fc_net"),
}

# function -> the graded functions of its notebook it may call, or whose output its check uses. A copy
# of the "depends_on" column of the instructor's registry (the kit cannot read it; a test compares them).
DEPENDS_ON = {
    "expected_masked_output": ("all_keep_masks",),
    "Dropout": ("dropout_backward",),
    "mc_dropout_predict": ("enable_mc_dropout",),
    "mutual_information": ("predictive_entropy",),
    "dropconnect_backward": ("dropconnect_forward",),
    "train_fc_net": ("fc_net_loss",),
}


def failing_dependencies(function: str) -> list[str]:
    """The functions ``function`` depends on whose own check failed when it last ran."""
    return [d for d in DEPENDS_ON.get(function, ()) if d in RESULTS and not RESULTS[d][0]]


def fix_first(function: str, failing: list[str], graded: bool = False) -> str:
    """The sentence that sends the student to the real cause, or "" when nothing it depends on fails.

    The grader's reasons use it too (``graded``: said of tests that lost points, not of checks).
    """
    if not failing:
        return ""
    names = " and ".join(failing)
    one = len(failing) == 1
    if graded:
        whose = "whose own test lost points too" if one else "whose own tests lost points too"
        return f"Note: {function} may use {names}, {whose}: fix {names} first."
    whose = "whose own check fails" if one else "whose own checks fail"
    return f"Note: {function} may use {names}, {whose}: fix {names} first, then run this check again."


HIDDEN = "the hidden tests run when your instructor grades."


def _shorten(text: str, limit: int = 300) -> str:
    return shortened(" ".join(str(text).split()), limit)


def summary_text(exercise: str | None = None) -> str:
    """The summary that :func:`summary` prints."""
    results = dict(RESULTS)
    names = list(EXERCISES.get(exercise, ()))
    if not names:  # no exercise named (or one this kit does not know): count the checks that ran
        names = list(results)
    ran = [n for n in names if n in results]
    passed = [n for n in ran if results[n][0]]
    failed = [n for n in ran if not results[n][0]]
    waiting = [n for n in names if n not in results]
    if not names:
        return ("No visible check has run yet: run the test cells above (the cells below each answer), "
                f"then this cell again; {HIDDEN}")
    plural = "check passes" if len(names) == 1 else "checks pass"
    lines = [f"{len(passed)} of {len(names)} visible {plural}; {HIDDEN}"]
    for n in failed:
        message = results[n][1]
        message = message[len(n) + 2:] if message.startswith(f"{n}: ") else message
        lines.append(f"  failed:      {n}: {_shorten(message)}")
    for n in waiting:
        lines.append(f"  not run yet: {n} (run its test cell)")
    if passed and not failed and not waiting:
        lines.append("  Every visible check passes. The hidden tests check more properties: reread the "
                     "requirements above each answer cell before you hand in.")
    return "\n".join(lines)


def summary(exercise: str | None = None) -> None:
    """Print how many visible checks pass, in words. Never raises.

    ``exercise`` ("ch01" ... "ch08") lists the checks of that notebook, so checks that have
    not run yet are named too; without it, only the checks that ran are counted.
    """
    try:
        text = summary_text(exercise)
    except Exception as err:  # noqa: BLE001 - the closing cell must never fail
        text = f"The summary could not be computed ({type(err).__name__}); {HIDDEN}"
    try:
        print(text)
    except Exception:  # noqa: BLE001 - e.g. a closed stdout
        pass
