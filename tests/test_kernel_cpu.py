"""The CPU a submission's sandboxed kernels used (ExecutionResult.kernel_cpu, the engine's
phases["kernel_cpu"]): every process below bubblewrap counts, the kernel and what it started."""

from __future__ import annotations

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
from autograder.grading.sandbox import Sandbox, compile_course_packages, process_tree_cpu_seconds, reserved_slots
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
