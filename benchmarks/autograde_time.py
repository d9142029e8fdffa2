"""Autograde time per assignment notebook, through nbgrader's real autograde.

For every assignment in source/, a temporary course grades the instructor's solution notebook
`--repeats` times (each run is a fresh nbgrader autograde: sanitize, tamper scan, a new kernel,
every cell, the gradebook write) and prints the median seconds per notebook. Target: under
10 s per notebook on this machine. This is a measurement, not a test.

    .venv/bin/python benchmarks/autograde_time.py [--repeats 3] [--check]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from course_harness import source_notebook  # noqa: E402

from course.course_dir import Course  # noqa: E402
from course.release import assignments  # noqa: E402

TARGET_SECONDS = 10.0

# nbgrader 0.9.6's gradebook code triggers SQLAlchemy "not in session" warnings on every autograde.
warnings.filterwarnings("ignore", message=".*not in session.*")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="autogrades per notebook (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook misses the target")
    args = parser.parse_args(argv)
    rows, failed = [], False
    with tempfile.TemporaryDirectory(prefix="autograde-time-") as tmp:
        for assignment in assignments():
            course = Course.temporary(Path(tmp) / assignment, [assignment])
            course.generate(assignment)
            seconds = []
            for i in range(args.repeats):
                student = f"student{i}"
                course.submit(student, assignment, source_notebook(assignment))
                start = time.perf_counter()
                course.autograde(assignment, student)
                seconds.append(time.perf_counter() - start)
                score = sum(s for s, _ in course.scores(assignment, student).values())
                if score != 100:
                    print(f"warning: {assignment} solutions scored {score}, not 100")
            median = statistics.median(seconds)
            failed |= median > TARGET_SECONDS
            rows.append((assignment, median, min(seconds), max(seconds)))
    print(f"{'assignment':18} {'median s':>9} {'min s':>7} {'max s':>7}")
    for assignment, median, low, high in rows:
        print(f"{assignment:18} {median:9.2f} {low:7.2f} {high:7.2f}")
    for assignment, median, _, _ in rows:
        verdict = "PASS" if median <= TARGET_SECONDS else "FAIL"
        print(f"{verdict}  autograde_time: {assignment} solution notebook <= {TARGET_SECONDS:.0f} s -- {median:.2f} s (median)")
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
