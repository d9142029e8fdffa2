"""Diagnostics behind the targets: where mini_autograd's extra time goes. No targets; exits 0.

    python benchmarks/diagnose.py [--quick]

0. The whole MLP step (784-256-10, batch 128, float32) three ways: mini_autograd, numpy by
   hand with in-place operations (as in mlp_step.py), and numpy doing the same array work as
   mini_autograd's operations (new arrays instead of in-place updates, the same
   cross-entropy code) but with no graph. The first gap is graph bookkeeping, the second the
   cost of the engine's numerics.
1. Pieces of the MLP step, each against the same piece written in numpy, interleaved:
   softmax cross-entropy, layer-1 bias + ReLU, a big matmul.
2. The per-operation chain of op_overhead.py split up: the forward pass against bare numpy,
   the backward pass against compute_gradients alone, and the depth-first topological_order
   for comparison (the backward pass does not call it: it takes the Operations from a heap,
   latest-made first).
3. Work done for inputs that need no gradient: Multiply.backward on ``y * 1.0001`` computes
   the gradient of the constant too, then compute_gradients throws it away.
4. What the contenders around it cost the step: mlp_step.py times four contenders taking turns
   in blocks of 3 steps. The same step taking turns with numpy alone, and with all four in
   blocks of 3 and of 20, shows how much of the ratio is the step itself.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from _bench import (  # noqa: E402
    environment_line, interleaved, median, paired_ratios, table, timed_block, use_repo_checkout,
)

use_repo_checkout()
import mini_autograd as ag  # noqa: E402
from mini_autograd.ops import unbroadcast  # noqa: E402
from mini_autograd.reverse import compute_gradients, topological_order  # noqa: E402


def compare(pairs, rounds, inner):
    """pairs: [(label, mini_fn, numpy_fn)] -> table rows of medians in us and paired ratios."""
    rows = []
    for label, mini_fn, numpy_fn in pairs:
        s = interleaved({"mini": timed_block(mini_fn, inner), "numpy": timed_block(numpy_fn, inner)},
                        rounds=rounds, warmup=5)
        a, b = median(s["mini"]), median(s["numpy"])
        rows.append([label, f"{a * 1e6:.1f}", f"{b * 1e6:.1f}", f"{(a - b) * 1e6:+.1f}",
                     f"{median(paired_ratios(s['mini'], s['numpy'])):.2f}x"])
    return rows


def whole_step(rounds):
    from mlp_step import LR, MiniAutogradStep, NumpyStep, make_data

    X, y = make_data()
    mini = MiniAutogradStep(X, y)
    by_hand = NumpyStep(X, y, mini.initial_weights())
    W1, b1, W2, b2 = (w.copy() for w in mini.initial_weights())
    n = X.shape[0]

    def engine_style():
        # forward as the operations do it: Affine (X @ W1, bias added in place), ReLU (a new
        # array), Affine, CrossEntropy (log-softmax shifted by the row max, labels located with
        # ravel_multi_index, which also checks their range)
        h = X @ W1
        h += b1
        a = np.maximum(h, 0)
        z = a @ W2
        z += b2
        shifted = z - z.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        picked = np.ravel_multi_index((np.arange(n), y), (n, z.shape[-1]))
        loss = -log_p.reshape(-1)[picked].sum() / n
        assert np.isfinite(loss)
        # backward, same order and temporaries as the operations' backward methods
        g = np.exp(log_p).reshape(-1)
        g[picked] -= 1
        g *= np.float32(1.0) / n
        g = g.reshape(log_p.shape)
        da = g @ W2.T
        dW2 = a.T @ g
        db2 = g.sum(axis=0)
        dh = da * (a > 0)
        dW1 = X.T @ dh
        db1 = dh.sum(axis=0)
        for w, d in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2)):
            w -= LR * d
        return loss

    # the engine-style numpy step computes what mini_autograd computes (same starting weights)
    np.testing.assert_allclose(engine_style(), mini.step(), rtol=1e-5)
    np.testing.assert_allclose(W1, mini.model.parameters()[0].value, rtol=1e-5, atol=1e-6)

    s = interleaved({"mini_autograd": timed_block(mini.step, 3), "numpy, in place (mlp_step.py)": timed_block(by_hand.step, 3),
                     "numpy, same array work as the engine": timed_block(engine_style, 3)}, rounds=rounds, warmup=10)
    ref = s["numpy, in place (mlp_step.py)"]
    rows = [[k, f"{1e6 * median(v):.0f}", f"{median(paired_ratios(v, ref)):.3f}x"] for k, v in s.items()]
    print(f"0. The whole SGD step three ways ({rounds} interleaved rounds x 3 steps, medians):")
    print(table(["variant", "us/step", "ratio to numpy in place"], rows))
    print()


def mlp_pieces(rounds):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 784)).astype(np.float32)
    W1 = (rng.standard_normal((784, 256)) * 0.05).astype(np.float32)
    b1 = np.zeros(256, np.float32)
    y = rng.integers(0, 10, 128)
    rows_idx = np.arange(128)
    h_pre = X @ W1
    z = rng.standard_normal((128, 10)).astype(np.float32)
    G = rng.standard_normal((128, 256)).astype(np.float32)
    W1v, b1v, hv, zv = ag.Variable(W1), ag.Variable(b1), ag.Variable(h_pre), ag.Variable(z)
    one = np.float32(1.0)

    def mini_ce_fwd():
        ag.cross_entropy(zv, y)

    def numpy_ce_fwd():
        s = z - z.max(axis=1, keepdims=True)
        e = np.exp(s)
        t = e.sum(axis=1, keepdims=True)
        return (np.log(t).sum() - s[rows_idx, y].sum()) / 128

    def mini_ce():
        loss = ag.cross_entropy(zv, y)
        loss.producer.backward(one)

    def numpy_ce():
        s = z - z.max(axis=1, keepdims=True)
        e = np.exp(s)
        t = e.sum(axis=1, keepdims=True)
        loss = (np.log(t).sum() - s[rows_idx, y].sum()) / 128
        e /= t
        e[rows_idx, y] -= 1
        e *= 1.0 / 128
        return loss, e

    def mini_bias_relu():
        out = ag.relu(hv + b1v)
        compute_gradients(out, G)

    def numpy_bias_relu():
        h = h_pre + b1
        np.maximum(h, 0, out=h)
        dh = G * (h > 0)
        return dh, dh.sum(axis=0)

    def mini_matmul():
        X @ W1v

    def numpy_matmul():
        return X @ W1

    def mini_labels():
        ag.constant(y)  # what cross_entropy does to integer labels before CrossEntropy sees them

    def numpy_labels():
        return y

    pairs = [
        ("softmax-CE forward (ag.cross_entropy)", mini_ce_fwd, numpy_ce_fwd),
        ("softmax-CE forward + backward", mini_ce, numpy_ce),
        ("layer-1 bias + ReLU, forward + backward", mini_bias_relu, numpy_bias_relu),
        ("X @ W1 (128x784 @ 784x256)", mini_matmul, numpy_matmul),
        ("integer labels -> constant (no copy)", mini_labels, numpy_labels),
    ]
    print(f"1. Pieces of the MLP step, mini_autograd against numpy ({rounds} interleaved rounds, medians, us):")
    print(table(["piece", "mini_autograd", "numpy", "difference", "ratio"], compare(pairs, rounds, 5)))
    print()


def chain_pieces(rounds, n=1000):
    def build():
        x = ag.Variable(np.array(1.0))
        y = x
        for _ in range(n):
            y = y + x
        return x, y

    def forward():
        x = ag.Variable(np.array(1.0))
        t0 = time.perf_counter()
        y = x
        for _ in range(n):
            y = y + x
        return time.perf_counter() - t0

    def forward_numpy():
        x = np.float64(1.0)
        t0 = time.perf_counter()
        y = x
        for _ in range(n):
            y = y + x
        return time.perf_counter() - t0

    def timed(fn):
        def run():
            x, y = build()
            t0 = time.perf_counter()
            fn(y)
            return time.perf_counter() - t0
        return run

    contenders = {
        "forward: y = y + x (engine)": forward,
        "forward: the same additions on np.float64": forward_numpy,
        "backward: y.backward()": timed(lambda y: y.backward()),
        "backward: compute_gradients(y) only": timed(compute_gradients),
        "(topological_order(y) alone; backward does not use it)": timed(topological_order),
    }
    s = interleaved(contenders, rounds=rounds, warmup=3)
    rows = [[name, f"{1e6 * median(v) / n:.2f}"] for name, v in s.items()]
    print(f"2. The 1,000-addition chain split up ({rounds} interleaved rounds, medians, us per addition):")
    print(table(["part", "us/op"], rows))
    print()


def constant_gradient(rounds):
    rng = np.random.default_rng(0)
    for shape in [(), (8,), (128, 256)]:
        x = ag.Variable(rng.standard_normal(shape) + 2.0)
        y = x * 1.0001
        op = y.producer
        grad = np.ones_like(y.value)
        a, b = op.inputs

        def engine_backward():
            op.backward(grad)

        def needed_only():
            return unbroadcast(grad * op.b, a.shape)

        s = interleaved({"all": timed_block(engine_backward, 20), "needed": timed_block(needed_only, 20)},
                        rounds=rounds, warmup=5)
        yield [f"x * 1.0001, x of shape {shape}", f"{1e6 * median(s['all']):.2f}", f"{1e6 * median(s['needed']):.2f}",
               f"{100 * (1 - median(s['needed']) / median(s['all'])):.0f}%"]


def block_lengths(rounds):
    from mlp_step import make_contenders, make_data

    X, y = make_data()
    contenders = {c.name: c for c in make_contenders(X, y)}   # mini_autograd, numpy, torch, HIPS autograd
    pair = ["mini_autograd", "numpy (by hand)"]
    rows = []
    for names, inner, n in ((pair, 3, rounds), (list(contenders), 3, rounds), (list(contenders), 20, max(rounds // 7, 10))):
        s = interleaved({name: timed_block(contenders[name].step, inner) for name in names}, rounds=n, warmup=10)
        mini, numpy_ = s["mini_autograd"], s["numpy (by hand)"]
        rows.append([f"{len(names)} contenders, blocks of {inner} steps, {n} rounds", f"{1e6 * median(mini):.0f}",
                     f"{1e6 * median(numpy_):.0f}", f"{median(paired_ratios(mini, numpy_)):.3f}x"])
    print("4. The MLP step taking turns with numpy only, or also with torch and HIPS autograd (as in mlp_step.py),")
    print("   in blocks of 3 steps (mlp_step.py) or 20 (us/step, medians):")
    print(table(["taking turns", "mini_autograd", "numpy", "ratio"], rows))
    print("   (a block that follows torch's and HIPS autograd's steps starts with their objects in the caches)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 30 if args.quick else 200
    print("diagnose: where mini_autograd's time goes")
    print(environment_line())
    print()
    whole_step(rounds)
    mlp_pieces(rounds)
    chain_pieces(rounds // 2)
    rows = list(constant_gradient(rounds))
    print(f"3. Multiply.backward for y = x * 1.0001 ({rounds} interleaved rounds, medians, us per call):")
    print(table(["operation", "Multiply.backward", "x's gradient alone", "share spent on the constant"], rows))
    print("   (the constant 1.0001 needs no gradient; compute_gradients discards what is computed for it)")
    print()
    block_lengths(rounds)


if __name__ == "__main__":
    main()
