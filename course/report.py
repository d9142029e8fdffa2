"""course report ASSIGNMENT: where the class struggled.

Per exercise (grade cell): how many submissions got full marks, the mean score, and the most
common failure messages, grouped so that the same mistake made by different students counts
once: a message is its error's first line, and numbers that differ between the students
(the element values, indices and errors a check prints) are replaced by "…". Written to
``<out>/<assignment>/report.md`` with a grade histogram ``grades.png``, and printed as a table.
The messages are the ones students see in their feedback (course.export reads them through
autograder.grading.feedback_scrub.failure), so the report quotes no hidden test code either.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .course_dir import Course, CourseError
from .export import GradedSubmission, graded_submissions, has_gradebook

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]*\w)")
TOP_FAILURES = 3
TABLE_MESSAGE_CHARS = 90


# -- grouping failure messages ----------------------------------------------------------------

def failure_key(message: str) -> str:
    """The first line of a failure message with its numbers blanked: equal for the same mistake."""
    return NUMBER.sub("#", message.strip().splitlines()[0] if message.strip() else "")


def merge_messages(messages: list[str]) -> str:
    """One message for a group with the same failure_key: numbers on which they all agree are
    kept, the others become "…"."""
    first_lines = [m.strip().splitlines()[0] if m.strip() else "" for m in messages]
    texts = NUMBER.split(first_lines[0])
    numbers = [NUMBER.findall(line) for line in first_lines]
    merged = [texts[0]]
    for i, text in enumerate(texts[1:]):
        values = {found[i] for found in numbers}
        merged += [values.pop() if len(values) == 1 else "…", text]
    return "".join(merged)


def common_failures(messages: list[str], top: int = TOP_FAILURES) -> list[tuple[int, str]]:
    """[(count, message)] of the most frequent failures, most frequent first."""
    groups: dict[str, list[str]] = defaultdict(list)
    for message in messages:
        groups[failure_key(message)].append(message)
    ranked = sorted(groups.values(), key=lambda group: (-len(group), failure_key(group[0])))
    return [(len(group), merge_messages(group)) for group in ranked[:top]]


# -- statistics -------------------------------------------------------------------------------

@dataclass
class ExerciseStats:
    """One grade cell across the class."""

    name: str
    max_score: float
    scores: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(score >= self.max_score for score in self.scores)

    @property
    def pass_rate(self) -> float:
        return self.passed / len(self.scores) if self.scores else 0.0

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


def exercise_stats(submissions: list[GradedSubmission]) -> dict[tuple[str, str], ExerciseStats]:
    """{(notebook, grade_id): stats} in notebook order."""
    stats: dict[tuple[str, str], ExerciseStats] = {}
    for submission in submissions:
        for test in submission.tests:
            entry = stats.setdefault((test.notebook, test.grade_id), ExerciseStats(test.name, test.max_score))
            entry.scores.append(test.score)
            if not test.passed:
                entry.failures.append(test.failure or "")
    return stats


# -- output -----------------------------------------------------------------------------------

def save_histogram(submissions: list[GradedSubmission], path: Path, title: str) -> None:
    """A histogram of the total scores, drawn with the Agg backend (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    maximum = max(s.max_score for s in submissions) or 1.0
    figure = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.hist([s.score for s in submissions], bins=[maximum * i / 10 for i in range(11)], color="#4c72b0",
            edgecolor="white")
    mean = statistics.mean(s.score for s in submissions)
    ax.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.1f}")
    ax.legend(loc="upper left")
    ax.set_xlim(0, maximum)
    ax.set_xlabel(f"score (of {maximum:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")


def _code(text: str) -> str:
    """text made safe inside a Markdown code span."""
    return text.replace("`", "'")


def markdown(assignment: str, submissions: list[GradedSubmission], stats: dict, missing: int) -> str:
    """The report as Markdown."""
    scores = sorted(s.score for s in submissions)
    maximum = max(s.max_score for s in submissions)
    without = f" ({missing} more in the gradebook without a submission)" if missing else ""
    lines = [
        f"# {assignment}: class report", "",
        f"{len(submissions)} graded submissions{without}. Mean score {statistics.mean(scores):.1f} / {maximum:g}, "
        f"median {statistics.median(scores):g}, lowest {scores[0]:g}, highest {scores[-1]:g}.", "",
        "| Exercise | Points | Full marks | Pass rate | Mean score |", "|---|---:|---:|---:|---:|",
    ]
    for entry in stats.values():
        lines.append(f"| {entry.name} | {entry.max_score:g} | {entry.passed}/{len(entry.scores)} "
                     f"| {entry.pass_rate:.0%} | {entry.mean:.1f} |")
    lines += ["", "## Most common failures", ""]
    for entry in sorted(stats.values(), key=lambda e: e.pass_rate):
        if entry.failures:
            lines.append(f"### {entry.name}: {len(entry.failures)} of {len(entry.scores)} lost points")
            lines += [f"- {count} × `{_code(message)}`" for count, message in common_failures(entry.failures)]
            lines.append("")
    lines += ["## Grades", "", "![grade histogram](grades.png)", ""]
    return "\n".join(lines)


def print_table(assignment: str, stats: dict) -> None:
    """The exercises as a table on the terminal, hardest first, each with its most common failure."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{assignment}: pass rates per exercise (hardest first)")
    for column, justify in (("Exercise", "left"), ("Full marks", "right"), ("Pass rate", "right"),
                            ("Most common failure", "left")):
        table.add_column(column, justify=justify)
    for entry in sorted(stats.values(), key=lambda e: e.pass_rate):
        failures = common_failures(entry.failures, top=1)
        top = f"{failures[0][0]} × {failures[0][1]}" if failures else ""
        top = top if len(top) <= TABLE_MESSAGE_CHARS else top[:TABLE_MESSAGE_CHARS - 1] + "…"
        style = "red" if entry.pass_rate < 0.5 else None
        table.add_row(Text(entry.name), f"{entry.passed}/{len(entry.scores)}", f"{entry.pass_rate:.0%}", Text(top),
                      style=style)
    Console().print(table)


def run(args) -> int:
    course = Course(args.course, args.db_url)
    assignment = course.assignment(args.assignment)
    out = (Path(args.out) if Path(args.out).is_absolute() else course.root / args.out) / assignment
    submissions, students = [], 0
    if has_gradebook(course):
        with course.gradebook() as gb:
            submissions, students = graded_submissions(course, gb, assignment), len(gb.students)
    if not submissions:
        waiting = len(course.students_submitted(assignment))
        raise CourseError(f"nobody has been graded on {assignment} yet ({waiting} submissions in submitted/). "
                          f"Run `course grade {assignment}` first, then `course report {assignment}`.")
    stats = exercise_stats(submissions)
    save_histogram(submissions, out / "grades.png", f"{assignment}: {len(submissions)} graded submissions")
    (out / "report.md").write_text(markdown(assignment, submissions, stats, students - len(submissions)))
    print_table(assignment, stats)
    print(f"wrote {out / 'report.md'} and {out / 'grades.png'}")
    return 0
