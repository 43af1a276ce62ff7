"""Run each student kernel inside a bubblewrap sandbox.

nbgrader (trusted) starts kernels through a kernel spec we write into the scratch course; the
spec runs this module, which wraps the real IPython kernel in ``bwrap``:

* the whole file system is mounted read-only; the only writable places are the notebook's own
  folder and a private temporary folder (``TMPDIR`` and ``HOME``); ``/tmp`` is emptied too,
  unless the project itself lives there;
* the instructor's course folder (hidden tests, gradebooks, other students' work), the
  exercise sources and the scratch course around the notebook are replaced by empty folders;
* new PID and IPC namespaces: when the kernel ends, everything it started ends with it;
* a clean environment (no instructor secrets in ``os.environ``);
* no capabilities, even when grading as root, so the sandbox cannot be remounted;
* a cap on processes: ``RLIMIT_NPROC`` here for ordinary users, a ``pids`` cgroup set up by
  the grader for root (which ``RLIMIT_NPROC`` does not bind); memory, file size and wall time
  are limited by the grader (:mod:`autograder.grading`).

What it does not stop: reading world-readable files elsewhere on the machine, connecting to
services on the loopback network (the kernel talks to nbgrader over it), and burning CPU
until the cell timeout. Run the grader on a machine that holds nothing else of value.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .limits import CGROUP_ENV, MAX_TASKS, join_cgroup

HIDE_ENV = "DROPOUT_GRADER_HIDE"  # os.pathsep-separated folders the kernel must not see
SCRATCH_ENV = "DROPOUT_GRADER_SCRATCH"  # where kernels' private temporary folders go (removed with it)
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "MPLBACKEND", "OMP_NUM_THREADS", "PYDEVD_DISABLE_FILE_VALIDATION")


class SandboxUnavailable(RuntimeError):
    pass


def require_bwrap() -> str:
    """The bwrap binary, after checking that it can create a sandbox on this machine."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code would run without file-system "
            "isolation. Install it (Debian/Ubuntu: apt-get install bubblewrap; `python3 run.py setup` "
            "does this as root) or pass --no-sandbox if you trust every submission.")
    probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bwrap is installed but cannot create a sandbox here ({probe.stderr.strip()}). Enable "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or run as root; "
            "or pass --no-sandbox if you trust every submission.")
    return bwrap


def write_kernelspec(root: Path) -> Path:
    """A `python3` kernel spec under ``root`` that starts kernels in the sandbox.

    Put ``root`` first on ``JUPYTER_PATH``; the notebooks ask for `python3`, and the first
    spec of that name on the path wins over the one ipykernel ships.
    """
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "autograder.sandbox", "-f", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        # bwrap does not pass signals on, so interrupts travel as a message on the control channel.
        "interrupt_mode": "message",
    }))
    return root


def _tasks_of(uid: int) -> int:
    """Processes and threads that `uid` owns now: RLIMIT_NPROC counts them all."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue  # the process ended while we looked
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            total += int(fields.get("Threads", "1"))
    return total


def _software_under(folder: str) -> bool:
    """Whether the interpreter, the venv or the project live at or below ``folder``."""
    from .paths import REPO

    needed = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve(), REPO]
    folder = Path(folder).resolve()
    return any(folder == p.resolve() or folder in p.resolve().parents for p in needed)


def _to_hide(folder: str) -> list[str]:
    """``folder`` itself, or, when it holds the software (a course folder that contains the
    project, a clone under /tmp), those of its subfolders that do not."""
    if not os.path.isdir(folder):
        return []
    if not _software_under(folder):
        return [folder]
    # Symbolic links are left alone: bwrap cannot mount over them, and their targets are hidden or not on their own.
    return [str(child) for child in Path(folder).iterdir()
            if child.is_dir() and not child.is_symlink() and not _software_under(str(child))]


def _bwrap_command(bwrap: str, workdir: str, private: str, runtime_dir: str, kernel_args: list[str]) -> list[str]:
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm", "--tmpfs", "/run"]
    if not _software_under("/tmp"):
        cmd += ["--tmpfs", "/tmp"]  # other programs' temporary files out of sight too
    for folder in [*os.environ.get(HIDE_ENV, "").split(os.pathsep), runtime_dir]:
        for path in _to_hide(folder) if folder else []:
            cmd += ["--tmpfs", path]
    home = f"{private}/home"
    # Mounted after the hiding, so these two stay visible (and writable) inside hidden folders.
    cmd += ["--bind", workdir, workdir, "--bind", private, private, "--chdir", workdir,
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL",
            "--clearenv", "--setenv", "HOME", home, "--setenv", "TMPDIR", private,
            "--setenv", "MPLCONFIGDIR", f"{home}/.mpl", "--setenv", "IPYTHONDIR", f"{home}/.ipython"]
    for name in KEPT_ENV:
        if name in os.environ:
            cmd += ["--setenv", name, os.environ[name]]
    return cmd + ["--", sys.executable, "-m", "ipykernel_launcher", *kernel_args]


def main(argv: list[str]) -> None:
    """Kernel-spec entry point: ``-f CONNECTION_FILE`` plus whatever nbgrader appends."""
    bwrap = require_bwrap()
    connection = Path(argv[argv.index("-f") + 1])
    workdir = os.getcwd()  # nbgrader starts the kernel in the notebook's folder
    private = tempfile.mkdtemp(prefix="kernel-", dir=os.environ.get(SCRATCH_ENV))
    (Path(private) / "home").mkdir()
    # The runtime folder holding the original is hidden (it has other kernels' keys): pass a copy.
    shutil.copyfile(connection, Path(private) / "connection.json")
    kernel_args = [a if a != str(connection) else f"{private}/connection.json" for a in argv]
    join_cgroup(os.environ.get(CGROUP_ENV))  # as root: the grader's `pids` cgroup caps processes
    if os.geteuid() != 0:
        # Ordinary users: RLIMIT_NPROC (root ignores it, hence the cgroup above).
        limit = _tasks_of(os.getuid()) + MAX_TASKS
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    os.execv(bwrap, _bwrap_command(bwrap, workdir, private, str(connection.parent), kernel_args))


if __name__ == "__main__":
    main(sys.argv[1:])
