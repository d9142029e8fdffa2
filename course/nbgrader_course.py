"""A course in a folder of its own, driven through nbgrader's Python API and a real gradebook.

Used to generate student versions without touching the course's own gradebook
(course/release.py), and by the tests and benchmarks that grade submissions.
"""

from __future__ import annotations

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


class TempCourse:
    """A copy of a course (its nbgrader_config.py and chosen source assignments) in the folder
    ``root``, with a gradebook and an exchange of its own. The gradebook is ``root/gradebook.db``
    (SQLite) unless ``db_url`` names another database (e.g. postgresql+psycopg2://...)."""

    def __init__(self, root: Path, assignments: list[str], course_root: Path = ROOT, db_url: str | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copy(course_root / "nbgrader_config.py", self.root / "nbgrader_config.py")
        for assignment in assignments:
            shutil.copytree(course_root / "source" / assignment, self.root / "source" / assignment)
        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.db_url = db_url or f"sqlite:///{self.root / 'gradebook.db'}"
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
