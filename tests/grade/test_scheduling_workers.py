"""The local worker processes, with stand-in tasks (no kernel): how each way of dying is reported.

Every task below is one "submission" named by a word; the stand-in task acts out that word in a
real worker process, with the worker's real memory limit.
"""
import os
import signal
from pathlib import Path

import pytest

from autograder.grade import scheduling
from autograder.grade.scheduling import OUT_OF_MEMORY, STOPPED

GiB = 2**30


def act(course_root, student, assignment, notebook):
    """A stand-in for grade_submission, run in a worker: ``student`` says what happens."""
    if student == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if student == "exits":
        os._exit(3)
    if student == "memory_error":
        raise MemoryError
    if student == "hog":
        hog = bytearray(3 * GiB)  # zero-filled: every page is touched, past the 1 GiB limit below
        return {"student": student, "assignment": assignment, "size": len(hog)}
    if student == "interrupted":
        raise KeyboardInterrupt
    return {"student": student, "assignment": assignment, "worker": os.getpid()}


def lost(student, assignment, notebook, reason):
    return {"student": student, "assignment": assignment, "lost": reason}


def grade(students, jobs=2):
    todo = [(s, "ch02", Path(f"/nowhere/{s}.ipynb")) for s in students]
    return {r["student"]: r for r in scheduling.run(act, Path("/nowhere"), todo, lost, jobs=jobs, memory=GiB,
                                                    address=2 * GiB)}


def test_each_death_costs_only_the_submission_it_held():
    honest = [f"s{i}" for i in range(6)]
    results = grade(["sigkill", *honest[:3], "exits", "memory_error", *honest[3:]])
    assert set(results) == {"sigkill", "exits", "memory_error", *honest}
    assert results["sigkill"]["lost"] == f"{STOPPED}: the grader's worker was killed by SIGKILL while grading this notebook"
    assert results["exits"]["lost"] == f"{STOPPED}: the grader's worker ended (exit code 3) while grading this notebook"
    assert results["memory_error"]["lost"] == OUT_OF_MEMORY
    assert all("lost" not in results[s] for s in honest)
    assert len({results[s]["worker"] for s in honest}) >= 2, "dead workers were replaced"


def test_a_worker_past_its_own_memory_limit_costs_only_its_submission():
    results = grade(["hog", "s1", "s2"])
    assert results["hog"]["lost"] == OUT_OF_MEMORY, results["hog"]
    assert "lost" not in results["s1"] and "lost" not in results["s2"]


def test_an_interrupt_stops_the_run_and_records_nothing_for_it():
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for result in scheduling.run(act, Path("/nowhere"), [("interrupted", "ch02", Path("/x"))], lost, jobs=1):
            seen.append(result)
    assert seen == []


def test_without_cgroups_a_worker_gets_an_address_space_limit():
    """Grading as an ordinary user (or where no cgroup can be made): the worker's limit is RLIMIT_AS."""
    import subprocess
    import sys

    code = ("import autograder.grade.limits as limits, resource\n"
            "limits._hierarchies = lambda: {}\n"
            "print(limits.cap_worker_memory(2**30, 2 * 2**30))\n"
            "print(resource.getrlimit(resource.RLIMIT_AS)[0])\n"
            "try:\n    bytearray(3 * 2**30)\nexcept MemoryError:\n    print('MemoryError')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout.split("\n")
    assert out[:3] == ["address space of 2 GiB", str(2 * GiB), "MemoryError"], out


def report_threads(course_root, student, assignment, notebook):
    import torch

    return {"student": student, "assignment": assignment, "omp": os.environ.get("OMP_NUM_THREADS"),
            "torch": torch.get_num_threads()}


def test_each_worker_gets_its_share_of_the_cores(monkeypatch):
    """Workers whose PyTorch each ran one thread per core fought over the cores; each now runs its share."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    for jobs in {1, 2, cores + 1}:
        todo = [(f"s{i}", "ch02", Path("/nowhere")) for i in range(jobs)]
        results = list(scheduling.run(report_threads, Path("/nowhere"), todo, lost, jobs=jobs, memory=GiB, address=2 * GiB))
        share = max(1, cores // jobs)
        assert scheduling.threads_per_worker(jobs) == str(share)
        assert {(r["omp"], r["torch"]) for r in results} == {(str(share), share)}, (jobs, results)


def test_a_users_own_thread_setting_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    results = list(scheduling.run(report_threads, Path("/nowhere"), [("s", "ch02", Path("/nowhere"))], lost, jobs=2,
                                  memory=GiB, address=2 * GiB))
    assert results[0]["omp"] == "3"
