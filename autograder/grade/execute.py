"""Run one notebook in a fresh, sandboxed kernel with nbgrader's executor, and give back its cells.

Every notebook gets its own kernel folder under the run's scratch folder (connection file,
IPC sockets, working directory; see :mod:`autograder.grade.sandbox`), its own kernel, a time limit
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
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.grade import kernel_template, sandbox
from autograder.grade.limits import (CGROUP_ENV, IMAGE_KEPT, MESSAGE_LIMIT, NOTEBOOK_OUTPUT_LIMIT, OUTPUT_KEPT, OUTPUT_LIMIT,
                     QUEUED_MESSAGES, kill_members, process_cap)
from autograder.course.cells import is_grade

OUTPUT_MESSAGES = ("stream", "display_data", "execute_result", "update_display_data", "error")
REFUSED = "grader_refused"      # what a message past MESSAGE_LIMIT becomes, before anything in it is decoded
SIZE = "grader_bytes"           # key the session adds to each message: the bytes of all its frames
SMALL_FRAME = 2**16             # a header, parent header or metadata frame larger than this is not read


def _message_size(msg: dict) -> int:
    """Bytes a message came in (set by the session), or about as many for one made up locally."""
    return msg.get(SIZE) or len(json.dumps(msg.get("content", {}), default=str))


def _bounded_session_class():
    """A jupyter_client Session that refuses, undecoded, a message whose frames add up past MESSAGE_LIMIT.

    ZeroMQ has received the frames whole by then (no ``MAXMSGSIZE``: see the client below and
    README, "What it does not stop"); refusing them here keeps them out of the notebook and out
    of the grader's memory after this call.
    """
    from jupyter_client.session import Session

    class BoundedSession(Session):
        def deserialize(self, msg_list, content=True, copy=True):
            size = sum(len(part) if isinstance(part, bytes) else len(part.buffer) for part in msg_list)
            if size > MESSAGE_LIMIT or len(msg_list) > 5:  # frames past the 5th are buffers: only widgets use them
                return _refused(msg_list, size)
            message = super().deserialize(msg_list, content=content, copy=copy)
            message[SIZE] = size
            return message

    def _refused(msg_list, size):
        """A stand-in that names the parent cell when the refused message was an output, so the cell says so."""
        header, parent = {}, {}
        with contextlib.suppress(Exception):
            if len(msg_list[1]) <= SMALL_FRAME and len(msg_list[2]) <= SMALL_FRAME:
                header, parent = json.loads(bytes(msg_list[1])), json.loads(bytes(msg_list[2]))
        if not (isinstance(header, dict) and header.get("msg_type") in OUTPUT_MESSAGES and isinstance(parent, dict)):
            parent = {}  # never routed: a refused reply must not stand in for the kernel's answer
        return {"header": {"msg_type": REFUSED, "msg_id": ""}, "msg_id": "", "msg_type": REFUSED,
                "parent_header": {"msg_id": parent.get("msg_id")} if parent else {}, "metadata": {},
                "content": {"bytes": size}, "buffers": [], SIZE: size}

    return BoundedSession


def _bounded_client_class():
    """The kernel client: ZeroMQ holds few messages unread (a kernel writing to a channel nobody
    reads, such as stdin, gets no further)."""
    from queue import Empty

    import zmq
    from jupyter_client.asynchronous import AsyncKernelClient

    class BoundedClient(AsyncKernelClient):
        def _create_connected_socket(self, channel, identity=None):
            # The client connects before its kernel has bound: retry every 10 ms, not ZeroMQ's 100
            # (80 ms of a forked kernel's 0.55 s, measured). Set on the context, so that the socket
            # has it when it connects.
            self.context.setsockopt(zmq.RECONNECT_IVL, 10)
            socket = super()._create_connected_socket(channel, identity)
            # No MAXMSGSIZE: ZeroMQ reads it only when connecting, and then drops the connection on
            # an oversized frame, so the rest of the notebook would go unheard; the session refuses by size.
            socket.setsockopt(zmq.RCVHWM, QUEUED_MESSAGES.get(channel, 16))
            return socket

        async def _async_wait_for_ready(self, timeout=None):
            """jupyter_client's, but the IOPub messages queued by then are drained without waiting 0.2 s
            for silence (a fifth of a forked kernel's start; nbclient skips messages of other requests)."""
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                with contextlib.suppress(Empty):
                    reply = await self.shell_channel.get_msg(timeout=1)
                    if reply["msg_type"] == "kernel_info_reply":
                        await self.iopub_channel.get_msg(timeout=0.2)  # IOPub is connected once this arrives
                        self._handle_kernel_info_reply(reply)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
            with contextlib.suppress(Empty):
                while True:
                    await self.iopub_channel.get_msg(timeout=0)

        # AsyncKernelClient binds ``wait_for_ready`` to KernelClient's function, not to a name looked
        # up on the instance, so an override of ``_async_wait_for_ready`` alone is never called.
        wait_for_ready = _async_wait_for_ready

    return BoundedClient


def _sane_content(msg: dict) -> None:
    """What nbclient copies into the notebook without looking: an execution count, a display id,
    data and metadata (mappings, or the grader's own checks would be fooled by a string)."""
    content = msg.get("content")
    if not isinstance(content, dict):
        msg["content"] = content = {}
    for field in ("data", "metadata"):
        if field in content and not isinstance(content[field], dict):
            content[field] = {}
    count = content.get("execution_count")
    if count is not None and not (type(count) is int and 0 <= count < 10**9):
        del content["execution_count"]
    transient = content.get("transient")
    if transient is not None and not (isinstance(transient, dict) and isinstance(transient.get("display_id", ""), str)
                                      and len(transient.get("display_id", "")) <= 200):
        content["transient"] = {}


def _bounded(preprocessor_class):
    """nbgrader's executor, counting every byte of every message against the limits as it arrives.

    A display update rewrites every earlier output with the same display id (nbclient's
    fan-out), so it costs its size once per output it rewrites. Widget (comm) messages are
    dropped: nothing graded needs them, and their state would pile up in the grader.
    """
    from dropout_collect.wire import MIME

    class Bounded(preprocessor_class):
        def process_message(self, msg, cell, cell_index):
            kind = msg.get("msg_type", "")
            _sane_content(msg)
            if kind == REFUSED:
                return self._note(cell, cell_index, f"a message of {msg['content']['bytes']:,} bytes, more than the "
                                                    f"{MESSAGE_LIMIT:,} the grader reads")
            if kind.startswith("comm"):
                return None
            if kind not in OUTPUT_MESSAGES:
                return super().process_message(msg, cell, cell_index)
            size = _message_size(msg)
            if MIME in (msg["content"].get("data") or {}):
                return self._collected(msg, cell, cell_index, size)
            cost = size * self._copies(msg)
            if size > OUTPUT_LIMIT:
                return self._note(cell, cell_index, f"an output of {size:,} bytes (at most {OUTPUT_LIMIT:,} each)")
            if self.__dict__.get("output_spent", 0) + cost > NOTEBOOK_OUTPUT_LIMIT:
                return self._note(cell, cell_index, f"output past the notebook's {NOTEBOOK_OUTPUT_LIMIT:,} bytes")
            self.__dict__["output_spent"] = self.__dict__.get("output_spent", 0) + cost
            return self._process(msg, cell, cell_index)

        def _copies(self, msg) -> int:
            """How many outputs this message writes: one new output, plus every one it rewrites."""
            display_id = (msg["content"].get("transient") or {}).get("display_id")
            rewritten = sum(map(len, self._display_id_map.get(display_id, {}).values())) if display_id else 0
            return rewritten + (msg["msg_type"] != "update_display_data")

        def _collected(self, msg, cell, cell_index, size):
            """Collected data counts only in a graded cell, and only its last output is judged: one per
            cell is kept, outside the budget for everything else (a print loop must not cost the data)."""
            graded = is_grade(cell)
            plain = msg["msg_type"] in ("display_data", "execute_result") and not msg["content"].get("transient")
            if not graded or not plain or size > OUTPUT_LIMIT:
                return None
            for output in cell.outputs:  # emptied in place: nbclient's display ids point at output indices
                if MIME in output.get("data", {}):
                    output["data"] = {}
            return self._process(msg, cell, cell_index)

        def _process(self, msg, cell, cell_index):
            if cell_index >= self.__dict__.get("hidden_from", 0):
                # From the first hidden test on, outputs get no display id: no later update may rewrite
                # an output of a cell that ran before it, which is all a student's feedback shows.
                msg["content"].pop("transient", None)
            try:
                return super().process_message(msg, cell, cell_index)
            except (KeyError, IndexError, TypeError, ValueError, AttributeError):  # a malformed output message
                return self._note(cell, cell_index, "a malformed output message")

        def _note(self, cell, cell_index, what):
            """Tell the student, once per cell, that output was dropped (shown in the feedback)."""
            noted = self.__dict__.setdefault("noted_cells", set())
            if cell_index not in noted:
                noted.add(cell_index)
                cell.outputs.append(nbformat.v4.new_output(
                    "stream", name="stderr", text=f"[the grader dropped output past its size limit: {what}]\n"))
            return None

    return Bounded


@dataclass
class Execution:
    notebook: nbformat.NotebookNode   # the cells as run, outputs included
    problem: str | None               # why the run ended early (kernel died, notebook over time), or None
    seconds: float
    started: bool = True              # False: no kernel came up, so none of the student's code ran (the grader's problem)


def _manager_class(kernel_dir: Path, template: dict | None = None):
    """A kernel manager that talks over IPC sockets in ``kernel_dir`` (no TCP port is opened).

    With ``template`` (see :mod:`autograder.grade.kernel_template`), the kernel is forked from
    the worker's kernel template rather than started alone.
    """
    from jupyter_client.manager import AsyncKernelManager

    class FolderKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.session = _bounded_session_class()(parent=self)  # a fresh key, written to the connection file
            self.client_factory = _bounded_client_class()
            self.transport = "ipc"
            self.ip = str(kernel_dir / "s")
            self.connection_file = str(kernel_dir / "kernel.json")

        async def _async_pre_start_kernel(self, **kwargs):
            if template is not None and self.provisioner is None:
                from autograder.grade.kernel_template import TemplateProvisioner

                self.kernel_id = self.kernel_id or uuid.uuid4().hex
                self.provisioner = TemplateProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                       parent=self)
                self.provisioner.template_request = template
            return await super()._async_pre_start_kernel(**kwargs)

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
        if "execution_count" in cell and type(cell.execution_count) is not int:
            cell.execution_count = None  # the kernel's reply sets it, and a student can make it anything
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


