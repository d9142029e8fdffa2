"""The grading engine's settings (autograder/grading/settings.py): declared once, with their help,
set alike from nbgrader_config.py (c.GradingSettings.<name>) and from `course grade --<name>`, and
obeyed by every path that runs a submission: `course grade` and nbgrader's own autograde."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys

import nbformat
import pytest
from traitlets.config import Config

from autograder.grading.engine import GradingEngine
from autograder.grading.executor import ExecutionJob
from autograder.grading.settings import GradingSettings, Limits, add_options, settings_from
from course.cli import main as course_main
from course.course_dir import Course
from course_harness import source_notebook

ASSIGNMENT = "01_derivatives"
NAMES = sorted(GradingSettings.class_trait_names(config=True))


def _options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_options(parser)
    return parser.parse_args(argv)


def test_every_setting_has_help_and_its_option():
    assert {"cell_timeout", "notebook_timeout", "output_limit", "max_restarts", "address_space_mb", "cpu_seconds",
            "processes", "file_size_mb", "open_files", "tmp_mb"} <= set(NAMES)
    for name in NAMES:
        trait = GradingSettings.class_traits()[name]
        assert len(trait.help) > 20, name
        value = trait.default_value * 2 or 5   # any valid value other than the default
        given = settings_from(None, _options(f"--{name.replace('_', '-')}", str(value)))
        assert getattr(given, name) == value, name


def test_the_config_file_and_the_option_set_the_same_key_and_the_option_wins():
    config = Config({"GradingSettings": {"cell_timeout": 7.0, "tmp_mb": 32}})
    from_file = settings_from(config, _options())
    assert (from_file.cell_timeout, from_file.tmp_mb, from_file.output_limit) == (7.0, 32, 200_000)
    both = settings_from(config, _options("--cell-timeout", "3"))
    assert (both.cell_timeout, both.tmp_mb) == (3.0, 32)
    assert both.notebook_seconds() == 30.0 and settings_from(config, _options("--notebook-timeout", "9")).notebook_seconds() == 9


def test_the_defaults_live_in_the_settings_only():
    """The executor's job and the sandbox's limits take their values from GradingSettings; neither
    carries a default of its own that could drift from the documented one."""
    for cls, names in ((ExecutionJob, ("cell_timeout", "notebook_timeout", "output_limit", "max_restarts")),
                       (Limits, tuple(f.name for f in dataclasses.fields(Limits)))):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name in names:
            assert fields[name].default is dataclasses.MISSING, f"{cls.__name__}.{name}"
    settings = GradingSettings(cell_timeout=5, tmp_mb=8, processes=9)
    assert settings.limits().tmp_mb == 8 and settings.limits().processes == 9
    assert settings.run_options()["cell_timeout"] == 5 and settings.run_options()["notebook_timeout"] == 50


def test_the_course_config_sets_the_engine_and_its_sandbox(tmp_path):
    root = tmp_path / "course"
    Course.temporary(root, [ASSIGNMENT])
    with open(root / "nbgrader_config.py", "a") as config:
        config.write("\nc.GradingSettings.cell_timeout = 12\nc.GradingSettings.tmp_mb = 48\n")
    engine = GradingEngine(Course(root), workers=1)
    assert engine.settings.cell_timeout == 12 and engine.settings.notebook_seconds() == 120
    argv = " ".join(engine.sandbox.kernel_argv(tmp_path, 0, tmp_path / "c.json"))
    assert f"--size {48 * 2**20} --tmpfs /tmp" in argv


def test_a_bad_value_is_refused_naming_the_setting(tmp_path, capsys):
    root = tmp_path / "course"
    Course.temporary(root, [ASSIGNMENT])
    assert course_main(["grade", ASSIGNMENT, "--course", str(root), "--cell-timeout", "0"]) != 0
    said = capsys.readouterr().err
    assert "cell_timeout" in said and "--cell-timeout" in said, said


def _sleeping_submission() -> nbformat.NotebookNode:
    """The solution, with a first answer cell that sleeps far longer than any timeout here."""
    nb = source_notebook(ASSIGNMENT)
    first = next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    first.source = "import time\ntime.sleep(120)\n" + first.source
    return nb


def _timeout_notes(notebook_path) -> list[str]:
    graded = nbformat.read(notebook_path, as_version=4)
    return [o.get("evalue", "") for c in graded.cells for o in c.get("outputs", []) if o.get("ename") == "CellTimeoutError"]


@pytest.mark.sandbox
@pytest.mark.nbgrader
def test_course_grade_and_nbgrader_autograde_obey_the_configured_cell_timeout(tmp_path):
    root = tmp_path / "course"
    course = Course.temporary(root, [ASSIGNMENT])
    with open(root / "nbgrader_config.py", "a") as config:
        config.write("\nc.GradingSettings.cell_timeout = 3\n")
    course.generate(ASSIGNMENT)
    course.submit("sleeper", ASSIGNMENT, _sleeping_submission())
    graded = root / "autograded" / "sleeper" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert any("more than 3 s" in note for note in _timeout_notes(graded)), _timeout_notes(graded)

    assert course_main(["grade", ASSIGNMENT, "--course", str(root), "--force", "--workers", "1"]) == 0
    assert any("more than 3 s" in note for note in _timeout_notes(graded)), _timeout_notes(graded)

    assert course_main(["grade", ASSIGNMENT, "--course", str(root), "--force", "--workers", "1",
                        "--cell-timeout", "4"]) == 0
    assert any("more than 4 s" in note for note in _timeout_notes(graded)), _timeout_notes(graded)
