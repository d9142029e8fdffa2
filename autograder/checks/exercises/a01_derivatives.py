"""What the test cells of 01_derivatives call besides the general checks.

Students can read this module (their setup cell imports it as ``known``): it holds only what the
visible part of the test cells used to define. Hidden cases stay in the hidden part of the cells.
"""

from __future__ import annotations

import numpy as np

import mini_autograd as ag

__all__ = ["reference_forward_pass", "y"]


def reference_forward_pass(x):
    """The values of Exercise 4's forward pass (a = x^2, b = exp(a), c = a + b, d = sqrt(c),
    e = cos(c), f = d + e), bound as ``forward_pass`` while the student's ``reverse_pass`` runs
    (``reference_functions(globals(), forward_pass=known.reference_forward_pass)``), so that the
    reverse pass is judged with reference values, not with the student's forward pass."""
    a = np.square(x)
    c = a + np.exp(a)
    return dict(a=a, b=np.exp(a), c=c, d=np.sqrt(c), e=np.cos(c), f=np.sqrt(c) + np.cos(c))


def y(x, z):
    """Exercise 5's function y = exp(xz) + xz / ln x + sin(ln x) / (xz), written with
    ``mini_autograd``: ``y(x, z).backward()`` gives the derivatives the student's formulas must match."""
    return ag.exp(x * z) + x * z / ag.log(x) + ag.sin(ag.log(x)) / (x * z)
