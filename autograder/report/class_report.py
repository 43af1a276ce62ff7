"""The class report: one page per assignment for the instructor, on where the class stands and what to look at.

Each page shows the score distribution, the mean share of points per function, the most common
reasons for lost points (grouped, so that the same mistake on different inputs counts once per
student), who submitted nothing or scored zero and why, grading time per notebook, written
answers still waiting for a person, and the screening flags to review. Pages are static and
escaped (``safe_html``): students' names and their exception messages are shown, never run.
"""
from __future__ import annotations

import base64
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tqdm import tqdm

from autograder.report import charts
from autograder.feedback import notebook_view
from autograder.export.grades import class_wide_flags, flags, late_deduction, own_flags, row_total
from autograder.feedback.pages import page_stem
from autograder.course.deadlines import Policy
from autograder.course.layout import Course
from autograder.report.reasons import normalise_reason, without_function  # noqa: F401 - normalise_reason re-exported
from autograder.feedback.safe_html import clip, counted, escape, note, page
from autograder.manual.written import unanswered

GROUPS_SHOWN = 30      # reason groups per page; the rest are counted
NAMES_SHOWN = 25       # student names per list; the rest are counted
SLOWEST_SHOWN = 5


@dataclass
class ReasonGroup:
    function: str
    pattern: str
    students: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.students)

    @property
    def example(self) -> str:
        """The most common wording in the group, written as 'function: reason'."""
        reason = Counter(self.reasons).most_common(1)[0][0]
        return f"{self.function}: {without_function(self.function, reason)}"


def reason_groups(rows: list[dict]) -> list[ReasonGroup]:
    """Lost points grouped by function and normalised reason, the most common first."""
    groups: dict[tuple[str, str], ReasonGroup] = {}
    for row in rows:
        for function, info in row["functions"].items():
            if info["points"] >= info["max_points"]:
                continue
            reason = str(info.get("reason") or "no reason given")
            key = (function, normalise_reason(without_function(function, reason)))
            group = groups.setdefault(key, ReasonGroup(*key))
            group.students.append(row["student"])
            group.reasons.append(reason)
    return sorted(groups.values(), key=lambda g: (-g.count, g.function, g.pattern))


def missing_and_zeroed(rows: list[dict], roster=(), collected=()) -> list[tuple[str, list[str]]]:
    """(student, why) for everyone on the roster with nothing graded, and every graded submission worth 0."""
    graded = {r["student"].casefold() for r in rows}
    found = []
    for student in sorted(set(collected)):
        if student.casefold() not in graded:
            found.append((student, ["collected, not graded yet: run `dropout-grader grade`"]))
    waiting = {s.casefold() for s in collected}
    for student in sorted(set(roster)):
        if student.casefold() not in graded | waiting:
            found.append((student, ["no submission"]))
    for row in rows:
        points, maximum = row_total(row)
        if points > 0 or maximum <= 0:
            continue
        lost = {f: without_function(f, str(i.get("reason") or "no reason given")) for f, i in row["functions"].items()}
        if len(set(map(normalise_reason, lost.values()))) == 1:
            why = [f"all {len(lost)} functions: {next(iter(lost.values()))}"]
        else:
            why = [f"{f}: {r}" for f, r in sorted(lost.items())]
        found.append((row["student"], why))
    return found


def pending_written(rows: list[dict]) -> dict[str, tuple[list[str], int, int]]:
    """question -> (students whose answer waits for a person, answers in all, answers left empty)."""
    found: dict[str, tuple[list[str], int, int]] = {}
    for row in rows:
        for question, info in sorted((row.get("written") or {}).items()):
            waiting, total, empty = found.get(question, ([], 0, 0))
            if info.get("points") is None:
                waiting = [*waiting, row["student"]]
            found[question] = (waiting, total + 1, empty + unanswered(info.get("answer")))
    return dict(sorted(found.items()))


def function_shares(rows: list[dict]) -> dict[str, tuple[float, float, int]]:
    """function -> (maximum, mean share of it earned, students who lost points on it)."""
    earned, maxima, lost = defaultdict(list), {}, Counter()
    for row in rows:
        for function, info in row["functions"].items():
            top = float(info["max_points"])
            maxima[function] = top
            earned[function].append(float(info["points"]) / top if top else 1.0)
            lost[function] += info["points"] < info["max_points"]
    return {f: (maxima[f], statistics.fmean(earned[f]), lost[f]) for f in sorted(earned)}


