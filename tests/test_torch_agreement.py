"""mini_autograd agrees with PyTorch (float64) on values and on every leaf gradient.

The main test draws random expression DAGs with hypothesis: 1-4 leaf arrays of shapes that
broadcast against each other, then a few steps that each apply a random operation to nodes
computed before (nodes are reused, so gradients must accumulate). The same program is run
once with mini_autograd and once with torch; the final node is reduced with ``.sum()``,
both sides call backward, and every node value and every leaf gradient is compared.

Further tests compare the losses with ``torch.nn.functional`` (also at logits of +-1000),
batched / broadcast matmul and einsum with random shapes, transpose with every permutation,
tensordot, and the conventions at kinks (ties in max, relu and abs at 0).

Two precautions keep the comparison meaningful rather than flaky:
* values are kept in a moderate range: a step whose result exceeds ``LIMIT`` in absolute
  value is multiplied by a constant (recorded in the program) that brings it back;
* max, relu and abs are only applied where the derivative is unambiguous (no near-ties,
  no inputs near 0), because torch and numpy may round the same mathematical value to
  neighbouring floats; exact ties and exact zeros have dedicated tests below.
"""

from __future__ import annotations

import itertools
import operator
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mini_autograd as ag

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.torch

RTOL = 1e-7
LEAF_SHAPES = [(3, 4), (4,), (1, 4), (3, 1), (), (2, 3, 4)]
MAX_SIZE = 48  # no node holds more values than this
LIMIT = 20.0  # nodes are rescaled into [-LIMIT, LIMIT]
GRAPH_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# --- comparing -----------------------------------------------------------------------


def assert_close(actual, expected, what: str) -> None:
    """Same shape, float64, and equal to rtol (plus an absolute floor scaled to the array)."""
    expected = np.asarray(expected)
    assert actual is not None, f"{what}: mini_autograd gave None, torch gave an array of shape {expected.shape}"
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, torch has {expected.shape}"
    assert actual.dtype == np.float64, f"{what}: dtype {actual.dtype}, expected float64"
    assert np.all(np.isfinite(actual)), f"{what}: not finite: {actual}"
    scale = 1.0 + (float(np.max(np.abs(expected))) if expected.size else 0.0)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-9 * scale, err_msg=what)


def tensor(array, requires_grad=False):
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=requires_grad)


# --- two interpreters of the same program --------------------------------------------


def _index_tuple(spec, make_array):
    """The index a spec stands for; integer and boolean arrays are made by ``make_array``."""
    kind = spec[0]
    if kind == "int":
        _, axis, i = spec
        return (slice(None),) * axis + (i,)
    if kind == "slice":
        _, axis, start, stop, step = spec
        return (slice(None),) * axis + (slice(start, stop, step),)
    if kind == "ellipsis_int":
        return (Ellipsis, spec[1])
    if kind == "newaxis":
        return (slice(None),) * spec[1] + (None,)
    if kind == "array":
        _, axis, positions = spec
        return (slice(None),) * axis + (make_array(positions),)
    if kind == "pairs":
        return (make_array(spec[1]), make_array(spec[2]))
    if kind == "array_then_slice":
        _, positions, start, stop = spec
        return (make_array(positions), slice(start, stop))
    if kind == "mask":
        return make_array(spec[1])
    raise AssertionError(kind)


