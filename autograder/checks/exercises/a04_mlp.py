"""What the test cells of Assignment 4 (multi-layer perceptrons) call besides the general checks:
the reference functions of the exercises, the adapters that turn a student's function into what
``check_function`` / ``check_vjp`` call, and the known mistake of the squared loss.

Students can read this module (their setup cell imports it as ``known``): it holds only what the
visible part of the test cells used to define. Hidden cases stay in the hidden part of the cells.
The training checks of Exercises 5 to 8 are in ``autograder.checks.training``.
"""

from __future__ import annotations

import numpy as np

import mini_autograd as ag

from ..core import Mistake
from ..gradients import check_function, check_vjp
from .references import linear, relu, sigmoid, softmax  # noqa: F401 - the cells call known.linear, ...

__all__ = ["linear", "forward_of", "relu", "sigmoid", "softmax", "cross_entropy_gradient", "check_cross_entropy",
           "check_cross_entropy_grad", "mse", "mse_vjp", "MSE_MISTAKES", "l2_penalty", "check_l2_penalty",
           "check_l2_penalty_grad", "sigmoid_network", "check_sigmoid_network"]


# ------------------------------------------------------------------ Exercise 1: the linear layer


def forward_of(operation):
    """The forward pass of an Operation class as a function of its input arrays (what
    ``check_function`` calls): ``forward_of(LinearOp)(X, W, b)`` is ``LinearOp().forward(X, W, b)``."""

    def forward(*values):
        return operation().forward(*values)

    return forward


# ------------------------------------------------------------------ Exercise 2: activations


# ------------------------------------------------------------------ Exercise 3: softmax and cross-entropy


def _reference_cross_entropy(labels):
    """The mean cross-entropy of logits against fixed integer labels, as a function of the logits."""
    return lambda logits: ag.cross_entropy(logits, labels).value


def cross_entropy_gradient(logits, labels):
    """The gradient of mini_autograd's mean cross-entropy with respect to the logits (by its backward
    pass): what ``cross_entropy_grad(logits, labels)`` must return."""
    z = ag.Variable(logits)
    ag.cross_entropy(z, labels).backward()
    return z.grad


def check_cross_entropy(student_cross_entropy, labels, input_shapes_list, exercise: str, **options):
    """``check_function`` of ``student_cross_entropy(logits, labels)`` as a function of the logits, with
    the labels fixed, against mini_autograd's cross-entropy (options: domain, seeds, ...)."""
    check_function(lambda logits: student_cross_entropy(logits, labels), _reference_cross_entropy(labels),
                   input_shapes_list, exercise, **options)


def check_cross_entropy_grad(student_grad, labels, input_shapes_list, exercise: str, *,
                             label: str = "cross_entropy_grad", **options):
    """``check_vjp`` of ``student_grad(logits, labels)`` (the gradient of the mean loss, times grad_output)
    against finite differences of mini_autograd's cross-entropy, with the labels fixed."""
    check_vjp(lambda logits, grad_output: grad_output * student_grad(logits, labels),
              _reference_cross_entropy(labels), input_shapes_list, exercise, label=label, **options)


# ------------------------------------------------------------------ Exercise 4: the squared loss

def mse(pred, target):
    """The mean squared error, the target reshaped to pred's shape first: the reference of Exercise 4."""
    return ag.mse_loss(pred, np.reshape(target, np.shape(pred))).value


def mse_vjp(student_mse_grad):
    """``mse_grad`` as the vector-Jacobian product ``check_vjp`` calls, (pred, target, grad_output) to one
    gradient per input: grad_output * mse_grad for pred, and its negative, shaped like target, for target."""

    def vjp(pred, target, grad_output):
        grad_pred = grad_output * student_mse_grad(pred, target)
        return grad_pred, -np.reshape(grad_pred, np.shape(target))

    return vjp


def _mse_without_reshape(pred, target):
    """The squared loss with the target left as it came: (N, 1) - (N,) broadcasts to (N, N)."""
    return np.mean((pred - target) ** 2)


# the known mistake of mse (for check_function)
MSE_MISTAKES = (
    Mistake("pred of shape (N, 1) minus a target of shape (N,) broadcasts to an (N, N) matrix of all "
            "pairs: reshape the target to pred's shape first", _mse_without_reshape),
)


# ------------------------------------------------------------------ Exercise 5: the L2 penalty

def l2_penalty(lam):
    """The reference penalty lam * (sum of the squares of every array), as a function of the arrays."""
    return lambda *weights: lam * sum(np.sum(W**2) for W in weights)


def check_l2_penalty(student_penalty, lam, input_shapes_list, exercise: str, **options):
    """``check_function`` of ``student_penalty([A, B, ...], lam)`` as a function of the arrays A, B, ...
    (one per shape of a case), against ``l2_penalty(lam)``."""
    check_function(lambda *weights: student_penalty(list(weights), lam), l2_penalty(lam), input_shapes_list,
                   exercise, **options)


def check_l2_penalty_grad(student_penalty_grad, lam, input_shapes_list, exercise: str, *,
                          label: str = "l2_penalty_grad", **options):
    """``check_vjp`` of ``student_penalty_grad([A, B, ...], lam)`` (the list of the gradients, each times
    grad_output) against finite differences of ``l2_penalty(lam)``."""

    def vjp(*arguments):
        *weights, grad_output = arguments
        return tuple(grad_output * G for G in student_penalty_grad(list(weights), lam))

    check_vjp(vjp, l2_penalty(lam), input_shapes_list, exercise, label=label, **options)


# ------------------------------------------------------------------ Exercise 8: a network of sigmoid units

def sigmoid_network(w, b, v):
    """The reference of Exercise 8: x -> sum_h v_h sigmoid(w_h x + b_h) at every element of x."""
    return lambda x: (v / (1 + np.exp(-(np.outer(x, w) + b)))).sum(axis=1)


def check_sigmoid_network(student_network, w, b, v, input_shapes_list, exercise: str, **options):
    """``check_function`` of ``student_network(x, w, b, v)`` as a function of x, with the units' parameters
    fixed, against ``sigmoid_network(w, b, v)``."""
    check_function(lambda x: student_network(x, w, b, v), sigmoid_network(w, b, v), input_shapes_list, exercise,
                   **options)
