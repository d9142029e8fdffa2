"""course feedback ASSIGNMENT: HTML feedback per graded student, showing the checks' verdicts and no hidden test code.

nbgrader's generate_feedback (through NbGraderAPI) turns autograded/<student>/<assignment>/*.ipynb
into feedback/<student>/<assignment>/<notebook>.html with the preprocessors of the course's
configuration (nbgrader_config.py, GenerateFeedback.preprocessors), the same as the formgrader's
feedback button. That list must hold the steps of autograder/grading/feedback_scrub.py (hidden-test regions
out of the code, test cells reduced to their verdicts, grader paths shortened, a final leak check);
without them this command refuses to run. Each page written is then read back as text: a page that
still shows a secret hidden-test line (one the student version does not show) is deleted and
reported, and so is every student left without a page (exit status 1).

A submission none of whose notebooks could be read (not JSON, not UTF-8, ...) has nothing for
nbgrader to render, yet its student is owed the reason for the zero: they get a short page of their
own saying why each notebook scored 0, from the grader's record (`course grade` wrote it).
"""

from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from autograder.grading.engine import GradingEngine
from autograder.grading.feedback_scrub import HiddenTests
from autograder.grading.student_ids import id_problem

from .course_dir import Course, CourseError

REQUIRED_STEPS = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.grading.feedback_scrub.ScrubHiddenTests",
    "autograder.grading.feedback_scrub.ShowVerdicts",
    "autograder.grading.feedback_scrub.HideGraderPaths",
    "autograder.grading.feedback_scrub.RefuseHiddenTestLeaks",
]


class _Text(HTMLParser):
    """The text a reader sees in an HTML page (no tags, scripts or styles; entities decoded)."""

    def __init__(self):
        super().__init__()
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return "".join(parser.parts)


def _name(step) -> str:
    return step if isinstance(step, str) else f"{step.__module__}.{step.__name__}"


def configured_steps(course: Course) -> list[str]:
    """GenerateFeedback.preprocessors of the course's configuration, by dotted name; refuses a
    configuration that lacks a step that keeps hidden tests out of feedback."""
    steps = [_name(step) for step in course.config.GenerateFeedback.get("preprocessors", [])]
    missing = [step for step in REQUIRED_STEPS if step not in steps]
    if missing:
        raise CourseError(
            f"{course.root / 'nbgrader_config.py'}: c.GenerateFeedback.preprocessors lacks {', '.join(missing)}. "
            f"Without them feedback pages show hidden tests and whatever student code printed. The list should "
            f"read: {', '.join(REQUIRED_STEPS)}, then any sanitiser and nbconvert.preprocessors.CSSHTMLHeaderPreprocessor.")
    return steps


def graded_students(course: Course, assignment: str) -> list[str]:
    autograded = course.path("autograded")
    if not autograded.is_dir():
        return []
    return sorted(p.name for p in autograded.iterdir()   # ids checked: a page is written under the name
                  if id_problem(p.name) is None and not p.is_symlink() and any((p / assignment).glob("*.ipynb")))


def unreadable_submissions(course: Course, assignment: str, graded: list[str]) -> dict[str, dict]:
    """{student: grading record} of the students who handed in but have no autograded notebook:
    the grader read none of their notebooks, and its record says why (record["problems"])."""
    records = {}
    engine = GradingEngine(course)
    for path in sorted(course.path("grading", assignment).glob("*.json")):
        student = path.stem
        if student in graded or id_problem(student) is not None:
            continue
        record = engine.read_record(assignment, student)
        if record and record.get("status") == "graded" and record.get("problems"):
            records[student] = record
    return records


REASON_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>body {{ font-family: sans-serif; max-width: 50em; margin: 2em auto; }}</style></head>
<body><h1>{title}</h1>
<p>Your notebook <code>{notebook}.ipynb</code> could not be graded, so it scores 0:</p>
<p><strong>{reason}</strong></p>
<p>Hand in the notebook as Jupyter saved it, from a fresh copy of the assignment if yours is damaged.</p>
</body></html>
"""


def write_reason_pages(course: Course, assignment: str, student: str, record: dict) -> list[str]:
    """feedback/<student>/<assignment>/<notebook>.html for each notebook the grader could not read,
    saying why (escaped: the reason quotes what was found in the file), with the submission's
    timestamp beside it as nbgrader's release_feedback expects. Returns the pages' names."""
    folder = course.path("feedback", student, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    timestamp = course.path("submitted", student, assignment, "timestamp.txt")
    if timestamp.is_file() and not timestamp.is_symlink():
        shutil.copy(timestamp, folder / "timestamp.txt")
    pages = []
    for notebook, reason in sorted(record["problems"].items()):
        if notebook not in course.notebooks(assignment):
            continue
        title = f"{assignment}: {record.get('score', 0):g} / {record.get('max_score', 0):g}"
        page = REASON_PAGE.format(title=html.escape(title), notebook=html.escape(notebook), reason=html.escape(reason))
        (folder / f"{notebook}.html").write_text(page, encoding="utf-8")
        pages.append(f"{notebook}.html")
    return pages


def _refusals(log: str) -> list[str]:
    """Why nbgrader wrote no page for a student, when the feedback pipeline's leak check refused it."""
    return [match.group(1).strip() for match in re.finditer(r"LeakedHiddenTests: (.*)", log)]


def run(args) -> int:
    course = Course(args.course, db_url=args.db_url)
    assignment = course.assignment(args.assignment)
    configured_steps(course)
    students = graded_students(course, assignment)
    if not students:
        raise CourseError(f"no graded submissions of {assignment} in {course.path('autograded')}: collect them "
                          f"(course collect {assignment}) and grade them (course grade {assignment}) first.")
    notebooks = {name: HiddenTests.from_files(course.path("source", assignment, f"{name}.ipynb"),
                                              course.path("release", assignment, f"{name}.ipynb"))
                 for name in course.notebooks(assignment)}
    result = course.api().generate_feedback(assignment, force=True)
    log = f"{result.get('log') or ''}\n{result.get('error') or ''}"
    refused = list(dict.fromkeys(_refusals(log)))
    if not result["success"] and not refused and not any(course.path("feedback", s, assignment).is_dir() for s in students):
        raise CourseError(f"nbgrader could not generate the feedback of {assignment}:\n{log.strip()}\n"
                          f"If the gradebook does not know these submissions, grade them again: course grade {assignment}.")

    problems, width = [], max(len("student"), *map(len, students))
    print(f"feedback {assignment} -> {course.path('feedback')} (the checks' verdicts; hidden tests removed)")
    print(f"  {'student':<{width}}  pages")
    for student in students:
        pages = []
        for html in sorted(course.path("feedback", student, assignment).glob("*.html")):
            hidden = notebooks.get(html.stem)
            leaked = hidden.leaks(html_text(html)) if hidden else ["(no source notebook of that name)"]
            if leaked:
                html.unlink()
                problems.append(f"{student}/{html.name} showed hidden test code ({leaked[0]!r}); deleted")
            else:
                pages.append(html.name)
        if not pages:
            problems.append(f"{student}: no feedback page written")
        print(f"  {student:<{width}}  {', '.join(pages) or '-'}")
    for student, record in unreadable_submissions(course, assignment, students).items():
        pages = write_reason_pages(course, assignment, student, record)
        if not pages:
            problems.append(f"{student}: no feedback page written")
        print(f"  {student:<{width}}  {', '.join(pages) or '-'}  (no notebook could be read: the page says why)")
    problems += refused
    for problem in problems:
        print(f"  problem: {problem}")
    return 1 if problems else 0
