"""`course export` and `course report` on a class graded by nbgrader's real autograde.

One temporary course per module: 01_derivatives graded for the instructor's solutions, the
untouched release, and two mutants from course/banks/a01_derivatives.py (one fails a visible check of
Exercise 1, one a hidden check of Exercise 4's reverse pass), plus a student in the gradebook
who submitted nothing. Export and report run once through `course.cli.main`; the tests read
what they wrote and compare it with the gradebook and with what each student should have lost.
"""

import contextlib
import csv
import io
import json
import re
import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from course.banks import a01_derivatives as bank
from course_harness import ROOT, Course, mutate, release_notebook, source_notebook
from course import cli
from course.report import common_failures, failure_key

pytestmark = pytest.mark.nbgrader

ASSIGNMENT = bank.ASSIGNMENT
MUTANTS = {entry["name"]: entry for entry in bank.MUTANTS}
MUTANT_STUDENTS = {"mutant-ex1": "forward difference divided by 2h",
                   "mutant-ex4": "reverse pass forgets the chain factor 2x"}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _points() -> dict[str, float]:
    """{grade_id: points} of the graded cells of the source notebook."""
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in source_notebook(ASSIGNMENT).cells if c.metadata.get("nbgrader", {}).get("grade")}


POINTS = _points()
# What each student should fail: the solutions nothing, the release everything, a mutant its exercise.
EXPECTED_FAILS = {"solutions": set(), "release": set(POINTS),
                  **{student: set(MUTANTS[name]["breaks"]) for student, name in MUTANT_STUDENTS.items()}}


def _run(argv):
    """course.cli.main(argv) -> (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The graded class, exported and reported once (default --out folders, inside the course)."""
    root = tmp_path_factory.mktemp("class")
    course = Course.temporary(root, [ASSIGNMENT, "02_backprop"])
    course.generate(ASSIGNMENT)
    ungraded = tmp_path_factory.mktemp("ungraded") / "gradebook.db"
    shutil.copy(root / "gradebook.db", ungraded)  # knows the assignment and its cells, no submissions yet
    submissions = {"solutions": source_notebook(ASSIGNMENT), "release": release_notebook(ASSIGNMENT)}
    for student, name in MUTANT_STUDENTS.items():
        entry = MUTANTS[name]
        submissions[student] = mutate(source_notebook(ASSIGNMENT), entry["cell"], entry["old"], entry["new"])
    for student, nb in submissions.items():
        course.submit(student, ASSIGNMENT, nb)
        course.autograde(ASSIGNMENT, student)
    db_url = course.config.CourseDirectory.db_url
    with Gradebook(db_url, "autodiff") as gb:
        gb.add_student("absent")  # in the roster, submitted nothing
    options = ["--course", str(root), "--db-url", db_url]
    export = _run(["export", *options])
    report = _run(["report", ASSIGNMENT, *options])
    return dict(root=root, course=course, db_url=db_url, options=options, export=export, report=report,
                ungraded_db_url=f"sqlite:///{ungraded}")


def _results(graded, student):
    return json.loads((graded["root"] / "exports" / "gradescope" / ASSIGNMENT / student / "results.json").read_text())


def _strings(value):
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _hidden_test_lines() -> set[str]:
    lines, inside = set(), False
    for cell in source_notebook(ASSIGNMENT).cells:
        for line in cell.source.splitlines():
            if "### BEGIN HIDDEN TESTS" in line or "### END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            elif inside and line.strip():
                lines.add(line.strip())
    return lines


# -- course export ------------------------------------------------------------------------------

def test_export_succeeds_and_says_what_it_wrote(graded):
    code, out, err = graded["export"]
    assert code == 0, err
    assert "grades.csv" in out and "results.json" in out and "for 4 students" in out


def test_csv_scores_equal_the_gradebook(graded):
    rows = list(csv.DictReader(open(graded["root"] / "exports" / "grades.csv")))
    assert sorted(r["student_id"] for r in rows) == ["absent", "mutant-ex1", "mutant-ex4", "release", "solutions"]
    with Gradebook(graded["db_url"], "autodiff") as gb:
        for row in rows:
            assert row["assignment"] == ASSIGNMENT and float(row["max_score"]) == 100
            if row["student_id"] == "absent":
                assert (row["timestamp"], float(row["score"])) == ("", 0.0)
                continue
            submission = gb.find_submission(ASSIGNMENT, row["student_id"])
            assert float(row["raw_score"]) == float(row["score"]) == submission.score
    expected = {student: 100 - sum(POINTS[g] for g in fails) for student, fails in EXPECTED_FAILS.items()}
    assert {r["student_id"]: float(r["score"]) for r in rows if r["student_id"] != "absent"} == expected


