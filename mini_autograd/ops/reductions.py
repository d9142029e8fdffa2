"""Reductions: sum, mean, max over all axes or chosen ones.

A reduction maps many inputs to one output, so in the backward pass the output's gradient
is sent back to every input that contributed: copied (sum), copied and scaled (mean), or
routed to the winner (max).
"""

from __future__ import annotations

import numpy as np

from ..graph import Operation


def _normalize_axes(axis, ndim: int) -> tuple:
    """``axis`` as a tuple of non-negative axes (all axes for None), with a clear error."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    normalized = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for an input with {ndim} dimension(s)")
        normalized.append(a % ndim)
    return tuple(sorted(normalized))


def expand_reduced(grad: np.ndarray, axes: tuple, keepdims: bool, shape: tuple) -> np.ndarray:
    """Broadcast the gradient of a reduction back to the input ``shape``."""
    if not keepdims:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


class Sum(Operation):
    """z = sum of x over ``axis``.   dz/dx_i = 1: every input gets the output's gradient."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axes(self.axis, np.ndim(x))
        self.shape = np.shape(x)
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        return (expand_reduced(grad, self.axes, self.keepdims, self.shape),)

    def jvp(self, t):
        return np.sum(t, axis=self.axes, keepdims=self.keepdims)

    def label(self):
        return "Sum" if self.axis is None else f"Sum(axis={self.axis})"


class Mean(Operation):
    """z = mean of x over ``axis`` (n values).   dz/dx_i = 1/n."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axes(self.axis, np.ndim(x))
        self.shape = np.shape(x)
        self.count = int(np.prod([self.shape[a] for a in self.axes]))
        return np.mean(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        return (expand_reduced(grad / self.count, self.axes, self.keepdims, self.shape),)

    def jvp(self, t):
        return np.mean(t, axis=self.axes, keepdims=self.keepdims)

    def label(self):
        return "Mean" if self.axis is None else f"Mean(axis={self.axis})"


class Max(Operation):
    """z = max of x over ``axis``.   dz/dx_i = 1 for the maximal x_i, 0 for the others.

    When several entries tie for the maximum, the gradient is shared equally between them
    (the average of the one-sided derivatives, as torch.amax does).
    """

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axes(self.axis, np.ndim(x))
        self.shape = np.shape(x)
        largest = np.max(x, axis=self.axes, keepdims=True)
        winners = (x == largest).astype(np.result_type(x, np.float32))
        self.share = winners / np.sum(winners, axis=self.axes, keepdims=True)
        return largest if self.keepdims else np.squeeze(largest, axis=self.axes)

    def backward(self, grad):
        return (expand_reduced(grad, self.axes, self.keepdims, self.shape) * self.share,)

    def jvp(self, t):
        return np.sum(t * self.share, axis=self.axes, keepdims=self.keepdims)

    def label(self):
        return "Max" if self.axis is None else f"Max(axis={self.axis})"


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy's name
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    return Mean(axis, keepdims)(x)


def max(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy's name
    return Max(axis, keepdims)(x)
