"""The `course` command: the instructor's workflow around nbgrader.

    course release [ASSIGNMENT]          student versions, checked for leaks
    course collect ASSIGNMENT [--from DIR | --zip FILE]
    course grade ASSIGNMENT [--workers N]
    course feedback ASSIGNMENT
    course export
    course report ASSIGNMENT
    course check ASSIGNMENT
    course demo
    course lab

Each subcommand lives in its own module of this package; this file only parses arguments.
A CourseError anywhere becomes a one-paragraph message and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .course_dir import CourseError


def _course_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--course", metavar="DIR", default=os.environ.get("COURSE_ROOT", "."),
        help="the course folder (holds nbgrader_config.py and source/); default: $COURSE_ROOT or the current folder",
    )
    parser.add_argument(
        "--db-url", metavar="URL", default=None,
        help="gradebook database URL (sqlite:///... or postgresql://...); default: the one in nbgrader_config.py",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="Run an autodiff course: release, collect, grade, give feedback, report.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("release", help="generate student versions with nbgrader and check that nothing leaked")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment in source/")
    _course_option(p)

    p = sub.add_parser("collect", help="take in submissions from the exchange, a folder or an LMS archive")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--from", dest="from_dir", metavar="DIR", help="a folder of <student>/<assignment>/*.ipynb (or <student>/*.ipynb)")
    where.add_argument("--zip", dest="zip_file", metavar="FILE", help="an LMS download archive (.zip)")
    _course_option(p)

    p = sub.add_parser("grade", help="autograde every submission in sandboxes, in parallel; resumes after an interruption")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: number of cores)")
    p.add_argument("--student", action="append", metavar="ID", help="grade only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again submissions already graded")
    p.add_argument("--cell-timeout", type=float, default=None, metavar="S", help="seconds a cell may run (default: Execute.timeout from the config, else 60)")
    p.add_argument("--notebook-timeout", type=float, default=None, metavar="S", help="seconds a whole notebook may run (default: 10 x cell timeout)")
    p.add_argument("--no-sandbox", action="store_true", help="run kernels without bubblewrap (resource limits only); for machines without it")
    _course_option(p)

    p = sub.add_parser("feedback", help="HTML feedback per student, without hidden test code")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    _course_option(p)

    p = sub.add_parser("export", help="grades as CSV and per-test results as Gradescope results.json")
    p.add_argument("--out", metavar="DIR", default="exports", help="output folder (default: exports/ in the course)")
    _course_option(p)

    p = sub.add_parser("report", help="pass rates per exercise, common failures, grade histogram (PNG)")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--out", metavar="DIR", default="reports", help="output folder (default: reports/ in the course)")
    _course_option(p)

    p = sub.add_parser("check", help="test the tests: solutions, release, mutants and correct variants")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    _course_option(p)

    p = sub.add_parser("demo", help="a whole class graded end to end in a temporary course (offline)")
    p.add_argument("--keep", metavar="DIR", default=None, help="build the demo course in DIR and keep it (default: a temporary folder, kept and printed)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--assignments", nargs="*", metavar="ASSIGNMENT", default=None, help="default: all")

    p = sub.add_parser("lab", help="JupyterLab on localhost with the course and nbgrader's extensions")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--no-browser", action="store_true")
    _course_option(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Each subcommand's module is imported only when it runs, so that a command loads only what it needs.
    modules = {"release": "release", "collect": "collect", "grade": "grading", "feedback": "feedback",
               "export": "export", "report": "report", "check": "check", "demo": "demo", "lab": "lab"}
    try:
        command = importlib.import_module(f"{__package__}.{modules[args.command]}")
        return command.run(args) or 0
    except CourseError as error:
        print(f"course {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"course {args.command}: interrupted; what was finished is kept. Run the same command again to go on.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
