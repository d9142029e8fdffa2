"""The processes of a kernel's sandbox: the CPU a submission's kernels used (ExecutionResult.kernel_cpu,
the engine's phases["kernel_cpu"]: every process below bubblewrap counts, the kernel and what it
started), and what an earlier kernel of a slot left running (Sandbox.clear_slot)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.grading.executor import ExecutionJob, execute
from autograder.grading.sandbox import (
    Sandbox, compile_course_packages, process_tree_cpu_seconds, processes_of_user, reserved_slots,
)
from autograder.grading.settings import GradingSettings


def burn(seconds: float) -> str:
    """Python code that uses ``seconds`` of CPU."""
    return f"import time\nstart = time.process_time()\nwhile time.process_time() - start < {seconds}:\n    pass\n"


def test_the_cpu_of_a_process_tree_counts_children_and_grandchildren():
    # bash runs one child that burns and ends (bash waits for it), then a second that burns and stays.
    script = (f"{sys.executable} -c '{burn(0.3)}'; "
              f"{sys.executable} -c '{burn(0.3)}\nimport time\ntime.sleep(60)' & wait")
    shell = subprocess.Popen(["bash", "-c", script], start_new_session=True)   # its own process group
    try:
        deadline = time.monotonic() + 60
        while process_tree_cpu_seconds(shell.pid) < 0.6 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process_tree_cpu_seconds(shell.pid) >= 0.6   # the ended child's and the running one's
    finally:
        os.killpg(shell.pid, signal.SIGKILL)   # the shell and its children, nothing else
        shell.wait()
    assert process_tree_cpu_seconds(shell.pid) == 0.0   # gone: nothing to read


@pytest.mark.sandbox
def test_a_submission_reports_the_cpu_its_kernels_used(tmp_path):
    sandbox = Sandbox(GradingSettings().limits())
    sandbox.check()
    compile_course_packages()
    in_a_subprocess = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {burn(0.3)!r}], check=True)\n"
    nb = new_notebook(cells=[new_code_cell(burn(0.5)), new_code_cell(in_a_subprocess)])
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch, reserved_slots(1) as [slot]:
        job = ExecutionJob("cpu", {"cpu": nbformat.writes(nb)}, slot=slot, slot_root=scratch, sandbox=sandbox,
                           **GradingSettings().run_options())
        result = execute(job)
    cells = nbformat.reads(result.notebooks["cpu"], as_version=4).cells
    assert [o for c in cells for o in c.outputs if o.output_type == "error"] == []
    assert result.kernel_cpu >= 0.8                      # the kernel's 0.5 s and its subprocess's 0.3 s
    assert result.kernel_cpu < result.seconds * 2        # CPU of one kernel, not of the machine


# -- a slot's leftovers ---------------------------------------------------------------------


def _as_slot_user(sandbox: Sandbox, slot: int, script: str) -> subprocess.Popen:
    """bash running ``script`` as the slot's user, outside any sandbox (as leftovers of a kernel would be)."""
    uid = str(sandbox.uid(slot))
    return subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "bash", "-c", script],
                            start_new_session=True)


def _wait_for_processes(uid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while len(found := processes_of_user(uid)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.mark.sandbox
def test_clearing_a_slot_ends_its_users_processes_and_no_one_elses():
    sandbox = Sandbox(GradingSettings().limits())
    with reserved_slots(2) as [slot, other]:
        mine = _as_slot_user(sandbox, slot, "trap '' TERM; (sleep 300 &); sleep 300 & wait")  # one outlives its parent
        theirs = _as_slot_user(sandbox, other, "sleep 300")
        try:
            left = _wait_for_processes(sandbox.uid(slot), 3)
            assert len(left) >= 3 and _wait_for_processes(sandbox.uid(other), 1)
            assert sorted(sandbox.clear_slot(slot)) == sorted(left)
            mine.wait(timeout=10)
            assert processes_of_user(sandbox.uid(slot)) == []
            assert processes_of_user(sandbox.uid(other)) != []      # another slot's process is left alone
            assert sandbox.clear_slot(slot) == []
        finally:
            for shell in (mine, theirs):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(shell.pid, signal.SIGKILL)
                shell.wait()


@pytest.mark.sandbox
def test_a_kernel_starts_in_a_slot_whose_process_limit_leftovers_had_filled(tmp_path):
    """What an earlier kernel left running (here: as many processes as the limit allows, as a fork
    bomb's before its sandbox is torn down) must not keep the slot's next kernel from starting."""
    settings = GradingSettings()
    sandbox = Sandbox(settings.limits())
    sandbox.check()
    compile_course_packages()
    nb = new_notebook(cells=[new_code_cell(
        "import threading\nthread = threading.Thread(target=print, args=('ran',))\nthread.start()\nthread.join()")])
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch, reserved_slots(1) as [slot]:
        count = settings.limits().processes
        leftovers = _as_slot_user(sandbox, slot, f"for i in $(seq {count}); do sleep 300 & done; wait")
        try:
            assert len(_wait_for_processes(sandbox.uid(slot), count)) >= count
            job = ExecutionJob("left", {"left": nbformat.writes(nb)}, slot=slot, slot_root=scratch, sandbox=sandbox,
                               **settings.run_options())
            result = execute(job)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(leftovers.pid, signal.SIGKILL)
            leftovers.wait()
    [cell] = nbformat.reads(result.notebooks["left"], as_version=4).cells
    # (a thread's print may reach the notebook as two stream messages, 'ran' and a newline)
    assert [o.output_type for o in cell.outputs] == ["stream"] * len(cell.outputs)
    assert "".join(o.text for o in cell.outputs) == "ran\n"