class AgBackend:
    name = "mini_autograd"

    @staticmethod
    def leaf(array):
        return ag.Variable(array)

    @staticmethod
    def c(value):
        return value  # Python numbers, numpy scalars and ndarrays are used as they are

    exp, log, sqrt, sin, cos = (staticmethod(f) for f in (ag.exp, ag.log, ag.sqrt, ag.sin, ag.cos))
    tanh, sigmoid, relu, abs = (staticmethod(f) for f in (ag.tanh, ag.sigmoid, ag.relu, ag.abs))

    @staticmethod
    def sum(x, axis, keepdims):
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def mean(x, axis, keepdims):
        return ag.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def max(x, axis, keepdims):
        return x.max(axis=axis, keepdims=keepdims)

    @staticmethod
    def reshape(x, shape):
        return x.reshape(shape)

    @staticmethod
    def transpose(x, perm):
        return x.T if perm is None else x.transpose(*perm)

    @staticmethod
    def broadcast_to(x, shape):
        return ag.broadcast_to(x, shape)

    @staticmethod
    def index(x, spec):
        return x[_index_tuple(spec, np.array)]

    @staticmethod
    def einsum(subscripts, *xs):
        return ag.einsum(subscripts, *xs)

    @staticmethod
    def softmax(x, axis):
        return ag.softmax(x, axis=axis)

    @staticmethod
    def log_softmax(x, axis):
        return ag.log_softmax(x, axis=axis)

    @staticmethod
    def logsumexp(x, axis, keepdims):
        return ag.logsumexp(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def concatenate(xs, axis):
        return ag.concatenate(xs, axis=axis)

    @staticmethod
    def stack(xs, axis):
        return ag.stack(xs, axis=axis)

    @staticmethod
    def value(x):
        return np.asarray(x.value)

    @staticmethod
    def grad(leaf):
        return leaf.grad


def _dims(x, axis):
    return tuple(range(x.ndim)) if axis is None else axis


class TorchBackend:
    name = "torch"

    @staticmethod
    def leaf(array):
        return tensor(array, requires_grad=True)

    @staticmethod
    def c(value):
        if isinstance(value, np.ndarray):
            return torch.from_numpy(value.copy())  # float64 or int64, as in numpy
        if isinstance(value, np.generic):
            return value.item()
        return value

    exp, log, sqrt, sin, cos = (staticmethod(f) for f in (torch.exp, torch.log, torch.sqrt, torch.sin, torch.cos))
    tanh, sigmoid, relu, abs = (staticmethod(f) for f in (torch.tanh, torch.sigmoid, torch.relu, torch.abs))

    @staticmethod
    def sum(x, axis, keepdims):
        return torch.sum(x, dim=_dims(x, axis), keepdim=keepdims)

    @staticmethod
    def mean(x, axis, keepdims):
        return torch.mean(x, dim=_dims(x, axis), keepdim=keepdims)

    @staticmethod
    def max(x, axis, keepdims):
        return torch.amax(x, dim=_dims(x, axis), keepdim=keepdims)

    @staticmethod
    def reshape(x, shape):
        return x.reshape(shape)

    @staticmethod
    def transpose(x, perm):
        return x.permute(*reversed(range(x.ndim))) if perm is None else x.permute(*perm)

    @staticmethod
    def broadcast_to(x, shape):
        return torch.broadcast_to(x, shape)

    @staticmethod
    def index(x, spec):
        kind = spec[0]
        if kind == "slice" and spec[4] < 0:  # torch has no negative steps: select the same positions
            _, axis, start, stop, step = spec
            positions = np.arange(x.shape[axis])[start:stop:step].copy()
            return torch.index_select(x, axis, torch.from_numpy(positions))
        if kind == "array":  # one integer array on one axis: index_select (which needs positions >= 0)
            _, axis, positions = spec
            positions = np.asarray(positions) % x.shape[axis]
            return torch.index_select(x, axis, torch.from_numpy(positions))
        return x[_index_tuple(spec, lambda a: torch.from_numpy(np.asarray(a)))]

    @staticmethod
    def einsum(subscripts, *xs):
        return torch.einsum(subscripts, *xs)

    @staticmethod
    def softmax(x, axis):
        return torch.softmax(x, dim=axis)

    @staticmethod
    def log_softmax(x, axis):
        return torch.log_softmax(x, dim=axis)

    @staticmethod
    def logsumexp(x, axis, keepdims):
        return torch.logsumexp(x, dim=_dims(x, axis), keepdim=keepdims)

    @staticmethod
    def concatenate(xs, axis):
        return torch.cat(list(xs), dim=axis)

    @staticmethod
    def stack(xs, axis):
        return torch.stack(list(xs), dim=axis)

    @staticmethod
    def value(x):
        return x.detach().numpy()

    @staticmethod
    def grad(leaf):
        return None if leaf.grad is None else leaf.grad.numpy()


# --- the operations a program step can apply -----------------------------------------

ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _positive(B, x, kind):
    """An expression of x that is > 0 (and, for denominators, >= 1/e)."""
    if kind == "1+x*x":
        return 1.0 + x * x
    if kind == "x*x+0.25":
        return x * x + 0.25
    if kind == "exp(tanh)":
        return B.exp(B.tanh(x))
    if kind == "2-tanh":
        return 2.0 - B.tanh(x)
    if kind == "sigmoid":
        return B.sigmoid(x)
    if kind == "abs+0.5":
        return B.abs(x) + 0.5
    raise AssertionError(kind)


def op_binary(B, a, b, op):
    return ARITHMETIC[op](a, b)


def op_div(B, a, b, denominator):
    return a / _positive(B, b, denominator)


def op_const_over(B, b, const, denominator):
    return B.c(const) / _positive(B, b, denominator)


def op_const(B, a, op, side, const):
    c = B.c(const)
    return ARITHMETIC[op](c, a) if side == "left" else ARITHMETIC[op](a, c)


def op_pow(B, a, exponent, base):
    base_value = a if base == "x" else a * a + 0.5
    return base_value ** B.c(exponent)


def op_rpow(B, a, base):
    return B.c(base) ** a


def op_pow_nodes(B, a, b):
    return (B.sigmoid(a) + 0.5) ** b


def op_neg(B, a):
    return -a


def op_unary(B, a, fn):
    return getattr(B, fn)(a)


def op_exp(B, a):
    return B.exp(B.tanh(a))


def op_log(B, a, argument):
    return B.log(_positive(B, a, argument))


def op_sqrt(B, a, argument):
    return B.sqrt(_positive(B, a, argument))


def op_reduce(B, a, fn, axis, keepdims):
    return getattr(B, fn)(a, axis, keepdims)


def op_softmax(B, a, fn, axis):
    return getattr(B, fn)(a, axis)


def op_logsumexp(B, a, axis, keepdims):
    return B.logsumexp(a, axis, keepdims)


def op_reshape(B, a, shape):
    return B.reshape(a, shape)


def op_transpose(B, a, perm):
    return B.transpose(a, perm)


def op_broadcast_to(B, a, shape):
    return B.broadcast_to(a, shape)


def op_getitem(B, a, spec):
    return B.index(a, spec)


def op_matmul(B, a, b):
    return a @ b


def op_matmul_const(B, a, const, side):
    c = B.c(const)
    return c @ a if side == "left" else a @ c


def op_einsum(B, *xs, subscripts):
    return B.einsum(subscripts, *xs)


def op_concatenate(B, *xs, axis, const=None, const_position=0):
    pieces = list(xs)
    if const is not None:
        pieces.insert(const_position, B.c(const))
    return B.concatenate(pieces, axis)


def op_stack(B, *xs, axis):
    return B.stack(xs, axis)


OPS = {
    name[3:]: f
    for name, f in list(globals().items())
    if name.startswith("op_") and callable(f)
}


class Step(NamedTuple):
    op: str
    args: tuple  # indices of earlier nodes
    params: dict
    scale: float | None = None  # multiply the result by this constant (keeps values moderate)

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        args = ", ".join(f"v{i}" for i in self.args)
        text = f"{self.op}({args}{', ' if args and params else ''}{params})"
        return text if self.scale is None else f"{text} * {self.scale!r}"


def apply_step(B, nodes, step: Step):
    result = OPS[step.op](B, *(nodes[i] for i in step.args), **step.params)
    return result if step.scale is None else result * step.scale


class Program(NamedTuple):
    leaves: list
    steps: list

    @property
    def uses(self) -> list[int]:
        counts = [0] * (len(self.leaves) + len(self.steps))
        for step in self.steps:
            for i in step.args:
                counts[i] += 1
        return counts

    @property
    def dangling(self) -> list[int]:
        """Nodes no step uses (besides the last): they are added to the output so that every
        leaf gets a gradient."""
        uses = self.uses
        return [i for i in range(len(uses) - 1) if uses[i] == 0]

    @property
    def reuses(self) -> bool:
        return max(self.uses) >= 2

    def __repr__(self):
        lines = ["Program:"]
        for i, leaf in enumerate(self.leaves):
            lines.append(f"  v{i} = leaf(shape={leaf.shape}) = {np.array2string(leaf, precision=17)}")
        for k, step in enumerate(self.steps):
            lines.append(f"  v{len(self.leaves) + k} = {step!r}")
        extra = "".join(f" + v{i}.sum()" for i in self.dangling)
        square = "" if self.reuses else " + (v0 * v0).sum()"
        lines.append(f"  output = v{len(self.leaves) + len(self.steps) - 1}.sum(){extra}{square}")
        return "\n".join(lines)


def run(program: Program, B):
    leaves = [B.leaf(array) for array in program.leaves]
    nodes = list(leaves)
    for step in program.steps:
        nodes.append(apply_step(B, nodes, step))
    output = nodes[-1].sum()
    for i in program.dangling:
        output = output + nodes[i].sum()
    if not program.reuses:  # make sure some gradient accumulates
        output = output + (nodes[0] * nodes[0]).sum()
    return leaves, nodes, output


# --- generating programs ---------------------------------------------------------------


def _broadcastable(*shapes) -> bool:
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


def _matmul_shape(a, b):
    try:
        return np.matmul(np.zeros(a), np.zeros(b)).shape
    except ValueError:
        return None


def small_floats(low=-2.0, high=2.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def leaf_floats():
    """Mostly values of moderate size (so that relu, abs and max have clear branches), some
    round ones (exact zeros and ties), rarely tiny ones."""
    moderate = st.floats(0.05, 2.0).flatmap(lambda x: st.sampled_from([x, -x]))
    return st.one_of(moderate, st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.0]), small_floats())


