"""Before / after: this checkout's mini_autograd against the one of an older commit, side by side
in one process (interleaved, rotated order, medians of paired ratios), on the three workloads of
the issue-11 targets:

* the 1,000-addition chain of op_overhead.py (forward + backward, us per addition);
* the MLP 784-256-10 SGD step of mlp_step.py (float32, batch 128), with hand-written numpy;
* building a chain of n sin nodes and its backward pass, for n = 10^5 and 10^6 (gc enabled).

    python benchmarks/compare_commits.py --rev a1b1426 [--rounds N] [--quick] [--no-million]

The older engine is extracted with ``git archive REV mini_autograd`` into a temporary directory
under the name ``mini_autograd_before`` (the package only uses relative imports), so both
engines live in one process and see the same machine load. Exits 0; nothing is written except
the temporary directory, which is removed.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import io  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from micrograd.engine import Value  # noqa: E402

from _bench import (  # noqa: E402
    REPO_ROOT, environment_line, interleaved, median, paired_ratios, quartiles, table, timed_block, use_repo_checkout,
)

use_repo_checkout()
import mini_autograd as ag_after  # noqa: E402

CHAIN = 1000
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * CHAIN))


def load_before(rev: str, where: str):
    archive = subprocess.run(["git", "archive", rev, "mini_autograd"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(where)
    os.rename(os.path.join(where, "mini_autograd"), os.path.join(where, "mini_autograd_before"))
    sys.path.insert(0, where)
    return importlib.import_module("mini_autograd_before")


def chain(ag):
    def run():
        x = ag.Variable(np.array(1.0))
        t0 = time.perf_counter()
        y = x
        for _ in range(CHAIN):
            y = y + x
        y.backward()
        t1 = time.perf_counter()
        assert x.grad == CHAIN + 1
        return 1e6 * (t1 - t0) / CHAIN

    return run


def micrograd_chain():
    x = Value(1.0)
    t0 = time.perf_counter()
    y = x
    for _ in range(CHAIN):
        y = y + x
    y.backward()
    t1 = time.perf_counter()
    return 1e6 * (t1 - t0) / CHAIN


def mlp_step(ag, X, y):
    model = ag.nn.MLP([784, 256, 10], dtype=np.float32, rng=0)
    optimizer = ag.optim.SGD(model.parameters(), lr=0.01)

    def step():
        optimizer.zero_grad()
        loss = ag.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()

    return step


def numpy_step(X, y, ag):
    import mlp_step

    weights = [p.value.copy() for p in ag.nn.MLP([784, 256, 10], dtype=np.float32, rng=0).parameters()]
    return mlp_step.NumpyStep(X, y, weights).step


def build_and_backward(ag, n):
    def run():
        gc.collect()
        t0 = time.perf_counter()
        x = ag.Variable(np.array(0.5))
        y = x
        for _ in range(n):
            y = ag.sin(y)
        t1 = time.perf_counter()
        y.backward()
        t2 = time.perf_counter()
        del x, y
        return {"build": 1e6 * (t1 - t0) / n, "backward": 1e6 * (t2 - t1) / n}

    return run


def spread(values):
    q1, q3 = quartiles(values)
    return f"{median(values):.3f} (IQR {q1:.3f} .. {q3:.3f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="a1b1426", help="the older commit (default a1b1426, before issue 11)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of the chain and MLP parts (default 100, quick 20)")
    parser.add_argument("--million-rounds", type=int, default=None, help="rounds of the 10^5 / 10^6 part (default 3, quick 1)")
    parser.add_argument("--no-million", action="store_true", help="skip the 10^5 / 10^6 part")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = args.rounds or (20 if args.quick else 100)
    million_rounds = args.million_rounds or (1 if args.quick else 3)
    where = tempfile.mkdtemp(prefix="mini_autograd_before_")
    try:
        ag_before = load_before(args.rev, where)
        print(f"compare_commits: mini_autograd at {args.rev} (before) against this checkout (after), one process")
        print(environment_line())
        print()

        s = interleaved({"before": chain(ag_before), "after": chain(ag_after), "micrograd": micrograd_chain},
                        rounds=rounds, warmup=3)
        rows = [[k, f"{median(v):.2f}", f"{sorted(v)[len(v) // 10]:.2f}",
                 spread(paired_ratios(v, s["micrograd"]))] for k, v in s.items()]
        print(f"1,000-addition chain, forward + backward, us per addition ({rounds} rounds):")
        print(table(["engine", "median us/op", "p10 us/op", "ratio to micrograd (paired)"], rows))
        print(f"  after / before: {spread(paired_ratios(s['after'], s['before']))}")
        print()

        rng = np.random.default_rng(1)
        X = rng.standard_normal((128, 784)).astype(np.float32)
        y = rng.integers(0, 10, 128)
        s = interleaved({"before": timed_block(mlp_step(ag_before, X, y), 3), "after": timed_block(mlp_step(ag_after, X, y), 3),
                         "numpy": timed_block(numpy_step(X, y, ag_after), 3)}, rounds=rounds, warmup=10)
        rows = [[k, f"{1e6 * median(v):.0f}", spread(paired_ratios(v, s["numpy"]))] for k, v in s.items()]
        print(f"MLP 784-256-10 SGD step, float32, batch 128 ({rounds} rounds x 3 steps):")
        print(table(["engine", "median us/step", "ratio to numpy by hand (paired)"], rows))
        print(f"  after / before: {spread(paired_ratios(s['after'], s['before']))}")
        print()

        if not args.no_million:
            contenders = {(name, n): build_and_backward(ag, n)
                          for name, ag in (("before", ag_before), ("after", ag_after)) for n in (100_000, 1_000_000)}
            s = interleaved(contenders, rounds=million_rounds, warmup=0)
            rows = []
            for name in ("before", "after"):
                small, large = s[(name, 100_000)], s[(name, 1_000_000)]
                cells = [name]
                for phase in ("build", "backward"):
                    cells += [f"{median([r[phase] for r in small]):.2f}", f"{median([r[phase] for r in large]):.2f}",
                              f"{median(paired_ratios([r[phase] for r in large], [r[phase] for r in small])):.3f}"]
                rows.append(cells)
            print(f"sin chain, gc enabled, us per node ({million_rounds} rounds):")
            print(table(["engine", "build 10^5", "build 10^6", "build ratio", "backward 10^5", "backward 10^6",
                         "backward ratio"], rows))
    finally:
        shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
