"""Every lecture notebook (course/lectures/*.ipynb) and every instructor source notebook
(source/*/*.ipynb) runs top to bottom in a fresh python3 kernel without an error output.

The notebooks run in a temporary working directory with MPLBACKEND=Agg, 120 s per cell at most.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course import assignments

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "course" / "lectures").glob("*.ipynb"))
SOURCES = sorted((ROOT / "source").glob("*/*.ipynb"))
CELL_TIMEOUT = 120  # a runaway cell fails the run instead of hanging it


def execute(path: Path, workdir: Path, monkeypatch) -> tuple[nbformat.NotebookNode, list[str]]:
    """Run the notebook at ``path`` in ``workdir``; return it and a description of every error output."""
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel inherits the environment
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT, allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    errors = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first_line = cell.source.splitlines()[0] if cell.source else ""
                errors.append(f"cell {index} ({first_line!r}): {output.get('ename')}: {output.get('evalue')}")
    return nb, errors


def test_the_check_sees_error_outputs(tmp_path, monkeypatch):
    """The harness itself: a cell that raises is reported, and later cells still run."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nprint(os.environ['MPLBACKEND'], os.getcwd())"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("print('after')"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    workdir = tmp_path / "work"
    workdir.mkdir()
    executed, errors = execute(path, workdir, monkeypatch)
    assert len(errors) == 1 and "ZeroDivisionError" in errors[0] and errors[0].startswith("cell 1")
    backend, cwd = executed.cells[0].outputs[0]["text"].strip().split(" ", 1)
    assert backend == "Agg" and Path(cwd).resolve() == workdir.resolve()
    assert executed.cells[2].outputs[0]["text"] == "after\n"


def test_every_lecture_module_has_a_notebook():
    expected = {ROOT / "course" / "lectures" / f"{name}.ipynb" for name in (lecture.name for lecture in assignments.LECTURES)}
    assert expected, "no lecture modules found in course/notebooks"
    assert expected <= set(LECTURES), f"run python -m course.notebooks.build: missing {sorted(expected - set(LECTURES))}"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_lecture_runs_without_errors(path, tmp_path, monkeypatch):
    nb, errors = execute(path, tmp_path, monkeypatch)
    assert not errors, f"{path.relative_to(ROOT)}:\n" + "\n".join(errors)
    assert any(cell.cell_type == "code" and cell.get("outputs") for cell in nb.cells), "no cell produced output"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_source_notebook_runs_without_errors(path, tmp_path, monkeypatch):
    _, errors = execute(path, tmp_path, monkeypatch)
    assert not errors, f"{path.relative_to(ROOT)}:\n" + "\n".join(errors)
