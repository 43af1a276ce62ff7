"""Adversarial, broken and hung submissions, each with the grade and reason it must get.

Points come only from the trusted checker, judging the data the hidden collector emitted in
each test cell, and the screening only *flags* code for a human look. So:

* cheats that once won full marks without implementing anything start from **bob** (the
  release's untouched stubs) and must now score 0 with "not implemented" (or the error that
  kept the answer from being defined, or the forged data the checker refused);
* everything else starts from **alice** (the release with alice's answers: 3 + 3 points) and
  must keep the points the hostile part does not cost: its own answer cell at most, never a
  neighbour's.

``build(case, Target(...))`` returns the bytes of the submitted file (the course must hold
ch02's release). ``EXPECTED[case]`` is (points per function, words every lost function's
reason must contain, or None; a tuple of words means any one of them; a dict gives the words
per function). ``FLAGGED[case]`` says whether the static screening must flag the submission
(True) or must not flag its code (False); a case not listed may go either way. The README's
table of hostile cases is this catalog in prose.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.grade import limits
from autograder.course.layout import SAMPLE_CLASS

VANILLA, INVERTED = "vanilla_dropout_forward", "inverted_dropout_forward"
FULL = {VANILLA: 3, INVERTED: 3}
ZERO = {VANILLA: 0, INVERTED: 0}
FIRST_LOST = {VANILLA: 0, INVERTED: 3}
SECOND_LOST = {VANILLA: 3, INVERTED: 0}
NOT_IMPLEMENTED = "not implemented"
COLLECTED_MIME = "application/vnd.dropout-course.collected+json"
PROBE, SEEN, FILLED = "PROBE ", "SEEN ", "FILLED "  # prefixes of JSON lines cases print for the test
# What `fills_its_disk` tries to write into its own folder: 1 GiB past a kernel's memory budget
# (its work folder is a tmpfs charged to that budget), or 5 GiB where the grader has none.
FILL_BYTES = getattr(limits, "KERNEL_MEMORY_LIMIT", 4 * 2**30) + 2**30


@dataclass(frozen=True)
class Target:
    """What a cheat would aim at, known to the test: paths, the host's listening port, the limits."""
    course: Path
    repo: Path
    port: int = 9
    cell_timeout: int = 20
    addresses: tuple[str, ...] = ("127.0.0.1",)


