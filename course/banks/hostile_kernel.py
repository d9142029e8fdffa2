"""Attacks on how tests run and on the grader's resources (issue 8, classes 3, 5 and 7).

Whole submissions of 01_derivatives, graded in the one adversarial batch with the attacks of
``adversarial.py`` (see there for ``Attack`` and what ``score`` and ``reason`` mean):

- **Switching the tests off** without touching numpy or the checks: IPython's input and AST
  transformers, a custom exception handler, the shell's own traceback method, an event callback,
  the interpreter's trace hook and import hooks, each installed from a module the cell writes and
  imports (so the tamper scan, which reads the cells, does not see it: the in-kernel check must),
  and once directly from a cell (the tamper scan must). Each starts from the instructor's
  solution, so a score of 0 shows the defence fired: had the hook been missed, the notebook
  would score 100 (and the hooks that neuter tests would give 100 to blank work too).
- **Edited nbgrader metadata:** a setup cell stripped of its metadata that defines its own
  ``check_*`` functions, a test cell no longer graded, an answer cell marked graded, a new grade
  id, a duplicated grade id, a student's own cell marked locked.
- **The grader's resources:** display updates, output metadata, widget messages, one message
  larger than ZeroMQ's limit, and writing to the grader's terminal.
"""

from __future__ import annotations

import copy

import nbformat

from . import cell
from .adversarial import ASSIGNMENT, NOTEBOOK, Attack, Context, _added_cell, _bytes, _solution

# -- switching the tests off -----------------------------------------------------------------

def _cell_after_setup(source: str):
    """The solution with a new cell of `source` (taken literally) after the setup cell."""
    return _added_cell("setup", source.replace("{", "{{").replace("}", "}}"))


def _hook_from_module(code: str):
    """The solution with, after the setup cell, a cell that writes `code` to a module and imports it."""
    cell_source = (
        "import pathlib, sys\n"
        f"pathlib.Path('helper_module.py').write_text({code!r})\n"
        "sys.path.insert(0, '.')\n"
        "import helper_module\n"
    )
    return _cell_after_setup(cell_source)


INPUT_TRANSFORMER = '''
ip = get_ipython()
def neuter(lines):
    return ["pass\\n"] if any("check_" in line for line in lines) else lines
ip.input_transformers_post.append(neuter)
'''

AST_TRANSFORMER = '''
import ast
class Drop(ast.NodeTransformer):
    def visit_Module(self, node):
        if "check_" in ast.unparse(node):
            node.body = [ast.Pass()]
        return node
get_ipython().ast_transformers.append(Drop())
'''

CUSTOM_EXCEPTION = '''
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
'''

SHOWTRACEBACK = '''
shell_class = type(get_ipython())
shell_class._showtraceback = lambda self, *args, **kwargs: None
'''

EVENT_CALLBACK = '''
def forget_errors(result):
    result.error_in_exec = None
get_ipython().events.register("post_run_cell", forget_errors)
'''

TRACE_HOOK = '''
import sys
def tracer(frame, event, arg):
    return None
sys.settrace(tracer)
'''

IMPORT_HOOK = '''
import sys
class Finder:
    def find_spec(self, name, path=None, target=None):
        return None
sys.meta_path.insert(0, Finder())
'''

DIRECT_TRANSFORMER = '''
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
'''

# -- edited metadata -------------------------------------------------------------------------

FAKE_CHECKS = '''
def check_values(*args, **kwargs):
    pass

def check_between(*args, **kwargs):
    pass
'''


def _metadata_edit(edit):
    """The solution notebook with one edit of its cells' metadata."""
    def build(ctx: Context) -> dict[str, bytes]:
        nb = copy.deepcopy(_solution(ctx))
        edit(nb)
        return {NOTEBOOK: _bytes(nb)}
    return build


def _strip_setup_and_fake_checks(nb) -> None:
    """Wrong answers everywhere, and the setup cell's metadata removed, with fake checks added to it:
    nothing in the submission says the cell is locked any more, so nbgrader would not restore it."""
    setup = cell(nb, "setup")
    del setup.metadata["nbgrader"]
    setup.source += "\n\n" + FAKE_CHECKS
    for answer in nb.cells:
        if answer.metadata.get("nbgrader", {}).get("solution"):
            answer.source = "pass"


def _ungraded_test(nb) -> None:
    cell(nb, "ex1-tests").metadata["nbgrader"]["grade"] = False


def _graded_answer(nb) -> None:
    meta = cell(nb, "ex1-solution").metadata["nbgrader"]
    meta.update(grade=True, points=15)


