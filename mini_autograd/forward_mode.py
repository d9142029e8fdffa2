"""Forward mode: Jacobian-vector products from each Operation's ``jvp`` rule.

Forward mode carries, next to every value, its tangent: the derivative of that value in
one chosen input direction. For z = g(x, y) the chain rule gives

    tangent(z) = dg/dx tangent(x) + dg/dy tangent(y),

which each Operation computes in ``jvp``. One forward sweep gives J v for one direction v,
so a full Jacobian costs one sweep per *input* entry (reverse mode: one per *output* entry).
"""

from __future__ import annotations

import numpy as np

from .graph import Variable
from .reverse import compute_gradients, topological_order


def _trace(f, primals):
    """Call f on fresh leaf Variables and return (inputs, output, ops in topological order)."""
    inputs = [Variable(p) for p in primals]
    output = f(*inputs)
    if not isinstance(output, Variable):
        raise TypeError(
            f"the function must return a Variable computed from its inputs, got {type(output).__name__}; "
            "build it from mini_autograd operations"
        )
    return inputs, output, topological_order(output)


def _push_tangents(inputs, output, order, tangents):
    """One forward sweep: the output's tangent for the given input tangents."""
    tangent_of = {variable: np.asarray(t, dtype=variable.dtype) for variable, t in zip(inputs, tangents)}
    for operation in order:
        input_tangents = [tangent_of.get(v) for v in operation.inputs]
        if all(t is None for t in input_tangents):
            continue
        input_tangents = [np.zeros(np.shape(v.value), dtype=v.value.dtype) if t is None else t for v, t in zip(operation.inputs, input_tangents)]
        tangent_of[operation.output] = np.asarray(operation.jvp(*input_tangents))
    out = tangent_of.get(output)
    return np.zeros(np.shape(output.value), dtype=output.dtype) if out is None else out


def jvp(f, primals, tangents):
    """Evaluate f at ``primals`` and its Jacobian-vector product in the direction ``tangents``.

    ``f`` takes one Variable per primal and returns a Variable. ``primals`` and ``tangents``
    are sequences of arrays (or single arrays for a function of one input).
    Returns ``(output_value, output_tangent)``.
    """
    if not isinstance(primals, (list, tuple)):
        primals, tangents = (primals,), (tangents,)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primal(s) but {len(tangents)} tangent(s); give one tangent per primal")
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if np.shape(p) != np.shape(t):
            raise ValueError(f"jvp: tangent {i} has shape {np.shape(t)} but its primal has shape {np.shape(p)}")
    inputs, output, order = _trace(f, primals)
    return output.value, _push_tangents(inputs, output, order, tangents)


def jacobian(f, x, mode: str = "reverse") -> np.ndarray:
    """The Jacobian of f at x, shaped ``f(x).shape + x.shape``.

    mode="reverse": one backward pass per output entry (cheap for few outputs);
    mode="forward": one forward (JVP) sweep per input entry (cheap for few inputs).
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    (leaf,), output, order = _trace(f, (x,))
    in_shape, out_shape = leaf.shape, output.shape
    result = np.zeros(out_shape + in_shape, dtype=np.result_type(leaf.dtype, output.dtype))
    if mode == "reverse":
        rows = result.reshape(int(np.prod(out_shape)), -1)
        for i in range(rows.shape[0]):
            seed = np.zeros(int(np.prod(out_shape)), dtype=output.dtype)
            seed[i] = 1
            grad = compute_gradients(output, seed.reshape(out_shape)).get(leaf)
            if grad is not None:
                rows[i] = np.ravel(grad)
    else:
        columns = result.reshape(int(np.prod(out_shape)), -1)
        for j in range(columns.shape[1]):
            direction = np.zeros(int(np.prod(in_shape)), dtype=leaf.dtype)
            direction[j] = 1
            columns[:, j] = np.ravel(_push_tangents([leaf], output, order, [direction.reshape(in_shape)]))
    return result
