"""Hostile files: whole submissions whose files are not what they say, for the grading engine's intake.

A student controls what lands in submitted/<student>/<assignment>/ (directly, or through an exchange or
archive that was not screened). Each attack here is such a folder: a notebook that is a symbolic link
(to the instructor's source notebook, to a classmate's submitted notebook, to /proc/self/environ, to
/dev/zero), a named pipe (reading it blocks forever), a device file, a link instead of timestamp.txt,
and notebooks whose JSON nests deep enough to make json or nbformat run out of stack, or holds so
many lists that reading it would take gigabytes. The engine must
open none of the special files (autograder/grading/intake.py), score each with the reason, and go on.

Same form as course/banks/adversarial.py (`Attack`, `Context`; submissions of 01_derivatives), except
that `build(ctx)` may give, instead of bytes, a `Link`, a `Fifo` or a `Device`: something that is not a
regular file. Write a submission with `write_files(folder, files)`, which makes those (bytes are written
as they are). Device files need root (the engine's tests run as root).

The classmate link points at ../../student00/01_derivatives/01_derivatives.ipynb: in a batch that names
its students student00, student01... in bank order (as tests/test_grading_engine.py does), student00 is
the first attack, the honest one. If the target is missing the link is refused all the same.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import source_notebook
from .adversarial import ASSIGNMENT, NOTEBOOK, Attack, Context


@dataclass(frozen=True)
class Link:
    """A symbolic link to target (a path; {root} is replaced by the course's folder)."""

    target: str


@dataclass(frozen=True)
class Fifo:
    """A named pipe: opening it for reading blocks until a writer comes, which never does."""


@dataclass(frozen=True)
class Device:
    """A character device node (default 1:5, the same as /dev/zero: endless bytes). Needs root."""

    major: int = 1
    minor: int = 5


def write_files(folder: Path, files: dict, ctx: Context | None = None) -> None:
    """Make a submission folder's files: bytes as they are, Link, Fifo and Device as what they are."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, what in files.items():
        path = folder / name
        if isinstance(what, Link):
            os.symlink(what.target.format(root=ctx.course_root if ctx else ""), path)
        elif isinstance(what, Fifo):
            os.mkfifo(path)
        elif isinstance(what, Device):
            os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(what.major, what.minor))
        else:
            path.write_bytes(what)


def _solution_bytes(ctx: Context) -> bytes:
    return nbformat.writes(source_notebook(ASSIGNMENT, ctx.course_root)).encode()


def _nested(where: str, depth: int, wide: int = 0):
    """The solution with `depth` nested lists in the first cell's metadata or a code cell's outputs,
    written as JSON text directly (json.dumps itself cannot write something that deep); or, with
    `wide`, a list of that many empty lists (memory, not depth)."""
    def build(ctx: Context) -> dict[str, bytes]:
        raw = json.loads(_solution_bytes(ctx))
        marker = "NESTED-HERE"
        if where == "metadata":
            raw["cells"][0]["metadata"]["deep"] = marker
        else:
            code = next(c for c in raw["cells"] if c["cell_type"] == "code")
            code["outputs"] = [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                "data": {"application/json": marker}}]
        value = "[" + "[]," * wide + "[]]" if wide else "[" * depth + "]" * depth
        text = json.dumps(raw).replace(json.dumps(marker), value)
        return {NOTEBOOK: text.encode()}
    return build


def _honest(ctx: Context) -> dict[str, bytes]:
    return {NOTEBOOK: _solution_bytes(ctx)}


NOT_OPENED = "it was not opened"

ATTACKS = [
    Attack("honest: the instructor's solution", _honest, 100),
    Attack("notebook is a symbolic link to the source notebook",
           lambda ctx: {NOTEBOOK: Link(f"{{root}}/source/{ASSIGNMENT}/{NOTEBOOK}")}, 0,
           f"{NOTEBOOK} is a symbolic link; {NOT_OPENED}"),
    Attack("notebook is a symbolic link to a classmate's submitted notebook",
           lambda ctx: {NOTEBOOK: Link(f"../../student00/{ASSIGNMENT}/{NOTEBOOK}")}, 0,
           f"{NOTEBOOK} is a symbolic link; {NOT_OPENED}"),
    Attack("notebook is a symbolic link to /proc/self/environ",
           lambda ctx: {NOTEBOOK: Link("/proc/self/environ")}, 0, f"{NOTEBOOK} is a symbolic link; {NOT_OPENED}"),
    Attack("notebook is a symbolic link to /dev/zero",
           lambda ctx: {NOTEBOOK: Link("/dev/zero")}, 0, f"{NOTEBOOK} is a symbolic link; {NOT_OPENED}"),
    Attack("notebook is a named pipe (FIFO)", lambda ctx: {NOTEBOOK: Fifo()}, 0,
           f"{NOTEBOOK} is a named pipe (FIFO); {NOT_OPENED}"),
    Attack("notebook is a device file", lambda ctx: {NOTEBOOK: Device()}, 0,
           f"{NOTEBOOK} is a device file; {NOT_OPENED}"),
    Attack("timestamp.txt is a symbolic link to /proc/self/environ (the notebook is the solution)",
           lambda ctx: {NOTEBOOK: _solution_bytes(ctx), "timestamp.txt": Link("/proc/self/environ")}, 100,
           "timestamp.txt ignored: timestamp.txt is a symbolic link", host_check="no environment in autograded/"),
    Attack("100,000 nested lists in a cell's metadata", _nested("metadata", 100_000), 0, "levels deep"),
    Attack("100,000 nested lists in a cell's outputs", _nested("outputs", 100_000), 0, "levels deep"),
    Attack("150 nested lists in a cell's metadata (under Python's recursion limit)", _nested("metadata", 150), 0,
           "levels deep"),
    Attack("2,000,000 empty lists in a cell's metadata (7 MB of JSON, gigabytes of Python lists)",
           _nested("metadata", 0, wide=2_000_000), 0, "'[' and '{' characters, more than"),
]
