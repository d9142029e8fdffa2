"""The computation graph: Variable nodes and Operation nodes.

The graph is bipartite, as in the lecture notes:

* a **Variable** node holds a value (an ndarray) and, after a backward pass, a gradient;
  it knows the Operation that produced it (``producer``; ``None`` for a leaf).
* an **Operation** node holds the state its backward pass needs; it knows its input
  Variables (``inputs``) and its output Variable (``output``).

Edges only ever join a Variable to an Operation or an Operation to a Variable, and every
source and sink of the graph is a Variable.

An Operation points at its output through a weak reference, so the graph has no reference
cycles: a graph is freed the moment its last Variable is no longer used, without waiting
for Python's cycle collector.
"""

from __future__ import annotations

import gc
import itertools
import os
import traceback
import weakref
from contextlib import contextmanager

import numpy as np


class _GraphMode:
    """Global switches: record the graph or not, check for NaN/inf or not."""

    recording = True
    detect_anomaly = False


_mode = _GraphMode()
_ndarray, _numpy_scalar = np.ndarray, np.generic
_weakref = weakref.ref
_new_object = object.__new__
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_next_sequence = itertools.count().__next__  # creation numbers of recorded Operations


_NEVER = float("inf")


class _GcPacer:
    """Keeps Python's cycle collector from re-scanning a large graph while it is being built.

    A graph has no reference cycles (outputs are held through weak references), so the cycle
    collector never frees any of it; yet with the default thresholds it runs a young-generation
    pass every 700 allocations and, as the graph grows, full passes over the whole heap, whose
    cost per node grows with the heap (cache misses): building a 10^6-node graph cost 2-3x
    more per node with the collector enabled than without it.

    While more than ``LARGE`` recorded nodes are alive, the young-generation threshold is
    raised to their number (as if the collector ran once each time the graph grew by about a
    quarter), and the thresholds found are put back once the graph is freed. The collector
    stays enabled: cycles made meanwhile (by any code) are still collected, after at most as
    many allocations as the graph has nodes, so the garbage they hold stays in proportion to
    the graph. A ``gc.set_threshold`` call made meanwhile is respected.
    """

    LARGE = 10_000

    def __init__(self):
        self.made = 0            # Operations recorded, as of the last check (the next creation number)
        self.freed = 0           # recorded Operations whose output Variable has been freed
        self.high = self.LARGE   # adjust() runs when live goes above high ...
        self.low = -1            # ... or below low
        self.check_at = self.LARGE  # the creation number at which recorded() looks again
        self.check_freed = _NEVER  # the count of frees at which freed_one() looks again
        self.saved = None        # the thresholds found before raising them
        self.raised_to = None    # the young-generation threshold set by adjust()

    @property
    def live(self) -> int:
        """Recorded Operation nodes whose output Variable is alive (as of the last check)."""
        return self.made - self.freed

    def recorded(self, number):
        """Called by Operation.__call__ when a creation number reaches check_at.

        Looking only then keeps the pacer off the path of every node: live can pass high
        no sooner than that number (high - live nodes later)."""
        self.made = number + 1
        self.check()

    def freed_one(self, _ref):
        """Weak-reference callback: a recorded node's output Variable was freed."""
        self.freed += 1
        if self.freed >= self.check_freed:
            self.check()
            self.check_at = 0  # (made is as of the last check: the next node recorded looks again)

    def check(self):
        live = self.made - self.freed
        if live > self.high or live < self.low:
            self.adjust()
        self.check_at = self.made + self.high - live  # the soonest that live can pass high
        # the soonest that live can drop below low (only a raised threshold needs putting back)
        self.check_freed = self.freed + live - self.low + 1 if self.low >= 0 else _NEVER

    def adjust(self):
        live = self.live
        try:
            current = gc.get_threshold()
            if current[0] != self.raised_to:  # not ours (any more): the user's setting
                self.saved = current if live >= self.LARGE else None
            if live >= self.LARGE:
                self.raised_to = max(self.saved[0], live)
                gc.set_threshold(self.raised_to, *self.saved[1:])
                self.high, self.low = 2 * live, live // 4
                return
            if self.saved is not None and current[0] == self.raised_to:
                gc.set_threshold(*self.saved)
        except Exception:  # (at interpreter shutdown the gc module may be gone)
            pass
        self.saved = self.raised_to = None
        self.high, self.low = self.LARGE, -1


