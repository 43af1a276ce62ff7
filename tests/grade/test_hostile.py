"""The hostile class: every case of ``hostile_catalog`` graded together with honest students.

One module-scoped run grades the whole catalog in parallel (``grade_all``, 2 jobs), as an
instructor would, and every assertion below reads its results: each case's points and reason,
the screening's flags, the honest students untouched by their neighbours, no submitted file
changed, nothing written outside a kernel's own folder, no stray process, no network
connection, the gradebooks intact, feedback pages that show none of the grader's internals, a
CSV no spreadsheet runs, and a gradebook that a second run leaves as it is.

A failing assertion here is a hole in the grader, not a flaky test: fix the grader, never the
expectation (unless the expectation itself was unfair; then say why next to it).
"""
import base64
import contextlib
import csv
import hashlib
import json
import shutil
import socket
import sqlite3
import time
from pathlib import Path

import nbformat
import pytest

from autograder.collect import collect, safe_id
from autograder.course.gradebook import Gradebook, default_url
from autograder.grade.pipeline import grade_all
from autograder.course.layout import GRADED_CACHE, REPO, SAMPLE_CLASS
from autograder.release.notebooks import release
from autograder.export.grades import export
from autograder.feedback.pages import feedback, page_stem
from hostile_catalog import COLLECTED_MIME, EXPECTED, FILL_BYTES, FILLED, FLAGGED, FULL, PROBE, SEEN, Target, build
from tree_digest import tree_digest

CELL_TIMEOUT = 20  # seconds; the honest tests need well under one
# LMS folder -> (sample notebook copied, score). "=HYPERLINK(1)" is a name a spreadsheet would run.
HONEST = {"honest_alice": ("alice", 6.0), "honest_carol": ("carol", 3.0), "=HYPERLINK(1)": ("alice", 6.0)}
NOT_ON_FEEDBACK = ("BEGIN HIDDEN TESTS", "collect.forward", "dropout_collect", COLLECTED_MIME)
FORMULA_START = ("=", "+", "-", "@")
GRADER_CRASH = "the grader could not grade"
LEFTOVERS = {b"sleep\x00600\x00", b"sleep\x00601\x00", b"sleep\x00602\x00"}  # spawned and daemonized by cases


def encoded(marker: str) -> list[str]:
    """The marker as the leaking cases print it: plain, reversed, and in base64 at each of its 3 alignments."""
    forms = [marker, marker[::-1]]
    for shift in range(3):
        coded = base64.b64encode(("x" * shift + marker).encode()).decode()
        forms.append(coded[4:-4])  # the part that does not depend on what surrounds the marker
    return forms


def sleepers() -> list[int]:
    """Processes left from the cases that start 2000 `sleep 600` or daemons (`sleep 601`, `sleep 602`)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes() in LEFTOVERS:
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def host_addresses() -> tuple[str, ...]:
    """Loopback and this machine's own addresses: a kernel must reach none of them."""
    found = {"127.0.0.1"}
    with contextlib.suppress(OSError):
        found |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    return tuple(sorted(found))


def kept(course: Path, student: str) -> nbformat.NotebookNode:
    return nbformat.read(course / GRADED_CACHE / student / "ch02.ipynb", as_version=4)


