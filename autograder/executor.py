"""Run one submission's notebooks, cell by cell, in sandboxed kernels; survive what student code does.

This runs in a worker process of the grading engine (autograder/engine.py) and never touches the
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
- **Output limits.** A cell keeps at most `output_limit` bytes of output; the rest is dropped with
  a note, before it can fill the grader's memory.
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

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode

from .sandbox import Sandbox


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
    cell_timeout: float = 60.0
    notebook_timeout: float = 600.0
    output_limit: int = 200_000
    max_restarts: int = 8
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


def is_test_cell(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _content_size(content: dict) -> int:
    size = len(content.get("text", "")) + len(content.get("evalue", ""))
    size += sum(len(line) for line in content.get("traceback", []))
    size += sum(len(str(value)) for value in content.get("data", {}).values())
    return size


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose connection file the sandboxed (unprivileged) kernel can read."""

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)


class LimitedOutputClient(NotebookClient):
    """nbclient's client, keeping at most `output_limit` bytes of output per cell."""

    def __init__(self, *args, output_limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_limit = output_limit
        self.output_bytes: dict[int, int] = {}
        self.dropped_bytes: dict[int, int] = {}

    def output(self, outs, msg, display_id, cell_index):
        size = _content_size(msg["content"])
        used = self.output_bytes.get(cell_index, 0)
        if used + size > self.output_limit:
            self.dropped_bytes[cell_index] = self.dropped_bytes.get(cell_index, 0) + size
            return None
        self.output_bytes[cell_index] = used + size
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
            startup_timeout=60, shutdown_kernel="immediate", record_timing=False,
            output_limit=self.job.output_limit,
        )
        self.starts += 1
        try:
            await self.client.async_start_new_kernel(cwd=str(self.box / "work"), env=self.job.sandbox.environment(self.box))
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
        finally:
            dropped = client.dropped_bytes.pop(index, 0)
            if dropped:
                cell.outputs.append(nbformat.v4.new_output(
                    "stream", name="stdout",
                    text=f"[grader: {dropped:,} more characters of output were dropped; a cell may print "
                         f"at most {self.job.output_limit:,}]\n"))
                self.event(index, "output_truncated", f"{dropped} characters dropped")
        return True

    async def restore_state(self, ran: list[int], deadline: float) -> bool:
        """In a fresh kernel, run again the cells that built state (not the tests); False if that fails."""
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


async def _execute(job: ExecutionJob) -> ExecutionResult:
    start = monotonic()
    executed, events = {}, []
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
    return ExecutionResult(job.student, executed, events, monotonic() - start)


def execute(job: ExecutionJob) -> ExecutionResult:
    """Run every notebook of a job (each in a fresh sandboxed kernel). Called in a worker process."""
    return asyncio.run(_execute(job))
