"""What the instructor takes away: CSV/JSON gradebook, per-student HTML feedback, a score plot.

The work is split by audience: ``export`` writes the instructor's files, ``feedback`` the pages
students receive (rendered by ``notebook_view`` and ``safe_html``, which keep hidden tests, the
grader's data and active content off them).
"""
from __future__ import annotations

from .export import by_student, export, plot_scores, spreadsheet_safe
from .feedback import GRADED_CACHE, feedback, page_stem

__all__ = ["GRADED_CACHE", "by_student", "export", "feedback", "page_stem", "plot_scores", "spreadsheet_safe"]
