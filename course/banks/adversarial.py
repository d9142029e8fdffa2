"""Attacks on the grading engine itself: whole submissions that try to hang, kill, flood, escape or
fool the grader, or that are not notebooks at all. Graded together in one batch (by the tests and
by `course demo`), each must get its expected score with a readable reason, the batch must finish,
and honest students' grades must not move.

All are submissions of assignment 01_derivatives (100 points: ex1 15, ex2 10, ex2b 5, ex3 gradient 15,
ex3 jacobian 15, ex4 forward 10, ex4 reverse 20, ex5 10). `build(ctx)` returns the files of the
student's submission folder (name -> bytes); `reason` must appear (ignoring case) in what the grader
reports for the student (the engine's notes, or an output of the graded notebook); `host_check` names a fact the
tests verify outside the sandbox afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from . import a01_derivatives, cell, mutate, release_notebook, source_notebook

ASSIGNMENT = "01_derivatives"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


@dataclass(frozen=True)
class Context:
    """What an attack may know: the course's location (the worst case), and a port the tests listen on."""

    course_root: Path
    listen_port: int = 9


@dataclass(frozen=True)
class Attack:
    name: str
    build: Callable[[Context], dict[str, bytes]]
    score: float
    reason: str = ""
    host_check: str = ""


def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def _solution(ctx: Context):
    return source_notebook(ASSIGNMENT, ctx.course_root)


def _edit(grade_id: str, old: str, new: str, start="solution"):
    """A submission: the solution (or release) notebook with one text replacement in one cell."""
    def build(ctx: Context) -> dict[str, bytes]:
        nb = _solution(ctx) if start == "solution" else release_notebook(ASSIGNMENT, ctx.course_root)
        return {NOTEBOOK: _bytes(mutate(nb, grade_id, old, new))}
    return build


def _added_cell(after: str, source: str, start="solution"):
    """A submission with a new code cell (no nbgrader metadata) after the cell `after`."""
    def build(ctx: Context) -> dict[str, bytes]:
        nb = _solution(ctx) if start == "solution" else release_notebook(ASSIGNMENT, ctx.course_root)
        index = nb.cells.index(cell(nb, after))
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source.format(root=ctx.course_root, port=ctx.listen_port)))
        return {NOTEBOOK: _bytes(nb)}
    return build


def _bank(kind: str, index: int, test_cell_source: str | None = None):
    """An entry of the 01_derivatives bank, optionally with the test cell of its exercise edited."""
    def build(ctx: Context) -> dict[str, bytes]:
        entry = getattr(a01_derivatives, kind)[index]
        nb = mutate(_solution(ctx), entry["cell"], entry.get("old"), entry.get("new", ""), entry.get("source"))
        return {NOTEBOOK: _bytes(nb)}
    return build


def _files(files: dict[str, bytes]):
    return lambda ctx: files


def _renamed(ctx: Context) -> dict[str, bytes]:
    return {"01_derivatives (1).ipynb": _bytes(_solution(ctx))}


def _deleted_test_cell(ctx: Context) -> dict[str, bytes]:
    nb = mutate(_solution(ctx), "ex1-solution", "return (f(x + h) - f(x)) / h", "return (f(x + h) - f(x)) / (2 * h)")
    nb.cells.remove(cell(nb, "ex1-tests"))
    return {NOTEBOOK: _bytes(nb)}


def _edited_test_cell(ctx: Context) -> dict[str, bytes]:
    nb = mutate(_solution(ctx), "ex1-solution", "return (f(x + h) - f(x)) / h", "return (f(x + h) - f(x)) / (2 * h)")
    cell(nb, "ex1-tests").source = "print('all tests passed')"
    return {NOTEBOOK: _bytes(nb)}


def _wrong_version(ctx: Context) -> dict[str, bytes]:
    raw = json.loads(_bytes(_solution(ctx)))
    raw["nbformat"] = 5
    return {NOTEBOOK: json.dumps(raw).encode()}


