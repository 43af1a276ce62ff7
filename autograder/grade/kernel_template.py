"""The worker's side of its kernel template (:mod:`autograder.grade.template_main`): start it, ask it for kernels.

One template per grading worker, started on the first notebook and ended with the worker
(bwrap's ``--die-with-parent``). Only as root with per-kernel cgroups: the worker moves each new
kernel into that kernel's own cgroups before it runs, which is what caps its memory and tasks.
Whenever the template cannot give a kernel, the kernel is started alone, as before (see
:class:`TemplateProvisioner`), so a broken template costs time, never a submission.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

from autograder.grade import limits, sandbox

START_TIMEOUT = 300  # seconds for the template's imports (once per worker; slow on a loaded machine)
REPLY_TIMEOUT = 60   # seconds for any other answer


class TemplateUnavailable(RuntimeError):
    pass


def available() -> bool:
    """Only as root with pids and memory cgroups: elsewhere a kernel is started alone."""
    return os.geteuid() == 0 and {"pids", "memory"} <= set(limits._hierarchies())


class ForkedKernel:
    """What jupyter_client needs of a kernel process (a Popen's poll, wait, signals), through a pidfd,
    which names the kernel across the sandbox's PID namespace and never a later process of its number."""

    stdin = stdout = stderr = None

    def __init__(self, pidfd: int):
        self.pidfd = pidfd
        self.pid = _host_pid(pidfd)
        self.returncode = None

    def poll(self):
        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self.returncode = -signal.SIGKILL  # (the exit status belongs to its parent in the sandbox)
            os.close(self.pidfd)
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            select.select([self.pidfd], [], [], timeout)
        return self.poll()

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, number)
            if number == signal.SIGKILL:
                # A moment for it to end (milliseconds): jupyter_client kills a kernel through here, then
                # sleeps 0.1 s between polls while it still looks alive.
                self.wait(timeout=1)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _host_pid(pidfd: int) -> int:
    """The process's PID as this process sees it (the kernel translates it in the pidfd's fdinfo)."""
    for line in Path(f"/proc/self/fdinfo/{pidfd}").read_text().splitlines():
        if line.startswith("Pid:"):
            pid = int(line.split()[1])
            if pid > 0:
                return pid
    raise TemplateUnavailable("the template's child is gone")


def _worker_first_for_the_oom_killer() -> None:
    """The template shares its worker's memory cgroup: when a submission makes the worker run out, the
    worker must be the one killed (its death names that submission), not the template. Raising one's
    own score needs no privilege; the template and its kernels keep the score they started with."""
    adjust = Path("/proc/self/oom_score_adj")
    with contextlib.suppress(OSError, ValueError):
        adjust.write_text(str(max(500, int(adjust.read_text()))))


