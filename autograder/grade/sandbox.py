"""Start each student kernel inside a bubblewrap sandbox, as an unprivileged user, with no network.

The executor (:mod:`autograder.grade.execute`) gives every notebook its own *kernel folder*, which
holds the kernel's connection file and its IPC sockets (the kernel talks to the grader over
Unix sockets in that folder, never over a network) and a ``work`` folder that is the
kernel's working directory, ``HOME`` and ``TMPDIR``. The kernel spec runs this module as the
launcher; the launcher (still trusted) prepares limits and identity, then execs ``bwrap``:

* the file system is read-only; the kernel folder is the only writable place;
* ``/tmp``, the instructor's course folder, the project's folder, the grader's scratch folder
  and Jupyter's runtime folder are replaced by empty folders, and only what the kernel needs is
  put back read-only: the interpreter, the virtual environment, the student-side checks
  (``dropout_kit``) and the collectors (``dropout_collect``). The reference solution, the
  trusted checks, the exercise sources, the sample class and the repository's history stay
  out of sight;
* new network, PID, IPC and UTS namespaces: no network at all (not even the loopback of the
  machine), no view of other processes, and everything the kernel starts ends with it;
* when grading as root each kernel runs as a user of its own (uid 1,500,000,000 + its launcher's
  PID) that owns nothing but its folder; a clean environment; no capabilities;
* limits: address space, file size, no core dumps, a cap on processes and threads
  (a ``pids`` cgroup as root, and ``RLIMIT_NPROC`` for the kernel's user in any case).

As root with cgroups, a grading worker starts one such sandbox per worker instead, holding a
kernel template (:func:`template_command`, :mod:`autograder.grade.kernel_template`), and forks
each kernel from it into namespaces, a user, a folder and limits of its own
(:mod:`autograder.grade.template_main`); this launcher is then the fallback.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.grade.limits import CGROUP_ENV, FILE_SIZE_LIMIT, MAX_TASKS, MEMORY_LIMIT, join_cgroup

HIDE_ENV = "DROPOUT_GRADER_HIDE"    # os.pathsep-separated folders the kernel must not see
ALLOW_ENV = "DROPOUT_GRADER_ALLOW"  # os.pathsep-separated folders put back, read-only
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "OMP_NUM_THREADS", "PYDEVD_DISABLE_FILE_VALIDATION")
KERNEL_UID_BASE = 1_500_000_000  # as root, each kernel runs as uid KERNEL_UID_BASE + its launcher's PID (far above /etc/subuid ranges)


class SandboxUnavailable(RuntimeError):
    pass


def require_bwrap() -> str:
    """The bwrap binary, after checking that it can create a sandbox with no network here."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code would run without isolation. Install it "
            "(Debian/Ubuntu: apt-get install bubblewrap; `python3 run.py setup` does this as root) or pass "
            "--no-sandbox if you trust every submission.")
    probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bwrap is installed but cannot create a sandbox here ({probe.stderr.strip()}). Enable "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or run as root; "
            "or pass --no-sandbox if you trust every submission.")
    return bwrap


def last_line(log: Path) -> str:
    """The last non-empty line a sandboxed process wrote to its log (at most 300 characters), or ""."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def write_kernelspec(root: Path) -> Path:
    """A `python3` kernel spec under ``root`` that starts kernels through this launcher.

    Put ``root`` first on ``JUPYTER_PATH``: the notebooks ask for `python3`, and the first
    spec of that name on the path wins over the one ipykernel ships.
    """
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "autograder.grade.sandbox", "-f", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        # bwrap does not pass signals on, so interrupts travel as a message on the control channel.
        "interrupt_mode": "message",
    }))
    return root


def needed_folders() -> list[str]:
    """What a student kernel must see: the interpreter, the venv, the kit and the collectors."""
    import dropout_collect
    import dropout_kit

    return [sys.prefix, sys.base_prefix, str(Path(dropout_kit.__file__).parent),
            str(Path(dropout_collect.__file__).parent)]


SYSTEM_FOLDERS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _system_mounts() -> list[str]:
    """The operating system's folders, read-only (merged-/usr links stay links)."""
    cmd = []
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            cmd += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            cmd += ["--ro-bind", folder, folder]
    return cmd


def _inside(path: str, folder: str) -> bool:
    return (path.rstrip("/") + "/").startswith(folder.rstrip("/") + "/")


def _file_system(bwrap: str, folder: str, hide: list[str], allow: list[str]) -> list[str]:
    """Mounts shared by a lone kernel's sandbox and a kernel template's: ``folder`` is the writable one."""
    binds = sorted({a for a in allow if a and os.path.isdir(a)}, key=len)
    cmd = [bwrap, *_system_mounts(), "--dev", "/dev", "--proc", "/proc",
           "--tmpfs", "/dev/shm", "--tmpfs", "/run", "--tmpfs", "/tmp"]
    # Every folder leading to a mount point must exist and be passable by the kernel's user.
    taken = {"/", "/dev", "/proc", "/run", "/tmp", *SYSTEM_FOLDERS}
    passages = {str(p) for dest in [*binds, folder] for p in Path(dest).parents
                if str(p) not in taken and not any(_inside(str(p), b) for b in binds)}
    for path in sorted(passages, key=len):
        cmd += ["--perms", "0755", "--dir", path]
    for path in binds:
        cmd += ["--ro-bind", path, path]
    hidden = [h for h in hide if h and os.path.isdir(h) and any(_inside(h, b) for b in [*binds, *SYSTEM_FOLDERS])]
    for path in sorted(set(hidden), key=len):
        cmd += ["--tmpfs", path, "--remount-ro", path]
    return cmd + ["--bind", folder, folder]


