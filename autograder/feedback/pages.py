"""Per-student feedback pages: points and reasons in words, and the student's notebook as graded.

Student ids come from LMS file names, so they are escaped in pages and never used as paths
as they are: each student's pages get a file name of safe characters that no other student shares.
A student is shown as ``Name (id)`` where the course's roster names them (collect/course_roster.py).
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

from autograder.feedback import notebook_view
from autograder.export.grades import by_student, late_deduction, row_total
from autograder.feedback.safe_html import clip, escape, page
from autograder.report.reasons import without_function

from autograder.course.layout import GRADED_CACHE, Course  # noqa: F401 - GRADED_CACHE re-exported
REASON_LIMIT = 2_000  # characters of one reason; reasons may quote a student's exception message

# Lower-case only and no dots: two names that differ only in case cannot share a file on macOS or
# Windows, and ".", ".." or "x.html" cannot arise.
_SAFE_STEM = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_INSTRUCTOR_BANNER = ("<p class='banner'>Instructor view: this page shows hidden test code and full test output. "
                      "Do not send it to students.</p>")


def page_stem(name: str) -> str:
    """A file name stem for `name`: the name itself when it is safe, else a slug plus a short hash."""
    if _SAFE_STEM.fullmatch(name):
        return name
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:40] or "student"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{slug}-{digest}"


def page_stems(names) -> dict[str, str]:
    """A distinct stem per name, even for names chosen to collide with another's stem."""
    stems, used = {}, set()
    for name in sorted(names):
        stem, n = page_stem(name), 1
        while stem in used:
            n += 1
            stem = f"{page_stem(name)}-{n}"
        stems[name] = stem
        used.add(stem)
    return stems


def _one_path_part(name: str) -> bool:
    return name not in ("", ".", "..") and not any(c in name for c in "/\\\0")


def graded_notebook_path(course: Path, student: str, assignment: str) -> Path | None:
    """The graded notebook of this student, or None: never a file of another student or outside the cache."""
    if not (_one_path_part(student) and _one_path_part(assignment)):
        return None
    cache = (course / GRADED_CACHE).resolve()
    path = cache / student / f"{assignment}.ipynb"
    return path if path.is_file() and path.resolve().is_relative_to(cache) else None


def _released_notebook(course: Path, assignment: str) -> dict | None:
    if not _one_path_part(assignment):
        return None
    return notebook_view.load(Course(course).release_notebook(assignment))


def _scored_table(item: str, why: str) -> str:
    """The head of the functions' or the written answers' table: one under the other, they share their column
    widths (safe_html's table.scored, set by this first row), so that their points line up."""
    return (f"<table class='scored'><tr><th class='item'>{item}</th><th class='points'>points</th>"
            f"<th>{why}</th></tr>")


def _name(name: str) -> str:
    """A function's or question's name that may break after an underscore, not mid-word, in a narrow column."""
    return f"<code>{escape(name).replace('_', '_<wbr>')}</code>"