def float_arrays(shape, elements=None):
    """Arrays whose elements are drawn one by one (no repeated fill value)."""
    elements = elements if elements is not None else leaf_floats()
    return hnp.arrays(np.float64, shape, elements=elements, fill=st.nothing())


def _node(draw, vals, where=lambda v: True):
    candidates = [i for i, v in enumerate(vals) if where(v)]
    return draw(st.sampled_from(candidates)) if candidates else None


def _partner(draw, vals, i):
    """A node whose shape broadcasts with node i's (possibly i itself)."""
    shape = tuple(vals[i].shape)
    return _node(draw, vals, lambda v: _broadcastable(shape, tuple(v.shape)))


@st.composite
def constants(draw, shape, nonzero=False, positive=False):
    """A Python number, a numpy scalar or an ndarray (float or int) that broadcasts with shape."""
    kind = draw(st.sampled_from(["float", "int", "numpy scalar", "array", "int array"]))
    if positive:
        elements = small_floats(0.5, 2.0)
    elif nonzero:
        elements = small_floats(0.5, 2.0).flatmap(lambda x: st.sampled_from([x, -x]))
    else:
        elements = small_floats()
    if kind in ("float", "numpy scalar"):
        value = draw(elements)
        return value if kind == "float" else np.float64(value)
    if kind == "int":
        if positive:
            return draw(st.integers(1, 3))
        return draw(st.sampled_from([-3, -2, -1, 1, 2, 3]) if nonzero else st.integers(-3, 3))
    # a shape that broadcasts with the node's: a suffix of it, with some axes set to 1
    suffix = shape[len(shape) - draw(st.integers(0, len(shape))) :]
    const_shape = tuple(1 if draw(st.booleans()) else n for n in suffix)
    if kind == "int array" and not positive:
        ints = st.integers(1, 3).flatmap(lambda k: st.sampled_from([k, -k])) if nonzero else st.integers(-3, 3)
        return draw(hnp.arrays(np.int64, const_shape, elements=ints))
    return draw(float_arrays(const_shape, elements))


def _no_kink(v) -> bool:
    """No value so close to 0 that relu or abs could take the other branch after rounding."""
    return bool(np.all(np.abs(v.numpy()) > 1e-6))


def _axes_arg(draw, ndim):
    """None, an int or a tuple of distinct axes (negative or not)."""
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    signed = lambda a: a - ndim if draw(st.booleans()) else a  # noqa: E731
    if kind == "int":
        return signed(draw(st.integers(0, ndim - 1)))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(signed(a) for a in axes)


def _has_near_tie(v, axis) -> bool:
    """Do two entries of some group reduced by max lie within rounding distance of each other?"""
    v = v.numpy()
    if v.ndim == 0:
        return False
    axes = range(v.ndim) if axis is None else [axis] if isinstance(axis, int) else axis
    axes = [a % v.ndim for a in axes]
    moved = np.moveaxis(v, axes, range(v.ndim - len(axes), v.ndim))
    groups = np.sort(moved.reshape(moved.shape[: v.ndim - len(axes)] + (-1,)), axis=-1)
    if groups.shape[-1] < 2:
        return False
    gap = groups[..., -1] - groups[..., -2]
    return bool(np.any(gap <= 1e-6 * (1 + np.abs(groups[..., -1]))))


def propose_arithmetic(draw, vals):
    i = _node(draw, vals)
    j = _partner(draw, vals, i)
    return Step("binary", (i, j), {"op": draw(st.sampled_from(["+", "-", "*"]))})


def propose_division(draw, vals):
    denominator = draw(st.sampled_from(["1+x*x", "exp(tanh)", "2-tanh"]))
    j = _node(draw, vals)
    if draw(st.booleans()):
        i = _partner(draw, vals, j)
        return Step("div", (i, j), {"denominator": denominator})
    const = draw(constants(tuple(vals[j].shape)))
    return Step("const_over", (j,), {"const": const, "denominator": denominator})


