"""Run one submission's notebooks, cell by cell, in sandboxed kernels; survive what student code does.

This runs in a worker process of the grading engine (autograder/grading/engine.py) and never touches the
gradebook: it takes sanitized notebooks in and gives executed notebooks back. nbclient drives the
kernel; what this module adds is what nbgrader's Execute lacks:

- **A dead kernel costs only the cell that killed it.** When a cell kills the kernel (`os._exit`,
  a segfault, a resource limit) or runs past its timeout, that cell gets an error output saying
  so, a fresh kernel is started, the cells that build state (everything but test cells) are run
  again silently, and grading goes on with the next cell. Test cells that had passed keep their
  credit; later exercises still get theirs.
- **Timeouts per cell and per notebook.** Cells that the notebook's time budget leaves unrun get
  an error output too, so that nbgrader's scoring (which gives full marks to a test cell without
  an error) never credits a test that did not run.
- **Output limits.** A cell keeps at most `output_limit` bytes of output, counted over every way
  output reaches the grader (outputs, their metadata, display updates, widget messages); the rest is
  dropped with a note, before it can fill the grader's memory. A single message larger than
  `MAX_MESSAGE_BYTES` is refused by ZeroMQ itself before it is read. The kernel's own stdout and
  stderr go nowhere: a kernel cannot write to the grader's terminal.
- **A test passes only when it says so.** A test cell whose execution the kernel reports as failed
  gets an error output even if student code hid the exception; after a test cell that passed, the
  grader asks the kernel's integrity check (autograder.checks.integrity.report) whether IPython's and the
  interpreter's machinery are still as the setup cell left them, and a test cell after which they
  are not fails. nbgrader scores a test cell by whether it has an error output, so these outputs
  are what makes such a cell score 0.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

import subprocess

import nbformat
import zmq
import zmq.asyncio
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import default

from .sandbox import Sandbox, process_tree_cpu_seconds


MAX_MESSAGE_BYTES = 64 * 2**20
"""Largest message part the grader accepts from a kernel; ZeroMQ drops larger ones unread."""

INTEGRITY_PROBE = "__import__('autograder.checks.integrity', fromlist=['report']).report()"
"""Evaluated in the kernel (as a user expression, not through the cell's input transformers) after
each test cell that passed; autograder.checks.integrity.report returns 'intact' when nothing was changed."""

_zmq_contexts: dict[int, zmq.asyncio.Context] = {}


def _limited_zmq_context() -> zmq.asyncio.Context:
    """One ZeroMQ context per process whose sockets refuse messages over MAX_MESSAGE_BYTES. Per process:
    a ZeroMQ context does not survive fork, and the grading engine's workers are forked from a parent
    that may have run a notebook itself (nbgrader's autograde through SandboxedExecute); an inherited
    context is left alone, never used."""
    pid = os.getpid()
    if pid not in _zmq_contexts:
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        _zmq_contexts[pid] = context
    return _zmq_contexts[pid]


class KernelStartError(RuntimeError):
    """The sandboxed kernel would not start: a problem of the grading machine, not of the submission."""


@dataclass(frozen=True)
class ExecutionJob:
    """One submission to run: its sanitized notebooks (name -> JSON text) and supporting files."""

    student: str
    notebooks: dict[str, str]
    slot: int
    slot_root: str
    sandbox: Sandbox
    cell_timeout: float            # these four: GradingSettings.run_options() (autograder/grading/settings.py)
    notebook_timeout: float
    output_limit: int
    max_restarts: int
    files: dict[str, bytes] = field(default_factory=dict)
    matplotlib_cache: str | None = None


@dataclass
class Event:
    """Something the grader did to a cell: kernel_died, timeout, not_run, output_truncated, restarted."""

    notebook: str
    cell: int
    kind: str
    message: str
    grade_id: str | None = None


@dataclass
class ExecutionResult:
    student: str
    notebooks: dict[str, str]          # name -> executed notebook JSON
    events: list[Event]
    seconds: float
    kernel_cpu: float = 0.0            # CPU seconds the sandboxed kernels used (those stopped by the grader)


def is_test_cell(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


GRADER_ERRORS = ("CellTimeoutError", "KernelDied", "NotRun", "UnreadableOutput", "TestDidNotPass", "TamperingDetected")
"""The error outputs the grader itself writes into a notebook; feedback shows their messages
(autograder/grading/feedback_scrub.py reads this list)."""


def error_output(ename: str, evalue: str) -> NotebookNode:
    if ename not in GRADER_ERRORS:
        raise ValueError(f"{ename!r} is not one of GRADER_ERRORS: add it there, so feedback shows it")
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _content_size(content: dict) -> int:
    """Roughly the characters a message's content adds to the notebook (everything it carries)."""
    try:
        return len(repr(content))
    except (RecursionError, MemoryError):   # nested too deep to measure: too big to keep
        return 2**62


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client, ready as soon as the kernel is.

    Its wait_for_ready sends kernel_info until the kernel replies and IOPub has delivered a
    message (so both channels are connected), and then drains IOPub until nothing comes for
    0.2 s: a fifth of a second of waiting in every kernel start, about a third of the start and
    an eighth of a submission's time in its worker. This one does the same handshake, then takes
    only what IOPub already holds. A status message of kernel_info arriving later does no harm:
    nbclient takes only the messages that answer its own requests."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)   # IOPub is connected once it delivers
                except Empty:
                    pass                                            # not yet: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
        while True:   # what IOPub holds already, without waiting for more
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                break


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose connection file the sandboxed (unprivileged) kernel can read, and whose
    clients refuse oversized messages and start without waiting idle (PromptKernelClient)."""

    @default("client_factory")
    def _client_factory_default(self):
        return PromptKernelClient

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)

    def client(self, **kwargs):
        return super().client(context=_limited_zmq_context(), **kwargs)


class LimitedOutputClient(NotebookClient):
    """nbclient's client, keeping at most `output_limit` bytes of output per cell, whichever way the
    output comes (outputs, display updates, widget messages), and recording each execute reply."""

    def __init__(self, *args, output_limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_limit = output_limit
        self.output_bytes: dict[int, int] = {}
        self.dropped_bytes: dict[int, int] = {}
        self.reply_status: dict[int, str | None] = {}
        self.on_cell_executed = self._record_reply
        self._running = (-1, None)

    def _record_reply(self, cell, cell_index, execute_reply) -> None:
        self.reply_status[cell_index] = (execute_reply or {}).get("content", {}).get("status")

    def _within_limit(self, msg, cell_index: int) -> bool:
        size = _content_size(msg["content"])
        used = self.output_bytes.get(cell_index, 0)
        if used + size > self.output_limit:
            self.dropped_bytes[cell_index] = self.dropped_bytes.get(cell_index, 0) + min(size, 2**40)
            return False
        self.output_bytes[cell_index] = used + size
        return True

    def process_message(self, msg, cell, cell_index):
        counted = msg["msg_type"] in ("update_display_data", "comm_open", "comm_msg")
        if counted and not self._within_limit(msg, cell_index):
            return None
        self._running = (cell_index, cell)
        return super().process_message(msg, cell, cell_index)

    def _update_display_id(self, display_id, msg):
        """nbclient's, except that only the running cell's own displays are updated. Otherwise a later cell
        (one that ran after the hidden tests, and may have read them) could rewrite what an earlier cell
        showed, and feedback could not keep the displays of the cells before the hidden tests."""
        cell_index, cell = self._running
        output_indices = self._display_id_map.get(display_id, {}).get(cell_index)
        if not output_indices:
            return
        if msg["header"]["msg_type"] == "update_display_data":
            msg["header"]["msg_type"] = "display_data"
        try:
            out = nbformat.v4.output_from_msg(msg)
        except ValueError:
            return
        for output_index in output_indices:
            if output_index < len(cell.outputs):
                cell.outputs[output_index]["data"] = out["data"]
                cell.outputs[output_index]["metadata"] = out["metadata"]

    def handle_comm_msg(self, outs, msg, cell_index):
        """Widget messages are not needed to grade (their outputs arrive as ordinary outputs) and
        nothing student-made should be stored or interpreted: counted, then ignored."""

    def output(self, outs, msg, display_id, cell_index):
        if not self._within_limit(msg, cell_index):
            return None
        return super().output(outs, msg, display_id, cell_index)


def _describe_exit(status: int | None) -> str:
    if status is None:
        return "the kernel stopped"
    if status < 0 or status > 128:
        number = -status if status < 0 else status - 128
        name = {signal.SIGSEGV: "a segmentation fault", signal.SIGKILL: "SIGKILL (a resource limit or the grader)",
                signal.SIGXCPU: "its CPU-time limit", signal.SIGABRT: "an abort", signal.SIGBUS: "a bus error",
                signal.SIGXFSZ: "its file-size limit"}.get(number, f"signal {number}")
        return f"the kernel was stopped by {name}"
    return f"the kernel process exited with status {status}"


class NotebookRun:
    """Executes one notebook in a sandboxed kernel, restarting the kernel when student code kills it."""

    def __init__(self, job: ExecutionJob, name: str, nb: NotebookNode):
        self.job, self.name, self.nb = job, name, nb
        self.slot_root = Path(job.slot_root)
        self.box = self.slot_root / "box"              # the only folder the kernel can write
        self.events: list[Event] = []
        self.starts = 0
        self.kernel_cpu = 0.0                          # CPU seconds of this notebook's kernels, read as each is stopped
        spec_dir = self.slot_root / "kernelspec" / "sandboxed"   # outside the box: the kernel cannot edit it
        spec_dir.mkdir(parents=True, exist_ok=True)
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": job.sandbox.kernel_argv(self.box, job.slot, self.slot_root / "connection.json"),
            "display_name": "Python 3 (sandboxed)", "language": "python",
        }))
        self.client: LimitedOutputClient | None = None

    def event(self, index: int, kind: str, message: str) -> None:
        grade_id = self.nb.cells[index].metadata.get("nbgrader", {}).get("grade_id") if index >= 0 else None
        self.events.append(Event(self.name, index, kind, message, grade_id))

    async def start_kernel(self) -> None:
        km = SandboxedKernelManager(
            kernel_name="sandboxed",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(self.slot_root / "kernelspec")]),
            transport="ipc", ip=str(self.box / "ipc" / "kernel"),
            connection_file=str(self.slot_root / "connection.json"),
        )
        (self.box / "ipc").mkdir(exist_ok=True)
        shutil.chown(self.box / "ipc", self.job.sandbox.uid(self.job.slot), self.job.sandbox.uid(self.job.slot))
        self.client = LimitedOutputClient(
            self.nb, km=km, timeout=int(self.job.cell_timeout), allow_errors=True, interrupt_on_timeout=False,
            startup_timeout=60, shutdown_kernel="immediate", record_timing=False, store_widget_state=False,
            output_limit=self.job.output_limit,
        )
        self.starts += 1
        try:
            await self.client.async_start_new_kernel(cwd=str(self.box / "work"), env=self.job.sandbox.environment(self.box),
                                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await self.client.async_start_new_kernel_client()
        except Exception as error:
            await self.stop_kernel()
            raise KernelStartError(f"the sandboxed kernel did not start: {type(error).__name__}: {error}") from error

    async def stop_kernel(self) -> int | None:
        """Kill the kernel (and, through its PID namespace, everything it started); its exit status."""
        client, self.client = self.client, None
        if client is None or client.km is None:
            return None
        km = client.km
        status = None
        try:
            if client.kc is not None:
                client.kc.stop_channels()
            if km.has_kernel:
                process = getattr(km.provisioner, "process", None)
                status = process.poll() if process is not None else None
                if process is not None and status is None:
                    self.kernel_cpu += process_tree_cpu_seconds(process.pid)
                    # Killed and reaped here: jupyter_client would poll for its end every 0.1 s.
                    # bubblewrap's --die-with-parent takes the kernel and all it started along.
                    process.kill()
                    process.wait(timeout=10)
                await km.shutdown_kernel(now=True)
        except Exception:
            pass
        finally:
            await km.cleanup_resources()
        return status

    async def run_cell(self, index: int, cell: NotebookNode, deadline: float) -> bool:
        """Run one cell; False when the kernel is gone afterwards (died or was killed at a timeout)."""
        client = self.client
        assert client is not None
        timeout = max(1, int(min(self.job.cell_timeout, deadline - monotonic())))
        client.timeout = timeout
        try:
            await client.async_execute_cell(cell, index)
        except CellTimeoutError:
            cell.outputs.append(error_output(
                "CellTimeoutError", f"this cell ran for more than {timeout} s and was stopped; "
                "the grader went on with the next cell in a fresh kernel"))
            self.event(index, "timeout", f"ran over {timeout} s")
            await self.stop_kernel()
            return False
        except DeadKernelError:
            status = await self.stop_kernel()
            why = _describe_exit(status)
            cell.outputs.append(error_output(
                "KernelDied", f"{why} while running this cell; the grader went on with the next cell in a fresh kernel"))
            self.event(index, "kernel_died", why)
            return False
        except Exception as error:   # a message the grader cannot read (nested too deep, malformed...)
            await self.stop_kernel()
            cell.outputs.append(error_output(
                "UnreadableOutput", "the kernel sent the grader something it cannot read while running this cell "
                f"({type(error).__name__}); the grader went on with the next cell in a fresh kernel"))
            self.event(index, "unreadable_output", type(error).__name__)
            return False
        finally:
            dropped = client.dropped_bytes.pop(index, 0)
            if dropped:
                cell.outputs.append(nbformat.v4.new_output(
                    "stream", name="stdout",
                    text=f"[grader: {dropped:,} more characters of output were dropped; a cell may print "
                         f"at most {self.job.output_limit:,}]\n"))
                self.event(index, "output_truncated", f"{dropped} characters dropped")
        if is_test_cell(cell):
            return await self.confirm_test(index, cell)
        return True

    async def confirm_test(self, index: int, cell: NotebookNode) -> bool:
        """A test cell passes only when the kernel says it ran to its end and the checks' integrity
        still holds; otherwise it gets an error output (False when the kernel is gone)."""
        client = self.client
        assert client is not None
        status = client.reply_status.pop(index, None)
        if any(output.get("output_type") == "error" for output in cell.outputs):
            return True
        if status != "ok":
            cell.outputs.append(error_output(
                "TestDidNotPass", f"this test cell did not run to its end (the kernel reported {status!r}) and "
                "no error was shown: a test passes only when it finishes"))
            self.event(index, "test_not_confirmed", f"execute reply status {status!r}")
            return True
        try:
            msg_id = client.kc.execute("", silent=True, store_history=False,
                                       user_expressions={"integrity": INTEGRITY_PROBE})
            reply = await client.async_wait_for_reply(msg_id)
        except Exception as error:   # timed out or died while answering: treated like the cell itself
            await self.stop_kernel()
            cell.outputs.append(error_output(
                "TestDidNotPass", f"the kernel did not answer the grader's integrity check after this test cell "
                f"({type(error).__name__}); the grader went on in a fresh kernel"))
            self.event(index, "test_not_confirmed", "no answer to the integrity check")
            return False
        answer = ((reply or {}).get("content", {}).get("user_expressions", {}) or {}).get("integrity", {})
        verdict = (answer.get("data") or {}).get("text/plain", "") if answer.get("status") == "ok" else ""
        if verdict != repr("intact"):
            said = verdict.strip("'\"")[:600] or f"no answer ({answer.get('ename', 'nothing came back')})"
            cell.outputs.append(error_output(
                "TamperingDetected", f"after this test cell the notebook's machinery was not as the setup cell "
                f"left it: {said}. Tests cannot be trusted in such a notebook, so this one scores 0."))
            self.event(index, "test_not_confirmed", "integrity check failed")
        return True

    async def restore_state(self, ran: list[int], deadline: float) -> bool:
        """In a fresh kernel, run again the cells that built state (not the tests); False if that fails."""
        self.job.sandbox.clear_slot(self.job.slot)   # what the dead kernel left (prepare_folder did it for the first)
        await self.start_kernel()
        for index in ran:
            cell = self.nb.cells[index]
            if is_test_cell(cell):
                continue
            scratch = copy.deepcopy(cell)
            if not await self.run_cell(index, scratch, deadline):
                self.events.pop()   # the failure is reported on the cells that cannot run
                return False
        return True

    def mark_not_run(self, start: int, reason: str) -> None:
        for index in range(start, len(self.nb.cells)):
            cell = self.nb.cells[index]
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [error_output("NotRun", reason)]
                self.event(index, "not_run", reason)

    async def run(self) -> NotebookNode:
        deadline = monotonic() + self.job.notebook_timeout
        await self.start_kernel()
        ran: list[int] = []
        try:
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if monotonic() >= deadline:
                    self.mark_not_run(index, f"not run: the notebook used up its {self.job.notebook_timeout:g} s")
                    break
                if self.client is None:   # the previous cell took the kernel down
                    if self.starts > self.job.max_restarts:
                        self.mark_not_run(index, f"not run: the kernel died {self.starts} times; the grader gave up")
                        break
                    try:
                        restored = await self.restore_state(ran, deadline)
                    except KernelStartError as error:
                        self.mark_not_run(index, f"not run: {error}")
                        break
                    if not restored:
                        await self.stop_kernel()
                        self.mark_not_run(index, "not run: the kernel died again while the grader re-ran the earlier cells")
                        break
                    self.event(index, "restarted", "fresh kernel, earlier cells re-run")
                if await self.run_cell(index, cell, deadline):
                    ran.append(index)
        finally:
            await self.stop_kernel()
        return self.nb


def _quiet_abandoned_polls(loop, context) -> None:
    """nbclient leaves its output and liveness polls running when a kernel is stopped mid-cell (a timeout,
    a dead kernel); their 'never retrieved' errors are expected then and would only clutter the grader's
    terminal. Everything else goes to asyncio's default handler."""
    task = context.get("future")
    name = getattr(getattr(task, "get_coro", lambda: None)(), "__qualname__", "")
    if context.get("message") == "Task exception was never retrieved" and name.startswith("NotebookClient._async_poll"):
        return
    loop.default_exception_handler(context)


async def _execute(job: ExecutionJob) -> ExecutionResult:
    asyncio.get_running_loop().set_exception_handler(_quiet_abandoned_polls)
    start = monotonic()
    executed, events, kernel_cpu = {}, [], 0.0
    for name, text in sorted(job.notebooks.items()):
        job.sandbox.prepare_folder(Path(job.slot_root) / "box", job.slot,
                                   Path(job.matplotlib_cache) if job.matplotlib_cache else None)
        work = Path(job.slot_root) / "box" / "work"
        for relative, data in job.files.items():
            target = work / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        nb = nbformat.reads(text, as_version=4)
        run = NotebookRun(job, name, nb)
        executed[name] = nbformat.writes(await run.run())
        events += run.events
        kernel_cpu += run.kernel_cpu
    return ExecutionResult(job.student, executed, events, monotonic() - start, kernel_cpu)


def execute(job: ExecutionJob) -> ExecutionResult:
    """Run every notebook of a job (each in a fresh sandboxed kernel). Called in a worker process."""
    return asyncio.run(_execute(job))
