"""Where grading runs: worker processes on this machine, or a Dask distributed cluster.

Either way each task is one submission, results come back as plain dicts in completion order
with a progress bar, and only the caller writes them down. A worker that dies (out of memory,
a signal, a crash) costs only the submission it held: ``lost(student, assignment, notebook,
reason)`` turns it into that submission's result, and the others go on.
"""
from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import uuid
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

from tqdm import tqdm

from autograder.grade.limits import WORKER_ADDRESS_LIMIT, WORKER_MEMORY_LIMIT

STOPPED = "grading stopped"  # every reason of a submission whose worker died starts so
OUT_OF_MEMORY = f"{STOPPED}: the grader ran out of memory on this notebook"


def prepare(preload: tuple[str, ...] = ()) -> None:
    """Start the fork server local workers come from, importing ``preload`` there once, without waiting.

    Call it as early as possible (e.g. before reading the class): its imports, seconds of CPU,
    then overlap the caller's own work. Only the first call in a process chooses what is preloaded.
    """
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    multiprocessing.forkserver.ensure_running()


def run(task, course_root: Path, todo: list[tuple[str, str, Path]], lost, jobs: int = 2,
        scheduler: str | None = None, security=None, memory: int = WORKER_MEMORY_LIMIT,
        address: int = WORKER_ADDRESS_LIMIT, cost=None):
    """Yield ``task(course_root, student, assignment, notebook)`` for every item of ``todo``.

    ``memory`` (and, where no cgroup can be made, ``address``) is each local worker's own limit.
    ``cost(item)``, the expected seconds of an item, orders the local queue longest first, so that
    the workers end together rather than one finishing a long notebook alone.
    """
    if not todo:
        return
    label = "grading" + (" (dask)" if scheduler else "")
    with tqdm(total=len(todo), unit="notebook", desc=label) as bar:
        results = _on_dask(task, course_root, todo, lost, scheduler, security) if scheduler else \
            _locally(task, course_root, _longest_first(todo, cost), lost, jobs, (memory, address, os.getpid()))
        for result in results:
            bar.set_postfix_str(f"{result['student']} {result['assignment']}", refresh=False)
            bar.update(1)
            yield result


def _longest_first(todo, cost):
    if cost is None:
        return todo
    return sorted(todo, key=lambda item: -cost(item))  # stable: equal costs keep their order


def threads_per_worker(jobs: int) -> str:
    """Each local worker's OpenMP/BLAS threads: the grader's OMP_NUM_THREADS if set, else its share of the cores."""
    return os.environ.get("OMP_NUM_THREADS") or str(max(1, len(os.sched_getaffinity(0)) // max(1, jobs)))


def _share_cores(threads: str) -> None:
    """In a worker: its own checks and the kernels it starts (which inherit the variable) use ``threads``
    threads. Two workers whose PyTorch each ran as many threads as there are cores spent a fifth of the
    sample class's grading time fighting over them."""
    os.environ["OMP_NUM_THREADS"] = threads
    torch = sys.modules.get("torch")  # imported by the fork server already: the variable is read too late for it
    if torch is not None and threads.isdigit() and int(threads) > 0:
        torch.set_num_threads(int(threads))


def _serve(connection, task, limits, threads: int) -> None:
    """A worker: grade what the pipe sends, one submission at a time, until it sends None."""
    from autograder.grade.limits import cap_worker_memory

    cap_worker_memory(*limits)  # (the grader is not its parent: the fork server is)
    _share_cores(threads)
    try:
        _grade_each(connection, task)
    finally:
        # A forked worker ends with os._exit, which skips atexit; what the task registered there
        # (the kernel template's stop, say) must still run, as in any process that ends normally.
        atexit._run_exitfuncs()


def _grade_each(connection, task) -> None:
    while (item := connection.recv()) is not None:
        try:
            answer = ("done", task(*item))
        except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the run stops, nothing is recorded
            connection.send(("interrupted", None))
            return
        except MemoryError:
            answer = ("lost", OUT_OF_MEMORY)
        except BaseException as err:  # noqa: BLE001 - whatever it was, it is this submission's reason
            answer = ("lost", f"{STOPPED}: the grader failed on this notebook ({type(err).__name__}: {str(err)[:300]})")
        connection.send(answer)


@dataclass
class _Worker:
    process: multiprocessing.Process
    connection: object
    item: tuple | None = None  # (student, assignment, notebook) while it grades one


def _locally(task, course_root, todo, lost, jobs, limits):
    """Worker processes of our own, each forked from the fork server (see :func:`prepare`), which has
    imported the checks once: a worker, or its replacement, starts in milliseconds, not seconds.

    Unlike a process pool, each worker is fed one submission at a time, so when one dies we
    know which submission it held; a new worker takes its place.
    """
    context = multiprocessing.get_context("forkserver")
    waiting = list(todo)
    busy: list[_Worker] = []
    leaving: list[_Worker] = []  # told to stop; they end while the others still grade

    def start() -> _Worker:
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, task, limits, threads_per_worker(jobs)), daemon=True,
                                  name="grading worker")
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def hand_next(worker: _Worker) -> None:
        """Give ``worker`` the next submission, or let it go when there is none."""
        if not waiting:
            with contextlib.suppress(OSError):
                worker.connection.send(None)
            leaving.append(worker)
            return
        worker.item = waiting.pop(0)
        busy.append(worker)
        try:
            worker.connection.send((course_root, *worker.item))
        except OSError:
            pass  # it died meanwhile: the wait below sees that like any death (each submission is handed out once)

    try:
        for _ in range(min(max(1, jobs), len(todo))):
            hand_next(start())
        while busy:
            ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy]))
            for worker in [w for w in busy if w.connection in ready or w.process.sentinel in ready]:
                busy.remove(worker)
                answer = _answer(worker)
                student, assignment, notebook = worker.item
                if answer is None:  # the worker died with the submission
                    yield lost(student, assignment, notebook, _death_reason(worker))
                    _bury(worker)
                    worker = start() if waiting else None
                elif answer[0] == "interrupted":
                    busy.append(worker)  # reaped below with the others
                    raise KeyboardInterrupt  # the grader was interrupted: this submission waits for the next run
                elif answer[0] == "lost":
                    yield lost(student, assignment, notebook, answer[1])
                else:
                    yield answer[1]
                if worker is not None:
                    hand_next(worker)
    finally:
        for worker in busy:  # stopped early (an interrupt, a failing gradebook): no worker outlives the run
            worker.process.kill()
            _bury(worker)
        for worker in leaving:
            _let_go(worker)


