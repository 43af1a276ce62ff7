"""Feedback pages and exports on hand-made gradebook rows and notebooks (no grading is run).

The pages go to students: they must not give away hidden tests or the data the checker grades, and
nothing a student put in a notebook or a name may run, load a resource, or reach another student's page.
"""
from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from inert_html import assert_inert

from autograder.feedback.pages import GRADED_CACHE, feedback, page_stem, page_stems
from autograder.feedback.notebook_view import CLEAN_CELLS, COLLECTED_MIME, GRADER_KEY
from autograder.export.grades import export

HIDDEN_MARKER = "hidden_marker_7f3a"
COLLECTED_MARKER = "collected_marker_91bc"
VISIBLE_TEST = 'checks.check_forward(vanilla_dropout_forward, "vanilla", full=False)'
SCRIPT = "<script>alert(1)</script>"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def nbgrader(grade_id: str, *, grade=False, solution=False, points=0) -> dict:
    return {"nbgrader": {"grade_id": grade_id, "grade": grade, "solution": solution, "locked": not solution,
                         "points": points, "schema_version": 3}}


def grade_cell(outputs=(), hidden=True) -> nbformat.NotebookNode:
    source = VISIBLE_TEST
    if hidden:
        source += f'\n### BEGIN HIDDEN TESTS\nsecret = "{HIDDEN_MARKER}"\ncollect(secret)\n### END HIDDEN TESTS'
    return new_code_cell(source, metadata=nbgrader("vanilla_dropout_forward", grade=True, points=3),
                         outputs=list(outputs))


def collected_output() -> nbformat.NotebookNode:
    return new_output("display_data", data={COLLECTED_MIME: {"inputs": [COLLECTED_MARKER]},
                                            "text/plain": f"<collected {COLLECTED_MARKER}>"})


def graded_notebook(*student_cells, test_outputs=()) -> nbformat.NotebookNode:
    """As the grader keeps it: hidden code first ran in the test cell, so only the cells above it show output."""
    cells = [new_markdown_cell("# Exercise 2\n\nWrite `vanilla_dropout_forward`."),
             new_code_cell("import numpy as np", metadata=nbgrader("given_01")),
             *student_cells,
             grade_cell([collected_output(), new_output("stream", name="stdout", text="visible output ok\n"),
                         *test_outputs])]
    return new_notebook(cells=cells, metadata={GRADER_KEY: {CLEAN_CELLS: len(cells) - 1}})


def answer(source="def vanilla_dropout_forward(x, p, train, rng=None):\n    return x, {}", outputs=()):
    return new_code_cell(source, metadata=nbgrader("answer_02", solution=True), outputs=list(outputs))


def row(student="alice", reason="the mask is not boolean", **extra) -> dict:
    return {"student": student, "assignment": "ch02", "sha256": "0" * 64, "score": 1.0, "max_score": 3.0,
            "functions": {"vanilla_dropout_forward": {"points": 1.0, "max_points": 3, "reason": reason}}, **extra}


@pytest.fixture
def course(tmp_path) -> Path:
    course = tmp_path / "course"
    release = course / "release" / "ch02" / "exercise.ipynb"
    release.parent.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[answer("# YOUR CODE HERE"), grade_cell(hidden=False)]), release)
    return course


def submit(course: Path, student: str, nb: nbformat.NotebookNode) -> None:
    path = course / GRADED_CACHE / student / "ch02.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def pages_text(out: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(out.rglob("*.html")))


def test_default_feedback_shows_visible_test_code_but_no_hidden_test_or_collected_data(course, tmp_path):
    traceback = ["AssertionError Traceback", f'secret = "{HIDDEN_MARKER}"', "AssertionError: mask"]
    error = new_output("error", ename="AssertionError", evalue="the mask is not boolean", traceback=traceback)
    submit(course, "alice", graded_notebook(answer(), test_outputs=[error]))
    pages = feedback([row()], course, tmp_path / "fb")
    text = pages_text(tmp_path / "fb")
    assert len(pages) == 1 and pages[0] == tmp_path / "fb" / "alice.html"
    assert "alice/ch02_notebook.html" in pages[0].read_text()
    assert HIDDEN_MARKER not in text and "BEGIN HIDDEN TESTS" not in text and COLLECTED_MARKER not in text
    assert VISIBLE_TEST.replace('"', "&quot;") in text and "vanilla_dropout_forward" in text
    # The test cell ran hidden code: its output is withheld, and the reason above says what failed.
    assert "visible output ok" not in text and "this cell raised AssertionError; its output is not shown" in text
    assert "the mask is not boolean" in pages[0].read_text()


def test_hidden_block_is_stripped_even_without_the_released_notebook(course, tmp_path):
    (course / "release" / "ch02" / "exercise.ipynb").unlink()
    submit(course, "alice", graded_notebook(answer()))
    feedback([row()], course, tmp_path / "fb")
    text = pages_text(tmp_path / "fb")
    assert HIDDEN_MARKER not in text and COLLECTED_MARKER not in text and "visible output ok" not in text


