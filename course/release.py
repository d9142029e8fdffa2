"""Generate the student versions (release/) from source/ with nbgrader, and verify them.

The generation runs in a temporary copy of the course so that it never touches the course's
own gradebook; the result is copied into release/<assignment>/.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

# nbgrader runs `alembic` (a console script installed next to this Python) to set up gradebooks.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


def assignments(root: Path = ROOT) -> list[str]:
    """The assignment folders in source/, sorted."""
    source = root / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))) if source.is_dir() else []


def generate(assignment: str, course_root: Path, output: Path) -> Path:
    """Run nbgrader's generate_assignment for one assignment of course_root into output/<assignment>."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        tmp = Path(tmp)
        shutil.copy(course_root / "nbgrader_config.py", tmp / "nbgrader_config.py")
        shutil.copytree(course_root / "source" / assignment, tmp / "source" / assignment)
        config = PyFileConfigLoader("nbgrader_config.py", path=str(tmp)).load_config()
        config.CourseDirectory.db_url = f"sqlite:///{tmp / 'gradebook.db'}"
        config.Exchange.root = str(tmp / "exchange")
        coursedir = CourseDirectory(config=config)
        coursedir.root = str(tmp)
        api = NbGraderAPI(coursedir=coursedir, config=config)
        api.log.setLevel(logging.ERROR)
        result = api.generate_assignment(assignment, force=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not generate {assignment}:\n{result.get('log', '')}{result.get('error', '')}")
        target = output / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(tmp / "release" / assignment, target)
    return target


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


def main(argv=None) -> int:
    names = argv if argv else assignments()
    for assignment in names:
        target = generate(assignment, ROOT, ROOT / "release")
        problems = leaks(target, ROOT / "source" / assignment)
        if problems:
            print(*problems, sep="\n")
            return 1
        print(f"released {assignment} -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