def propose_constant(draw, vals):
    i = _node(draw, vals)
    op = draw(st.sampled_from(list(ARITHMETIC)))
    side = "right" if op == "/" else draw(st.sampled_from(["left", "right"]))
    const = draw(constants(tuple(vals[i].shape), nonzero=op == "/"))
    return Step("const", (i,), {"op": op, "side": side, "const": const})


def propose_power(draw, vals):
    i = _node(draw, vals)
    kind = draw(st.sampled_from(["x**k", "positive**c", "c**x", "positive**node"]))
    if kind == "x**k":
        return Step("pow", (i,), {"exponent": draw(st.sampled_from([2, 3, 2.0, np.float64(3.0)])), "base": "x"})
    if kind == "positive**c":
        exponent = draw(st.sampled_from([0.5, -1.5, 1.7, -2, 3.0, np.float64(-0.5)]))
        return Step("pow", (i,), {"exponent": exponent, "base": "x*x+0.5"})
    if kind == "c**x":
        return Step("rpow", (i,), {"base": draw(constants(tuple(vals[i].shape), positive=True))})
    return Step("pow_nodes", (i, _partner(draw, vals, i)), {})


def propose_unary(draw, vals):
    fn = draw(st.sampled_from(["neg", "sin", "cos", "tanh", "sigmoid", "relu", "abs"]))
    i = _node(draw, vals)
    if fn == "neg":
        return Step("neg", (i,), {})
    if fn in ("relu", "abs") and not _no_kink(vals[i]):
        return None
    return Step("unary", (i,), {"fn": fn})


def propose_exp_log_sqrt(draw, vals):
    fn = draw(st.sampled_from(["exp", "log", "sqrt"]))
    i = _node(draw, vals)
    if fn == "exp":
        return Step("exp", (i,), {})
    if fn == "log":
        argument = draw(st.sampled_from(["1+x*x", "sigmoid", "abs+0.5", "exp(tanh)"]))
        if argument == "abs+0.5" and not _no_kink(vals[i]):
            return None
        return Step("log", (i,), {"argument": argument})
    return Step("sqrt", (i,), {"argument": draw(st.sampled_from(["x*x+0.25", "sigmoid"]))})


def propose_reduction(draw, vals):
    i = _node(draw, vals)
    fn = draw(st.sampled_from(["sum", "mean", "max"]))
    axis = _axes_arg(draw, vals[i].ndim)
    if fn == "max" and _has_near_tie(vals[i], axis):
        return None
    return Step("reduce", (i,), {"fn": fn, "axis": axis, "keepdims": draw(st.booleans())})


def propose_softmax(draw, vals):
    fn = draw(st.sampled_from(["softmax", "log_softmax", "logsumexp"]))
    if fn == "logsumexp":
        i = _node(draw, vals)
        return Step("logsumexp", (i,), {"axis": _axes_arg(draw, vals[i].ndim), "keepdims": draw(st.booleans())})
    i = _node(draw, vals, lambda v: v.ndim >= 1)
    if i is None:
        return None
    ndim = vals[i].ndim
    return Step("softmax", (i,), {"fn": fn, "axis": draw(st.integers(-ndim, ndim - 1))})


