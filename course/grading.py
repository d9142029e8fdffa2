"""course grade ASSIGNMENT: autograde every submission in sandboxes, in parallel, with a progress bar.

Running it again after an interruption (Ctrl-C, a crash, kill -9) grades only what is left;
`--force` grades everything again.
"""

from __future__ import annotations

import re
import warnings

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning

from autograder.grading.engine import GradingEngine, StudentResult
from autograder.grading.sandbox import Sandbox, SandboxUnavailable
from autograder.grading.settings import settings_from
from autograder.grading.student_ids import id_problem

from .course_dir import Course, CourseError

# nbgrader's gradebook code triggers SQLAlchemy warnings about its own session use; they are not ours to fix.
warnings.filterwarnings("ignore", category=SAWarning)


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

STATUS_WORDS = {"graded": "graded", "skipped": "graded before", "elsewhere": "graded by another process",
                "grader_error": "NOT GRADED"}


def explain(result: StudentResult) -> str:
    """One line on what happened to a submission beyond its score."""
    if result.status == "grader_error":
        return f"NOT GRADED (grader problem): {result.error.strip().splitlines()[-1] if result.error.strip() else '?'}"
    parts = [f"{name}: {why}" for name, why in result.problems.items()] + list(result.notes)
    for event in result.events:
        if event["kind"] in ("kernel_died", "timeout"):
            where = event.get("grade_id") or f"cell {event['cell']}"
            parts.append(f"{where}: {event['message']}")
    if any(e["kind"] == "output_truncated" for e in result.events):
        parts.append("output truncated")
    return "; ".join(parts)


def results_table(assignment: str, results: list[StudentResult]) -> Table:
    table = Table(title=f"{assignment}: {len(results)} submissions")
    table.add_column("student")
    table.add_column("score", justify="right")
    table.add_column("status")
    table.add_column("notes", overflow="fold")
    for r in results:
        score = f"{r.score:g} / {r.max_score:g}" if r.status != "grader_error" else "-"
        table.add_row(r.student, score, r.status, explain(r))
    return table


def make_engine(course: Course, args) -> GradingEngine:
    """The engine for `course grade` (and check, demo): the course's GradingSettings, the options on top."""
    try:
        settings = settings_from(course.config, args)
    except ValueError as error:
        raise CourseError(str(error)) from None
    sandbox = Sandbox(settings.limits(), isolated=not getattr(args, "no_sandbox", False))
    try:
        sandbox.check()
    except SandboxUnavailable as error:
        raise CourseError(f"cannot sandbox the kernels: {error}") from None
    run_id = getattr(args, "run_id", None)
    if run_id is not None:
        if not RUN_ID.fullmatch(run_id):
            raise CourseError(f"--run-id {run_id!r}: use 1 to 64 letters, digits, '.', '_' or '-' "
                              "(the same ID for every process of the run, e.g. the Kubernetes Job's name)")
        if not course.db_url.startswith("postgresql"):
            raise CourseError(f"--run-id: grading processes share a class through a PostgreSQL gradebook, and this "
                              f"course's is {course.db_url.split(':')[0]}; give --db-url postgresql://... "
                              "(or set AUTODIFF_DB_URL) for every process of the run")
    return GradingEngine(course, workers=args.workers, settings=settings, isolated=sandbox.isolated, run_id=run_id)


def grade_with_progress(engine: GradingEngine, assignment: str, students=None, force=False,
                        console: Console | None = None) -> list[StudentResult]:
    console = console or Console()
    invalid = [problem for student in students or [] if (problem := id_problem(student))]
    if invalid:
        raise CourseError(f"--student: {'; '.join(invalid)}.")
    submitted = engine.course.students_submitted(assignment)
    for folder, why in engine.course.refused_submitted(assignment).items():
        console.print(f"[red]problem:[/red] {escape(folder)}: {escape(why)}", highlight=False)
    unknown = sorted(set(students or []) - set(submitted))
    if unknown:
        raise CourseError(f"no submission of {assignment} from {', '.join(unknown)} in "
                          f"{engine.course.path('submitted')}; submitted: {', '.join(submitted) or 'nobody'}")
    everyone = students or submitted
    if not everyone:
        raise CourseError(f"nothing to grade: no submissions of {assignment} in {engine.course.path('submitted')}. "
                          f"Run `course collect {assignment}` first.")
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[last]}")]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"grading {assignment}", total=len(everyone), last="")

        def on_result(result: StudentResult) -> None:
            said = f"{result.student}: {STATUS_WORDS.get(result.status, result.status)} {result.score:g}/{result.max_score:g}"
            progress.update(task, advance=1, last=said)
            if not console.is_terminal:   # a log (a Kubernetes pod's, CI's): one line per submission
                console.print(said, highlight=False)

        return engine.grade(assignment, students=students, force=force, on_result=on_result)


def run(args) -> int:
    course = Course(args.course, db_url=args.db_url)
    assignment = course.assignment(args.assignment)
    if args.workers is not None and args.workers < 1:
        raise CourseError(f"--workers must be at least 1 (got {args.workers})")
    engine = make_engine(course, args)
    console = Console()
    results = grade_with_progress(engine, assignment, students=args.student, force=args.force, console=console)
    console.print(results_table(assignment, results))
    graded = sum(r.status == "graded" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    elsewhere = sum(r.status == "elsewhere" for r in results)
    failed = [r.student for r in results if r.status == "grader_error"]
    shared = f"by the other processes of run {args.run_id} {elsewhere}, " if getattr(args, "run_id", None) else ""
    console.print(f"graded {graded}, {shared}already graded before {skipped}, not graded {len(failed)}; "
                  f"gradebook: {make_url(course.db_url).render_as_string(hide_password=True)}; notebooks: {course.path('autograded')}")
    if failed:
        console.print(f"[red]not graded because of a problem on the grader's side: {', '.join(failed)}. "
                      "Fix it and run the same command again; graded submissions are kept.")
        return 1
    return 0