def percents(rows: list[dict], before_penalties: bool = False) -> list[float]:
    """Each submission's score in % of its maximum: after the late penalty (as exported), or before it."""
    totals = [row_total(r) for r in rows]
    if before_penalties:
        totals = [(points + late_deduction(r), maximum) for r, (points, maximum) in zip(rows, totals)]
    return [100 * points / maximum if maximum else 0.0 for points, maximum in totals]


def late_rows(rows: list[dict]) -> list[dict]:
    """The submissions handed in after their due date (grace included), latest first: penalised or not."""
    late = [r for r in rows if r.get("late_penalty") is not None and r["late_penalty"].reason]
    return sorted(late, key=lambda r: (-r["late_penalty"].days_late, r["student"]))


# ---------------------------------------------------------------------------------------------
# The page.

def _names(names: list[str], who) -> str:
    shown = ", ".join(map(who, names[:NAMES_SHOWN]))
    return escape(shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""))


def _image(png: bytes, alt: str) -> str:
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>"


def lateness_unknown(assignment: str, policy: Policy | None) -> str | None:
    """Why no submission of this assignment can be called late (no course file, no due date in it), or None."""
    if policy is None:
        return "no course file"
    return None if assignment in policy.due else f"no due date for {assignment} in the course file"


def _overview(rows: list[dict], scores: list[float], unknown: str | None) -> str:
    pending = sum(w.get("points") is None for r in rows for w in (r.get("written") or {}).values())
    penalised = any(late_deduction(r) for r in rows)
    before = percents(rows, before_penalties=True)
    cells = [("submissions graded", str(len(rows))),
             ("mean score", f"{statistics.fmean(scores):.0f} %" if scores else "–"),
             ("median score", f"{statistics.median(scores):.0f} %" if scores else "–"),
             ("full marks", str(sum(s >= 100 for s in scores))), ("zero", str(sum(s <= 0 for s in scores)))]
    if penalised:
        cells += [("mean score before late penalties", f"{statistics.fmean(before):.0f} %"),
                  ("full marks before late penalties", str(sum(s >= 100 for s in before)))]
    # Without a due date, 0 late would read as "everyone on time": say that nobody knows.
    late = f"not known: {unknown}" if unknown else str(len(late_rows(rows)))
    cells += [("late submissions", late), ("written answers pending", str(pending)),
              ("submissions flagged", str(sum(bool(flags(r)) for r in rows)))]
    scored = "Scores count the automatic tests (with overrides) and the written answers graded so far"
    pending_note = "a pending answer counts neither for nor against"
    said = (f"{scored}; {pending_note}. No late penalty was taken: lateness is not known ({unknown})." if unknown
            else f"{scored}, less late penalties from the course file; {pending_note}.")
    return ("<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in cells) + "</table>"
            + note(said))


def _late(rows: list[dict], unknown: str | None, who) -> str:
    if unknown:
        return note(f"{unknown}: lateness is not known (due dates go in the [due] table of the course file, "
                    f"COURSE/course.toml or the one --course-file names)")
    found = late_rows(rows)
    if not found:
        return note("no submission was late")
    lines = ["<table><tr><th>student</th><th>lateness and penalty</th><th>points lost</th>"
             "<th>score before</th><th>score after</th></tr>"]
    for row in found:
        points, maximum = row_total(row)
        lost = late_deduction(row)
        lines.append(f"<tr><td>{escape(who(row['student']))}</td><td>{escape(row['late_penalty'].reason)}</td>"
                     f"<td>{escape(notebook_view.points(lost))}</td>"
                     f"<td>{escape(notebook_view.points(points + lost))} / {escape(notebook_view.points(maximum))}</td>"
                     f"<td>{escape(notebook_view.points(points))} / {escape(notebook_view.points(maximum))}</td></tr>")
    return "\n".join(lines) + "</table>"


def _distribution(assignment: str, scores: list[float]) -> str:
    if not scores:
        return note("nothing graded yet")
    png = charts.score_histogram(scores, f"{assignment}: {counted(len(scores), 'student')}")
    return _image(png, f"histogram of {len(scores)} scores")


