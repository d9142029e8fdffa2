"""What the test cells of Assignment 2 (backpropagation) call: the known mistakes of each operation
node and the reference functions of the activations.

A known mistake of an operation is a ``Mistake(description, wrong_vjp)``: ``wrong_vjp(*inputs, grad)``
returns the gradients, one per input, that an operation making that mistake would return.
``check_operation(..., known_mistakes=...)`` names the description when a wrong gradient equals it.
"""

import numpy as np

import mini_autograd as ag

from ..core import Mistake
from .references import relu, sigmoid  # noqa: F401 - the cells call known.relu, known.sigmoid


def _unbroadcast_both(grad_a, grad_b, a, b):
    """The gradients of a binary operation's inputs a and b, each summed down to its input's shape."""
    return ag.unbroadcast(grad_a, np.shape(a)), ag.unbroadcast(grad_b, np.shape(b))


# Exercise 2 (Multiply): z = a * b
MULTIPLY_MISTAKES = (
    Mistake("d(ab)/da is b and d(ab)/db is a: the two gradients are swapped",
            lambda a, b, g: _unbroadcast_both(g * a, g * b, a, b)),
)

# Exercise 2 (Divide): z = a / b
DIVIDE_MISTAKES = (
    Mistake("d(a/b)/db = -a/b**2: the minus sign is missing",
            lambda a, b, g: _unbroadcast_both(g / b, g * a / b**2, a, b)),
    Mistake("d(a/b)/db = -a/b**2, not -a/b: the square of b is missing",
            lambda a, b, g: _unbroadcast_both(g / b, -g * a / b, a, b)),
    Mistake("d(a/b)/db = -a/b**2, not -1/b**2: the factor a is missing",
            lambda a, b, g: _unbroadcast_both(g / b, -g / b**2, a, b)),
    Mistake("d(a/b)/da = 1/b, not b (or -a/b**2)",
            lambda a, b, g: _unbroadcast_both(g * b, -g * a / b**2, a, b)),
)

# Exercise 3 (Power): z = a ** b
POWER_MISTAKES = (
    Mistake("the power rule lowers the exponent by one: d(a**b)/da = b * a**(b - 1), not b * a**b",
            lambda a, b, g: _unbroadcast_both(g * b * a**b, g * a**b * np.log(a), a, b)),
    Mistake("d(a**b)/da = b * a**(b - 1): the factor b is missing",
            lambda a, b, g: _unbroadcast_both(g * a ** (b - 1), g * a**b * np.log(a), a, b)),
    Mistake("d(a**b)/db = a**b * log(a): the factor log(a) is missing",
            lambda a, b, g: _unbroadcast_both(g * b * a ** (b - 1), g * a**b, a, b)),
    Mistake("d(a**b)/db = a**b * log(a), not b * a**(b - 1) (that is the derivative for the base)",
            lambda a, b, g: _unbroadcast_both(g * b * a ** (b - 1), g * b * a ** (b - 1), a, b)),
)

# Exercise 4: Exp, Log, Sqrt
EXP_MISTAKES = (
    Mistake("d exp(x)/dx = exp(x), not x * exp(x - 1) (that is the power rule)", lambda x, g: (g * x * np.exp(x - 1),)),
)
LOG_MISTAKES = (
    Mistake("d log(x)/dx = 1/x, not 1/x**2", lambda x, g: (g / x**2,)),
    Mistake("d log(x)/dx = 1/x, not -1/x**2", lambda x, g: (-g / x**2,)),
    Mistake("d log(x)/dx = 1/x, not log(x)", lambda x, g: (g * np.log(x),)),
)
SQRT_MISTAKES = (
    Mistake("d sqrt(x)/dx = 1 / (2 sqrt(x)), not sqrt(x) / 2", lambda x, g: (g * np.sqrt(x) / 2,)),
    Mistake("d sqrt(x)/dx = 1 / (2 sqrt(x)), not 1 / sqrt(x): the 1/2 is missing", lambda x, g: (g / np.sqrt(x),)),
)

# Exercise 5 (Sin and Cos)
SIN_MISTAKES = (
    Mistake("d sin(x)/dx = cos(x), not -cos(x)", lambda x, g: (-g * np.cos(x),)),
    Mistake("d sin(x)/dx = cos(x), not sin(x)", lambda x, g: (g * np.sin(x),)),
)
COS_MISTAKES = (
    Mistake("d cos(x)/dx = -sin(x): the minus sign is missing", lambda x, g: (g * np.sin(x),)),
    Mistake("d cos(x)/dx = -sin(x), not -cos(x)", lambda x, g: (-g * np.cos(x),)),
)

# Exercise 5 (the activations Tanh, Sigmoid, ReLU)
TANH_MISTAKES = (
    Mistake("d tanh(x)/dx = 1 - tanh(x)**2, not 1 - x**2 (use the output, not the input)",
            lambda x, g: (g * (1 - x**2),)),
    Mistake("d tanh(x)/dx = 1 - tanh(x)**2, not 1 - tanh(x) (the square is missing)",
            lambda x, g: (g * (1 - np.tanh(x)),)),
)
SIGMOID_MISTAKES = (
    Mistake("d sigmoid(x)/dx = s (1 - s) with s = sigmoid(x), not s alone", lambda x, g: (g * sigmoid(x),)),
    Mistake("d sigmoid(x)/dx = s (1 - s) with s = sigmoid(x) the output, not x (1 - x) of the input",
            lambda x, g: (g * x * (1 - x),)),
    Mistake("d sigmoid(x)/dx = s (1 - s), not s**2", lambda x, g: (g * sigmoid(x) ** 2,)),
)
RELU_MISTAKES = (
    Mistake("ReLU passes the gradient where x > 0 and blocks it where x < 0, not the other way round",
            lambda x, g: (g * (x < 0),)),
    Mistake("ReLU's backward multiplies grad by the step (x > 0), not by the output max(x, 0)",
            lambda x, g: (g * np.maximum(x, 0),)),
)
