"""Reverse mode (backpropagation) over the bipartite graph.

For the output f and every Variable x it depends on:

    df/dx = sum over the Operations j that use x of  (df/d out_j) (d out_j / dx)

Each Operation's ``backward`` computes one term of that sum (a vector-Jacobian product),
so we only need to visit the Operations in reverse topological order, hand each one the
gradient of its output, and add what it returns into the gradients of its inputs.
"""

from __future__ import annotations

import gc
import heapq

import numpy as np

from .graph import Operation, Variable, _mode, _ndarray, check_finite


def topological_order(output: Variable) -> list[Operation]:
    """The Operations that ``output`` depends on, each after every Operation it depends on.

    Iterative depth-first search (no recursion, so a chain of 100,000 nodes is fine) that
    visits inputs left to right: the order is the same on every run.
    """
    root = output.producer
    if root is None:
        return []
    order: list[Operation] = []
    expanded, finished = set(), set()
    stack = [root]
    push, pop = stack.append, stack.pop  # (bound once: this loop runs once per node)
    while stack:
        operation = stack[-1]
        if operation in expanded:
            # Back on top: everything pushed above it, its inputs' producers, is finished.
            pop()
            if operation not in finished:  # (a stale second copy of a finished node is skipped)
                finished.add(operation)
                order.append(operation)
            continue
        expanded.add(operation)
        # Push inputs right to left, so the leftmost input is explored first.
        for variable in reversed(operation.inputs):
            producer = variable.producer
            if producer is not None and producer not in expanded:
                push(producer)
    return order


def _seed_gradient(output: Variable, grad) -> np.ndarray:
    value = np.asarray(output.value)
    if grad is None:
        if value.size != 1:
            raise ValueError(
                f"backward() without a gradient only works for a scalar output, but this output has "
                f"shape {value.shape}. Reduce it first (e.g. y.sum().backward()) or pass the gradient "
                f"of the final result with respect to it: y.backward(np.ones({value.shape}))"
            )
        one = value.dtype.type(1)  # 1 in the output's dtype
        return one if value.ndim == 0 else np.full(value.shape, one)  # 0-d: a numpy scalar, like 0-d values
    if isinstance(grad, Variable):
        grad = grad.value
    grad = np.asarray(grad, dtype=value.dtype)
    if grad.shape != value.shape:
        raise ValueError(f"backward(grad): grad has shape {grad.shape} but the output has shape {value.shape}")
    return grad


def compute_gradients(output: Variable, grad=None) -> dict[Variable, np.ndarray]:
    """Run the backward pass and return {variable: d output / d variable} for every Variable
    reached (leaves and intermediates), without touching any ``.grad``.

    ``grad`` is the vector of the vector-Jacobian product; it defaults to 1 for a scalar output.
    """
    return _reverse_pass(output, grad, store=False)


def backward(output: Variable, grad=None) -> None:
    """Add d output / d v to ``v.grad`` for every Variable v that ``output`` depends on.

    The pass of compute_gradients, which adds an intermediate's gradient to its ``.grad`` as
    soon as that is complete (when its producer is taken from the queue) and then forgets it,
    so that the pass holds only the gradients still being summed; leaves get theirs at the end.
    """
    _reverse_pass(output, grad, store=True)


def _add_to_grad(variable: Variable, gradient) -> None:
    if variable.producer is None and (type(gradient) is not _ndarray or not gradient.flags.writeable):
        gradient = np.array(gradient)  # a leaf's .grad is always a writeable ndarray
    variable.grad = gradient if variable.grad is None else variable.grad + gradient


