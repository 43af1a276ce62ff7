"""The instructor's gradebook exports: grades.csv, grades.json and a score plot."""
from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

CSV_COLUMNS = ["student", "name", "assignment", "function", "points", "max_points", "reason",
               "assignment_total", "student_total", "student_max", "flags"]  # name: the roster's, else empty
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def by_student(rows: list[dict]) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row["student"]].append(row)
    return dict(sorted(grouped.items()))


def spreadsheet_safe(value):
    """A CSV cell no spreadsheet runs as a formula: text gets a leading ' where needed; numbers stay numbers."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _earned(row: dict) -> tuple[float, float]:
    written = (row.get("written") or {}).values()
    graded = [w for w in written if w.get("points") is not None]
    return (float(row["score"]) + sum(float(w["points"]) for w in graded),
            float(row["max_score"]) + sum(float(w["max_points"]) for w in graded))


def late_deduction(row: dict) -> float:
    """Points the row's late penalty takes: its fraction of the points earned (0 without one)."""
    penalty = row.get("late_penalty")
    return round(_earned(row)[0] * penalty.fraction, 6) if penalty is not None and penalty.fraction else 0.0


def row_total(row: dict) -> tuple[float, float]:
    """(points, maximum) of one submission: the automatic tests plus written answers a person has graded,
    less the late penalty if the row carries one (``late_penalty``, set at export from the course file).

    Written answers still pending add to the maximum only once graded, so a pending answer never
    reads as a lost point. The one place totals are computed (CSV, JSON, feedback, LMS files).
    """
    points, maximum = _earned(row)
    return points - late_deduction(row), maximum


def flags(row: dict) -> list[str]:
    """The static screening's flags, for the instructor only (never on a student's page)."""
    found = row.get("flags") or []
    return [found] if isinstance(found, str) else [str(f) for f in found]


def function_reason(info: dict) -> str:
    """A function's reason as the instructor reads it: an override's new points, author and reason first."""
    change = info.get("override")
    if not change:
        return info["reason"]
    said = (f"override by {change['by']} ({change['at']}): {_points(info.get('autograded_points'))} -> "
            f"{_points(change['points'])}: {change['reason']}")
    return f"{said}; autograded: {info['reason']}" if info.get("reason") else said


def _points(value) -> str:
    value = float(value or 0)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def class_wide_flags(rows: list[dict]) -> dict[str, list[str]]:
    """assignment -> the flags every submission of it carries (e.g. "no trusted submission time" for a whole
    Canvas class): said once per assignment instead of on every line. Needs two submissions or more."""
    found = {}
    for assignment in sorted({r["assignment"] for r in rows}):
        graded = [r for r in rows if r["assignment"] == assignment and not r.get("missing")]
        if len(graded) < 2:
            continue
        shared = set(flags(graded[0])).intersection(*(flags(r) for r in graded[1:]))
        if shared:
            found[assignment] = [f for f in flags(graded[0]) if f in shared]
    return found


def own_flags(row: dict, shared: dict[str, list[str]]) -> list[str]:
    """The row's flags less those its whole assignment shares (said once, see class_wide_flags)."""
    common = shared.get(row["assignment"], [])
    return [f for f in flags(row) if f not in common]


CLASS_LINE = "(every submission)"  # the student cell of a line that speaks for the whole assignment


def _csv_lines(rows: list[dict]):
    shared = class_wide_flags(rows)
    for assignment, common in shared.items():
        for flag in common:
            yield [CLASS_LINE, assignment, "", "", "", "flag on every submission of this assignment", "", "", "",
                   flag]
    for student, student_rows in by_student(rows).items():
        total = sum(row_total(r)[0] for r in student_rows)
        maximum = sum(row_total(r)[1] for r in student_rows)
        for row in student_rows:
            if row.get("missing"):  # a roster student with no notebook for an assignment: one line, 0 points
                yield [student, row["assignment"], "", 0, row["max_score"], "no submission", 0, total, maximum, ""]
                continue
            mine = "; ".join(own_flags(row, shared))
            for function, info in sorted(row["functions"].items()):
                yield [student, row["assignment"], function, info["points"], info["max_points"], function_reason(info),
                       row_total(row)[0], total, maximum, mine]
            for question, info in sorted((row.get("written") or {}).items()):
                pending = info.get("points") is None
                yield [student, row["assignment"], question, "" if pending else info["points"], info["max_points"],
                       "written answer: pending manual grading" if pending else info.get("comment", ""),
                       row_total(row)[0], total, maximum, mine]
            if late_deduction(row):
                yield [student, row["assignment"], "late_penalty", -late_deduction(row), "",
                       row["late_penalty"].reason, row_total(row)[0], total, maximum, mine]


def _summary(rows: list[dict], names: dict[str, str]) -> list[dict]:
    def assignment(row: dict) -> dict:
        points, maximum = row_total(row)
        if row.get("missing"):
            return {"score": 0.0, "max_score": maximum, "status": "no submission"}
        entry = {"score": points, "max_score": maximum, "autograded_score": row.get("autograded_score", row["score"]),
                 "functions": row["functions"],
                 "written": {q: {k: v for k, v in i.items() if k != "answer"}
                             for q, i in (row.get("written") or {}).items()}}
        if late_deduction(row):
            penalty = row["late_penalty"]
            entry["late_penalty"] = {"points": -late_deduction(row), "fraction": penalty.fraction,
                                     "days_late": penalty.days_late, "reason": penalty.reason}
        return {**entry, "flags": flags(row)} if flags(row) else entry

    return [{"student": s, **({"name": names[s]} if names.get(s) else {}), "total": sum(row_total(r)[0] for r in rs),
             "max_total": sum(row_total(r)[1] for r in rs), "assignments": {r["assignment"]: assignment(r) for r in rs}}
            for s, rs in by_student(rows).items()]


def export(rows: list[dict], out: Path, names: dict[str, str] | None = None) -> dict[str, Path]:
    """grades.csv (one line per student and function, a ``late_penalty`` line where lateness cost points, one
    "no submission" line per missing notebook of a roster student), grades.json, score_distribution.png.
    ``names``: roster id -> name, in the CSV's ``name`` column and the JSON's ``name``."""
    from autograder.collect.course_roster import clean

    known = {s: clean(n) for s, n in (names or {}).items() if clean(n)}
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "grades.csv", out / "grades.json"
    # errors="replace": a name with a lone surrogate (from a file name) must not stop the export.
    with csv_path.open("w", newline="", encoding="utf-8", errors="replace") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([spreadsheet_safe(v) for v in [line[0], known.get(line[0], ""), *line[1:]]]
                         for line in _csv_lines(rows))
    summary = _summary(rows, known)
    json_path.write_text(json.dumps(summary, indent=2, sort_keys=True))
    plot = out / "score_distribution.png"
    plot_scores(summary, plot)
    return {"csv": csv_path, "json": json_path, "plot": plot}


def plot_scores(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    percent = [100 * s["total"] / s["max_total"] if s["max_total"] else 0 for s in summary]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(percent, bins=range(0, 105, 5), color="#3b6ea8", edgecolor="white")
    ax.set_xlabel("score (% of the points submitted for)")
    ax.set_ylabel("students")
    ax.set_title(f"Score distribution, {len(summary)} students")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