NAMESPACES = ["--remount-ro", "/tmp", "--remount-ro", "/run", "--remount-ro", "/",
              "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
              "--die-with-parent", "--new-session", "--clearenv"]


def kernel_environment(work: str) -> dict[str, str]:
    """A kernel's whole environment: its folder for everything it writes, and a few settings kept."""
    return {"HOME": work, "TMPDIR": work, "MPLCONFIGDIR": f"{work}/.mpl", "IPYTHONDIR": f"{work}/.ipython",
            "MPLBACKEND": "Agg", "USER": "student", "LOGNAME": "student",
            **{name: os.environ[name] for name in KEPT_ENV if name in os.environ}}


def _setenv(environment: dict[str, str]) -> list[str]:
    return [part for name, value in environment.items() for part in ("--setenv", name, value)]


def bwrap_command(bwrap: str, kernel_dir: str, hide: list[str], allow: list[str], kernel_args: list[str],
                  uid: int | None) -> list[str]:
    """The ``bwrap`` command line for one kernel (pure: unit-tested without starting anything).

    The sandbox's file system is built from an allow-list: the operating system's folders and
    ``allow`` (interpreter, venv, student-side packages), all read-only; a fresh ``/dev``,
    ``/proc``, ``/tmp``; and the kernel folder, whose ``work`` subfolder is a private tmpfs.
    Anything in ``hide`` that lies inside an allowed folder is replaced by an empty one.
    With ``uid`` (grading as root), bwrap keeps the capabilities it needs to mount, and
    ``setpriv`` inside the sandbox drops to that user, with no capabilities at all, before the
    kernel starts. Without it, the kernel runs as the grader's own user, capabilities dropped.
    """
    work = f"{kernel_dir}/work"
    cmd = [*_file_system(bwrap, kernel_dir, hide, allow),
           # On tmpfs, the kernel's files count against its memory (capped by its cgroup as root).
           "--perms", "01777", "--tmpfs", work, "--chdir", work, *NAMESPACES, *_setenv(kernel_environment(work))]
    kernel = [sys.executable, "-m", "ipykernel_launcher", *kernel_args]
    if uid is not None:
        return cmd + ["--", shutil.which("setpriv") or "/usr/bin/setpriv", "--reuid", str(uid),
                      "--regid", str(uid), "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--", *kernel]
    return cmd + ["--cap-drop", "ALL", "--", *kernel]


# What the kernel template keeps, as root in its sandbox, to make each kernel's namespaces and mounts
# and to become its user; each kernel drops all of them (bounding set included) before it starts.
TEMPLATE_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_DAC_READ_SEARCH")


def template_command(bwrap: str, folder: str, hide: list[str], allow: list[str], control_fd: int) -> list[str]:
    """The ``bwrap`` command line of a worker's kernel template (root only; see ``template_main``).

    The same file system and namespaces as a lone kernel's, with ``folder`` (where each kernel's
    folder is made) in place of the kernel folder; no ``work`` tmpfs here: each kernel mounts its own.
    """
    source = (Path(__file__).parent / "template_main.py").read_text()
    cmd = [*_file_system(bwrap, folder, hide, allow), "--chdir", "/", *NAMESPACES,
           *_setenv(kernel_environment("/nonexistent")), "--cap-drop", "ALL"]
    for capability in TEMPLATE_CAPABILITIES:
        cmd += ["--cap-add", capability]
    return cmd + ["--", sys.executable, "-c", source, str(control_fd)]


def _tasks_of(uid: int) -> int:
    """Processes and threads that ``uid`` owns now: RLIMIT_NPROC counts them all."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue  # the process ended while we looked
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            total += int(fields.get("Threads", "1"))
    return total


def hand_over(kernel_dir: Path, uid: int) -> None:
    """Give the kernel folder (connection file, sockets, work folder) to the kernel's user."""
    for path in [kernel_dir, *kernel_dir.rglob("*")]:
        os.lchown(path, uid, uid)


def main(argv: list[str]) -> None:
    """Kernel-spec entry point: ``-f CONNECTION_FILE`` plus whatever the executor appends."""
    bwrap = require_bwrap()
    connection = Path(argv[argv.index("-f") + 1])
    kernel_dir = connection.parent
    (kernel_dir / "work").mkdir(exist_ok=True)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    uid = None
    if os.geteuid() == 0:
        join_cgroup(os.environ.get(CGROUP_ENV))  # the cgroup caps processes, whatever the user
        # A user of its own per kernel: RLIMIT_NPROC then counts this kernel's tasks only, and
        # no kernel can signal, trace or share files with another.
        uid = KERNEL_UID_BASE + os.getpid()
        hand_over(kernel_dir, uid)
    # Inherited by the kernel, which is never root: there RLIMIT_NPROC binds.
    limit = _tasks_of(uid if uid is not None else os.getuid()) + MAX_TASKS
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    hide = os.environ.get(HIDE_ENV, "").split(os.pathsep)
    allow = os.environ.get(ALLOW_ENV, "").split(os.pathsep)
    # bwrap is the sandbox's first process, whose environment a same-user kernel could read
    # in /proc/1/environ: it gets a bare one.
    os.execve(bwrap, bwrap_command(bwrap, str(kernel_dir), hide, allow, argv, uid),
              {"PATH": "/usr/bin:/bin", **{k: os.environ[k] for k in KEPT_ENV if k in os.environ}})


if __name__ == "__main__":
    main(sys.argv[1:])