def printed(nb: nbformat.NotebookNode, prefix: str) -> dict:
    """The JSON a case's own cell printed on a line starting with ``prefix``."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(prefix):
                    return json.loads(line[len(prefix):])
    raise AssertionError(f"no line starting with {prefix!r} in the kept notebook")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, request):
    course = tmp_path_factory.mktemp("course")
    release(course, assignments=("ch02",))
    listener = socket.create_server(("0.0.0.0", 0), backlog=64)  # what no kernel may reach
    target = Target(course=course, repo=REPO, port=listener.getsockname()[1], cell_timeout=CELL_TIMEOUT,
                    addresses=host_addresses())
    lms = tmp_path_factory.mktemp("lms_export")
    for case in EXPECTED:
        (lms / case).mkdir()
        (lms / case / "ch02_exercise.ipynb").write_bytes(build(case, target))
    for student, (model, _) in HONEST.items():
        (lms / student).mkdir()
        shutil.copy(SAMPLE_CLASS / model / "exercise.ipynb", lms / student / "ch02_exercise.ipynb")
    lms_before = tree_digest(lms)
    collected = collect(lms, course)
    sentinel = course / "sentinel.txt"
    sentinel.write_text("the instructor's own notes")
    before = {"submitted": tree_digest(course / "submitted"), "sentinel": sha256(sentinel),
              "gradebook.db": sha256(course / "gradebook.db"), "passwd": sha256(Path("/etc/passwd")),
              "source": tree_digest(course / "source"), "release": tree_digest(course / "release")}
    book = Gradebook(default_url(course))
    start = time.perf_counter()
    counts = grade_all(course, book, jobs=2, cell_timeout=CELL_TIMEOUT)
    seconds = time.perf_counter() - start
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\nhostile class: {len(collected)} notebooks graded in {seconds:.0f} s on 2 jobs")
    yield {"course": course, "book": book, "rows": {r["student"]: r for r in book.rows()}, "counts": counts,
           "collected": collected, "lms": lms, "lms_before": lms_before, "before": before, "listener": listener,
           "target": target, "seconds": seconds}
    listener.close()


def reasons(row: dict) -> dict:
    return {f: i["reason"] for f, i in row["functions"].items()}


def code_flags(row: dict) -> list[str]:
    """The screening's flags about code (not, say, about a missing answer cell)."""
    return [f for f in row["flags"] if " names '" in f or ": it " in f]


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_hostile_case_gets_its_grade_and_reason(hostile, case):
    expected_points, words = EXPECTED[case]
    row = hostile["rows"][case]
    functions = {f: row["functions"][f] for f in expected_points if f in row["functions"]}
    assert {f: i["points"] for f, i in functions.items()} == expected_points, reasons(row)
    for function, info in functions.items():
        assert GRADER_CRASH not in info["reason"], f"{case}/{function}: {info['reason']!r}"
        wanted = words.get(function) if isinstance(words, dict) else words
        if info["points"] < info["max_points"] and wanted is not None:
            options = (wanted,) if isinstance(wanted, str) else wanted
            assert any(w in info["reason"] for w in options), f"{case}/{function}: {info['reason']!r}"


@pytest.mark.parametrize("case", sorted(FLAGGED))
def test_screening_flags_what_it_can_see_and_only_that(hostile, case):
    row = hostile["rows"][case]
    if FLAGGED[case]:
        assert row["flags"], row
    else:  # nothing about its code (comments are not code)
        assert code_flags(row) == [], row["flags"]


def test_honest_students_are_graded_as_usual(hostile):
    for student, (_, score) in HONEST.items():
        row = hostile["rows"][safe_id(student)]
        assert sum(row["functions"][f]["points"] for f in FULL) == score, reasons(row)
        assert code_flags(row) == [], row["flags"]


def test_every_submission_graded_once_and_the_gradebook_adds_up(hostile):
    rows = hostile["book"].rows()
    assert sorted(r["student"] for r in rows) == sorted([*EXPECTED, *map(safe_id, HONEST)])
    assert hostile["counts"] == {"graded": len(rows), "unchanged": 0, "stopped": [], "not_graded": []}
    for row in rows:
        assert row["score"] == sum(i["points"] for i in row["functions"].values())
        assert row["max_score"] == sum(i["max_points"] for i in row["functions"].values()) >= sum(FULL.values())
        assert set(FULL) <= set(row["functions"])
    assert grade_all(hostile["course"], hostile["book"], jobs=2, cell_timeout=CELL_TIMEOUT) == {
        "graded": 0, "unchanged": len(rows), "stopped": [], "not_graded": []}


def test_no_submitted_file_changed_and_nothing_escaped(hostile):
    course, before = hostile["course"], hostile["before"]
    assert tree_digest(hostile["lms"]) == hostile["lms_before"]
    assert tree_digest(course / "submitted") == before["submitted"]
    assert tree_digest(course / "source") == before["source"]
    assert tree_digest(course / "release") == before["release"]
    assert sha256(course / "sentinel.txt") == before["sentinel"]
    assert sha256(Path("/etc/passwd")) == before["passwd"]
    assert not (REPO / "escaped.txt").exists()
    assert not any(course.rglob("scratch_is_fine.txt")) and not any(REPO.glob("scratch_is_fine.txt"))


