"""Run one notebook in a fresh, sandboxed kernel with nbgrader's executor, and give back its cells.

Every notebook gets its own kernel folder under the run's scratch folder (connection file,
IPC sockets, working directory; see :mod:`autograder.sandbox`), its own kernel, a time limit
per cell and one for the whole notebook. Nothing trusted reads or writes in that folder
except the connection file written before the kernel starts; the executed cells come back
over the kernel protocol (HMAC-signed with a key for this kernel only) and are held in memory.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import sandbox
from .limits import CGROUP_ENV, process_cap

OUTPUT_KEPT = 20_000            # characters of each text output kept for feedback (a student may print 100 MB)
OUTPUT_LIMIT = 32 * 2**20       # characters of one output the grader accepts at all (collected data is far less)
NOTEBOOK_OUTPUT_LIMIT = 128 * 2**20  # characters of all outputs of one notebook, likewise
IMAGE_KEPT = 2**20              # bytes of one image kept for feedback
OUTPUT_MESSAGES = ("stream", "display_data", "execute_result", "update_display_data", "error")


def _content_size(content: dict) -> int:
    """About how many characters an output message carries (what it would cost to keep)."""
    size = len(content.get("text", "")) + len(str(content.get("evalue", "")))
    size += sum(len(line) for line in content.get("traceback", []) if isinstance(line, str))
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
    return size


def _bounded(preprocessor_class):
    """nbgrader's executor, refusing outputs past the limits as they arrive (not after the fact)."""

    from dropout_collect.wire import MIME

    class Bounded(preprocessor_class):
        def process_message(self, msg, cell, cell_index):
            data = msg.get("content", {}).get("data") or {}
            if msg.get("msg_type") in ("display_data", "execute_result") and MIME in data:
                # Collected data counts only in a graded cell, and only its last output is judged:
                # keep one per cell, outside the notebook's budget for everything else.
                if not (cell.get("metadata", {}).get("nbgrader") or {}).get("grade") \
                        or _content_size(msg["content"]) > OUTPUT_LIMIT:
                    return None
                cell.outputs = [o for o in cell.outputs if MIME not in o.get("data", {})]
                return super().process_message(msg, cell, cell_index)
            if msg.get("msg_type") in OUTPUT_MESSAGES:
                size = _content_size(msg.get("content", {}))
                self.output_spent = getattr(self, "output_spent", 0) + size
                if size > OUTPUT_LIMIT or self.output_spent > NOTEBOOK_OUTPUT_LIMIT:
                    noted = self.__dict__.setdefault("noted_cells", set())
                    if cell_index not in noted:
                        noted.add(cell_index)
                        cell.outputs.append(nbformat.v4.new_output(
                            "stream", name="stderr", text="[the grader dropped output past its size limit]\n"))
                    return None
            return super().process_message(msg, cell, cell_index)

    return Bounded


@dataclass
class Execution:
    notebook: nbformat.NotebookNode   # the cells as run, outputs included
    problem: str | None               # why the run ended early (kernel died, notebook over time), or None
    seconds: float


def _manager_class(kernel_dir: Path):
    """A kernel manager that talks over IPC sockets in ``kernel_dir`` (no TCP port is opened)."""
    from jupyter_client.manager import AsyncKernelManager

    class FolderKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = str(kernel_dir / "s")
            self.connection_file = str(kernel_dir / "kernel.json")

        async def _async_start_kernel(self, **kwargs):
            # The kernel's own chatter (connection banners) stays out of the grader's terminal;
            # its stderr is kept beside its folder, for when a kernel cannot start.
            kwargs.setdefault("stdout", subprocess.DEVNULL)
            with open(kernel_dir.with_suffix(".stderr"), "wb") as stderr:
                kwargs.setdefault("stderr", stderr)
                return await super()._async_start_kernel(**kwargs)

        start_kernel = _async_start_kernel

    return FolderKernelManager


def _kill_processes_mentioning(marker: str) -> None:
    """SIGKILL every process whose command line names ``marker`` (this kernel's launcher and sandbox)."""
    needle = marker.encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError, ValueError):
            if needle in cmdline.read_bytes():
                os.kill(int(cmdline.parent.name), signal.SIGKILL)


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            return f"; the kernel said: {lines[-1][:300]}"
    return ""


def _cut(text: str) -> str:
    if len(text) <= OUTPUT_KEPT:
        return text
    return text[:OUTPUT_KEPT] + f"\n[... {len(text) - OUTPUT_KEPT} more characters cut by the grader]\n"