_pacer = _GcPacer()
_node_freed = _pacer.freed_one  # (one bound method for every weak reference)


@contextmanager
def no_grad():
    """Evaluate without recording a graph (for evaluation and optimiser updates)."""
    previous = _mode.recording
    _mode.recording = False
    try:
        yield
    finally:
        _mode.recording = previous


@contextmanager
def detect_anomaly():
    """Check every forward and backward result for NaN or inf.

    When one appears, a ``FloatingPointError`` names the Operation that made it, the
    shapes of its inputs and the line of your code that created it.
    """
    previous = _mode.detect_anomaly
    _mode.detect_anomaly = True
    try:
        yield
    finally:
        _mode.detect_anomaly = previous


def is_recording() -> bool:
    return _mode.recording


def _as_float_array(value, dtype=None) -> np.ndarray:
    """Turn user input into a floating-point ndarray (float64 unless it is already floating)."""
    array = np.asarray(value, dtype=dtype)
    if array.dtype.kind not in "fc":
        if array.dtype.kind in "biu":
            array = array.astype(np.float64)
        else:
            raise TypeError(
                f"a Variable holds numbers, but got a value of dtype {array.dtype} "
                f"({type(value).__name__}); pass numbers, a list of numbers or a numeric ndarray"
            )
    return array