def _shapes_of_size(size, max_ndim=3):
    shapes = [()] if size == 1 else []
    frontier = [((), size)]
    for _ in range(max_ndim):
        frontier = [(s + (d,), rest // d) for s, rest in frontier for d in range(1, rest + 1) if rest % d == 0]
        shapes += [s for s, rest in frontier if rest == 1]
    return shapes


def propose_reshape(draw, vals):
    i = _node(draw, vals)
    shape = draw(st.sampled_from(_shapes_of_size(int(vals[i].numel()))))
    if shape and draw(st.booleans()):
        k = draw(st.integers(0, len(shape) - 1))
        shape = shape[:k] + (-1,) + shape[k + 1 :]
    return Step("reshape", (i,), {"shape": shape})


def propose_broadcast_to(draw, vals):
    # mostly a node with an axis of size 1, which is then stretched
    i = _node(draw, vals, lambda v: 1 in v.shape) if draw(st.integers(0, 3)) else None
    i = _node(draw, vals) if i is None else i
    shape = tuple(vals[i].shape)
    stretched = tuple(draw(st.integers(2, 3)) if n == 1 and draw(st.integers(0, 3)) else n for n in shape)
    leading = tuple(draw(st.lists(st.integers(1, 3), max_size=max(0, 3 - len(shape)))))
    return Step("broadcast_to", (i,), {"shape": leading + stretched})


def propose_transpose(draw, vals):
    most_axes = max(v.ndim for v in vals)
    if most_axes == 0:
        return None
    # mostly the nodes with the most axes: permutations of 3 axes are where mistakes show
    fewest = most_axes if draw(st.integers(0, 2)) else 1
    i = _node(draw, vals, lambda v: v.ndim >= fewest)
    ndim = vals[i].ndim
    if draw(st.booleans()):
        return Step("transpose", (i,), {"perm": None})  # x.T
    perm = draw(st.permutations(range(ndim)))
    return Step("transpose", (i,), {"perm": tuple(a - ndim if draw(st.booleans()) else a for a in perm)})


def propose_getitem(draw, vals):
    i = _node(draw, vals)
    shape = tuple(vals[i].shape)
    ndim = len(shape)
    kinds = ["newaxis"]
    if ndim >= 1:
        kinds += ["int", "slice", "ellipsis_int", "array", "mask"]
    if ndim >= 2:
        kinds += ["pairs", "array_then_slice"]
    kind = draw(st.sampled_from(kinds))
    position = lambda n: st.integers(-n, n - 1)  # noqa: E731
    if kind == "newaxis":
        spec = ("newaxis", draw(st.integers(0, ndim)))
    elif kind == "int":
        axis = draw(st.integers(0, ndim - 1))
        spec = ("int", axis, draw(position(shape[axis])))
    elif kind == "ellipsis_int":
        spec = ("ellipsis_int", draw(position(shape[-1])))
    elif kind == "slice":
        axis = draw(st.integers(0, ndim - 1))
        n = shape[axis]
        start = draw(st.none() | st.integers(-n, n - 1))
        stop = draw(st.none() | st.integers(-n, n))
        step = draw(st.sampled_from([None, 1, 2, -1, -2]))
        if len(range(n)[start:stop:step]) == 0:
            return None
        spec = ("slice", axis, start, stop, step if step is not None else 1)
    elif kind == "array":  # repeated positions: the gradient must add up
        axis = draw(st.integers(0, ndim - 1))
        spec = ("array", axis, draw(st.lists(position(shape[axis]), min_size=1, max_size=5)))
    elif kind == "pairs":
        k = draw(st.integers(1, 5))
        rows = draw(st.lists(position(shape[0]), min_size=k, max_size=k))
        cols = draw(st.lists(position(shape[1]), min_size=k, max_size=k))
        spec = ("pairs", rows, cols)
    elif kind == "array_then_slice":
        rows = draw(st.lists(position(shape[0]), min_size=1, max_size=4))
        start = draw(st.integers(0, shape[1] - 1))
        spec = ("array_then_slice", rows, start, draw(st.integers(start + 1, shape[1])))
    else:
        mask = draw(hnp.arrays(np.bool_, shape))
        if not mask.any():
            return None
        spec = ("mask", mask)
    return Step("getitem", (i,), {"spec": spec})


def propose_matmul(draw, vals):
    shapes = [tuple(v.shape) for v in vals]
    if draw(st.booleans()):
        pairs = [(i, j) for i, a in enumerate(shapes) for j, b in enumerate(shapes) if _matmul_shape(a, b) is not None]
        if not pairs:
            return None
        return Step("matmul", draw(st.sampled_from(pairs)), {})
    i = _node(draw, vals, lambda v: v.ndim >= 1)
    if i is None:
        return None
    side = draw(st.sampled_from(["left", "right"]))
    if side == "right":  # x @ c: c's first (or only) matrix axis meets x's last axis
        inner = shapes[i][-1]
        other = draw(st.sampled_from([(inner,), (inner, 2), (inner, 1), (2, inner, 3)]))
    else:  # c @ x: c's last axis meets x's second-to-last (or only) axis
        inner = shapes[i][-2] if len(shapes[i]) >= 2 else shapes[i][0]
        other = draw(st.sampled_from([(inner,), (2, inner), (1, inner), (2, 1, inner)]))
    const = draw(float_arrays(other))
    if _matmul_shape(*((other, shapes[i]) if side == "left" else (shapes[i], other))) is None:
        return None
    return Step("matmul_const", (i,), {"const": const, "side": side})


def propose_einsum(draw, vals):
    count = draw(st.integers(1, 3))
    args = [_node(draw, vals) for _ in range(count)]
    sizes: dict[str, int] = {}
    fresh = iter("abcdefghij")
    terms = []
    for i in args:
        term = ""
        for size in vals[i].shape:
            same_size = [letter for letter, n in sizes.items() if n == size]
            if same_size and draw(st.booleans()):  # a contraction, a batch axis or a diagonal
                term += draw(st.sampled_from(same_size))
            else:
                letter = next(fresh)
                sizes[letter] = size
                term += letter
        terms.append(term)
    subscripts = ",".join(terms)
    if draw(st.booleans()):  # explicit output: some of the letters, in any order
        letters = list(dict.fromkeys("".join(terms)))
        output = draw(st.permutations(letters))[: draw(st.integers(0, len(letters)))]
        subscripts += "->" + "".join(output)
    return Step("einsum", tuple(args), {"subscripts": subscripts})


def propose_concatenate(draw, vals):
    i = _node(draw, vals, lambda v: v.ndim >= 1)
    if i is None:
        return None
    shape = tuple(vals[i].shape)
    ndim = len(shape)
    axis = draw(st.integers(-ndim, ndim - 1))
    same_except_axis = lambda s: len(s) == ndim and all(  # noqa: E731
        a == b for k, (a, b) in enumerate(zip(s, shape)) if k != axis % ndim
    )
    others = [draw(st.sampled_from([j for j, v in enumerate(vals) if same_except_axis(tuple(v.shape))]))]
    if draw(st.booleans()):
        others.append(_node(draw, vals, lambda v: same_except_axis(tuple(v.shape))))
    args = draw(st.permutations([i] + others))
    params = {"axis": axis}
    if draw(st.booleans()):  # a constant piece, which needs no gradient
        const_shape = list(shape)
        const_shape[axis] = draw(st.integers(1, 2))
        params["const"] = draw(float_arrays(tuple(const_shape)))
        params["const_position"] = draw(st.integers(0, len(args)))
    return Step("concatenate", tuple(args), params)


def propose_stack(draw, vals):
    i = _node(draw, vals)
    shape = tuple(vals[i].shape)
    count = draw(st.integers(1, 2))
    args = [i] + [_node(draw, vals, lambda v: tuple(v.shape) == shape) for _ in range(count)]
    ndim = len(shape) + 1
    return Step("stack", tuple(args), {"axis": draw(st.integers(-ndim, ndim - 1))})


PROPOSALS = [
    propose_arithmetic, propose_unary, propose_exp_log_sqrt, propose_constant, propose_division, propose_power,
    propose_reduction, propose_softmax, propose_reshape, propose_broadcast_to, propose_transpose, propose_getitem,
    propose_matmul, propose_einsum, propose_concatenate, propose_stack,
]


@st.composite
def programs(draw, max_steps=16):
    leaves = []
    for _ in range(draw(st.integers(1, 4))):
        leaves.append(draw(float_arrays(draw(st.sampled_from(LEAF_SHAPES)))))
    vals = [torch.from_numpy(leaf.copy()) for leaf in leaves]
    steps = []
    # The kinds of step come in a random order, each once before any repeats, so that every
    # example exercises many different operations.
    proposals = draw(st.permutations(PROPOSALS))
    with torch.no_grad():
        for k in range(draw(st.sampled_from(range(2, max_steps + 1)))):
            for attempt in range(5):
                step = proposals[(k + attempt) % len(proposals)](draw, vals)
                if step is None:
                    continue
                value = apply_step(TorchBackend, vals, step)
                assert torch.all(torch.isfinite(value)), f"the generator made a non-finite value: {step}"
                if value.numel() == 0 or value.numel() > MAX_SIZE:
                    continue
                largest = float(value.abs().max())
                if largest > LIMIT:
                    step = step._replace(scale=LIMIT / largest)
                    value = apply_step(TorchBackend, vals, step)
                break
            else:  # nothing fitted: an elementwise step always does
                step = Step("unary", (len(vals) - 1,), {"fn": "sin"})
                value = apply_step(TorchBackend, vals, step)
            steps.append(step)
            vals.append(value)
    return Program(leaves, steps)


# --- the random-graph test -----------------------------------------------------------


@GRAPH_SETTINGS
@given(programs())
def test_random_expression_graphs_agree_with_torch(program):
    ag_leaves, ag_nodes, ag_output = run(program, AgBackend)
    torch_leaves, torch_nodes, torch_output = run(program, TorchBackend)

    for k, (mine, theirs) in enumerate(zip(ag_nodes, torch_nodes)):
        assert_close(AgBackend.value(mine), TorchBackend.value(theirs), f"value of v{k}\n{program!r}")
    assert_close(AgBackend.value(ag_output), TorchBackend.value(torch_output), f"output\n{program!r}")

    ag_output.backward()
    torch_output.backward()
    for k, (mine, theirs) in enumerate(zip(ag_leaves, torch_leaves)):
        expected = TorchBackend.grad(theirs)
        assert expected is not None, "every leaf takes part in the output"
        assert_close(AgBackend.grad(mine), expected, f"gradient of leaf v{k}\n{program!r}")


def test_the_program_generator_covers_every_operation():
    """The random-graph test is only as good as its generator: every operation, broadcasting
    between different shapes and node reuse must turn up."""
    seen_ops, seen_reuse, seen_broadcast = set(), 0, 0

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
    @given(programs())
    def collect(program):
        nonlocal seen_reuse, seen_broadcast
        seen_ops.update(step.op for step in program.steps)
        seen_reuse += max(program.uses) >= 2
        shapes = {leaf.shape for leaf in program.leaves}
        seen_broadcast += len(shapes) >= 2 and any(s.op in ("binary", "div", "pow_nodes") for s in program.steps)

    collect()
    assert seen_ops == set(OPS), f"never generated: {set(OPS) - seen_ops}"
    assert seen_reuse >= 50 and seen_broadcast >= 20, (seen_reuse, seen_broadcast)


# --- kinks: exact ties and exact zeros -------------------------------------------------


@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (0, True), ((0, 1), False), (-1, True)])
def test_max_shares_the_gradient_between_exact_ties_like_torch_amax(axis, keepdims):
    values = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 2.0, 2.0], [0.0, 3.0, -5.0, 3.0]])
    weights = np.arange(1.0, 1.0 + values.size).reshape(values.shape)
    x = ag.Variable(values)
    (x * weights).max(axis=axis, keepdims=keepdims).sum().backward()  # ties after scaling, too
    t = tensor(values, requires_grad=True)
    dims = (0, 1) if axis is None else axis
    torch.amax(t * tensor(weights), dim=dims, keepdim=keepdims).sum().backward()
    assert_close(x.grad, t.grad.numpy(), "max of weighted values")

    x.grad, t.grad = None, None
    x.max(axis=axis, keepdims=keepdims).sum().backward()
    torch.amax(t, dim=dims, keepdim=keepdims).sum().backward()
    assert_close(x.grad, t.grad.numpy(), "max with ties")


