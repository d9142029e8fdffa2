"""course export: grades as CSV and per-test results in Gradescope's ``results.json`` shape.

Everything is read from nbgrader's standard layout, whoever did the grading: the gradebook
(a score per grade cell of every submitted notebook) and the executed notebooks in
``autograded/<student>/<assignment>/<notebook>.ipynb``, whose failed test cells carry an
error output. A failure is reported as students see it in their feedback pages
(autograder.grading.feedback_scrub.failure): the message of a check or of the grader, made safe by
HiddenTests.check_message, or a fixed sentence for any other exception; never the traceback, what
the cell printed, or text that student code put in an exception (it may quote hidden tests).

``graded_submissions`` is shared with ``course report``.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from autograder.grading.feedback_scrub import HiddenTests, failure, is_test_cell, package_words
from autograder.grading.student_ids import id_problem, printable

from .course_dir import Course, CourseError

# Columns of nbgrader's own CSV export (nbgrader.plugins.export.CsvExportPlugin), so that
# grades.csv can replace `nbgrader export` wherever that file is read.
CSV_COLUMNS = [
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score",
]
POINTS = re.compile(r"\s*\(\s*\d+(?:\.\d+)?\s+points?\s*\)\s*$", re.IGNORECASE)
MAX_OUTPUT_LINES, MAX_OUTPUT_CHARS = 6, 800


@dataclass
class TestResult:
    """One grade cell of one submitted notebook."""

    notebook: str
    grade_id: str
    name: str  # the exercise heading and the grade id, for people
    score: float
    max_score: float
    failure: str | None = None  # "name: message" of the cell's failure as feedback shows it, or why it lost points

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass
class GradedSubmission:
    """A student's graded assignment: totals from the gradebook and its test results in notebook order."""

    student: str
    assignment: str
    raw_score: float
    max_score: float
    penalty: float
    tests: list[TestResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return max(0.0, self.raw_score - self.penalty)


# -- reading what was graded ------------------------------------------------------------------

def has_gradebook(course: Course) -> bool:
    """False for an SQLite gradebook that does not exist yet (opening it would create it)."""
    url = course.db_url
    return not url.startswith("sqlite:///") or Path(url[len("sqlite:///"):]).is_file()


def exercise_names(notebook: Path) -> dict[str, tuple[int, str]]:
    """{grade_id: (position, name)} for the grade cells of a notebook; the name is the heading of
    the section the cell is in ("Exercise 1: finite differences") followed by the grade id."""
    if not notebook.is_file():
        return {}
    heading, names = "", {}
    for position, cell in enumerate(nbformat.read(notebook, as_version=4).cells):
        if cell.cell_type == "markdown":
            titles = [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]
            heading = POINTS.sub("", titles[0]) if titles else heading
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and cell.metadata["nbgrader"].get("grade"):
            names[grade_id] = (position, f"{heading} ({grade_id})" if heading else grade_id)
    return names


def hidden_tests(course: Course, assignment: str, notebook: str) -> HiddenTests:
    """What of the notebook is hidden; without its source notebook, nothing is known secret but
    messages are still limited to the course's words."""
    try:
        return HiddenTests.from_files(course.path("source", assignment, f"{notebook}.ipynb"),
                                      course.path("release", assignment, f"{notebook}.ipynb"))
    except FileNotFoundError:
        return HiddenTests([], package_words())


def cell_errors(notebook: Path, hidden: HiddenTests) -> dict[str, str]:
    """{grade_id: "name: message"} for the test cells of an executed notebook that failed, as the
    student's feedback page shows them."""
    if not notebook.is_file():
        return {}
    errors = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        failed = failure(cell, hidden) if grade_id and is_test_cell(cell) else None
        if failed:
            name, message = failed
            errors[grade_id] = f"{name}: {message}" if message else name
    return errors


def _failure(grade, errors: dict[str, str], autograded: Path) -> str | None:
    if grade.score >= grade.max_score:
        return None
    if grade.name in errors:
        return errors[grade.name]
    if grade.needs_manual_grade:
        return "waiting for manual grading"
    if not autograded.is_file():
        return "no executed notebook (the submission was not run)"
    return "lost points without an error message (the cell did not finish, or was graded by hand)"


def graded_submissions(course: Course, gb: Gradebook, assignment: str) -> list[GradedSubmission]:
    """Every submission of the assignment in the gradebook, by student id."""
    try:
        submissions = gb.find_assignment(assignment).submissions
    except MissingEntry:
        return []
    several = len({nb.name for s in submissions for nb in s.notebooks}) > 1
    results = []
    for submission in sorted(submissions, key=lambda s: s.student.id):
        graded = GradedSubmission(submission.student.id, assignment, submission.score, submission.max_score,
                                  submission.late_submission_penalty or 0.0)
        for notebook in sorted(submission.notebooks, key=lambda n: n.name):
            names = exercise_names(course.path("source", assignment, f"{notebook.name}.ipynb"))
            autograded = course.path("autograded", graded.student, assignment, f"{notebook.name}.ipynb")
            errors = cell_errors(autograded, hidden_tests(course, assignment, notebook.name))
            for grade in sorted(notebook.grades, key=lambda g: (names.get(g.name, (1e9,))[0], g.name)):
                name = names.get(grade.name, (0, grade.name))[1]
                graded.tests.append(TestResult(
                    notebook.name, grade.name, f"{notebook.name}: {name}" if several else name,
                    grade.score, grade.max_score, _failure(grade, errors, autograded)))
        results.append(graded)
    return results


# -- writing ----------------------------------------------------------------------------------

def _cell(value) -> str:
    return "" if value is None else str(value)


def write_grades_csv(gb: Gradebook, path: Path) -> int:
    """One row per student per assignment, as nbgrader's CSV export writes it (0 without a
    submission); returns the number of rows."""
    rows = []
    for assignment in gb.assignments:
        for student in sorted(gb.students, key=lambda s: (s.last_name or "", s.first_name or "", s.id)):
            row = dict(assignment=assignment.name, duedate=assignment.duedate, student_id=student.id,
                       last_name=student.last_name, first_name=student.first_name, email=student.email,
                       max_score=assignment.max_score)
            try:
                submission = gb.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
            else:
                penalty = submission.late_submission_penalty
                row.update(timestamp=submission.timestamp, raw_score=submission.score, late_submission_penalty=penalty,
                           score=max(0.0, submission.score - (penalty or 0.0)))
            rows.append({key: _cell(value) for key, value in row.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def short(message: str) -> str:
    """At most a few lines and characters of a failure message."""
    lines = message.splitlines()
    text = "\n".join(lines[:MAX_OUTPUT_LINES]) + ("\n..." if len(lines) > MAX_OUTPUT_LINES else "")
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS - 3] + "..."


def gradescope_results(submission: GradedSubmission) -> dict:
    """The submission in the shape of Gradescope's results.json."""
    tests = [{
        "name": test.name, "score": test.score, "max_score": test.max_score,
        "status": "passed" if test.passed else "failed", "output": short(test.failure or ""),
    } for test in submission.tests]
    results = {"score": submission.score, "max_score": submission.max_score, "tests": tests, "visibility": "visible"}
    if submission.penalty:
        results["output"] = f"Late submission penalty: -{submission.penalty:g} points."
    return results


def run(args) -> int:
    course = Course(args.course, args.db_url)
    out = Path(args.out) if Path(args.out).is_absolute() else course.root / args.out
    if not has_gradebook(course):
        raise CourseError(f"no gradebook at {course.db_url}: nothing has been graded yet. "
                          f"Run `course grade ASSIGNMENT` first, then export.")
    with course.gradebook() as gb:
        graded = {a.name: graded_submissions(course, gb, a.name) for a in gb.assignments}
        if not any(graded.values()):
            raise CourseError(f"no graded submissions in {course.db_url}. "
                              f"Run `course grade ASSIGNMENT` first, then export.")
        rows = write_grades_csv(gb, out / "grades.csv")
    print(f"wrote {out / 'grades.csv'} ({rows} rows: every student of the gradebook for every assignment)")
    for assignment, submissions in graded.items():
        refused = [s for s in submissions if id_problem(s.student)]   # the gradebook may hold ids collect never saw
        for submission in refused:
            print(f"  problem: no results.json for {printable(submission.student)}: {id_problem(submission.student)}")
        submissions = [s for s in submissions if s not in refused]
        for submission in submissions:
            path = out / "gradescope" / assignment / submission.student / "results.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(gradescope_results(submission), indent=2) + "\n")
        if submissions:
            print(f"wrote {out / 'gradescope' / assignment}/<student>/results.json for {len(submissions)} students")
    return 0