def _lock(kernel_dir: Path) -> None:
    """Once the kernel is up (its sockets exist), its folder goes back to root: the kernel can no
    longer create, replace or grow anything there (as root only; see the README's limits)."""
    if os.geteuid() != 0:
        return
    for path in [*kernel_dir.iterdir(), kernel_dir]:
        os.lchown(path, 0, 0)
    os.chmod(kernel_dir, 0o755)


def trim_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Cut runaway text, tracebacks and images down to what feedback can show.

    The collected data (the grader's own MIME type) is left whole: it is judged, then dropped.
    """
    from dropout_collect.wire import MIME

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output.text = _cut(output.get("text", ""))
            elif output.get("output_type") == "error":
                output.traceback = [_cut(line) for line in output.get("traceback", [])[:200]]
                output.evalue = _cut(str(output.get("evalue", "")))
            for mime, value in list(output.get("data", {}).items()):
                if mime == MIME:
                    continue
                if isinstance(value, str) and mime.startswith("image/") and len(value) > IMAGE_KEPT:
                    del output.data[mime]
                elif isinstance(value, str):
                    output.data[mime] = _cut(value)
                elif len(json.dumps(value, default=str)) > OUTPUT_KEPT:
                    del output.data[mime]
    return notebook


def execute(notebook: nbformat.NotebookNode, scratch: Path, cell_timeout: int = 60, notebook_timeout: float = 600,
            isolate: bool = True, hide: tuple[str, ...] = ()) -> Execution:
    """Run every cell of ``notebook`` (a copy is run); never raises for anything the notebook does."""
    from nbclient.exceptions import DeadKernelError
    from nbgrader.preprocessors import Execute

    notebook = nbformat.from_dict(notebook)
    os.chmod(scratch, 0o711)  # the kernel's user must pass through to its own folder, and list nothing
    kernel_dir = Path(tempfile.mkdtemp(prefix="k-", dir=scratch))
    (kernel_dir / "work").mkdir()
    start = time.monotonic()
    deadline = start + notebook_timeout
    problem = None
    overtime = threading.Event()

    def stop_overtime():
        overtime.set()
        _kill_processes_mentioning(str(kernel_dir))

    watchdog = threading.Timer(notebook_timeout, stop_overtime)
    preprocessor = _bounded(Execute)(
        timeout=cell_timeout, interrupt_on_timeout=True, allow_errors=True, raise_on_iopub_timeout=False,
        timeout_func=lambda cell: max(1, min(cell_timeout, int(deadline - time.monotonic()) + 1)),
        startup_timeout=60, shutdown_kernel="immediate", kernel_name="python3",
        on_notebook_start=lambda **_: _lock(kernel_dir),
        kernel_manager_class=_manager_class(kernel_dir))
    environment = {}
    if isolate:
        environment = {"JUPYTER_PATH": str(sandbox.write_kernelspec(scratch / "jupyter")),
                       sandbox.HIDE_ENV: os.pathsep.join(hide),
                       sandbox.ALLOW_ENV: os.pathsep.join(sandbox.needed_folders())}
    saved = {k: os.environ.get(k) for k in [*environment, CGROUP_ENV]}
    try:
        with process_cap() as cgroups:
            os.environ.update(environment)
            os.environ[CGROUP_ENV] = cgroups
            watchdog.start()
            try:
                preprocessor.preprocess(notebook, {"metadata": {"path": str(kernel_dir / "work")}})
            except DeadKernelError:
                problem = ("the notebook's kernel died while it ran (did an answer cell end its own process, "
                           "or use more memory than allowed?)")
            except Exception as err:  # noqa: BLE001 - a kernel that will not start or answer costs this notebook only
                tail = _tail(kernel_dir.with_suffix(".stderr"))
                problem = f"the notebook could not be run ({type(err).__name__}: {str(err)[:300]}){tail}"
    finally:
        watchdog.cancel()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _kill_processes_mentioning(str(kernel_dir))
        shutil.rmtree(kernel_dir, ignore_errors=True)
        kernel_dir.with_suffix(".stderr").unlink(missing_ok=True)
    if overtime.is_set():
        problem = f"the notebook ran longer than {notebook_timeout:.0f} s in all and was stopped"
    return Execution(trim_outputs(notebook), problem, time.monotonic() - start)