def _written_size(notebook: nbformat.NotebookNode) -> int:
    """Bytes of the notebook as :func:`grading._keep` writes it."""
    return len(nbformat.writes(notebook).encode("utf-8", "replace"))


def _size(value) -> int:
    return len(json.dumps(value, default=str))


CUT_NOTE = "[an output of "  # how the note that replaces a cut output begins


def _cut_largest_outputs(notebook, excess: int, limit: int) -> bool:
    outputs = [(_size(o), cell, i) for cell in notebook.cells for i, o in enumerate(cell.get("outputs", []))
               if not str(o.get("text", "")).startswith(CUT_NOTE)]
    for size, cell, index in sorted(outputs, key=lambda item: -item[0]):
        if excess <= 0:
            break
        note = nbformat.v4.new_output("stream", name="stderr", text=(
            f"{CUT_NOTE}{size:,} bytes was cut by the grader: the notebook kept for feedback is limited "
            f"to {limit:,} bytes]\n"))
        cell.outputs[index] = note
        excess -= size - _size(note)
    return bool(outputs)


def _cut_longest_sources(notebook, excess: int, limit: int) -> bool:
    cut = False
    for cell in sorted(notebook.cells, key=lambda c: -len(c.source)):
        if excess <= 0 or len(cell.source) <= OUTPUT_KEPT + 100:  # (+100: the note of a cut already made)
            break
        before = _size(cell.source)
        cell.source = (cell.source[:OUTPUT_KEPT]
                       + f"\n[... {len(cell.source) - OUTPUT_KEPT:,} more characters cut by the grader]\n")
        excess -= before - _size(cell.source)
        cut = True
    return cut