# case -> (points per function, words in every lost function's reason)
EXPECTED = {
    # --- cheats on untouched stubs: each once earned 6/6 without a line of dropout; now 0 / 6
    "writes_checks_module_dict": (ZERO, NOT_IMPLEMENTED),
    "monkeypatches_checks": (ZERO, NOT_IMPLEMENTED),
    "monkeypatches_numpy": (ZERO, NOT_IMPLEMENTED),
    # `isinstance` always True breaks IPython's own machinery: every later cell hangs to its limit, or
    # (a kernel forked from a template, NumPy already imported) the kernel ends at the next message.
    "patches_builtins": (ZERO, ("did not finish within", "kernel died")),
    "redefines_assertionerror": (ZERO, NOT_IMPLEMENTED),
    "silences_tracebacks": (ZERO, NOT_IMPLEMENTED),
    "imports_reference_pkgutil": (ZERO, "ModuleNotFoundError"),
    "imports_reference_importlib": (ZERO, "ModuleNotFoundError"),
    # Forged data is judged like any other: it is refused, or it is simply not a correct answer.
    "forges_payload_garbage": (ZERO, ("labelled as data for", "did not run to the end", "not readable")),
    "forges_payload_wellformed": (ZERO, "out must equal"),
    "forges_payload_clears_output": (ZERO, NOT_IMPLEMENTED),
    # The grader's seed cell, which imports the real collectors, runs just before the first test (so
    # that feedback may show the outputs above it), after the answer that writes the shadow; whichever
    # is imported, the shadow's data is a forgery and is refused or is not the right answer.
    "shadows_collector_module": (ZERO, (NOT_IMPLEMENTED, "did not run to the end", "not readable")),
    # --- the sandbox: nothing outside the kernel's own folder is reachable
    "symlink_swap": (FULL, None),
    "probes_kernels_and_network": (FULL, None),
    "reads_hidden_tests": (FIRST_LOST, "FileNotFoundError"),
    "reads_gradebook_obfuscated": (FIRST_LOST, "FileNotFoundError"),
    "reads_reference_source": (FIRST_LOST, "FileNotFoundError"),
    "reads_git_config": (FIRST_LOST, "FileNotFoundError"),
    "lists_reference_folder": (FIRST_LOST, "FileNotFoundError"),
    "reads_in_added_cell": (FULL, None),
    "writes_outside_and_deletes_others": (FIRST_LOST, ("PermissionError", "Read-only file system")),
    # --- malformed nbgrader metadata: that answer cell runs as a cell the student added, and the
    # release's answer cell it no longer matches runs empty (its stub would undo the answer)
    "answer_metadata_not_a_dict": (FULL, None),
    "answer_grade_id_not_a_string": (FULL, None),
    "test_points_not_a_number": (FULL, None),
    # --- resources and the kernel's own life
    "deeply_nested_expression": (FULL, None),
    "sleeps_near_cell_limit": (FULL, None),
    "sys_exit_after_answers": (FULL, None),
    "raises_systemexit": (FIRST_LOST, "SystemExit"),
    "raises_keyboardinterrupt": (FIRST_LOST, "KeyboardInterrupt"),
    "os_exit": (ZERO, "kernel died"),
    "kills_kernel_dynamically": (ZERO, "kernel died"),
    "infinite_loop": (FIRST_LOST, "did not finish within"),
    "memory_bomb": (FIRST_LOST, "MemoryError"),
    # Its own 500 `sleep` hold its own task cap to the end, so the kernel cannot start the thread
    # that sends large messages either: the second function is lost too (its own doing, and only its).
    "spawns_many_processes": (ZERO, {VANILLA: ("BlockingIOError", "Resource temporarily unavailable"),
                                     INVERTED: ("produced no data", "could not be run")}),
    "daemonizes": (FULL, None),
    "prints_100_mb": (FULL, None),
    # Past the grader's output budget, its output is dropped: the collected data of the tests that
    # follow must still count (a debugging print loop is no reason to lose correct answers).
    "prints_200_mb": (FULL, None),
    "warns_on_stderr": (FULL, None),
    "displays_in_answer": (FULL, None),
    "raises_formula_text": (FIRST_LOST, "ValueError"),  # a message a spreadsheet would run
    # --- leaks and budgets, checked on the kept notebook and the feedback pages
    "prints_hidden_test_code": (FULL, None),
    # The same history re-encoded, or written into a display made before any hidden code ran
    # (nbclient rewrites every output with a display's id), or raised by an answer as its message.
    "prints_history_reversed": (FULL, None),
    "prints_history_base64": (FULL, None),
    "rewrites_earlier_display": (FULL, None),
    "raises_history_in_answer": (FIRST_LOST, "raised ValueError"),
    "displays_200_mb": (FULL, None),
    "floods_uncounted_output": (FULL, None),  # metadata, transient, display-id fan-out, many frames
    "fills_its_disk": (FULL, None),
    # --- the test cells belong to the release
    "edits_test_cell": (FULL, None),
    "deletes_test_cells": (FULL, None),
    "duplicates_test_cell": (FULL, None),
    "retags_test_cell": (FULL, None),
    # --- files that are, or are not, notebooks
    "comment_mentions_reference": (FULL, None),
    "not_json": (ZERO, "not a notebook"),
    "empty_file": (ZERO, "not a notebook"),
    "nbformat_3": (FULL, None),
    "nbformat_5": (ZERO, "not a notebook"),
    "extra_cells": (FULL, None),
    "missing_answer_cell": (SECOND_LOST, (NOT_IMPLEMENTED, "is not defined")),
    # --- masks that break the rule "each unit kept independently, a fresh mask on every call"
    "mask_shared_by_batch": (FIRST_LOST, "had the same keep decisions"),  # rng.random(x.shape[1:])
    "mask_rotating_block": (ZERO, "independently"),  # exact kept fraction, differs between calls
    "mask_reseeded_every_call": (SECOND_LOST, "same mask"),  # np.random.default_rng(0) inside
}

