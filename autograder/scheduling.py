"""Where grading runs: worker processes on this machine, or a Dask distributed cluster.

Either way each task is one submission, results come back as plain dicts in completion order
with a progress bar, and only the caller writes them down.
"""
from __future__ import annotations

import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm


def run(task, course_root: Path, todo: list[tuple[str, str, Path]], jobs: int = 2, scheduler: str | None = None,
        security=None):
    """Yield ``task(course_root, student, assignment, notebook)`` for every item of ``todo``."""
    if not todo:
        return
    # Largest assignments first keeps every worker busy to the end.
    label = "grading" + (" (dask)" if scheduler else "")
    with tqdm(total=len(todo), unit="notebook", desc=label) as bar:
        results = _on_dask(task, course_root, todo, scheduler, security) if scheduler else \
            _locally(task, course_root, todo, jobs)
        for result in results:
            bar.set_postfix_str(f"{result['student']} {result['assignment']}", refresh=False)
            bar.update(1)
            yield result


def _locally(task, course_root, todo, jobs):
    # Fresh interpreters (spawn): no thread or lock state inherited from the caller, and each
    # worker imports the trusted checks once for all the submissions it grades.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
        futures = [pool.submit(task, course_root, student, assignment, notebook)
                   for student, assignment, notebook in todo]
        for future in as_completed(futures):
            yield future.result()


def _on_dask(task, course_root, todo, scheduler, security):
    from distributed import Client, as_completed as dask_completed

    run_id = uuid.uuid4().hex[:12]  # keys unique per course and run: no result of another run is reused
    course_tag = uuid.uuid5(uuid.NAMESPACE_URL, str(course_root)).hex[:8]
    with Client(scheduler, security=security) as client:
        futures = [client.submit(task, course_root, student, assignment, notebook, pure=False,
                                 key=f"grade-{course_tag}-{run_id}-{index}")
                   for index, (student, assignment, notebook) in enumerate(todo)]
        for future in dask_completed(futures):
            yield future.result()
