"""Checking gradients against finite differences.

The central difference

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

has error O(eps^2) from truncation plus O(machine precision / eps) from round-off, so in
float64 eps = 1e-6 gives about 8-10 correct digits: enough to catch any wrong derivative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import Variable, no_grad
from .reverse import compute_gradients


def _value(result) -> np.ndarray:
    return np.asarray(result.value if isinstance(result, Variable) else result, dtype=np.float64)


def _evaluator(f, arrays):
    """A function ``values -> f(*values)`` as a float64 ndarray, for f written with mini_autograd
    (it is given Variables) or with plain numpy (it is given ndarrays: numpy's ufuncs refuse
    Variables). Which one f is is found once, at ``arrays``; f never sees the caller's arrays,
    so it may not change them."""
    try:
        with no_grad():
            _value(f(*[Variable(a) for a in arrays]))
    except Exception as error:  # noqa: BLE001 - maybe a plain numpy function: try ndarrays
        try:
            _value(f(*[np.copy(a) for a in arrays]))
        except Exception:  # noqa: BLE001 - neither: the error on Variables is the one to show
            raise error from None
        evaluate = lambda values: _value(f(*[np.copy(a) for a in values]))  # noqa: E731
        evaluate.takes_variables = False
        return evaluate

    def evaluate(values):
        with no_grad():
            return _value(f(*[Variable(a) for a in values]))

    evaluate.takes_variables = True
    return evaluate


def _float64_inputs(arrays) -> list[np.ndarray]:
    return [np.array(a.value if isinstance(a, Variable) else a, dtype=np.float64) for a in arrays]


def numerical_gradient(f, *arrays, eps: float = 1e-6, grad_output=None):
    """Central-difference gradient of a scalar function f at ``arrays`` (in float64).

    f may be written with mini_autograd operations or with plain numpy
    (``lambda a: np.sum(np.sin(a) * a)``); the given arrays are not changed.

    For a non-scalar f give ``grad_output`` (shaped like f's output): the result is then the
    gradient of sum(grad_output * f), i.e. the vector-Jacobian product.
    Returns one array per input (a single array when there is one input).
    """
    arrays = _float64_inputs(arrays)
    weights = None if grad_output is None else np.asarray(grad_output, dtype=np.float64)
    evaluate = _evaluator(f, arrays)

    def scalar(values):
        out = evaluate(values)
        if weights is None:
            if out.size != 1:
                raise ValueError(f"numerical_gradient: f returned shape {out.shape}; pass grad_output for a non-scalar f")
            return float(out.reshape(()))
        return float(np.sum(weights * out))

    gradients = []
    for k, array in enumerate(arrays):
        gradient = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + eps
            plus = scalar(arrays)
            array[index] = original - eps
            minus = scalar(arrays)
            array[index] = original
            gradient[index] = (plus - minus) / (2 * eps)
        gradients.append(gradient)
    return gradients[0] if len(gradients) == 1 else tuple(gradients)


def numerical_jacobian(f, *arrays, eps: float = 1e-6) -> list[np.ndarray]:
    """Central-difference Jacobians of f, one per input, each shaped f(x).shape + input.shape."""
    arrays = _float64_inputs(arrays)
    evaluate = _evaluator(f, arrays)
    out_shape = evaluate(arrays).shape
    jacobians = []
    for array in arrays:
        jacobian = np.zeros(out_shape + array.shape)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + eps
            plus = evaluate(arrays)
            array[index] = original - eps
            minus = evaluate(arrays)
            array[index] = original
            jacobian[(Ellipsis,) + index] = (plus - minus) / (2 * eps)
        jacobians.append(jacobian)
    return jacobians


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with finite differences; ``report`` says where."""

    def __init__(self, report: "GradcheckReport"):
        super().__init__(str(report))
        self.report = report


@dataclass
class GradcheckReport:
    """The worst disagreement found: which input, which element, and by how much."""

    passed: bool
    method: str  # "full Jacobian" or "random projections"
    input_index: int
    output_index: tuple | None
    element: tuple | None
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float

    def __str__(self) -> str:
        verdict = "gradcheck passed" if self.passed else "gradcheck FAILED"
        where = f"input {self.input_index}"
        if self.element is not None:
            where += f", element {self.element}"
        if self.output_index is not None:
            where += f", output element {self.output_index}"
        elif self.method == "random projections":
            where += " (a random projection u.J.v)"
        return (
            f"{verdict} ({self.method}); worst at {where}: analytic {self.analytic:.10g}, "
            f"numeric {self.numeric:.10g}, absolute error {self.abs_error:.3g}, relative error {self.rel_error:.3g}"
        )


def _analytic_vjp(f, arrays, grad_output, gradient=None, vjp=None):
    if gradient is None and vjp is None:
        inputs = [Variable(a) for a in arrays]
        output = f(*inputs)
        grads = compute_gradients(output, grad_output)
        return [np.asarray(grads.get(v, np.zeros_like(a)), dtype=np.float64) for v, a in zip(inputs, arrays)]
    copies = [np.copy(a) for a in arrays]
    if vjp is not None:
        grads, weight = vjp(*copies, np.copy(grad_output)), 1.0
    else:  # f is scalar: the vector-Jacobian product is grad_output times the gradient
        grads, weight = gradient(*copies), float(grad_output)
    if len(arrays) == 1 and not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) != len(arrays):
        raise ValueError(f"gradcheck: the analytic gradient has {len(grads)} parts for {len(arrays)} inputs")
    return [weight * np.asarray(g.value if isinstance(g, Variable) else g, dtype=np.float64) for g in grads]


