"""Notebooks for the grading tests: the source and release versions, and mutated copies.

The temporary course they are graded in is course.nbgrader_course.TempCourse (nbgrader's own
Python API and a real SQLite gradebook).
"""

from __future__ import annotations

import copy

import nbformat

from course.nbgrader_course import ROOT, TempCourse  # noqa: F401 - TempCourse is used by the tests


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def release_notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "release" / assignment / f"{assignment}.ipynb", as_version=4)


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