def test_csv_reads_like_nbgraders_own_export(graded, tmp_path):
    """Same columns and values as `nbgrader export` (CsvExportPlugin), so it can replace it."""
    theirs = tmp_path / "nbgrader.csv"
    with Gradebook(graded["db_url"], "autodiff") as gb:
        CsvExportPlugin(to=str(theirs)).export(gb)
    ours = list(csv.DictReader(open(graded["root"] / "exports" / "grades.csv")))
    assert list(ours[0]) == list(csv.DictReader(open(theirs)).fieldnames)
    key = lambda row: (row["assignment"], row["student_id"])  # noqa: E731
    assert sorted(ours, key=key) == sorted(csv.DictReader(open(theirs)), key=key)


def test_gradescope_results_per_student(graded):
    for student, fails in EXPECTED_FAILS.items():
        results = _results(graded, student)
        tests = {re.search(r"\(([\w-]+)\)$", t["name"]).group(1): t for t in results["tests"]}
        assert set(tests) == set(POINTS), student
        assert {g for g, t in tests.items() if t["status"] == "failed"} == fails, student
        for grade_id, test in tests.items():
            assert test["max_score"] == POINTS[grade_id]
            assert test["score"] == (0 if grade_id in fails else POINTS[grade_id])
            assert bool(test["output"]) == (grade_id in fails), (student, grade_id, test["output"])
        assert results["score"] == sum(t["score"] for t in results["tests"]) == 100 - sum(POINTS[g] for g in fails)
        assert results["max_score"] == 100 and results["visibility"] == "visible"
    assert not (graded["root"] / "exports" / "gradescope" / ASSIGNMENT / "absent").exists()


def test_gradescope_tests_are_named_and_explained(graded):
    tests = _results(graded, "mutant-ex1")["tests"]
    assert [t["name"] for t in tests][:2] == ["Exercise 1: finite differences (ex1-tests)",
                                              "Exercise 2: error against step size (ex2-tests)"]
    output = tests[0]["output"]
    assert output.startswith("CheckFailed: Exercise 1 (forward difference)") and "got 0.477594" in output
    release = {t["name"]: t["output"] for t in _results(graded, "release")["tests"]}
    # Other exceptions than the checks' are named, not quoted: student code could put anything in them.
    assert release["Exercise 2: error against step size (ex2b-tests)"].startswith(
        "NameError: The test stopped with NameError, raised by your code or by the test itself; its message")
    assert release["Exercise 1: finite differences (ex1-tests)"] == \
        "NotImplementedError: Your code raised NotImplementedError: this exercise is not done yet."


def test_no_hidden_test_source_in_the_exports(graded):
    hidden = _hidden_test_lines()
    # The reverse-pass mutant fails inside the hidden tests: its traceback shows them ...
    nb = nbformat.read(graded["root"] / "autograded" / "mutant-ex4" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    traceback = "\n".join(ANSI.sub("", line) for c in nb.cells for o in c.get("outputs", [])
                          if o.get("output_type") == "error" for line in o["traceback"])
    assert any(line in traceback for line in hidden)
    # ... but no JSON output does, nor the report.
    texts = [s for student in EXPECTED_FAILS for s in _strings(_results(graded, student))]
    texts.append((graded["root"] / "reports" / ASSIGNMENT / "report.md").read_text())
    leaked = {line for line in hidden for text in texts if line in text}
    assert not leaked


# -- course report ------------------------------------------------------------------------------

def _report_table(graded) -> dict[str, tuple[str, str]]:
    """{grade_id: (full marks "n/N", pass rate)} from the table of report.md."""
    text = (graded["root"] / "reports" / ASSIGNMENT / "report.md").read_text()
    rows = re.findall(r"^\| [^|]*\(([\w-]+)\) \| [\d.]+ \| (\d+/\d+) \| (\d+)% \|", text, re.MULTILINE)
    return {grade_id: (passed, rate) for grade_id, passed, rate in rows}


def test_report_pass_rates_are_the_right_fractions(graded):
    code, out, err = graded["report"]
    assert code == 0, err
    students = len(EXPECTED_FAILS)
    expected = {}
    for grade_id in POINTS:
        passed = sum(grade_id not in fails for fails in EXPECTED_FAILS.values())
        expected[grade_id] = (f"{passed}/{students}", str(round(100 * passed / students)))
    assert _report_table(graded) == expected
    assert expected["ex1-tests"] == ("2/4", "50") and expected["ex2-tests"] == ("3/4", "75")
    # the printed table: hardest exercises first
    assert "pass rates per exercise" in out and out.index("ex1-tests") < out.index("ex2-tests")


def test_report_lists_the_common_failures(graded):
    text = (graded["root"] / "reports" / ASSIGNMENT / "report.md").read_text()
    section = text.split("### Exercise 2: error against step size (ex2b-tests)")[1].split("###")[0]
    assert "1 × `NameError: The test stopped with NameError, raised by your code or by the test itself;" in section
    section = text.split("### Exercise 1: finite differences (ex1-tests)")[1].split("###")[0]
    assert "2 of 4 lost points" in section and "forward_difference(np.sin, x, 1e-3)" in section
    assert "1 × `NotImplementedError: Your code raised NotImplementedError: this exercise is not done yet.`" in section
    assert "4 graded submissions (1 more in the gradebook without a submission)" in text


def test_report_histogram_is_a_real_png(graded):
    from matplotlib.image import imread

    path = graded["root"] / "reports" / ASSIGNMENT / "grades.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Matplotlib" in data[:200] and len(data) > 5000  # matplotlib's Software chunk; not an empty figure
    pixels = imread(path)
    assert pixels.shape[0] >= 200 and pixels.shape[1] >= 400
    assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[-1])[::7]}) > 20


