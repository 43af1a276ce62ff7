"""Where things live: the exercise sources in the repo, and the instructor's course folder."""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "solutions" / "exercises"
CHAPTERS = REPO / "chapters"
SAMPLE_CLASS = REPO / "autograder" / "sample_class"
from .layout import NOTEBOOK  # noqa: F401 - re-exported: every assignment holds exercise.ipynb

# Assignment name -> chapter folder that shows its student notebook.
ASSIGNMENTS = {
    "ch01": "01_why_dropout",
    "ch02": "02_vanilla_vs_inverted",
    "ch03": "03_backward",
    "ch04": "04_training",
    "ch05": "05_spatial",
    "ch06": "06_monte_carlo",
    "ch07": "07_beyond",
}


def tool_env() -> dict:
    """nbgrader calls `alembic` and Jupyter kernels by name: put this interpreter's bin/ first."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.setdefault("MPLBACKEND", "Agg")
    return env