def _latin1(ctx: Context) -> dict[str, bytes]:
    nb = _solution(ctx)
    nb.cells[0].source += "\n\nCafé, naïve, déjà vu."
    return {NOTEBOOK: nbformat.writes(nb).encode("latin-1")}


def _honest_variant(ctx: Context) -> dict[str, bytes]:
    entry = a01_derivatives.VARIANTS[0]
    return {NOTEBOOK: _bytes(mutate(_solution(ctx), entry["cell"], source=entry["source"]))}


READ_SOURCE_AND_IMPORT = '''
import json, pathlib, sys
source = json.loads(pathlib.Path("{root}/source/01_derivatives/01_derivatives.ipynb").read_text())
solutions = [c["source"] for c in source["cells"] if c.get("metadata", {{}}).get("nbgrader", {{}}).get("solution")]
pathlib.Path("/tmp/copied.py").write_text("import numpy as np\\nfrom mini_autograd import finite_differences as fd\\n" + "\\n".join("".join(s) for s in solutions))
sys.path.insert(0, "/tmp")
from copied import *
'''

WRITE_GRADEBOOK = '''
import sqlite3
db = sqlite3.connect("{root}/gradebook.db")
db.execute("UPDATE grade SET auto_score = max_score")
db.commit()
'''

WRITE_OUTSIDE = '''
for target in ("{root}/pwned.txt", "{root}/submitted/pwned.txt", "/root/pwned.txt"):
    try:
        open(target, "w").write("pwned")
        print("wrote", target)
    except OSError as error:
        print("could not write", target, error)
'''

NETWORK = '''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"exfiltrated answers")
    print("connected")
except OSError as error:
    print("no network:", error)
'''

FORK_BOMB = '''
import os
def dy_dx(x, z):
    while True:
        os.fork()
'''

