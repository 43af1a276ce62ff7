"""Checks for the exercises: properties of *your* functions, stated in words.

Nothing here implements dropout; each check calls the function you wrote and raises an
``AssertionError`` that says which property failed, on what input. Random masks are never
compared with a particular random stream: any correct mask passes, and every statistical
check fails a correct answer with probability below 1e-11.
"""
from ._core import ExerciseFailure
from . import numpy_checks, torch_checks

__all__ = ["ExerciseFailure", "numpy_checks", "torch_checks"]