# Whether the static screening must flag the submission (flags never change points).
FLAGGED = {
    "writes_checks_module_dict": True,   # `vars`
    "monkeypatches_checks": True,
    "monkeypatches_numpy": True,
    "patches_builtins": True,
    "redefines_assertionerror": True,
    "silences_tracebacks": True,
    "imports_reference_pkgutil": True,
    "imports_reference_importlib": True,  # `__import__`
    "forges_payload_garbage": True,      # `get_ipython`
    "forges_payload_clears_output": True,
    "reads_hidden_tests": True,          # a path into `/source/`
    "reads_reference_source": True,
    "os_exit": True,
    "answer_metadata_not_a_dict": True,  # the release's answer cell is missing from the submission
    "answer_grade_id_not_a_string": True,
    "missing_answer_cell": True,
    "comment_mentions_reference": False,  # comments are not code
    "edits_test_cell": False,
    "extra_cells": False,
    "displays_in_answer": False,
}

# Base notebooks.
ALICE, BOB = "alice", "bob"
_BASE = {case: BOB for case in (
    "writes_checks_module_dict", "monkeypatches_checks", "monkeypatches_numpy", "patches_builtins",
    "redefines_assertionerror", "silences_tracebacks", "imports_reference_pkgutil", "imports_reference_importlib",
    "forges_payload_garbage", "forges_payload_wellformed", "forges_payload_clears_output", "shadows_collector_module")}


def base_of(case: str) -> str:
    return _BASE.get(case, ALICE)


def defined_functions(source: str) -> set[str]:
    return set(re.findall(r"^def (\w+)\(", source, flags=re.MULTILINE))


def base_notebook(student: str, course: Path) -> nbformat.NotebookNode:
    """The notebook ch02's release hands out, with ``student``'s answers from the sample class.

    Built on the course's own release rather than copied, so that every case matches the
    release cell for cell (its ids, its written questions) even when the sample class lags.
    """
    released = nbformat.read(Path(course) / "release" / "ch02" / "exercise.ipynb", as_version=4)
    sample = nbformat.read(SAMPLE_CLASS / student / "exercise.ipynb", as_version=4)
    answers = {name: cell.source for cell in sample.cells if cell.cell_type == "code"
               for name in defined_functions(cell.source)}
    for cell in released.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            names = defined_functions(cell.source)
            if len(names) == 1 and names <= set(answers):
                cell.source = answers[names.pop()]
    return released


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _answer(nb, function: str):
    """The answer cell that defines ``function`` (found by its code: answer cells' ids change with the sources)."""
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
                and f"def {function}(" in c.source)


def _fill(code: str, target: Target) -> str:
    """Put the target's paths and numbers into ``code`` (placeholders, so code keeps its braces)."""
    return (code.replace("{course}", str(target.course)).replace("{repo}", str(target.repo))
            .replace("{port}", str(target.port)).replace("{cell_timeout}", str(target.cell_timeout))
            .replace("{addresses}", json.dumps(list(target.addresses))))


def _prefix_first_answer(code: str):
    def edit(nb, target):
        answer = _answer(nb, VANILLA)
        answer.source = _fill(code, target) + answer.source
    return edit


def _append_to_first_answer(code: str):
    def edit(nb, target):
        answer = _answer(nb, VANILLA)
        answer.source = answer.source + "\n" + _fill(code, target)
    return edit


def _replace_answers(first: str, second: str):
    def edit(nb, target):
        _answer(nb, VANILLA).source = _fill(first, target)
        _answer(nb, INVERTED).source = _fill(second, target)
    return edit


