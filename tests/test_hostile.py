"""The hostile class: every case of ``hostile_catalog`` graded together with honest students.

One module-scoped run grades the whole catalog in parallel, as an instructor would, and every
assertion below reads its results: each case's grade and reason, the honest students
untouched by their neighbours, no submitted file changed, no stray process left, and a
gradebook that a second run leaves as it is.
"""
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from autograder.collect import collect
from autograder.gradebook import Gradebook, default_url
from autograder.grading import GRADED_CACHE, grade_all
from autograder.paths import REPO, SAMPLE_CLASS
from autograder.release import release
from hostile_catalog import EXPECTED, FULL, build
from tree_digest import tree_digest

CELL_TIMEOUT = 20  # seconds; the honest tests need well under one
HONEST = {"honest_alice": ("alice", 6.0), "honest_carol": ("carol", 3.0)}


def sleepers() -> list[int]:
    """Processes left from the case that starts 2000 `sleep 600`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes() == b"sleep\x00600\x00":
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    release(course, assignments=("ch02",))
    lms = tmp_path_factory.mktemp("lms_export")
    for case in EXPECTED:
        (lms / case).mkdir()
        (lms / case / "ch02_exercise.ipynb").write_bytes(build(case, course, REPO))
    for student, (model, _) in HONEST.items():
        (lms / student).mkdir()
        shutil.copy(SAMPLE_CLASS / model / "exercise.ipynb", lms / student / "ch02_exercise.ipynb")
    lms_before = tree_digest(lms)
    collected = collect(lms, course)
    submitted_before = tree_digest(course / "submitted")
    book = Gradebook(default_url(course))
    start = time.perf_counter()
    counts = grade_all(course, book, jobs=2, cell_timeout=CELL_TIMEOUT)
    seconds = time.perf_counter() - start
    print(f"\nhostile class: {len(collected)} notebooks graded in {seconds:.0f} s on 2 jobs")
    return {"course": course, "book": book, "rows": {r["student"]: r for r in book.rows()}, "counts": counts,
            "collected": collected, "lms": lms, "lms_before": lms_before, "submitted_before": submitted_before}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_hostile_case_gets_its_grade_and_reason(hostile, case):
    expected_points, words = EXPECTED[case]
    functions = hostile["rows"][case]["functions"]
    assert {f: i["points"] for f, i in functions.items()} == expected_points, {f: i["reason"] for f, i in functions.items()}
    for function, info in functions.items():
        if info["points"] < info["max_points"]:
            assert words in info["reason"], f"{case}/{function}: {info['reason']!r}"


def test_honest_students_are_graded_as_usual(hostile):
    for student, (_, score) in HONEST.items():
        assert hostile["rows"][student]["score"] == score


def test_every_submission_graded_once_and_the_gradebook_adds_up(hostile):
    rows = hostile["book"].rows()
    assert sorted(r["student"] for r in rows) == sorted([*EXPECTED, *HONEST])
    for row in rows:
        assert row["score"] == sum(i["points"] for i in row["functions"].values())
        assert row["max_score"] == sum(FULL.values())
    assert grade_all(hostile["course"], hostile["book"], jobs=2, cell_timeout=CELL_TIMEOUT) == {
        "graded": 0, "unchanged": len(rows)}


def test_no_submitted_file_changed_and_nothing_escaped(hostile):
    assert tree_digest(hostile["lms"]) == hostile["lms_before"]
    assert tree_digest(hostile["course"] / "submitted") == hostile["submitted_before"]
    assert not (REPO / "escaped.txt").exists()


def test_no_process_outlives_its_kernel(hostile):
    deadline = time.time() + 10
    while sleepers() and time.time() < deadline:
        time.sleep(0.5)
    assert sleepers() == []


def test_runaway_output_is_trimmed_in_the_kept_notebook(hostile):
    kept = hostile["course"] / GRADED_CACHE / "prints_100_mb" / "ch02.ipynb"
    assert kept.stat().st_size < 1_000_000
    assert "cut by the grader" in "".join(
        o.get("text", "") for c in nbformat.read(kept, as_version=4).cells for o in c.get("outputs", []))


def test_a_sandboxed_kernel_cannot_see_the_course(hostile):
    """The obfuscated read of the gradebook failed because the course folder is hidden, not missing."""
    assert "FileNotFoundError" in hostile["rows"]["reads_gradebook_obfuscated"]["functions"]["vanilla_dropout_forward"]["reason"]
    assert (hostile["course"] / "gradebook.db").exists()
    reason = hostile["rows"]["reads_gradebook_obfuscated"]["functions"]["vanilla_dropout_forward"]["reason"]
    assert str(hostile["course"]) in reason


def test_process_cap_stopped_the_spawner(hostile):
    """Root grading caps processes with a pids cgroup, others with RLIMIT_NPROC: both say EAGAIN."""
    reason = hostile["rows"]["spawns_many_processes"]["functions"]["vanilla_dropout_forward"]["reason"]
    assert "Resource temporarily unavailable" in reason or "BlockingIOError" in reason, reason
