"""Elementwise operations.

Every rule here is local: the Jacobian of an elementwise function is diagonal, so the
vector-Jacobian product is an elementwise product, ``grad_input = grad_output * f'(x)``,
and the Jacobian-vector product is ``tangent_output = f'(x) * tangent_input``.

Binary operations broadcast like numpy. An input that was broadcast was used several times,
so its gradient is the sum over the broadcast axes: that is what ``unbroadcast`` does.
An input that needs no gradient (a constant such as the 2 in 2 * x) gets None: the
backward pass skips work nobody will use.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..graph import Operation


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the gradient of an input that numpy broadcast.

    Broadcasting copies an input along new leading axes and along axes of size 1; the
    gradient of a copied value is the sum of the gradients of its copies.
    """
    if grad.shape == shape:
        return grad
    extra_leading_axes = grad.ndim - len(shape)
    if extra_leading_axes:
        grad = grad.sum(axis=tuple(range(extra_leading_axes)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


# --- binary operations --------------------------------------------------------------


class Add(Operation):
    """z = a + b.   dz/da = 1, dz/db = 1, so both inputs receive grad_output."""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        if type(grad) is not np.ndarray:  # a 0-d output (a numpy scalar): so were a and b
            return grad, grad
        a, b = self.inputs
        grad_a = unbroadcast(grad, a.shape) if a.requires_grad else None
        grad_b = unbroadcast(grad, b.shape) if b.requires_grad else None
        return grad_a, grad_b

    def jvp(self, ta, tb):
        return ta + tb


class Subtract(Operation):
    """z = a - b.   dz/da = 1, dz/db = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        a, b = self.inputs
        grad_a = unbroadcast(grad, a.shape) if a.requires_grad else None
        grad_b = unbroadcast(-grad, b.shape) if b.requires_grad else None
        return grad_a, grad_b

    def jvp(self, ta, tb):
        return ta - tb


class Multiply(Operation):
    """z = a * b.   dz/da = b, dz/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        a, b = self.inputs
        grad_a = unbroadcast(grad * self.b, a.shape) if a.requires_grad else None
        grad_b = unbroadcast(grad * self.a, b.shape) if b.requires_grad else None
        return grad_a, grad_b

    def jvp(self, ta, tb):
        return ta * self.b + self.a * tb


class Divide(Operation):
    """z = a / b.   dz/da = 1/b, dz/db = -a/b**2 = -z/b."""

    def forward(self, a, b):
        self.b = b
        self.z = a / b
        return self.z

    def backward(self, grad):
        a, b = self.inputs
        grad_over_b = grad / self.b
        grad_a = unbroadcast(grad_over_b, a.shape) if a.requires_grad else None
        grad_b = unbroadcast(-grad_over_b * self.z, b.shape) if b.requires_grad else None
        return grad_a, grad_b

    def jvp(self, ta, tb):
        return (ta - self.z * tb) / self.b


class Power(Operation):
    """z = a ** b.   dz/da = b * a**(b-1),  dz/db = a**b * log(a)  (for a > 0).

    The exponent's gradient is only computed when the exponent needs one: x ** 2 of a
    negative x must not ask for log(x).
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        self.z = a**b
        return self.z

    def _exponent_derivative(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.z * np.log(self.a)

    def backward(self, grad):
        a, b = self.inputs
        grad_a = unbroadcast(grad * self.b * self.a ** (self.b - 1), a.shape) if a.requires_grad else None
        grad_b = unbroadcast(grad * self._exponent_derivative(), b.shape) if b.requires_grad else None
        return grad_a, grad_b

    def jvp(self, ta, tb):
        tangent = self.b * self.a ** (self.b - 1) * ta
        if np.any(tb):
            tangent = tangent + self._exponent_derivative() * tb
        return tangent


# --- unary operations ---------------------------------------------------------------


class Negate(Operation):
    """z = -x.   dz/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)

    def jvp(self, t):
        return -t


class Exp(Operation):
    """z = exp(x).   dz/dx = exp(x) = z."""

    def forward(self, x):
        self.z = np.exp(x)
        return self.z

    def backward(self, grad):
        return (grad * self.z,)

    def jvp(self, t):
        return self.z * t


class Log(Operation):
    """z = log(x).   dz/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, grad):
        return (grad / self.x,)

    def jvp(self, t):
        return t / self.x


class Sqrt(Operation):
    """z = sqrt(x).   dz/dx = 1 / (2 sqrt(x)) = 1 / (2z)."""

    def forward(self, x):
        self.z = np.sqrt(x)
        return self.z

    def backward(self, grad):
        return (grad / (2 * self.z),)

    def jvp(self, t):
        return t / (2 * self.z)


class Sin(Operation):
    """z = sin(x).   dz/dx = cos(x)."""

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, grad):
        return (grad * np.cos(self.x),)

    def jvp(self, t):
        return np.cos(self.x) * t


class Cos(Operation):
    """z = cos(x).   dz/dx = -sin(x)."""

    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, grad):
        return (-grad * np.sin(self.x),)

    def jvp(self, t):
        return -np.sin(self.x) * t


class Tanh(Operation):
    """z = tanh(x).   dz/dx = 1 - tanh(x)**2 = 1 - z**2."""

    def forward(self, x):
        self.z = np.tanh(x)
        return self.z

    def backward(self, grad):
        return (grad * (1 - self.z * self.z),)

    def jvp(self, t):
        return (1 - self.z * self.z) * t


class Sigmoid(Operation):
    """z = 1 / (1 + exp(-x)).   dz/dx = z (1 - z).

    Computed as exp(-log(1 + exp(-x))) with np.logaddexp, which never overflows.
    """

    def forward(self, x):
        self.z = np.exp(-np.logaddexp(0, -x))
        return self.z

    def backward(self, grad):
        return (grad * self.z * (1 - self.z),)

    def jvp(self, t):
        return self.z * (1 - self.z) * t


class ReLU(Operation):
    """z = max(x, 0).   dz/dx = 1 where x > 0, else 0 (we take 0 at x = 0, like PyTorch).

    x > 0 exactly where z > 0, so the output alone tells backward where to pass the gradient.
    """

    def forward(self, x):
        self.z = np.maximum(x, _zero_row(x))
        return self.z

    def backward(self, grad):
        # (the mask in the values' dtype: a product with a bool array casts it element by element, 2x slower)
        return (grad * (self.z > 0).astype(self.z.dtype),)

    def jvp(self, t):
        return t * (self.z > 0)


@lru_cache(maxsize=64)
def _zeros(length: int, dtype) -> np.ndarray:
    zeros = np.zeros(length, dtype)
    zeros.flags.writeable = False
    return zeros


def _zero_row(x):
    """0 for np.maximum(x, 0), as a (cached, read-only) row of zeros of x's dtype when x is an
    array: numpy 2's maximum of an array against a scalar is not vectorised and runs about 3x
    slower than against a row that broadcasts (25 us against 8 us for 128 x 256 float32)."""
    if type(x) is not np.ndarray or x.ndim == 0:
        return 0
    return _zeros(x.shape[-1], x.dtype)


class Abs(Operation):
    """z = |x|.   dz/dx = sign(x) (0 at x = 0)."""

    def forward(self, x):
        self.sign = np.sign(x)
        return np.abs(x)

    def backward(self, grad):
        return (grad * self.sign,)

    def jvp(self, t):
        return self.sign * t


# --- the functional API -------------------------------------------------------------


def add(a, b):
    return Add()(a, b)


def subtract(a, b):
    return Subtract()(a, b)


def multiply(a, b):
    return Multiply()(a, b)


def divide(a, b):
    return Divide()(a, b)


def power(a, b):
    return Power()(a, b)


def negative(x):
    return Negate()(x)


def exp(x):
    return Exp()(x)


def log(x):
    return Log()(x)


def sqrt(x):
    return Sqrt()(x)


def sin(x):
    return Sin()(x)


def cos(x):
    return Cos()(x)


def tanh(x):
    return Tanh()(x)


def sigmoid(x):
    return Sigmoid()(x)


def relu(x):
    return ReLU()(x)


def abs(x):  # noqa: A001 - mirrors numpy's name
    return Abs()(x)
