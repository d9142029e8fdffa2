"""Every operation's derivatives against finite differences, in reverse and forward mode.

For each case we compare, in float64:

* the value with numpy's (where numpy has the same function),
* the FULL reverse-mode Jacobian of every input (one backward pass per output entry, one-hot
  seeds) with the central-difference Jacobian ``ag.numerical_jacobian``,
* ``ag.jacobian(..., mode="forward")`` with ``mode="reverse"`` for every input,
* ``ag.jvp`` with random tangents for all inputs at once against the reverse Jacobians
  contracted with those tangents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mini_autograd as ag

ATOL, RTOL = 1e-6, 1e-5  # float64 central differences give ~8-10 correct digits


# --- helpers ----------------------------------------------------------------------


def reverse_jacobians(f, *arrays):
    """One Jacobian per input, shaped out.shape + input.shape, from one-hot backward seeds."""
    inputs = [ag.Variable(a) for a in arrays]
    out = f(*inputs)
    assert isinstance(out, ag.Variable), f"f returned {type(out).__name__}, not a Variable"
    out_shape = np.shape(out.value)
    jacobians = [np.zeros(out_shape + np.shape(a)) for a in arrays]
    for index in np.ndindex(out_shape):
        seed = np.zeros(out_shape)
        seed[index] = 1.0
        grads = ag.compute_gradients(out, seed)
        for k, variable in enumerate(inputs):
            grad = grads.get(variable)
            if grad is not None:
                assert np.shape(grad) == np.shape(arrays[k]), f"gradient of input {k} has shape {np.shape(grad)}"
                jacobians[k][index] = grad
    return jacobians


def with_others_fixed(f, arrays, k):
    """f as a function of input k only; the other inputs are constants."""

    def g(x):
        args = [ag.constant(a) for a in arrays]
        args[k] = x
        return f(*args)

    return g


def check_reverse_against_finite_differences(f, arrays):
    numeric = ag.numerical_jacobian(f, *arrays)
    analytic = reverse_jacobians(f, *arrays)
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        np.testing.assert_allclose(a, n, atol=ATOL, rtol=RTOL, err_msg=f"reverse-mode Jacobian of input {k}")
    return analytic


def check_forward_against_reverse(f, arrays, reverse):
    for k in range(len(arrays)):
        g = with_others_fixed(f, arrays, k)
        forward = ag.jacobian(g, arrays[k], mode="forward")
        backward = ag.jacobian(g, arrays[k], mode="reverse")
        np.testing.assert_allclose(backward, reverse[k], atol=1e-12, rtol=1e-10, err_msg=f"jacobian(mode='reverse') of input {k}")
        np.testing.assert_allclose(forward, backward, atol=1e-10, rtol=1e-8, err_msg=f"forward vs reverse Jacobian of input {k}")


def check_jvp(f, arrays, reverse, seed=0):
    rng = np.random.default_rng(seed)
    tangents = [rng.standard_normal(np.shape(a)) for a in arrays]
    value, tangent = ag.jvp(f, list(arrays), tangents)
    out_value = f(*[ag.Variable(a) for a in arrays]).value
    np.testing.assert_allclose(value, out_value, rtol=1e-12, atol=1e-12)
    expected = sum(np.tensordot(J, t, axes=np.ndim(t)) for J, t in zip(reverse, tangents))
    assert np.shape(tangent) == np.shape(out_value)
    np.testing.assert_allclose(tangent, expected, atol=1e-10, rtol=1e-8, err_msg="jvp vs reverse Jacobians . tangents")


@dataclass
class Case:
    id: str
    f: Callable
    arrays: tuple
    ref: Callable | None = None  # the same function on ndarrays, for the value


def rnd(shape, seed, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def positive(shape, seed):
    return rnd(shape, seed, 0.5, 2.0)


def away_from_zero(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def distinct(shape, seed):
    """Values at least 0.1 apart, so max has no ties within the finite-difference step."""
    size = int(np.prod(shape, dtype=int))
    return (np.random.default_rng(seed).permutation(size) * 0.1 - 1.0).reshape(shape)


def sid(shape):
    return "x".join(map(str, shape)) if shape else "0d"


CASES: list[Case] = []

# --- binary arithmetic, with broadcasting ---------------------------------------------

BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 3), ()), ((), ()), ((2, 1, 3), (4, 1))]

BINARY = {
    "add": (lambda a, b: a + b, np.add, rnd),
    "sub": (lambda a, b: a - b, np.subtract, rnd),
    "mul": (lambda a, b: a * b, np.multiply, rnd),
    "div": (lambda a, b: a / b, np.divide, away_from_zero),
    "pow": (lambda a, b: a**b, np.power, None),
    "ag.add": (ag.add, np.add, rnd),
    "ag.subtract": (ag.subtract, np.subtract, rnd),
    "ag.multiply": (ag.multiply, np.multiply, rnd),
    "ag.divide": (ag.divide, np.divide, away_from_zero),
    "ag.power": (ag.power, np.power, None),
}
for name, (f, ref, second) in BINARY.items():
    for i, (sa, sb) in enumerate(BROADCAST_PAIRS):
        if name in ("pow", "ag.power"):
            a, b = positive(sa, i), rnd(sb, 100 + i, -1.5, 1.5)  # Variable exponent: positive base
        else:
            a, b = rnd(sa, i), second(sb, 100 + i)
        CASES.append(Case(f"{name}-{sid(sa)}-{sid(sb)}", f, (a, b), ref))

# Python-number operands on either side.
SCALAR_FORMS = {
    "x+2": (lambda x: x + 2, lambda x: x + 2, rnd),
    "2+x": (lambda x: 2 + x, lambda x: 2 + x, rnd),
    "x-1.5": (lambda x: x - 1.5, lambda x: x - 1.5, rnd),
    "1.5-x": (lambda x: 1.5 - x, lambda x: 1.5 - x, rnd),
    "3*x": (lambda x: 3 * x, lambda x: 3 * x, rnd),
    "x/4": (lambda x: x / 4, lambda x: x / 4, rnd),
    "4/x": (lambda x: 4 / x, lambda x: 4 / x, away_from_zero),
    "x**2": (lambda x: x**2, lambda x: x**2, rnd),
    "x**3-negative-base": (lambda x: x**3, lambda x: x**3, lambda s, i: -positive(s, i)),
    "x**0.5": (lambda x: x**0.5, np.sqrt, positive),
    "x**-1.5": (lambda x: x**-1.5, lambda x: x**-1.5, positive),
    "2**x": (lambda x: 2**x, lambda x: 2.0**x, rnd),
    "0.5**x": (lambda x: 0.5**x, lambda x: 0.5**x, rnd),
    "neg": (lambda x: -x, np.negative, rnd),
    "ag.negative": (ag.negative, np.negative, rnd),
    "pos": (lambda x: +(x * 1.0), lambda x: x, rnd),
}
for name, (f, ref, gen) in SCALAR_FORMS.items():
    for i, shape in enumerate([(), (5,), (3, 4)]):
        CASES.append(Case(f"{name}-{sid(shape)}", f, (gen(shape, i),), ref))

# --- elementwise functions ------------------------------------------------------------

UNARY = {
    "exp": (ag.exp, np.exp, rnd),
    "exp-method": (lambda x: x.exp(), np.exp, rnd),
    "log": (ag.log, np.log, positive),
    "log-method": (lambda x: x.log(), np.log, positive),
    "sqrt": (ag.sqrt, np.sqrt, positive),
    "sin": (ag.sin, np.sin, rnd),
    "cos": (ag.cos, np.cos, rnd),
    "tanh": (ag.tanh, np.tanh, rnd),
    "sigmoid": (ag.sigmoid, lambda x: 1 / (1 + np.exp(-x)), rnd),
    "relu": (ag.relu, lambda x: np.maximum(x, 0), away_from_zero),
    "abs": (ag.abs, np.abs, away_from_zero),
}
for name, (f, ref, gen) in UNARY.items():
    for i, shape in enumerate([(), (5,), (3, 4), (2, 3, 2)]):
        CASES.append(Case(f"{name}-{sid(shape)}", f, (gen(shape, i),), ref))

# --- reductions -------------------------------------------------------------------------

REDUCTION_AXES = [None, 0, 1, -1, 2, (0, 2), (2, 0), (-1, 0), (0, 1, 2), ()]
for name, method, ref in [("sum", "sum", np.sum), ("mean", "mean", np.mean), ("max", "max", np.max)]:
    for axis in REDUCTION_AXES:
        for keepdims in (False, True):
            f = lambda x, m=method, a=axis, k=keepdims: getattr(x, m)(axis=a, keepdims=k)
            r = lambda x, r=ref, a=axis, k=keepdims: r(x, axis=a, keepdims=k)
            CASES.append(Case(f"{name}-axis={axis}-keepdims={keepdims}", f, (distinct((2, 3, 4), 7),), r))
    # Functional forms, 0-d and 1-D inputs.
    fn = getattr(ag, name)
    CASES.append(Case(f"ag.{name}-0d", lambda x, fn=fn: fn(x), (rnd((), 1),), ref))
    CASES.append(Case(f"ag.{name}-0d-axis=None-keepdims", lambda x, fn=fn: fn(x, keepdims=True), (rnd((), 2),), lambda x, r=ref: r(x, keepdims=True)))
    CASES.append(Case(f"ag.{name}-1d-axis=0", lambda x, fn=fn: fn(x, axis=0), (distinct((5,), 3),), lambda x, r=ref: r(x, axis=0)))
    CASES.append(Case(f"ag.{name}-3x4-axis=-2-keepdims", lambda x, fn=fn: fn(x, axis=-2, keepdims=True), (distinct((3, 4), 4),), lambda x, r=ref: r(x, axis=-2, keepdims=True)))

# --- shape operations -----------------------------------------------------------------

X234 = rnd((2, 3, 4), 11)
SHAPE_CASES = [
    ("reshape-234-to-6x4", lambda x: x.reshape(6, 4), X234, lambda x: x.reshape(6, 4)),
    ("reshape-tuple-minus1", lambda x: x.reshape((4, -1, 2)), X234, lambda x: x.reshape(4, -1, 2)),
    ("reshape-flat", lambda x: x.reshape(-1), X234, lambda x: x.reshape(-1)),
    ("ag.reshape", lambda x: ag.reshape(x, (3, 8)), X234, lambda x: x.reshape(3, 8)),
    ("reshape-1x1-to-0d", lambda x: x.reshape(()), rnd((1, 1), 1), lambda x: x.reshape(())),
    ("reshape-0d-to-1x1", lambda x: x.reshape(1, 1), rnd((), 1), lambda x: x.reshape(1, 1)),
    ("T-3x4", lambda x: x.T, rnd((3, 4), 2), lambda x: x.T),
    ("T-234", lambda x: x.T, X234, lambda x: x.T),
    ("T-1d", lambda x: x.T * x, rnd((5,), 2), lambda x: x.T * x),
    ("T-0d", lambda x: x.T * 2, rnd((), 2), lambda x: x.T * 2),
    ("transpose-102", lambda x: x.transpose(1, 0, 2), X234, lambda x: x.transpose(1, 0, 2)),
    ("transpose-201-tuple", lambda x: x.transpose((2, 0, 1)), X234, lambda x: x.transpose(2, 0, 1)),
    ("transpose-negative-axes", lambda x: x.transpose(-1, 0, -2), X234, lambda x: x.transpose(-1, 0, -2)),
    ("transpose-no-axes", lambda x: x.transpose(), X234, lambda x: x.transpose()),
    ("ag.transpose", lambda x: ag.transpose(x, (0, 2, 1)), X234, lambda x: x.transpose(0, 2, 1)),
    # getitem
    ("getitem-slices", lambda x: x[1:, ::2], X234, lambda x: x[1:, ::2]),
    ("getitem-negative-step", lambda x: x[:, ::-1, 1:3], X234, lambda x: x[:, ::-1, 1:3]),
    ("getitem-int", lambda x: x[1], X234, lambda x: x[1]),
    ("getitem-ints-to-0d", lambda x: x[1, 2, -1], X234, lambda x: x[1, 2, -1]),
    ("getitem-int-slice", lambda x: x[0, 1:], X234, lambda x: x[0, 1:]),
    ("getitem-ellipsis", lambda x: x[..., 1], X234, lambda x: x[..., 1]),
    ("getitem-none", lambda x: x[None, :, 1], X234, lambda x: x[None, :, 1]),
    ("getitem-none-ellipsis-slice", lambda x: x[1:, None, ..., ::-2], X234, lambda x: x[1:, None, ..., ::-2]),
    ("getitem-int-array-repeats", lambda x: x[np.array([0, 0, 1, 0])], X234, lambda x: x[np.array([0, 0, 1, 0])]),
    ("getitem-list-repeats", lambda x: x[[2, 0, 2, 2]], rnd((3, 4), 3), lambda x: x[[2, 0, 2, 2]]),
    ("getitem-int-arrays-pair", lambda x: x[np.array([1, 1, 0]), np.array([2, 2, 3])], rnd((3, 4), 3), lambda x: x[np.array([1, 1, 0]), np.array([2, 2, 3])]),
    ("getitem-slice-and-array", lambda x: x[:, [3, 0, 3]], rnd((3, 4), 3), lambda x: x[:, [3, 0, 3]]),
    ("getitem-2d-int-array", lambda x: x[np.array([[0, 1], [1, 1]])], rnd((3, 4), 3), lambda x: x[np.array([[0, 1], [1, 1]])]),
    ("getitem-bool-mask-full", lambda x: x[np.arange(12).reshape(3, 4) % 3 == 0], rnd((3, 4), 3), lambda x: x[np.arange(12).reshape(3, 4) % 3 == 0]),
    ("getitem-bool-mask-rows", lambda x: x[np.array([True, False, True])], rnd((3, 4), 3), lambda x: x[np.array([True, False, True])]),
    ("getitem-0d", lambda x: x[()], rnd((), 3), lambda x: x[()]),
    ("getitem-0d-ellipsis", lambda x: x[...] * 1.0, rnd((), 3), lambda x: x[...] * 1.0),
    # broadcast_to
    ("broadcast_to-4-to-3x4", lambda x: ag.broadcast_to(x, (3, 4)), rnd((4,), 4), lambda x: np.broadcast_to(x, (3, 4))),
    ("broadcast_to-3x1-to-2x3x4", lambda x: ag.broadcast_to(x, (2, 3, 4)), rnd((3, 1), 4), lambda x: np.broadcast_to(x, (2, 3, 4))),
    ("broadcast_to-0d-to-2x3", lambda x: ag.broadcast_to(x, (2, 3)), rnd((), 4), lambda x: np.broadcast_to(x, (2, 3))),
    ("broadcast_to-1-to-5", lambda x: ag.broadcast_to(x, (5,)), rnd((1,), 4), lambda x: np.broadcast_to(x, (5,))),
    ("broadcast_to-same", lambda x: ag.broadcast_to(x, (2, 3)), rnd((2, 3), 4), lambda x: np.broadcast_to(x, (2, 3))),
]
for name, f, x, ref in SHAPE_CASES:
    CASES.append(Case(name, f, (x,), ref))

MULTI_SHAPE_CASES = [
    ("concatenate-axis0", lambda a, b: ag.concatenate([a, b]), (rnd((2, 3), 1), rnd((4, 3), 2)), lambda a, b: np.concatenate([a, b])),
    ("concatenate-axis1", lambda a, b: ag.concatenate([a, b], axis=1), (rnd((2, 3), 1), rnd((2, 1), 2)), lambda a, b: np.concatenate([a, b], axis=1)),
    ("concatenate-axis-1-three", lambda a, b, c: ag.concatenate((a, b, c), axis=-1), (rnd((2, 2, 1), 1), rnd((2, 2, 3), 2), rnd((2, 2, 2), 3)), lambda a, b, c: np.concatenate((a, b, c), axis=-1)),
    ("concatenate-same-twice", lambda a: ag.concatenate([a, a * 2.0, a]), (rnd((3,), 1),), lambda a: np.concatenate([a, a * 2.0, a])),
    ("concatenate-one", lambda a: ag.concatenate([a], axis=1), (rnd((2, 3), 1),), lambda a: np.concatenate([a], axis=1)),
    ("stack-axis0", lambda a, b: ag.stack([a, b]), (rnd((2, 3), 1), rnd((2, 3), 2)), lambda a, b: np.stack([a, b])),
    ("stack-axis1", lambda a, b: ag.stack([a, b], axis=1), (rnd((2, 3), 1), rnd((2, 3), 2)), lambda a, b: np.stack([a, b], axis=1)),
    ("stack-axis-1-three", lambda a, b, c: ag.stack((a, b, c), axis=-1), (rnd((2, 3), 1), rnd((2, 3), 2), rnd((2, 3), 3)), lambda a, b, c: np.stack((a, b, c), axis=-1)),
    ("stack-0d", lambda a, b: ag.stack([a, b]), (rnd((), 1), rnd((), 2)), lambda a, b: np.stack([a, b])),
    ("stack-same-twice", lambda a: ag.stack([a, -a, a], axis=1), (rnd((3,), 1),), lambda a: np.stack([a, -a, a], axis=1)),
]
for name, f, arrays, ref in MULTI_SHAPE_CASES:
    CASES.append(Case(name, f, arrays, ref))

# --- linear algebra -------------------------------------------------------------------

MATMUL_SHAPES = [
    ((4,), (4,)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((3, 4), (4, 2)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4, 2)),
    ((3, 4), (2, 4, 2)),
    ((1, 3, 4), (2, 1, 4, 2)),
]
for i, (sa, sb) in enumerate(MATMUL_SHAPES):
    a, b = rnd(sa, 20 + i), rnd(sb, 40 + i)
    CASES.append(Case(f"matmul-op-{sid(sa)}@{sid(sb)}", lambda a, b: a @ b, (a, b), np.matmul))
    CASES.append(Case(f"ag.matmul-{sid(sa)}@{sid(sb)}", ag.matmul, (a, b), np.matmul))
CASES.append(Case("matmul-same-operand", lambda a: a @ a, (rnd((3, 3), 5),), lambda a: a @ a))
for sx, sw in (((4, 3), (3, 5)), ((1, 2), (2, 1))):
    CASES.append(Case(f"affine-{sid(sx)}@{sid(sw)}", ag.affine, (rnd(sx, 1), rnd(sw, 2), rnd(sw[1:], 3)),
                      lambda x, w, b: x @ w + b))

TENSORDOT = [
    ((3, 4), (4, 5), 1),
    ((2, 3, 4), (3, 4, 2), 2),
    ((2, 3), (4,), 0),
    ((2, 3), (2, 3), 2),
    ((2, 3, 4), (4, 3, 2), ([1, 2], [1, 0])),
    ((2, 3, 4), (4, 2), ([-1], [0])),
    ((2, 3, 4), (3, 2), ([0, -2], [-1, 0])),
    ((3, 4), (4, 3), (1, 0)),
]
for i, (sa, sb, axes) in enumerate(TENSORDOT):
    CASES.append(Case(f"tensordot-{sid(sa)}-{sid(sb)}-axes={axes}", lambda a, b, axes=axes: ag.tensordot(a, b, axes), (rnd(sa, i), rnd(sb, 9 + i)), lambda a, b, axes=axes: np.tensordot(a, b, axes)))

# --- neural-net functions ---------------------------------------------------------------


def np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


for shape, axis in [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((3, 4), 1), ((2, 3, 4), 1), ((2, 3, 4), -3)]:
    x = rnd(shape, 30) * 2
    CASES.append(Case(f"softmax-{sid(shape)}-axis={axis}", lambda x, a=axis: ag.softmax(x, axis=a), (x,), lambda x, a=axis: np_softmax(x, a)))
    CASES.append(Case(f"log_softmax-{sid(shape)}-axis={axis}", lambda x, a=axis: ag.log_softmax(x, axis=a), (x,), lambda x, a=axis: np.log(np_softmax(x, a))))
CASES.append(Case("softmax-default-axis", ag.softmax, (rnd((3, 4), 31),), np_softmax))
CASES.append(Case("log_softmax-default-axis", ag.log_softmax, (rnd((3, 4), 31),), lambda x: np.log(np_softmax(x))))
for shape, axis, keepdims in [((5,), None, False), ((3, 4), None, True), ((3, 4), 0, False), ((3, 4), -1, True), ((2, 3, 4), (0, 2), False), ((2, 3, 4), 1, True), ((), None, False)]:
    x = rnd(shape, 32)
    CASES.append(Case(f"logsumexp-{sid(shape)}-axis={axis}-keepdims={keepdims}", lambda x, a=axis, k=keepdims: ag.logsumexp(x, axis=a, keepdims=k), (x,), lambda x, a=axis, k=keepdims: np_logsumexp(x, a, k)))


def np_cross_entropy(logits, targets):
    log_p = np.log(np_softmax(logits))
    if np.shape(targets) == np.shape(logits):
        return -np.sum(targets * log_p) / (log_p.size // log_p.shape[-1])
    picked = np.take_along_axis(log_p, np.asarray(targets)[..., None], axis=-1)
    return -np.mean(picked)


LABELS_4 = np.array([2, 0, 4, 2])
LABELS_23 = np.array([[0, 3, 1], [1, 1, 2]])
ONE_HOT = np.eye(5)[LABELS_4]
SOFT = np_softmax(rnd((4, 5), 33))
CASES += [
    Case("cross_entropy-int-labels", lambda z: ag.cross_entropy(z, LABELS_4), (rnd((4, 5), 34),), lambda z: np_cross_entropy(z, LABELS_4)),
    Case("cross_entropy-int-labels-batch-2x3", lambda z: ag.cross_entropy(z, LABELS_23), (rnd((2, 3, 4), 35),), lambda z: np_cross_entropy(z, LABELS_23)),
    Case("cross_entropy-single-example-0d-label", lambda z: ag.cross_entropy(z, np.array(3)), (rnd((5,), 36),), lambda z: np_cross_entropy(z, np.array(3))),
    Case("cross_entropy-list-labels", lambda z: ag.cross_entropy(z, [1, 0, 2]), (rnd((3, 3), 37),), lambda z: np_cross_entropy(z, np.array([1, 0, 2]))),
    Case("cross_entropy-one-hot-both-grads", ag.cross_entropy, (rnd((4, 5), 38), ONE_HOT), np_cross_entropy),
    Case("cross_entropy-soft-both-grads", ag.cross_entropy, (rnd((4, 5), 39), SOFT), np_cross_entropy),
    Case("cross_entropy-soft-batch-2x3", ag.cross_entropy, (rnd((2, 3, 4), 40), np_softmax(rnd((2, 3, 4), 41))), np_cross_entropy),
    Case("mse_loss-3x4", ag.mse_loss, (rnd((3, 4), 42), rnd((3, 4), 43)), lambda p, t: np.mean((p - t) ** 2)),
    Case("mse_loss-1d", ag.mse_loss, (rnd((5,), 42), rnd((5,), 43)), lambda p, t: np.mean((p - t) ** 2)),
    Case("mse_loss-0d", ag.mse_loss, (rnd((), 42), rnd((), 43)), lambda p, t: (p - t) ** 2),
    Case("bce_with_logits-1d", ag.binary_cross_entropy_with_logits, (rnd((6,), 44) * 3, rnd((6,), 45, 0, 1)), lambda z, y: np.mean(np.logaddexp(0, z) - z * y)),
    Case("bce_with_logits-2x3", ag.binary_cross_entropy_with_logits, (rnd((2, 3), 46) * 3, (rnd((2, 3), 47) > 0) * 1.0), lambda z, y: np.mean(np.logaddexp(0, z) - z * y)),
]

# --- compositions (several nodes, shared inputs) -------------------------------------------

CASES += [
    Case("chain-mlp", lambda x, w, b: ag.tanh(x @ w + b).sum(axis=1).mean(), (rnd((4, 3), 50), rnd((3, 5), 51), rnd((5,), 52)), lambda x, w, b: np.tanh(x @ w + b).sum(axis=1).mean()),
    Case("chain-reuse", lambda x: ag.exp(x * x).sum() + ag.sin(x).mean() * x[0, 1], (rnd((2, 3), 53, -1, 1),), lambda x: np.exp(x * x).sum() + np.sin(x).mean() * x[0, 1]),
    Case("chain-softmax-attention", lambda q, k: ag.softmax(q @ k.T / 2.0) @ k, (rnd((3, 4), 54), rnd((5, 4), 55)), lambda q, k: np_softmax(q @ k.T / 2.0) @ k),
    Case("chain-normalize", lambda x: (x - x.mean(axis=0, keepdims=True)) / ag.sqrt((x * x).mean(axis=0) + 1.0), (rnd((4, 3), 56),), lambda x: (x - x.mean(axis=0, keepdims=True)) / np.sqrt((x * x).mean(axis=0) + 1.0)),
]

CASE_IDS = [c.id for c in CASES]
assert len(set(CASE_IDS)) == len(CASE_IDS), "duplicate case ids"


# --- the checks ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_value_and_reverse_jacobian_match_finite_differences(case):
    out = case.f(*[ag.Variable(a) for a in case.arrays])
    assert out.dtype == np.float64
    if case.ref is not None:
        expected = case.ref(*case.arrays)
        assert np.shape(out.value) == np.shape(expected)
        np.testing.assert_allclose(out.value, expected, rtol=1e-12, atol=1e-12)
    check_reverse_against_finite_differences(case.f, case.arrays)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradcheck_passes(case):
    report = ag.gradcheck(case.f, *case.arrays)
    assert report.passed


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_forward_mode_matches_reverse_mode(case):
    reverse = reverse_jacobians(case.f, *case.arrays)
    check_forward_against_reverse(case.f, case.arrays, reverse)
    check_jvp(case.f, case.arrays, reverse)


@pytest.mark.parametrize("axis,expected", [(None, [[0, 1 / 3, 1 / 3], [0, 1 / 3, 0]]), (1, [[0, 0.5, 0.5], [0, 1, 0]]), (0, [[0.5, 0.5, 1], [0.5, 0.5, 0]])], ids=["all", "axis1", "axis0"])
def test_max_ties_share_the_gradient_equally(axis, expected):
    """At a tie max is not differentiable; the engine documents sharing the gradient equally."""
    x = ag.Variable(np.array([[1.0, 3.0, 3.0], [1.0, 3.0, 2.0]]))
    x.max(axis=axis).sum().backward()
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)
    f = lambda v: v.max(axis=axis)
    np.testing.assert_allclose(ag.jacobian(f, x.value, mode="forward"), ag.jacobian(f, x.value, mode="reverse"), rtol=1e-12)


def test_gradcheck_catches_a_wrong_backward():
    """The checks above can fail: a deliberately wrong derivative is caught."""

    class WrongSin(ag.Operation):
        def forward(self, x):
            self.x = x
            return np.sin(x)

        def backward(self, grad):
            return (grad * np.cos(self.x) * 1.001,)

        def jvp(self, t):
            return np.cos(self.x) * t

    x = rnd((3,), 0)
    with pytest.raises(ag.GradcheckError):
        ag.gradcheck(lambda v: WrongSin()(v), x)
    with pytest.raises(AssertionError):
        check_reverse_against_finite_differences(lambda v: WrongSin()(v), (x,))
    with pytest.raises(AssertionError):
        check_forward_against_reverse(lambda v: WrongSin()(v), (x,), reverse_jacobians(lambda v: WrongSin()(v), x))


# --- dtypes ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float32_inputs_give_float32_values_and_grads(case):
    """Every case uses only its inputs, Python numbers and integer arrays, so float32 must stay float32."""
    inputs = [ag.Variable(np.asarray(a, dtype=np.float32)) for a in case.arrays]
    assert all(v.dtype == np.float32 for v in inputs)
    out = case.f(*inputs)
    assert out.dtype == np.float32, f"{case.id}: output dtype {out.dtype}"
    out.backward(np.ones(np.shape(out.value), dtype=np.float32))
    for k, v in enumerate(inputs):
        assert v.grad is not None, f"input {k} got no gradient"
        assert v.grad.dtype == np.float32, f"input {k}: grad dtype {v.grad.dtype}"
        assert v.grad.shape == v.shape
    if case.ref is not None:
        expected = case.ref(*[np.asarray(a, dtype=np.float64) for a in case.arrays])
        np.testing.assert_allclose(out.value, expected, rtol=1e-4, atol=1e-5)


def test_float32_chain_stays_float32_and_matches_float64():
    rng = np.random.default_rng(0)
    x64, w64, b64 = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    labels = np.array([0, 3, 1, 2, 3])

    def loss(x, w, b):
        h = ag.relu(x @ w + b) * 0.5 + ag.sigmoid(x @ w) ** 2 - 1.0
        h = ag.concatenate([h, ag.exp(-h.max(axis=1, keepdims=True))], axis=1)[:, :4]
        h = h / (1.0 + ag.abs(h).mean()) + ag.log(ag.sqrt(b * b + 1.0))
        h = ag.einsum("ij,j->ij", ag.tanh(h), ag.cos(b)) + ag.sin(h).T.T
        return ag.cross_entropy(h, labels) + ag.softmax(h).sum() * 0.1 + h.reshape(-1)[::3].mean()

    results = {}
    for dtype in (np.float32, np.float64):
        xs = [ag.Variable(a.astype(dtype)) for a in (x64, w64, b64)]
        out = loss(*xs)
        assert out.dtype == dtype
        out.backward()
        for v in xs:
            assert v.grad.dtype == dtype
        results[dtype] = (out.value, [v.grad for v in xs])
    np.testing.assert_allclose(results[np.float32][0], results[np.float64][0], rtol=1e-4)
    for g32, g64 in zip(results[np.float32][1], results[np.float64][1]):
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "expr",
    [
        lambda x: x + 1.5, lambda x: 1.5 + x, lambda x: x - 0.1, lambda x: 0.1 - x, lambda x: x * 3.0, lambda x: 3.0 * x,
        lambda x: x / 7.0, lambda x: 7.0 / x, lambda x: x**2.0, lambda x: 2.0**x, lambda x: x**2, lambda x: x + 1,
        lambda x: ag.add(x, 0.25), lambda x: ag.multiply(2.5, x), lambda x: ag.power(x, 0.5), lambda x: ag.divide(1.0, x),
        lambda x: ag.subtract(0.5, x), lambda x: ag.stack([x, 2.0 * x]), lambda x: ag.concatenate([x, x + 0.5]),
        lambda x: ag.einsum("i,i->", x, x), lambda x: ag.mse_loss(x, x * 0.5),
    ],
    ids=[
        "x+1.5", "1.5+x", "x-0.1", "0.1-x", "x*3.0", "3.0*x", "x/7.0", "7.0/x", "x**2.0", "2.0**x", "x**2", "x+1",
        "ag.add", "ag.multiply", "ag.power", "ag.divide", "ag.subtract", "stack", "concatenate", "einsum", "mse_loss",
    ],
)
def test_python_numbers_keep_float32(expr):
    x = ag.Variable(np.array([0.5, 1.25, 2.0], dtype=np.float32))
    out = expr(x)
    assert out.dtype == np.float32
    out.backward(np.ones(np.shape(out.value), dtype=np.float32))
    assert x.grad.dtype == np.float32


# --- ndarray on the left of an operator --------------------------------------------------

NDARRAY_LEFT = {
    "+": (lambda a, x: a + x, lambda a, x: np.ones_like(x) + 0 * a),
    "-": (lambda a, x: a - x, lambda a, x: -np.ones_like(x) + 0 * a),
    "*": (lambda a, x: a * x, lambda a, x: a),
    "/": (lambda a, x: a / x, lambda a, x: -a / x**2),
    "**": (lambda a, x: a**x, lambda a, x: a**x * np.log(a)),
}


@pytest.mark.parametrize("op", list(NDARRAY_LEFT), ids=list(NDARRAY_LEFT))
@pytest.mark.parametrize("a_shape,x_shape", [((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((), (3,))], ids=["same", "left-bigger", "right-bigger", "0d-left"])
def test_ndarray_on_the_left_returns_a_variable(op, a_shape, x_shape):
    f, derivative = NDARRAY_LEFT[op]
    a = positive(a_shape, 1)
    x_value = positive(x_shape, 2)
    x = ag.Variable(x_value)
    out = f(a, x)
    assert isinstance(out, ag.Variable), f"ndarray {op} Variable gave {type(out).__name__}"
    np.testing.assert_allclose(out.value, f(a, x_value), rtol=1e-12)
    out.sum().backward()
    expected = np.broadcast_to(derivative(a, x_value), np.broadcast_shapes(a_shape, x_shape))
    expected = expected.sum(axis=tuple(range(expected.ndim - len(x_shape))))
    np.testing.assert_allclose(x.grad, expected, rtol=1e-10)
    ag.gradcheck(lambda v: f(a, v), x_value)


@pytest.mark.parametrize("a_shape,x_shape", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 2))], ids=["1d@1d", "2d@1d", "1d@2d", "2d@2d", "3d@2d"])
def test_ndarray_matmul_on_the_left_returns_a_variable(a_shape, x_shape):
    a, x_value = rnd(a_shape, 3), rnd(x_shape, 4)
    x = ag.Variable(x_value)
    out = a @ x
    assert isinstance(out, ag.Variable)
    np.testing.assert_allclose(out.value, a @ x_value, rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, ag.numerical_gradient(lambda v: (a @ v).sum(), x_value), rtol=1e-6, atol=1e-8)
    ag.gradcheck(lambda v: a @ v, x_value)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
def test_float32_ndarray_on_the_left(op):
    f, _ = NDARRAY_LEFT[op]
    a = np.array([1.5, 2.0], dtype=np.float32)
    x = ag.Variable(np.array([0.5, 1.5], dtype=np.float32))
    out = f(a, x)
    assert isinstance(out, ag.Variable) and out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


# --- property-based tests ----------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


def float_arrays(shape, low=-2.0, high=2.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False))


def nonzero_arrays(shape):
    magnitudes = st.floats(0.2, 2.0)
    return hnp.arrays(np.float64, shape, elements=st.one_of(magnitudes, magnitudes.map(lambda v: -v)))


def distinct_arrays(shape):
    """Entries at least 0.05 apart: max is differentiable there and finite differences see it."""
    return hnp.arrays(np.int64, shape, elements=st.integers(-60, 60), unique=True).map(lambda a: a * 0.05)


ELEMENTWISE_PROPERTY = {
    "exp": (ag.exp, float_arrays),
    "log": (ag.log, lambda s: float_arrays(s, 0.2, 3.0)),
    "sqrt": (ag.sqrt, lambda s: float_arrays(s, 0.2, 3.0)),
    "sin": (ag.sin, float_arrays),
    "cos": (ag.cos, float_arrays),
    "tanh": (ag.tanh, float_arrays),
    "sigmoid": (ag.sigmoid, lambda s: float_arrays(s, -10, 10)),
    "relu": (ag.relu, nonzero_arrays),
    "abs": (ag.abs, nonzero_arrays),
    "neg": (lambda x: -x, float_arrays),
    "square": (lambda x: x**2, float_arrays),
    "reciprocal": (lambda x: 1.0 / x, nonzero_arrays),
}


@PROPERTY_SETTINGS
@given(data=st.data(), name=st.sampled_from(sorted(ELEMENTWISE_PROPERTY)), shape=SHAPES)
def test_property_elementwise_gradcheck(data, name, shape):
    f, strategy = ELEMENTWISE_PROPERTY[name]
    x = data.draw(strategy(shape), label="x")
    ag.gradcheck(f, x)
    reverse = reverse_jacobians(f, x)
    np.testing.assert_allclose(ag.jacobian(f, x, mode="forward"), reverse[0], atol=1e-10, rtol=1e-8)


BINARY_PROPERTY = {
    "add": (lambda a, b: a + b, float_arrays, float_arrays),
    "sub": (lambda a, b: a - b, float_arrays, float_arrays),
    "mul": (lambda a, b: a * b, float_arrays, float_arrays),
    "div": (lambda a, b: a / b, float_arrays, nonzero_arrays),
    "pow": (lambda a, b: a**b, lambda s: float_arrays(s, 0.3, 2.5), lambda s: float_arrays(s, -2, 2)),
}


@PROPERTY_SETTINGS
@given(data=st.data(), name=st.sampled_from(sorted(BINARY_PROPERTY)), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_property_broadcasting_binary_gradcheck(data, name, shapes):
    f, first, second = BINARY_PROPERTY[name]
    a = data.draw(first(shapes.input_shapes[0]), label="a")
    b = data.draw(second(shapes.input_shapes[1]), label="b")
    out = f(ag.Variable(a), ag.Variable(b))
    assert out.shape == shapes.result_shape
    ag.gradcheck(f, a, b)
    check_jvp(f, (a, b), reverse_jacobians(f, a, b))


@st.composite
def array_and_axis(draw):
    shape = draw(SHAPES)
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none" or ndim == 0:
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
        axis = tuple(draw(st.sampled_from([a, a - ndim])) for a in axes)  # mix negative axes in
    keepdims = draw(st.booleans())
    x = draw(distinct_arrays(shape))
    return x, axis, keepdims


@PROPERTY_SETTINGS
@given(name=st.sampled_from(["sum", "mean", "max", "logsumexp"]), xak=array_and_axis())
def test_property_reductions_gradcheck(name, xak):
    x, axis, keepdims = xak
    if name == "logsumexp":
        f = lambda v: ag.logsumexp(v, axis=axis, keepdims=keepdims)
        expected = np_logsumexp(x, axis=axis, keepdims=keepdims)
    else:
        f = lambda v: getattr(v, name)(axis=axis, keepdims=keepdims)
        expected = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    out = f(ag.Variable(x))
    assert np.shape(out.value) == np.shape(expected)
    np.testing.assert_allclose(out.value, expected, rtol=1e-12, atol=1e-12)
    ag.gradcheck(f, x)
    np.testing.assert_allclose(ag.jacobian(f, x, mode="forward"), ag.jacobian(f, x, mode="reverse"), atol=1e-10, rtol=1e-8)


@PROPERTY_SETTINGS
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), which=st.sampled_from(["softmax", "log_softmax"]))
def test_property_softmax_gradcheck(data, shape, which):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    x = data.draw(float_arrays(shape, -5, 5), label="x")
    f = lambda v: getattr(ag, which)(v, axis=axis)
    expected = np_softmax(x, axis)
    np.testing.assert_allclose(f(ag.Variable(x)).value, expected if which == "softmax" else np.log(expected), rtol=1e-10, atol=1e-12)
    ag.gradcheck(f, x)
