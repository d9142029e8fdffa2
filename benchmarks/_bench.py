"""Small shared helpers for the benchmark scripts: interleaved timing, medians, tables, verdicts.

This module deliberately imports nothing heavy (no numpy, no torch): each script pins the BLAS
thread count in ``os.environ`` at its very top, before numpy or torch is imported anywhere.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def use_repo_checkout() -> None:
    """Import mini_autograd from this checkout even when it is not installed."""
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)


def timed_block(fn: Callable[[], object], inner: int = 1) -> Callable[[], float]:
    """A contender that runs ``fn`` ``inner`` times and returns the mean seconds per call."""

    def run() -> float:
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        return (time.perf_counter() - start) / inner

    return run


def interleaved(contenders: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, list]:
    """Run the contenders side by side: in every round each one runs once, in a rotated order
    (round r starts with contender r mod n), so slow drifts of a shared machine hit them all.

    A contender returns the time it measured itself: a float (seconds) or a dict of
    phase -> seconds (for contenders that must keep set-up work out of the timed region).
    Returns {name: [measurement of round 0, round 1, ...]}.
    """
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    samples: dict[str, list] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            samples[name].append(contenders[name]())
    return samples


def median(values) -> float:
    return statistics.median(values)


def quartiles(values) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def paired_ratios(a: list[float], b: list[float]) -> list[float]:
    """Round-by-round ratios a[i] / b[i] of two interleaved contenders."""
    return [x / y for x, y in zip(a, b)]


def fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} us"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table, left-aligned first column, right-aligned others."""
    cells = [headers] + rows
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(headers))]

    def line(row):
        parts = [str(row[0]).ljust(widths[0])] + [str(c).rjust(w) for c, w in zip(row[1:], widths[1:])]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(r) for r in rows])


def git_revision() -> str:
    """The checkout being measured: short commit hash, '+dirty' if mini_autograd/ has local changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "mini_autograd"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def environment_line(extra: str = "") -> str:
    threads = ", ".join(f"{v}={os.environ.get(v)}" for v in THREAD_VARIABLES)
    return (f"mini_autograd at {git_revision()}; python {platform.python_version()} on {platform.machine()}, "
            f"{os.cpu_count()} CPUs; {threads}{extra}")


class Verdicts:
    """Collects PASS/FAIL lines; ``finish`` prints them last and picks the exit code."""

    def __init__(self, script: str):
        self.script = script
        self.lines: list[tuple[bool, str]] = []

    def add(self, ok: bool, target: str, detail: str) -> None:
        self.lines.append((ok, f"{'PASS' if ok else 'FAIL'}  {self.script}: {target} -- {detail}"))

    def finish(self, check: bool) -> None:
        print()
        for _, text in self.lines:
            print(text)
        sys.stdout.flush()
        failed = any(not ok for ok, _ in self.lines)
        sys.exit(1 if (check and failed) else 0)