class Variable:
    """A variable node: a value, its gradient, a name, and the Operation that produced it.

    ``Variable(value)`` makes a leaf. Python numbers, nested lists and ndarrays are accepted;
    integers become float64 and floating dtypes are kept (float32 stays float32). The value is
    copied, so later changes to your array do not change the Variable; a 0-d value is
    stored as a numpy scalar such as np.float64.

    After ``y.backward()``, ``x.grad`` holds dy/dx with the shape of ``x.value``.
    Gradients accumulate across backward calls; set ``x.grad = None`` to reset.
    """

    __slots__ = ("value", "grad", "name", "producer", "requires_grad", "__weakref__")

    # Make numpy hand `ndarray + Variable` over to Variable.__radd__ instead of looping.
    __array_ufunc__ = None

    def __init__(self, value, name: str | None = None, requires_grad: bool = True, dtype=None):
        if isinstance(value, Variable):
            value = value.value
        value = np.array(_as_float_array(value, dtype), copy=True)
        # A 0-d value is kept as a numpy scalar (np.float64), as numpy's own 0-d results are:
        # arithmetic on those is ten times faster than on 0-d arrays.
        self.value = value[()] if value.ndim == 0 else value
        self.grad = None
        self.name = name
        self.producer = None
        self.requires_grad = requires_grad

    # --- basic properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def is_leaf(self) -> bool:
        return self.producer is None

    def item(self) -> float:
        return self.value.item()

    def numpy(self) -> np.ndarray:
        return np.asarray(self.value)

    def __len__(self) -> int:
        return len(self.value)

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        made_by = f", producer={type(self.producer).__name__}" if self.producer is not None else ""
        return f"Variable({np.array2string(np.asarray(self.value), precision=4, threshold=20)}{name}{made_by})"

    def backward(self, grad=None) -> None:
        """Reverse mode: add d(self)/d(v) to ``v.grad`` for every Variable v this depends on.

        For a scalar output ``grad`` defaults to 1. For any other output pass ``grad``,
        an array of the output's shape: the vector in the vector-Jacobian product.
        """
        _reverse.backward(self, grad)

    # --- arithmetic operators: each builds an Operation node -------------------------
    # (Op()._binary(a, b) is Op()(a, b) without the checks meant for Operations you write.)
    def __add__(self, other):
        if type(other) is Variable:  # (the common case, without a function call)
            return _ops.Add()._binary(self, other)
        return _ops.Add()._binary(self, _constant_like(other, self))

    def __radd__(self, other):
        return _ops.Add()._binary(_constant_like(other, self), self)

    def __sub__(self, other):
        if type(other) is Variable:
            return _ops.Subtract()._binary(self, other)
        return _ops.Subtract()._binary(self, _constant_like(other, self))

    def __rsub__(self, other):
        return _ops.Subtract()._binary(_constant_like(other, self), self)

    def __mul__(self, other):
        if type(other) is Variable:
            return _ops.Multiply()._binary(self, other)
        return _ops.Multiply()._binary(self, _constant_like(other, self))

    def __rmul__(self, other):
        return _ops.Multiply()._binary(_constant_like(other, self), self)

    def __truediv__(self, other):
        return _ops.Divide()._binary(self, _constant_like(other, self))

    def __rtruediv__(self, other):
        return _ops.Divide()._binary(_constant_like(other, self), self)

    def __pow__(self, other):
        return _ops.Power()._binary(self, _constant_like(other, self))

    def __rpow__(self, other):
        return _ops.Power()._binary(_constant_like(other, self), self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.Negate()(self)

    def __pos__(self):
        return self

    def __getitem__(self, index):
        return _ops.GetItem(index)(self)

    # --- methods that mirror numpy ---------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return _ops.Sum(axis, keepdims)(self)

    def mean(self, axis=None, keepdims=False):
        return _ops.Mean(axis, keepdims)(self)

    def max(self, axis=None, keepdims=False):
        return _ops.Max(axis, keepdims)(self)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.Reshape(shape)(self)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.Transpose(axes or None)(self)

    @property
    def T(self):
        return _ops.Transpose(None)(self)

    def exp(self):
        return _ops.Exp()(self)

    def log(self):
        return _ops.Log()(self)


def _constant_like(other, like: Variable):
    """Wrap a Python number or array as a constant Variable with the dtype of ``like``.

    Keeping ``like``'s floating dtype is what keeps float32 computations in float32.
    """
    if type(other) is Variable or isinstance(other, Variable):
        return other
    if isinstance(other, np.ndarray) and other.dtype.kind in "fc":
        return constant(other)  # a floating array keeps its own dtype, as in numpy
    dtype = like.value.dtype
    return constant(other, dtype=dtype if dtype.kind in "fc" else None)


def constant(value, dtype=None) -> Variable:
    """A Variable that needs no gradient (data, labels, fixed numbers).

    Unlike a Variable, a constant keeps an integer dtype (class labels, indices)."""
    node = Variable.__new__(Variable)
    array = np.asarray(value, dtype=dtype)
    node.value = array if array.dtype.kind in "biufc" else _as_float_array(array)  # (which rejects the rest)
    node.grad = None
    node.name = None
    node.producer = None
    node.requires_grad = False
    return node


def as_variable(value) -> Variable:
    """Return ``value`` if it is a Variable, otherwise a constant Variable holding it."""
    if isinstance(value, Variable):
        return value
    return constant(value)


class Operation:
    """An operation node. Subclass it and write ``forward`` and ``backward``.

    * ``forward(self, *input_values) -> ndarray`` computes the output value from the input
      values (ndarrays) and stores in ``self`` whatever ``backward`` will need.
    * ``backward(self, grad_output) -> tuple`` receives dL/d(output) (shaped like the output)
      and returns dL/d(input) for every input, in order, each shaped like that input
      (``None`` for an input that has no gradient, such as integer labels).
    * ``jvp(self, *input_tangents) -> ndarray`` (forward mode, optional) receives one tangent
      per input, shaped like the inputs, and returns the output's tangent.

    Calling an instance on Variables, ``Multiply()(a, b)``, runs ``forward``, adds the node to
    the graph and returns the output Variable. Each instance is one node: use a new instance
    for every call.
    """

    inputs: tuple = ()
    _output_ref = None
    _sequence = -1  # when it was recorded: 0 for the first Operation recorded, then 1, 2, ...
    _created_at = None

    def forward(self, *input_values):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented yet")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented yet")

    def jvp(self, *input_tangents):
        raise NotImplementedError(
            f"{type(self).__name__} has no forward-mode rule (jvp); write jvp(self, *tangents) to add one"
        )

    @property
    def output(self) -> Variable | None:
        """The output Variable (None before the call, or once the output has been freed)."""
        return self._output_ref() if self._output_ref is not None else None

    def label(self) -> str:
        """How the node is named in drawings and error messages."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.label()} node>"

    def __call__(self, *inputs) -> Variable:
        if self.inputs:
            raise RuntimeError(
                f"this {type(self).__name__} node is already in a graph; every call needs a new "
                f"instance: write {type(self).__name__}(...)(x) each time"
            )
        values, needs_grad = [], False  # (a plain loop: it is faster than generators)
        for x in inputs:
            if not isinstance(x, Variable):
                return self(*_lift(inputs))  # numbers and arrays become constants
            values.append(x.value)
            if x.requires_grad:
                needs_grad = True
        try:
            value = self.forward(*values)
        except ValueError as error:
            raise self._cannot_apply(inputs, error) from None
        if type(value) is not _ndarray and not isinstance(value, _numpy_scalar):
            if value is None:
                raise TypeError(f"{type(self).__name__}.forward returned None; it must return the output value")
            value = np.asarray(value)  # a Python number or list from a hand-written forward
        return self._output(inputs, value, needs_grad)

    def _binary(self, a: Variable, b: Variable) -> Variable:
        """``self(a, b)`` for a new node of mini_autograd's own on two Variables, as the
        operators (``x + y``, ``x * 2.0``) make them: the checks of ``__call__`` are there for
        the Operations you write (a reused node, inputs that are not Variables, a forward that
        returns None), and these cannot have those faults. It saves a fifth of an operator's time."""
        try:
            value = self.forward(a.value, b.value)
        except ValueError as error:
            raise self._cannot_apply((a, b), error) from None
        return self._output((a, b), value, a.requires_grad or b.requires_grad)

    def _output(self, inputs: tuple, value, needs_grad: bool) -> Variable:
        """The output Variable holding ``value``; this node enters the graph if a gradient can
        flow back through it (an input needs one and the graph is being recorded)."""
        output = _new_object(Variable)
        output.value = value
        output.grad = output.name = None
        if needs_grad and _mode.recording:
            output.requires_grad = True
            output.producer = self
            self.inputs = inputs
            self._output_ref = _weakref(output, _node_freed)
            self._sequence = number = _next_sequence()
            if number >= _pacer.check_at:
                _pacer.recorded(number)
        else:
            output.requires_grad = False
            output.producer = None
        if _mode.detect_anomaly:
            # where your code made the node: the last frame outside mini_autograd
            self._created_at = [f for f in traceback.extract_stack() if not f.filename.startswith(_PACKAGE_DIR)]
            check_finite(self, "forward", [value])
        return output

    def _cannot_apply(self, inputs, error) -> ValueError:
        shapes = ", ".join(str(np.shape(x.value)) for x in inputs)
        return ValueError(f"{self.label()}: cannot apply to inputs of shapes {shapes}: {error}")