def _cut_last_cells(notebook, excess: int, limit: int) -> bool:
    """The last resort for a notebook of very many cells: its last cells are left out."""
    if len(notebook.cells) <= 1:
        return False
    while excess > 0 and len(notebook.cells) > 1:
        excess -= _size(notebook.cells.pop())
    notebook.cells.append(nbformat.v4.new_markdown_cell(
        f"*[The grader left out the rest of this notebook: the copy kept for feedback is limited to {limit:,} bytes.]*"))
    return True


def fit_to_size(notebook: nbformat.NotebookNode, limit: int) -> nbformat.NotebookNode:
    """The notebook cut down to at most ``limit`` bytes as written, saying in each place what was cut.

    Outputs go first, largest first (each replaced by a line saying so); then, for a notebook
    whose own code is that large, the longest cell sources; then, past all that, its last cells.
    """
    for cut in (_cut_largest_outputs, _cut_longest_sources, _cut_last_cells):
        excess = _written_size(notebook) - limit
        while excess > 0 and cut(notebook, excess, limit):
            excess = _written_size(notebook) - limit
    return notebook


def execute(notebook: nbformat.NotebookNode, scratch: Path, cell_timeout: int = 60, notebook_timeout: float = 600,
            isolate: bool = True, hide: tuple[str, ...] = ()) -> Execution:
    """Run every cell of ``notebook`` (a copy is run); never raises for anything the notebook does."""
    from nbclient.exceptions import DeadKernelError
    from nbgrader.preprocessors import Execute

    from autograder.grade.rebuild import first_hidden_cell

    notebook = nbformat.from_dict(notebook)
    os.chmod(scratch, 0o711)  # the kernel's user must pass through to its own folder, and list nothing
    hide_list, allow_list = list(hide), sandbox.needed_folders() if isolate else []
    forked = isolate and kernel_template.available()
    template = None
    if forked:
        with contextlib.suppress(Exception):  # no template: the kernel starts alone, slower, graded the same
            template = kernel_template.template_for(hide_list, allow_list)
    # A forked kernel's folder must lie in the folder its template's sandbox shows.
    kernel_dir = Path(tempfile.mkdtemp(prefix="k-", dir=template.folder if template else scratch))
    (kernel_dir / "work").mkdir()
    start = time.monotonic()
    deadline = start + notebook_timeout
    problem = None
    overtime = threading.Event()
    ready = threading.Event()  # the kernel answered: from here on, what goes wrong may be the notebook's doing
    cgroups = ""

    def stop_overtime():
        overtime.set()
        _kill_processes_mentioning(str(kernel_dir))
        kill_members(cgroups)

    watchdog = threading.Timer(notebook_timeout, stop_overtime)
    request = {"kernel_dir": kernel_dir, "hide": hide_list, "allow": allow_list} if template else None
    preprocessor = _bounded(Execute)(
        timeout=cell_timeout, interrupt_on_timeout=True, allow_errors=True, raise_on_iopub_timeout=False,
        timeout_func=lambda cell: max(1, min(cell_timeout, int(deadline - time.monotonic()) + 1)),
        startup_timeout=60, shutdown_kernel="immediate", kernel_name="python3", store_widget_state=False,
        on_notebook_start=lambda **_: (ready.set(), _lock(kernel_dir)),
        kernel_manager_class=_manager_class(kernel_dir, request))
    environment = {}
    if isolate:
        environment = {"JUPYTER_PATH": str(sandbox.write_kernelspec(scratch / "jupyter")),
                       sandbox.HIDE_ENV: os.pathsep.join(hide_list),
                       sandbox.ALLOW_ENV: os.pathsep.join(allow_list)}
    saved = {k: os.environ.get(k) for k in [*environment, CGROUP_ENV]}
    try:
        with process_cap() as groups:
            cgroups = groups
            if request is not None:
                request["cgroups"] = groups
            os.environ.update(environment)
            os.environ[CGROUP_ENV] = groups
            watchdog.start()
            try:
                preprocessor.__dict__["hidden_from"] = first_hidden_cell(notebook)
                preprocessor.preprocess(notebook, {"metadata": {"path": str(kernel_dir / "work")}})
            except DeadKernelError:
                problem = ("the notebook's kernel died while it ran (did an answer cell end its own process, "
                           "or use more memory than allowed?)")
            except Exception as err:  # noqa: BLE001 - a kernel that will not start or answer costs this notebook only
                said = sandbox.last_line(kernel_dir.with_suffix(".stderr"))
                tail = f"; the kernel said: {said}" if said else ""
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
    return Execution(trim_outputs(notebook), problem, time.monotonic() - start, started=ready.is_set())
