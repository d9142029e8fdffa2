"""An nbgrader course on disk: its folder, configuration, gradebook and assignments.

Every `course` subcommand starts from a Course. A course folder holds `nbgrader_config.py` and
`source/<assignment>/*.ipynb`; nbgrader's own folders (`release/`, `submitted/`, `autograded/`,
`feedback/`) appear next to them as the course is run. `Course.temporary` copies a course into a
folder of its own, with its own gradebook and exchange (course check, course demo, the tests and
benchmarks). `Course.generate` is the one release path: nbgrader's generate_assignment, then the
leak scan (`leaks`) of the student version.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from autograder.grading.intake import kind
from autograder.grading.student_ids import id_problem, printable

ROOT = Path(__file__).resolve().parents[1]   # the course of this repository

# nbgrader runs `alembic` (a console script installed next to this Python) to set up gradebooks.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


class CourseError(Exception):
    """Something the user asked for cannot be done; the message says what exists and what to do."""


class Leaks(CourseError):
    """The student version nbgrader generated still shows solutions or hidden tests."""

    def __init__(self, assignment: str, problems: list[str]):
        super().__init__("\n  ".join([f"{assignment}: the student version leaks:", *problems]))
        self.assignment, self.problems = assignment, problems


LEAK_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def leaks(release_folder: Path, source_folder: Path) -> list[str]:
    """Solution or hidden-test text that made it into the student version (empty when clean)."""
    problems = []
    for path in sorted(release_folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        source_nb = nbformat.read(source_folder / path.name, as_version=4)
        secret_lines, public_lines = set(), set()
        for cell in source_nb.cells:
            inside = False
            for line in cell.source.splitlines():
                if line.strip() in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                    inside = True
                elif line.strip() in ("### END SOLUTION", "### END HIDDEN TESTS"):
                    inside = False
                elif len(line.strip()) > 12:
                    (secret_lines if inside else public_lines).add(line.strip())
        secret_lines -= public_lines  # a line the students see anyway is no leak
        for cell in nb.cells:
            for marker in LEAK_MARKERS:
                if marker in cell.source:
                    problems.append(f"{path.name}: a cell still contains '{marker}'")
            for line in cell.source.splitlines():
                if line.strip() in secret_lines:
                    problems.append(f"{path.name}: solution or hidden-test line leaked: {line.strip()}")
    return problems


class Course:
    """The course in folder ``root``. ``db_url`` overrides the gradebook named in its config."""

    def __init__(self, root: Path | str, db_url: str | None = None):
        self.root = Path(root).resolve()
        config_file = self.root / "nbgrader_config.py"
        if not config_file.is_file():
            raise CourseError(
                f"no course at {self.root}: a course folder holds nbgrader_config.py and "
                f"source/<assignment>/*.ipynb. Run the command from the course folder or pass --course DIR."
            )
        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        if db_url:
            config.CourseDirectory.db_url = db_url
        self.config = config
        self.coursedir = CourseDirectory(config=config)
        self.coursedir.root = str(self.root)

    @classmethod
    def temporary(cls, root: Path | str, assignments: list[str], course_root: Path = ROOT,
                  db_url: str | None = None) -> "Course":
        """A copy of the course at course_root (its nbgrader_config.py and the chosen source
        assignments) in the folder ``root``, with a gradebook and an exchange of its own. The
        gradebook is ``root/gradebook.db`` (SQLite) unless ``db_url`` names another database
        (e.g. postgresql+psycopg2://...); the exchange is ``root/exchange``."""
        root, course_root = Path(root), Path(course_root)
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(course_root / "nbgrader_config.py", root / "nbgrader_config.py")
        for assignment in assignments:
            shutil.copytree(course_root / "source" / assignment, root / "source" / assignment)
        course = cls(root, db_url=db_url or f"sqlite:///{root.resolve() / 'gradebook.db'}")
        course.config.Exchange.root = str(course.root / "exchange")
        return course

    # -- what the course holds ------------------------------------------------------------

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    @property
    def course_id(self) -> str:
        return self.coursedir.course_id

    def path(self, step: str, *parts: str) -> Path:
        """A folder of the course: step is source, release, submitted, autograded or feedback."""
        return self.root.joinpath(step, *parts)

    def assignments(self) -> list[str]:
        """The assignments in source/, sorted."""
        source = self.path("source")
        if not source.is_dir():
            return []
        return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def assignment(self, name: str) -> str:
        """name, checked: the error lists the assignments that exist."""
        names = self.assignments()
        if name not in names:
            listed = ", ".join(names) if names else "none (source/ has no <assignment>/*.ipynb)"
            raise CourseError(f"no assignment {name!r} in {self.path('source')}. Assignments: {listed}.")
        return name

    def notebooks(self, assignment: str) -> list[str]:
        """The notebook names (without .ipynb) of an assignment, from source/."""
        return sorted(p.stem for p in self.path("source", assignment).glob("*.ipynb"))

    def students_submitted(self, assignment: str) -> list[str]:
        """Students with a folder submitted/<student>/<assignment>/, sorted: only real folders (no
        symbolic links) whose name is a valid student id (autograder/grading/student_ids.py); the others are
        in refused_submitted() and are never graded."""
        return sorted(self._submitted_folders(assignment)[0])

    def refused_submitted(self, assignment: str) -> dict[str, str]:
        """{folder name as printable text: why it is not graded} for the folders of submitted/ that hold
        the assignment but are not usable (an invalid id, a symbolic link)."""
        return self._submitted_folders(assignment)[1]

    def _submitted_folders(self, assignment: str) -> tuple[list[str], dict[str, str]]:
        submitted = self.path("submitted")
        good, refused = [], {}
        if not submitted.is_dir():
            return good, refused
        for name in sorted(os.listdir(submitted)):
            try:
                mode = os.lstat(submitted / name).st_mode
                inner = os.lstat(submitted / name / assignment).st_mode if stat.S_ISDIR(mode) else None
            except (FileNotFoundError, NotADirectoryError):
                continue
            except (OSError, ValueError) as error:
                refused[printable(name)] = f"cannot be looked at ({error})"
                continue
            if inner is None:
                if stat.S_ISLNK(mode):
                    refused[printable(name)] = (f"submitted/{printable(name)} is a symbolic link, not a folder; not graded. "
                                            "Delete it and collect the student's work again")
                continue
            if problem := id_problem(name):
                refused[printable(name)] = f"not graded: {problem}"
            elif not stat.S_ISDIR(inner):
                refused[printable(name)] = (f"submitted/{name}/{assignment} is {kind(inner)}, not a folder; not graded. "
                                        "Delete it and collect the student's work again")
            else:
                good.append(name)
        return good, refused

    # -- nbgrader ---------------------------------------------------------------------------

    def api(self) -> NbGraderAPI:
        """nbgrader's Python API on this course (quiet: errors come back in its results)."""
        exchange = Path(self.config.Exchange.get("root", "/usr/local/share/nbgrader/exchange"))
        if self.root in exchange.parents:   # the course's own exchange: make it, or nbgrader logs it as unwritable
            exchange.mkdir(parents=True, exist_ok=True)
        api = NbGraderAPI(coursedir=self.coursedir, config=self.config)
        api.log.setLevel(logging.ERROR)
        return api

    def gradebook(self) -> Gradebook:
        """The gradebook; use as a context manager."""
        return Gradebook(self.db_url, self.course_id)

    def ensure_in_gradebook(self, assignment: str) -> None:
        """Make sure the gradebook knows the assignment (generate_assignment records its cells)."""
        with self.gradebook() as gb:
            try:
                known = {nb.name for nb in gb.find_assignment(assignment).notebooks}
            except Exception:
                known = set()
        if known >= set(self.notebooks(assignment)) and known:
            return
        self.generate(assignment)

    def generate(self, assignment: str) -> Path:
        """The student version, release/<assignment>: nbgrader's generate_assignment (which also records
        the assignment's cells in the gradebook), then the leak scan; raises Leaks when it leaks."""
        result = self.api().generate_assignment(assignment, force=True)
        if not result["success"]:
            raise CourseError(f"nbgrader could not generate {assignment}:\n{result.get('error') or result['log']}")
        released = self.path("release", assignment)
        problems = leaks(released, self.path("source", assignment))
        if problems:
            raise Leaks(assignment, problems)
        return released

    # -- submissions (for the tests, benchmarks and course check) -----------------------------

    def submit(self, student: str, assignment: str, nb: nbformat.NotebookNode) -> None:
        """Put nb into submitted/<student>/<assignment>/<assignment>.ipynb."""
        folder = self.path("submitted", student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")

    def autograde(self, assignment: str, student: str) -> dict:
        """nbgrader's autograde of one submission."""
        result = self.api().autograde(assignment, student, force=True)
        if not result["success"]:
            raise RuntimeError(f"autograde {assignment} for {student} failed:\n{result['log']}{result.get('error', '')}")
        return result

    def scores(self, assignment: str, student: str) -> dict[str, tuple[float, float]]:
        """{grade_id: (score, max_score)} from the gradebook for the student's notebook."""
        with self.gradebook() as gb:
            submission = gb.find_submission_notebook(assignment, assignment, student)
            return {grade.name: (grade.score, grade.max_score) for grade in submission.grades}

    def autograded_notebook(self, assignment: str, student: str) -> nbformat.NotebookNode:
        return nbformat.read(self.path("autograded", student, assignment, f"{assignment}.ipynb"), as_version=4)
