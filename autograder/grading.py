"""Grade every collected submission: each in its own scratch course folder, in parallel.

One submission = one ``nbgrader autograde`` run in a temporary copy of the course (its own
kernel, its own copy of nbgrader's database), so a crash, a hang or a hostile notebook
touches nothing but its scratch folder. Results go to the gradebook of record
(:mod:`autograder.gradebook`) from the main process only.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import resource
import signal
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
from tqdm import tqdm

from .gradebook import Gradebook
from .paths import NOTEBOOK, tool_env
from .sources import points_by_function

GRADED_CACHE = "graded_notebooks"


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
    """The source notebook and the checks, read once per process rather than per submission."""
    import dropout_checks

    digest = hashlib.sha256((course / "source" / assignment / f"{NOTEBOOK}.ipynb").read_bytes())
    for module in sorted(Path(dropout_checks.__file__).parent.glob("*.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()


def submissions(course: Path):
    for notebook in sorted((course / "submitted").glob(f"*/*/{NOTEBOOK}.ipynb")):
        yield notebook.parent.parent.name, notebook.parent.name, notebook


def _zero(student, assignment, digest, reason) -> dict:
    points = points_by_function(assignment)
    return {"student": student, "assignment": assignment, "sha256": digest, "score": 0.0,
            "max_score": float(sum(points.values())),
            "functions": {f: {"points": 0.0, "max_points": p, "reason": reason} for f, p in points.items()}}


# Answer cells may not reach for the answers: the reference package, the experiments that use
# it, or the instructor's files (sources with hidden tests, the gradebooks).
FORBIDDEN = re.compile(r"dropout_reference|course_experiments|gradebook\.db|results\.db|[\\/]source[\\/]|solutions[\\/]")


def forbidden_use(notebook: nbformat.NotebookNode) -> str | None:
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            match = FORBIDDEN.search(cell.source)
            if match:
                return (f"an answer cell uses {match.group(0)!r}: submissions may not import the reference "
                        "solution or read the hidden tests or the gradebook, so this exercise scores 0")
    return None


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


def _read_scores(scratch: Path, student: str, assignment: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook as NbgraderGradebook

    with NbgraderGradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(NOTEBOOK, assignment, student)
        return {g.name: (float(g.score), float(g.max_score)) for g in nb.grades}


MEMORY_LIMIT = 6 * 2**30      # bytes of address space per process (nbgrader and the kernel)
FILE_SIZE_LIMIT = 512 * 2**20  # bytes any one written file may reach (runaway output)


def _limit_resources() -> None:
    """Runs in the grading subprocess before nbgrader starts; the kernel inherits the limits."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.setsid()  # its own process group, so a timeout can stop every child with it


def grade_one(course: Path, student: str, assignment: str, notebook: Path, timeout: float = 600,
              cell_timeout: int = 60) -> dict:
    """Grade one submission; never raises for anything the submission does."""
    digest = grading_key(course, assignment, notebook)
    try:
        submitted = nbformat.read(notebook, as_version=4)
        nbformat.validate(submitted)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the student's, not ours
        return _zero(student, assignment, digest, f"the submitted file is not a valid notebook ({type(err).__name__})")
    cheating = forbidden_use(submitted)
    if cheating:
        return _zero(student, assignment, digest, cheating)
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        scratch = Path(tmp)
        for name in ("nbgrader_config.py", "gradebook.db"):
            shutil.copy(course / name, scratch / name)
        shutil.copytree(course / "source" / assignment, scratch / "source" / assignment)
        shutil.copytree(course / "release" / assignment, scratch / "release" / assignment)
        target = scratch / "submitted" / student / assignment / f"{NOTEBOOK}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copyfile(notebook, target)
        proc = subprocess.Popen(["nbgrader", "autograde", assignment, "--student", student, "--force",
                                 f"--Execute.timeout={cell_timeout}"],
                                cwd=scratch, env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=_limit_resources)
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # nbgrader, its kernel and anything they started
            proc.communicate()
            return _zero(student, assignment, digest, f"grading took longer than {timeout:.0f} s and was stopped")
        graded = scratch / "autograded" / student / assignment / f"{NOTEBOOK}.ipynb"
        if not graded.exists():
            tail = stderr.strip().splitlines()[-1:] or ["no message"]
            return _zero(student, assignment, digest, f"nbgrader could not grade it: {tail[0][:300]}")
        scores = _read_scores(scratch, student, assignment)
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.read(graded, as_version=4).cells}
        functions = {}
        for grade_id, max_points in points_by_function(assignment).items():
            score, _ = scores.get(grade_id, (0.0, max_points))
            reason = "" if score >= max_points else _reason(cells.get(grade_id, {}))
            functions[grade_id] = {"points": score, "max_points": max_points, "reason": reason}
        # Keep the graded notebook; `feedback` renders it later, so grading pays no second start-up.
        keep = course / GRADED_CACHE / student / f"{assignment}.ipynb"
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(graded, keep)
    total = sum(f["points"] for f in functions.values())
    return {"student": student, "assignment": assignment, "sha256": digest, "score": total,
            "max_score": float(sum(f["max_points"] for f in functions.values())), "functions": functions}


def _pending(course: Path, gradebook: Gradebook, force: bool):
    todo, skipped = [], 0
    for student, assignment, notebook in submissions(course):
        if not force and gradebook.graded_sha(student, assignment) == grading_key(course, assignment, notebook):
            skipped += 1
        else:
            todo.append((student, assignment, notebook))
    return todo, skipped


def grade_all(course: Path, gradebook: Gradebook, jobs: int = 2, timeout: float = 600, force: bool = False,
              scheduler: str | None = None) -> dict:
    """Grade what is new or changed; returns counts. Safe to stop and start again.

    With ``scheduler`` (a Dask distributed address such as ``tcp://10.0.0.5:8786``) the
    notebooks are graded on the cluster's workers, which must see the course folder at the
    same path (a shared file system); results still reach the gradebook from here only.
    """
    todo, skipped = _pending(course, gradebook, force)
    if scheduler:
        return _grade_on_dask(course, gradebook, todo, skipped, timeout, scheduler)
    # Each task is a subprocess, so threads are enough to keep every core busy.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
            tqdm(total=len(todo), unit="notebook", desc="grading", disable=not todo) as bar:
        futures = {pool.submit(grade_one, course, s, a, nb, timeout): (s, a) for s, a, nb in todo}
        for future in as_completed(futures):
            gradebook.record(future.result())
            bar.set_postfix_str("/".join(futures[future]))
            bar.update()
    return {"graded": len(todo), "unchanged": skipped}


def _grade_on_dask(course, gradebook, todo, skipped, timeout, scheduler) -> dict:
    from distributed import Client, as_completed as dask_completed

    with Client(scheduler) as client, tqdm(total=len(todo), unit="notebook", desc="grading (dask)",
                                           disable=not todo) as bar:
        futures = [client.submit(grade_one, course, s, a, nb, timeout, pure=False, key=f"grade-{s}-{a}")
                   for s, a, nb in todo]
        for future in dask_completed(futures):
            gradebook.record(future.result())
            bar.update()
    return {"graded": len(todo), "unchanged": skipped}