def _functions(assignment: str, rows: list[dict]) -> str:
    shares = function_shares(rows)
    if not shares:
        return note("no automatically graded functions")
    lines = [_image(charts.share_bars({f: s for f, (_, s, _) in shares.items()}, f"{assignment}: points per function"),
                    "bar chart of the mean share of points per function"),
             "<table><tr><th>function</th><th>points</th><th>mean share earned</th>"
             "<th>students who lost points</th></tr>"]
    for function, (top, share, lost) in shares.items():
        lines.append(f"<tr><td><code>{escape(function)}</code></td><td>{escape(notebook_view.points(top))}</td>"
                     f"<td>{100 * share:.0f} %</td><td>{lost}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _reasons(rows: list[dict], who) -> str:
    groups = reason_groups(rows)
    if not groups:
        return note("no point was lost")
    items = [f"<li><strong>{counted(g.count, 'student')}</strong>: {escape(clip(g.example, 600))} "
             f"<span class='label'>({_names(g.students, who)})</span></li>" for g in groups[:GROUPS_SHOWN]]
    rest = groups[GROUPS_SHOWN:]
    lost = sum(g.count for g in rest)
    more = note(f"and {counted(len(rest), 'more reason')}, for {counted(lost, 'lost function')} in all") if rest else ""
    return ("<p>The same mistake on different inputs is one reason: numbers, quoted values and a student's own "
            "exception text are left out when reasons are compared (the wording shown is the most common one).</p>"
            f"<ol>{''.join(items)}</ol>{more}")


def _missing(found: list[tuple[str, list[str]]], has_roster: bool, who) -> str:
    hint = "" if has_roster else note("Students who submitted nothing are listed only with --roster CLASS.csv.")
    if not found:
        return note("none") + hint
    lines = ["<table><tr><th>student</th><th>why</th></tr>"]
    for student, why in found:
        lines.append(f"<tr><td>{escape(who(student))}</td><td>{'<br>'.join(escape(clip(w, 600)) for w in why)}</td></tr>")
    return "\n".join(lines) + "</table>" + hint


def _timing(rows: list[dict], who) -> str:
    timed = sorted(((r["seconds"], r["student"]) for r in rows if r.get("seconds") is not None), reverse=True)
    untimed = len(rows) - len(timed)
    if not timed:
        return note("no grading time recorded (these submissions were graded before the gradebook kept it)")
    seconds = [s for s, _ in timed]
    cells = [("notebooks timed", str(len(timed))), ("median", f"{statistics.median(seconds):.1f} s"),
             ("mean", f"{statistics.fmean(seconds):.1f} s"), ("longest", f"{seconds[0]:.1f} s"),
             ("all together", f"{sum(seconds):.0f} s")]
    slowest = ", ".join(f"{who(student)} ({s:.1f} s)" for s, student in timed[:SLOWEST_SHOWN])
    return ("<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in cells)
            + f"<tr><th>slowest</th><td>{escape(slowest)}</td></tr></table>"
            + (note(f"{counted(untimed, 'submission')} graded before grading time was kept") if untimed else ""))


def _written(rows: list[dict], who) -> str:
    found = pending_written(rows)
    if not found:
        return note("this assignment has no written questions")
    lines = ["<table><tr><th>question</th><th>pending</th><th>left empty</th><th>waiting for a person</th></tr>"]
    for question, (waiting, total, empty) in found.items():
        lines.append(f"<tr><td><code>{escape(question)}</code></td><td>{len(waiting)} of {total}</td><td>{empty}</td>"
                     f"<td>{_names(waiting, who) if waiting else 'all graded'}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines) + note("Grade them with `dropout-grader manual` (pages and sheets in COURSE/manual).")


def _overrides(rows: list[dict], who) -> str:
    changed = [(r["student"], f, i) for r in rows for f, i in sorted(r["functions"].items()) if i.get("override")]
    if not changed:
        return note("no points were changed by hand (`dropout-grader override`)")
    lines = ["<table><tr><th>student</th><th>function</th><th>points</th><th>by, when</th><th>reason</th></tr>"]
    for student, function, info in changed:
        change = info["override"]
        lines.append(f"<tr><td>{escape(who(student))}</td><td><code>{escape(function)}</code></td>"
                     f"<td>{escape(notebook_view.points(info.get('autograded_points')))} → "
                     f"{escape(notebook_view.points(change['points']))}</td>"
                     f"<td>{escape(str(change['by']))}, {escape(str(change['at']))}</td>"
                     f"<td>{escape(clip(str(change['reason']), 600))}</td></tr>")
    return "\n".join(lines) + "</table>" + note("Overrides a regrade left for review are listed under the flags.")


def _flags(rows: list[dict], who) -> str:
    shared = class_wide_flags(rows)  # one assignment's rows: a flag all of them carry is said once, above the table
    everyone = "".join(f"<p class='lost'>Every submission: {escape(clip(f, 600))}</p>" for fs in shared.values()
                       for f in fs)
    flagged = [(r["student"], own_flags(r, shared)) for r in rows if own_flags(r, shared)]
    if not flagged:
        return everyone or note("no submission was flagged")
    lines = [everyone, "<table><tr><th>student</th><th>flags (the screening's, unknown times, overrides to review; "
                       "they change no point)</th></tr>"]
    for student, found in flagged:
        lines.append(f"<tr><td>{escape(who(student))}</td><td>{'<br>'.join(escape(clip(f, 600)) for f in found)}</td></tr>")
    return "\n".join(lines) + "</table>"


def assignment_page(assignment: str, rows: list[dict], roster=None, collected=(), policy: Policy | None = None,
                    names: dict[str, str] | None = None) -> str:
    """The report page of one assignment from its gradebook rows (late penalties applied, see
    export_all.penalised); ``roster`` lists every student's id; ``policy``: the course file read, if any;
    ``names``: roster id -> name, shown as "Name (id)"."""
    from autograder.collect.course_roster import label

    def who(student: str) -> str:
        return label(student, names or {})

    rows = [r for r in rows if r["assignment"] == assignment]
    scores = percents(rows)
    title = f"Class report: {assignment}"
    unknown = lateness_unknown(assignment, policy)
    body = [f"<h1>{escape(title)}</h1>", _overview(rows, scores, unknown),
            "<h2>Score distribution</h2>", _distribution(assignment, scores),
            "<h2>Points per function</h2>", _functions(assignment, rows),
            "<h2>Late submissions</h2>", _late(rows, unknown, who),
            "<h2>Most common reasons for lost points</h2>", _reasons(rows, who),
            "<h2>Missing or zero submissions</h2>", _missing(missing_and_zeroed(rows, roster or (), collected),
                                                             roster is not None, who),
            "<h2>Grading time per notebook</h2>", _timing(rows, who),
            "<h2>Written answers still pending</h2>", _written(rows, who),
            "<h2>Points changed by hand</h2>", _overrides(rows, who),
            "<h2>Flags to review</h2>", _flags(rows, who)]
    return page(title, "\n".join(body))


def _index(entries: list[tuple[str, str, int]]) -> str:
    lines = ["<h1>Class report</h1>", "<table><tr><th>assignment</th><th>submissions graded</th></tr>"]
    for assignment, name, count in entries:
        lines.append(f"<tr><td><a href='{escape(quote(name))}'>{escape(assignment)}</a></td><td>{count}</td></tr>")
    return page("Class report", "\n".join(lines) + "</table>")


def write_reports(rows: list[dict], course: Path, out: Path, roster=None, assignments=None,
                  policy: Policy | None = None, names: dict[str, str] | None = None) -> list[Path]:
    """One page per assignment (graded or collected) into ``out``, and an index; returns the pages.

    ``rows`` carry the late penalties of ``policy`` (export_all.penalised), the course file read. ``names``: roster
    id -> name (default: the course's roster, if collect recorded one)."""
    from autograder.collect.course_roster import course_names

    known = course_names(Path(course)) if names is None else names
    collected = defaultdict(list)
    for student, assignment, _ in Course(Path(course)).submissions():
        collected[assignment].append(student)
    names = sorted({r["assignment"] for r in rows} | set(collected))
    if assignments:
        names = [a for a in names if a in assignments] or list(assignments)
    out.mkdir(parents=True, exist_ok=True)
    pages, entries = [], []
    for assignment in tqdm(names, unit="assignment", desc="report"):
        path = out / f"{page_stem(assignment)}.html"
        # errors="replace": a name with a lone surrogate (from a file name) must not stop the run.
        path.write_text(assignment_page(assignment, rows, roster, collected[assignment], policy, known), encoding="utf-8",
                        errors="replace")
        pages.append(path)
        entries.append((assignment, path.name, sum(r["assignment"] == assignment for r in rows)))
    (out / "index.html").write_text(_index(entries), encoding="utf-8", errors="replace")
    return pages
