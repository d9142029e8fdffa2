"""Per-operation overhead, forward + backward, on a chain of 1,000 additions of 0-d values:

    x = Variable(0-d); y = x; for _ in range(1000): y = y + x; y.backward()

Contenders: mini_autograd (0-d float64 Variable), micrograd's Value (Python float), torch eager
(0-d float64 tensor with requires_grad). Numbers are per addition (the chain time / 1000).
Two diagnostic rows: mini_autograd with gc disabled, and the bare additions on numpy float64
scalars without any autodiff (the arithmetic floor).

    python benchmarks/op_overhead.py            # full run
    python benchmarks/op_overhead.py --quick    # smoke run
    python benchmarks/op_overhead.py --check    # exit 1 if the target fails
    python benchmarks/op_overhead.py --profile  # also print a cProfile of the mini_autograd chain

Targets: mini_autograd <= 3 us per operation (forward + backward, median), and below micrograd's
per-operation time in the same run (median of round-by-round ratios < 1).
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

from micrograd.engine import Value  # noqa: E402

from _bench import (  # noqa: E402
    Verdicts, environment_line, interleaved, median, paired_ratios, quartiles, table, use_repo_checkout,
)

use_repo_checkout()
import mini_autograd as ag  # noqa: E402

CHAIN = 1000
TARGET_US = 3.0

# micrograd's backward builds its topological order recursively: one Python frame per node,
# so a 1,000-node chain needs more than the default recursion limit of 1,000.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * CHAIN))


def mini_chain():
    x = ag.Variable(np.array(1.0))
    t0 = time.perf_counter()
    y = x
    for _ in range(CHAIN):
        y = y + x
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    assert x.grad == CHAIN + 1
    return {"forward": t1 - t0, "backward": t2 - t1}


def micrograd_chain():
    x = Value(1.0)
    t0 = time.perf_counter()
    y = x
    for _ in range(CHAIN):
        y = y + x
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    assert x.grad == CHAIN + 1
    return {"forward": t1 - t0, "backward": t2 - t1}


def torch_chain():
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    t0 = time.perf_counter()
    y = x
    for _ in range(CHAIN):
        y = y + x
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    assert x.grad.item() == CHAIN + 1
    return {"forward": t1 - t0, "backward": t2 - t1}


def mini_chain_no_gc():
    """mini_autograd with the garbage collector disabled (a diagnostic, not a contender)."""
    gc.disable()
    try:
        return mini_chain()
    finally:
        gc.enable()


def numpy_chain():
    """No autodiff at all: the same additions on numpy float64 scalars, which is how
    mini_autograd stores 0-d values (a floor, not a contender)."""
    x = np.float64(1.0)
    t0 = time.perf_counter()
    y = x
    for _ in range(CHAIN):
        y = y + x
    t1 = time.perf_counter()
    return {"forward": t1 - t0, "backward": 0.0}


CONTENDERS = {
    "mini_autograd": mini_chain,
    "micrograd Value": micrograd_chain,
    "torch eager": torch_chain,
    "mini_autograd, gc disabled": mini_chain_no_gc,
    "numpy float64, no autodiff": numpy_chain,
}


def per_op_us(samples, phase):
    if phase == "total":
        return [1e6 * (s["forward"] + s["backward"]) / CHAIN for s in samples]
    return [1e6 * s[phase] / CHAIN for s in samples]


def profile_mini(chains=50, top=20):
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(chains):
        mini_chain()
    profiler.disable()
    print(f"cProfile of {chains} mini_autograd chains ({chains * CHAIN} additions), top {top} by own time:")
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the target fails")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 200, quick 20)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the mini_autograd chain")
    args = parser.parse_args()
    rounds = args.rounds or (20 if args.quick else 200)

    print(f"op_overhead: chain of {CHAIN} additions y = y + x of 0-d values, forward then y.backward()")
    print(environment_line(f"; torch threads={torch.get_num_threads()}"))
    print()
    samples = interleaved(CONTENDERS, rounds=rounds, warmup=3)
    mini_total = per_op_us(samples["mini_autograd"], "total")
    rows = []
    for name, s in samples.items():
        total = per_op_us(s, "total")
        q1, q3 = quartiles(total)
        ratio = median(paired_ratios(mini_total, total))
        p10 = sorted(total)[len(total) // 10]
        rows.append([name, f"{median(per_op_us(s, 'forward')):.2f}",
                     f"{median(per_op_us(s, 'backward')):.2f}" if name != "numpy float64, no autodiff" else "-",
                     f"{median(total):.2f}", f"{q1:.2f} .. {q3:.2f}", f"{p10:.2f}", f"{ratio:.2f}x"])
    print(f"Microseconds per operation ({rounds} interleaved rounds, rotated order, medians):")
    print(table(["contender", "forward us/op", "backward us/op", "total us/op", "total IQR", "total p10",
                 "mini_autograd / this"], rows))
    print("(p10, the 10th percentile, estimates the uncontended speed: noise on a shared machine only adds time.\n"
          " The target is judged on the median total; it is an absolute time, so machine load moves it.)")
    print()
    print("Ratios (median of round-by-round ratios of the total time, interquartile range of those ratios):")
    ratios = {}
    for name in ("micrograd Value", "torch eager"):
        r = paired_ratios(mini_total, per_op_us(samples[name], 'total'))
        ratios[name] = r
        q1, q3 = quartiles(r)
        print(f"  mini_autograd / {name:16s} = {median(r):.2f}x  (IQR {q1:.2f} .. {q3:.2f})")
    micro_total = per_op_us(samples["micrograd Value"], "total")
    p10 = lambda v: sorted(v)[len(v) // 10]  # noqa: E731
    print(f"op overhead: ours {median(mini_total):.2f} us, micrograd {median(micro_total):.2f} us, ratio "
          f"{median(ratios['micrograd Value']):.2f}x (medians; p10: ours {p10(mini_total):.2f} us, "
          f"micrograd {p10(micro_total):.2f} us)")
    print()
    if args.profile:
        profile_mini(10 if args.quick else 50)

    verdicts = Verdicts("op_overhead")
    per_op = median(mini_total)
    verdicts.add(per_op <= TARGET_US, f"mini_autograd <= {TARGET_US:g} us per op (forward + backward)",
                 f"{per_op:.2f} us/op (median of totals; phase medians: forward "
                 f"{median(per_op_us(samples['mini_autograd'], 'forward')):.2f}, backward "
                 f"{median(per_op_us(samples['mini_autograd'], 'backward')):.2f})")
    ratio = median(ratios["micrograd Value"])
    verdicts.add(ratio < 1.0, "mini_autograd below micrograd per op (same run)",
                 f"{ratio:.2f}x (median of paired ratios; IQR {quartiles(ratios['micrograd Value'])[0]:.2f} .. "
                 f"{quartiles(ratios['micrograd Value'])[1]:.2f})")
    verdicts.finish(args.check)


if __name__ == "__main__":
    main()
