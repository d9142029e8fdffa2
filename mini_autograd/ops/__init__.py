"""Every Operation of mini_autograd, one small class each, grouped by family.

* elementwise: Add, Subtract, Multiply, Divide, Power, Negate, Exp, Log, Sqrt, Sin, Cos,
  Tanh, Sigmoid, ReLU, Abs
* reductions: Sum, Mean, Max
* shape: Reshape, Transpose, GetItem, Concatenate, Stack, BroadcastTo
* linalg: MatMul, Affine (X @ W + b in one node), Einsum, TensorDot
* nn_functions: Softmax, LogSoftmax, LogSumExp, CrossEntropy, MSELoss, BCEWithLogits
"""

from .elementwise import (
    Abs, Add, Cos, Divide, Exp, Log, Multiply, Negate, Power, ReLU, Sigmoid, Sin, Sqrt, Subtract, Tanh,
    abs, add, cos, divide, exp, log, multiply, negative, power, relu, sigmoid, sin, sqrt, subtract, tanh,
    unbroadcast,
)
from .linalg import Affine, Einsum, MatMul, TensorDot, affine, einsum, matmul, parse_einsum, tensordot
from .nn_functions import (
    BCEWithLogits, CrossEntropy, LogSoftmax, LogSumExp, MSELoss, Softmax,
    binary_cross_entropy_with_logits, cross_entropy, log_softmax, logsumexp, mse_loss, softmax,
)
from .reductions import Max, Mean, Sum, max, mean, sum
from .shape import (
    BroadcastTo, Concatenate, GetItem, Reshape, Stack, Transpose,
    broadcast_to, concatenate, reshape, stack, transpose,
)
