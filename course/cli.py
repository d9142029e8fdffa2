"""The `course` command: the instructor's workflow around nbgrader.

    course release [ASSIGNMENT] [--to-exchange | --feedback]   student versions, checked for leaks; to the students
    course collect ASSIGNMENT [--from DIR | --zip FILE]
    course grade ASSIGNMENT [--workers N]
    course feedback ASSIGNMENT
    course export
    course report ASSIGNMENT
    course check ASSIGNMENT
    course demo
    course lab
    course hub --roster CSV               JupyterHub for the class (docs/admin-guide.md)

Each subcommand lives in its own module of this package; this file only parses arguments.
A CourseError anywhere becomes a one-paragraph message and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from autograder.grading import settings as grading_settings

from .course_dir import CourseError


def _course_option(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--course and --db-url, accepted before the subcommand (``course --course DIR lab``) and after
    it. Only the top-level parser holds the defaults: a subcommand's parser would otherwise
    overwrite a value given before the subcommand with its own default (argparse sets sub-parser
    defaults last), so there the options default to "not given"."""
    parser.add_argument(
        "--course", metavar="DIR", default=os.environ.get("COURSE_ROOT", ".") if top else argparse.SUPPRESS,
        help="the course folder (holds nbgrader_config.py and source/); default: $COURSE_ROOT or the current folder",
    )
    parser.add_argument(
        "--db-url", metavar="URL", default=None if top else argparse.SUPPRESS,
        help="gradebook database URL (sqlite:///... or postgresql://...); default: the one in nbgrader_config.py",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="Run an autodiff course: release, collect, grade, give feedback, report.")
    _course_option(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("release", help="generate student versions with nbgrader and check that nothing leaked; "
                                        "--to-exchange hands them to the students, --feedback hands out feedback",
                       description="Generate release/<ASSIGNMENT> from source/ (nbgrader generate_assignment) and check "
                                   "that no solution or hidden test leaked. With --to-exchange, then release it to the "
                                   "students through the nbgrader exchange (what they fetch in the Assignments panel). "
                                   "With --feedback, release the feedback made by `course feedback` to the students "
                                   "instead (they fetch it in the Assignments panel). On a hub run it as the course's "
                                   "Unix user, e.g. sudo -u autodiff course release A --to-exchange.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment in source/")
    to = p.add_mutually_exclusive_group()
    to.add_argument("--to-exchange", action="store_true",
                    help="also release the student version to the exchange (nbgrader release_assignment)")
    to.add_argument("--feedback", action="store_true",
                    help="release feedback/<student>/<ASSIGNMENT>/ to the exchange (nbgrader release_feedback); no generation")
    p.add_argument("--exchange", metavar="DIR", default=None,
                   help="the exchange folder; default: Exchange.root of nbgrader_config.py ($AUTODIFF_EXCHANGE)")
    _course_option(p)

    p = sub.add_parser("collect", help="take in submissions from the exchange, a folder or an LMS archive")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--from", dest="from_dir", metavar="DIR", help="a folder of <student>/<assignment>/*.ipynb (or <student>/*.ipynb)")
    where.add_argument("--zip", dest="zip_file", metavar="FILE", help="an LMS download archive (.zip)")
    _course_option(p)

    p = sub.add_parser("grade", help="autograde every submission in sandboxes, in parallel; resumes after an interruption")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: the cores + 1)")
    p.add_argument("--student", action="append", metavar="ID", help="grade only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again submissions already graded")
    p.add_argument("--no-sandbox", action="store_true", help="run kernels without bubblewrap (resource limits only); for machines without it")
    p.add_argument("--run-id", metavar="ID", default=None,
                   help="share this grading run with every other `course grade` given the same ID and the same "
                        "PostgreSQL gradebook (--db-url), on this machine or others: each submission is graded by "
                        "one of them, and one that dies hands its unfinished ones back (on Kubernetes: the Job's name)")
    grading_settings.add_options(p)
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
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: the cores + 1)")
    _course_option(p)

    p = sub.add_parser("demo", help="a whole class graded end to end in a temporary course (offline)")
    p.add_argument("--keep", metavar="DIR", default=None, help="build the demo course in DIR and keep it (default: a temporary folder, kept and printed)")
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: the cores + 1)")
    p.add_argument("--assignments", nargs="*", metavar="ASSIGNMENT", default=None, help="default: all")

    p = sub.add_parser("lab", help="JupyterLab on localhost with the course and nbgrader's extensions")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--no-browser", action="store_true")
    _course_option(p)

    p = sub.add_parser("hub", help="the class on a JupyterHub on this machine: real Unix users, PAM, the shared "
                                    "exchange, the formgrader as a course service for instructors (run as root)",
                       description="Start JupyterHub for the course (see docs/admin-guide.md). Every roster user must "
                                   "be a Unix user; the course folder belongs to the course's Unix user, who runs the "
                                   "formgrader service.")
    p.add_argument("--roster", required=True, metavar="CSV", help="the class list: username,role,first_name,last_name,email "
                                                                 "(role: student or instructor)")
    p.add_argument("--ip", default="127.0.0.1", help="address the hub listens on (default 127.0.0.1; put TLS in front for others)")
    p.add_argument("--port", type=int, default=8000, help="the hub's public port (default 8000)")
    p.add_argument("--exchange", metavar="DIR", default=None, help="the shared nbgrader exchange (default: $AUTODIFF_EXCHANGE or /srv/nbgrader/exchange)")
    p.add_argument("--state", metavar="DIR", default=None, help="the hub's state and generated configuration (default /var/lib/course-hub/<course>)")
    p.add_argument("--service-user", metavar="USER", default=None, help="Unix user of the course service (default: the course folder's owner; never root)")
    p.add_argument("--python", metavar="PATH", default=None, help="the Python of the users' servers and the course service "
                                                                  "(default: this one; every user must be able to run it)")
    p.add_argument("--extra-config", metavar="FILE", default=None, help="a Python file loaded at the end of jupyterhub_config.py (e.g. LTI 1.3 login)")
    p.add_argument("--config-only", action="store_true", help="write the configuration, update the gradebook's names, and exit")
    _course_option(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Each subcommand's module is imported only when it runs, so that a command loads only what it needs.
    modules = {"release": "release", "collect": "collect", "grade": "grading", "feedback": "feedback",
               "export": "export", "report": "report", "check": "check", "demo": "demo", "lab": "lab", "hub": "hub"}
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
