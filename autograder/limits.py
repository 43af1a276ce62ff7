"""Resource limits for student kernels: numbers, and the cgroups that cap a kernel as a whole (as root).

Per-process limits (address space, file size) alone let a kernel add up many processes or
files; as root, every kernel also gets a `pids` cgroup (root is exempt from RLIMIT_NPROC, and
a fork bomb must stop) and a `memory` cgroup (all its processes, and the files it writes to
its tmpfs work folder, count against one budget, swap included).
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

MEMORY_LIMIT = 6 * 2**30       # bytes of address space per process
KERNEL_MEMORY_LIMIT = 4 * 2**30  # bytes of memory (and tmpfs files) of one kernel and all it starts (root)
FILE_SIZE_LIMIT = 512 * 2**20  # bytes any one written file may reach (runaway output)
MAX_TASKS = 512                # processes and threads of one kernel and its children
CGROUP_ENV = "DROPOUT_GRADER_CGROUP"  # os.pathsep-separated cgroups each sandboxed kernel joins (root only)
GROUP_PREFIX = "dropout-grader-"  # then the grader's PID, so leftovers of a killed run are known


def join_cgroup(groups: str | None) -> None:
    for group in filter(None, (groups or "").split(os.pathsep)):
        Path(group, "cgroup.procs").write_text(str(os.getpid()))


def _hierarchies() -> dict[str, Path]:
    """Where root can make `pids` and `memory` cgroups: {controller: folder} (v1 or v2)."""
    if os.geteuid() != 0:
        return {}  # ordinary users get RLIMIT_NPROC from the kernel launcher instead
    found = {}
    for controller in ("pids", "memory"):
        v1 = Path("/sys/fs/cgroup") / controller
        if (v1 / "cgroup.procs").exists():
            found[controller] = v1
    v2 = Path("/sys/fs/cgroup")
    with contextlib.suppress(OSError):
        enabled = (v2 / "cgroup.subtree_control").read_text().split()
        for controller in ("pids", "memory"):
            if controller in enabled and controller not in found:
                found[controller] = v2
    return found


def _pids_hierarchy() -> Path | None:
    return _hierarchies().get("pids")


_LIMITS = {  # controller -> [(file, value)]: the first file that exists is written (v2 name, v1 name)
    "pids": [("pids.max", str(MAX_TASKS))],
    "memory": [("memory.max", str(KERNEL_MEMORY_LIMIT)), ("memory.limit_in_bytes", str(KERNEL_MEMORY_LIMIT)),
               ("memory.swap.max", "0"), ("memory.memsw.limit_in_bytes", str(KERNEL_MEMORY_LIMIT))],
}


@contextlib.contextmanager
def process_cap():
    """Fresh cgroups for one kernel, as an os.pathsep-separated string ("" where out of reach).

    On the way out every process left in them is killed and the groups removed.
    """
    groups, name = [], f"{GROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    for controller, hierarchy in _hierarchies().items():
        group = hierarchy / name
        with contextlib.suppress(OSError):
            group.mkdir(exist_ok=True)
            for file, value in _LIMITS[controller]:
                with contextlib.suppress(OSError):
                    (group / file).write_text(value)
            if group not in groups:
                groups.append(group)
    try:
        yield os.pathsep.join(map(str, groups))
    finally:
        for group in groups:
            _empty_and_remove(group)


def owner_alive(name: str, prefix: str) -> bool:
    """Whether the grader whose PID follows ``prefix`` in ``name`` is still running."""
    try:
        pid = int(name[len(prefix):].split("-")[0])
    except ValueError:
        return True  # not ours to judge
    return process_alive(pid)


def process_alive(pid: int) -> bool:
    """Running, not merely a zombie: a killed worker nobody reaped will never clean up again."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in {"Z", "X"}


def remove_stale_cgroups() -> None:
    """Groups left by a grader that was killed (SIGKILL skips every clean-up)."""
    for hierarchy in set(_hierarchies().values()):
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