def test_relu_and_abs_at_zero_follow_torch():
    values = np.array([-2.0, -0.0, 0.0, 1.5])
    x = ag.Variable(values)
    (ag.relu(x) * 3.0 + ag.abs(x) * 5.0).sum().backward()
    t = tensor(values, requires_grad=True)
    (torch.relu(t) * 3.0 + torch.abs(t) * 5.0).sum().backward()
    assert_close(x.grad, t.grad.numpy(), "relu and abs at 0")


# --- losses ------------------------------------------------------------------------------

LOGIT_SCALES = [1.0, 30.0, 1000.0]


@pytest.mark.parametrize("scale", LOGIT_SCALES)
@pytest.mark.parametrize("batch_shape", [(6,), (2, 3)])
def test_cross_entropy_with_integer_labels_matches_torch(scale, batch_shape):
    rng = np.random.default_rng(0)
    classes = 5
    logits = rng.standard_normal(batch_shape + (classes,)) * scale
    logits.flat[::3] = np.sign(logits.flat[::3]) * scale  # exact +-scale entries, e.g. +-1000
    labels = rng.integers(0, classes, size=batch_shape)

    x = ag.Variable(logits)
    loss = ag.cross_entropy(x, labels)
    loss.backward()

    t = tensor(logits, requires_grad=True)
    # torch wants the class axis second: (N, C, d1, ...)
    expected = F.cross_entropy(torch.movedim(t, -1, 1), torch.from_numpy(labels))
    expected.backward()
    assert_close(loss.value, expected.detach().numpy(), "cross-entropy value")
    assert_close(x.grad, t.grad.numpy(), "cross-entropy gradient of the logits")


