"""Grade every collected submission: a pipeline of small stages, one submission at a time.

For each submission, in a trusted worker process:

1. **read** the file and **rebuild** it on the released notebook (:mod:`autograder.grade.rebuild`);
2. **flag** code worth a human look (:mod:`autograder.grade.flags`; never changes a grade);
3. **execute** it in a fresh sandboxed kernel (:mod:`autograder.grade.execute`);
4. **judge** the data each hidden collector emitted, with the trusted checker
   (:mod:`autograder.grade.score` and ``dropout_checks``);
5. **keep** the executed notebook, without the collected data, for feedback.

Any exception in a stage becomes that submission's reason, never a crashed run. Workers run
side by side (:mod:`autograder.grade.scheduling`); results reach the gradebook from the main
process only, so grading is resumable and idempotent.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.grade import rebuild, score
from autograder.grade.flags import flags as code_flags
from autograder.grade.execute import execute, fit_to_size
from autograder.course.files import write_bytes_atomically
from autograder.course.layout import Course, REPO, SOURCES
from autograder.grade.limits import KEPT_NOTEBOOK_LIMIT, WORKER_ADDRESS_LIMIT, WORKER_MEMORY_LIMIT, owner_alive, remove_stale_cgroups
from autograder.grade.scheduling import OUT_OF_MEMORY

SCRATCH_PREFIX = "dropout-grade-"  # then the worker's PID (see remove_stale_scratch)
GRADER_VERSION = "4"               # bump when a change here should regrade everything


# The code a grade depends on: whole packages (so a module added to one is covered without a list to
# keep up), and the two modules outside them that the rebuild reads (which cells are answers and tests;
# the grader's cell markers). A test checks that every module of ours the grade path imports is here.
RULES_PACKAGES = ("autograder.grade", "dropout_checks", "dropout_collect", "dropout_kit")
RULES_MODULES = ("autograder.course.cells", "autograder.feedback.notebook_view")


def rules_files() -> list[Path]:
    import importlib.util

    files = []
    for package in RULES_PACKAGES:
        folder = Path(importlib.util.find_spec(package).origin).parent
        files += sorted(folder.rglob("*.py"))
    return files + [Path(importlib.util.find_spec(module).origin) for module in RULES_MODULES]


@functools.lru_cache(maxsize=None)
def _rules_fingerprint() -> str:
    """The trusted checks, the collectors, the visible checks and the grader stages, read once."""
    digest = hashlib.sha256(GRADER_VERSION.encode())
    for module in rules_files():
        digest.update(module.read_bytes())
    return digest.hexdigest()


def grading_key(course: Course, assignment: str, notebook: Path) -> str:
    """Fingerprint of everything a grade depends on: the submission, the release, the checks."""
    digest = hashlib.sha256(notebook.read_bytes())
    digest.update(course.release_notebook(assignment).read_bytes())
    digest.update(course.source_notebook(assignment).read_bytes())  # the hidden tests and their points
    digest.update(_rules_fingerprint().encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _release(course_root: str, assignment: str):
    course = Course(Path(course_root))
    released = nbformat.read(course.release_notebook(assignment), as_version=4)
    source = nbformat.read(course.source_notebook(assignment), as_version=4)
    return released, source, score.points_of(released)


def run_seed(course: Course, digest: str) -> int:
    """The seed of a submission's hidden-test inputs: unpredictable without the course's secret,
    the same every time the same submission is graded (so grading twice gives the same reasons)."""
    try:
        fd = os.open(course.secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    key = course.secret.read_bytes()
    return int.from_bytes(hmac.new(key, digest.encode(), hashlib.sha256).digest()[:4], "big") % 2**31


def _result(student, assignment, digest, functions, flags=(), seconds=0.0, written=None) -> dict:
    """One graded submission; ``score`` is the autograded part, ``written`` waits for a person."""
    return {"student": student, "assignment": assignment, "sha256": digest,
            "score": sum(f["points"] for f in functions.values()),
            "max_score": float(sum(f["max_points"] for f in functions.values())),
            "functions": functions, "flags": list(flags), "seconds": round(seconds, 2), "written": written or {}}


def _hidden_folders(course: Course) -> tuple[str, ...]:
    """What kernels must not see; the sandbox puts back only the software they need."""
    return tuple(str(p) for p in (course.root, REPO, SOURCES, Path.home()))


def grade_submission(course_root: Path, student: str, assignment: str, notebook: Path, timeout: float = 600,
                     cell_timeout: int = 60, isolate: bool = True) -> dict:
    """Grade one submission through every stage; never raises for anything the submission holds."""
    from dropout_checks import judge

    course = Course(Path(course_root))
    started = time.monotonic()
    released, source, points = _release(str(course.root), assignment)
    digest = grading_key(course, assignment, notebook)
    keep = course.graded_notebook(student, assignment)
    try:
        screened = rebuild.read(notebook, released)
        if screened.notebook is None:
            keep.unlink(missing_ok=True)  # a stale graded notebook of an earlier submission must not stay
            return _result(student, assignment, digest, score.zero(points, screened.reason))
        flags = screened.flags + code_flags(screened.notebook, source)
        seed = run_seed(course, digest)
        runnable = rebuild.with_seed(rebuild.with_hidden_tests(screened.notebook, source), seed)
        with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as scratch:
            run = execute(runnable, Path(scratch), cell_timeout=cell_timeout, notebook_timeout=timeout,
                          isolate=isolate, hide=_hidden_folders(course))
        if not run.started:  # before any of the student's code: nothing to grade, and not theirs to lose
            return not_graded(student, assignment, digest, points, run.problem, time.monotonic() - started)
        functions = score.score(assignment, points, run.notebook, run.problem, cell_timeout, judge, seed)
        written = score.written_answers(screened.notebook, released)
    except Exception as err:  # noqa: BLE001 - one submission's trouble is that submission's reason
        keep.unlink(missing_ok=True)
        reason = OUT_OF_MEMORY if isinstance(err, MemoryError) else \
            f"the grader could not grade this notebook ({type(err).__name__}: {str(err)[:300]})"
        return _result(student, assignment, digest, score.zero(points, reason), seconds=time.monotonic() - started)
    try:  # the points stand whatever happens to the copy kept for feedback
        _keep(rebuild.without_grader_cells(score.without_collected(run.notebook)), keep)
    except Exception as err:  # noqa: BLE001
        keep.unlink(missing_ok=True)
        flags.append(f"the executed notebook could not be kept for feedback ({type(err).__name__})")
    return _result(student, assignment, digest, functions, flags, time.monotonic() - started, written)


NOT_GRADED = "not graded: the grader could not start a kernel for it"


def not_graded(student, assignment, digest, points, problem, seconds=0.0) -> dict:
    """A submission whose kernel never came up (a broken set-up, an overloaded machine): its result says so
    under ``not_graded``, and callers record nothing for it, so the next run grades it again."""
    reason = f"{NOT_GRADED} ({problem})" if problem else NOT_GRADED
    result = _result(student, assignment, digest, score.zero(points, reason), flags=[reason], seconds=seconds)
    result["not_graded"] = reason
    return result


def _keep(notebook: nbformat.NotebookNode, target: Path) -> None:
    """Write atomically into the course folder (which no kernel can see)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Lone surrogates in a student's output cannot be UTF-8: replaced, not fatal.
    data = nbformat.writes(fit_to_size(notebook, KEPT_NOTEBOOK_LIMIT)).encode("utf-8", "replace")
    write_bytes_atomically(target, data, prefix=f".{target.name}")