def _added_cell_at_end(code: str):
    """A code cell of the student's own after the last test: it runs after every hidden collector."""
    def edit(nb, target):
        nb.cells.append(nbformat.v4.new_code_cell(_fill(code, target)))
    return edit


def _edit_test(nb, target):
    _cell(nb, VANILLA).source = "pass  # tests? what tests?"
    _cell(nb, INVERTED).source = "pass"


def _delete_tests(nb, target):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


def _duplicate_test(nb, target):
    test = _cell(nb, VANILLA)
    fake = copy.deepcopy(test)
    fake.source, fake.id = "assert True", "duplicated-test"
    nb.cells.insert(nb.cells.index(test), fake)


def _retag_test(nb, target):
    test = _cell(nb, INVERTED)
    test.metadata["nbgrader"].update(grade=False, solution=True, locked=False, grade_id="answer_99")
    test.source = "pass"


def _extra_cells(nb, target):
    """A helper in a cell of the student's own that the answer needs: dropping it would cost points."""
    answer = _answer(nb, VANILLA)
    assert "rng.random(x.shape) >= p_drop" in answer.source
    answer.source = answer.source.replace("rng.random(x.shape) >= p_drop", "rng.random(x.shape) >= threshold(p_drop)")
    at = nb.cells.index(answer)
    nb.cells.insert(at, nbformat.v4.new_markdown_cell("My notes: a helper first."))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell("def threshold(p_drop):\n    return p_drop"))
    nb.cells.append(nbformat.v4.new_code_cell("print(threshold(0.25))"))


def _missing_answer(nb, target):
    nb.cells.remove(_answer(nb, INVERTED))


def _answer_metadata(value):
    def edit(nb, target):
        _answer(nb, VANILLA).metadata["nbgrader"] = value
    return edit


def _answer_grade_id(nb, target):
    _answer(nb, VANILLA).metadata["nbgrader"]["grade_id"] = 5


def _test_points(nb, target):
    _cell(nb, VANILLA).metadata["nbgrader"]["points"] = "many"


# The collected MIME type, never written whole in a submission: the feedback pages are checked
# for it, so a cheat must not be the one that puts it there.
_MIME_CODE = '"application/vnd.dropout-course." + "collected" + "+json"'

_FORGE_GARBAGE = f"""\
from IPython.display import display as _show
_KIND = {_MIME_CODE}
def _forge(*args):
    for _id in ("vanilla_dropout_forward", "inverted_dropout_forward"):
        _show({{_KIND: {{"version": 1, "grade_id": _id, "records": "all fine", "passed": True}}}}, raw=True)
get_ipython().events.register("post_run_cell", _forge)
"""

# Rewrites the real payload on its way out: every failed call becomes a plausible answer.
_FORGE_WELLFORMED = f"""\
import numpy as _np
import IPython.display as _disp
_wire = __import__("dropout_" + "collect.wire", fromlist=["encode"])
_KIND = {_MIME_CODE}
_real_display = _disp.display
def _display(obj, *args, **kwargs):
    if isinstance(obj, dict) and _KIND in obj:
        for record in obj[_KIND]["records"]:
            record.pop("error", None)
            fake = _np.ones((200, 100))
            record["value"] = _wire.encode((fake, {{"mask": fake > 0, "scale": 1.0}}))
            record["input_unchanged"] = True
    return _real_display(obj, *args, **kwargs)
_disp.display = _display
"""

_FORGE_CLEAR = """\
from IPython.display import clear_output as _clear
def _wipe(*args):
    _clear()
    print("all tests passed")
get_ipython().events.register("post_run_cell", _wipe)
"""