@pytest.mark.parametrize("scale", LOGIT_SCALES)
@pytest.mark.parametrize("soft", [False, True], ids=["one-hot", "soft"])
def test_cross_entropy_with_probability_targets_matches_torch(scale, soft):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((7, 4)) * scale
    logits[0] = [scale, -scale, scale, -scale]
    if soft:
        targets = rng.random((7, 4))
        targets /= targets.sum(axis=1, keepdims=True)
    else:
        targets = np.eye(4)[rng.integers(0, 4, size=7)]

    x, y = ag.Variable(logits), ag.Variable(targets)
    loss = ag.cross_entropy(x, y)
    loss.backward()

    t, ty = tensor(logits, requires_grad=True), tensor(targets, requires_grad=True)
    expected = F.cross_entropy(t, ty)
    expected.backward()
    assert_close(loss.value, expected.detach().numpy(), "cross-entropy value")
    assert_close(x.grad, t.grad.numpy(), "cross-entropy gradient of the logits")
    assert_close(y.grad, ty.grad.numpy(), "cross-entropy gradient of the targets")


def test_cross_entropy_one_hot_equals_integer_labels():
    rng = np.random.default_rng(2)
    logits, labels = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    a, b = ag.Variable(logits), ag.Variable(logits)
    ag.cross_entropy(a, labels).backward()
    ag.cross_entropy(b, np.eye(3)[labels]).backward()
    assert_close(a.grad, b.grad, "integer labels against one-hot")


@pytest.mark.parametrize("shape", [(8,), (4, 3), (2, 3, 2)])
def test_mse_loss_matches_torch(shape):
    rng = np.random.default_rng(3)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    p, y = ag.Variable(pred), ag.Variable(target)
    loss = ag.mse_loss(p, y)
    loss.backward()
    tp, ty = tensor(pred, requires_grad=True), tensor(target, requires_grad=True)
    expected = F.mse_loss(tp, ty)
    expected.backward()
    assert_close(loss.value, expected.detach().numpy(), "mse value")
    assert_close(p.grad, tp.grad.numpy(), "mse gradient of the prediction")
    assert_close(y.grad, ty.grad.numpy(), "mse gradient of the target")


@pytest.mark.parametrize("scale", LOGIT_SCALES)
def test_binary_cross_entropy_with_logits_matches_torch(scale):
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((6, 3)) * scale
    logits[0] = [scale, -scale, 0.0]
    logits[1] = [-scale, scale, scale]
    targets = rng.random((6, 3))
    targets[:2] = [[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]]  # confidently right and confidently wrong

    z, y = ag.Variable(logits), ag.Variable(targets)
    loss = ag.binary_cross_entropy_with_logits(z, y)
    loss.backward()

    tz, ty = tensor(logits, requires_grad=True), tensor(targets, requires_grad=True)
    expected = F.binary_cross_entropy_with_logits(tz, ty)
    expected.backward()
    assert_close(loss.value, expected.detach().numpy(), "BCE-with-logits value")
    assert_close(z.grad, tz.grad.numpy(), "BCE-with-logits gradient of the logits")
    assert_close(y.grad, ty.grad.numpy(), "BCE-with-logits gradient of the targets")


