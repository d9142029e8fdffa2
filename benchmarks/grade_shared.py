"""Grading on many machines, shown on one: several `course grade` processes share one class
through a real PostgreSQL gradebook (autograder/grading/work_queue.py, `--run-id`).

Starts a private PostgreSQL server (Debian's postgresql, as the tests do), builds a class of N
submissions from course/banks (dealt as in grade_throughput.py), and grades it in scenarios, each
on its own copy of the course with a database of its own:

    1 process, 2 processes, 4 processes     (each `course grade --workers 1 --run-id ...`)
    4 processes, one killed with SIGKILL right after its first submission

Per scenario it prints the wall time (first start to last exit), submissions per minute and the
throughput relative to one process, and checks that every submission was graded exactly once
(each process logs one line per submission it graded itself), that no process reported a
grader error, and that every student's total equals the one-process run's. Exit 1 if a check
fails. The processes share this machine's cores, so past its core count more processes do not
add throughput here; on separate machines each brings its own.

    sudo .venv/bin/python benchmarks/grade_shared.py [--students 24] [--assignment 01_derivatives] [--keep DIR]
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
for _name in ("AUTODIFF_DB_URL", "AUTODIFF_EXCHANGE"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

from _bench import REPO_ROOT, Verdicts, environment_line, table, use_repo_checkout  # noqa: E402

use_repo_checkout()
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))   # the tests' private PostgreSQL server

import nbformat  # noqa: E402
from sqlalchemy.exc import SAWarning  # noqa: E402

from course.course_dir import Course  # noqa: E402
from grade_throughput import build_class, composition, make_template  # noqa: E402
from postgres_server import PostgresServer  # noqa: E402

warnings.filterwarnings("ignore", category=SAWarning)
warnings.filterwarnings("ignore", module="nbgrader")

GRADED_LINE = re.compile(r"^(\S+): graded \d", re.MULTILINE)
SCENARIOS = (("1 process", 1, False), ("2 processes", 2, False), ("4 processes", 4, False),
             ("4 processes, one killed", 4, True))


def course_with_class(root: Path, db_url: str, assignment: str, students: dict) -> Path:
    Course.temporary(root, [assignment], db_url=db_url).generate(assignment)
    for student, nb in students.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")
    return root


def run_scenario(root: Path, db_url: str, assignment: str, processes: int, kill_one: bool, run_id: str) -> dict:
    """Start the processes together; with kill_one, SIGKILL the first once it has graded one."""
    command = [sys.executable, "-m", "course.cli", "grade", assignment, "--course", str(root), "--db-url", db_url,
               "--workers", "1", "--run-id", run_id]
    logs = [root / f"grader{k}.log" for k in range(processes)]
    start = time.perf_counter()
    graders = []
    for log in logs:
        with open(log, "w") as out:
            graders.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT))
    killed = None
    if kill_one:
        while not GRADED_LINE.search(logs[0].read_text()) and graders[0].poll() is None:
            time.sleep(0.05)
        if graders[0].poll() is None:
            os.kill(graders[0].pid, signal.SIGKILL)
            killed = 0
    codes = [grader.wait() for grader in graders]
    wall = time.perf_counter() - start
    graded = [GRADED_LINE.findall(log.read_text()) for log in logs]
    return {"wall": wall, "codes": codes, "graded": graded, "killed": killed, "logs": logs,
            "command": shlex.join(command)}


def totals(root: Path, db_url: str, assignment: str, students) -> dict[str, float]:
    with Course(root, db_url=db_url).gradebook() as gb:
        return {s: float(gb.find_submission(assignment, s).score) for s in students}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=24, help="class size N (default 24)")
    parser.add_argument("--assignment", default="01_derivatives")
    parser.add_argument("--keep", metavar="DIR", help="build the courses in DIR (must not exist) and keep them")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("the grading engine starts its kernels as unprivileged users: run this as root (sudo)")
    if args.keep and Path(args.keep).exists():
        parser.error(f"--keep {args.keep}: the folder exists already; name a new one")

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(environment_line())
    print(f"CPUs: {os.cpu_count()}; load average at start: {' '.join(map(str, os.getloadavg()))}", flush=True)
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="grade-shared-"))
    workdir.mkdir(parents=True, exist_ok=True)
    verdicts = Verdicts("grade_shared")
    rows, reference, base_rate = [], None, None
    try:
        with PostgresServer() as server:
            students = build_class(args.assignment, args.students, make_template(workdir / "template", args.assignment))
            names = sorted(students)
            print(f"class: N = {args.students} submissions of {args.assignment}: {composition(students)}")
            print(f"PostgreSQL {server.bindir.parent.name} on 127.0.0.1:{server.port}\n", flush=True)
            for k, (label, processes, kill_one) in enumerate(SCENARIOS):
                db_url = server.create_database(f"scenario{k}")
                root = course_with_class(workdir / f"scenario{k}", db_url, args.assignment, students)
                outcome = run_scenario(root, db_url, args.assignment, processes, kill_one, f"bench-{k}")
                if k == 0:
                    print(f"each process: {outcome['command']}\n")
                graded = [s for per in outcome["graded"] for s in per]
                once = sorted(graded) == names
                survivors_ok = all(code == 0 for i, code in enumerate(outcome["codes"]) if i != outcome["killed"])
                scores = totals(root, db_url, args.assignment, names)
                reference = reference or scores
                rate = 60 * len(names) / outcome["wall"]
                base_rate = base_rate or rate
                per_process = "+".join(str(len(per)) for per in outcome["graded"])
                rows.append([label, f"{outcome['wall']:.1f}", f"{rate:.1f}", f"{rate / base_rate:.2f}x", per_process,
                             "yes" if once else "NO", "yes" if scores == reference else "NO"])
                print(f"  {label}: {outcome['wall']:.1f} s, graded per process {per_process}"
                      + (" (the first killed after its first)" if outcome["killed"] is not None else ""), flush=True)
                verdicts.add(once, f"{label}: every submission graded exactly once",
                             f"{len(graded)} gradings of {len(names)} submissions")
                verdicts.add(survivors_ok, f"{label}: every process that was not killed finished without errors",
                             f"exit codes {outcome['codes']}")
                verdicts.add(scores == reference, f"{label}: totals equal to the one-process run",
                             f"{sum(scores[s] == reference[s] for s in names)} of {len(names)} equal")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(table(["scenario", "wall s", "subs/min", "vs 1 process", "graded per process", "each once", "same totals"], rows))
    print(f"\nload average at the end: {' '.join(map(str, os.getloadavg()))}")
    if args.keep:
        print(f"courses and each process's log kept in {workdir}")
    verdicts.finish(True)


if __name__ == "__main__":
    main()
