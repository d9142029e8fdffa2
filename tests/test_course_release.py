"""source/ is built from course/notebooks, and release/ is exactly nbgrader's student version of it."""

import filecmp
from pathlib import Path

import nbformat
import pytest

from course.assignments import NAMES
from course.notebooks import build
from course.release import assignments, generate, leaks

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = list(NAMES)


def test_every_assignment_module_has_a_source_and_a_release():
    assert ASSIGNMENTS, "no assignment notebooks found"
    assert assignments() == sorted(ASSIGNMENTS)
    for name in ASSIGNMENTS:
        assert (ROOT / "release" / name / f"{name}.ipynb").exists(), f"run: python -m course.release {name}"


def test_committed_notebooks_match_their_modules(capsys):
    assert build.main(["--check"]) == 0, capsys.readouterr().out


def test_build_writes_only_the_notebooks_named(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "ROOT", tmp_path)
    assert build.main(["02_backprop"]) == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.ipynb"))
    assert written == ["source/02_backprop/02_backprop.ipynb"]
    assert (tmp_path / written[0]).read_text() == (ROOT / written[0]).read_text()


def test_build_names_an_unknown_notebook(capsys):
    with pytest.raises(SystemExit):
        build.main(["02_backprob"])
    said = capsys.readouterr().err
    assert "no assignment or lecture called 02_backprob" in said and "02_backprop" in said


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_what_nbgrader_generates_and_leaks_nothing(assignment, tmp_path):
    fresh = generate(assignment, ROOT, tmp_path)
    committed = ROOT / "release" / assignment
    names = sorted(p.name for p in fresh.iterdir())
    assert names == sorted(p.name for p in committed.iterdir())
    for name in names:
        assert filecmp.cmp(fresh / name, committed / name, shallow=False), (
            f"release/{assignment}/{name} differs from nbgrader's output: run python -m course.release {assignment}")
    assert leaks(committed, ROOT / "source" / assignment) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_add_up_to_100_and_every_test_cell_is_locked(assignment):
    nb = nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert sum(c.metadata.nbgrader.points for c in graded) == 100
    assert all(c.metadata.nbgrader.locked for c in graded)
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions and all("### BEGIN SOLUTION" in c.source for c in solutions)
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in graded)
