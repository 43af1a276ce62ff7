"""The kernel template: runs inside a grading worker's bubblewrap sandbox, forks one kernel per submission.

Importing NumPy, PyTorch and ipykernel costs about 3 s of CPU, far more than a sample student's
code. The template pays it once per worker, then for each submission forks a child that puts
itself in fresh namespaces, drops to the kernel's own user and becomes that submission's kernel.
The template itself never runs student code, so nothing a student does reaches it or the next
student: each kernel is a copy of the template's memory taken before any student ran.

Per kernel, as :mod:`autograder.grade.sandbox` does with ``bwrap`` for a kernel started alone:
new mount, PID, IPC, UTS, network and cgroup namespaces (no process, SysV or POSIX IPC object,
abstract socket or mount of another kernel is visible or survives its kernel); a fresh ``/proc``
and a fresh tmpfs ``work`` folder; its own user id, no capabilities, no way to gain any; the
same resource limits; the per-kernel cgroups, which the worker joins it to before it is let go.

This file is run with ``python -c`` inside the sandbox (which hides the repository), so it
imports nothing of ours. Protocol on the inherited socket (SOCK_SEQPACKET, one JSON message per
packet, descriptors as SCM_RIGHTS): the template says ``ready``; for each ``fork`` request (with
the kernel's stdin, stdout and stderr) it answers ``started`` with a pidfd of the child, waits
for ``go`` (the child's uid, once the worker has put it in its cgroups), then answers ``kernel``
with a pidfd of the kernel.
"""
import ctypes
import json
import os
import random
import resource
import signal
import socket
import sys
import tempfile

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x20000000, 0x40000000)
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
LAST_CAPABILITY = 63  # dropping a capability the running kernel does not know is refused harmlessly

libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _mount(source: str, target: str, kind: str | None, flags: int, options: str | None = None) -> None:
    _check(libc.mount(source.encode(), target.encode(), kind.encode() if kind else None, flags,
                      options.encode() if options else None), f"mount {target}")


def _send(control, message: dict, fds=()) -> None:
    socket.send_fds(control, [json.dumps(message).encode()], list(fds))


def _receive(control):
    data, fds, _, _ = socket.recv_fds(control, 65536, 8)
    if not data:
        raise SystemExit(0)  # the worker is gone
    return json.loads(data), fds


def _clear_inheritable_capabilities() -> None:
    """What setuid leaves: the inheritable set (bwrap's --cap-add fills it), emptied as ``setpriv --inh-caps=-all`` does."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()                 # effective, permitted, inheritable (x2 words): all empty
    _check(libc.capset(header, data), "capset")


def _confine(request: dict, uid: int) -> None:
    """In PID 1 of the kernel's namespace, still root: everything before the kernel is forked."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # ends with its parent, which ends with the template
    _check(libc.unshare(CLONE_NEWCGROUP), "unshare cgroup")  # its cgroups, joined by now, are its root
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this namespace's processes only
    work = request["work"]
    # On tmpfs, its files count against the kernel's memory cgroup; gone with its mount namespace.
    _mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for kind, value in request["limits"].items():
        number = getattr(resource, kind)
        resource.setrlimit(number, (value, value))
    for capability in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to another user: effective and permitted capabilities are cleared
    _clear_inheritable_capabilities()
    os.setsid()
    os.chdir(work)
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # read TMPDIR again
    random.seed()  # the template's state was drawn once; each kernel draws its own, as a fresh one would
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


def _become_kernel(request: dict, uid: int, stdio: list[int]) -> None:
    try:
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        os.closerange(3, 1 << 16)  # the worker's socket first of all: a student must never talk to it
        _confine(request, uid)
    except BaseException as err:  # noqa: BLE001 - the kernel must not start half-confined
        os.write(2, f"the kernel template could not confine a kernel: {err!r}\n".encode())
        os._exit(70)
    kernel = os.fork()
    if kernel == 0:
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=request["argv"])
        os._exit(0)
    _init(kernel)


def _init(kernel: int) -> None:
    """PID 1 of the kernel's namespace, as bwrap's is: reaps orphans, ends with the kernel (and so does
    everything the kernel started). The kernel itself is PID 2, so signals reach it as in any process."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _child(request: dict, go: int, report: int, stdio: list[int]) -> None:
    """Between the template and the kernel: new namespaces, then the kernel as their PID 1."""
    try:
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET), "unshare")
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        answer = os.read(go, 64)
        if not answer:
            os._exit(71)  # the worker refused (or died): nothing starts
        uid = int(answer)
        kernel = os.fork()
        if kernel == 0:
            _become_kernel(request, uid, stdio)
        os.write(report, str(kernel).encode())
        _, status = os.waitpid(kernel, 0)  # held while the kernel lives: its uid is this child's host PID
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    except BaseException:  # noqa: BLE001
        os._exit(72)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _serve_one(control, request: dict, stdio: list[int]) -> None:
    go_read, go_write = os.pipe()
    report_read, report_write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(control.detach())
        os.close(go_write)
        os.close(report_read)
        _child(request, go_read, report_write, stdio)
    for fd in (go_read, report_write, *stdio):
        os.close(fd)
    try:
        handle = os.pidfd_open(child)
        _send(control, {"state": "started"}, [handle])
        os.close(handle)
        answer, _ = _receive(control)
        if answer.get("state") != "go":
            return  # the child reads end-of-file and stops
        os.write(go_write, str(int(answer["uid"])).encode())
        kernel = os.read(report_read, 64)
        if not kernel:
            _send(control, {"state": "failed"})
            return
        handle = os.pidfd_open(int(kernel))
        _send(control, {"state": "kernel"}, [handle])
        os.close(handle)
    finally:
        os.close(go_write)
        os.close(report_read)


def main(control_fd: int) -> None:
    if "" in sys.path:
        sys.path.remove("")
    os.chdir("/")
    import numpy  # noqa: F401 - imported once here, so that no kernel pays for it
    import torch  # noqa: F401
    from ipykernel import ipkernel, kernelapp, zmqshell  # noqa: F401 - and what a kernel imports as it starts
    import debugpy  # noqa: F401
    import IPython.core.history  # noqa: F401
    import ipykernel.debugger  # noqa: F401 - the kernel's debugger class loads pydevd: 0.3 of a kernel's 0.45 s start

    control = socket.socket(fileno=control_fd)
    import threading

    # No Python thread may run at a fork (it would be copied half-way). OpenBLAS's native pool, which
    # NumPy starts, is stopped by OpenBLAS itself at each fork (pthread_atfork) and restarted on use.
    _send(control, {"state": "ready", "threads": threading.active_count()})
    while True:
        request, stdio = _receive(control)
        _reap()
        _serve_one(control, request, stdio)


if __name__ == "__main__":
    main(int(sys.argv[1]))