def test_two_layer_network_with_bce_loss_matches_torch():
    """The seeds' example: loss = BCEWithLogits(x @ w1 @ w2 + b, y)."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((10, 5)), np.zeros((10, 1))
    w1, w2, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 1)), rng.standard_normal((1,))

    aw1, aw2, ab = ag.Variable(w1), ag.Variable(w2), ag.Variable(b)
    loss = ag.binary_cross_entropy_with_logits(x @ aw1 @ aw2 + ab, y)
    loss.backward()

    tw1, tw2, tb = (tensor(a, requires_grad=True) for a in (w1, w2, b))
    expected = F.binary_cross_entropy_with_logits(tensor(x) @ tw1 @ tw2 + tb, tensor(y))
    expected.backward()
    assert_close(loss.value, expected.detach().numpy(), "loss")
    for name, mine, theirs in [("w1", aw1, tw1), ("w2", aw2, tw2), ("b", ab, tb)]:
        assert_close(mine.grad, theirs.grad.numpy(), f"gradient of {name}")


# --- matmul and einsum on random shapes -------------------------------------------------


def _check_against_torch(ag_fn, torch_fn, arrays, what, seed=0):
    """Apply both functions, weight the output with a fixed random array (so each output
    entry gets its own upstream gradient), backpropagate, compare value and gradients."""
    variables = [ag.Variable(a) for a in arrays]
    tensors = [tensor(a, requires_grad=True) for a in arrays]
    mine, theirs = ag_fn(*variables), torch_fn(*tensors)
    assert_close(mine.value, theirs.detach().numpy(), f"{what}: value")
    weights = np.random.default_rng(seed).standard_normal(np.shape(mine.value))
    (mine * weights).sum().backward()
    (theirs * tensor(weights)).sum().backward()
    for k, (v, t) in enumerate(zip(variables, tensors)):
        assert_close(v.grad, t.grad.numpy(), f"{what}: gradient of operand {k}")


@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    a_batch = [1 if draw(st.booleans()) else b for b in batch][draw(st.integers(0, len(batch))) :]
    b_batch = [1 if draw(st.booleans()) else b for b in batch][draw(st.integers(0, len(batch))) :]
    a_shape = (k,) if draw(st.integers(0, 4)) == 0 else tuple(a_batch) + (n, k)
    b_shape = (k,) if draw(st.integers(0, 4)) == 0 else tuple(b_batch) + (k, m)
    return a_shape, b_shape


@settings(max_examples=60, deadline=None)
@given(matmul_shapes(), st.data())
def test_batched_and_broadcast_matmul_matches_torch(shapes, data):
    a = data.draw(float_arrays(shapes[0]), label="a")
    b = data.draw(float_arrays(shapes[1]), label="b")
    _check_against_torch(lambda x, y: x @ y, torch.matmul, [a, b], f"matmul {shapes[0]} @ {shapes[1]}")
    _check_against_torch(ag.matmul, lambda x, y: x @ y, [a, b], f"ag.matmul {shapes[0]}, {shapes[1]}", seed=1)


EINSUM_CASES = [
    # subscripts, letter sizes per operand ('.' stands for a batch of leading axes)
    ("ij,jk->ik", ["ij", "jk"]),
    ("ij,jk", ["ij", "jk"]),
    ("ba,ac", ["ba", "ac"]),
    ("bij,bjk->bik", ["bij", "bjk"]),
    ("ii->", ["ii"]),
    ("ii->i", ["ii"]),
    ("ii", ["ii"]),
    ("bii->bi", ["bii"]),
    ("iij->j", ["iij"]),
    ("ij->", ["ij"]),
    ("ij->ji", ["ij"]),
    ("ij->j", ["ij"]),
    ("i,i->", ["i", "i"]),
    ("i,j->ij", ["i", "j"]),
    ("ij,ij->ij", ["ij", "ij"]),
    ("ij,ij->i", ["ij", "ij"]),
    ("ij,jk,kl->il", ["ij", "jk", "kl"]),
    ("ijk,ikl->jl", ["ijk", "ikl"]),
    ("i,ij,j->", ["i", "ij", "j"]),
    ("ij,i->j", ["ij", "i"]),
    (",ij->ij", ["", "ij"]),
    ("...ij,...jk->...ik", [".ij", ".jk"]),
    ("...i->...", [".i"]),
    ("i...->...", ["i."]),
    ("...ii->...i", [".ii"]),
    ("ij...,jk...->ik...", ["ij.", "jk."]),
    ("bn,anm,bm->ba", ["bn", "anm", "bm"]),
    # '1' marks an axis of size 1 that broadcasts against the other operands' axis of that letter
    ("ij,ij->i", ["i1", "1j"]),
    ("ij,ij->ij", ["1j", "ij"]),
    ("ij,jk->ik", ["ij", "1k"]),
    ("bij,bjk->bik", ["1ij", "bjk"]),
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(EINSUM_CASES), st.data())
def test_einsum_matches_torch_einsum(case, data):
    subscripts, operand_letters = case
    sizes = {letter: data.draw(st.integers(1, 4), label=f"size of {letter}") for letter in "abcijklmn"}
    batch = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2), label="batch shape"))
    shapes = []
    for letters in operand_letters:
        shape = []
        for letter in letters:
            if letter == "1":
                shape.append(1)
            elif letter == ".":
                # each operand may have fewer batch axes, or 1s, where the others broadcast
                own = batch[data.draw(st.integers(0, len(batch)), label="batch axes dropped") :]
                shape += [1 if data.draw(st.booleans()) else n for n in own]
            else:
                shape.append(sizes[letter])
        shapes.append(tuple(shape))
    arrays = [data.draw(float_arrays(shape), label=f"operand of shape {shape}") for shape in shapes]
    _check_against_torch(
        lambda *xs: ag.einsum(subscripts, *xs),
        lambda *xs: torch.einsum(subscripts, *xs),
        arrays,
        f"einsum({subscripts!r}) on shapes {shapes}",
    )


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_random_einsum_subscripts_match_torch_einsum(data):
    """Subscripts made by the random-graph generator (contractions, batch axes, diagonals,
    implicit and explicit outputs) on operands of random small shapes."""
    shapes = data.draw(
        st.lists(st.sampled_from([(3,), (4,), (3, 3), (3, 4), (4, 3), (2, 3, 3), (3, 3, 4)]), min_size=1, max_size=3),
        label="shapes",
    )
    vals = [torch.from_numpy(data.draw(float_arrays(shape))) for shape in shapes]
    step = propose_einsum(data.draw, vals)
    arrays = [vals[i].numpy() for i in step.args]
    size = np.einsum(step.params["subscripts"], *arrays).size
    if size > 200:
        return
    subscripts = step.params["subscripts"]
    _check_against_torch(
        lambda *xs: ag.einsum(subscripts, *xs),
        lambda *xs: torch.einsum(subscripts, *xs),
        arrays,
        f"einsum({subscripts!r}) on shapes {[a.shape for a in arrays]}",
    )


@pytest.mark.parametrize("axes", [*itertools.permutations(range(3)), (-1, 0, -2), (2, 0, 3, 1)])
def test_transpose_with_every_permutation_matches_torch(axes):
    shape = (2, 3, 4) if len(axes) == 3 else (2, 3, 4, 5)
    array = np.random.default_rng(6).standard_normal(shape)
    _check_against_torch(lambda x: x.transpose(*axes), lambda t: t.permute(*axes), [array], f"transpose{axes}")
    _check_against_torch(
        lambda x: ag.transpose(x, axes).reshape(-1, shape[-1]), lambda t: t.permute(*axes).reshape(-1, shape[-1]),
        [array], f"ag.transpose({axes}) then reshape", seed=1,
    )


@pytest.mark.parametrize(
    "a_shape, b_shape, axes",
    [((3, 4), (4, 5), 1), ((2, 3, 4), (3, 4, 5), 2), ((3, 4), (3, 4), 2), ((2, 3), (4,), 0),
     ((2, 3, 4), (4, 3), ([1, 2], [1, 0])), ((4, 3), (3, 2, 4), ([0, 1], [2, 0])), ((2, 3), (2, 5), (0, 0))],
)
def test_tensordot_matches_torch(a_shape, b_shape, axes):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(a_shape), rng.standard_normal(b_shape)]
    torch_axes = axes if isinstance(axes, int) else ([axes[0]], [axes[1]]) if isinstance(axes[0], int) else axes
    _check_against_torch(
        lambda a, b: ag.tensordot(a, b, axes), lambda a, b: torch.tensordot(a, b, dims=torch_axes),
        arrays, f"tensordot {a_shape}, {b_shape}, axes={axes}",
    )
