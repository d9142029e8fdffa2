"""Does the backward pass scale linearly? Backward time of chains of 10,000 and 100,000 nodes.

Two chains, each built outside the timed region (only ``y.backward()`` is timed):

* sin:  x 0-d float64;        y = x; for _ in range(n): y = ag.sin(y)
* mul:  x of shape (8,) float64; y = x; for _ in range(n): y = y * 1.0001   (then y.sum())

Every round builds a fresh graph of each size (in rotated order), times its backward pass
and frees it, with the garbage collector enabled (as a user runs it) and, as a diagnostic,
disabled. The time per node is the backward time divided by n; the medians are compared.

    python benchmarks/backward_scaling.py            # full run
    python benchmarks/backward_scaling.py --quick    # smoke run
    python benchmarks/backward_scaling.py --check    # exit 1 if a target fails

Target (for each chain, gc enabled): per-node time at 100k <= 1.5x per-node time at 10k.

A second part builds and differentiates chains of 100,000 and 1,000,000 nodes (gc enabled, as
a user runs it), timing the build (the Python loop that records the graph) and the backward
pass separately, sizes interleaved in rotated order, a fresh graph each time. It prints
"10^6 vs 10^5 per node: build R1, backward R2" (medians of round-by-round ratios of the time
per node) with their spread. Target (each chain): R1 <= 1.2 and R2 <= 1.2. ``--no-million``
skips this part (it needs about 1 GB of memory and a minute per chain).
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from _bench import (  # noqa: E402
    Verdicts, environment_line, interleaved, median, paired_ratios, quartiles, table, use_repo_checkout,
)

use_repo_checkout()
import mini_autograd as ag  # noqa: E402

SMALL, LARGE = 10_000, 100_000
TARGET_RATIO = 1.5
HUGE = 1_000_000
TARGET_HUGE_RATIO = 1.2


def build_sin(n):
    x = ag.Variable(np.array(0.5))
    y = x
    for _ in range(n):
        y = ag.sin(y)
    return x, y


def build_mul(n):
    x = ag.Variable(np.linspace(0.5, 1.5, 8))
    y = x
    for _ in range(n):
        y = y * 1.0001
    return x, y.sum()


CHAINS = {"sin (0-d)": build_sin, "mul by 1.0001 (shape (8,))": build_mul}


class GcTimer:
    def __init__(self):
        self.total, self.runs, self._start, self.longest = 0.0, [0, 0, 0], None, 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._start = time.perf_counter()
        elif self._start is not None:
            elapsed = time.perf_counter() - self._start
            self.total += elapsed
            self.longest = max(self.longest, elapsed)
            self.runs[info["generation"]] += 1
            self._start = None


def contender(build, n, collect: bool):
    """Build a graph of n nodes (untimed), time y.backward(), free the graph (timed separately)."""

    def run():
        gc.collect()
        x, y = build(n)
        timer = GcTimer()
        if not collect:
            gc.disable()
        gc.callbacks.append(timer)
        try:
            t0 = time.perf_counter()
            y.backward()
            t1 = time.perf_counter()
        finally:
            gc.callbacks.remove(timer)
            gc.enable()
        assert x.grad is not None and np.all(np.isfinite(x.grad))
        t2 = time.perf_counter()
        del x, y
        t3 = time.perf_counter()
        return {"backward": t1 - t0, "gc": timer.total, "gc_runs": tuple(timer.runs), "gc_longest": timer.longest, "free": t3 - t2}

    return run


def build_and_backward(build, n):
    """A contender for the 10^5 / 10^6 comparison: time the build and the backward pass, gc enabled."""

    def run():
        gc.collect()
        t0 = time.perf_counter()
        x, y = build(n)
        t1 = time.perf_counter()
        y.backward()
        t2 = time.perf_counter()
        assert x.grad is not None and np.all(np.isfinite(x.grad))
        del x, y
        t3 = time.perf_counter()
        return {"build": t1 - t0, "backward": t2 - t1, "free": t3 - t2}

    return run


def million(rounds, verdicts):
    for chain, build in CHAINS.items():
        samples = interleaved({n: build_and_backward(build, n) for n in (LARGE, HUGE)}, rounds=rounds, warmup=1)
        rows = []
        for n, s in samples.items():
            cells = [f"{n:,}"]
            for phase in ("build", "backward", "free"):
                us = [1e6 * r[phase] / n for r in s]
                q1, q3 = quartiles(us)
                cells += [f"{median(us):.3f}", f"{q1:.3f} .. {q3:.3f}"]
            rows.append(cells)
        print(f"Chain: {chain}, build and backward, gc enabled ({rounds} interleaved rounds, fresh graph each time, medians)")
        print(table(["nodes", "build us/node", "build IQR", "backward us/node", "backward IQR", "free us/node", "free IQR"], rows))
        result = {}
        for phase in ("build", "backward"):
            r = paired_ratios([x[phase] / HUGE for x in samples[HUGE]], [x[phase] / LARGE for x in samples[LARGE]])
            result[phase] = (median(r), min(r), max(r))
        (b, b_lo, b_hi), (k, k_lo, k_hi) = result["build"], result["backward"]
        print(f"  10^6 vs 10^5 per node: build {b:.3f}, backward {k:.3f} "
              f"(medians of paired ratios; range over rounds: build {b_lo:.3f} .. {b_hi:.3f}, backward {k_lo:.3f} .. {k_hi:.3f})")
        print()
        for phase, (ratio, lo, hi) in result.items():
            verdicts.add(ratio <= TARGET_HUGE_RATIO,
                         f"{chain}: per-node {phase} time at 10^6 <= {TARGET_HUGE_RATIO}x that at 10^5",
                         f"{ratio:.3f}x (median of {rounds} paired ratios, range {lo:.3f} .. {hi:.3f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 9, quick 3)")
    parser.add_argument("--million-rounds", type=int, default=None,
                        help="interleaved rounds of the 10^5 / 10^6 comparison (default 5, quick 2)")
    parser.add_argument("--no-million", action="store_true", help="skip the 10^5 / 10^6 build and backward comparison")
    parser.add_argument("--only-million", action="store_true", help="run only the 10^5 / 10^6 comparison")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 9)
    million_rounds = args.million_rounds or (2 if args.quick else 5)

    print(f"backward_scaling: backward time of chains of {SMALL:,} and {LARGE:,} nodes (graph built outside the timer)")
    print(environment_line(f"; gc thresholds {gc.get_threshold()}"))
    print()
    verdicts = Verdicts("backward_scaling")
    for chain, build in ({} if args.only_million else CHAINS).items():
        contenders = {}
        for collect in (True, False):
            for n in (SMALL, LARGE):
                contenders[(n, collect)] = contender(build, n, collect)
        samples = interleaved({k: v for k, v in contenders.items()}, rounds=rounds, warmup=1)
        rows = []
        per_node = {}
        for (n, collect), s in samples.items():
            us = [1e6 * r["backward"] / n for r in s]
            per_node[(n, collect)] = us
            q1, q3 = quartiles(us)
            gc_share = median([r["gc"] / r["backward"] for r in s])
            runs = "/".join(f"{median([r['gc_runs'][g] for r in s]):g}" for g in range(3))
            longest = max(r["gc_longest"] for r in s)
            rows.append([f"{n:,}", "enabled" if collect else "disabled", f"{1e3 * median([r['backward'] for r in s]):.1f}",
                         f"{median(us):.3f}", f"{q1:.3f} .. {q3:.3f}", f"{100 * gc_share:.1f}%" if collect else "-",
                         runs if collect else "-", f"{1e3 * longest:.1f}" if collect else "-",
                         f"{1e3 * median([r['free'] for r in s]):.1f}"])
        print(f"Chain: {chain} ({rounds} interleaved rounds, fresh graph each time, medians)")
        print(table(["nodes", "gc", "backward ms", "us/node", "us/node IQR", "gc share of backward",
                     "gc runs gen0/1/2", "longest gc run ms", "free graph ms"], rows))
        for collect in (True, False):
            ratio = median(paired_ratios(per_node[(LARGE, collect)], per_node[(SMALL, collect)]))
            print(f"  per-node time {LARGE // 1000}k / {SMALL // 1000}k, gc {'enabled' if collect else 'disabled'}: "
                  f"{ratio:.3f}x (median of paired ratios)")
            if collect:
                verdicts.add(ratio <= TARGET_RATIO,
                             f"{chain}: per-node backward time at {LARGE // 1000}k <= {TARGET_RATIO}x that at {SMALL // 1000}k",
                             f"{ratio:.3f}x ({median(per_node[(LARGE, True)]):.3f} vs {median(per_node[(SMALL, True)]):.3f} us/node)")
        print()
    if not args.no_million:
        million(million_rounds, verdicts)
    verdicts.finish(args.check)


if __name__ == "__main__":
    main()
