"""Cells with nbgrader metadata, so that a notebook can be written as a Python list.

    markdown(text)                      instructions (locked)
    setup(code, id)                     a locked code cell the student runs but cannot change
    solution(code, id)                  where the student writes code; ### BEGIN/END SOLUTION inside
    tests(code, id, points)             an autograded test cell, worth `points`; may hold
                                        ### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS
    scratch(code)                       a free cell for the student to experiment in (ungraded)
"""

from __future__ import annotations

import textwrap

import nbformat

SCHEMA_VERSION = 3


def _source(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def markdown(text: str, id: str | None = None) -> dict:
    cell = {"cell_type": "markdown", "source": _source(text), "metadata": {}}
    if id is not None:
        cell["metadata"]["nbgrader"] = _nbgrader(id, grade=False, solution=False, locked=True)
        cell["id"] = id
    return cell


def setup(code: str, id: str) -> dict:
    return {"cell_type": "code", "source": _source(code), "id": id,
            "metadata": {"nbgrader": _nbgrader(id, grade=False, solution=False, locked=True)}}


def solution(code: str, id: str) -> dict:
    return {"cell_type": "code", "source": _source(code), "id": id,
            "metadata": {"nbgrader": _nbgrader(id, grade=False, solution=True, locked=False)}}


def tests(code: str, id: str, points: float) -> dict:
    return {"cell_type": "code", "source": _source(code), "id": id,
            "metadata": {"nbgrader": _nbgrader(id, grade=True, solution=False, locked=True, points=points)}}


def scratch(code: str = "") -> dict:
    return {"cell_type": "code", "source": _source(code), "metadata": {}}


def notebook(cells: list[dict]) -> nbformat.NotebookNode:
    """A notebook with deterministic cell ids (the nbgrader id where there is one)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    used = set()
    for position, spec in enumerate(cells):
        cell_id = spec.get("id") or f"cell-{position:03d}"
        if cell_id in used:
            raise ValueError(f"two cells have the id {cell_id!r}; nbgrader ids must be unique")
        used.add(cell_id)
        if spec["cell_type"] == "markdown":
            cell = nbformat.v4.new_markdown_cell(spec["source"], metadata=spec["metadata"])
        else:
            cell = nbformat.v4.new_code_cell(spec["source"], metadata=spec["metadata"])
        cell["id"] = cell_id
        nb.cells.append(cell)
    total = sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells)
    nb.metadata["course"] = {"total_points": total}
    nbformat.validate(nb)
    return nb
