"""Grade every collected submission, in batches of one assignment, batches in parallel.

A batch is one ``nbgrader autograde`` run in a scratch copy of the course: nbgrader starts once
per batch, and every notebook still gets a fresh kernel, sandboxed (:mod:`autograder.sandbox`)
and limited (:mod:`autograder.limits`). A batch that crashes or overruns is split up and its
notebooks are graded one by one, so one bad submission costs nobody else anything. Results go
to the gradebook of record (:mod:`autograder.gradebook`) from the main process only.
"""
from __future__ import annotations

import functools
import hashlib
import math
import os
import signal
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
from tqdm import tqdm

from . import sandbox, screening
from .gradebook import Gradebook
from .limits import CGROUP_ENV, limit_resources, owner_alive, process_cap, remove_stale_cgroups
from .paths import NOTEBOOK, SOURCES, tool_env
from .sources import points_by_function

GRADED_CACHE = "graded_notebooks"
MAX_BATCH = 12      # notebooks per nbgrader run: start-up cost shared, little lost to a crash
SCRATCH_PREFIX = "dropout-grade-"  # then the grader's PID (see _remove_stale_scratch)
OUTPUT_KEPT = 20_000  # characters of each output kept in the graded notebook shown as feedback


def grading_key(course: Path, assignment: str, notebook: Path) -> str:
    """Fingerprint of everything a grade depends on: the submission, the tests, the checks.

    A changed test or check invalidates old grades, so a re-run grades again exactly the
    submissions whose grade could differ.
    """
    digest = hashlib.sha256(notebook.read_bytes())
    digest.update(_tests_fingerprint(course, assignment).encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _tests_fingerprint(course: Path, assignment: str) -> str:
    """The source notebook, the checks and the screening rules, read once per process."""
    import dropout_checks

    digest = hashlib.sha256((course / "source" / assignment / f"{NOTEBOOK}.ipynb").read_bytes())
    for module in [*sorted(Path(dropout_checks.__file__).parent.glob("*.py")), Path(screening.__file__)]:
        digest.update(module.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _released_and_source(course: Path, assignment: str):
    return (nbformat.read(course / "release" / assignment / f"{NOTEBOOK}.ipynb", as_version=4),
            nbformat.read(course / "source" / assignment / f"{NOTEBOOK}.ipynb", as_version=4))


def submissions(course: Path):
    for notebook in sorted((course / "submitted").glob(f"*/*/{NOTEBOOK}.ipynb")):
        yield notebook.parent.parent.name, notebook.parent.name, notebook


def _zero(student, assignment, digest, reason) -> dict:
    points = points_by_function(assignment)
    return {"student": student, "assignment": assignment, "sha256": digest, "score": 0.0,
            "max_score": float(sum(points.values())),
            "functions": {f: {"points": 0.0, "max_points": p, "reason": reason} for f, p in points.items()}}


def _reason(cell) -> str:
    """The failure of one test cell, in the words of its check."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", "Error"), output.get("evalue", "")
            if ename == "NotImplementedError":
                return "not implemented yet (the stub still raises NotImplementedError)"
            if ename == "NameError":
                return f"{evalue}: the answer cell did not define it (did it raise, or was it renamed?)"
            if ename in ("AssertionError", "ExerciseFailure"):
                return evalue or "a visible assertion failed"
            if ename in ("DeadKernelError", "CellTimeoutError", "TimeoutError"):
                return f"the test did not finish: {evalue}"
            return f"{ename}: {evalue}"
    return "no points: the test cell did not run to completion (timeout or kernel crash)"


def _seconds(cell) -> float:
    """How long a cell ran, from the timing nbclient records in its metadata."""
    from datetime import datetime

    timing = cell.metadata.get("execution", {})
    try:
        start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                      for k in ("iopub.status.busy", "iopub.status.idle"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def _answer_error(cells: list, test_index: int, cell_timeout: int) -> str | None:
    """The error of the answer cell just above a test, when it raised one."""
    for cell in reversed(cells[:test_index]):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            return None  # reached the previous test without meeting an answer cell
        if meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error" or output.get("ename") == "NotImplementedError":
                    continue
                if output.get("ename") == "KeyboardInterrupt" and _seconds(cell) >= cell_timeout - 1:
                    return f"the answer cell did not finish within {cell_timeout} s and was interrupted"
                return f"the answer cell raised {output.get('ename')}: {output.get('evalue', '')}"[:400]
            return None
    return None


def _functions(assignment: str, scores: dict, graded: nbformat.NotebookNode, cell_timeout: int) -> dict:
    index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(graded.cells)}
    functions = {}
    for grade_id, max_points in points_by_function(assignment).items():
        score = scores.get(grade_id, 0.0)
        reason = ""
        if score < max_points:
            reason = _reason(graded.cells[index[grade_id]]) if grade_id in index else "the test cell is missing"
            cause = _answer_error(graded.cells, index[grade_id], cell_timeout) if grade_id in index else None
            if cause:
                reason = f"{reason} ({cause})"
        functions[grade_id] = {"points": score, "max_points": max_points, "reason": reason}
    return functions


def _result(student, assignment, digest, functions) -> dict:
    return {"student": student, "assignment": assignment, "sha256": digest,
            "score": sum(f["points"] for f in functions.values()),
            "max_score": float(sum(f["max_points"] for f in functions.values())), "functions": functions}


def _trim_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Cut runaway output (a student may print 100 MB) down to what feedback can show."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and len(output.get("text", "")) > OUTPUT_KEPT:
                cut = len(output.text) - OUTPUT_KEPT
                output.text = output.text[:OUTPUT_KEPT] + f"\n[... {cut} more characters cut by the grader]\n"
    return notebook


def _run_nbgrader(course: Path, scratch: Path, assignment: str, timeout: float, cell_timeout: int,
                  isolate: bool) -> tuple[bool, str]:
    """One ``nbgrader autograde`` over the scratch course; (finished in time, stderr)."""
    env = tool_env()
    env["OMP_NUM_THREADS"] = "1"  # kernels run side by side: one thread each keeps cores free
    if isolate:
        env["JUPYTER_PATH"] = str(sandbox.write_kernelspec(scratch / "jupyter"))
        # The sandbox narrows any of these that holds the software itself down to its other subfolders.
        env[sandbox.HIDE_ENV] = os.pathsep.join(map(str, (course.resolve(), SOURCES, scratch)))
        env[sandbox.SCRATCH_ENV] = str(scratch)
    with process_cap() as cgroup:
        if cgroup is not None:
            env[CGROUP_ENV] = str(cgroup)
        proc = subprocess.Popen([sys.executable, "-m", "autograder.nbgrader_entry", assignment, "--force",
                                 f"--Execute.timeout={cell_timeout}"],
                                cwd=scratch, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                preexec_fn=limit_resources)
        try:
            _, stderr = proc.communicate(timeout=timeout)
            return True, stderr
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # nbgrader, its kernels and anything they started
            proc.communicate()
            return False, ""


def grade_batch(course: Path, assignment: str, items: list[tuple[str, Path]], timeout: float = 600,
                cell_timeout: int = 60, isolate: bool = True) -> list[dict]:
    """Grade several submissions of one assignment; never raises for anything they do.

    ``items`` are (student, notebook path); ``timeout`` is per notebook.
    """
    released, source = _released_and_source(course, assignment)
    results, runnable = [], []
    for student, notebook in items:
        digest = grading_key(course, assignment, notebook)
        screened = screening.screen(notebook, released, source)
        if screened.reason:
            results.append(_zero(student, assignment, digest, screened.reason))
        else:
            runnable.append((student, digest, screened.notebook))
    if not runnable:
        return results
    graded, failed = _run_batch(course, assignment, runnable, timeout, cell_timeout, isolate)
    results += graded
    for student, digest, notebook, reason in failed:
        if len(runnable) > 1:  # on its own, a notebook shows what went wrong with it
            alone, still = _run_batch(course, assignment, [(student, digest, notebook)], timeout, cell_timeout, isolate)
            results += alone
            if not still:
                continue
            reason = still[0][3]
        results.append(_zero(student, assignment, digest, reason))
    return results


def _run_batch(course, assignment, runnable, timeout, cell_timeout, isolate) -> tuple[list[dict], list[tuple]]:
    """One nbgrader run over screened notebooks: (results, [(student, digest, notebook, reason)] that failed)."""
    from nbgrader.api import Gradebook as NbgraderGradebook, MissingEntry

    results, failed = [], []
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as tmp:
        scratch = Path(tmp)
        for name in ("nbgrader_config.py", "gradebook.db"):
            shutil.copy(course / name, scratch / name)
        shutil.copytree(course / "release" / assignment, scratch / "release" / assignment)
        for student, _, notebook in runnable:
            target = scratch / "submitted" / student / assignment / f"{NOTEBOOK}.ipynb"
            target.parent.mkdir(parents=True)
            nbformat.write(notebook, target)
        finished, stderr = _run_nbgrader(course, scratch, assignment, timeout * len(runnable), cell_timeout, isolate)
        hidden = [str(course.resolve())]
        with NbgraderGradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
            for student, digest, notebook in runnable:
                graded = scratch / "autograded" / student / assignment / f"{NOTEBOOK}.ipynb"
                try:
                    scores = {g.name: float(g.score) for g in gb.find_submission_notebook(NOTEBOOK, assignment, student).grades}
                except MissingEntry:
                    scores = None
                if not graded.exists() or scores is None:
                    reason = (_failure(stderr) if finished else
                              f"grading took longer than {timeout:.0f} s and was stopped")
                    failed.append((student, digest, notebook, reason))
                    continue
                graded_nb = _trim_outputs(nbformat.read(graded, as_version=4))
                attempt = screening.reached_for_instructor_files(graded_nb, hidden)
                results.append(_zero(student, assignment, digest, attempt) if attempt else
                               _result(student, assignment, digest, _functions(assignment, scores, graded_nb, cell_timeout)))
                # Kept for `feedback`, which renders it later: grading pays no second start-up.
                keep = course / GRADED_CACHE / student / f"{assignment}.ipynb"
                keep.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(graded_nb, keep)
    return results, failed


def _failure(stderr: str) -> str:
    if "DeadKernelError" in stderr or "Kernel died" in stderr:
        return ("the notebook's kernel died while it ran (did an answer cell end its own process or crash it?), "
                "so nothing could be graded")
    tail = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or ["no message"]
    return f"nbgrader could not grade it: {tail[0][:300]}"


def grade_one(course: Path, student: str, assignment: str, notebook: Path, timeout: float = 600,
              cell_timeout: int = 60, isolate: bool = True) -> dict:
    """Grade one submission on its own (a batch of one)."""
    return grade_batch(course, assignment, [(student, notebook)], timeout, cell_timeout, isolate)[0]


def plan_batches(todo: list[tuple[str, str, Path]], jobs: int) -> list[tuple[str, list[tuple[str, Path]]]]:
    """Split the work into batches of one assignment, about two per worker, largest first.

    Few batches share nbgrader's start-up; enough of them keep every worker busy to the end.
    """
    size = max(1, min(MAX_BATCH, math.ceil(len(todo) / (2 * max(1, jobs)))))
    by_assignment = defaultdict(list)
    for student, assignment, notebook in todo:
        by_assignment[assignment].append((student, notebook))
    batches = []
    for assignment, items in sorted(by_assignment.items()):
        count = math.ceil(len(items) / size)
        batches += [(assignment, items[k::count]) for k in range(count)]
    return sorted(batches, key=lambda batch: len(batch[1]), reverse=True)


def _pending(course: Path, gradebook: Gradebook, force: bool):
    todo, skipped = [], 0
    for student, assignment, notebook in submissions(course):
        if not force and gradebook.graded_sha(student, assignment) == grading_key(course, assignment, notebook):
            skipped += 1
        else:
            todo.append((student, assignment, notebook))
    return todo, skipped


def grade_all(course: Path, gradebook: Gradebook, jobs: int = 2, timeout: float = 600, force: bool = False,
              scheduler: str | None = None, isolate: bool = True, cell_timeout: int = 60) -> dict:
    """Grade what is new or changed; returns counts. Safe to stop and start again.

    With ``scheduler`` (a Dask distributed address such as ``tcp://10.0.0.5:8786``) the
    batches are graded on the cluster's workers, which must see the course folder at the
    same path (a shared file system); results still reach the gradebook from here only.
    ``isolate=False`` runs kernels without the bubblewrap sandbox (trusted submissions only).
    """
    if isolate:
        sandbox.require_bwrap()
    _remove_stale_scratch()
    remove_stale_cgroups()
    todo, skipped = _pending(course, gradebook, force)
    batches = plan_batches(todo, jobs)
    with tqdm(total=len(todo), unit="notebook", desc="grading" + (" (dask)" if scheduler else ""),
              disable=not todo) as bar:
        for results in _graded_batches(course, batches, jobs, timeout, cell_timeout, isolate, scheduler):
            for result in results:
                gradebook.record(result)
            bar.set_postfix_str(f"last batch: {results[0]['assignment']}" if results else "")
            bar.update(len(results))
    return {"graded": len(todo), "unchanged": skipped}


def _remove_stale_scratch() -> None:
    """Scratch courses left by a grader that was killed before it could clean up."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        if not owner_alive(folder.name, SCRATCH_PREFIX):
            shutil.rmtree(folder, ignore_errors=True)


def _graded_batches(course, batches, jobs, timeout, cell_timeout, isolate, scheduler):
    """Each batch's results as soon as it is done, graded here or on a Dask cluster."""
    if scheduler:
        from distributed import Client, as_completed as dask_completed

        with Client(scheduler) as client:
            futures = [client.submit(grade_batch, course, assignment, items, timeout, cell_timeout, isolate, pure=False,
                                     key=f"grade-{assignment}-{'-'.join(s for s, _ in items)}"[:200])
                       for assignment, items in batches]
            for future in dask_completed(futures):
                yield future.result()
        return
    # Each batch is a subprocess, so threads are enough to keep every core busy.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(grade_batch, course, assignment, items, timeout, cell_timeout, isolate)
                   for assignment, items in batches]
        for future in as_completed(futures):
            yield future.result()