def test_show_hidden_shows_the_hidden_code_but_never_the_collected_data(course, tmp_path):
    submit(course, "alice", graded_notebook(answer()))
    feedback([row()], course, tmp_path / "fb", show_hidden=True)
    text = pages_text(tmp_path / "fb")
    assert HIDDEN_MARKER in text and "BEGIN HIDDEN TESTS" in text and "Instructor view" in text
    assert COLLECTED_MARKER not in text


def test_flags_are_for_the_instructor_only(course, tmp_path):
    submit(course, "alice", graded_notebook(answer()))
    rows = [row(flags=["reads /proc: FLAG_MARKER"])]
    feedback(rows, course, tmp_path / "fb")
    assert "FLAG_MARKER" not in pages_text(tmp_path / "fb")
    with export(rows, tmp_path / "export")["csv"].open() as fh:
        assert [r["flags"] for r in csv.DictReader(fh)] == ["reads /proc: FLAG_MARKER"]


@pytest.mark.parametrize("where", ["html", "javascript", "svg", "markdown", "stream", "reason"])
def test_a_students_script_is_shown_as_text_or_not_at_all(course, tmp_path, where):
    outputs = {"html": [new_output("display_data", data={"text/html": SCRIPT, "text/plain": "<HTML object>"})],
               "javascript": [new_output("display_data", data={"application/javascript": "alert(1)"})],
               "svg": [new_output("display_data", data={"image/svg+xml": f"<svg>{SCRIPT}</svg>"})],
               "stream": [new_output("stream", name="stdout", text=SCRIPT)]}.get(where, [])
    cells = [answer(outputs=outputs)]
    if where == "markdown":
        cells.append(new_markdown_cell(f"{SCRIPT}\n\n<img src=x onerror=alert(2)> <iframe src='x'></iframe>"))
    submit(course, "alice", graded_notebook(*cells))
    feedback([row(reason=SCRIPT if where == "reason" else "wrong")], course, tmp_path / "fb")
    text = pages_text(tmp_path / "fb")
    assert "<script" not in text.lower() and "<svg" not in text.lower() and "<iframe" not in text
    assert_inert(text)
    if where in ("markdown", "stream", "reason"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    if where in ("javascript", "svg"):
        assert "not shown" in text


def test_a_name_is_escaped_and_pages_carry_a_strict_content_security_policy(course, tmp_path):
    student = f"{SCRIPT}<img src=x onerror=alert(1)>"
    pages = feedback([row(student=student)], course, tmp_path / "fb")
    text = pages[0].read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script" not in text
    assert "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in text
    assert "name='viewport'" in text
    assert_inert(text)


def test_no_page_loads_or_links_anything_remote(course, tmp_path):
    md = ("![pixel](http://evil.example/p.png) [read this](https://evil.example) <https://auto.example> "
          "![ok](data:image/png;base64," + PNG + ")")
    html_output = new_output("display_data", data={"text/html": "<img src='http://evil.example/x.png'>",
                                                   "text/plain": "<HTML>"})
    plot = new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})
    submit(course, "alice", graded_notebook(answer(outputs=[html_output, plot]), new_markdown_cell(md)))
    feedback([row()], course, tmp_path / "fb")
    text = pages_text(tmp_path / "fb")
    assert_inert(text)
    assert f"src='data:image/png;base64,{PNG}'" in text  # the plot is still shown
    assert "https://evil.example" in text  # a link's address stays readable, as text


def test_a_huge_output_is_truncated(course, tmp_path):
    flood = new_output("stream", name="stdout", text="A" * 10_000_000)
    submit(course, "alice", graded_notebook(answer(outputs=[flood] * 3)))
    feedback([row()], course, tmp_path / "fb")
    page = (tmp_path / "fb" / "alice" / "ch02_notebook.html").read_text()
    assert len(page) < 200_000 and "characters not shown" in page


def test_many_outputs_stop_at_the_page_budget(course, tmp_path):
    flood = new_output("stream", name="stdout", text="B" * 100_000)
    submit(course, "alice", graded_notebook(answer(outputs=[flood] * 1000)))
    feedback([row()], course, tmp_path / "fb")
    page = (tmp_path / "fb" / "alice" / "ch02_notebook.html").read_text()
    assert len(page) < 5_000_000 and "too large for one page" in page


def test_tracebacks_lose_their_colour_codes(course, tmp_path):
    error = new_output("error", ename="ValueError", evalue="bad",
                       traceback=["\x1b[0;31mValueError\x1b[0m: bad \x1b]8;;http://x\x07link\x1b]8;;\x07"])
    submit(course, "alice", graded_notebook(answer(outputs=[error])))
    feedback([row()], course, tmp_path / "fb")
    text = pages_text(tmp_path / "fb")
    assert "ValueError: bad link" in text and "\x1b" not in text and "[0;31m" not in text


