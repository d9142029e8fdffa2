"""course demo: the whole instructor's workflow on a made-up class, offline, in a folder of its own.

Release every assignment, make a class (correct solutions, blank hand-ins, typical mistakes from
the mutant banks, a correct variant, a tamperer, and for the first assignment broken files and
submissions that kill or flood the kernel), collect it from a download folder, grade it in the
sandboxed engine, write feedback, reports and exports, and print the grades table. The course's
own folders and gradebook are not touched; the demo course stays on disk for a look afterwards.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import nbformat
from rich.console import Console
from rich.table import Table

from . import banks, collect, export, feedback, release, report
from .assignments import NAMES
from .banks.adversarial import ASSIGNMENT as ADVERSARIAL_ASSIGNMENT
from .banks.adversarial import ATTACKS, Context
from .course_dir import Course, CourseError
from .grading import explain, grade_with_progress, make_engine

# Who is in the class: (student, what they hand in). Bank entries are picked per assignment.
CLASS = [
    ("ada", "the instructor's solutions"),
    ("ben", "the student version, untouched"),
    ("cleo", "a typical mistake (first mutant of the bank)"),
    ("dev", "another mistake (a mutant from the middle of the bank)"),
    ("emil", "a different but correct solution (first variant)"),
    ("faye", "tampering with the checks (first tampering entry)"),
]
# Only for the first assignment (its adversarial bank): (student, attack name).
TROUBLE = [
    ("gus", "os._exit inside a function under test"),
    ("hana", "segfault without ctypes (faulthandler)"),
    ("ivo", "memory hog: an 80 GB array"),
    ("jun", "huge output"),
    ("kim", "writes the gradebook with sqlite3"),
    ("lea", "invalid JSON"),
    ("mo", "a renamed notebook"),
    ("nia", "non-UTF-8 bytes"),
]


def class_submissions(assignment: str, root: Path) -> dict[str, tuple[str, dict[str, bytes]]]:
    """{student: (description, {file name: bytes})} for one assignment."""
    bank = banks.bank_for(assignment)
    notebook = f"{assignment}.ipynb"

    def files(nb) -> dict[str, bytes]:
        return {notebook: nbformat.writes(nb).encode()}

    made = {"ada": files(banks.source_notebook(assignment, root)),
            "ben": files(banks.release_notebook(assignment, root))}
    if bank:
        made["cleo"] = files(banks.submission(assignment, bank.MUTANTS[0], root))
        made["dev"] = files(banks.submission(assignment, bank.MUTANTS[len(bank.MUTANTS) // 2], root))
        made["emil"] = files(banks.submission(assignment, bank.VARIANTS[0], root))
        made["faye"] = files(banks.submission(assignment, bank.TAMPERING[0], root))
    described = {student: (what, made[student]) for student, what in CLASS if student in made}
    if assignment == ADVERSARIAL_ASSIGNMENT:
        attacks = {a.name: a for a in ATTACKS}
        for student, name in TROUBLE:
            described[student] = (name, attacks[name].build(Context(root)))
    return described


def grades_table(course: Course, assignments: list[str], who: dict[str, str], notes: dict) -> Table:
    table = Table(title="grades (points out of 100 per assignment)")
    table.add_column("student")
    table.add_column("handed in", overflow="fold")
    for assignment in assignments:
        table.add_column(assignment.split("_", 1)[0], justify="right")
    table.add_column("what the grader noticed", overflow="fold")
    with course.gradebook() as gb:
        for student in who:
            row = []
            for assignment in assignments:
                try:
                    row.append(f"{gb.find_submission(assignment, student).score:g}")
                except Exception:
                    row.append("")
            table.add_row(student, who[student], *row, notes.get(student, ""))
    return table


def run(args) -> int:
    console = Console()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="course-demo-"))
    if folder.exists() and any(folder.iterdir()):
        raise CourseError(f"{folder} is not empty; give --keep a new or empty folder")
    available = list(NAMES)
    assignments = args.assignments or available
    unknown = sorted(set(assignments) - set(available))
    if unknown:
        raise CourseError(f"no assignment {', '.join(unknown)}; assignments: {', '.join(available)}")
    course = Course.temporary(folder, assignments)       # the course's config and sources, a gradebook of its own
    options = argparse.Namespace(course=str(folder), db_url=course.db_url, workers=args.workers, no_sandbox=False,
                                 cell_timeout=30, notebook_timeout=300)
    engine = make_engine(course, options)
    console.rule(f"[bold]demo course in {folder}")

    console.rule("1. release")
    if release.run(argparse.Namespace(assignments=assignments, course=str(folder), db_url=course.db_url)) != 0:
        raise CourseError("the release leaked solutions or hidden tests; see above")

    console.rule("2. the class hands in (a download folder), and collect")
    who, notes = {}, {}
    downloads = folder / "downloads"
    for assignment in assignments:
        for student, (what, files) in class_submissions(assignment, folder).items():
            who.setdefault(student, what)
            target = downloads / student / assignment
            target.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                (target / name).write_bytes(data)
        collect.run(argparse.Namespace(assignment=assignment, from_dir=str(downloads), zip_file=None,
                                       course=str(folder), db_url=course.db_url))

    console.rule("3. grade (sandboxed, in parallel), feedback, report")
    for assignment in assignments:
        for result in grade_with_progress(engine, assignment, console=console):
            if explain(result):
                notes[result.student] = "; ".join(filter(None, [notes.get(result.student), explain(result)]))
        quiet = argparse.Namespace(assignment=assignment, course=str(folder), db_url=course.db_url, out="reports")
        feedback.run(quiet)
        report.run(quiet)
    export.run(argparse.Namespace(course=str(folder), db_url=course.db_url, out="exports"))

    console.rule("4. results")
    console.print(grades_table(course, assignments, who, notes))
    console.print(f"gradebook:  {course.db_url}\n"
                  f"graded notebooks: {folder / 'autograded'}\n"
                  f"feedback (HTML, hidden tests removed): {folder / 'feedback'}/<student>/<assignment>/\n"
                  f"reports (pass rates, common failures, histogram): {folder / 'reports'}/<assignment>/\n"
                  f"exports (grades.csv, Gradescope results.json): {folder / 'exports'}")
    return 0
