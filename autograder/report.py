"""What the instructor takes away: CSV/JSON gradebook, per-student HTML feedback, a score plot."""
from __future__ import annotations

import csv
import html
import json
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

from .grading import GRADED_CACHE


def by_student(rows: list[dict]) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row["student"]].append(row)
    return dict(sorted(grouped.items()))


def export(rows: list[dict], out: Path) -> dict[str, Path]:
    """grades.csv (one line per student and function), grades.json, score_distribution.png."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "grades.csv", out / "grades.json"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "assignment", "function", "points", "max_points", "reason",
                         "assignment_total", "student_total", "student_max"])
        for student, student_rows in by_student(rows).items():
            total = sum(r["score"] for r in student_rows)
            maximum = sum(r["max_score"] for r in student_rows)
            for row in student_rows:
                for function, info in sorted(row["functions"].items()):
                    writer.writerow([student, row["assignment"], function, info["points"], info["max_points"],
                                     info["reason"], row["score"], total, maximum])
    summary = [{"student": s, "total": sum(r["score"] for r in rs), "max_total": sum(r["max_score"] for r in rs),
                "assignments": {r["assignment"]: {"score": r["score"], "max_score": r["max_score"],
                                                  "functions": r["functions"]} for r in rs}}
               for s, rs in by_student(rows).items()]
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


def _notebook_html(path: Path) -> str:
    """The graded notebook as a self-contained page (tests, outputs and tracebacks included)."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="classic").from_notebook_node(nbformat.read(path, as_version=4))
    return body


def feedback(rows: list[dict], course: Path, out: Path) -> list[Path]:
    """One page per student: every function's points and, for each lost point, why."""
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for student, student_rows in by_student(rows).items():
        parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Feedback for {html.escape(student)}</title>"
                 "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}td,th{padding:.3rem .6rem;"
                 "border-bottom:1px solid #ddd;text-align:left}.lost{color:#a40000}</style></head><body>",
                 f"<h1>Feedback for {html.escape(student)}</h1>"]
        for row in student_rows:
            parts.append(f"<h2>{row['assignment']}: {row['score']:g} / {row['max_score']:g}</h2>"
                         "<table><tr><th>function</th><th>points</th><th>what to fix</th></tr>")
            for function, info in sorted(row["functions"].items()):
                lost = info["points"] < info["max_points"]
                parts.append(f"<tr><td><code>{html.escape(function)}</code></td><td>{info['points']:g} / {info['max_points']:g}</td>"
                             f"<td class='{'lost' if lost else ''}'>{html.escape(info['reason']) if lost else 'all checks pass'}</td></tr>")
            parts.append("</table>")
            graded = course / GRADED_CACHE / student / f"{row['assignment']}.ipynb"
            if graded.exists():
                copy = out / student / f"{row['assignment']}_notebook.html"
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_text(_notebook_html(graded))
                link = html.escape(f"{quote(student)}/{quote(copy.name)}", quote=True)
                parts.append(f"<p><a href='{link}'>Your graded notebook, with every test's output</a></p>")
        parts.append("</body></html>")
        page = out / f"{student}.html"
        page.write_text("\n".join(parts))
        pages.append(page)
    return pages
