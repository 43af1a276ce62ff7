"""Resource limits for student kernels: numbers, and the `pids` cgroup that caps processes as root."""
from __future__ import annotations

import contextlib
import os
import resource
import signal
import time
import uuid
from pathlib import Path

MEMORY_LIMIT = 6 * 2**30      # bytes of address space per process
FILE_SIZE_LIMIT = 512 * 2**20  # bytes any one written file may reach (runaway output)


MAX_TASKS = 512               # processes and threads of one kernel and its children
CGROUP_ENV = "DROPOUT_GRADER_CGROUP"  # the cgroup each sandboxed kernel joins (root only)
GROUP_PREFIX = "dropout-grader-"  # then the grader's PID, so leftovers of a killed run are known


def join_cgroup(group: str | None) -> None:
    if group:
        Path(group, "cgroup.procs").write_text(str(os.getpid()))


def _pids_hierarchy() -> Path | None:
    """Where root can make a `pids` cgroup (v1 or v2); None when it cannot."""
    if os.geteuid() != 0:
        return None  # ordinary users get RLIMIT_NPROC from the kernel launcher instead
    v1 = Path("/sys/fs/cgroup/pids")
    if (v1 / "cgroup.procs").exists():
        return v1
    v2 = Path("/sys/fs/cgroup")
    with contextlib.suppress(OSError):
        if "pids" in (v2 / "cgroup.subtree_control").read_text().split():
            return v2
    return None


@contextlib.contextmanager
def process_cap(max_tasks: int = MAX_TASKS):
    """A fresh `pids` cgroup capped at ``max_tasks`` (None where cgroups are out of reach).

    Root is exempt from RLIMIT_NPROC, so this is what stops a fork bomb when grading as root.
    On the way out every process left in the group is killed and the group removed.
    """
    hierarchy, group = _pids_hierarchy(), None
    if hierarchy is not None:
        candidate = hierarchy / f"{GROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        with contextlib.suppress(OSError):
            candidate.mkdir()
            (candidate / "pids.max").write_text(str(max_tasks))
            group = candidate
    try:
        yield group
    finally:
        if group is not None:
            _empty_and_remove(group)


def owner_alive(name: str, prefix: str) -> bool:
    """Whether the grader whose PID follows ``prefix`` in ``name`` is still running."""
    try:
        pid = int(name[len(prefix):].split("-")[0])
    except ValueError:
        return True  # not ours to judge
    return Path(f"/proc/{pid}").exists()


def remove_stale_cgroups() -> None:
    """Groups left by a grader that was killed (SIGKILL skips every clean-up)."""
    hierarchy = _pids_hierarchy()
    if hierarchy is None:
        return
    for group in hierarchy.glob(f"{GROUP_PREFIX}*"):
        if not owner_alive(group.name, GROUP_PREFIX):
            _empty_and_remove(group)


def _empty_and_remove(group: Path) -> None:
    for _ in range(50):
        with contextlib.suppress(OSError):
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not pids:
                group.rmdir()
                return
        time.sleep(0.1)
