"""The instructor's pipeline on the shipped sample class: release, collect, grade, export.

One module-scoped run (about a minute on two cores) feeds every assertion below.
"""
import csv
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import collect as collect_mod
from autograder.course.gradebook import Gradebook, default_url
from autograder.grade.pipeline import grade_all, grade_submission as grade_one
from autograder.course.layout import ASSIGNMENTS, CHAPTERS, REPO, SAMPLE_CLASS, tool_env
from autograder.release.notebooks import release, student_notebook_for_book
from autograder.export.grades import export
from autograder.feedback.pages import feedback
from autograder.sample.build_class import EXPECTED_LOSSES, STUDENTS, submission
from autograder.release.sources import points_by_function
from tree_digest import tree_digest

FULL_MARKS = {s for s, (_, _, edits) in STUDENTS.items() if edits == []}


def comparable(rows) -> list[dict]:
    """Gradebook rows without what differs between runs (timestamps, row ids)."""
    return [{k: r[k] for k in ("student", "assignment", "sha256", "score", "max_score", "functions")} for r in rows]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    release(course)
    before = tree_digest(SAMPLE_CLASS)
    collected = collect_mod.collect(SAMPLE_CLASS, course)
    book = Gradebook(default_url(course))
    counts = grade_all(course, book, jobs=2)
    rows = {r["student"].lower(): r for r in book.rows()}
    return {"course": course, "book": book, "rows": rows, "counts": counts, "collected": collected,
            "sample_digest_before": before}


def test_every_sample_submission_is_collected_and_graded(graded):
    assert len(graded["collected"]) == len(STUDENTS)
    assert set(graded["rows"]) == set(STUDENTS)
    assert graded["counts"]["graded"] == len(STUDENTS)


@pytest.mark.parametrize("student", sorted(FULL_MARKS))
def test_full_solutions_score_full_marks(graded, student):
    row = graded["rows"][student]
    lost = {f: i["reason"] for f, i in row["functions"].items() if i["points"] < i["max_points"]}
    assert row["score"] == row["max_score"] > 0, lost


@pytest.mark.parametrize("student", sorted(EXPECTED_LOSSES))
def test_each_mistake_loses_exactly_the_function_it_breaks(graded, student):
    row = graded["rows"][student]
    lost = {f for f, i in row["functions"].items() if i["points"] < i["max_points"]}
    assert lost == EXPECTED_LOSSES[student], {f: row["functions"][f]["reason"] for f in lost}
    for function in lost:
        reason = row["functions"][function]["reason"]
        assert reason and "Traceback" not in reason, f"{student}/{function}: reason should be words, got {reason!r}"


def test_untouched_stubs_score_zero_and_say_not_implemented(graded):
    for student in ("bob", "trent"):
        row = graded["rows"][student]
        assert row["score"] == 0
        assert all("not implemented" in i["reason"] for i in row["functions"].values())


@pytest.mark.parametrize("student,words", [("carol", "1/(1-p_drop)"), ("dave", "evaluation mode"),
                                           ("erin", "DROPPING"), ("ivan", "kept or dropped as a whole"),
                                           ("ken", "evaluation mode"), ("leo", "closed on the right"),
                                           ("oscar", "model.eval()")])
def test_feedback_names_the_failing_property(graded, student, words):
    reasons = " ".join(i["reason"] for i in graded["rows"][student]["functions"].values())
    assert words in reasons, reasons


def test_points_follow_the_source_notebooks(graded):
    for row in graded["rows"].values():
        assert {f: i["max_points"] for f, i in row["functions"].items()} == points_by_function(row["assignment"])


def test_grading_again_is_idempotent_and_identical(graded):
    course, book = graded["course"], graded["book"]
    assert grade_all(course, book, jobs=2) == {"graded": 0, "unchanged": len(STUDENTS), "stopped": [], "not_graded": []}
    for student in ("alice", "carol", "ken"):
        assignment = STUDENTS[student][0]
        notebook = course / "submitted" / student / assignment / "exercise.ipynb"
        again = grade_one(course, student, assignment, notebook)
        first = graded["rows"][student]
        assert (again["score"], again["functions"], again["sha256"]) == (first["score"], first["functions"], first["sha256"])


def test_no_submission_file_is_changed(graded):
    assert tree_digest(SAMPLE_CLASS) == graded["sample_digest_before"]


