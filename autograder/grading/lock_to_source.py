"""LockToSource: what a notebook's cells are is decided by the assignment, never by the submission.

nbgrader trusts a submitted notebook's own metadata to say which cells are tests, which are
locked and which are answers. A student who edits that metadata can make a test cell
ungraded, turn a locked setup cell into a scratch cell that nothing restores (and define their
own ``check_*`` functions in it), mark their own cell "locked" so that the tamper scan skips it,
or give two cells the same grade id so that nbgrader keeps the wrong one.

This sanitize step (it runs before nbgrader's DeduplicateIds and OverwriteCells) compares every
cell's nbgrader metadata with the assignment's cells in the gradebook, which nbgrader recorded
from the instructor's source notebook:

- A cell whose metadata names a grade id the assignment does not have, or a grade id used twice,
  or that says something different from the gradebook about the cell (test or not, answer or
  not, locked or not, points, cell type), makes the notebook **rejected**: it scores 0, and the
  reason names the cell and what was changed. Honest students never edit nbgrader metadata (the
  student's JupyterLab has no tool for it), so this is never an accident worth guessing around.
- nbgrader metadata without a grade id (nothing nbgrader itself writes) is also a rejection.
- A locked cell that is missing (deleted, or its metadata removed) is put back from the source
  notebook where it belongs: after the nearest earlier cell of the source that the submission
  still has. Missing test cells are put back by nbgrader's OverwriteCells
  (``add_missing_cells``); the locked cells' contents are restored by OverwriteCells too.

The result: every cell that carries nbgrader metadata afterwards says exactly what the
gradebook says, so later steps (OverwriteCells, the tamper scan, the grader) can trust it.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

FLAGS = ("grade", "solution", "locked", "task")


class SubmissionRejected(ValueError):
    """The submission cannot be graded as handed in; the message says why (for the student)."""


class GraderFault(RuntimeError):
    """The course, not the submission, is wrong (no gradebook entry, no source notebook)."""


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


class LockToSource(NbGraderPreprocessor):
    """Reject notebooks whose nbgrader metadata disagrees with the gradebook; put back missing locked cells."""

    source_directory = Unicode(
        "source",
        help="The folder of <assignment>/<notebook>.ipynb, the instructor's notebooks; missing locked cells "
             "are copied back from there (a relative path is taken from the current directory).",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            try:
                expected = self._expected_cells(gb, info["notebook"], info["assignment"])
            except MissingEntry:
                raise GraderFault(f"the gradebook does not know notebook {info['notebook']} of "
                                   f"{info['assignment']}: generate the assignment first") from None
        self._check_metadata(nb, expected)
        self._restore_missing_locked_cells(nb, expected, info)
        return nb, resources

    @staticmethod
    def _expected_cells(gb: Gradebook, notebook: str, assignment: str) -> dict[str, dict]:
        """{grade id: what its metadata must say}, from the gradebook."""
        source_nb = gb.find_notebook(notebook, assignment)
        grades = {c.name: float(c.max_score) for c in source_nb.grade_cells}
        solutions = {c.name for c in source_nb.solution_cells}
        tasks = {c.name: float(c.max_score) for c in source_nb.task_cells}
        expected = {}
        for cell in source_nb.source_cells:
            expected[cell.name] = {
                "grade": cell.name in grades, "solution": cell.name in solutions, "locked": bool(cell.locked),
                "task": cell.name in tasks, "points": grades.get(cell.name, tasks.get(cell.name)),
                "cell_type": cell.cell_type,
            }
        return expected

    def _check_metadata(self, nb, expected: dict[str, dict]) -> None:
        seen: dict[str, int] = {}
        for position, cell in enumerate(nb.cells, start=1):
            if "nbgrader" not in cell.get("metadata", {}):
                continue
            meta = _nbgrader(cell)
            grade_id = meta.get("grade_id")
            where = f"cell {position}"
            if not isinstance(grade_id, str) or not grade_id:
                if any(meta.get(flag) for flag in FLAGS):
                    self._reject(f"{where} has nbgrader metadata ({self._flags(meta)}) but no grade id")
                del cell.metadata["nbgrader"]   # empty nbgrader metadata says nothing: a plain cell
                continue
            shown = grade_id[:60]
            if grade_id not in expected:
                self._reject(f"{where} claims the grade id {shown!r}, which this assignment does not have")
            if grade_id in seen:
                self._reject(f"cells {seen[grade_id]} and {position} both claim the grade id {shown!r}")
            seen[grade_id] = position
            want = expected[grade_id]
            for flag in FLAGS:
                if bool(meta.get(flag, False)) != want[flag]:
                    self._reject(f"{where} ({shown}) is marked {flag}={bool(meta.get(flag, False))}, "
                                 f"but in the assignment it is {flag}={want[flag]}")
            if want["points"] is not None:
                try:
                    points = float(meta.get("points", 0))
                except (TypeError, ValueError):
                    points = None
                if points != want["points"]:
                    self._reject(f"{where} ({shown}) is worth {str(meta.get('points'))[:20]} points, "
                                 f"but in the assignment it is worth {want['points']:g}")
            if cell.cell_type != want["cell_type"]:
                self._reject(f"{where} ({shown}) is a {cell.cell_type} cell, but in the assignment it is "
                             f"a {want['cell_type']} cell")

    @staticmethod
    def _flags(meta: dict) -> str:
        return ", ".join(f"{flag}=true" for flag in FLAGS if meta.get(flag)) or "no flags"

    @staticmethod
    def _reject(why: str):
        raise SubmissionRejected(
            f"the notebook's nbgrader metadata was changed: {why}. The grader cannot tell the tests from "
            f"the answers in such a notebook, so it scores 0. Copy your answers into a fresh copy of the "
            f"assignment (fetch it again) and submit that.")

    def _restore_missing_locked_cells(self, nb, expected: dict[str, dict], info: dict) -> None:
        present = {_nbgrader(c).get("grade_id") for c in nb.cells}
        missing = [gid for gid, want in expected.items()
                   if want["locked"] and not want["grade"] and gid not in present]
        if not missing:
            return
        path = Path(self.source_directory, info["assignment"], f"{info['notebook']}.ipynb")
        if not path.is_file():
            raise GraderFault(f"no source notebook {path}: missing locked cells cannot be put back")
        source = nbformat.read(path, as_version=4)
        for index, source_cell in enumerate(source.cells):
            grade_id = _nbgrader(source_cell).get("grade_id")
            if grade_id not in missing:
                continue
            restored = nbformat.from_dict(source_cell)
            if restored.get("id") in {c.get("id") for c in nb.cells}:   # the stripped copy keeps its id
                restored["id"] = f"{grade_id}-restored"[:64]
            if restored.cell_type == "code":
                restored.outputs, restored.execution_count = [], None
            nb.cells.insert(self._insertion_point(nb, source, index), restored)
            self.log.warning("Locked cell %s was missing from the submission; put back from the source", grade_id)

    @staticmethod
    def _insertion_point(nb, source, index: int) -> int:
        """Just after the submission's copy of the nearest earlier source cell (0 when there is none)."""
        for earlier in reversed(source.cells[:index]):
            grade_id = _nbgrader(earlier).get("grade_id")
            for position, cell in enumerate(nb.cells):
                if grade_id and _nbgrader(cell).get("grade_id") == grade_id:
                    return position + 1
        return 0