def test_failure_messages_group_across_students():
    """The same mistake with different values is one group; values all students share stay."""
    messages = [
        "CheckFailed: Exercise 3 (gradient): numerical_gradient, n=4 at index [2]: expected 0.5, got 1.25 "
        "(absolute error 0.75).\n  Likely cause: the result is twice the expected value",
        "CheckFailed: Exercise 3 (gradient): numerical_gradient, n=4 at index [0]: expected -1e-3, got 2 "
        "(absolute error 2).",
        "CheckFailed: Exercise 3 (gradient): numerical_gradient, n=4 at index [1]: expected 3, got 6.5 "
        "(absolute error 3.5).",
        "NameError: name 'numerical_gradient' is not defined",
    ]
    assert len({failure_key(m) for m in messages[:3]}) == 1
    assert common_failures(messages) == [
        (3, "CheckFailed: Exercise 3 (gradient): numerical_gradient, n=4 at index […]: expected …, got … "
            "(absolute error …)."),
        (1, "NameError: name 'numerical_gradient' is not defined"),
    ]
    assert failure_key("x2 is 2x the 1e-3 step") == "x2 is 2x the # step"


# -- what the instructor is told when there is nothing to show -------------------------------------

def test_report_of_an_unknown_assignment(graded):
    code, out, err = _run(["report", "99_nope", *graded["options"]])
    assert code == 2 and "no assignment '99_nope'" in err and "01_derivatives, 02_backprop" in err


def test_report_of_an_assignment_nobody_was_graded_on(graded):
    code, out, err = _run(["report", "02_backprop", *graded["options"]])
    assert code == 2 and "nobody has been graded on 02_backprop" in err and "course grade 02_backprop" in err
    assert not (graded["root"] / "reports" / "02_backprop").exists()


def test_export_and_report_without_a_gradebook(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / ASSIGNMENT, tmp_path / "source" / ASSIGNMENT)
    db = tmp_path / "gradebook.db"
    options = ["--course", str(tmp_path), "--db-url", f"sqlite:///{db}"]
    for argv in (["export", *options], ["report", ASSIGNMENT, *options]):
        code, out, err = _run(argv)
        assert code == 2 and "course grade" in err, (argv, err)
        assert not db.exists()  # a missing gradebook is not created by looking at it


def test_export_and_report_before_anything_was_graded(graded, tmp_path):
    """The gradebook knows the generated assignment, but nobody has been graded."""
    options = ["--course", str(graded["root"]), "--db-url", graded["ungraded_db_url"], "--out", str(tmp_path / "out")]
    code, out, err = _run(["export", *options])
    assert code == 2 and "no graded submissions" in err and "course grade ASSIGNMENT" in err
    code, out, err = _run(["report", ASSIGNMENT, *options])
    assert code == 2 and f"nobody has been graded on {ASSIGNMENT}" in err and f"course grade {ASSIGNMENT}" in err
    assert not (tmp_path / "out").exists()