def _function_rows(functions: dict, show_hidden: bool) -> str:
    """Points and reasons; a student reads the reason that quotes no text their code chose (see verdicts).

    A reason starts with its function's name, which the first column gives already: the table leaves it out."""
    lines = [_scored_table("function", "what to fix")]
    for function, info in sorted(functions.items()):
        lost = info["points"] < info["max_points"]
        reason = info["reason"] if show_hidden else info.get("student_reason", info["reason"])
        reason = without_function(function, str(reason)) if reason else reason
        what = escape(clip(str(reason), REASON_LIMIT)) if lost else "all checks pass"
        change = info.get("override")
        if change:  # a person's decision (overrides.py): the student reads its reason beside the checker's
            was = notebook_view.points(info.get("autograded_points"))
            what = (f"<strong>Points changed by your instructor</strong> (from {escape(was)}): "
                    f"{escape(clip(str(change['reason']), REASON_LIMIT))}"
                    + (f"<br>The checks found: {escape(clip(str(reason), REASON_LIMIT))}" if reason else ""))
        lines.append(f"<tr><td>{_name(function)}</td>"
                     f"<td>{escape(notebook_view.points(info['points']))} / "
                     f"{escape(notebook_view.points(info['max_points']))}</td>"
                     f"<td class='{'lost' if lost else ''}'>{what}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _written_rows(written: dict) -> str:
    """Written answers: pending until the instructor grades them, then points and a comment."""
    if not written:
        return ""
    lines = [_scored_table("written answer", "comment")]
    for question, info in sorted(written.items()):
        pending = info.get("points") is None
        got = "pending" if pending else notebook_view.points(info["points"])
        comment = "graded by your instructor later" if pending else clip(str(info.get("comment", "")), REASON_LIMIT)
        lines.append(f"<tr><td>{_name(question)}</td>"
                     f"<td>{escape(got)} / {escape(notebook_view.points(info['max_points']))}</td>"
                     f"<td>{escape(comment)}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="replace")  # a lone surrogate in a name must not stop the run


def _notebook_page(row: dict, graded: dict, released: dict | None, stem: str, show_hidden: bool, who: str) -> str:
    assignment = row["assignment"]
    title = f"{assignment}: notebook of {who}"
    body = [f"<h1>{escape(title)}</h1>", _INSTRUCTOR_BANNER if show_hidden else "",
            f"<p><a href='{escape(quote(f'../{stem}.html'))}'>Back to the feedback</a></p>",
            notebook_view.render_notebook(graded, released, row["functions"], show_hidden)]
    return page(title, "\n".join(body))


def feedback(rows: list[dict], course: Path, out: Path, show_hidden: bool = False,
             names: dict[str, str] | None = None) -> list[Path]:
    """One page per student: every function's points and, for each lost point, why; plus their graded notebook.

    By default the notebook shows test cells with their visible code only and never the data hidden tests
    collect; ``show_hidden=True`` (instructor only) adds the hidden test code and full test output.
    ``names``: roster id -> name (default: the course's roster, if collect recorded one).
    """
    from autograder.collect.course_roster import course_names, label

    known = course_names(Path(course)) if names is None else names
    out.mkdir(parents=True, exist_ok=True)
    grouped = by_student(rows)
    stems = page_stems(grouped)
    released: dict[str, dict | None] = {}
    pages = []
    for student, student_rows in grouped.items():
        stem, who = stems[student], label(student, known)
        body = [f"<h1>Feedback for {escape(who)}</h1>", _INSTRUCTOR_BANNER if show_hidden else ""]
        for row in student_rows:
            assignment = row["assignment"]
            points, maximum = row_total(row)
            body.append(f"<h2>{escape(assignment)}: {escape(notebook_view.points(points))} / "
                        f"{escape(notebook_view.points(maximum))}</h2>")
            late = row.get("late_penalty")
            if late is not None and late.fraction:
                lost = notebook_view.points(-late_deduction(row) or 0.0)
                body.append(f"<p class='lost'>Late penalty, {escape(lost)} points: {escape(late.reason)}</p>")
            body.append(_function_rows(row["functions"], show_hidden))
            body.append(_written_rows(row.get("written") or {}))
            path = graded_notebook_path(course, student, assignment)
            graded = notebook_view.load(path) if path else None
            if graded is None:
                continue
            if assignment not in released:
                released[assignment] = _released_notebook(course, assignment)
            name = f"{page_stem(assignment)}_notebook.html"
            _write(out / stem / name, _notebook_page(row, graded, released[assignment], stem, show_hidden, who))
            body.append(f"<p><a href='{escape(quote(f'{stem}/{name}'))}'>Your notebook as it was graded</a></p>")
        page_path = out / f"{stem}.html"
        _write(page_path, page(f"Feedback for {who}", "\n".join(body)))
        pages.append(page_path)
    return pages
