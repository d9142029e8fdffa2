"""What the test cells of 05_forward_mode call besides the general checks.

The checks of dual numbers, JVPs and forward-mode Jacobians (and their known mistakes) are in
``autograder.checks.forward_mode``; here are the example functions that the visible test cells
used to define. Students can read this module (their setup cell imports it as ``known``); hidden
cases stay in the hidden part of the cells.

The examples are written with ``Dual(value, tangent)``, ``.value`` and ``.tangent`` only, so that
they do not depend on the student's arithmetic of Exercise 1. ``Dual`` is the student's class: the
test cell passes it in, ``linear = known.linear_2_to_2(Dual)``.
"""

from __future__ import annotations

__all__ = ["linear_2_to_2", "linear_2_to_3"]


def linear_2_to_2(Dual):
    """The example of Exercise 3 (dual_jvp): f(x, y) = (2x + 3y, x - y), so J = [[2, 3], [1, -1]],
    as a function of a list of two ``Dual``s."""

    def linear(xs):
        x, y = xs
        return [Dual(2 * x.value + 3 * y.value, 2 * x.tangent + 3 * y.tangent),
                Dual(x.value - y.value, x.tangent - y.tangent)]

    return linear


def linear_2_to_3(Dual):
    """The example of Exercise 4 (jacobian_forward): f(x, y) = (2x + 3y, x - y, 4y), so
    J = [[2, 3], [1, -1], [0, 4]], as a function of a list of two ``Dual``s."""

    def linear(xs):
        x, y = xs
        return [*linear_2_to_2(Dual)(xs), Dual(4 * y.value, 4 * y.tangent)]

    return linear
