"""How a grading kernel starts (autograder/grading/kernel_start.py): without the debugger and
without matplotlib's property lists, with matplotlib drawing as before, and with nothing in the
student's folder standing in for the course's packages."""

from __future__ import annotations

import json
import sys
import tempfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.grading.executor import ExecutionJob, execute
from autograder.grading.kernel_start import PROPERTIES_LEFT_OUT, AfterImport
from autograder.grading.sandbox import Sandbox, compile_course_packages, matplotlib_cache, reserved_slots
from autograder.grading.settings import GradingSettings


# --- AfterImport, in this process ------------------------------------------------------------

def test_after_import_runs_once_right_after_the_named_module(tmp_path, monkeypatch):
    package = tmp_path / "pkg_after_import"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "target.py").write_text("VALUE = 1\n")
    (package / "other.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []

    def then(module):
        seen.append((module.__name__, module.VALUE))   # the module has run when this is called
        module.VALUE = 2

    finder = AfterImport("pkg_after_import.target", then)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    try:
        import pkg_after_import.other as other
        assert seen == [] and other.VALUE == 1 and finder in sys.meta_path   # other names: untouched
        import pkg_after_import.target as target
        assert seen == [("pkg_after_import.target", 1)] and target.VALUE == 2
        assert finder not in sys.meta_path                                   # once, then gone
    finally:
        for name in ("pkg_after_import", "pkg_after_import.target", "pkg_after_import.other"):
            sys.modules.pop(name, None)


def test_after_import_leaves_a_module_it_cannot_find_to_the_usual_error(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", [AfterImport("no_such_module_here", lambda m: None), *sys.meta_path])
    with pytest.raises(ModuleNotFoundError):
        import no_such_module_here  # noqa: F401


# --- a real grading kernel, in the sandbox --------------------------------------------------

PROBE = """
import sys, io, json
before = sorted(name for name in ("matplotlib", "debugpy") if sys.modules.get(name) is not None)
try:
    import debugpy
    debugger = "importable"
except ImportError:
    debugger = "absent"
import matplotlib.pyplot as plt, matplotlib.lines, matplotlib.artist, autograder
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1], [0, 1], color="red")
png = io.BytesIO()
fig.savefig(png, format="png")
print(json.dumps({"before": before, "debugger": debugger, "png_bytes": len(png.getvalue()),
                  "set_doc": matplotlib.lines.Line2D.set.__doc__, "plot_doc": plt.plot.__doc__,
                  "autograder": autograder.__file__}))
"""


@pytest.mark.sandbox
def test_a_grading_kernel_has_no_debugger_short_property_lists_and_draws(tmp_path):
    sandbox = Sandbox(GradingSettings().limits())
    sandbox.check()
    compile_course_packages()
    nb = new_notebook(cells=[new_code_cell(PROBE)])
    # A submission that brings its own `autograder` package: the kernel must not import it.
    planted = {"autograder/__init__.py": b"raise SystemExit('the student folder was imported')\n",
               "autograder/grading/__init__.py": b"raise SystemExit('the student folder was imported')\n"}
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch, reserved_slots(1) as [slot]:
        job = ExecutionJob("probe", {"probe": nbformat.writes(nb)}, slot=slot, slot_root=scratch, sandbox=sandbox,
                           **GradingSettings().run_options(), files=planted,
                           matplotlib_cache=str(matplotlib_cache()))
        result = execute(job)
    cell = nbformat.reads(result.notebooks["probe"], as_version=4).cells[0]
    [stream] = [o for o in cell.outputs if o.output_type == "stream"]
    seen = json.loads(stream.text)
    assert seen["before"] == []                       # nothing imported early for the notebook
    assert seen["debugger"] == "absent"
    assert seen["png_bytes"] > 1000                   # matplotlib draws
    assert PROPERTIES_LEFT_OUT in seen["set_doc"] and PROPERTIES_LEFT_OUT in seen["plot_doc"]
    assert "Properties:" not in seen["set_doc"]       # the long list is gone
    assert "/work/autograder" not in seen["autograder"]
    assert result.events == []


# --- the client is ready when the kernel is -------------------------------------------------

CHATTY_START = ("import sys, threading, time; threading.Thread(daemon=True, target=lambda: "
                "[(print('tick', flush=True), time.sleep(0.05)) "
                "for _ in iter(int, 1)]).start()")


def test_the_kernel_client_is_ready_while_iopub_is_still_busy():
    """jupyter_client's wait_for_ready returns only after IOPub has been quiet for 0.2 s, so a
    kernel whose output never pauses would keep it waiting for ever (and every start waits 0.2 s).
    The grader's client is ready once the kernel has answered and IOPub has delivered."""
    import asyncio

    from autograder.grading.executor import PromptKernelClient, SandboxedKernelManager

    async def start_and_run():
        km = SandboxedKernelManager(kernel_name="python3")
        await km.start_kernel(extra_arguments=[f"--IPKernelApp.exec_lines={CHATTY_START}"])
        kc = km.client()
        assert isinstance(kc, PromptKernelClient)
        kc.start_channels()
        try:
            await asyncio.wait_for(kc.wait_for_ready(timeout=60), timeout=60)
            reply = await kc.execute_interactive("answer = 6 * 7", timeout=60)
            return reply["content"]["status"]
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    assert asyncio.run(start_and_run()) == "ok"