ATTACKS = [
    Attack("honest: the instructor's solution", lambda ctx: {NOTEBOOK: _bytes(_solution(ctx))}, 100),
    Attack("honest: a correct variant", _honest_variant, 100),
    Attack("untouched release", lambda ctx: {NOTEBOOK: _bytes(release_notebook(ASSIGNMENT, ctx.course_root))}, 0,
           "NotImplementedError"),
    # -- hanging --------------------------------------------------------------------------
    Attack("infinite loop in a function under test", _edit(
        "ex1-solution", "return (f(x + h) - f(x)) / h", "while True:\n        pass"), 85, "ran for more than"),
    Attack("infinite loop that ignores interrupts", _edit(
        "ex5-solution", "def dy_dx(x, z):", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n\n"
        "def dy_dx(x, z):\n    while True:\n        pass"), 90, "ran for more than"),
    Attack("infinite loop at the top level of a solution cell", _edit(
        "ex2b-solution", "best_central_step = 1e-5", "while True:\n    pass\nbest_central_step = 1e-5"), 95,
        "ran for more than"),
    # -- killing the kernel --------------------------------------------------------------
    Attack("os._exit inside a function under test", _edit(
        "ex4-solution", "v = forward_pass(x)", "import os\n    os._exit(1)"), 80, "exited with status 1"),
    Attack("os._exit at the top level of a solution cell", _edit(
        "ex3-solution", "def numerical_gradient(f, x, h=1e-6):", "import os\nos._exit(3)\n\ndef numerical_gradient(f, x, h=1e-6):"),
        70, "exited with status 3"),
    Attack("sys.exit before the definitions", _edit(
        "ex1-solution", "def forward_difference(f, x, h):", "import sys\nsys.exit('bye')\n\ndef forward_difference(f, x, h):"),
        85, "SystemExit"),
    Attack("segfault through ctypes", _edit(
        "ex5-solution", "def dy_dz(x, z):", "def dy_dz(x, z):\n    import ctypes\n    ctypes.string_at(0)"), 90, "ctypes"),
    Attack("segfault without ctypes (faulthandler)", _edit(
        "ex4-solution", "v = forward_pass(x)", "import faulthandler\n    faulthandler._sigsegv()"), 80,
        "segmentation fault"),
    # -- resources ------------------------------------------------------------------------
    Attack("memory hog: an 80 GB array", _edit(
        "ex2-solution", "exact = df(x)", "hog = np.ones(10**10)\n    exact = df(x)"), 90, "MemoryError"),
    Attack("memory hog: a list that grows to the limit", _edit(
        "ex3-solution", "def numerical_jacobian(f, x, h=1e-6):",
        "def numerical_jacobian(f, x, h=1e-6):\n    hog = []\n    while True:\n        hog.append(np.empty(10**8))"),
        85, "MemoryError"),
    Attack("fork bomb", _edit("ex5-solution", "def dy_dx(x, z):", FORK_BOMB + "\n\ndef unused(x, z):"), 90, ""),
    Attack("huge output", _edit(
        "ex2-solution", "exact = df(x)", "print('spam ' * 4_000_000)\n    exact = df(x)"), 100, "output truncated"),
    Attack("a file over the size limit", _edit(
        "ex2b-solution", "best_central_step = 1e-5",
        "open('big.bin', 'wb').write(bytes(200 * 2**20))\nbest_central_step = 1e-5"), 95, "File too large"),
    # -- tampering ------------------------------------------------------------------------
    Attack("monkeypatches numpy (np.allclose)", _bank("TAMPERING", 0), 0, "integrity check"),
    Attack("monkeypatches builtins (abs)", _edit(
        "ex2-solution", "def difference_errors(f, df, x, hs):",
        "import builtins\nbuiltins.abs = lambda value: 0 * value\n\ndef difference_errors(f, df, x, hs):"), 15,
        "integrity check"),
    Attack("replaces the checks in the notebook", _bank("TAMPERING", 1), 30, "integrity check"),
    Attack("patches the autograder module", _edit(
        "ex1-solution", "def forward_difference(f, x, h):",
        "import autograder.checks.gradients\nautograder.checks.gradients.check_values = lambda *args, **kwargs: None\n\ndef forward_difference(f, x, h):"),
        0, "integrity check"),
    Attack("edits a test cell to print success", _edited_test_cell, 85, "Exercise 1"),
    Attack("deletes a test cell", _deleted_test_cell, 85, "Exercise 1"),
    Attack("adds a cell that prints success", _bank("TAMPERING", 2), 70, "Exercise 4"),
    # -- escaping the sandbox --------------------------------------------------------------
    Attack("reads the source notebook and imports its solutions",
           _added_cell("setup", READ_SOURCE_AND_IMPORT, start="release"), 0, "No such file or directory"),
    Attack("writes the gradebook with sqlite3", _added_cell("setup", WRITE_GRADEBOOK, start="release"), 0,
           "unable to open database file", host_check="gradebook untouched"),
    Attack("writes outside the sandbox", _added_cell("setup", WRITE_OUTSIDE), 100, "could not write",
           host_check="no pwned files"),
    Attack("network access", _added_cell("setup", NETWORK), 100, "no network", host_check="no connection"),
    # -- not a (good) notebook -----------------------------------------------------------
    Attack("invalid JSON", _files({NOTEBOOK: b'{"cells": [ {"cell_type": "code", '}), 0, "not valid JSON"),
    Attack("an empty file", _files({NOTEBOOK: b""}), 0, "is empty"),
    Attack("wrong nbformat version", _wrong_version, 0, "nbformat version 5"),
    Attack("a renamed notebook", _renamed, 100, "renamed"),
    Attack("a missing notebook", _files({"answers.txt": b"I did it all in my head"}), 0, "no 01_derivatives.ipynb"),
    Attack("non-UTF-8 bytes", _latin1, 0, "not UTF-8"),
]


def every_attack() -> list[Attack]:
    """This bank and the hostile banks beside it: everything the one adversarial batch grades
    (the tests and `course check`'s adversarial run), honest controls included."""
    from . import hostile_feedback, hostile_files, hostile_kernel, hostile_pages

    return [*ATTACKS, *hostile_kernel.ATTACKS, *hostile_files.ATTACKS, *hostile_pages.ATTACKS,
            *hostile_feedback.ATTACKS]