def _answer(worker: _Worker):
    """What the worker sent back, or None when it died instead."""
    try:
        if worker.connection.poll():
            return worker.connection.recv()
    except (EOFError, OSError):
        pass
    return None


def _let_go(worker: _Worker) -> None:
    """Wait for a worker told to stop; one that does not is killed."""
    worker.process.join(timeout=30)
    if worker.process.is_alive():
        worker.process.kill()
    _bury(worker)


def _bury(worker: _Worker) -> None:
    """Reap a dead worker and sweep what it could not clean up (its cgroups, its scratch folder)."""
    from autograder.grade.pipeline import remove_stale_scratch
    from autograder.grade.limits import release_worker_group, remove_stale_cgroups

    worker.process.join()
    worker.connection.close()
    release_worker_group(worker.process.pid)
    remove_stale_cgroups()
    remove_stale_scratch()


def _death_reason(worker: _Worker) -> str:
    from autograder.grade.limits import worker_ran_out_of_memory

    worker.process.join()
    code = worker.process.exitcode
    if worker_ran_out_of_memory(worker.process.pid):
        return OUT_OF_MEMORY
    if code is not None and code < 0:
        return f"{STOPPED}: the grader's worker was killed by {_signal_name(-code)} while grading this notebook"
    return f"{STOPPED}: the grader's worker ended (exit code {code}) while grading this notebook"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _on_dask(task, course_root, todo, lost, scheduler, security):
    from distributed import Client, as_completed as dask_completed

    run_id = uuid.uuid4().hex[:12]  # keys unique per course and run: no result of another run is reused
    course_tag = uuid.uuid5(uuid.NAMESPACE_URL, str(course_root)).hex[:8]
    with Client(scheduler, security=security) as client:
        futures, items = [], {}
        for index, item in enumerate(todo):
            future = client.submit(task, course_root, *item, pure=False, key=f"grade-{course_tag}-{run_id}-{index}")
            futures.append(future)
            items[future.key] = item
        for future in dask_completed(futures):
            try:
                yield future.result()
            except Exception as err:  # noqa: BLE001 - KilledWorker, or the task itself failed
                yield lost(*items[future.key], _dask_reason(err))


def _dask_reason(err: Exception) -> str:
    if type(err).__name__ == "KilledWorker":
        # The cluster retries a task whose worker died up to `distributed.scheduler.allowed-failures`
        # times (3 by default), then gives up on it: never forever.
        return (f"{STOPPED}: the Dask workers grading this notebook died each time (out of memory, a signal "
                "or a crash; the workers' logs say which), so the cluster gave up on it")
    if isinstance(err, MemoryError):
        return OUT_OF_MEMORY
    return f"{STOPPED}: the grader failed on this notebook ({type(err).__name__}: {str(err)[:300]})"
