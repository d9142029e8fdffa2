"""course check ASSIGNMENT: test the tests.

In a temporary copy of the course (its own gradebook; the course's own is not touched), grade
with the grading engine: the instructor's solutions (must get full marks), the untouched student
version (must get 0), the mutant bank (each must lose exactly the test cells of the exercise it
breaks), the correct variants (full marks) and the tampering bank (0 on the cells it attacks).
Lists the mutants that survive (tests too weak) and the variants that are rejected (tests too
strict).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.grading.engine import GradingEngine

from . import banks
from .course_dir import Course, CourseError
from .grading import grade_with_progress, make_engine


@dataclass
class Verdict:
    """What one bank submission should lose and what it lost."""

    student: str
    kind: str             # solutions, release, mutant, variant, tampering
    name: str
    expected: str         # in words
    lost: list[str] = field(default_factory=list)
    score: float = 0.0
    ok: bool = True


def expectation(kind: str, entry: dict | None, lost: list[str], score: float, max_score: float) -> tuple[str, bool]:
    """(what should happen, whether it did) for one submission of the bank."""
    if kind in ("solutions", "variant"):
        return "full marks", not lost and score == max_score
    if kind == "release":
        return "0 points", score == 0
    if kind == "mutant":
        return f"loses exactly {', '.join(sorted(entry['breaks']))}", lost == sorted(entry["breaks"])
    return f"0 on {', '.join(sorted(entry['breaks']))}", set(entry["breaks"]) <= set(lost)


def check_assignment(course_root: Path, assignment: str, workers: int | None, folder: Path,
                     console: Console | None = None) -> list[Verdict]:
    """Grade the bank of assignment in a temporary course in ``folder``; one Verdict per submission."""
    course = Course.temporary(folder, [assignment], course_root=course_root)
    course.generate(assignment)
    bank = banks.bank_for(assignment)
    if bank is None:
        raise CourseError(f"{assignment} has no bank of mutants and variants (course/banks/); "
                          "only the solutions and the release can be checked")
    entries = {"solutions": ("solutions", "instructor's solution", None),
               "release": ("release", "untouched student version", None)}
    for kind, plural in (("mutant", "MUTANTS"), ("variant", "VARIANTS"), ("tampering", "TAMPERING")):
        for i, entry in enumerate(getattr(bank, plural)):
            entries[f"{plural.lower()}-{i}"] = (kind, entry["name"], entry)
    for student, nb in banks.class_of(assignment, folder).items():
        course.submit(student, assignment, nb)
    engine = GradingEngine(course, workers=workers)
    results = {r.student: r for r in grade_with_progress(engine, assignment, console=console)}
    verdicts = []
    with course.gradebook() as gb:
        for student, (kind, name, entry) in entries.items():
            result = results[student]
            if result.status == "grader_error":
                verdicts.append(Verdict(student, kind, name, "graded", ok=False, lost=[f"grader error: {result.error}"]))
                continue
            grades = gb.find_submission_notebook(assignment, assignment, student).grades
            lost = sorted(g.name for g in grades if g.max_score and (g.score or 0) < g.max_score)
            expected, ok = expectation(kind, entry, lost, result.score, result.max_score)
            verdicts.append(Verdict(student, kind, name, expected, lost, result.score, ok))
    return verdicts


def verdict_table(assignment: str, verdicts: list[Verdict]) -> Table:
    table = Table(title=f"{assignment}: tests of the tests")
    for column in ("kind", "submission", "expected", "lost", "verdict"):
        table.add_column(column, overflow="fold")
    for v in verdicts:
        word = "ok" if v.ok else {"mutant": "SURVIVES", "variant": "REJECTED"}.get(v.kind, "WRONG")
        table.add_row(v.kind, v.name, v.expected, ", ".join(v.lost) or "-", word if v.ok else f"[red]{word}")
    return table


def run(args) -> int:
    course = Course(args.course)
    assignment = course.assignment(args.assignment)
    make_engine(course, args)     # fails early, clearly, when the sandbox cannot run
    console = Console()
    with tempfile.TemporaryDirectory(prefix=f"course-check-{assignment}-") as folder:
        verdicts = check_assignment(course.root, assignment, args.workers, Path(folder), console=console)
    console.print(verdict_table(assignment, verdicts))
    survivors = [v.name for v in verdicts if v.kind == "mutant" and not v.ok]
    rejected = [v.name for v in verdicts if v.kind == "variant" and not v.ok]
    others = [v.name for v in verdicts if v.kind not in ("mutant", "variant") and not v.ok]
    counts = {kind: sum(v.kind == kind for v in verdicts) for kind in ("mutant", "variant", "tampering")}
    console.print(f"{counts['mutant']} mutants ({len(survivors)} survive), {counts['variant']} correct variants "
                  f"({len(rejected)} rejected), {counts['tampering']} tampering attempts, solutions and release")
    for label, names in (("surviving mutants (tests too weak)", survivors),
                         ("rejected variants (tests too strict)", rejected), ("other failures", others)):
        if names:
            console.print(f"[red]{label}:[/red] " + "; ".join(names))
    return 0 if not (survivors or rejected or others) else 1

