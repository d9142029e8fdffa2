"""Finite differences for the checks, in float64, using only references taken at import.

The checks do not call mini_autograd's own numerical_gradient: what judges the student's
engine pieces must not depend on them.
"""

from __future__ import annotations

from . import integrity as safe

EPS = 1e-6


def as_float64(x):
    return safe.np_array(x, dtype=safe.np_float64)


def evaluate(f, arrays):
    return as_float64(f(*[safe.np_copy(a) for a in arrays]))


def numeric_vjp(f, arrays, grad_output, k: int, eps: float = EPS):
    """d/d(arrays[k]) of sum(grad_output * f(*arrays)) by central differences."""
    arrays = [as_float64(a) for a in arrays]
    target = arrays[k]
    result = safe.np_zeros(target.shape)
    weights = as_float64(grad_output)
    for index in safe.np_ndindex(target.shape):
        original = target[index]
        target[index] = original + eps
        plus = float(safe.np_sum(weights * evaluate(f, arrays)))
        target[index] = original - eps
        minus = float(safe.np_sum(weights * evaluate(f, arrays)))
        target[index] = original
        result[index] = (plus - minus) / (2 * eps)
    return result


def numeric_directional(f, arrays, k: int, direction, eps: float = EPS):
    """(f(x + eps v) - f(x - eps v)) / 2 eps, moving only arrays[k] along v: the JVP J_k v."""
    arrays = [as_float64(a) for a in arrays]
    plus = list(arrays)
    minus = list(arrays)
    plus[k] = arrays[k] + eps * direction
    minus[k] = arrays[k] - eps * direction
    return (evaluate(f, plus) - evaluate(f, minus)) / (2 * eps)