def _reverse_pass(output: Variable, grad, store: bool) -> dict[Variable, np.ndarray]:
    """The backward pass of compute_gradients and (``store``) of backward.

    The Operations are visited latest-made first, as PyTorch's engine does: every Operation is
    made after the ones that produce its inputs, so when an Operation is taken from the queue,
    everything that uses its output has already sent its gradient back. (``topological_order``
    gives another valid order, by depth-first search, as Exercise 6 does it.) An Operation is
    queued when its output receives its first gradient, so the dict of gradients is also the
    record of what has been queued, and an Operation nothing flows back through is never run.
    """
    grads: dict[Variable, np.ndarray] = {output: _seed_gradient(output, grad)}
    if output.producer is None:
        if store and output.requires_grad:
            _add_to_grad(output, grads[output])
        return grads
    leaves = []  # the leaves reached, in order
    queue = [(-output.producer._sequence, output)]  # (minus the creation number, the output Variable)
    summed = set()  # Variables whose gradient is a sum this pass made: an array nobody else holds
    check = _mode.detect_anomaly
    # The pass creates no reference cycles, so Python's cycle collector would only re-scan
    # the (possibly huge) graph every few hundred allocations: pause it meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    get, push, pop = grads.get, heapq.heappush, heapq.heappop  # (bound once: used for every node)
    try:
        while queue:
            operation = (made := pop(queue)[1]).producer
            if store:  # its gradient is complete (every Operation that uses it has run)
                grad_output = grads.pop(made)
                made.grad = grad_output if made.grad is None else made.grad + grad_output
            else:
                grad_output = grads[made]
            inputs = operation.inputs
            input_grads = operation.backward(grad_output)
            if type(input_grads) is not tuple or len(input_grads) != len(inputs):
                input_grads = _as_tuple(operation, input_grads)
            if check:
                check_finite(operation, "backward", input_grads)
            for variable, input_grad in zip(inputs, input_grads):
                if input_grad is None or not variable.requires_grad:
                    continue
                # The gradient must have the input's shape and dtype. A numpy scalar of the
                # value's own type has both (that is the common 0-d case, checked cheaply).
                value = variable.value
                kind = type(value)
                if type(input_grad) is not kind or (kind is _ndarray and (
                        input_grad.shape != value.shape or input_grad.dtype is not value.dtype)):
                    input_grad = _conform(operation, variable, input_grad)
                # A Variable used by several Operations gets the sum of their contributions. The
                # first is stored as it is (it may be another node's gradient, or a view of one),
                # the second makes a new array, and later ones are added to it in place.
                previous = get(variable)
                if previous is None:
                    grads[variable] = input_grad
                    producer = variable.producer
                    if producer is not None:  # its first gradient: queue the node that made it
                        push(queue, (-producer._sequence, variable))
                    else:
                        leaves.append(variable)
                elif kind is not _ndarray:  # a numpy scalar (0-d), which is immutable
                    grads[variable] = previous + input_grad
                elif variable in summed:
                    previous += input_grad
                else:
                    grads[variable] = total = previous + input_grad
                    if type(total) is _ndarray:  # (a 0-d ndarray sums to a numpy scalar, immutable too)
                        summed.add(variable)
    finally:
        if collecting:
            gc.enable()
    if store:
        for leaf in leaves:
            _add_to_grad(leaf, grads[leaf])
    return grads


def _conform(operation: Operation, variable: Variable, input_grad):
    """Check a gradient's shape (raising a helpful error) and give it the input's dtype."""
    if isinstance(input_grad, Variable):
        input_grad = input_grad.value
    input_grad = np.asarray(input_grad)
    value = variable.value
    if input_grad.shape != value.shape:
        raise ValueError(_wrong_shape_message(operation, variable, input_grad))
    if input_grad.dtype != value.dtype:
        input_grad = input_grad.astype(value.dtype)
    return input_grad


def _as_tuple(operation: Operation, input_grads) -> tuple:
    """Accept a list, or a bare gradient for a one-input node; explain anything else."""
    count = len(operation.inputs)
    if isinstance(input_grads, list):
        input_grads = tuple(input_grads)
    elif not isinstance(input_grads, tuple):
        if count == 1 and (input_grads is None or hasattr(input_grads, "shape")):
            return (input_grads,)  # a single gradient returned without the tuple
        raise TypeError(
            f"{operation.label()}.backward must return a tuple with one gradient per input, "
            f"got {type(input_grads).__name__}"
        )
    if len(input_grads) != count:
        raise ValueError(
            f"{operation.label()}.backward returned {len(input_grads)} gradient(s) but the node has "
            f"{count} input(s); return one gradient per input, in order"
        )
    return input_grads


def _wrong_shape_message(operation: Operation, variable: Variable, input_grad) -> str:
    position = next(i for i, v in enumerate(operation.inputs) if v is variable)
    got, want = np.shape(input_grad), np.shape(variable.value)
    hint = ""
    try:
        was_broadcast = len(got) >= len(want) and np.broadcast_shapes(got, want) == tuple(got)
    except ValueError:
        was_broadcast = False
    if was_broadcast:
        hint = (
            " The input was broadcast in the forward pass, so its gradient must be summed over the "
            "broadcast axes (see mini_autograd.ops.unbroadcast)."
        )
    elif sorted(got) == sorted(want):
        hint = " Is the gradient transposed?"
    return (
        f"{operation.label()}.backward returned a gradient of shape {got} for input {position}, "
        f"which has shape {want}; a gradient must have the shape of its input.{hint}"
    )
