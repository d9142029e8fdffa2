"""Reference finite differences (the notebooks use these so that each exercise stands alone).

For a small step h:
    forward   f'(x) ~ (f(x + h) - f(x)) / h              error O(h)
    backward  f'(x) ~ (f(x) - f(x - h)) / h              error O(h)
    central   f'(x) ~ (f(x + h) - f(x - h)) / (2h)       error O(h^2)
plus round-off of about machine epsilon * |f(x)| / h, which grows as h shrinks.
"""

from __future__ import annotations


def forward_difference(f, x, h):
    return (f(x + h) - f(x)) / h


def backward_difference(f, x, h):
    return (f(x) - f(x - h)) / h


def central_difference(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)