_SHADOW = """\
import os as _os
_pkg = "dropout_" + "collect"
_os.makedirs(_pkg, exist_ok=True)
open(_os.path.join(_pkg, "__init__.py"), "w").write("")
open(_os.path.join(_pkg, "numpy_collectors.py"), "w").write(
    "from IPython.display import display\\n"
    "def forward(grade_id, fn, kind, seed=0):\\n"
    "    payload = {'version': 1, 'grade_id': grade_id, 'passed': True, 'records': [{'value': 'all fine'}]}\\n"
    "    display({'application/vnd.dropout-course.' + 'collected+json': payload}, raw=True)\\n")
"""

_SYMLINKS = """\
import os
def _attempt(what, *steps):
    try:
        for step in steps:
            step()
        print(what, "done")
    except OSError as err:
        print(what, type(err).__name__)
for name, target in [("exercise.ipynb", "{course}/results.db"), ("results.db", "{course}/results.db"),
                     ("gradebook.db", "{course}/gradebook.db"), ("passwd", "/etc/passwd"),
                     ("ch02.ipynb", "{course}/graded_notebooks/symlink_swap/ch02.ipynb")]:
    _attempt(name, lambda: os.symlink(target, name))
# The connection file and the working folder, swapped for links (if the kernel may touch its folder).
_attempt("kernel.json", lambda: os.symlink("{course}/gradebook.db", "../kernel.json.new"),
         lambda: os.replace("../kernel.json.new", "../kernel.json"))
_attempt("work", lambda: os.rename("../work", "../work.old"), lambda: os.symlink("{course}", "../work"))
print(sorted(os.listdir("..")))
"""

_PROBE = """\
import glob, json, os, socket
_report = {"own": os.path.realpath("../kernel.json"), "found": [], "connect": {}, "mentioned": [], "pids": 0}
for _pattern in ("/tmp/**/kernel*.json", "/root/.local/share/jupyter/runtime/*", "/run/user/**/*.json",
                 os.path.expanduser("~/.local/share/jupyter/runtime/*"), "/dev/shm/**/*.json", "/var/tmp/**/*.json"):
    try:
        _report["found"] += [os.path.realpath(p) for p in glob.glob(_pattern, recursive=True)]
    except Exception as err:
        _report["found"].append(f"error {type(err).__name__}")
for _host in {addresses}:
    for _port in ({port}, 8786, 8888):
        try:
            socket.create_connection((_host, _port), timeout=2).close()
            _report["connect"][f"{_host}:{_port}"] = "connected"
        except Exception as err:
            _report["connect"][f"{_host}:{_port}"] = f"{type(err).__name__}: {err}"
# Every process it can see, and the connection files their command lines name.
for _pid in os.listdir("/proc"):
    if _pid.isdigit():
        _report["pids"] += 1
        try:
            _args = open(f"/proc/{_pid}/cmdline", "rb").read().decode(errors="replace").split("\\0")
        except OSError:
            continue
        _report["mentioned"] += [a for a in _args if a.endswith(".json")]
print("PROBE " + json.dumps(_report))
"""

# Names are hex-encoded so that the printout never spells a folder name the feedback check looks for.
_READS = """\
import json, os
def _try(read):
    try:
        return ["read", len(read())]
    except Exception as err:
        return ["error", type(err).__name__]
def _names(folder):
    try:
        return sorted(name.encode().hex() for name in os.listdir(folder))
    except Exception as err:
        return ["error", type(err).__name__]
_seen = {
    "hidden_tests": _try(lambda: open("{course}/source/ch02/exercise.ipynb").read()),
    "gradebook": _try(lambda: open("{course}" + "/grade" + "book.db", "rb").read()),
    "results": _try(lambda: open("{course}/results.db", "rb").read()),
    "reference": _try(lambda: open("{repo}/solutions/dropout_reference/functional.py").read()),
    "checker": _try(lambda: open("{repo}/solutions/dropout_checks/__init__.py").read()),
    "git_config": _try(lambda: open("{repo}/.git/config").read()),
    "course": _names("{course}"),
    "repo": _names("{repo}"),
    "solutions": _names("{repo}/solutions"),
    "exercises": _names("{repo}/solutions/exercises"),
    "tmp": _names("/tmp"),
    "own": os.path.realpath(".."),
}
print("SEEN " + json.dumps(_seen))
"""