def test_no_process_outlives_its_kernel(hostile):
    deadline = time.time() + 10
    while sleepers() and time.time() < deadline:
        time.sleep(0.5)
    assert sleepers() == []


def test_both_gradebooks_survive_the_symlink_swap(hostile):
    """The kernel linked its own files to the course's databases: the grader never followed a link."""
    course = hostile["course"]
    assert sha256(course / "gradebook.db") == hostile["before"]["gradebook.db"]
    with contextlib.closing(sqlite3.connect(course / "results.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    book = Gradebook(default_url(course))  # read and written like any other day
    probe = {"student": "zz_probe", "assignment": "ch02", "sha256": "0" * 64, "score": 0.0, "max_score": 6.0,
             "functions": {}, "flags": []}
    book.record(probe)
    assert any(r["student"] == "zz_probe" for r in book.rows())
    with contextlib.closing(sqlite3.connect(course / "results.db")) as db, db:
        db.execute("DELETE FROM results WHERE student = 'zz_probe'")
    assert len(book.rows()) == len(EXPECTED) + len(HONEST)
    assert "symlink_swap" in hostile["rows"] and kept(course, "symlink_swap").cells


def test_no_kernel_reached_the_network_or_another_kernel(hostile):
    listener = hostile["listener"]
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):  # nothing waits in the backlog: no connection was ever made
        listener.accept()
    report = printed(kept(hostile["course"], "probes_kernels_and_network"), PROBE)
    assert set(report["found"]) <= {report["own"]}, report["found"]
    assert report["connect"] and not any(r == "connected" for r in report["connect"].values()), report["connect"]
    assert set(report["mentioned"]) <= {report["own"]}, report["mentioned"]  # no other kernel is even visible
    assert report["pids"] < 10, report


def test_a_sandboxed_kernel_sees_only_its_software(hostile):
    seen = printed(kept(hostile["course"], "reads_in_added_cell"), SEEN)
    for secret in ("hidden_tests", "gradebook", "results", "reference", "checker", "git_config"):
        assert seen[secret] == ["error", "FileNotFoundError"], (secret, seen[secret])
    assert seen["course"] in ([], ["error", "FileNotFoundError"])  # hidden: an empty folder at most
    names = {key: sorted(bytes.fromhex(n).decode() for n in seen[key]) for key in ("repo", "solutions", "tmp")}
    assert set(names["repo"]) <= {".venv", "kit", "solutions"}, names["repo"]
    # The hidden exercise sources are an empty mount point; the reference and the checker are not there.
    assert set(names["solutions"]) <= {"dropout_collect", "exercises"}, names["solutions"]
    assert seen["exercises"] in ([], ["error", "FileNotFoundError"]), seen["exercises"]
    # In /tmp: the way to its own kernel folder, the (empty) mount point hiding a course kept under
    # /tmp, and the way to the venv and the kit when the project itself lives there.
    allowed = {Path(seen["own"]).relative_to("/tmp").parts[0]}
    for there in (hostile["course"], REPO):  # a course, or a clone of the project, kept under /tmp
        if there.is_relative_to("/tmp"):
            allowed.add(there.relative_to("/tmp").parts[0])
    assert set(names["tmp"]) <= allowed, names["tmp"]


def test_failed_reads_name_the_path_they_tried(hostile):
    """The obfuscated read of the gradebook failed because the course folder is hidden, not missing."""
    reason = hostile["rows"]["reads_gradebook_obfuscated"]["functions"]["vanilla_dropout_forward"]["reason"]
    assert str(hostile["course"]) in reason


def test_runaway_output_is_trimmed_in_the_kept_notebook(hostile):
    path = hostile["course"] / GRADED_CACHE / "prints_100_mb" / "ch02.ipynb"
    assert path.stat().st_size < 1_000_000
    outputs = [o for c in nbformat.read(path, as_version=4).cells for o in c.get("outputs", [])]
    kept_text = "".join(o.get("text", "") for o in outputs)
    # The student is told: the text was cut, or dropped past the grader's output budget.
    assert "cut by the grader" in kept_text or "dropped output past its size limit" in kept_text


def test_runaway_display_output_is_trimmed_too(hostile):
    """200 MB of `display(...)` output is as runaway as 200 MB of prints: the course must not keep it."""
    path = hostile["course"] / GRADED_CACHE / "displays_200_mb" / "ch02.ipynb"
    assert path.stat().st_size < 1_000_000, f"kept notebook of {path.stat().st_size / 1e6:.0f} MB"


def test_uncounted_output_is_counted_and_the_kept_notebook_stays_small(hostile):
    """Metadata, transient, a display update fanned out onto 100 outputs, many-frame messages: all counted."""
    from autograder.grade.limits import KEPT_NOTEBOOK_LIMIT, NOTEBOOK_OUTPUT_LIMIT

    path = hostile["course"] / GRADED_CACHE / "floods_uncounted_output" / "ch02.ipynb"
    assert path.stat().st_size <= min(KEPT_NOTEBOOK_LIMIT, NOTEBOOK_OUTPUT_LIMIT)
    notes = "".join(o.get("text", "") for c in kept(hostile["course"], "floods_uncounted_output").cells
                    for o in c.get("outputs", []))
    assert "dropped output past its size limit" in notes


def test_a_kernel_cannot_fill_the_grading_machines_disk_or_memory(hostile):
    """Writing past the kernel's budget is stopped: by an error, or by the end of the kernel."""
    nb = kept(hostile["course"], "fills_its_disk")
    try:
        filled = printed(nb, FILLED)
    except AssertionError:  # the kernel was stopped in the middle of the cell (its tests had run: 6/6)
        cell = next(c for c in nb.cells if FILLED in c.source)
        assert not any(o.get("name") == "stdout" for o in cell.outputs), cell.outputs
    else:
        assert filled["bytes"] < FILL_BYTES, filled


def test_the_deep_cell_fails_alone(hostile):
    deep = [c for c in kept(hostile["course"], "deeply_nested_expression").cells if c.source.startswith("x = ((")]
    assert len(deep) == 1 and [o.get("ename") for o in deep[0].outputs] == ["SyntaxError"]


def test_exported_csv_runs_no_formula(hostile, tmp_path):
    assert not safe_id("=HYPERLINK(1)").startswith(FORMULA_START)
    files = export(hostile["book"].rows(), tmp_path / "export")
    with open(files["csv"], newline="", encoding="utf-8") as fh:
        cells = [cell for line in csv.reader(fh) for cell in line]
    assert not [c for c in cells if c.startswith(FORMULA_START)]
    assert any("=cmd|" in c for c in cells)  # the student's message did reach a reason, defused


@pytest.mark.parametrize("case", ["prints_hidden_test_code", "prints_history_reversed", "prints_history_base64",
                                  "rewrites_earlier_display"])
def test_the_leaking_cases_did_get_the_hidden_code(hostile, case):
    """The leaks are real: the kept notebook (instructor side) holds the hidden block, as each case encoded it."""
    notebook = kept(hostile["course"], case)
    assert any(form in nbformat.writes(notebook) for form in encoded("BEGIN HIDDEN TESTS")), case
    if case == "rewrites_earlier_display":  # but the display made before any hidden code ran is as it was
        answer = next(c for c in notebook.cells if "_handle = display(" in c.source)
        assert [o.get("data", {}).get("text/plain") for o in answer.outputs] == ["'an early display'"]


def test_feedback_pages_show_none_of_the_grader_internals(hostile, tmp_path):
    """No page shows the hidden test code, the collectors or their data, whatever a case printed.

    `prints_hidden_test_code` and its variants print IPython's input history (`_ih`, `In`), which
    holds the hidden test cells as the kernel ran them, plainly, reversed or in base64, or write it
    into an earlier display, or raise it as an answer's exception message. A page shows no output
    of a cell that ran after the first hidden test and no text of the student's in a reason, so
    no encoding gets through (the collectors' source is readable in the sandbox, but no case
    prints it).
    """
    course, rows = hostile["course"], hostile["book"].rows()
    out = tmp_path / "feedback"
    feedback(rows, course, out)
    leaks = {}
    for case in EXPECTED:
        pages = [out / f"{page_stem(case)}.html", *sorted((out / page_stem(case)).glob("*.html"))]
        assert pages[0].is_file()
        text = "".join(p.read_text(encoding="utf-8") for p in pages)
        found = [form for marker in NOT_ON_FEEDBACK for form in encoded(marker) if form in text]
        if found:
            leaks[case] = found
    assert leaks == {}