@pytest.mark.parametrize("student", ["../evil", "a/b", "..", ".", "x\\..\\y", "bob/../alice", "CON", "Émile"])
def test_names_make_safe_file_names_inside_the_output_folder(course, tmp_path, student):
    submit(course, "alice", graded_notebook(answer("alice_private_answer = 1")))
    out = tmp_path / "fb"
    pages = feedback([row(student=student), row(student="alice")], course, out)
    files = sorted(out.rglob("*"))
    assert all(f.resolve().is_relative_to(out.resolve()) for f in files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course", "fb"]  # nothing written beside it
    assert len({p.name.lower() for p in pages}) == 2
    theirs = next(p for p in pages if p.name != "alice.html")
    assert "alice_private_answer" not in theirs.read_text()  # never another student's notebook


def test_stems_never_collide():
    tricky = ["a/b", page_stem("a/b"), "Alice", "alice", "alice-2", "ALICE", "x" * 300, "x" * 301]
    stems = page_stems(tricky)
    assert len({s.lower() for s in stems.values()}) == len(tricky)
    assert all(s.replace("-", "").replace("_", "").isalnum() and len(s) <= 70 for s in stems.values())


def test_an_unreadable_graded_notebook_still_gives_a_feedback_page(course, tmp_path):
    path = course / GRADED_CACHE / "alice" / "ch02.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text("{ not json")
    pages = feedback([row()], course, tmp_path / "fb")
    assert "the mask is not boolean" in pages[0].read_text() and "notebook.html" not in pages[0].read_text()


def test_malformed_cells_and_outputs_do_not_stop_the_page(course, tmp_path):
    nb = json.loads(nbformat.writes(graded_notebook(answer())))
    odd = {"cell_type": "code", "metadata": {"nbgrader": "x"}, "source": ["ok_", 3, "cell"],
           "outputs": [None, {"output_type": "stream", "text": {"a": 1}},
                       {"output_type": "display_data", "data": {"image/png": "not base64!'>"}},
                       {"output_type": "error", "ename": ["Name", 3], "evalue": None}]}
    nb["cells"] = [7, odd] + nb["cells"] + [7, odd]  # before hidden code ran, and after
    nb["metadata"][GRADER_KEY][CLEAN_CELLS] += 2
    path = course / GRADED_CACHE / "alice" / "ch02.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb))
    feedback([row()], course, tmp_path / "fb")
    text = pages_text(tmp_path / "fb")
    assert "ok_cell" in text and "not valid base64" in text
    assert_inert(text)


def test_csv_cells_cannot_become_formulas(tmp_path):
    rows = [row(student="+1-2", reason='=HYPERLINK("http://x")', flags=["-cmd"]),
            {**row(student="@bob"), "functions": {"\tf": {"points": 0.0, "max_points": 2, "reason": "\rdone"}}}]
    paths = export(rows, tmp_path / "export")
    with paths["csv"].open(newline="") as fh:
        lines = list(csv.DictReader(fh))
    by_name = {line["student"]: line for line in lines}
    assert set(by_name) == {"'+1-2", "'@bob"}
    assert by_name["'+1-2"]["reason"] == "'=HYPERLINK(\"http://x\")" and by_name["'+1-2"]["flags"] == "'-cmd"
    assert by_name["'@bob"]["function"] == "'\tf" and by_name["'@bob"]["reason"] == "'\rdone"
    assert float(by_name["'+1-2"]["points"]) == 1.0 and float(by_name["'+1-2"]["student_total"]) == 1.0
    summary = json.loads(paths["json"].read_text())  # the JSON is plain data: names as they are
    assert {s["student"] for s in summary} == {"+1-2", "@bob"}
    assert summary[0]["assignments"]["ch02"]["flags"] == ["-cmd"] and paths["plot"].stat().st_size > 1000


def test_the_table_gives_a_reason_without_its_function_name_which_sits_beside_it(course, tmp_path):
    """Only the page's table drops the name: the reason itself, as exports, the kit and `check` give it, keeps it."""
    own = "vanilla_dropout_forward: the mask is not boolean"
    other = "vanilla_dropout_forward: fix vanilla_dropout_forward first"  # names another function: kept whole
    rows = [{**row(reason=own), "functions": {
        "vanilla_dropout_forward": {"points": 1.0, "max_points": 3, "reason": own},
        "inverted_dropout_forward": {"points": 0.0, "max_points": 3, "reason": other},
        "spatial_dropout_forward": {"points": 3.0, "max_points": 3, "reason": "spatial_dropout_forward: wrong shape",
                                    "autograded_points": 0.0, "override": {"reason": "shape accepted", "points": 3.0,
                                                                           "by": "me", "at": "now"}}}}]
    for show_hidden in (False, True):
        (page,) = feedback(rows, course, tmp_path / f"fb-{show_hidden}", show_hidden=show_hidden)
        text = page.read_text()
        assert "<td class='lost'>the mask is not boolean</td>" in text and own not in text
        assert f"<td class='lost'>{other}</td>" in text
        assert "shape accepted<br>The checks found: wrong shape</td>" in text
    with export(rows, tmp_path / "export")["csv"].open() as fh:
        assert {r["reason"] for r in csv.DictReader(fh)} >= {own, other}
