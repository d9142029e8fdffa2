"""One SGD step of an MLP 784-256-10 (ReLU), batch 128, float32: mini_autograd against
hand-written numpy, PyTorch eager (CPU) and HIPS autograd, measured side by side.

    python benchmarks/mlp_step.py            # full run (about a minute)
    python benchmarks/mlp_step.py --quick    # smoke run
    python benchmarks/mlp_step.py --check    # exit 1 if a target fails

Targets: mini_autograd <= 1.05x hand-written numpy (median of round-by-round ratios);
float32 stays float32; garbage collection < 5% of the step time.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)

import autograd  # noqa: E402
import autograd.numpy as anp  # noqa: E402

from _bench import (  # noqa: E402
    Verdicts, environment_line, fmt_time, interleaved, median, paired_ratios, quartiles, table, timed_block,
    use_repo_checkout,
)

use_repo_checkout()
import mini_autograd as ag  # noqa: E402

SIZES = (784, 256, 10)
BATCH = 128
LR = 0.01
SEED = 0
TARGET_RATIO = 1.05
TARGET_GC_FRACTION = 0.05


# --- the four contenders ------------------------------------------------------------


class MiniAutogradStep:
    """The public API, as a user would write it. The batch is a plain ndarray."""

    name = "mini_autograd"

    def __init__(self, X, y):
        self.X, self.y = X, y
        self.model = ag.nn.MLP(list(SIZES), dtype=np.float32, rng=SEED)
        self.optimizer = ag.optim.SGD(self.model.parameters(), lr=LR)
        self.last_loss = None

    def initial_weights(self):
        return [p.value.copy() for p in self.model.parameters()]  # W1, b1, W2, b2

    def weights(self):
        return [p.value for p in self.model.parameters()]

    def step(self, keep_graph=False):
        self.optimizer.zero_grad()
        loss = ag.cross_entropy(self.model(self.X), self.y)
        loss.backward()
        self.optimizer.step()
        if keep_graph:  # for the dtype checks; timed steps free their graph before returning
            self.last_loss = loss
        return loss.value

    def step_phases(self):
        """The same step, timed phase by phase (for the breakdown table)."""
        t0 = time.perf_counter()
        self.optimizer.zero_grad()
        loss = ag.cross_entropy(self.model(self.X), self.y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        self.optimizer.step()
        t3 = time.perf_counter()
        del loss  # the graph is freed here (reference counting)
        t4 = time.perf_counter()
        return {"forward + loss": t1 - t0, "backward": t2 - t1, "update": t3 - t2, "free graph": t4 - t3}


class NumpyStep:
    """The same step by hand: forward, stable softmax cross-entropy, hand-derived backward,
    in-place update. Obvious in-place operations only."""

    name = "numpy (by hand)"

    def __init__(self, X, y, weights):
        self.X, self.y = X, y
        self.W1, self.b1, self.W2, self.b2 = (w.copy() for w in weights)
        self.rows = np.arange(len(y))
        self.grads = None

    def weights(self):
        return [self.W1, self.b1, self.W2, self.b2]

    def step(self):
        X, y, rows = self.X, self.y, self.rows
        W1, b1, W2, b2 = self.W1, self.b1, self.W2, self.b2
        n = X.shape[0]
        # forward
        h = X @ W1
        h += b1
        np.maximum(h, 0, out=h)  # ReLU in place; h > 0 is also the ReLU mask
        z = h @ W2
        z += b2
        z -= z.max(axis=1, keepdims=True)  # stable softmax: shift by the row max
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = (np.log(s).sum() - z[rows, y].sum()) / n
        # backward: dL/dz = (softmax - onehot) / n
        e /= s
        e[rows, y] -= 1
        e *= 1.0 / n
        dW2 = h.T @ e
        db2 = e.sum(axis=0)
        dh = e @ W2.T
        dh *= h > 0
        dW1 = X.T @ dh
        db1 = dh.sum(axis=0)
        # update
        W1 -= LR * dW1
        b1 -= LR * db1
        W2 -= LR * dW2
        b2 -= LR * db2
        self.grads = (dW1, db1, dW2, db2)
        return loss

    def step_phases(self):
        """The same step as ``step``, timed phase by phase (for the breakdown table)."""
        X, y, rows = self.X, self.y, self.rows
        W1, b1, W2, b2 = self.W1, self.b1, self.W2, self.b2
        n = X.shape[0]
        t0 = time.perf_counter()
        h = X @ W1
        h += b1
        np.maximum(h, 0, out=h)
        z = h @ W2
        z += b2
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = (np.log(s).sum() - z[rows, y].sum()) / n
        t1 = time.perf_counter()
        e /= s
        e[rows, y] -= 1
        e *= 1.0 / n
        dW2 = h.T @ e
        db2 = e.sum(axis=0)
        dh = e @ W2.T
        dh *= h > 0
        dW1 = X.T @ dh
        db1 = dh.sum(axis=0)
        t2 = time.perf_counter()
        W1 -= LR * dW1
        b1 -= LR * db1
        W2 -= LR * dW2
        b2 -= LR * db2
        t3 = time.perf_counter()
        del h, z, e, s, dh, dW1, db1, dW2, db2, loss
        t4 = time.perf_counter()
        return {"forward + loss": t1 - t0, "backward": t2 - t1, "update": t3 - t2, "free graph": t4 - t3}


class TorchStep:
    """PyTorch eager on the CPU, with torch.optim.SGD; the batch is converted once."""

    name = "torch eager"

    def __init__(self, X, y, weights):
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)
        self.params = [torch.tensor(w, requires_grad=True) for w in weights]
        self.optimizer = torch.optim.SGD(self.params, lr=LR)
        self.last_loss = None

    def weights(self):
        return [p.detach().numpy() for p in self.params]

    def step(self, keep_graph=False):
        W1, b1, W2, b2 = self.params
        self.optimizer.zero_grad()
        logits = torch.relu(self.X @ W1 + b1) @ W2 + b2
        loss = F.cross_entropy(logits, self.y)
        loss.backward()
        self.optimizer.step()
        if keep_graph:
            self.last_loss = loss
        return loss.detach().numpy()


class HipsAutogradStep:
    """HIPS autograd: the loss written with autograd.numpy, value_and_grad, in-place update."""

    name = "HIPS autograd"

    def __init__(self, X, y, weights):
        self.X, self.y = X, y
        self.params = [w.copy() for w in weights]
        rows = np.arange(len(y))

        def loss_fn(params, X, y):
            W1, b1, W2, b2 = params
            h = anp.maximum(anp.dot(X, W1) + b1, 0.0)
            logits = anp.dot(h, W2) + b2
            # stable log-softmax (autograd.scipy needs scipy, which is not installed); the
            # shift's gradient cancels exactly, so differentiating through max is harmless
            shifted = logits - anp.max(logits, axis=1, keepdims=True)
            log_p = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
            return -anp.mean(log_p[rows, y])

        self.value_and_grad = autograd.value_and_grad(loss_fn)
        self.grads = None

    def weights(self):
        return self.params

    def step(self):
        loss, grads = self.value_and_grad(self.params, self.X, self.y)
        for p, g in zip(self.params, grads):
            p -= LR * g
        self.grads = grads
        return loss


# --- checks ---------------------------------------------------------------------------


def make_data():
    rng = np.random.default_rng(SEED + 1)
    X = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    return X, y


def make_contenders(X, y):
    mini = MiniAutogradStep(X, y)
    w0 = mini.initial_weights()
    return mini, NumpyStep(X, y, w0), TorchStep(X, y, w0), HipsAutogradStep(X, y, w0)


def verify(contenders, verdicts):
    """One step from the same weights: mini_autograd and numpy must agree in float32; torch
    and HIPS autograd are checked against numpy as a sanity check of the reference."""
    mini, numpy_step = contenders[0], contenders[1]
    losses = {c.name: c.step(keep_graph=True) if isinstance(c, (MiniAutogradStep, TorchStep)) else c.step()
              for c in contenders}
    reference_loss, reference_weights = losses[numpy_step.name], numpy_step.weights()
    print("Correctness (one step from identical initial weights):")
    rows = []
    for c in contenders:
        loss_err = abs(float(losses[c.name]) - float(reference_loss))
        w_err = max(float(np.max(np.abs(np.asarray(a, np.float64) - b))) for a, b in zip(c.weights(), reference_weights))
        rows.append([c.name, f"{float(losses[c.name]):.7f}", f"{loss_err:.2e}", f"{w_err:.2e}"])
    print(table(["contender", "loss", "|loss - numpy|", "max |W - W_numpy| after step"], rows))
    # the assertion the brief asks for: mini_autograd and numpy agree in float32
    np.testing.assert_allclose(losses[mini.name], reference_loss, rtol=1e-5, atol=1e-6)
    for a, b in zip(mini.weights(), reference_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for c in contenders[2:]:
        np.testing.assert_allclose(float(losses[c.name]), float(reference_loss), rtol=1e-4)
        for a, b in zip(c.weights(), reference_weights):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    print("assert_allclose(mini_autograd, numpy, rtol=1e-5, atol=1e-6): loss and all 4 updated parameters OK\n")

    # float32 stays float32
    loss = mini.last_loss
    params = mini.model.parameters()
    graph_values = {}
    for op in ag.topological_order(loss):
        for v in op.inputs:
            graph_values[id(v)] = v
    float_dtypes = sorted({str(v.value.dtype) for v in graph_values.values() if v.requires_grad})
    constant_dtypes = sorted({str(np.asarray(v.value).dtype) for v in graph_values.values() if not v.requires_grad})
    grad_dtypes = sorted({str(p.grad.dtype) for p in params})
    param_dtypes = sorted({str(p.value.dtype) for p in params})
    print("dtypes in the mini_autograd step:")
    print(table(["what", "dtype(s)"], [
        ["loss", str(np.asarray(loss.value).dtype)],
        ["parameter grads", ", ".join(grad_dtypes)],
        ["parameters after step", ", ".join(param_dtypes)],
        ["graph values needing grad", ", ".join(float_dtypes)],
        ["graph constants (batch, labels)", ", ".join(constant_dtypes)],
    ]))
    other = [
        ["numpy (by hand)", str(np.asarray(losses[numpy_step.name]).dtype), ", ".join(sorted({str(g.dtype) for g in numpy_step.grads}))],
        ["torch eager", str(contenders[2].last_loss.dtype).replace("torch.", ""),
         ", ".join(sorted({str(p.grad.dtype).replace("torch.", "") for p in contenders[2].params}))],
        ["HIPS autograd", str(np.asarray(losses[contenders[3].name]).dtype), ", ".join(sorted({str(g.dtype) for g in contenders[3].grads}))],
    ]
    print(table(["other contenders", "loss dtype", "grad dtype(s)"], other))
    ok = (np.asarray(loss.value).dtype == np.float32 and grad_dtypes == ["float32"]
          and param_dtypes == ["float32"] and float_dtypes == ["float32"])
    verdicts.add(ok, "float32 stays float32",
                 f"loss {np.asarray(loss.value).dtype}, grads {'/'.join(grad_dtypes)}, params {'/'.join(param_dtypes)}, "
                 f"graph values {'/'.join(float_dtypes)}")
    print()


# --- timing ---------------------------------------------------------------------------


def time_steps(contenders, rounds, inner):
    samples = interleaved({c.name: timed_block(c.step, inner) for c in contenders}, rounds=rounds, warmup=10)
    reference = samples["numpy (by hand)"]
    rows = []
    for c in contenders:
        s = samples[c.name]
        q1, q3 = quartiles(s)
        ratios = paired_ratios(s, reference)
        rows.append([c.name, fmt_time(median(s)), f"{fmt_time(q1)} .. {fmt_time(q3)}",
                     f"{median(s) / median(reference):.3f}x", f"{median(ratios):.3f}x"])
    print(f"Time per SGD step ({rounds} interleaved rounds x {inner} steps, rotated order, gc enabled):")
    print(table(["contender", "median/step", "IQR", "ratio of medians", "median paired ratio vs numpy"], rows))
    print()
    return samples


def time_phases(contenders, rounds):
    """Where the time goes: mini_autograd and numpy, phase by phase, interleaved."""
    mini, numpy_step = contenders[0], contenders[1]
    samples = interleaved({mini.name: mini.step_phases, numpy_step.name: numpy_step.step_phases}, rounds=rounds, warmup=10)
    rows = []
    for phase in samples[mini.name][0]:
        a = [s[phase] for s in samples[mini.name]]
        b = [s[phase] for s in samples[numpy_step.name]]
        rows.append([phase, fmt_time(median(a)), fmt_time(median(b)), fmt_time(median(a) - median(b)),
                     f"{median(a) / median(b):.2f}x" if median(b) > 1e-6 else "-"])
    print(f"Phase breakdown, mini_autograd vs numpy by hand ({rounds} interleaved rounds, one step each, medians):")
    print(table(["phase", "mini_autograd", "numpy", "difference", "ratio"], rows))
    print("(forward + loss: both matmuls, bias, ReLU, softmax cross-entropy; backward: both weight gradients,\n"
          " and for numpy the gradient of the loss; the two matmuls X@W1 and X.T@dh are ~80% of the step.)")
    print()


class GcTimer:
    """Times every garbage-collector run through gc.callbacks."""

    def __init__(self):
        self.total = 0.0
        self.runs = {0: 0, 1: 0, 2: 0}
        self.by_generation = {0: 0.0, 1: 0.0, 2: 0.0}
        self.longest = 0.0
        self._start = None

    def __call__(self, phase, info):
        if phase == "start":
            self._start = time.perf_counter()
        elif self._start is not None:
            elapsed = time.perf_counter() - self._start
            self._start = None
            generation = info["generation"]
            self.total += elapsed
            self.runs[generation] += 1
            self.by_generation[generation] += elapsed
            self.longest = max(self.longest, elapsed)


def measure_gc(contenders, steps, rounds, inner, verdicts):
    rows = []
    fractions = {}
    for c in contenders:
        gc.collect()
        timer = GcTimer()
        gc.callbacks.append(timer)
        try:
            start = time.perf_counter()
            for _ in range(steps):
                c.step()
            wall = time.perf_counter() - start
        finally:
            gc.callbacks.remove(timer)
        fractions[c.name] = timer.total / wall
        rows.append([c.name, f"{timer.runs[0]}/{timer.runs[1]}/{timer.runs[2]}", fmt_time(timer.total / steps),
                     fmt_time(timer.longest) if timer.longest else "-", f"{100 * timer.total / wall:.2f}%"])
    print(f"Garbage collection during {steps} consecutive steps per contender (timed with gc.callbacks, "
          f"thresholds {gc.get_threshold()}):")
    print(table(["contender", "gc runs gen0/1/2", "gc time per step", "longest gc run", "gc share of step time"], rows))
    print()

    # gc enabled against gc disabled, interleaved. Allocations made while gc is disabled still
    # count towards the next collection, which then lands in an "enabled" block: the debt is paid.
    mini = contenders[0]

    def with_gc():
        return timed_block(mini.step, inner)()

    def without_gc():
        gc.disable()
        try:
            return timed_block(mini.step, inner)()
        finally:
            gc.enable()

    samples = interleaved({"gc enabled": with_gc, "gc disabled": without_gc}, rounds=rounds, warmup=3)
    on, off = samples["gc enabled"], samples["gc disabled"]
    ratio = median(paired_ratios(on, off))
    print(f"mini_autograd step with gc enabled vs gc.disable() ({rounds} interleaved rounds x {inner} steps):")
    print(table(["mode", "median/step"], [["gc enabled", fmt_time(median(on))], ["gc disabled", fmt_time(median(off))],
                                         ["enabled / disabled (median paired ratio)", f"{ratio:.3f}x"]]))
    print()
    share = fractions[mini.name]
    verdicts.add(share < TARGET_GC_FRACTION, f"gc share of mini_autograd step time < {TARGET_GC_FRACTION:.0%}",
                 f"{100 * share:.2f}% (gc.callbacks); gc on/off time ratio {ratio:.3f}x")
    return share, ratio


def profile_mini(contender, steps, top=20):
    """cProfile of the mini_autograd step (profiler overhead inflates the Python-level entries)."""
    for _ in range(10):
        contender.step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        contender.step()
    profiler.disable()
    print(f"cProfile of {steps} mini_autograd steps, top {top} by own time (tottime):")
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 200, quick 30)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the mini_autograd step")
    args = parser.parse_args()
    rounds = args.rounds or (30 if args.quick else 200)
    inner = 3
    gc_steps = 100 if args.quick else 600

    print(f"mlp_step: one SGD step of MLP {'-'.join(map(str, SIZES))} (ReLU), batch {BATCH}, float32, lr {LR}")
    print(environment_line(f"; torch threads={torch.get_num_threads()}; numpy {np.__version__}, torch {torch.__version__}"))
    print()
    verdicts = Verdicts("mlp_step")
    X, y = make_data()
    contenders = make_contenders(X, y)
    verify(contenders, verdicts)
    samples = time_steps(contenders, rounds, inner)
    time_phases(contenders, rounds)
    measure_gc(contenders, gc_steps, max(rounds // 2, 10), inner, verdicts)
    if args.profile:
        profile_mini(contenders[0], 100 if args.quick else 500)

    ratio = median(paired_ratios(samples["mini_autograd"], samples["numpy (by hand)"]))
    q1, q3 = quartiles(paired_ratios(samples["mini_autograd"], samples["numpy (by hand)"]))
    print(f"mlp step: ours / numpy = {ratio:.3f}x (median paired ratio over {rounds} rounds, IQR {q1:.3f} .. {q3:.3f})")
    verdicts.add(ratio <= TARGET_RATIO, f"mini_autograd <= {TARGET_RATIO:.2f}x hand-written numpy",
                 f"{ratio:.3f}x (median paired ratio, IQR {q1:.3f} .. {q3:.3f}; {fmt_time(median(samples['mini_autograd']))} vs "
                 f"{fmt_time(median(samples['numpy (by hand)']))} per step)")
    verdicts.finish(args.check)


if __name__ == "__main__":
    main()
