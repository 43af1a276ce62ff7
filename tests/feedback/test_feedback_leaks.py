"""No hidden test code on a student's feedback page, in any form.

Once a hidden block has run, a student's code can read it back (IPython's `In`, `_ih`, the history
manager, stack frames, linecache, bytecode) and re-encode it into any output: reversed, rot13,
base64, hex, as an image, as an exception's class name or message. So the page shows no output of
a cell that ran after the first hidden block, only whether it raised one of Python's built-in
exceptions. Here the attacks run in a real kernel (without the sandbox, which plays no part in this),
and the page is searched for the hidden code in every encoding.
"""
from __future__ import annotations

import base64
import codecs
import html
import zlib

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.feedback.pages import GRADED_CACHE, feedback
from autograder.feedback.notebook_view import cells_before_hidden_code, render_notebook, strip_hidden
from autograder.grade.rebuild import with_seed, without_grader_cells

MARKER = "hidden_marker_5e1d"  # stands for the hidden test code: it is in the hidden blocks only
HIDDEN = f"### BEGIN HIDDEN TESTS\n_probe = '{MARKER}'\ntarget(_probe)\n### END HIDDEN TESTS\nprint('visible', 'check')"


def _meta(grade_id, **kind):
    return {"nbgrader": {"grade_id": grade_id, "points": 1, "schema_version": 3, "locked": not kind.get("solution"),
                         "grade": bool(kind.get("grade")), "solution": bool(kind.get("solution"))}}


# What a student can do with the kernel once hidden code ran, each printed in its own way.
LEAKS = {
    "history reversed": "print('\\n'.join(In)[::-1])",
    "_ih as rot13": "import codecs; print(codecs.encode(str(_ih), 'rot13'))",
    "history manager base64": "import base64; print(base64.b64encode(str("
                              "get_ipython().history_manager.input_hist_raw).encode()).decode())",
    "globals dump as hex": "print({k: str(v) for k, v in list(globals().items()) if k.startswith('_i')}.__repr__()"
                           ".encode().hex())",
    "stack frames of the call": "print(_stolen[::-1])",
    "linecache, compressed": "import linecache, zlib, base64; print(base64.b85encode(zlib.compress(repr("
                             "linecache.cache).encode())).decode())",
    "exception class named with it": "raise type([c for c in In[:-1] if 'HIDDEN' in c][-1].replace('\\n', '_'), (Exception,), {})('x')",
    "exception message": "raise ValueError(''.join(In)[::-1])",
    "execute_result": "''.join(In)",
    "display with metadata": "from IPython.display import display; display({'text/plain': 'x'}, raw=True, "
                             "metadata={'leak': ''.join(In)})",
    "picture of it": "import base64, zlib; from IPython.display import Image, display; display(Image(data="
                     "b'\\x89PNG\\r\\n\\x1a\\n' + zlib.compress(''.join(In).encode()), format='png'))",
    # A display made before any hidden code ran, rewritten afterwards (nbclient rewrites every output
    # with the display's id): the page shows that earlier cell's outputs.
    "display with the earlier display's id": "display(''.join(In), display_id=_handle.display_id)",
    "update of the earlier display": "_handle.update(''.join(In)); print('updated')",
}
STEAL_FROM_FRAMES = ("import sys, linecache\n_stolen = ''\n"
                     "def target(x):\n"
                     "    global _stolen\n"
                     "    frame = sys._getframe(1)\n"
                     "    _stolen = ''.join(linecache.getlines(frame.f_code.co_filename)) + repr(frame.f_code.co_consts)\n"
                     "print('before any hidden code:', 'the student sees this')\n"
                     "from IPython.display import display\n"
                     "_handle = display('shown before ' + 'any hidden code', display_id=True)")


def encodings(text: str) -> list[str]:
    """Forms of the marker that do not depend on what surrounds it, as they would appear escaped in a page."""
    forms = [text, text[::-1], codecs.encode(text, "rot13"), text.encode().hex()]
    return forms + [html.escape(f, quote=True) for f in forms]


