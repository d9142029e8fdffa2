"""Banks of submissions per assignment: what `course check` grades to test the tests.

Each module ``a0N_<name>.py`` defines:

* ``ASSIGNMENT``: the notebook name, e.g. "01_derivatives";
* ``MUTANTS``: typical student mistakes. Each is a dict with ``name``, ``cell`` (the grade_id
  of the solution cell to change), ``old``/``new`` (a text replacement in that cell) or
  ``source`` (the whole new cell), and ``breaks``: the grade_ids of the test cells that must
  lose points. Every other test cell must keep its full points.
* ``VARIANTS``: different but correct solutions, same format, with no ``breaks``: full marks.
* ``TAMPERING``: attempts to fool the checks, same format, with ``breaks``: the test cells that
  must score 0 (a tampering entry may add code to a solution cell with old="" and new=...).

``adversarial.py`` holds whole-submission attacks on the grading engine (files, kernels, sandbox).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from course.assignments import ASSIGNMENTS

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("MUTANTS", "VARIANTS", "TAMPERING")


def bank_for(assignment: str):
    """The bank module of an assignment (course/assignments.py), or None when it has none."""
    known = [a for a in ASSIGNMENTS if a.name == assignment and a.bank_module]
    return known[0].bank() if known else None


def all_banks() -> list:
    return [a.bank() for a in ASSIGNMENTS if a.bank_module]


def source_notebook(assignment: str, root: Path = ROOT) -> nbformat.NotebookNode:
    return nbformat.read(Path(root) / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def release_notebook(assignment: str, root: Path = ROOT) -> nbformat.NotebookNode:
    return nbformat.read(Path(root) / "release" / assignment / f"{assignment}.ipynb", as_version=4)


def cell(nb: nbformat.NotebookNode, grade_id: str):
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return c
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def mutate(nb: nbformat.NotebookNode, grade_id: str, old: str | None = None, new: str = "", source: str | None = None):
    """A copy of nb whose cell grade_id has `old` replaced by `new` (or its whole source replaced)."""
    nb = copy.deepcopy(nb)
    target = cell(nb, grade_id)
    if source is not None:
        target.source = source
    else:
        if old not in target.source:
            raise ValueError(f"{old!r} is not in cell {grade_id!r}:\n{target.source}")
        target.source = target.source.replace(old, new)
    return nb


def submission(assignment: str, entry: dict, root: Path = ROOT) -> nbformat.NotebookNode:
    """The solution notebook with one bank entry applied."""
    nb = source_notebook(assignment, root)
    if "source" in entry:
        return mutate(nb, entry["cell"], source=entry["source"])
    return mutate(nb, entry["cell"], entry["old"], entry["new"])


def class_of(assignment: str, root: Path = ROOT) -> dict[str, nbformat.NotebookNode]:
    """Every submission of the bank, by student id: solutions, release, mutants-i, variants-i, tampering-i."""
    students = {"solutions": source_notebook(assignment, root), "release": release_notebook(assignment, root)}
    bank = bank_for(assignment)
    if bank:
        for kind in KINDS:
            for i, entry in enumerate(getattr(bank, kind)):
                students[f"{kind.lower()}-{i}"] = submission(assignment, entry, root)
    return students
