"""Operations that move values around without changing them.

Each of these is linear and only rearranges, copies or selects entries, so its backward pass
performs the inverse rearrangement on the gradient: reshape back, transpose back, scatter
back into the selected positions, split what was joined, sum what was copied.
"""

from __future__ import annotations

import numpy as np

from ..graph import Operation, Variable, _lift
from .elementwise import unbroadcast


class Reshape(Operation):
    """z = x.reshape(shape).   The gradient is reshaped back to x's shape."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.input_shape = np.shape(x)
        try:
            return np.reshape(x, self.shape)
        except ValueError:
            raise ValueError(
                f"Reshape: cannot reshape an input of shape {self.input_shape} ({np.size(x)} values) "
                f"into shape {self.shape}"
            ) from None

    def backward(self, grad):
        return (np.reshape(grad, self.input_shape),)

    def jvp(self, t):
        return np.reshape(t, self.shape)

    def label(self):
        return f"Reshape{self.shape}"


class Transpose(Operation):
    """z = x.transpose(axes) (reverse all axes when axes is None).

    The gradient is transposed back with the inverse permutation.
    """

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        ndim = np.ndim(x)
        axes = tuple(reversed(range(ndim))) if self.axes is None else self.axes
        if sorted(a % ndim if -ndim <= a < ndim else a for a in axes) != list(range(ndim)):
            raise ValueError(f"Transpose: axes {axes} are not a permutation of the {ndim} axes of shape {np.shape(x)}")
        self.permutation = tuple(a % ndim for a in axes)
        return np.transpose(x, self.permutation)

    def backward(self, grad):
        return (np.transpose(grad, np.argsort(self.permutation)),)

    def jvp(self, t):
        return np.transpose(t, self.permutation)

    def label(self):
        return "Transpose" if self.axes is None else f"Transpose{self.axes}"


def _is_basic_index(index) -> bool:
    """True for ints, slices, None and Ellipsis (indexing that never repeats an entry)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


class GetItem(Operation):
    """z = x[index].   The gradient is scattered back into a zero array of x's shape.

    With integer-array indexing an entry can be selected more than once, so the scatter adds
    (np.add.at) instead of assigning.
    """

    def __init__(self, index):
        if isinstance(index, Variable):
            index = index.value
        if isinstance(index, tuple):
            index = tuple(i.value if isinstance(i, Variable) else i for i in index)
        self.index = index

    def forward(self, x):
        self.input_shape, self.dtype = np.shape(x), np.asarray(x).dtype
        try:
            return np.asarray(x)[self.index]
        except IndexError as error:
            raise IndexError(f"GetItem: index {self.index!r} does not fit an input of shape {self.input_shape}: {error}") from None

    def backward(self, grad):
        full = np.zeros(self.input_shape, dtype=self.dtype)
        if _is_basic_index(self.index):
            full[self.index] = grad
        else:
            np.add.at(full, self.index, grad)
        return (full,)

    def jvp(self, t):
        return t[self.index]

    def label(self):
        return "GetItem"


class Concatenate(Operation):
    """z = concatenate(xs, axis).   The gradient is split back into the pieces."""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        self.split_points = np.cumsum([np.shape(x)[self.axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=self.axis)

    def backward(self, grad):
        return tuple(np.split(grad, self.split_points, axis=self.axis))

    def jvp(self, *ts):
        return np.concatenate(ts, axis=self.axis)


class Stack(Operation):
    """z = stack(xs, axis).   The gradient is cut along the new axis, one slice per input."""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, grad):
        return tuple(np.moveaxis(grad, self.axis, 0))

    def jvp(self, *ts):
        return np.stack(ts, axis=self.axis)


class BroadcastTo(Operation):
    """z = broadcast_to(x, shape).   Copies are summed back: the gradient is unbroadcast."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.input_shape = np.shape(x)
        try:
            return np.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(f"BroadcastTo: cannot broadcast shape {self.input_shape} to {self.shape}") from None

    def backward(self, grad):
        return (unbroadcast(grad, self.input_shape),)

    def jvp(self, t):
        return np.broadcast_to(t, self.shape)


def reshape(x, shape):
    return Reshape(shape)(x)


def transpose(x, axes=None):
    return Transpose(axes)(x)


def concatenate(xs, axis=0):
    if not xs:
        raise ValueError("concatenate needs at least one array")
    return Concatenate(axis)(*_lift(tuple(xs)))


def stack(xs, axis=0):
    if not xs:
        raise ValueError("stack needs at least one array")
    return Stack(axis)(*_lift(tuple(xs)))


def broadcast_to(x, shape):
    return BroadcastTo(shape)(x)