# Processes that try to outlive the kernel: a new session, and a double fork that ignores SIGTERM/SIGHUP.
_DAEMONS = """\
import os, signal, subprocess
subprocess.Popen(["setsid", "sleep", "601"], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.execvp("sleep", ["sleep", "602"])
    os._exit(0)
os.wait()
print("daemons started")
"""

# Non-stream output: 200 MB the grader holds in memory and, untrimmed, would keep on disk.
_DISPLAY_FLOOD = """\
from IPython.display import display
_blob = "y" * (10 * 2**20)
for _ in range(20):
    display({"text/plain": _blob}, raw=True)
"""

# What nbclient once kept or copied uncounted: output metadata, `transient`, one display update
# copied onto every output with its display id, and messages of many frames (each one small).
_UNCOUNTED_FLOOD = """\
from IPython.display import display, update_display
_meta = {"pad": "m" * (10 * 2**20)}
for _ in range(16):
    display({"text/plain": "small"}, raw=True, metadata=_meta)
for _ in range(100):
    display({"text/plain": "tick"}, raw=True, display_id="tick")
update_display({"text/plain": "u" * 2**20}, raw=True, display_id="tick")
for _ in range(5):
    display({"text/plain": "t"}, raw=True, transient={"pad": "t" * (10 * 2**20)})
_k = get_ipython().kernel
for _ in range(4):
    _k.session.send(_k.iopub_socket, "display_data", {"data": {"text/plain": "f"}, "metadata": {}},
                    parent=_k.get_parent("shell"), buffers=[memoryview(b"b" * 2**20)] * 32)
"""

# The kernel's folder lives on the grading machine's disk: how much of it can one notebook take?
_FILL = f"""\
import json, os
_written, _stopped = 0, None
_chunk = b"\\0" * 2**24
try:
    for _i in range({FILL_BYTES} // 2**28):
        with open(f"fill{{_i}}.bin", "wb") as _fh:
            for _ in range(16):
                _fh.write(_chunk)
                _written += len(_chunk)
except OSError as err:
    _stopped = f"{{type(err).__name__}}: {{err}}"
finally:
    for _name in os.listdir("."):
        if _name.startswith("fill"):
            os.remove(_name)
print("FILLED " + json.dumps({{"bytes": _written, "stopped": _stopped}}))
"""


def _edit_answer(function: str, old: str, new: str):
    """Replace ``old`` by ``new`` in the answer cell that defines ``function``."""
    def edit(nb, target):
        answer = _answer(nb, function)
        assert old in answer.source, (function, old)
        answer.source = answer.source.replace(old, new)
    return edit


def _both(*edits):
    def edit(nb, target):
        for one in edits:
            one(nb, target)
    return edit


_MASK_LINE = "rng.random(x.shape) >= p_drop"
_ROTATING_BLOCK = """\
_block = {"offset": 0}
def _rotating_block(shape, p_drop):
    n = int(np.prod(shape))
    _block["offset"] += 1 + n // 7
    return ((np.arange(n) + _block["offset"]) % n < round((1 - p_drop) * n)).reshape(shape)
"""

