"""course feedback ASSIGNMENT: HTML feedback per graded student, without hidden test code.

nbgrader's generate_feedback (through NbGraderAPI) turns autograded/<student>/<assignment>/*.ipynb
into feedback/<student>/<assignment>/<notebook>.html. Its plain output shows the hidden tests
(nbgrader issues #917, #1363), so for this run autograder.feedback_scrub.ScrubHiddenTests joins
GenerateFeedback's preprocessors. Each page is then read back as text: a page that still quotes a
hidden-test line is deleted and reported (exit status 1) rather than handed out.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import nbformat

from autograder.feedback_scrub import MIN_QUOTED, ScrubHiddenTests, hidden_lines

from .course_dir import Course, CourseError


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


def leaked_lines(html: Path, source_notebook: Path) -> list[str]:
    """Hidden-test lines (long enough to be telling) that the page shows."""
    text = html_text(html)
    hidden = hidden_lines(nbformat.read(source_notebook, as_version=4))
    return sorted(line for line in hidden if len(line) >= MIN_QUOTED and line in text)


def graded_students(course: Course, assignment: str) -> list[str]:
    autograded = course.path("autograded")
    if not autograded.is_dir():
        return []
    return sorted(p.name for p in autograded.iterdir() if any((p / assignment).glob("*.ipynb")))


def run(args) -> int:
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    course = Course(args.course, db_url=args.db_url)
    assignment = course.assignment(args.assignment)
    students = graded_students(course, assignment)
    if not students:
        raise CourseError(f"no graded submissions of {assignment} in {course.path('autograded')}: collect them "
                          f"(course collect {assignment}) and grade them (course grade {assignment}) first.")
    course.config.GenerateFeedback.preprocessors = [GetGrades, ScrubHiddenTests, CSSHTMLHeaderPreprocessor]
    course.config.ScrubHiddenTests.source_directory = str(course.path("source"))
    result = course.api().generate_feedback(assignment, force=True)
    if not result["success"]:
        raise CourseError(f"nbgrader could not generate the feedback of {assignment}:\n"
                          f"{(result.get('error') or result.get('log') or '').strip()}\n"
                          f"If the gradebook does not know these submissions, grade them again: course grade {assignment}.")

    problems, width = [], max(len("student"), *map(len, students))
    print(f"feedback {assignment} -> {course.path('feedback')} (hidden tests removed)")
    print(f"  {'student':<{width}}  pages")
    for student in students:
        pages = []
        for html in sorted(course.path("feedback", student, assignment).glob("*.html")):
            leaked = leaked_lines(html, course.path("source", assignment, f"{html.stem}.ipynb"))
            if leaked:
                html.unlink()
                problems.append(f"{student}/{html.name} quoted hidden test code ({leaked[0]!r}...); deleted")
            else:
                pages.append(html.name)
        if not pages:
            problems.append(f"{student}: no feedback page written")
        print(f"  {student:<{width}}  {', '.join(pages) or '-'}")
    for problem in problems:
        print(f"  problem: {problem}")
    return 1 if problems else 0
