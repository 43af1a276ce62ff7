"""Kernels forked from a worker's kernel template (issue 20, item 1): nothing of one submission reaches the next.

One process (a grading worker's stand-in) runs three notebooks with one template. The first
leaves everything it can: a file in its folder, an environment variable, patched NumPy and
PyTorch modules, a daemon in a new session, a SysV shared-memory segment, a listening abstract
socket. The second, from the same template, looks for each of them, and for its own limits; the
third checks the time limits. The template route is asserted to have been taken (PyTorch is
already imported when the first cell runs), so this test cannot pass by starting kernels alone.
"""
import json
import os
from pathlib import Path

import nbformat
import pytest

from autograder.grade import kernel_template
from autograder.grade.execute import execute
from autograder.grade.limits import FILE_SIZE_LIMIT, MAX_TASKS, MEMORY_LIMIT

pytestmark = pytest.mark.skipif(not kernel_template.available(),
                                reason="kernel templates need root and cgroups (kernels are started alone elsewhere)")

KEY = 0x5EED  # the SysV key the first submission takes
ABSTRACT = "\0dropout-left-behind"

LEAVE = f"""
import ctypes, json, os, socket, subprocess, sys
report = {{"torch_preloaded": "torch" in sys.modules, "uid": os.getuid(), "work": os.getcwd()}}
open("left.txt", "w").write("mine")
os.environ["LEFT_BEHIND"] = "1"
import numpy, torch
numpy.mean = lambda *a, **k: 42
torch.LEFT_BEHIND = True
subprocess.Popen(["sleep", "613"], start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
libc = ctypes.CDLL(None, use_errno=True)
report["shm"] = libc.shmget({KEY}, 4096, 0o1000 | 0o666)  # IPC_CREAT
_listener = socket.socket(socket.AF_UNIX)
_listener.bind({ABSTRACT!r})
_listener.listen()
print(json.dumps(report))
"""

LOOK = f"""
import ctypes, json, os, resource, socket, sys
report = {{"torch_preloaded": "torch" in sys.modules, "uid": os.getuid(), "work": os.getcwd(),
          "own_files": sorted(os.listdir(".")), "env": "LEFT_BEHIND" in os.environ}}
import numpy, torch
report["numpy_mean"] = float(numpy.mean([1.0, 2.0]))
report["torch_patched"] = hasattr(torch, "LEFT_BEHIND")
report["processes"] = sorted(open(f"/proc/{{p}}/cmdline", "rb").read().decode(errors="replace").replace("\\0", " ")
                             for p in os.listdir("/proc") if p.isdigit() and p != str(os.getpid()))
libc = ctypes.CDLL(None, use_errno=True)
report["shm"] = libc.shmget({KEY}, 0, 0)
try:
    socket.socket(socket.AF_UNIX).connect({ABSTRACT!r})
    report["socket"] = "connected"
except OSError as err:
    report["socket"] = type(err).__name__
report["limits"] = {{name: resource.getrlimit(getattr(resource, name))[0]
                    for name in ("RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_CORE")}}
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
report["caps"] = {{k: status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd", "CapInh", "NoNewPrivs")}}
print(json.dumps(report))
"""


def run_cells(tmp_path, name, *cells, **limits):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    scratch = tmp_path / name
    scratch.mkdir()
    return execute(notebook, scratch, hide=(str(Path(__file__).parents[2]),), **limits)


def report_of(run) -> dict:
    texts = [o["text"] for o in run.notebook.cells[0].outputs if o.get("name") == "stdout"]
    assert texts, run.notebook.cells[0].outputs
    return json.loads(texts[-1])