def _new_grade_id(nb) -> None:
    extra = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "grade_id": "bonus-tests", "locked": True, "points": 50, "schema_version": 3,
        "solution": False, "task": False}})
    nb.cells.append(extra)


def _duplicate_grade_id(nb) -> None:
    fake = copy.deepcopy(cell(nb, "ex1-tests"))
    fake.source = "pass"
    fake["id"] = "fake-ex1-tests"
    nb.cells.insert(nb.cells.index(cell(nb, "ex1-solution")), fake)


def _locked_student_cell(nb) -> None:
    sneaky = nbformat.v4.new_code_cell("import numpy as np\nnp.allclose = lambda *a, **k: True", metadata={
        "nbgrader": {"locked": True, "grade": False, "solution": False, "task": False, "schema_version": 3}})
    nb.cells.insert(nb.cells.index(cell(nb, "ex1-solution")), sneaky)


# -- the grader's resources ------------------------------------------------------------------

DISPLAY_UPDATES = '''
handle = display("starting", display_id=True)
for i in range(20_000):
    handle.update("y" * 10_000)
'''

OUTPUT_METADATA = '''
for i in range(400):
    display({"text/plain": "x"}, metadata={"padding": "y" * 500_000}, raw=True)
'''

ONE_HUGE_MESSAGE = '''
display({"text/plain": "x" * 100_000_000}, raw=True)
print("after the huge message")
'''

WIDGET_MESSAGES = '''
from comm import create_comm
for i in range(2_000):
    create_comm(target_name="jupyter.widget", data={"state": {"value": "y" * 100_000}, "buffer_paths": []})
'''

GRADER_TERMINAL = '''
import os
os.write(1, b"GRADER-TERMINAL-MARKER stdout\\n")
os.write(2, b"GRADER-TERMINAL-MARKER stderr\\n")
'''
TERMINAL_MARKER = "GRADER-TERMINAL-MARKER"

ATTACKS = [
    # -- switching the tests off (each would be 100 if missed) ---------------------------------
    Attack("input transformer from an imported module", _hook_from_module(INPUT_TRANSFORMER), 0,
           "input_transformers_post"),
    Attack("AST transformer from an imported module", _hook_from_module(AST_TRANSFORMER), 0, "ast_transformers"),
    # the checks see the handler and fail; the handler hides that failure; the kernel's reply still
    # says the cell failed, and that is what scores it
    Attack("custom exception handler from an imported module", _hook_from_module(CUSTOM_EXCEPTION), 0,
           "did not run to its end"),
    Attack("the shell's traceback method replaced from an imported module", _hook_from_module(SHOWTRACEBACK), 0,
           "_showtraceback was replaced"),
    Attack("event callback from an imported module", _hook_from_module(EVENT_CALLBACK), 0, "post_run_cell"),
    Attack("trace hook from an imported module", _hook_from_module(TRACE_HOOK), 0, "sys.settrace"),
    Attack("import hook from an imported module", _hook_from_module(IMPORT_HOOK), 0, "sys.meta_path"),
    # the tamper scan flags this cell, but the transformer also rewrites the failing prefix the scan
    # puts into each test cell: the in-kernel check after each test cell is what scores it 0
    Attack("input transformer installed in a cell", _cell_after_setup(DIRECT_TRANSFORMER), 0,
           "input_transformers_post"),
    # -- edited metadata -------------------------------------------------------------------------
    Attack("setup cell without its metadata, defining its own checks", _metadata_edit(_strip_setup_and_fake_checks),
           0, "Integrity check"),
    Attack("a test cell marked not graded", _metadata_edit(_ungraded_test), 0, "metadata was changed"),
    Attack("an answer cell marked graded", _metadata_edit(_graded_answer), 0, "metadata was changed"),
    Attack("a new grade id", _metadata_edit(_new_grade_id), 0, "does not have"),
    Attack("a duplicated grade id", _metadata_edit(_duplicate_grade_id), 0, "both claim"),
    Attack("a student cell marked locked", _metadata_edit(_locked_student_cell), 0, "metadata was changed"),
    # -- the grader's resources (the solution is right: full marks, output cut) --------------------
    Attack("a flood of display updates", _cell_after_setup(DISPLAY_UPDATES), 100, "output truncated"),
    Attack("huge output metadata", _cell_after_setup(OUTPUT_METADATA), 100, "output truncated"),
    Attack("one message over the size limit", _cell_after_setup(ONE_HUGE_MESSAGE), 100, ""),
    Attack("a flood of widget messages", _cell_after_setup(WIDGET_MESSAGES), 100, "output truncated"),
    Attack("writes to the grader's terminal", _cell_after_setup(GRADER_TERMINAL), 100, "",
           host_check="nothing on the grader's terminal"),
]

