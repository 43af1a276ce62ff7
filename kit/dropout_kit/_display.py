"""How a failing check shows in a notebook: its sentence, not a traceback through the checks.

A check that fails raises :class:`ExerciseFailure`; IPython would print 30 to 60 lines of the
kit's own frames above the one line that matters. Importing the kit in IPython registers a
handler for that one exception class that shows the sentence, where the student's own code
raised (if it did), and what "Run All" does next. The cell still fails, so the error is not
lost: Jupyter marks it and ``ename``/``evalue`` stay as Python would report them.
"""
from __future__ import annotations

import os
import sys
import sysconfig
import traceback

KIT_DIR = os.path.dirname(os.path.abspath(__file__))
# Library code is not the student's to fix; frames there are left out like the kit's own.
LIBRARY_DIRS = tuple(os.path.abspath(p) for p in {sysconfig.get_path(k) for k in ("stdlib", "purelib", "platlib")} if p)
RUN_ALL_NOTE = ('("Run All" stops at the first failing check. Fix this one and run on from here, or run the '
                "cells below one at a time; the summary cell at the end counts only the checks that ran.)")
MAX_FRAMES = 4


def _outside_kit(filename: str) -> bool:
    path = os.path.abspath(filename)
    return not (path.startswith(KIT_DIR + os.sep) or path.startswith(LIBRARY_DIRS))


def _cell_name(shell, filename: str) -> str:
    """``Cell In[7]`` for a notebook cell, as IPython names it, else the file's name."""
    number = getattr(getattr(shell, "compile", None), "_filename_map", {}).get(filename)
    return f"Cell In[{number}]" if isinstance(number, int) else f"File {filename}"


def student_frames(shell, error: BaseException) -> list[str]:
    """Where the student's code raised the exception a check turned into words (its last frames)."""
    cause = error.__cause__ or error.__context__
    if cause is None or cause.__traceback__ is None:
        return []
    frames = [f for f in traceback.extract_tb(cause.__traceback__) if _outside_kit(f.filename)]
    if not frames:
        return []
    lines = [f"Raised in your code ({type(cause).__name__}):"]
    for frame in frames[-MAX_FRAMES:]:
        code = f": {frame.line.strip()}" if frame.line else ""
        lines.append(f"  {_cell_name(shell, frame.filename)}, line {frame.lineno}, in {frame.name}{code}")
    return lines


def one_line_failure(shell, etype, value, tb, tb_offset=None) -> list[str]:
    """IPython's custom exception handler: show the check's sentence and nothing of the kit."""
    stb = [f"{etype.__name__}: {value}", *student_frames(shell, value), RUN_ALL_NOTE]
    shell._showtraceback(etype, value, stb)  # the kernel sends it as the cell's error output
    return stb


def register(failure_class) -> bool:
    """In IPython, show ``failure_class`` as one sentence; elsewhere (plain Python, pytest) do nothing.

    Another handler already registered (by the student or a tool) is left alone.
    """
    ipython = sys.modules.get("IPython")  # not imported means no IPython shell is running: skip its import cost
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    if shell.custom_exceptions not in ((), (failure_class,)):
        return False
    shell.set_custom_exc((failure_class,), one_line_failure)
    return True
