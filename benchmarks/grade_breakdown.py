"""Where one submission's grading time goes (no targets): a diagnostic for grade_throughput.py.

Grades the instructor's solution of an assignment R times, one after another, with the grading
engine's own code (`GradingEngine.grade_submission`, sandbox on) and times its parts:

    stage                    intake + nbgrader's sanitize preprocessors (in the worker)
    kernel start             bubblewrap, Python, ipykernel, until the kernel answers
    setup cell               the first code cell: the notebook's imports (numpy, matplotlib, ...)
    other cells              every other cell (the student's code and the checks), with ...
    integrity probes         ... the grader's check after each test cell
    kernel stop              killing and reaping the sandbox
    save                     nbgrader's converter (SaveAutoGrades, ...), the score, the record
    kernel CPU               CPU seconds of the sandboxed kernel and all it started (the engine's
                             phases["kernel_cpu"], read from /proc as the kernel is stopped)

Medians over the rounds, in seconds. The timing wraps the executor's methods; nothing is changed.

    sudo .venv/bin/python benchmarks/grade_breakdown.py [--assignment 01_derivatives] [--rounds 5]
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
for _name in ("AUTODIFF_DB_URL", "AUTODIFF_EXCHANGE"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

from _bench import environment_line, table, use_repo_checkout  # noqa: E402

use_repo_checkout()

import nbformat  # noqa: E402

from autograder.grading import executor  # noqa: E402
from autograder.grading.engine import GradingEngine  # noqa: E402
from autograder.grading.nbgrader_reuse import reusing_nbgrader  # noqa: E402
from autograder.grading.sandbox import matplotlib_cache  # noqa: E402
from course import banks  # noqa: E402
from course.course_dir import Course  # noqa: E402

warnings.filterwarnings("ignore", module="nbgrader")
warnings.filterwarnings("ignore", module="sqlalchemy")

seconds: dict[str, float] = defaultdict(float)


def timed(name, method, label_of=None):
    """Wrap an async method of NotebookRun so that its time adds to seconds[label]."""
    async def wrapper(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return await method(self, *args, **kwargs)
        finally:
            label = label_of(self, *args) if label_of else name
            seconds[label] += time.perf_counter() - start
    return wrapper


def cell_label(run, index, cell, deadline):
    first = next(i for i, c in enumerate(run.nb.cells) if c.cell_type == "code" and c.source.strip())
    return "setup cell" if index == first else "other cells"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="01_derivatives")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("the grading engine starts its kernels as unprivileged users: run this as root (sudo)")
    print(environment_line())

    run = executor.NotebookRun
    run.start_kernel = timed("kernel start", run.start_kernel)
    run.run_cell = timed("cells", run.run_cell, cell_label)
    run.confirm_test = timed("integrity probes", run.confirm_test)
    run.stop_kernel = timed("kernel stop", run.stop_kernel)

    rows = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="grade-breakdown-") as scratch:
        root = Path(scratch) / "course"
        Course.temporary(root, [args.assignment]).generate(args.assignment)
        solution = banks.source_notebook(args.assignment)
        folder = root / "submitted" / "solution" / args.assignment
        folder.mkdir(parents=True)
        nbformat.write(solution, folder / f"{args.assignment}.ipynb")
        course = Course(root)
        course.ensure_in_gradebook(args.assignment)
        engine = GradingEngine(course, workers=1)
        engine.matplotlib_cache = str(matplotlib_cache())
        with reusing_nbgrader():
            for round_number in range(args.rounds + 1):   # the first is a warm-up
                seconds.clear()
                engine.run_id = f"breakdown-{round_number}"   # a new run: --force grades it again
                start = time.perf_counter()
                result = engine.grade_submission(args.assignment, "solution", 0, Path(scratch), force=True)
                total = time.perf_counter() - start
                figures = {"stage": result.phases["stage"], **seconds, "save": result.phases["save"],
                           "whole submission": total, "kernel CPU": result.phases["kernel_cpu"]}
                for key, value in figures.items():
                    rows[key].append(value)
    order = ["stage", "kernel start", "setup cell", "other cells", "integrity probes", "kernel stop", "save",
             "whole submission", "kernel CPU"]
    print(f"\n{args.assignment}: the solution graded {args.rounds} times (after one warm-up), medians:")
    print(table(["", "seconds"], [[key, f"{statistics.median(rows[key][1:]):.3f}"] for key in order]))


if __name__ == "__main__":
    main()
