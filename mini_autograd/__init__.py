"""mini_autograd: a small, readable reference engine for automatic differentiation.

    import numpy as np
    import mini_autograd as ag

    x = ag.Variable(np.array([[1.0, 2.0]]), name="x")
    y = ag.exp(x * x).sum() + ag.sin(x).mean()
    y.backward()
    x.grad        # dy/dx, shaped like x

The graph is bipartite: Variable nodes (values, gradients) and Operation nodes (one small
class per operation in ``mini_autograd.ops``, each with forward, backward and jvp).
"""

from . import data, finite_differences, nn, optim, training
from .checking import GradcheckError, GradcheckReport, gradcheck, numerical_gradient, numerical_jacobian
from .draw import draw
from .forward_mode import jacobian, jvp
from .graph import Operation, Variable, as_variable, constant, detect_anomaly, is_recording, no_grad
from .ops import (
    abs, add, affine, binary_cross_entropy_with_logits, broadcast_to, concatenate, cos, cross_entropy, divide, einsum,
    exp, log, log_softmax, logsumexp, matmul, max, mean, mse_loss, multiply, negative, power, relu, reshape,
    sigmoid, sin, softmax, sqrt, stack, subtract, sum, tanh, tensordot, transpose, unbroadcast,
)
from .reverse import backward, compute_gradients, topological_order

__version__ = "0.1.0"

__all__ = [
    "Variable", "Operation", "constant", "as_variable", "no_grad", "detect_anomaly", "is_recording",
    "backward", "compute_gradients", "topological_order",
    "add", "subtract", "multiply", "divide", "power", "negative",
    "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs",
    "sum", "mean", "max", "reshape", "transpose", "concatenate", "stack", "broadcast_to",
    "matmul", "affine", "einsum", "tensordot", "unbroadcast",
    "softmax", "log_softmax", "logsumexp", "cross_entropy", "mse_loss", "binary_cross_entropy_with_logits",
    "jvp", "jacobian", "numerical_gradient", "numerical_jacobian", "gradcheck", "GradcheckError",
    "GradcheckReport", "draw", "nn", "optim", "data",
]
