"""Where things live: the exercise sources in the repository, and the instructor's course folder.

In the repository: ``REPO``, ``SOURCES`` (the nbgrader source notebooks, as MyST markdown),
``CHAPTERS`` (the book), ``SAMPLE_CLASS`` (the shipped sample submissions), ``ASSIGNMENTS``.
The course folder (:class:`Course`), one place that knows where everything in it lives:

    COURSE/
      nbgrader_config.py, gradebook.db     nbgrader's own (release bookkeeping)
      results.db                           the gradebook of record (SQLite default)
      .grading_secret                      seeds the hidden tests' inputs (created on first grade)
      source/<assignment>/exercise.ipynb   nbgrader sources: solutions and hidden tests
      release/<assignment>/exercise.ipynb  what students get
      submitted/<student>/<assignment>/exercise.ipynb   collected, never modified
      submitted/<student>/<assignment>/submission.json  its submission time and LMS identity (collect)
      course.toml                          due dates, extensions, late policy (optional; see deadlines.py)
      roster.csv                           the class list `collect --roster` was given (names on pages and exports)
      graded_notebooks/<student>/<assignment>.ipynb     executed copies, for feedback
      feedback_html/  export/              what the instructor hands out
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "solutions" / "exercises"
CHAPTERS = REPO / "chapters"
SAMPLE_CLASS = REPO / "autograder" / "sample" / "submissions"

# Assignment name -> chapter folder that shows its student notebook.
ASSIGNMENTS = {
    "ch01": "01_why_dropout",
    "ch02": "02_vanilla_vs_inverted",
    "ch03": "03_backward",
    "ch04": "04_training",
    "ch05": "05_spatial",
    "ch06": "06_monte_carlo",
    "ch07": "07_beyond",
    "ch08": "08_capstone",
}

NOTEBOOK = "exercise"          # every assignment holds one notebook, exercise.ipynb
GRADED_CACHE = "graded_notebooks"


@dataclass(frozen=True)
class Course:
    root: Path

    def source_notebook(self, assignment: str) -> Path:
        return self.root / "source" / assignment / f"{NOTEBOOK}.ipynb"

    def release_notebook(self, assignment: str) -> Path:
        return self.root / "release" / assignment / f"{NOTEBOOK}.ipynb"

    def submitted_notebook(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment / f"{NOTEBOOK}.ipynb"

    def submission_info(self, student: str, assignment: str) -> Path:
        """What collect learned about the submission beside the notebook: its time, and who the LMS says sent it."""
        return self.root / "submitted" / student / assignment / "submission.json"

    def graded_notebook(self, student: str, assignment: str) -> Path:
        return self.root / GRADED_CACHE / student / f"{assignment}.ipynb"

    @property
    def secret(self) -> Path:
        """Random bytes from which each submission's input seed is drawn; never leaves the course folder."""
        return self.root / ".grading_secret"

    @property
    def course_file(self) -> Path:
        """Due dates, extensions and the late policy (optional)."""
        return self.root / "course.toml"

    @property
    def roster(self) -> Path:
        """The class list, as the last `collect --roster` was given it (see collect/course_roster.py)."""
        return self.root / "roster.csv"

    @property
    def results_db(self) -> Path:
        return self.root / "results.db"

    @property
    def nbgrader_db(self) -> Path:
        return self.root / "gradebook.db"

    def submissions(self):
        """(student, assignment, notebook path) for every collected submission, sorted."""
        for notebook in sorted((self.root / "submitted").glob(f"*/*/{NOTEBOOK}.ipynb")):
            yield notebook.parent.parent.name, notebook.parent.name, notebook


def tool_env() -> dict:
    """nbgrader calls `alembic` and Jupyter kernels by name: put this interpreter's bin/ first."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.setdefault("MPLBACKEND", "Agg")
    return env