def _texts(output: dict) -> list[str]:
    """Every string a kernel put into an output (text, data, metadata, error fields)."""
    found = []
    for value in output.values():
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, str)]
        elif isinstance(value, dict):
            found += _texts(value)
    return found


def _decoded(text: str) -> str:
    """The text and whatever the leaks' encodings give back from it."""
    text = text.strip()
    found = [text, text[::-1], codecs.encode(text, "rot13")]
    for decode in (bytes.fromhex, base64.b64decode, lambda t: zlib.decompress(base64.b85decode(t)),
                   lambda t: zlib.decompress(base64.b64decode(t)[8:])):
        try:
            found.append(decode(text).decode("utf-8", "replace"))
        except (ValueError, zlib.error):
            pass
    return "\n".join(found)


def fragments(output: dict) -> list[str]:
    """Pieces of an output's text long enough to be recognised on a page."""
    pieces = []
    for text in _texts(output):
        pieces += [html.escape(text[i:i + 24], quote=True) for i in range(0, max(len(text) - 24, 1), 97)
                   if len(text[i:i + 24].strip()) >= 12]
    return pieces


def notebook_with_leaks() -> nbformat.NotebookNode:
    cells = [new_markdown_cell("# Exercise"),
             new_code_cell(STEAL_FROM_FRAMES, metadata=_meta("answer", solution=True)),
             new_code_cell(HIDDEN, metadata=_meta("test_target", grade=True))]
    cells += [new_code_cell(code) for code in LEAKS.values()]  # cells the student added after the test
    return with_seed(new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                        "display_name": "Python 3"}}), 12345)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The leaks run in a real kernel: the executor starts one with its KernelManager (the kernel tier)."""
    from autograder.grade.execute import execute

    run = execute(notebook_with_leaks(), tmp_path_factory.mktemp("scratch"), cell_timeout=30, notebook_timeout=120,
                  isolate=False)
    assert run.problem is None, run.problem
    return without_grader_cells(run.notebook)


def test_the_leaks_work_in_the_kernel(executed):
    """The attacks are real: the graded notebook holds the hidden code, encoded, in their outputs."""
    leaked = nbformat.writes(executed)
    assert cells_before_hidden_code(executed) == 2  # the markdown and the answer; the test ran the hidden block
    for name, cell in zip(LEAKS, executed.cells[3:]):
        if name != "update of the earlier display":  # that one has no output of its own (see below)
            assert any(MARKER in _decoded(t) for o in cell.outputs for t in _texts(o)), name
    # The executor gives no display id to outputs from the first hidden test on: the earlier display stays.
    assert [o.get("data", {}).get("text/plain") for o in executed.cells[1].outputs][-1] == \
        "'shown before any hidden code'"
    assert MARKER[::-1] in leaked and codecs.encode(MARKER, "rot13") in leaked


def test_no_form_of_the_hidden_code_reaches_the_students_page(executed, tmp_path):
    page = render_notebook(executed, None, {})
    for form in encodings(MARKER) + ["_probe", "target(_probe)", "BEGIN HIDDEN", "set_seed", "12345"]:
        assert form not in page, form
    # No piece of any output of the test or of a later cell, but for pieces of the student's own code
    # (the history holds it too, and the page shows it as the cells' source).
    own_code = "\n".join(html.escape(strip_hidden(c.source), quote=True) for c in executed.cells)
    for cell in executed.cells[2:]:
        for output in cell.outputs:
            assert not any(piece in page for piece in fragments(output) if piece not in own_code), output
    assert "<img" not in page  # not even a picture
    assert "before any hidden code: the student sees this" in page  # the answer cell ran before: shown
    assert "shown before any hidden code" in page
    assert "visible check" not in page  # a test's own output comes after its hidden block
    assert "this cell raised ValueError; its output is not shown" in page
    assert "this cell raised an exception of its own class; its output is not shown" in page
    assert "outputs from here on are not shown" in page


def test_the_whole_feedback_page_too(executed, tmp_path):
    course = tmp_path / "course"
    path = course / GRADED_CACHE / "mallory" / "ch02.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(executed, path)
    row = {"student": "mallory", "assignment": "ch02", "sha256": "0" * 64, "score": 0.0, "max_score": 1.0,
           "functions": {"test_target": {"points": 0.0, "max_points": 1, "reason": "wrong"}}}
    feedback([row], course, tmp_path / "fb")
    text = "\n".join(p.read_text() for p in (tmp_path / "fb").rglob("*.html"))
    assert "before any hidden code: the student sees this" in text
    for form in encodings(MARKER):
        assert form not in text, form


def test_the_instructors_view_shows_everything(executed):
    page = render_notebook(executed, None, {}, show_hidden=True)
    assert MARKER in page and MARKER[::-1] in page and "visible check" in page


def test_a_notebook_graded_before_the_boundary_was_recorded_shows_no_output(executed):
    old = nbformat.from_dict(executed)
    del old.metadata["dropout_grader"]
    page = render_notebook(old, None, {})
    assert "before any hidden code: the student sees this" not in page
    assert "outputs from here on are not shown" in page


# ---------------------------------------------------------------------------------------------
# Reasons: they quote what a student's code raised or returned, which it could fill with test code.

def _judged(outputs, answer_outputs=(), problem=None) -> dict:
    from dropout_checks import judge

    from autograder.grade import score as verdicts

    cells = [new_code_cell("def inverted_dropout_forward(x, p, train, rng=None): ...",
                           metadata=_meta("answer", solution=True), outputs=list(answer_outputs)),
             new_code_cell(HIDDEN, metadata=_meta("inverted_dropout_forward", grade=True), outputs=list(outputs))]
    return verdicts.score("ch02", {"inverted_dropout_forward": 3.0}, new_notebook(cells=cells), problem, 60, judge,
                          seed=5)["inverted_dropout_forward"]


def _collected_from(fn) -> dict:
    from dropout_collect import core
    from dropout_collect import numpy_collectors as collect

    core.set_seed(5)
    with core.capture() as payloads:
        collect.forward("inverted_dropout_forward", fn, "inverted")
    return nbformat.v4.new_output("display_data", data={"application/vnd.dropout-course.collected+json": payloads[-1]})


def _raises_the_hidden_code(*args, **kwargs):
    raise type("Leak_" + MARKER, (ValueError,), {})(f"{MARKER} {MARKER[::-1]}")


def _returns_an_object_named_after_it(*args, **kwargs):
    leak = type("Leak_" + MARKER, (), {})()
    return leak, {"mask": leak, "scale": 2.0}


def _error(ename, evalue):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


REASON_LEAKS = {
    "the function raises it": lambda: _judged([_collected_from(_raises_the_hidden_code)]),
    "the function returns a class named after it": lambda: _judged([_collected_from(
        _returns_an_object_named_after_it)]),
    "the test cell stops with it": lambda: _judged([_error("ValueError", MARKER)]),
    "a NameError of its own": lambda: _judged([_error("NameError", MARKER)]),
    "the answer cell raises it": lambda: _judged([_error("Leak_" + MARKER, "x")], [_error("RuntimeError", MARKER)]),
    "a forged payload labelled with it": lambda: _judged([nbformat.v4.new_output("display_data", data={
        "application/vnd.dropout-course.collected+json": {"version": 1, "grade_id": MARKER, "records": []}})]),
    "the kernel's last words": lambda: _judged([], problem=f"the notebook could not be run (RuntimeError: x); "
                                                          f"the kernel said: {MARKER}"),
}


@pytest.mark.parametrize("how", sorted(REASON_LEAKS))
def test_the_students_reason_quotes_nothing_their_code_chose(how):
    judged = REASON_LEAKS[how]()
    assert judged["points"] == 0
    assert MARKER in judged["reason"] or MARKER[::-1] in judged["reason"], judged  # the instructor's copy quotes it
    for form in encodings(MARKER):
        assert form not in judged["student_reason"], judged["student_reason"]
    assert len(judged["student_reason"]) > 20  # still says what went wrong


def test_the_students_reason_still_says_what_went_wrong_and_on_what_input():
    assert _judged([_collected_from(_raises_the_hidden_code)])["student_reason"] == (
        "inverted_dropout_forward: raised Exception: … for x of shape (200, 100), p_drop=0.25, train=True")
    assert _judged([_error("NameError", "x")], [_error("RuntimeError", "boom")])["student_reason"] == (
        "a name the test uses is not defined: the answer cell did not define it (did it raise, or was it renamed?) "
        "(the answer cell raised RuntimeError: …)")
    assert _judged([_error("NameError", "name 'inverted_dropout_forward' is not defined")])["student_reason"] == (
        "a name the test uses is not defined: the answer cell did not define it (did it raise, or was it renamed?)")
    honest = _judged([_collected_from(lambda x, p, train, rng=None: (x, {"mask": x > 0, "scale": 1.0}))])
    assert honest["student_reason"] == honest["reason"]  # no text of the student's in it: the same words


def test_the_page_shows_the_students_reason_and_the_instructors_view_the_other(tmp_path):
    row = {"student": "mallory", "assignment": "ch02", "sha256": "0" * 64, "score": 0.0, "max_score": 3.0,
           "functions": {"inverted_dropout_forward": REASON_LEAKS["the function raises it"]()}}
    student = feedback([row], tmp_path / "course", tmp_path / "fb")[0].read_text()
    instructor = feedback([row], tmp_path / "course", tmp_path / "fbi", show_hidden=True)[0].read_text()
    assert MARKER not in student and MARKER[::-1] not in student and "raised" in student
    assert MARKER in instructor


def test_no_text_of_the_kernels_survives_in_what_is_judged_again():
    from autograder.grade.score import CHOSEN, without_chosen_text

    forged = {"version": 1, "grade_id": "f", "records": [
        {MARKER: "x", "value": {"__object__": MARKER}, "error": {"__error__": {"type": MARKER, "message": MARKER}}},
        {"value": {"__array__": {"dtype": MARKER, "shape": [1], "data": ""}}},
        {"value": {"__dict__": [[MARKER, {"__tuple__": [MARKER, 1.5]}], ["mask", 2]]}},
        {"value": {f"__{MARKER}": 1}, "error": {"__error__": {"type": "ValueError", "message": "m"}}}]}
    cleaned = without_chosen_text(forged, "f")
    assert MARKER not in str(cleaned) and CHOSEN in str(cleaned)
    assert "'mask'" in str(cleaned) and "'ValueError'" in str(cleaned) and "1.5" in str(cleaned)  # the grader's words
    assert without_chosen_text({**forged, "grade_id": MARKER}, "f")["grade_id"] == CHOSEN
    # Forged types that are no names, and nesting past any collector's, neither crash nor get through.
    odd = {"version": 1, "grade_id": "f", "records": [{"error": {"__error__": {"type": [MARKER], "message": {}}}},
                                                      {"value": {"__array__": {"dtype": [MARKER], "shape": [1]}}}]}
    deep = [MARKER]
    for _ in range(300):
        deep = [deep]
    for payload in (odd, {"version": 1, "grade_id": "f", "records": deep}):
        assert MARKER not in str(without_chosen_text(payload, "f"))
    # A shape can spell text too: one no exercise's input has is not quoted; the usual ones are.
    spelled = {"__array__": {"dtype": "float64", "shape": [104, 105, 100, 100, 101, 110], "data": ""}}
    usual = {"__array__": {"dtype": "float32", "shape": [200, 100], "data": "eJw="}}
    assert without_chosen_text({"version": 1, "grade_id": "f", "records": [spelled, usual]}, "f")["records"] == [
        CHOSEN, usual]
