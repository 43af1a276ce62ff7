"""A grading worker that dies costs only the submission it held (issue 17, item 2).

A small ch02 class is graded while one submission's worker is killed (SIGKILL from outside,
locally and on a Dask cluster) or runs out of its own memory (the submission sends one message
of many frames, each under the message cap, that the worker's ZeroMQ must hold whole). Each
time: every other student is recorded as usual, the victim gets zero points and the reason,
the run ends normally with a summary, and the next run does not try the victim again.
"""
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import nbformat
import pytest

from autograder.collect import collect
from autograder.course.gradebook import Gradebook, default_url
from autograder.grade.pipeline import grade_all, pending
from autograder.course.layout import Course, SAMPLE_CLASS, tool_env
from autograder.release.notebooks import release
from autograder.grade.scheduling import OUT_OF_MEMORY, STOPPED
from hostile_catalog import base_notebook

HONEST = {"ann": "alice", "ben": "alice", "cid": "carol"}  # student -> sample notebook copied (6, 6, 3 points)
SCORES = {"ann": 6.0, "ben": 6.0, "cid": 3.0}
SLEEPER = b"sleep\x00777\x00"  # the victim's cell runs `sleep 777`: the test finds its worker from it
# One message of 400 frames of 15 MiB (6 GB): under the message cap frame by frame, far past a worker's memory.
FRAMES = ("_k = get_ipython().kernel\n_frame = memoryview(b'f' * (15 * 2**20))\n"
          "_k.session.send(_k.iopub_socket, 'display_data', {'data': {'text/plain': 'f'}, 'metadata': {}},\n"
          "                parent=_k.get_parent('shell'), buffers=[_frame] * 400)\n"
          "import time\ntime.sleep(30)\n")


def class_with_victim(root: Path, victim_cell: str) -> Path:
    course = root / "course"
    release(course, assignments=("ch02",))
    lms = root / "lms"
    for student, model in HONEST.items():
        (lms / student).mkdir(parents=True)
        shutil.copy(SAMPLE_CLASS / model / "exercise.ipynb", lms / student / "ch02_exercise.ipynb")
    victim = base_notebook("alice", course)
    victim.cells.append(nbformat.v4.new_code_cell(victim_cell))
    (lms / "victim").mkdir()
    nbformat.write(victim, lms / "victim" / "ch02_exercise.ipynb")
    collect(lms, course)
    return course


def _parent(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# A local worker is forked from multiprocessing's fork server, so it shows the server's command
# line; a Dask worker is spawned. The first such process above the sleeper is its worker.
WORKER_MARKS = (b"multiprocessing.forkserver", b"spawn_main")


def worker_holding_the_sleeper(seconds: float = 300) -> int:
    """The grading worker above the victim's `sleep 777`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            if _cmdline(int(cmdline.parent.name)) == SLEEPER:
                pid = int(cmdline.parent.name)
                while pid > 1 and not any(mark in _cmdline(pid) for mark in WORKER_MARKS):
                    pid = _parent(pid)
                if pid > 1:
                    return pid
        time.sleep(0.3)
    raise AssertionError("the victim's cell never started")


def assert_only_the_victim_lost(course: Path, reason_words: str) -> None:
    rows = {r["student"]: r for r in Gradebook(default_url(course)).rows()}
    assert set(rows) == {*HONEST, "victim"}
    for student, score in SCORES.items():
        assert rows[student]["score"] == score, rows[student]["functions"]
    victim = rows["victim"]
    assert victim["score"] == 0
    assert all(i["reason"].startswith(STOPPED) and reason_words in i["reason"] for i in victim["functions"].values()), \
        victim["functions"]
    assert any(reason_words in flag for flag in victim["flags"])


def assert_nothing_left_to_grade(course: Path) -> None:
    """The next run would grade nothing: the victim is recorded under its fingerprint, not retried.

    (Asked of `pending` at once rather than of a second run: the fingerprint covers the checks,
    which may change in a working tree between two runs.)
    """
    assert pending(Course(course), Gradebook(default_url(course)), force=False) == ([], 4)


def test_a_worker_killed_mid_class_costs_only_its_submission(tmp_path):
    course = class_with_victim(tmp_path, "import subprocess\nsubprocess.run(['sleep', '777'])\n")
    command = ["dropout-grader", "grade", "--course", str(course), "--jobs", "2"]
    grading = subprocess.Popen(command, env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = worker_holding_the_sleeper()
    os.kill(worker, signal.SIGKILL)
    out, err = grading.communicate(timeout=600)
    assert grading.returncode == 0, err[-3000:]
    assert "graded 4 submission(s)" in out
    assert "1 submission(s) stopped their grading worker" in out
    assert "victim/ch02: grading stopped: the grader's worker was killed by SIGKILL" in out, out
    assert_only_the_victim_lost(course, "killed by SIGKILL")
    assert_nothing_left_to_grade(course)


@pytest.mark.skipif(os.geteuid() != 0, reason="a worker's memory cgroup needs root (else an address-space limit)")
def test_a_worker_out_of_memory_costs_only_its_submission(tmp_path):
    course = class_with_victim(tmp_path, FRAMES)
    book = Gradebook(default_url(course))
    counts = grade_all(course, book, jobs=2, cell_timeout=60, worker_memory=3 * 2**29)  # 1.5 GiB per worker
    assert counts["graded"] == 4 and [s for s, _, _ in counts["stopped"]] == ["victim"]
    assert counts["stopped"][0][2] == OUT_OF_MEMORY
    assert_only_the_victim_lost(course, "ran out of memory on this notebook")
    assert_nothing_left_to_grade(course)


def test_a_dask_worker_killed_mid_class_costs_only_its_submission(tmp_path):
    import dask
    from distributed import LocalCluster

    course = class_with_victim(tmp_path, "import subprocess\nsubprocess.run(['sleep', '777'])\n")
    book = Gradebook(default_url(course))
    killer = threading.Thread(target=lambda: os.kill(worker_holding_the_sleeper(), signal.SIGKILL), daemon=True)
    # The cluster gives up on a task after this many worker deaths (3 by default; 0 keeps the test short).
    # A task merely queued on the dying worker counts a death too: with a saturation of 1.0 a worker
    # holds only the task it runs, so with no retries nobody but the victim is given up on.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.worker-saturation": 1.0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        killer.start()
        counts = grade_all(course, book, scheduler=cluster.scheduler_address)
    killer.join(timeout=5)
    assert counts["graded"] == 4 and [s for s, _, _ in counts["stopped"]] == ["victim"]
    assert_only_the_victim_lost(course, "the Dask workers grading this notebook died")
    assert_nothing_left_to_grade(course)