def gradcheck(
    f,
    *arrays,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    full_jacobian_limit: int = 4096,
    projections: int = 8,
    seed: int = 0,
    gradient=None,
    vjp=None,
) -> GradcheckReport:
    """Compare reverse-mode gradients of f with central differences, in float64.

    ``f`` maps Variables to a Variable, and its analytic gradient is mini_autograd's reverse
    mode. For a plain numpy ``f`` (or to check a gradient formula of your own) give instead
    ``gradient(*arrays)``, the gradient of a scalar f (one array per input), or
    ``vjp(*arrays, grad_output)``, the vector-Jacobian product of any f.
    When (output size) x (input size) is at most ``full_jacobian_limit`` the whole Jacobian
    is compared entry by entry (so a single wrong entry is caught); otherwise ``projections`` random products u^T J v are compared.
    An entry passes when |analytic - numeric| <= atol + rtol |numeric|.

    Returns a GradcheckReport; raises GradcheckError (an AssertionError) naming the worst
    element, its analytic and numeric values and the errors when any entry fails.
    """
    arrays = _float64_inputs(arrays)
    evaluate = _evaluator(f, arrays)
    if gradient is None and vjp is None and not evaluate.takes_variables:
        raise TypeError("gradcheck: f works on numpy arrays but not on Variables, so mini_autograd cannot "
                        "differentiate it; write f with mini_autograd operations (ag.sin, ag.exp, ...) or "
                        "pass gradient= (or vjp=), a function returning its analytic gradient")
    out_value = evaluate(arrays)
    if gradient is not None and vjp is None and out_value.size != 1:
        raise ValueError(f"gradcheck: f returned shape {out_value.shape}; gradient= is for a scalar f, "
                         "give vjp(*arrays, grad_output) for a non-scalar one")
    out_shape = out_value.shape
    total = out_value.size * sum(a.size for a in arrays)
    worst = None

    def consider(report):
        nonlocal worst
        excess = report.abs_error - (atol + rtol * abs(report.numeric))
        if worst is None or excess > worst[0]:
            worst = (excess, report)

    if total <= full_jacobian_limit:
        method = "full Jacobian"
        numeric = numerical_jacobian(f, *arrays, eps=eps)
        analytic = [np.zeros_like(j) for j in numeric]
        for out_index in np.ndindex(out_shape):
            seed_grad = np.zeros(out_shape)
            seed_grad[out_index] = 1.0
            for k, grad in enumerate(_analytic_vjp(f, arrays, seed_grad, gradient, vjp)):
                if grad.shape != arrays[k].shape:
                    raise GradcheckError(GradcheckReport(False, method, k, out_index, None, np.nan, np.nan, np.inf, np.inf))
                analytic[k][out_index] = grad
        for k, (a, n) in enumerate(zip(analytic, numeric)):
            for index in np.ndindex(n.shape):
                error = abs(a[index] - n[index])
                rel = error / max(abs(n[index]), 1e-12)
                consider(GradcheckReport(True, method, k, index[: len(out_shape)], index[len(out_shape):], a[index], n[index], error, rel))
    else:
        method = "random projections"
        rng = np.random.default_rng(seed)
        for _ in range(projections):
            u = rng.standard_normal(out_shape)
            grads = _analytic_vjp(f, arrays, u, gradient, vjp)
            for k, array in enumerate(arrays):
                v = rng.standard_normal(array.shape)
                analytic_value = float(np.sum(grads[k] * v))
                shifted_plus = [a if i != k else a + eps * v for i, a in enumerate(arrays)]
                shifted_minus = [a if i != k else a - eps * v for i, a in enumerate(arrays)]
                numeric_value = float(np.sum(u * (evaluate(shifted_plus) - evaluate(shifted_minus))) / (2 * eps))
                error = abs(analytic_value - numeric_value)
                consider(GradcheckReport(True, method, k, None, None, analytic_value, numeric_value, error, error / max(abs(numeric_value), 1e-12)))

    if worst is None:  # no inputs or empty arrays: nothing to compare
        return GradcheckReport(True, method, 0, None, None, 0.0, 0.0, 0.0, 0.0)
    excess, report = worst
    if not (excess <= 0):  # also catches NaN
        report.passed = False
        raise GradcheckError(report)
    return report