@pytest.fixture(scope="module")
def two_students(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("template")
    first = run_cells(tmp_path, "first", LEAVE)
    second = run_cells(tmp_path, "second", LOOK)
    return report_of(first), report_of(second), second


def test_both_kernels_came_from_the_template(two_students):
    first, second, _ = two_students
    assert first["torch_preloaded"] and second["torch_preloaded"]


def test_the_first_submission_did_leave_its_traces(two_students):
    first, _, _ = two_students
    assert first["shm"] >= 0  # (so the look below for it means something)


def test_nothing_of_the_first_submission_is_visible_to_the_next(two_students):
    first, second, _ = two_students
    assert second["uid"] != first["uid"] and second["uid"] != 0
    assert second["work"] != first["work"] and not os.path.exists(first["work"])
    assert "left.txt" not in second["own_files"]
    assert second["env"] is False
    assert second["numpy_mean"] == 1.5 and second["torch_patched"] is False
    assert not any("sleep" in p for p in second["processes"]), second["processes"]
    assert second["shm"] == -1
    assert second["socket"] in ("ConnectionRefusedError", "FileNotFoundError")


def test_no_process_of_the_first_kernel_outlives_it(two_students):
    first, _, _ = two_students
    owners = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid = int(next(line.split()[1] for line in status.read_text().splitlines() if line.startswith("Uid:")))
        except (OSError, StopIteration):
            continue
        owners.append(uid)
    assert first["uid"] not in owners


def test_a_forked_kernel_has_the_limits_and_no_privilege(two_students):
    _, second, _ = two_students
    assert second["limits"] == {"RLIMIT_AS": MEMORY_LIMIT, "RLIMIT_FSIZE": FILE_SIZE_LIMIT,
                                "RLIMIT_NPROC": MAX_TASKS, "RLIMIT_CORE": 0}
    assert int(second["caps"]["CapEff"], 16) == int(second["caps"]["CapPrm"], 16) == 0
    assert int(second["caps"]["CapBnd"], 16) == int(second["caps"]["CapInh"], 16) == 0
    assert second["caps"]["NoNewPrivs"] == "1"


def test_the_cell_and_notebook_time_limits_hold(tmp_path):
    run = run_cells(tmp_path, "slow", "import time\ntime.sleep(30)", "print('next')", cell_timeout=3)
    assert any(o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt") for o in run.notebook.cells[0].outputs), \
        run.notebook.cells[0].outputs
    assert "next" in "".join(o.get("text", "") for o in run.notebook.cells[1].outputs)
    run = run_cells(tmp_path, "endless", "import sys\nprint('torch' in sys.modules, flush=True)\nwhile True:\n    pass",
                    cell_timeout=60, notebook_timeout=8)
    assert run.problem and "longer than 8 s" in run.problem
    assert run.seconds < 30


def test_a_worker_without_a_template_starts_kernels_alone(tmp_path, monkeypatch):
    """A template that cannot start costs time, never the submission."""
    def broken(*args, **kwargs):
        raise kernel_template.TemplateUnavailable("broken on purpose")

    monkeypatch.setattr(kernel_template, "Template", broken)
    monkeypatch.setattr(kernel_template, "_running", {})
    run = run_cells(tmp_path, "alone", "import sys\nprint('torch' in sys.modules)")
    assert run.problem is None
    assert run.notebook.cells[0].outputs[0]["text"].strip() == "False"


def test_a_template_that_fails_half_way_costs_time_not_the_submission(tmp_path, monkeypatch):
    """The template started, then could not give this kernel: it is discarded, and the kernel starts
    alone in the folder made for it inside the template's (which must outlive the template)."""
    monkeypatch.setattr(kernel_template, "_running", {})
    real = kernel_template.Template._kernel

    def out_of_step(self, *args):
        kernel_template.Template._kernel = real  # once
        raise kernel_template.TemplateUnavailable("out of step on purpose")

    monkeypatch.setattr(kernel_template.Template, "_kernel", out_of_step)
    run = run_cells(tmp_path, "half-way", "import sys\nprint('torch' in sys.modules)")
    assert run.problem is None, run.problem
    assert run.notebook.cells[0].outputs[0]["text"].strip() == "False"  # started alone
    again = run_cells(tmp_path, "next", "import sys\nprint('torch' in sys.modules)")
    assert again.problem is None and again.notebook.cells[0].outputs[0]["text"].strip() == "True"  # a new template


def threads_in_a_kernel(course_root, student, assignment, notebook):
    run = run_cells(Path(course_root), student, "import os, torch\nprint(os.environ.get('OMP_NUM_THREADS'), torch.get_num_threads())")
    return {"student": student, "assignment": assignment, "said": run.notebook.cells[0].outputs[0]["text"].split()}


def test_a_workers_kernels_run_its_share_of_the_cores(tmp_path, monkeypatch):
    """The kernel template imported PyTorch before any kernel existed: its kernels must still use the
    worker's share of the cores, not one thread per core each."""
    from autograder.grade import scheduling

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    jobs = len(os.sched_getaffinity(0)) + 1  # one thread each, on any machine
    todo = [(f"s{i}", "ch02", Path("/nowhere")) for i in range(2)]
    results = list(scheduling.run(threads_in_a_kernel, tmp_path, todo, lambda *a: {"lost": a}, jobs=jobs))
    assert [r["said"] for r in results] == [["1", "1"], ["1", "1"]], results
