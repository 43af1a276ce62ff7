"""The desk's pages, as HTML strings: every text from the gradebook or a notebook escaped (safe_html).

The same building blocks as the feedback pages: ``escape``, ``markdown`` (raw HTML shown as text,
links inert), ``pre`` and ``notebook_view.render_notebook``. Students' answers are shown as plain
text only, never typeset: MathJax runs on the instructor's own text (the question and the model
answer), which the page marks with the class ``tex``.

Students are shown as ``Name (id)`` where the course's class list names them (``course_roster.label``,
which also strips control and bidirectional characters); URLs, form fields and anchors carry the id alone,
so a name never decides which student a request is about.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from autograder.collect.course_roster import label
from autograder.export.grades import class_wide_flags, function_reason, late_deduction, own_flags, row_total
from autograder.feedback.notebook_view import points as show_points
from autograder.feedback.notebook_view import render_notebook
from autograder.feedback.safe_html import STYLE, clip, escape, markdown, note, pre
from autograder.manual.written import unanswered
from autograder.desk.marks import describe, pending, version
from autograder.desk.security import FORBIDDEN_HOST, HOST_HINT

REASON_LIMIT = 4_000
DESK_STYLE = """
body{max-width:80rem}nav{display:flex;gap:1rem;border-bottom:1px solid #ccc;padding-bottom:.4rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(22rem,1fr));gap:.8rem}
.card{border:1px solid #bbb;border-radius:4px;padding:.5rem}.card.current{outline:3px solid #3b6ea8}
.card textarea{width:100%;min-height:4rem;box-sizing:border-box}.card input[type=text]{width:5rem}
.saved{color:#1b5e20}.error{color:#a40000;font-weight:600;white-space:pre-wrap}.flag{color:#7a4a00}
form.inline{display:inline}.muted{color:#555}.tex{background:#f4f8ff;padding:.3rem .6rem}
label{font-weight:600}.override{background:#fff8e1}
""".strip()
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)
_HELD = re.compile(r"MATHHELD(\d+)X")


def url(*parts: str) -> str:
    """A desk URL from path parts: each part percent-encoded whole, so a name with / or ? stays one part."""
    return "/" + "/".join(quote(str(p), safe="") for p in parts)


def named(event: dict, names: dict[str, str]) -> dict:
    """An override event whose student reads ``Name (id)``, for the audit log's words (never stored)."""
    return {**event, "student": label(event["student"], names)}


def shell(title: str, body: str, xsrf: str, math: bool = False) -> str:
    """A complete page. Scripts are files of the desk (CSP: no inline script); MathJax only where asked."""
    scripts = "<script src='/static/desk.js' defer></script>"
    if math:  # after desk.js, which configures it (deferred scripts run in order)
        scripts += "<script src='/mathjax/tex-chtml.js' defer></script>"
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<meta name='referrer' content='no-referrer'><link rel='icon' href='data:,'>"
            f"<title>{escape(title)} · desk</title><style>{STYLE}\n{DESK_STYLE}</style>{scripts}</head>\n"
            f"<body data-xsrf='{escape(xsrf)}'>\n<nav aria-label='desk'><a href='/'>All assignments</a>"
            "<a href='/log'>Audit log of overrides</a></nav>\n<main>\n"
            f"{body}\n</main></body></html>\n")


def error_page(status: int, message: str, xsrf: str) -> str:
    hint = ""
    if status == 403 and message == FORBIDDEN_HOST:
        hint = f"<p>{escape(HOST_HINT)}</p>"
    elif status == 403:
        hint = ("<p>Open the desk with the address it printed when it started (with <code>?token=…</code>). A change "
                "refused here was sent without the page's form token: reload the page and try again.</p>")
    return shell(f"Error {status}", f"<h1>Error {status}</h1><p class='error'>{escape(message)}</p>{hint}", xsrf)


def _xsrf_field(xsrf: str) -> str:
    return f"<input type='hidden' name='_xsrf' value='{escape(xsrf)}'>"


def _total(row: dict) -> str:
    got, top = row_total(row)
    return f"{show_points(round(got, 2))} / {show_points(top)}"


def index_page(rows: list[dict], xsrf: str, problem: str | None) -> str:
    body = ["<h1>The desk</h1>"]
    if problem:
        body.append(f"<p class='error'>{escape(problem)}</p>")
    if not rows:
        body.append(note("the gradebook is empty: run `dropout-grader grade` first"))
    body.append("<table><tr><th>assignment</th><th>submissions</th><th>written answers pending</th>"
                "<th>flagged</th></tr>")
    for assignment in sorted({r["assignment"] for r in rows}):
        mine = [r for r in rows if r["assignment"] == assignment]
        body.append(f"<tr><td><a href='{url('a', assignment)}'>{escape(assignment)}</a></td><td>{len(mine)}</td>"
                    f"<td>{pending(rows, assignment)}</td><td>{sum(bool(r.get('flags')) for r in mine)}</td></tr>")
    body.append("</table>")
    return shell("All assignments", "\n".join(body), xsrf)


def class_page(rows: list[dict], assignment: str, xsrf: str, problem: str | None,
               names: dict[str, str] | None = None) -> str:
    mine = [r for r in rows if r["assignment"] == assignment]
    shared = class_wide_flags(mine).get(assignment, [])
    questions = sorted({q for r in mine for q in (r.get("written") or {})})
    body = [f"<h1>{escape(assignment)}: the class</h1>"]
    if problem:
        body.append(f"<p class='error'>{escape(problem)}</p>")
    if questions:
        body.append("<h2>Written answers</h2><ul>" + "".join(
            f"<li><a href='{url('a', assignment, 'q', q)}'><code>{escape(q)}</code></a>: "
            f"{pending(rows, assignment, q)} pending</li>" for q in questions) + "</ul>")
    if shared:
        body.append("<p class='flag'>Every submission: " + escape("; ".join(shared)) + "</p>")
    body.append("<h2>Submissions</h2><table><tr><th>student</th><th>points</th><th>late</th>"
                "<th>written pending</th><th>overrides</th><th>flags</th></tr>")
    for row in mine:
        late = row.get("late_penalty")
        late_text = (f"−{show_points(late_deduction(row))}: {late.reason}" if late is not None and late.fraction
                     else "")
        overridden = sum("override" in info for info in row["functions"].values())
        flags = own_flags(row, {assignment: shared})
        who = label(row["student"], names or {})
        body.append(f"<tr><td><a href='{url('a', assignment, 's', row['student'])}'>{escape(who)}</a></td>"
                    f"<td>{escape(_total(row))}</td><td>{escape(late_text)}</td>"
                    f"<td>{sum(i.get('points') is None for i in (row.get('written') or {}).values())}</td>"
                    f"<td>{overridden or ''}</td><td class='flag'>{escape(clip('; '.join(flags), REASON_LIMIT))}</td></tr>")
    body.append("</table>")
    return shell(f"{assignment}: the class", "\n".join(body), xsrf)


def _function_rows(row: dict, xsrf: str) -> str:
    action = url("a", row["assignment"], "s", row["student"], "override")
    lines = ["<table><tr><th>function</th><th>points</th><th>reason (the full one: instructors only)</th>"
             "<th>override</th></tr>"]
    for function, info in sorted(row["functions"].items()):
        fid = "f-" + re.sub(r"[^A-Za-z0-9_-]", "_", function)
        change = info.get("override")
        remove = (f"<form class='inline' method='post' action='{action}'>{_xsrf_field(xsrf)}"
                  f"<input type='hidden' name='function' value='{escape(function)}'>"
                  "<input type='hidden' name='action' value='remove'>"
                  f"<label for='{fid}-rr'>reason to remove</label> "
                  f"<input id='{fid}-rr' name='reason' required> <button>Remove the override</button></form>"
                  if change else "")
        lines.append(
            f"<tr id='{fid}' class='{'override' if change else ''}'><td><code>{escape(function)}</code></td>"
            f"<td>{escape(show_points(info['points']))} / {escape(show_points(info['max_points']))}</td>"
            f"<td>{escape(clip(str(function_reason(info) or 'all checks pass'), REASON_LIMIT))}</td>"
            f"<td><form method='post' action='{action}'>{_xsrf_field(xsrf)}"
            f"<input type='hidden' name='function' value='{escape(function)}'>"
            "<input type='hidden' name='action' value='set'>"
            f"<label for='{fid}-p'>points</label> <input id='{fid}-p' name='points' size='4' required "
            f"inputmode='decimal'> <label for='{fid}-r'>reason</label> <input id='{fid}-r' name='reason' required> "
            f"<button>Override</button></form>{remove}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def student_page(row: dict, graded: dict | None, released: dict | None, xsrf: str, message: str | None,
                 names: dict[str, str] | None = None) -> str:
    student, assignment = row["student"], row["assignment"]
    who = label(student, names or {})
    title = f"{assignment}: {who}"
    body = [f"<h1>{escape(title)}</h1>", f"<p><a href='{url('a', assignment)}'>Back to the class</a></p>"]
    if message:
        body.append(f"<p class='saved' role='status'>{escape(message)}</p>")
    body.append(f"<p>Points: <strong>{escape(_total(row))}</strong></p>")
    late = row.get("late_penalty")
    if late is not None and (late.fraction or late.reason):
        body.append(f"<p class='muted'>Late: {escape(late.reason)}</p>")
    for flag in row.get("flags") or []:
        body.append(f"<p class='flag'>Flag: {escape(clip(str(flag), REASON_LIMIT))}</p>")
    body += ["<h2>Functions</h2>", f"<p class='muted'>An override changes the points of {escape(who)} and needs "
             "a reason: the student reads it on the feedback page, and the audit log keeps it.</p>",
             _function_rows(row, xsrf)]
    written = row.get("written") or {}
    if written:
        body.append("<h2>Written answers</h2><ul>")
        for question, info in sorted(written.items()):
            body.append(f"<li><a href='{url('a', assignment, 'q', question)}#{escape(quote(student, safe=''))}'>"
                        f"<code>{escape(question)}</code></a>: {escape(describe(info))}</li>")
        body.append("</ul>")
    body.append(f"<h2>Regrade</h2><form method='post' action='{url('a', assignment, 's', student, 'regrade')}' "
                f"class='regrade'>{_xsrf_field(xsrf)}<button>Grade this submission again</button> "
                "<span class='muted' role='status'>runs the hidden tests in the sandbox, as "
                "<code>dropout-grader grade</code> does; written marks and overrides stay while what they were "
                "given for is unchanged</span></form>")
    body.append("<h2>The graded notebook (instructor's view: hidden tests and all outputs)</h2>")
    body.append(render_notebook(graded, released, row["functions"], show_hidden=True) if graded else
                note("no graded notebook is kept for this submission (it could not be run, or the course folder "
                     "has moved)"))
    return shell(title, "\n".join(body), xsrf)


def instructor_text(text: str) -> str:
    """The instructor's markdown with its TeX kept whole for MathJax (markdown would read _ and * in it)."""
    held: list[str] = []

    def hold(match: re.Match) -> str:
        held.append(match.group(0))
        return f"MATHHELD{len(held) - 1}X"

    return _HELD.sub(lambda m: escape(held[int(m.group(1))]), markdown(_MATH.sub(hold, text)))


def _card(row: dict, question: str, action: str, xsrf: str, twins: list[str], names: dict[str, str]) -> str:
    info, student = row["written"][question], row["student"]
    anchor = escape(quote(student, safe=""))
    answer = str(info.get("answer") or "")
    top = show_points(info["max_points"])
    points = "" if info.get("points") is None else show_points(info["points"])
    comment = str(info.get("comment", "")) if info.get("points") is not None else ""
    twin = (f"<p class='flag'>the same text as: {escape(', '.join(label(t, names) for t in twins))}</p>"
            if twins else "")
    return (f"<form class='card mark' id='{anchor}' method='post' action='{action}'>{_xsrf_field(xsrf)}"
            f"<input type='hidden' name='student' value='{escape(student)}'>"
            f"<input type='hidden' name='version' value='{escape(version(info))}'>"
            f"<h3>{escape(label(student, names))}</h3>"
            + (note("no answer") if unanswered(answer) else pre(answer, "answer")) + twin +
            f"<p><label for='{anchor}-p'>points (of {escape(top)})</label> "
            f"<input type='text' id='{anchor}-p' name='points' value='{escape(points)}' inputmode='decimal' "
            f"data-max='{escape(top)}' autocomplete='off'></p>"
            f"<p><label for='{anchor}-c'>comment</label><textarea id='{anchor}-c' name='comment'>"
            f"{escape(comment)}</textarea></p>"
            f"<p><button>Save</button> <span class='state' role='status'>{escape(describe(info))}</span></p></form>")


def question_page(rows: list[dict], assignment: str, question: str, model, xsrf: str,
                  names: dict[str, str] | None = None) -> str:
    mine = [r for r in rows if r["assignment"] == assignment and question in (r.get("written") or {})]
    top = show_points(mine[0]["written"][question]["max_points"]) if mine else "?"
    title = f"{assignment} · {question}"
    texts: dict[str, list[str]] = {}
    for row in mine:
        answer = str(row["written"][question].get("answer") or "").strip()
        if not unanswered(answer):
            texts.setdefault(answer, []).append(row["student"])
    body = [f"<h1>{escape(title)} ({escape(top)} point{'' if top == '1' else 's'})</h1>",
            f"<p><a href='{url('a', assignment)}'>Back to the class</a> · <span id='pending'>"
            f"{pending(rows, assignment, question)}</span> of {len(mine)} pending · keys: <kbd>j</kbd>/<kbd>k</kbd> "
            "(or <kbd>Alt</kbd>+<kbd>↓</kbd>/<kbd>↑</kbd> in a field) next/previous answer; a mark is saved when "
            "you leave its field or move on.</p>"]
    if model is None:
        body.append(note("the model answer was not found: release this assignment into the course folder"))
    else:
        body += ["<h2>The question</h2>", f"<div class='tex'>{instructor_text(model.prompt)}</div>",
                 "<h2>Model answer</h2>", f"<div class='tex' id='model-answer'>{instructor_text(model.model)}</div>"]
    body.append("<h2>Answers</h2><p class='muted'>Students' answers are shown as they typed them (LaTeX "
                "source included), never run or typeset.</p><div class='cards'>")
    action = url("a", assignment, "q", question, "mark")
    for row in mine:
        answer = str(row["written"][question].get("answer") or "").strip()
        body.append(_card(row, question, action, xsrf, [s for s in texts.get(answer, []) if s != row["student"]],
                          names or {}))
    body.append("</div>")
    return shell(title, "\n".join(body), xsrf, math=model is not None)


def log_page(lines: list[str], xsrf: str) -> str:
    body = ["<h1>Audit log of overrides</h1>", "<p class='muted'>Every change, newest first (as "
            "<code>dropout-grader override --log</code> prints them, oldest first).</p>"]
    body.append("<ol reversed>" + "".join(f"<li>{escape(line)}</li>" for line in reversed(lines)) + "</ol>"
                if lines else note("no overrides yet"))
    return shell("Audit log", "\n".join(body), xsrf)
