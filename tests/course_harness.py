"""A temporary nbgrader course for tests: generate, submit, autograde, read the gradebook.

Everything goes through nbgrader's own Python API and a real SQLite gradebook.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[1]

# nbgrader runs `alembic` (a console script installed next to this Python) to set up gradebooks.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


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


class TempCourse:
    """A copy of the course (config + chosen source assignments) in a temporary folder."""

    def __init__(self, root: Path, assignments: list[str]):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "nbgrader_config.py", self.root / "nbgrader_config.py")
        for assignment in assignments:
            shutil.copytree(ROOT / "source" / assignment, self.root / "source" / assignment)
        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.db_url = f"sqlite:///{self.root / 'gradebook.db'}"
        config.Exchange.root = str(self.root / "exchange")
        self.config = config
        coursedir = CourseDirectory(config=config)
        coursedir.root = str(self.root)
        self.api = NbGraderAPI(coursedir=coursedir, config=config)
        self.api.log.setLevel(logging.ERROR)

    def generate(self, assignment: str) -> Path:
        result = self.api.generate_assignment(assignment, force=True)
        if not result["success"]:
            raise RuntimeError(f"generate_assignment {assignment} failed:\n{result['log']}{result.get('error', '')}")
        return self.root / "release" / assignment

    def submit(self, student: str, assignment: str, nb: nbformat.NotebookNode) -> None:
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")

    def autograde(self, assignment: str, student: str) -> dict:
        result = self.api.autograde(assignment, student, force=True)
        if not result["success"]:
            raise RuntimeError(f"autograde {assignment} for {student} failed:\n{result['log']}{result.get('error', '')}")
        return result

    def scores(self, assignment: str, student: str) -> dict[str, tuple[float, float]]:
        """{grade_id: (score, max_score)} from the gradebook for the student's notebook."""
        with Gradebook(self.config.CourseDirectory.db_url, "autodiff") as gb:
            submission = gb.find_submission_notebook(assignment, assignment, student)
            return {grade.name: (grade.score, grade.max_score) for grade in submission.grades}

    def autograded_notebook(self, assignment: str, student: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
