"""Visible checks for the exercises: properties of *your* functions, stated in words.

Nothing here implements dropout; each check calls the function you wrote and raises an
``AssertionError`` (:class:`ExerciseFailure`) that says which property failed, on what input;
in a notebook that sentence is all the error shows (``_display``).
Random masks are never compared with a particular random stream: any correct mask passes, and
every statistical check fails a correct answer with probability below 1e-11.

Each check records whether it passed; ``dropout_kit.summary("ch02")`` (the last cell of each
notebook) prints how many of the notebook's visible checks pass. The grade comes from hidden
tests that your instructor runs.

``numpy_checks`` and ``torch_checks`` are imported on first use, so the NumPy exercises do not
load torch.
"""
import importlib

from ._core import DEPENDS_ON, EXERCISES, RESULTS, ExerciseFailure, fix_first, summary, summary_text
from ._display import register as _register_display

_register_display(ExerciseFailure)  # in a notebook, a failing check shows its sentence, not the kit's frames

__all__ = ["DEPENDS_ON", "EXERCISES", "ExerciseFailure", "RESULTS", "fix_first", "capstone_checks", "numpy_checks", "summary", "summary_text", "torch_checks"]


def __getattr__(name):
    if name in ("capstone_checks", "numpy_checks", "torch_checks"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