def remove_stale_scratch() -> None:
    """Scratch folders left by a worker that was killed before it could clean up."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        if not owner_alive(folder.name, SCRATCH_PREFIX):
            shutil.rmtree(folder, ignore_errors=True)


def pending(course: Course, gradebook, force: bool) -> tuple[list[tuple[str, str, Path]], int]:
    """Submissions whose grade is missing or out of date, and how many are current."""
    todo, skipped = [], 0
    for student, assignment, notebook in course.submissions():
        if not force and gradebook.graded_sha(student, assignment) == grading_key(course, assignment, notebook):
            skipped += 1
        else:
            todo.append((student, assignment, notebook))
    return todo, skipped


def lost_submission(course: Course, student: str, assignment: str, notebook: Path, reason: str) -> dict:
    """The result of a submission whose grading worker died: zero points, and why, for this one only.

    Recorded under the submission's fingerprint like any grade, so the next run does not try it
    again (`grade --force`, or a new submission, does).
    """
    _, _, points = _release(str(course.root), assignment)
    try:
        digest = grading_key(course, assignment, notebook)
    except OSError:
        digest = "unreadable"  # (the file went away meanwhile) never equal to a fingerprint: the next run tries again
    result = _result(student, assignment, digest, score.zero(points, reason), flags=[reason])
    result["stopped"] = reason
    return result


# What a grading worker imports, imported once by the fork server the workers come from.
WORKER_IMPORTS = ("autograder.grade.pipeline", "dropout_checks", "nbgrader.preprocessors", "nbclient.exceptions",
                  "jupyter_client.asynchronous", "autograder.grade.kernel_template")


def grade_all(course_root: Path, gradebook, jobs: int = 2, timeout: float = 600, force: bool = False,
              scheduler: str | None = None, isolate: bool = True, cell_timeout: int = 60,
              security=None, worker_memory: int = WORKER_MEMORY_LIMIT,
              worker_address: int = WORKER_ADDRESS_LIMIT) -> dict:
    """Grade what is new or changed; returns counts, the submissions that stopped a worker (recorded with
    their reason) and those no kernel could be started for (``not_graded``: nothing recorded).

    Safe to stop and start again. ``scheduler`` (a Dask distributed address) grades on a cluster
    whose workers see the course folder at the same path; ``security`` is a
    ``distributed.Security`` for its TLS. ``isolate=False`` runs kernels without the sandbox
    (trusted submissions only). ``worker_memory`` is each local worker's memory limit.
    """
    from autograder.grade import expected, sandbox
    from autograder.grade import scheduling

    if isolate:
        sandbox.require_bwrap()
    if scheduler is None:
        scheduling.prepare(WORKER_IMPORTS)  # the workers' imports, meanwhile
    course = Course(Path(course_root).resolve())
    remove_stale_scratch()
    remove_stale_cgroups()
    todo, skipped = pending(course, gradebook, force)
    task = functools.partial(grade_submission, timeout=timeout, cell_timeout=cell_timeout, isolate=isolate)
    stopped, not_started = [], []
    for result in scheduling.run(task, course.root, todo, functools.partial(lost_submission, course), jobs=jobs,
                                 scheduler=scheduler, security=security, memory=worker_memory,
                                 address=worker_address, cost=expected.estimator(gradebook)):
        if result.get("not_graded"):  # recorded as nothing: an earlier grade stays, and the next run tries again
            not_started.append((result["student"], result["assignment"], result["not_graded"]))
            continue
        gradebook.record(result)
        if result.get("stopped"):
            stopped.append((result["student"], result["assignment"], result["stopped"]))
    return {"graded": len(todo) - len(not_started), "unchanged": skipped, "stopped": stopped,
            "not_graded": not_started}
