"""The reference functions more than one assignment's test cells use, written once.

Each is the plain numpy function an exercise is compared with (students may read it: it is the
definition the exercise text gives).
"""

from __future__ import annotations

import numpy as np

import mini_autograd as ag


def linear(X, W, b):
    """Y = X W + b: the linear layer (02's Linear forward, 03's linear_backward is its VJP, 04's LinearOp)."""
    return X @ W + b


def relu(x):
    """max(x, 0): the reference of ReLU's forward (02 Exercise 5, 04 Exercise 2)."""
    return np.maximum(x, 0)


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)): the reference of Sigmoid's forward (02 Exercise 5, 04 Exercise 2)."""
    return 1 / (1 + np.exp(-x))


def softmax(x):
    """mini_autograd's softmax along the last axis, as a numpy function (03 Exercise 6, 04 Exercise 3)."""
    return ag.softmax(x).value