EDITS = {
    # on bob's stubs
    "writes_checks_module_dict": _prefix_first_answer('vars(checks)["check_forward"] = lambda *a, **k: None\n'),
    "monkeypatches_checks": _prefix_first_answer("checks.check_forward = lambda *args, **kwargs: None\n"),
    "monkeypatches_numpy": _prefix_first_answer("import numpy as np\nnp.allclose = lambda *args, **kwargs: True\n"),
    "patches_builtins": _prefix_first_answer("import builtins\nbuiltins.isinstance = lambda *args: True\n"),
    "redefines_assertionerror": _prefix_first_answer("class AssertionError(Exception):\n    pass\n"),
    "silences_tracebacks": _prefix_first_answer("get_ipython().showtraceback = lambda *args, **kwargs: None\n"),
    "imports_reference_pkgutil": _replace_answers(
        'import pkgutil\nref = pkgutil.resolve_name("dropout_" + "reference")\n'
        "vanilla_dropout_forward = ref.vanilla_dropout_forward\n",
        'ref = pkgutil.resolve_name("dropout_" + "reference")\n'
        "inverted_dropout_forward = ref.inverted_dropout_forward\n"),
    "imports_reference_importlib": _replace_answers(
        'ref = getattr(__import__("importlib"), "import_module")("dropout_" + "reference")\n'
        "vanilla_dropout_forward = ref.vanilla_dropout_forward\n",
        'ref = getattr(__import__("importlib"), "import_module")("dropout_" + "reference")\n'
        "inverted_dropout_forward = ref.inverted_dropout_forward\n"),
    "forges_payload_garbage": _prefix_first_answer(_FORGE_GARBAGE),
    "forges_payload_wellformed": _prefix_first_answer(_FORGE_WELLFORMED),
    "forges_payload_clears_output": _prefix_first_answer(_FORGE_CLEAR),
    "shadows_collector_module": _prefix_first_answer(_SHADOW),
    # on alice's full marks
    "symlink_swap": _added_cell_at_end(_SYMLINKS),
    "probes_kernels_and_network": _added_cell_at_end(_PROBE),
    "reads_hidden_tests": _prefix_first_answer("_leak = open('{course}/source/ch02/exercise.ipynb').read()\n"),
    "reads_gradebook_obfuscated": _prefix_first_answer(
        "_where = '{course}'\n_leak = open(_where + '/grade' + 'book' + '.db', 'rb').read()\n"),
    "reads_reference_source": _prefix_first_answer(
        "_leak = open('{repo}/solutions/dropout_reference/functional.py').read()\n"),
    "reads_git_config": _prefix_first_answer("_leak = open('{repo}/.git/config').read()\n"),
    "lists_reference_folder": _prefix_first_answer(
        "import os\n_leak = os.listdir('{repo}/solutions/' + 'dropout_' + 'reference')\n"),
    "reads_in_added_cell": _added_cell_at_end(_READS),
    "writes_outside_and_deletes_others": _prefix_first_answer(
        "import shutil\nshutil.rmtree('{course}/submitted', ignore_errors=True)\n"
        "open('scratch_is_fine.txt', 'w').write('my own folder is writable')\n"
        "open('{repo}/escaped.txt', 'w').write('gotcha')\n"),
    "answer_metadata_not_a_dict": _answer_metadata("oops"),
    "answer_grade_id_not_a_string": _answer_grade_id,
    "test_points_not_a_number": _test_points,
    "deeply_nested_expression": _added_cell_at_end("x = " + "(" * 100_000 + "1" + ")" * 100_000),
    "sleeps_near_cell_limit": _added_cell_at_end("import time\ntime.sleep({cell_timeout} - 3)\nprint('awake')"),
    "sys_exit_after_answers": _append_to_first_answer("import sys\nsys.exit(0)\n"),
    "raises_systemexit": _prefix_first_answer("raise SystemExit(3)\n"),
    "raises_keyboardinterrupt": _prefix_first_answer("raise KeyboardInterrupt\n"),
    "os_exit": _prefix_first_answer("import os\nos._exit(1)\n"),
    "kills_kernel_dynamically": _prefix_first_answer("import os\ngetattr(os, '_e' + 'xit')(1)\n"),
    "infinite_loop": _prefix_first_answer("while True:\n    pass\n"),
    "memory_bomb": _prefix_first_answer("_hog = bytearray(40 * 2**30)\n"),
    "spawns_many_processes": _prefix_first_answer(
        "import subprocess\n_children = [subprocess.Popen(['sleep', '600']) for _ in range(2000)]\n"),
    "prints_100_mb": _prefix_first_answer("for _ in range(100):\n    print('x' * 2**20)\n"),
    "prints_200_mb": _prefix_first_answer("for _ in range(200):\n    print('x' * 2**20)\n"),
    "warns_on_stderr": _prefix_first_answer(
        "import sys, warnings\nwarnings.warn('a student warning')\nprint('to stderr', file=sys.stderr)\n"
        "_ = np.log(np.zeros(1))  # RuntimeWarning: divide by zero\n"),
    "displays_in_answer": _prefix_first_answer("from IPython.display import display\ndisplay('hi')\n"),
    # A spreadsheet would run this message as a formula if the export put it at the start of a cell.
    "raises_formula_text": _prefix_first_answer("raise ValueError(\"=cmd|' /C calc'!A0\")\n"),
    "prints_hidden_test_code": _added_cell_at_end("print('\\n'.join(_ih))"),
    "prints_history_reversed": _added_cell_at_end("print('\\n'.join(In)[::-1])"),
    "prints_history_base64": _added_cell_at_end(
        "import base64\nprint(base64.b64encode('\\n'.join(_ih).encode()).decode())"),
    "rewrites_earlier_display": _both(
        _append_to_first_answer("from IPython.display import display\n_handle = display('an early display', "
                                "display_id=True)"),
        _added_cell_at_end("_handle.update('\\n'.join(In))\ndisplay('\\n'.join(In), display_id=_handle.display_id)")),
    # When the collector calls it, the history holds the running test cell, hidden block included.
    "raises_history_in_answer": _append_to_first_answer(
        "def vanilla_dropout_forward(x, p_drop, train, rng=None):\n    raise ValueError('\\n'.join(In)[::-1])"),
    "daemonizes": _added_cell_at_end(_DAEMONS),
    "displays_200_mb": _added_cell_at_end(_DISPLAY_FLOOD),
    "floods_uncounted_output": _prefix_first_answer(_UNCOUNTED_FLOOD),
    "fills_its_disk": _added_cell_at_end(_FILL),
    "edits_test_cell": _edit_test,
    "deletes_test_cells": _delete_tests,
    "duplicates_test_cell": _duplicate_test,
    "retags_test_cell": _retag_test,
    "comment_mentions_reference": _prefix_first_answer(
        "# I did not copy from solutions/dropout_reference, I promise (no gradebook.db either)\n"),
    "extra_cells": _extra_cells,
    "missing_answer_cell": _missing_answer,
    "mask_shared_by_batch": _edit_answer(VANILLA, _MASK_LINE, "rng.random(x.shape[1:]) >= p_drop"),
    "mask_rotating_block": _both(_prefix_first_answer(_ROTATING_BLOCK),
                                 _edit_answer(VANILLA, _MASK_LINE, "_rotating_block(x.shape, p_drop)"),
                                 _edit_answer(INVERTED, _MASK_LINE, "_rotating_block(x.shape, p_drop)")),
    "mask_reseeded_every_call": _edit_answer(INVERTED, _MASK_LINE, "np.random.default_rng(0).random(x.shape) >= p_drop"),
}

FILES = {
    "not_json": lambda: b"{ this is not json",
    "empty_file": lambda: b"",
}


def build(case: str, target: Target) -> bytes:
    """The submitted file for one case."""
    if case in FILES:
        return FILES[case]()
    nb = base_notebook(base_of(case), target.course)
    if case == "nbformat_3":
        return nbformat.writes(nbformat.convert(nb, 3)).encode()
    if case == "nbformat_5":
        raw = json.loads(nbformat.writes(nb))
        raw["nbformat"] = 5
        return json.dumps(raw).encode()
    EDITS[case](nb, target)
    return nbformat.writes(nb).encode()


assert set(EXPECTED) == set(EDITS) | set(FILES) | {"nbformat_3", "nbformat_5"}, "every case has a build"
assert set(FLAGGED) <= set(EXPECTED)