def _lift(inputs) -> tuple:
    """Make every input a Variable; numbers and arrays become constants.

    A floating-point array keeps its dtype (as in numpy); numbers, lists and integer arrays
    take the floating dtype of the first Variable among the inputs, so that ``x32 * 2.0``
    stays float32.
    """
    lifted = []
    for x in inputs:
        if isinstance(x, Variable):
            lifted.append(x)
        elif isinstance(x, np.ndarray) and x.dtype.kind in "fc":
            lifted.append(constant(x))
        else:
            lifted.append(constant(x, _floating_dtype(inputs)))
    return tuple(lifted)


def _floating_dtype(inputs):
    """The dtype of the first Variable among ``inputs`` that holds floating-point values, or None."""
    for x in inputs:
        if isinstance(x, Variable) and x.value.dtype.kind in "fc":
            return x.value.dtype
    return None


def check_finite(operation: Operation, phase: str, arrays) -> None:
    """Raise FloatingPointError if any array has NaN or inf (used by detect_anomaly)."""
    for position, array in enumerate(arrays):
        if array is None:
            continue
        array = np.asarray(array)
        if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
            bad = "NaN" if np.isnan(array).any() else "inf"
            shapes = ", ".join(str(v.shape) for v in operation.inputs) or "?"
            what = "its output" if phase == "forward" else f"the gradient for its input {position}"
            where = ""
            if operation._created_at:
                frame = operation._created_at[-1]
                where = f"\nThe node was created at {frame.filename}:{frame.lineno}: {frame.line}"
            raise FloatingPointError(
                f"{operation.label()} (inputs of shapes {shapes}) produced {bad} in {what} "
                f"during the {phase} pass.{where}"
            )


# The operator methods above build nodes from the operation modules, and Variable.backward
# runs the reverse pass; those modules import Operation and Variable from this one, so they
# are imported last.
from . import ops as _ops  # noqa: E402
from . import reverse as _reverse  # noqa: E402