def test_exports_and_feedback(graded, tmp_path):
    rows = graded["book"].rows()
    carol_id = next(r["student"] for r in rows if r["student"].lower() == "carol")
    paths = export(rows, tmp_path / "export", names={carol_id: "Carol Ng"})  # the roster's names, by id
    lines = paths["csv"].read_text().splitlines()
    assert lines[0].startswith("student,name,assignment,function,points,max_points,reason")
    assert len(lines) == 1 + sum(len(r["functions"]) + len(r["written"]) for r in rows)
    named = {(line["student"], line["name"]) for line in csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8")))}
    assert {n for s, n in named if s == carol_id} == {"Carol Ng"} and {n for s, n in named if s != carol_id} == {""}
    summary = json.loads(paths["json"].read_text())
    assert {s["student"].lower() for s in summary} == set(STUDENTS)
    assert {s["student"]: s.get("name") for s in summary if "name" in s} == {carol_id: "Carol Ng"}
    assert paths["plot"].stat().st_size > 1000
    pages = feedback(rows, graded["course"], tmp_path / "feedback")
    carol = (tmp_path / "feedback" / "carol.html").read_text()
    assert len(pages) == len(STUDENTS) and "1/(1-p_drop)" in carol and "notebook.html" in carol


def test_student_notebooks_in_the_book_match_a_fresh_release(graded):
    for assignment, chapter in ASSIGNMENTS.items():
        fresh = student_notebook_for_book(graded["course"] / "release" / assignment / "exercise.ipynb")
        committed = nbformat.read(CHAPTERS / chapter / "exercise.ipynb", as_version=4)
        assert [c.source for c in committed.cells] == [c.source for c in fresh.cells], (
            f"chapters/{chapter}/exercise.ipynb is out of date: run `dropout-grader release --sync-book`")
        assert any("# YOUR CODE HERE" in c.source for c in fresh.cells)
        assert not any("BEGIN HIDDEN TESTS" in c.source or "BEGIN SOLUTION" in c.source for c in fresh.cells)


def test_shipped_sample_class_matches_its_generator(graded):
    for student, (assignment, filename, edits) in STUDENTS.items():
        path = (SAMPLE_CLASS / f"{student.capitalize()}_{assignment}_exercise (1).ipynb" if filename is None
                else SAMPLE_CLASS / student / filename)
        fresh = submission(graded["course"] / "release" / assignment / "exercise.ipynb", assignment, edits)
        assert [c.source for c in nbformat.read(path, as_version=4).cells] == [c.source for c in fresh.cells], student


@pytest.fixture(scope="module")
def validated(graded):
    """`nbgrader validate` of every source notebook and `--invert` of every released one, one command for each
    kind (a command per notebook paid nbgrader's start-up 16 times): path -> what the command said about it."""
    course, said = graded["course"], {}
    for folder, flags in (("source", []), ("release", ["--invert"])):
        paths = [str(course / folder / assignment / "exercise.ipynb") for assignment in ASSIGNMENTS]
        # unbuffered, with stderr in the same pipe: each result follows the log line naming its notebook
        run = subprocess.run(["nbgrader", "validate", *flags, *paths], cwd=course, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env={**tool_env(), "PYTHONUNBUFFERED": "1"}, text=True)
        parts = re.split(r"^\[ValidateApp \| INFO\] Validating '(.*)'$", run.stdout, flags=re.MULTILINE)
        said.update(dict(zip(parts[1::2], parts[2::2])))
        said.update({path: f"not validated; the command said:\n{run.stdout[-2000:]}" for path in paths if path not in said})
    return said


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_nbgrader_validate_passes_solutions_and_fails_stubs(graded, validated, assignment):
    course = graded["course"]
    ok = validated[str(course / "source" / assignment / "exercise.ipynb")]
    assert "Success! Your notebook passes all the tests." in ok, ok[-2000:]
    inverted = validated[str(course / "release" / assignment / "exercise.ipynb")]
    assert "Success! The notebook does not pass any tests." in inverted, inverted[-2000:]


def test_collect_reads_an_lms_zip_and_explains_bad_input(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(SAMPLE_CLASS / "alice" / "exercise.ipynb", "class/alice/whatever name.ipynb")
        zf.write(SAMPLE_CLASS / "heidi" / "exercise.ipynb", "class/heidi/exercise.ipynb")
    got = collect_mod.collect(archive, tmp_path / "course")
    assert sorted((s, a) for s, a, _ in got) == [("alice", "ch02"), ("heidi", "ch05")]
    with pytest.raises(collect_mod.CollectError, match="does not exist"):
        collect_mod.collect(tmp_path / "missing", tmp_path / "course")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(collect_mod.CollectError, match="neither a folder nor a .zip"):
        collect_mod.collect(tmp_path / "notes.txt", tmp_path / "course")


def test_invalid_notebook_gets_zero_with_a_reason(graded, tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ not json")
    result = grade_one(graded["course"], "mallet", "ch02", bad)
    assert result["score"] == 0 and all("not a notebook" in i["reason"] for i in result["functions"].values())


def test_cli_help_explains_every_step():
    for step in ("release", "collect", "grade", "feedback", "export", "sample", "check", "manual", "report",
                 "similarity", "deadlines"):
        out = subprocess.run(["dropout-grader", step, "--help"], env=tool_env(), capture_output=True, text=True)
        assert out.returncode == 0 and "usage: dropout-grader" in out.stdout and len(out.stdout) > 200


def test_postgresql_gradebook_gives_the_same_grades_as_sqlite(graded):
    from pg_server import postgres_server

    with postgres_server() as url:
        pg = Gradebook(url)
        assert grade_all(graded["course"], pg, jobs=2)["graded"] == len(STUDENTS)
        assert comparable(pg.rows()) == comparable(graded["book"].rows())
        pg.engine.dispose()


def test_the_reference_cannot_be_imported_and_the_attempt_is_flagged(graded, tmp_path):
    """The sandbox hides the reference: the import fails in the student's cell, which costs that cell's function;
    the static screening flags it for the instructor, and changes no point by itself."""
    nb = nbformat.read(SAMPLE_CLASS / "alice" / "exercise.ipynb", as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = "from dropout_reference import vanilla_dropout_forward\n" + answer.source
    path = tmp_path / "copycat.ipynb"
    nbformat.write(nb, path)
    result = grade_one(graded["course"], "copycat", "ch02", path)
    assert result["functions"]["vanilla_dropout_forward"]["points"] == 0
    assert "No module named 'dropout_reference'" in result["functions"]["vanilla_dropout_forward"]["reason"]
    assert result["functions"]["inverted_dropout_forward"]["points"] == 3
    assert any("dropout_reference" in flag for flag in result["flags"])


def _with_first_answer_prefixed(tmp_path, name, prefix):
    nb = nbformat.read(SAMPLE_CLASS / "alice" / "exercise.ipynb", as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = prefix + answer.source
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_memory_bomb_costs_only_its_own_exercise(graded, tmp_path):
    path = _with_first_answer_prefixed(tmp_path, "bomb", "hog = bytearray(40 * 2**30)\n")
    result = grade_one(graded["course"], "bomber", "ch02", path)
    assert result["functions"]["vanilla_dropout_forward"]["points"] == 0
    assert result["functions"]["inverted_dropout_forward"]["points"] == 3


def test_infinite_loop_is_stopped_and_the_rest_still_graded(graded, tmp_path):
    path = _with_first_answer_prefixed(tmp_path, "hang", "while True:\n    pass\n")
    result = grade_one(graded["course"], "looper", "ch02", path, cell_timeout=5)
    assert result["functions"]["vanilla_dropout_forward"]["points"] == 0
    assert result["functions"]["inverted_dropout_forward"]["points"] == 3


def test_grading_on_a_tls_dask_cluster_gives_the_same_gradebook(graded, tmp_path):
    from distributed import Client, LocalCluster
    from distributed.security import Security

    security = Security.temporary()  # a throwaway CA; every connection needs its certificate
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      protocol="tls://", security=security) as cluster:
        assert cluster.scheduler_address.startswith("tls://")
        with pytest.raises(OSError):  # a certificate from another CA, no cluster
            Client(cluster.scheduler_address, security=Security.temporary(), timeout=3)
        book = Gradebook(f"sqlite:///{tmp_path / 'dask.db'}")
        counts = grade_all(graded["course"], book, scheduler=cluster.scheduler_address, security=security)
    assert counts["graded"] == len(STUDENTS)
    assert comparable(book.rows()) == comparable(graded["book"].rows())


def test_sigkill_mid_class_loses_nothing_and_resumes(graded, tmp_path):
    import os
    import signal
    import time

    course = tmp_path / "course"
    shutil.copytree(graded["course"], course, ignore=shutil.ignore_patterns("results.db", "graded_notebooks"))
    command = ["dropout-grader", "grade", "--course", str(course), "--jobs", "2"]
    first = subprocess.Popen(command, env=tool_env(), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    book = Gradebook(default_url(course))
    deadline = time.time() + 600
    while len(book.rows()) < 3 and time.time() < deadline:
        time.sleep(0.5)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    _wait_until_group_gone(first.pid)
    partial = len(book.rows())
    assert 3 <= partial < len(STUDENTS), "the kill should land in the middle of the class"
    again = subprocess.run(command, env=tool_env(), capture_output=True, text=True)
    assert f"graded {len(STUDENTS) - partial} submission(s)" in again.stdout, again.stdout + again.stderr[-2000:]
    # What the killed run's workers could not clean up, the next run did: scratch folders and cgroups.
    import tempfile

    from autograder.grade.pipeline import SCRATCH_PREFIX
    from autograder.grade.limits import GROUP_PREFIX, _hierarchies, owner_alive

    assert all(owner_alive(p.name, SCRATCH_PREFIX) for p in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"))
    for hierarchy in _hierarchies().values():
        assert all(owner_alive(g.name, GROUP_PREFIX) for g in hierarchy.glob(f"{GROUP_PREFIX}*"))
    assert comparable(book.rows()) == comparable(graded["book"].rows())


def _wait_until_group_gone(group: int, seconds: float = 60) -> None:
    """SIGKILL is asynchronous: the killed run's workers may still be exiting (or unreaped)."""
    import time

    from autograder.grade.limits import process_alive

    deadline = time.time() + seconds
    while time.time() < deadline:
        members = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            if int(fields[2]) == group and process_alive(int(stat.parent.name)):
                members.append(stat.parent.name)
        if not members:
            return
        time.sleep(0.2)
    raise AssertionError(f"processes of the killed grader still running: {members}")


def test_check_grades_one_notebook_with_the_hidden_tests():
    """`dropout-grader check` (and `run.py check`) for self-learners: points and reasons in words."""
    filled = subprocess.run(["dropout-grader", "check", str(SAMPLE_CLASS / "carol" / "exercise.ipynb")],
                            env=tool_env(), capture_output=True, text=True)
    assert filled.returncode == 0, filled.stderr[-2000:]
    assert "ch02: 3 / 6 points" in filled.stdout and "1/(1-p_drop)" in filled.stdout
    stub = subprocess.run(["dropout-grader", "check", str(CHAPTERS / "02_vanilla_vs_inverted" / "exercise.ipynb")],
                          env=tool_env(), capture_output=True, text=True)
    assert "0 / 6 points" in stub.stdout and stub.stdout.count("not implemented yet") == 2
    assert "still a stub" in stub.stdout
    odd = subprocess.run(["dropout-grader", "check", "/nonexistent.ipynb"], env=tool_env(), capture_output=True, text=True)
    assert odd.returncode != 0 and "not a file" in odd.stderr


def test_run_py_check_reads_a_relative_path_from_the_callers_folder(tmp_path):
    """A student in their own folder types `python3 ../course/run.py check mine.ipynb`: that file is graded."""
    shutil.copy(SAMPLE_CLASS / "carol" / "exercise.ipynb", tmp_path / "mine_ch02.ipynb")
    run = subprocess.run([sys.executable, str(REPO / "run.py"), "check", "mine_ch02.ipynb"], cwd=tmp_path,
                         env=tool_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ch02: 3 / 6 points" in run.stdout


def test_class_report_of_the_sample_class_counts_every_planted_mistake(graded, tmp_path):
    """`dropout-grader report`: each mistake of EXPECTED_LOSSES is a reason group naming its students, with the
    count of planted students whose reason reads the same (numbers aside); the zeroed ones are listed."""
    import html

    from autograder.report.class_report import normalise_reason, reason_groups, write_reports

    rows = graded["book"].rows()
    pages = {p.stem: p.read_text() for p in write_reports(rows, graded["course"], tmp_path / "report")}
    assert set(pages) == {a for a, _, _ in STUDENTS.values()}
    by_student = {r["student"].lower(): r for r in rows}
    for student, functions in EXPECTED_LOSSES.items():
        assignment = STUDENTS[student][0]
        groups = reason_groups([r for r in rows if r["assignment"] == assignment])
        for function in functions:
            pattern = normalise_reason(by_student[student]["functions"][function]["reason"].removeprefix(f"{function}: "))
            group = next(g for g in groups if g.function == function and student in g.students)
            planted = {s for s, lost in EXPECTED_LOSSES.items() if STUDENTS[s][0] == assignment and function in lost
                       and normalise_reason(by_student[s]["functions"][function]["reason"]
                                            .removeprefix(f"{function}: ")) == pattern}
            assert group.count == len(planted) and set(group.students) == planted, (student, function)
            label = f"{group.count} student{'' if group.count == 1 else 's'}"
            assert f"<strong>{label}</strong>: {html.escape(group.example)}" in pages[assignment], (student, function)
    zeroed = {s for s, r in by_student.items() if r["score"] == 0}
    assert zeroed == {"bob", "erin", "grace", "trent"}
    for student in zeroed:
        assert f"<tr><td>{student}</td><td>" in pages[STUDENTS[student][0]]
    assert all("notebooks timed" in page for page in pages.values())  # grade_all now records seconds


def test_a_zombie_owner_counts_as_gone():
    """A killed worker nobody has reaped yet can never clean up: its scratch folder is stale."""
    import os
    import time

    from autograder.grade.limits import owner_alive

    child = subprocess.Popen(["true"])
    deadline = time.time() + 10
    while owner_alive(f"g-{child.pid}-x", "g-") and time.time() < deadline:
        time.sleep(0.05)  # exited but not yet waited for: a zombie
    assert Path(f"/proc/{child.pid}").exists(), "the child should still be an unreaped zombie"
    assert not owner_alive(f"g-{child.pid}-x", "g-")
    child.wait()
    assert owner_alive(f"g-{os.getpid()}-x", "g-")
