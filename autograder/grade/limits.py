"""Resource limits for student kernels: numbers, and the cgroups that cap a kernel as a whole (as root).

Per-process limits (address space, file size) alone let a kernel add up many processes or
files; as root, every kernel also gets a `pids` cgroup (root is exempt from RLIMIT_NPROC, and
a fork bomb must stop) and a `memory` cgroup (all its processes, and the files it writes to
its tmpfs work folder, count against one budget, swap included).
"""
from __future__ import annotations

import contextlib
import os
import resource
import signal
import time
import uuid
from pathlib import Path

MEMORY_LIMIT = 6 * 2**30       # bytes of address space per process
KERNEL_MEMORY_LIMIT = 4 * 2**30  # bytes of memory (and tmpfs files) of one kernel and all it starts (root)
FILE_SIZE_LIMIT = 512 * 2**20  # bytes any one written file may reach (runaway output)
MAX_TASKS = 512                # processes and threads of one kernel and its children

# What a kernel sends back, in bytes as they arrive (JSON of every frame: text, data, metadata,
# transient, headers). The one place these numbers live; the README quotes them.
MESSAGE_LIMIT = 16 * 2**20          # one message; a message past it is refused undecoded (after ZeroMQ received it)
OUTPUT_LIMIT = 16 * 2**20           # one output (a display update counts once for every output it rewrites)
NOTEBOOK_OUTPUT_LIMIT = 64 * 2**20  # all outputs of one notebook, counted as they arrive (collected data aside)
QUEUED_MESSAGES = {"iopub": 128}     # messages ZeroMQ may hold unread per channel (others: replies, 16)
KEPT_NOTEBOOK_LIMIT = 8 * 2**20     # the graded notebook kept for feedback, as written to the course folder
OUTPUT_KEPT = 20_000                # characters of each text output kept for feedback (a student may print 100 MB)
IMAGE_KEPT = 2**20                  # characters of one image kept for feedback

# The trusted worker that runs one submission's kernel and judges its data: its own memory, so a
# submission that makes it grow (or a bug) ends that worker only. As root a `memory` cgroup (real
# memory, no swap); otherwise an address-space limit, which counts reserved as well as used memory.
WORKER_MEMORY_LIMIT = 4 * 2**30
WORKER_ADDRESS_LIMIT = 16 * 2**30
CGROUP_ENV = "DROPOUT_GRADER_CGROUP"  # os.pathsep-separated cgroups each sandboxed kernel joins (root only)
GROUP_PREFIX = "dropout-grader-"  # then the grader's PID, so leftovers of a killed run are known


def join_cgroup(groups: str | None, pid: int | None = None) -> None:
    """Move ``pid`` (default: this process) into each of ``groups``; its children are born there."""
    for group in filter(None, (groups or "").split(os.pathsep)):
        Path(group, "cgroup.procs").write_text(str(pid or os.getpid()))


def kill_members(groups: str | None) -> None:
    """SIGKILL every process in ``groups`` (a kernel made by a template names no folder in its command line)."""
    for group in filter(None, (groups or "").split(os.pathsep)):
        with contextlib.suppress(OSError, ValueError):
            for pid in Path(group, "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)


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


def worker_group(pid: int, grader: int | None = None) -> Path | None:
    """The memory cgroup of the grading worker ``pid`` started by ``grader`` (default: this process), or None.

    Named after the grader, not the worker: a dead worker's group must outlive the worker until
    the grader has read why it died; once the grader is gone, any run's sweep removes it.
    """
    hierarchy = _hierarchies().get("memory")
    return hierarchy / f"{GROUP_PREFIX}{grader or os.getpid()}-worker-{pid}" if hierarchy else None


def cap_worker_memory(limit: int = WORKER_MEMORY_LIMIT, address: int = WORKER_ADDRESS_LIMIT,
                      grader: int | None = None) -> str:
    """Put this process, a grading worker of ``grader`` (default: its parent), under a memory limit of
    its own; says which kind.

    Kernels it starts leave its cgroup for their own at once (see ``join_cgroup``), so the
    limit is the worker's: the trusted checks, the notebook being graded, the messages in flight.
    """
    group = worker_group(os.getpid(), grader=grader or os.getppid())
    if group is not None:
        try:
            group.mkdir(exist_ok=True)
            for file, value in (("memory.max", limit), ("memory.limit_in_bytes", limit), ("memory.swap.max", 0),
                                ("memory.memsw.limit_in_bytes", limit)):
                with contextlib.suppress(OSError):
                    (group / file).write_text(str(value))
            (group / "cgroup.procs").write_text(str(os.getpid()))
            return f"memory cgroup of {limit / 2**30:g} GiB"
        except OSError:
            pass  # not allowed here (a container): an address-space limit instead
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        address = min(address, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (address, hard))  # soft only: a kernel launcher may raise its own
    except (ValueError, OSError):
        return "no limit of its own (the system refused one)"  # a worker that cannot start would cost every submission
    return f"address space of {address / 2**30:g} GiB"


def worker_ran_out_of_memory(pid: int) -> bool:
    """Whether the kernel's OOM killer acted in the cgroup of the (ended) worker ``pid``."""
    group = worker_group(pid)
    for name in ("memory.events", "memory.oom_control"):  # v2, v1: both have a line "oom_kill N"
        with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
            for line in (group / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
    return False


def release_worker_group(pid: int) -> None:
    group = worker_group(pid)
    if group is not None and group.exists():
        _empty_and_remove(group)
