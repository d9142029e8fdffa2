"""What the test cells of Assignment 3 (matrix calculus, einsum, the softmax VJP) call besides the
general checks: the forward functions whose VJPs the exercises write, the adapters that turn a
student's backward function into what ``check_vjp`` calls, the reference functions of Exercises 6a
and 7, and the known mistakes of each backward function.

A known mistake is a ``Mistake(description, wrong_vjp)``: ``wrong_vjp(*inputs, grad)`` returns the
gradients, one per input, that a backward function making that mistake would return;
``check_vjp(..., known_mistakes=...)`` names the description when a wrong gradient equals it.

Students can read this module (their setup cell imports it as ``known``): it holds only what the
visible part of the test cells used to define. Hidden cases stay in the hidden part of the cells.
"""

from __future__ import annotations

import numpy as np


from ..core import Mistake
from .references import linear, softmax  # noqa: F401 - the cells call known.linear, known.softmax

__all__ = ["matvec", "MATVEC_MISTAKES", "MATMUL_MISTAKES", "unbroadcast_vjp", "broadcast_to", "linear",
           "LINEAR_MISTAKES", "einsum_vjp", "einsum", "batched_matvec", "BATCHED_MATVEC_MISTAKES", "tensordot_vjp",
           "tensordot", "jacobian_of_softmax", "softmax", "softmax_vjp_of_logits", "SOFTMAX_VJP_MISTAKES",
           "outer_product_per_example"]


# ------------------------------------------------------------------ Exercise 1: matrix products

def matvec(W, x):
    """y = W x: the forward function of Exercise 1a (matvec_backward is its VJP)."""
    return W @ x


# Exercise 1a: matvec_backward(W, x, grad) -> (dW, dx)
MATVEC_MISTAKES = (
    Mistake("dW = x grad^T: the outer product is the wrong way round", lambda W, x, g: (np.outer(x, g), W.T @ g)),
    Mistake("dx = W grad: W was not transposed", lambda W, x, g: (np.outer(g, x), W @ g)),
)

# Exercise 1b: matmul_backward(A, B, grad) -> (dA, dB), the VJP of np.matmul
MATMUL_MISTAKES = (
    Mistake("dA = grad B: B was not transposed", lambda A, B, g: (g @ B, A.T @ g)),
    Mistake("dB = A grad: A was not transposed", lambda A, B, g: (g @ B.T, A @ g)),
    Mistake("the factors are in the wrong order (dA = B^T grad, dB = grad A^T)", lambda A, B, g: (B.T @ g, g @ A.T)),
)


# ------------------------------------------------------------------ Exercise 2: broadcasting, the linear layer

def unbroadcast_vjp(unbroadcast):
    """The student's ``unbroadcast(grad, shape)`` as the VJP of a broadcast of x, in the form
    ``check_vjp`` calls: ``(x, grad) -> unbroadcast(grad, x.shape)``."""

    def vjp(x, grad):
        return unbroadcast(grad, x.shape)

    return vjp


def broadcast_to(target):
    """The forward function of Exercise 2a: x broadcast to the shape ``target``."""

    def forward(x):
        return np.broadcast_to(x, target)

    return forward


# Exercise 2b: linear_backward(X, W, b, grad) -> (dX, dW, db)
LINEAR_MISTAKES = (
    Mistake("db is the mean of grad over the batch; the bias is used once per example, so add them up",
            lambda X, W, b, g: (g @ W.T, X.T @ g, g.mean(axis=0))),
    Mistake("dX = grad W: W was not transposed", lambda X, W, b, g: (g @ W, X.T @ g, g.sum(axis=0))),
    Mistake("dW = X grad: X was not transposed", lambda X, W, b, g: (g @ W.T, X @ g, g.sum(axis=0))),
)


# ------------------------------------------------------------------ Exercise 3: the einsum backward rule

def einsum_vjp(einsum_backward, subscripts):
    """The student's ``einsum_backward(subscripts, operands, grad, k)`` for every operand, in the form
    ``check_vjp`` calls: ``(*operands, grad) -> (gradient of operand 0, gradient of operand 1, ...)``."""

    def vjp(*args):  # a fresh list of the operands for every call, as the cell's lambda gave
        return tuple(einsum_backward(subscripts, list(args[:-1]), args[-1], k) for k in range(len(args) - 1))

    return vjp


def einsum(subscripts):
    """The forward function of Exercise 3 for ``subscripts``: ``(*operands) -> np.einsum(subscripts, *operands)``."""

    def forward(*operands):
        return np.einsum(subscripts, *operands)

    return forward


# ------------------------------------------------------------------ Exercise 4: batched matrix multiply

def batched_matvec(X, M):
    """Y[i] = X[i] M[i], einsum 'ik,ikj->ij': the forward function of Exercise 4."""
    return np.einsum("ik,ikj->ij", X, M)


# Exercise 4: batched_matvec_backward(X, M, grad) -> (dX, dM)
BATCHED_MATVEC_MISTAKES = (
    Mistake("dM was summed over the batch: each example has its own matrix M[i], whose gradient comes "
            "from that example only", lambda X, M, g: (np.einsum("ij,ikj->ik", g, M),
                                                       np.broadcast_to(np.einsum("ik,ij->kj", X, g), M.shape))),
    Mistake("dX = einsum('ij,ijk->ik', grad, M): the two axes of M are swapped",
            lambda X, M, g: (np.einsum("ij,ijk->ik", g, M), np.einsum("ik,ij->ikj", X, g))),
)


# ------------------------------------------------------------------ Exercise 5: tensordot

def tensordot_vjp(tensordot_backward, axes):
    """The student's ``tensordot_backward(A, B, grad, axes)`` for a fixed ``axes``, in the form
    ``check_vjp`` calls: ``(A, B, grad) -> (dA, dB)``."""

    def vjp(A, B, grad):
        return tensordot_backward(A, B, grad, axes)

    return vjp


def tensordot(axes):
    """The forward function of Exercise 5 for ``axes``: ``(A, B) -> np.tensordot(A, B, axes)``."""

    def forward(A, B):
        return np.tensordot(A, B, axes)

    return forward


# ------------------------------------------------------------------ Exercise 6: softmax


def jacobian_of_softmax(x):
    """The Jacobian diag(s) - s s^T of the softmax s of a 1-D x: the reference of Exercise 6a."""
    s = softmax(x)
    return np.diag(s) - np.outer(s, s)


def softmax_vjp_of_logits(softmax_vjp):
    """The student's ``softmax_vjp(s, grad)`` as the VJP of softmax with respect to the logits, in the
    form ``check_vjp`` calls: ``(x, grad) -> softmax_vjp(softmax(x), grad)``."""

    def vjp(x, grad):
        return softmax_vjp(softmax(x), grad)

    return vjp


# Exercise 6b: the VJP of softmax as a function of the logits x, (x, grad) -> (dx,)
SOFTMAX_VJP_MISTAKES = (
    Mistake("the subtraction term is missing: s * grad is only the delta_ij s_i part of the Jacobian",
            lambda x, g: (softmax(x) * g,)),
    Mistake("only the diagonal of the Jacobian was used, s (1 - s) grad: the -s_i s_j terms are missing",
            lambda x, g: (softmax(x) * (1 - softmax(x)) * g,)),
)


# ------------------------------------------------------------------ Exercise 7: per-example gradients

def outer_product_per_example(X, G):
    """The outer products x_b g_b^T of the rows of X and G, stacked, one Python loop over the batch:
    the reference of Exercise 7."""
    return np.stack([np.outer(x, g) for x, g in zip(X, G)])
