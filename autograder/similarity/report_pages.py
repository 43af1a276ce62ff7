"""The similarity report: a CSV of every pair and an offline HTML page of the closest ones, side by side.

The page is built on ``safe_html``'s shell (no script, nothing loaded from elsewhere, a
Content-Security-Policy), not on copydetect's own template, which loads Bootstrap from a CDN.
Styles are inline attributes, which that policy allows. Students are shown as ``Name (id)`` where
the course's roster names them (collect/course_roster.py); the CSV has their names in columns of their own.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from autograder.export.grades import spreadsheet_safe
from autograder.feedback.safe_html import counted, escape, note, page
from autograder.similarity.compare import Comparison, Document, Pair, matching_regions

CSV_COLUMNS = ["student_a", "student_b", "similarity_a", "similarity_b", "matched_tokens", "name_a", "name_b"]
TOP = 20  # pairs shown side by side
# One colour per numbered match (cycled), light enough to read code on.
COLOURS = ("#ffe08a", "#a8e6cf", "#ffc4d6", "#b8d8ff", "#e0c8ff", "#ffd3a8")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PRE = "background:#f6f8fa;padding:.5rem;white-space:pre-wrap;word-break:break-word;font-size:.8rem;margin:.3rem 0"


def write_csv(comparison: Comparison, path: Path, names: dict[str, str] | None = None) -> Path:
    from autograder.collect.course_roster import clean

    known = names or {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(CSV_COLUMNS)
        for pair in comparison.pairs:
            out.writerow([spreadsheet_safe(pair.a.student), spreadsheet_safe(pair.b.student),
                          round(pair.similarity_a, 4), round(pair.similarity_b, 4), pair.matched_tokens,
                          spreadsheet_safe(clean(known.get(pair.a.student, ""))),
                          spreadsheet_safe(clean(known.get(pair.b.student, "")))])
    return path


def _shown(text: str) -> str:
    return escape(_CONTROL.sub("\ufffd", text))  # one character for one: offsets stay right


def _marked(text: str, start: int, end: int, regions: list[tuple[int, int, int]]) -> str:
    """text[start:end] as HTML with the regions inside it marked and numbered."""
    parts, position = [], start
    for first, last, number in regions:
        first, last = max(first, position), min(last, end)
        if first >= last:
            continue
        colour = COLOURS[number % len(COLOURS)]
        parts.append(_shown(text[position:first]))
        parts.append(f"<mark class='match' title='match {number + 1}' style='background:{colour}'>"
                     f"{_shown(text[first:last])}</mark>")
        position = last
    parts.append(_shown(text[position:end]))
    return "".join(parts)


def _side(doc: Document, regions, similarity: float, who) -> str:
    cells = "".join(f"<pre style='{_PRE}'>{_marked(doc.text, s, e, regions)}</pre>" for s, e in doc.cells)
    return (f"<div style='min-width:0'><h3>{escape(who(doc.student))}</h3>"
            f"<p class='label'>{similarity:.0%} of this student's own code is in matching regions</p>{cells}</div>")


def _pair_section(rank: int, pair: Pair, who) -> str:
    regions_a, regions_b = matching_regions(pair)
    count = len(regions_a)
    return (f"<section id='pair-{rank}'><h2>{rank}. {escape(who(pair.a.student))} and {escape(who(pair.b.student))}</h2>"
            f"<p>{counted(pair.matched_tokens, 'matching token')} in {counted(count, 'region')}; a region and its "
            "match have the same colour and number (hover over a region to see it).</p>"
            "<div style='display:grid;grid-template-columns:1fr 1fr;gap:1rem'>"
            f"{_side(pair.a, regions_a, pair.similarity_a, who)}{_side(pair.b, regions_b, pair.similarity_b, who)}"
            "</div></section>")


def _summary_table(shown: list[Pair], who) -> str:
    rows = "".join(f"<tr><td><a href='#pair-{i}'>{i}</a></td><td>{escape(who(p.a.student))}</td>"
                   f"<td>{escape(who(p.b.student))}</td><td>{p.similarity_a:.0%}</td><td>{p.similarity_b:.0%}</td>"
                   f"<td>{p.matched_tokens}</td></tr>" for i, p in enumerate(shown, 1))
    return ("<table><tr><th>#</th><th>student a</th><th>student b</th><th>of a</th><th>of b</th>"
            f"<th>matching tokens</th></tr>{rows}</table>")


def _typical(pairs: list[Pair]) -> str:
    if not pairs:
        return ""
    scores = sorted(p.score for p in pairs)
    median, high = scores[len(scores) // 2], scores[min(len(scores) - 1, int(len(scores) * 0.9))]
    over = "Over the one pair" if len(pairs) == 1 else f"Over all {len(pairs)} pairs"
    return (f"<p>{over} the higher of the two shares has median {median:.0%} and "
            f"90th percentile {high:.0%}: pairs well above those are the ones to read.</p>")


def write_html(comparison: Comparison, path: Path, top: int = TOP, names: dict[str, str] | None = None) -> Path:
    from autograder.collect.course_roster import label

    def who(student: str) -> str:
        return label(student, names or {})

    shown = [p for p in comparison.pairs if p.matched_tokens][:top]
    body = [f"<h1>Similarity of students' own code: {escape(comparison.assignment)}</h1>",
            note("Compared: each student's answer cells and the code cells they added; the given code, the tests "
                 "and the released stubs are left out. Names, numbers and strings are replaced by placeholders "
                 "and comments and layout dropped, so renaming and reformatting do not hide a copy. "
                 f"A match is a run of at least {comparison.min_match} such tokens. A high share is a reason to "
                 "read two notebooks side by side, not a finding: short exercises leave little room."),
            _typical(comparison.pairs)]
    if shown:
        body += [f"<h2>The {counted(len(shown), 'most similar pair')}</h2>", _summary_table(shown, who)]
    else:
        body.append("<p>No two students share a run of their own code.</p>")
    if comparison.not_compared:
        items = "".join(f"<li>{escape(who(d.student))}: {escape(d.problem or '')}</li>" for d in comparison.not_compared)
        body.append(f"<h2>Not compared</h2><ul>{items}</ul>")
    truncated = [d for d in comparison.documents if d.fingerprint is not None and d.problem]
    if truncated:
        items = "".join(f"<li>{escape(who(d.student))}: {escape(d.problem)}</li>" for d in truncated)
        body.append(f"<h2>Compared in part</h2><ul>{items}</ul>")
    body += [_pair_section(rank, pair, who) for rank, pair in enumerate(shown, 1)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(f"Similarity: {comparison.assignment}", "\n".join(body)), encoding="utf-8")
    return path


def write(comparison: Comparison, out: Path, top: int = TOP, names: dict[str, str] | None = None) -> dict[str, Path]:
    """OUT/<assignment>.csv (every compared pair) and OUT/<assignment>.html (the closest ``top``); ``names``:
    roster id -> name."""
    return {"csv": write_csv(comparison, out / f"{comparison.assignment}.csv", names),
            "html": write_html(comparison, out / f"{comparison.assignment}.html", top, names)}
