"""The comment an LMS shows a student beside the grade: one line, built here for every file that carries one.

Moodle's worksheet (``lms_files``, "Feedback comments") and the hand-back's ``comments.csv``
(``feedback.handback``) both take it, so a student reads the same account of a grade wherever it
is pasted. It accounts for the total the file exports: the total, then what changed it beyond the
checks (the late penalty with its points, an instructor's overrides with their reasons), then the
functions that lost points (each named once) or "all checks pass", then the written answers
(their marks, or which still wait for a person). Reasons are the student's version
(``student_reason``), which quotes no text the student's code chose.
"""
from __future__ import annotations

from autograder.export.grades import late_deduction, row_total
from autograder.report.reasons import without_function


def amount(value) -> str:
    """Points as a person writes them: 3, 2.5, 6.975 (no float noise, no trailing '.0')."""
    return f"{round(float(value), 6):g}"


def lms_comment(row: dict, total: str | None = None) -> str:
    """The comment for one submission. ``total``: the grade as the file beside the comment writes it
    (e.g. Moodle's "6.97 / 8.00"); by default ``row_total`` as "points / maximum"."""
    if row.get("missing"):
        return "no submission"
    if total is None:
        got, top = row_total(row)
        total = f"{amount(got)} / {amount(top)}"
    parts = []
    deduction = late_deduction(row)
    if deduction:
        parts.append(f"late penalty -{amount(deduction)} point{'' if deduction == 1 else 's'}: "
                     f"{row['late_penalty'].reason}")
    lost, failed = [], False
    for function, info in sorted(row["functions"].items()):
        most = float(info["max_points"])
        # An override hides the checks' own points: whether they failed is in autograded_points.
        failed = failed or float(info.get("autograded_points", info["points"])) < most
        change = info.get("override")
        if change:
            parts.append(f"{function}: {amount(info['points'])} / {amount(most)}, changed by your instructor: "
                         f"{change['reason']}")
        elif float(info["points"]) < most:
            reason = str(info.get("student_reason", info["reason"]) or "")
            lost.append(f"{function}: {without_function(function, reason)}" if reason else function)
    if lost:
        parts += lost
    elif not failed:
        parts.append("all checks pass")
    parts += _written(row.get("written") or {})
    # One line: a reason or a comment may hold line breaks, and a comment box or CSV cell shows them badly.
    return " ".join(f"{total} — {'; '.join(parts)}".split()) if parts else total


def _written(written: dict) -> list[str]:
    """Each graded written answer with its marks (and the grader's comment), then those still pending."""
    said = []
    for question, info in sorted(written.items()):
        if info.get("points") is not None:
            comment = str(info.get("comment") or "").strip()
            said.append(f"{question}: {amount(info['points'])} / {amount(info['max_points'])}"
                        + (f" ({comment})" if comment else ""))
    pending = sorted(q for q, info in written.items() if info.get("points") is None)
    if pending:
        said.append(f"written answers not graded yet ({', '.join(pending)})")
    return said