class Template:
    """A running template; ``kernel()`` forks one confined kernel from it."""

    def __init__(self, hide: list[str], allow: list[str]):
        bwrap = sandbox.require_bwrap()
        self.folder = Path(tempfile.mkdtemp(prefix=f"dropout-grade-{os.getpid()}-template-"))
        os.chmod(self.folder, 0o711)  # each kernel reaches its own folder; none can list the others
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.stderr = self.folder / "template.stderr"
        with open(os.open(self.stderr, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stderr:
            self.process = subprocess.Popen(
                sandbox.template_command(bwrap, str(self.folder), hide, allow, theirs.fileno()),
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                env={"PATH": "/usr/bin:/bin"})
        theirs.close()
        _worker_first_for_the_oom_killer()
        self.hide, self.allow = hide, allow
        self.lock = threading.Lock()  # one request at a time on the socket
        answer, _ = self._receive(START_TIMEOUT)
        if answer.get("state") != "ready" or answer.get("threads") != 1:
            self.stop()  # forking a process with threads running would copy them half-way
            raise TemplateUnavailable(f"the kernel template did not start cleanly: {answer}")

    def _receive(self, timeout: float):
        if not select.select([self.control], [], [], timeout)[0]:
            raise TemplateUnavailable("the kernel template did not answer in time")
        data, fds, _, _ = socket.recv_fds(self.control, 65536, 4)
        if not data:
            said = sandbox.last_line(self.stderr)
            raise TemplateUnavailable(f"the kernel template ended: {said}" if said else "the kernel template ended")
        return json.loads(data), fds

    def kernel(self, argv: list[str], kernel_dir: Path, stdio: list[int], cgroups: str) -> ForkedKernel:
        """A kernel for ``kernel_dir`` (inside ``self.folder``), in ``cgroups`` before it runs anything."""
        with self.lock:
            return self._kernel(argv, kernel_dir, stdio, cgroups)

    def _kernel(self, argv, kernel_dir, stdio, cgroups) -> ForkedKernel:
        request = {"argv": argv, "work": str(kernel_dir / "work"),
                   "env": sandbox.kernel_environment(str(kernel_dir / "work")),
                   "limits": {"RLIMIT_AS": limits.MEMORY_LIMIT, "RLIMIT_FSIZE": limits.FILE_SIZE_LIMIT,
                              "RLIMIT_CORE": 0, "RLIMIT_NPROC": limits.MAX_TASKS}}
        socket.send_fds(self.control, [json.dumps(request).encode()], stdio)
        answer, fds = self._receive(REPLY_TIMEOUT)
        if answer.get("state") != "started" or len(fds) != 1:
            raise TemplateUnavailable(f"the kernel template could not fork: {answer}")
        child = fds[0]
        try:
            host_pid = _host_pid(child)
            groups = [g for g in cgroups.split(os.pathsep) if g]
            if not groups:
                raise TemplateUnavailable("no cgroups for this kernel")
            limits.join_cgroup(cgroups, host_pid)
            # A user of its own, as a lone kernel gets: its number is the child's host PID, which the
            # child holds until the kernel ends (it waits for it), so no two live kernels share one.
            uid = sandbox.KERNEL_UID_BASE + host_pid
            sandbox.hand_over(kernel_dir, uid)
        except BaseException:
            socket.send_fds(self.control, [json.dumps({"state": "stop"}).encode()], [])
            raise
        finally:
            os.close(child)
        socket.send_fds(self.control, [json.dumps({"state": "go", "uid": uid}).encode()], [])
        answer, fds = self._receive(REPLY_TIMEOUT)
        if answer.get("state") != "kernel" or len(fds) != 1:
            raise TemplateUnavailable(f"the kernel template could not start a kernel: {answer}")
        return ForkedKernel(fds[0])

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, keep_folder: bool = False) -> None:
        """End the template; its folder goes too, unless a kernel started alone still uses one in it."""
        with contextlib.suppress(OSError):
            self.control.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if keep_folder:
            _retired.append(self.folder)
        else:
            shutil.rmtree(self.folder, ignore_errors=True)


_running: dict[tuple, Template] = {}
_retired: list[Path] = []  # folders of discarded templates, removed when the worker ends


_starting = threading.Lock()


def template_for(hide: list[str], allow: list[str]) -> Template:
    """This worker's template for these folders, started on first use (one per set of folders)."""
    with _starting:
        return _template_for(hide, allow)


def _template_for(hide: list[str], allow: list[str]) -> Template:
    key = (tuple(hide), tuple(allow))
    template = _running.get(key)
    if template is not None and not template.alive():
        template.stop()
        template = None
    if template is None:
        template = _running[key] = Template(hide, allow)
    return template


def discard(hide: list[str], allow: list[str]) -> None:
    """Stop a template that fell out of step; the kernel being started then starts alone, in its folder."""
    template = _running.pop((tuple(hide), tuple(allow)), None)
    if template is not None:
        template.stop(keep_folder=True)


@atexit.register
def _stop_all() -> None:
    for template in _running.values():
        template.stop()
    _running.clear()
    for folder in _retired:
        shutil.rmtree(folder, ignore_errors=True)
    _retired.clear()


class TemplateProvisioner(LocalProvisioner):
    """Launches the kernel from the worker's template, or alone (the kernel spec's launcher) if that fails."""

    template_request: dict = {}  # set per kernel by the executor: kernel_dir, cgroups, hide, allow

    async def launch_kernel(self, cmd: list[str], **kwargs):
        request = self.template_request
        try:
            template = template_for(request["hide"], request["allow"])
            stdio = [_fileno(kwargs.get(name)) for name in ("stdin", "stdout", "stderr")]
            try:
                self.process = template.kernel(cmd[cmd.index("-f"):], request["kernel_dir"], stdio,
                                               request["cgroups"])
            finally:
                for fd in stdio:
                    os.close(fd)
        except (TemplateUnavailable, OSError, ValueError, KeyError) as err:
            discard(request.get("hide", []), request.get("allow", []))  # out of step with us: the next kernel gets a new one
            self.log.warning("kernel template unavailable (%s); starting the kernel alone", err)
            return await super().launch_kernel(cmd, **kwargs)
        self.pid, self.pgid = self.process.pid, None
        self.cwd = kwargs.get("cwd")
        return self.connection_info


def _fileno(stream) -> int:
    """A descriptor of its own for the kernel's stdin, stdout or stderr (a file, DEVNULL or None)."""
    if stream is None or stream == subprocess.DEVNULL:
        return os.open(os.devnull, os.O_RDWR)
    return os.dup(stream if isinstance(stream, int) else stream.fileno())
