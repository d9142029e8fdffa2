"""The instructor's round trip through the `course` command: release -> collect -> grade ->
feedback -> export -> report, and `course demo` (the README's main job), on real nbgrader,
sandboxed kernels and a real SQLite gradebook."""

import csv
import json

import nbformat
import pytest

from course.cli import main
from course.course_dir import Course
from course_harness import release_notebook, source_notebook
from course import banks

pytestmark = [pytest.mark.nbgrader, pytest.mark.sandbox]

ASSIGNMENT = "01_derivatives"


def test_release_collect_grade_feedback_export_report(tmp_path, capsys):
    root = tmp_path / "course"
    Course.temporary(root, [ASSIGNMENT])
    course = ["--course", str(root)]
    assert main(["release", ASSIGNMENT, *course]) == 0
    assert (root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()

    downloads = tmp_path / "downloads"
    hand_ins = {"amy": source_notebook(ASSIGNMENT), "bob": release_notebook(ASSIGNMENT),
                "cat": banks.submission(ASSIGNMENT, banks.bank_for(ASSIGNMENT).MUTANTS[0])}
    for student, nb in hand_ins.items():
        (downloads / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, downloads / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert main(["collect", ASSIGNMENT, "--from", str(downloads), *course]) == 0
    assert sorted(p.name for p in (root / "submitted").iterdir()) == ["amy", "bob", "cat"]

    capsys.readouterr()
    assert main(["grade", ASSIGNMENT, "--workers", "2", *course]) == 0
    table = capsys.readouterr().out
    assert "100 / 100" in table and "0 / 100" in table and "85 / 100" in table

    assert main(["feedback", ASSIGNMENT, *course]) == 0
    for student in hand_ins:
        assert (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    assert "CheckFailed" in (root / "feedback" / "cat" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()

    assert main(["export", *course]) == 0
    with open(root / "exports" / "grades.csv") as handle:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert scores == {"amy": 100, "bob": 0, "cat": 85}
    results = json.loads((root / "exports" / "gradescope" / ASSIGNMENT / "cat" / "results.json").read_text())
    assert results["score"] == 85 and [t["status"] for t in results["tests"]].count("failed") == 1

    assert main(["report", ASSIGNMENT, *course]) == 0
    assert (root / "reports" / ASSIGNMENT / "grades.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Exercise 1" in (root / "reports" / ASSIGNMENT / "report.md").read_text()


def test_course_demo_grades_a_whole_class(tmp_path, capsys):
    folder = tmp_path / "demo"
    assert main(["demo", "--keep", str(folder), "--assignments", ASSIGNMENT, "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "grades (points out of 100" in out and str(folder / "feedback") in out
    with open(folder / "exports" / "grades.csv") as handle:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert scores["ada"] == 100 and scores["ben"] == 0 and scores["emil"] == 100
    assert scores["gus"] == 80 and scores["hana"] == 80 and scores["lea"] == 0 and scores["nia"] == 0
    assert scores["cleo"] < 100 and scores["faye"] < 100
    assert (folder / "feedback" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    assert (folder / "reports" / ASSIGNMENT / "grades.png").is_file()


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "x").write_text("mine")
    assert main(["demo", "--keep", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["release", "collect", "grade", "feedback", "export", "report", "check", "demo", "lab"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    assert f"usage: course {command}" in capsys.readouterr().out
