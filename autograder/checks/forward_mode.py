"""Checks for forward mode (assignment 05): dual numbers, JVP rules, forward-mode Jacobians.

They keep the contract of ``autograder.checks.gradients``: every check first verifies that nothing it
relies on was changed (``integrity.verify``), makes its own seeded inputs, compares in float64
with references (exact rules, ``mini_autograd``'s ``jvp`` and ``jacobian``, reverse-mode
Jacobians of the reference Operations) and raises ``CheckFailed`` with feedback that names the
input, the element, expected vs got and a likely cause.

One exercise at a time: the test functions handed to a student's ``derivative``,
``dual_jvp`` and ``jacobian_forward`` are written with reference rules (``_DualRules``) that use
only the constructor and the ``.value`` / ``.tangent`` of the student's ``Dual``, so a slip in
the student's Dual arithmetic costs only the Dual exercise.

Importing this module also adds the ``autograder`` and ``mini_autograd`` modules that were
imported after autograder's snapshot (``autograder.checks.gradients``, ``.feedback``, ``.numeric`` and this
module itself) to that snapshot, so that rebinding a name inside them is detected as well.
"""

from __future__ import annotations

import numpy

import mini_autograd as ag

from . import integrity as safe
from .core import EXACT, ROUNDING, Exercise, Mistake, as_array, check_shape, fail
from .core import check_not_mutated, random_inputs
from .gradients import call_student
from .messages import CheckFailed, describe_shape, student_text
from .numeric import as_float64

# References taken at import, in the notebook's locked setup cell (before any student code).
_np_exp, _np_log, _np_sqrt = numpy.exp, numpy.log, numpy.sqrt
_np_sin, _np_cos, _np_tanh = numpy.sin, numpy.cos, numpy.tanh
_np_ones, _np_cumsum, _np_shape = numpy.ones, numpy.cumsum, numpy.shape
_np_reshape, _np_ravel, _np_matmul = numpy.reshape, numpy.ravel, numpy.matmul
_Variable = ag.Variable
_Operation = ag.Operation
_ag_jvp = ag.jvp
_ag_jacobian = ag.jacobian
_ag_stack = ag.stack
_compute_gradients = ag.compute_gradients
_ag_functions = {"exp": ag.exp, "log": ag.log, "sqrt": ag.sqrt, "sin": ag.sin, "cos": ag.cos, "tanh": ag.tanh}


# --- small helpers --------------------------------------------------------------------


def _compare(exercise, what, got, expected, mistakes=(), tolerance=ROUNDING):
    """got must equal expected elementwise (``core.Exercise.compare``); on a mismatch, name the
    first Mistake that explains it."""
    Exercise(exercise).compare(got, expected, what, mistakes=mistakes, tolerance=tolerance)


def _fmt(x) -> str:
    x = safe.np_asarray(x)
    if x.ndim == 0:
        return f"{float(x):.4g}"
    return f"an array of shape {tuple(x.shape)}"


def _scalar_or_array(x):
    """A float64 array, as a numpy scalar when 0-d (what arithmetic on numbers gives)."""
    x = as_float64(x)
    return x[()] if x.ndim == 0 else x


def _parts(exercise, what, dual):
    """(value, tangent) of a dual number, as float64 arrays."""
    if not (hasattr(dual, "value") and hasattr(dual, "tangent")):
        hint = ""
        if safe.builtin_isinstance(dual, (int, float, numpy.number, safe.ndarray)):
            hint = ": a plain number or array, not a dual number (wrap it as Dual(value, tangent))"
        fail(exercise, f"{what} should be a Dual with .value and .tangent, got {type(dual).__name__}{hint}.")
    return as_array(exercise, f"{what}.value", dual.value), as_array(exercise, f"{what}.tangent", dual.tangent)


def _sample(rng, shape, low, high, away_from_zero: float = 0.0):
    """Uniform numbers in [low, high] (a Python float for shape ()), optionally |x| >= away_from_zero."""
    x = rng.uniform(low, high, size=shape)
    if away_from_zero:
        x = safe.np_where(safe.np_abs(x) < away_from_zero, away_from_zero + safe.np_abs(x), x)
    return float(x) if shape == () else as_float64(x)


def _tangent_sample(rng, shape):
    t = rng.uniform(0.3, 1.7, size=shape) * safe.np_where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)
    return float(t) if shape == () else as_float64(t)


class _Namespace:
    def __init__(self, **entries):
        self.__dict__.update(entries)


# --- reference rules ------------------------------------------------------------------


class _DualRules:
    """Forward-mode rules on dual numbers, written with nothing but the constructor, ``.value``
    and ``.tangent`` of the dual numbers they receive (the result has the class of the first
    argument). Test functions written with these rules test a student's ``derivative``,
    ``dual_jvp`` or ``jacobian_forward`` without relying on the student's Dual arithmetic."""

    def __init__(self, exercise: str):
        self.exercise = exercise

    def _get(self, a):
        value, tangent = _parts(self.exercise, "an input of the test function", a)
        return _scalar_or_array(value), _scalar_or_array(tangent)

    def add(self, a, b):
        (u, s), (v, t) = self._get(a), self._get(b)
        return type(a)(u + v, s + t)

    def sub(self, a, b):
        (u, s), (v, t) = self._get(a), self._get(b)
        return type(a)(u - v, s - t)

    def mul(self, a, b):
        (u, s), (v, t) = self._get(a), self._get(b)
        return type(a)(u * v, s * v + u * t)

    def scale(self, c, a):
        u, s = self._get(a)
        return type(a)(c * u, c * s)

    def shift(self, c, a):
        u, s = self._get(a)
        return type(a)(u + c, s)

    def exp(self, a):
        u, s = self._get(a)
        z = _np_exp(u)
        return type(a)(z, z * s)

    def log(self, a):
        u, s = self._get(a)
        return type(a)(_np_log(u), s / u)

    def sqrt(self, a):
        u, s = self._get(a)
        z = _np_sqrt(u)
        return type(a)(z, s / (2 * z))

    def sin(self, a):
        u, s = self._get(a)
        return type(a)(_np_sin(u), _np_cos(u) * s)

    def cos(self, a):
        u, s = self._get(a)
        return type(a)(_np_cos(u), -_np_sin(u) * s)

    def tanh(self, a):
        u, s = self._get(a)
        z = _np_tanh(u)
        return type(a)(z, (1 - z * z) * s)


class _AgOps:
    """The same operations on mini_autograd Variables (the reference side of every comparison)."""

    add = staticmethod(lambda a, b: a + b)
    sub = staticmethod(lambda a, b: a - b)
    mul = staticmethod(lambda a, b: a * b)
    scale = staticmethod(lambda c, a: c * a)
    shift = staticmethod(lambda c, a: a + c)
    exp = staticmethod(_ag_functions["exp"])
    log = staticmethod(_ag_functions["log"])
    sqrt = staticmethod(_ag_functions["sqrt"])
    sin = staticmethod(_ag_functions["sin"])
    cos = staticmethod(_ag_functions["cos"])
    tanh = staticmethod(_ag_functions["tanh"])


_AG = _AgOps()


def _lecture(x, o):
    """The lecture's f(x) = sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2)), step by step."""
    a = o.mul(x, x)
    c = o.add(a, o.exp(a))
    return o.add(o.sqrt(c), o.cos(c))


LECTURE = "f(x) = sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2))"

# (description, g(x, ops), domain): functions of one variable for `derivative`.
_SCALAR_FUNCTIONS = [
    ("x^3 - 2x", lambda x, o: o.sub(o.mul(o.mul(x, x), x), o.scale(2.0, x)), (-2.0, 2.0)),
    (LECTURE, _lecture, (-1.5, 1.5)),
    ("sin(x) exp(-x^2 / 2)", lambda x, o: o.mul(o.sin(x), o.exp(o.scale(-0.5, o.mul(x, x)))), (-2.0, 2.0)),
    ("tanh(3x) sqrt(x) + log(x)", lambda x, o: o.add(o.mul(o.tanh(o.scale(3.0, x)), o.sqrt(x)), o.log(x)), (0.2, 2.5)),
    ("cos(x^2) - x", lambda x, o: o.sub(o.cos(o.mul(x, x)), x), (-1.5, 1.5)),
]


def _vector_function(n: int, m: int, seed: int):
    """A test function R^n -> R^m with a dense, non-symmetric Jacobian, as f(xs, ops) -> list."""
    rng = safe.np_random_default_rng(10_000 + 97 * n + 13 * m + seed)
    weights = [[float(w) for w in row] for row in rng.normal(scale=0.8, size=(m, n))]
    activations = ("sin", "tanh", "cos", "exp")

    def f(xs, o):
        outputs = []
        for i in range(m):
            z = o.scale(weights[i][0], xs[0])
            for j in range(1, n):
                z = o.add(z, o.scale(weights[i][j], xs[j]))
            out = getattr(o, activations[i % 4])(z)
            outputs.append(o.add(out, o.mul(xs[i % n], xs[(i + 1) % n])))
        return outputs

    return f


def _notes_function(xs, o):  # f(x1, x2, x3) = (x1^2, x1 x2 x3), the example of the notes
    return [o.mul(xs[0], xs[0]), o.mul(o.mul(xs[0], xs[1]), xs[2])]


def _vector_cases(sizes, seeds, notes_example: bool):
    """(label, n, m, seed, f) for each test function: the notes' example first when asked, then one
    random f: R^n -> R^m per size and seed."""
    if notes_example:
        yield "f(x1, x2, x3) = (x1^2, x1 x2 x3)", 3, 2, 0, _notes_function
    for n, m in sizes:
        for seed in seeds:
            yield f"a test function R^{n} -> R^{m} (seed {seed})", n, m, seed, _vector_function(n, m, seed)


def _on_ag(f, n):
    """f(xs, ops) as a function of one Variable of shape (n,), returning shape (m,)."""
    return lambda x: _ag_stack(f([x[i] for i in range(n)], _AG))


class _Counted:
    """Wraps a test function and counts how often the student's code calls it."""

    def __init__(self, f, exercise):
        self.f, self.exercise, self.calls = f, exercise, 0

    def __call__(self, xs):
        self.calls += 1
        if not safe.builtin_isinstance(xs, (list, tuple)):
            fail(self.exercise, f"the test function takes a list of Duals (one per input), got {type(xs).__name__}.")
        return self.f(list(xs), _DualRules(self.exercise))


# --- Exercise: Dual arithmetic ----------------------------------------------------------


def _check_dual_class(Dual, exercise):
    if not safe.builtin_isinstance(Dual, type):
        fail(exercise, f"Dual should be a class, got {type(Dual).__name__}.")
    d = call_student(exercise, "Dual(1.5, -0.5)", Dual, 1.5, -0.5)
    value, tangent = _parts(exercise, "Dual(1.5, -0.5)", d)
    _compare(exercise, "Dual(1.5, -0.5).value", value, 1.5)
    _compare(exercise, "Dual(1.5, -0.5).tangent", tangent, -0.5)
    _, tangent = _parts(exercise, "Dual(2.0)", call_student(exercise, "Dual(2.0)", Dual, 2.0))
    _compare(exercise, "Dual(2.0).tangent (a number alone is a constant: its tangent is 0)", tangent, 0.0)


# (label, compute(x, y, c) -> Dual, expected(a, ta, b, tb, c) -> (value, tangent),
#  hints(a, ta, b, tb, c) -> [Mistake(description, wrong tangent)])
_ARITHMETIC_CASES = [
    ("x + y", lambda x, y, c: x + y, lambda a, ta, b, tb, c: (a + b, ta + tb), lambda a, ta, b, tb, c: []),
    ("x - y", lambda x, y, c: x - y, lambda a, ta, b, tb, c: (a - b, ta - tb),
     lambda a, ta, b, tb, c: [Mistake("the tangent of x - y is t_x - t_y", ta + tb)]),
    ("-x", lambda x, y, c: -x, lambda a, ta, b, tb, c: (-a, -ta), lambda a, ta, b, tb, c: []),
    ("x * y", lambda x, y, c: x * y, lambda a, ta, b, tb, c: (a * b, ta * b + a * tb),
     lambda a, ta, b, tb, c: [
         Mistake("the product rule has two terms, t_x y + x t_y; the term x t_y is missing", ta * b),
         Mistake("the product rule has two terms, t_x y + x t_y; the term t_x y is missing", a * tb),
         Mistake("the tangent of a product is not the product of the tangents: use t_x y + x t_y", ta * tb)]),
    ("x / y", lambda x, y, c: x / y, lambda a, ta, b, tb, c: (a / b, (ta * b - a * tb) / b**2),
     lambda a, ta, b, tb, c: [
         Mistake("the quotient rule subtracts: (t_x y - x t_y) / y^2", (ta * b + a * tb) / b**2),
         Mistake("the quotient rule subtracts: (t_x y - x t_y) / y^2", (a * tb - ta * b) / b**2),
         Mistake("the quotient rule divides by y squared: (t_x y - x t_y) / y^2", (ta * b - a * tb) / b),
         Mistake("x / y depends on y as well: the term - x t_y / y^2 is missing", ta / b),
         Mistake("the tangent of a quotient is not the quotient of the tangents", ta / tb)]),
    ("x + c", lambda x, y, c: x + c, lambda a, ta, b, tb, c: (a + c, ta), lambda a, ta, b, tb, c: []),
    ("c + x", lambda x, y, c: c + x, lambda a, ta, b, tb, c: (c + a, ta), lambda a, ta, b, tb, c: []),
    ("x - c", lambda x, y, c: x - c, lambda a, ta, b, tb, c: (a - c, ta), lambda a, ta, b, tb, c: []),
    ("c - x", lambda x, y, c: c - x, lambda a, ta, b, tb, c: (c - a, -ta),
     lambda a, ta, b, tb, c: [Mistake("c - x: the constant has tangent 0, so the tangent is -t_x", ta)]),
    ("c * x", lambda x, y, c: c * x, lambda a, ta, b, tb, c: (c * a, c * ta), lambda a, ta, b, tb, c: []),
    ("x * c", lambda x, y, c: x * c, lambda a, ta, b, tb, c: (a * c, ta * c), lambda a, ta, b, tb, c: []),
    ("x / c", lambda x, y, c: x / c, lambda a, ta, b, tb, c: (a / c, ta / c), lambda a, ta, b, tb, c: []),
    ("c / x", lambda x, y, c: c / x, lambda a, ta, b, tb, c: (c / a, -c * ta / a**2),
     lambda a, ta, b, tb, c: [Mistake("c / x: the tangent is -c t_x / x^2 (quotient rule with a constant numerator)",
                               c * ta / a**2)]),
]


def _power_hints(a, ta, p):
    return [Mistake("power rule: the tangent of x^p is p x^(p-1) t_x; the exponent is off by one", p * a**p * ta),
            Mistake("power rule: the tangent of x^p is p x^(p-1) t_x; the factor is p, not p - 1", (p - 1) * a ** (p - 1) * ta),
            Mistake("power rule: the tangent of x^p is p x^(p-1) t_x; the exponent is off by one", p * a ** (p - 2) * ta),
            Mistake("chain rule: multiply p x^(p-1) by the tangent t_x", p * a ** (p - 1))]


# Functions written with operators only: they run on Duals and on mini_autograd Variables.
_ARITHMETIC_COMPOSITES = [
    ("x * y + 3 * x - y / 2", lambda x, y: x * y + 3 * x - y / 2),
    ("(x * y + 1) / (x ** 2 + y ** 2)", lambda x, y: (x * y + 1) / (x**2 + y**2)),
    ("x ** 3 - 2 * x * y ** 2 + 1 / y", lambda x, y: x**3 - 2 * x * y**2 + 1 / y),
    ("-(x - y) ** 2 / x + 0.5 * y", lambda x, y: -((x - y) ** 2) / x + 0.5 * y),
    ("(2 - x) * (y + 0.5) / (1 + x * x)", lambda x, y: (2 - x) * (y + 0.5) / (1 + x * x)),
]


def _lecture_with_operators(x, o):
    """The lecture's example with the arithmetic written as operators and the functions from o."""
    a = x**2
    c = a + o.exp(a)
    return o.sqrt(c) + o.cos(c)


def check_dual_arithmetic(Dual, exercise: str, *, seeds=(0,), shapes=((),)):
    """Dual(value, tangent) with +, -, *, / (Duals and numbers on either side), unary - and
    ** with a number exponent: values and tangents against the exact rules, then whole
    expressions (and the lecture's example) against mini_autograd's forward mode (ag.jvp).

    shapes: the shapes of the values and tangents to try (() for numbers, (4,) for arrays)."""
    safe.verify(exercise)
    _check_dual_class(Dual, exercise)
    for shape in shapes:
        for seed in seeds:
            rng = safe.np_random_default_rng(seed)
            a, b = _sample(rng, shape, -2.0, 2.0, 0.4), _sample(rng, shape, -2.0, 2.0, 0.4)
            ta, tb = _tangent_sample(rng, shape), _tangent_sample(rng, shape)
            c = float(_sample(rng, (), -3.0, 3.0, 0.5))
            where = f"x = Dual({_fmt(a)}, {_fmt(ta)}), y = Dual({_fmt(b)}, {_fmt(tb)}), c = {c:.4g}"

            def x():
                return call_student(exercise, "Dual(...)", Dual, safe.np_copy(a) if shape else a, safe.np_copy(ta) if shape else ta)

            def y():
                return call_student(exercise, "Dual(...)", Dual, safe.np_copy(b) if shape else b, safe.np_copy(tb) if shape else tb)

            for label, compute, expected, hints in _ARITHMETIC_CASES:
                result = call_student(exercise, label, compute, x(), y(), c)
                value, tangent = _parts(exercise, f"the result of {label}", result)
                want_value, want_tangent = expected(a, ta, b, tb, c)
                _compare(exercise, f"the value of {label} for {where}", value, want_value)
                _compare(exercise, f"the tangent of {label} for {where}", tangent, want_tangent, hints(a, ta, b, tb, c))

            base = safe.np_abs(a)
            for p in (2, 3, -1, 0.5, -1.5):
                label = f"x ** {p}"
                x_value = a if safe.builtin_isinstance(p, int) else base
                here = f"x = Dual({_fmt(x_value)}, {_fmt(ta)})"
                result = call_student(exercise, label, lambda: call_student(exercise, "Dual(...)", Dual, x_value, ta) ** p)
                value, tangent = _parts(exercise, f"the result of {label}", result)
                _compare(exercise, f"the value of {label} for {here}", value, x_value**p)
                _compare(exercise, f"the tangent of {label} for {here}", tangent, p * x_value ** (p - 1) * ta,
                         _power_hints(x_value, ta, p))

            for label, f in _ARITHMETIC_COMPOSITES:
                result = call_student(exercise, label, f, x(), y())
                value, tangent = _parts(exercise, f"the result of {label}", result)
                want_value, want_tangent = _ag_jvp(f, (a, b), (ta, tb))
                _compare(exercise, f"the value of {label} for {where}", value, want_value)
                _compare(exercise, f"the tangent of {label} for {where}", tangent, want_tangent)

            # the lecture's example: your arithmetic, reference rules for exp, sqrt and cos
            lecture_value = safe.np_abs(a)
            here = f"x = Dual({_fmt(lecture_value)}, {_fmt(ta)})"
            result = call_student(exercise, "the lecture's example", _lecture_with_operators,
                           call_student(exercise, "Dual(...)", Dual, lecture_value, ta), _DualRules(exercise))
            value, tangent = _parts(exercise, "the lecture's example", result)
            want_value, want_tangent = _ag_jvp(lambda v: _lecture_with_operators(v, _AG), (lecture_value,), (ta,))
            _compare(exercise, f"the value of {LECTURE} (your +, ** with reference exp, sqrt, cos) for {here}",
                     value, want_value)
            _compare(exercise, f"the tangent of {LECTURE} (your +, ** with reference exp, sqrt, cos) for {here}",
                     tangent, want_tangent)


# --- Exercise: JVP rules of elementary functions -----------------------------------------

# name: (f, f', domain, fixed points for the edge cases)
_ELEMENTARY = {
    "exp": (_np_exp, _np_exp, (-2.0, 2.0), (0.0, -6.0, 4.0)),
    "log": (_np_log, lambda x: 1 / x, (0.2, 3.0), (1.0, 0.05, 40.0)),
    "sqrt": (_np_sqrt, lambda x: 0.5 / _np_sqrt(x), (0.2, 3.0), (1.0, 4.0, 0.01)),
    "sin": (_np_sin, _np_cos, (-3.0, 3.0), (0.0, numpy.pi / 2, -numpy.pi)),
    "cos": (_np_cos, lambda x: -_np_sin(x), (-3.0, 3.0), (0.0, numpy.pi / 2, numpy.pi)),
    "tanh": (_np_tanh, lambda x: 1 - _np_tanh(x) ** 2, (-3.0, 3.0), (0.0, 5.0, -8.0)),
}


def _function_hints(name, a, t):
    f, df = _ELEMENTARY[name][:2]
    hints = [Mistake(f"chain rule: the tangent of {name}(x) is {name}'(x) times the input's tangent t; "
              f"the factor t is missing", df(a))]
    if name != "exp":
        hints.append(Mistake(f"the tangent uses {name}(x) itself; it should be the derivative {name}'(x) times t", f(a) * t))
    if name == "tanh":
        hints.append(Mistake("the derivative of tanh is 1 - tanh(x)^2: the square is missing", (1 - _np_tanh(a)) * t))
    if name == "log":
        hints.append(Mistake("the derivative of log x is 1/x, so the tangent is t / x", a * t))
    if name == "cos":
        hints.append(Mistake("the derivative of cos x is -sin x (with a minus sign)", _np_sin(a) * t))
    if name == "sin":
        hints.append(Mistake("the derivative of sin x is cos x, without a minus sign", -_np_cos(a) * t))
    return hints


_FUNCTION_COMPOSITES = [
    ("sin(exp(x))", ("sin", "exp"), lambda x, F, o: F.sin(F.exp(x)), (-1.5, 1.5)),
    ("tanh(cos(x)) log(x)", ("tanh", "cos", "log"), lambda x, F, o: o.mul(F.tanh(F.cos(x)), F.log(x)), (0.3, 2.5)),
    ("sqrt(exp(x) + x^2)", ("sqrt", "exp"), lambda x, F, o: F.sqrt(o.add(F.exp(x), o.mul(x, x))), (-2.0, 2.0)),
    (LECTURE, ("exp", "sqrt", "cos"),
     lambda x, F, o: o.add(F.sqrt(o.add(o.mul(x, x), F.exp(o.mul(x, x)))), F.cos(o.add(o.mul(x, x), F.exp(o.mul(x, x))))),
     (-1.5, 1.5)),
]


def check_dual_functions(functions: dict, Dual, exercise: str, *, seeds=(0,), shapes=((),), edge_points: bool = False):
    """functions: {"exp": dual_exp, "log": dual_log, ...}. Each must map Dual(x, t) to
    Dual(f(x), f'(x) t); then compositions (with reference arithmetic, so that only the
    functions are tested) are compared with mini_autograd's forward mode (ag.jvp)."""
    safe.verify(exercise)
    unknown = [name for name in functions if name not in _ELEMENTARY]
    if unknown:
        raise ValueError(f"check_dual_functions knows {sorted(_ELEMENTARY)}, not {unknown}")
    for shape in shapes:
        for seed in seeds:
            rng = safe.np_random_default_rng(100 + seed)
            for name, student in functions.items():
                f, df, (low, high), fixed = _ELEMENTARY[name]
                points = [_sample(rng, shape, low, high)]
                if edge_points and shape == ():
                    points.extend(fixed)
                for a in points:
                    t = _tangent_sample(rng, shape)
                    here = f"dual_{name}(Dual({_fmt(a)}, {_fmt(t)}))"
                    x = call_student(exercise, "Dual(...)", Dual, safe.np_copy(a) if shape else a, safe.np_copy(t) if shape else t)
                    value, tangent = _parts(exercise, here, call_student(exercise, here, student, x))
                    _compare(exercise, f"the value of {here}", value, f(a), EXACT)
                    _compare(exercise, f"the tangent of {here}", tangent, df(a) * t, _function_hints(name, a, t), EXACT)

            F = _Namespace(**functions)
            for label, needs, g, (low, high) in _FUNCTION_COMPOSITES:
                if not all(name in functions for name in needs):
                    continue
                a, t = _sample(rng, shape, low, high), _tangent_sample(rng, shape)
                here = f"{label} at x = Dual({_fmt(a)}, {_fmt(t)}) (your functions, reference arithmetic)"
                x = call_student(exercise, "Dual(...)", Dual, a, t)
                value, tangent = _parts(exercise, label, call_student(exercise, label, g, x, F, _DualRules(exercise)))
                want_value, want_tangent = _ag_jvp(lambda v: g(v, _AG, _AG), (a,), (t,))
                _compare(exercise, f"the value of {here}", value, want_value, EXACT)
                _compare(exercise, f"the tangent of {here}", tangent, want_tangent, EXACT)


# --- Exercise: derivatives and JVPs with dual numbers -----------------------------------------


def check_derivative(derivative, exercise: str, *, seeds=(0,), shapes=((),)):
    """derivative(f, x) must return f'(x) from one evaluation of f on a dual number.

    The test functions are written with reference rules; x is a number or (shape (5,)) an
    array at which f acts elementwise. Expected values come from ag.jvp."""
    safe.verify(exercise)
    for shape in shapes:
        for seed in seeds:
            rng = safe.np_random_default_rng(200 + seed)
            for label, g, (low, high) in _SCALAR_FUNCTIONS:
                a = _sample(rng, shape, low, high)
                counted = _Counted(lambda xs, o: g(xs[0], o), exercise)
                f = lambda d: counted([d])  # noqa: E731 - f takes one Dual
                what = f"derivative(f, {_fmt(a)}) for {label}"
                got = call_student(exercise, what, derivative, f, safe.np_copy(a) if shape else a)
                if counted.calls != 1:
                    fail(exercise, f"{what} evaluated f {counted.calls} times; forward mode needs one evaluation "
                                    f"on the dual number Dual(x, 1).")
                value, expected = _ag_jvp(lambda v: g(v, _AG), (a,), (_np_ones(shape),))
                _compare(exercise, what, got, expected, [
                    Mistake("that is f(x), the value: return the tangent of f(Dual(x, 1))", value),
                    Mistake("the result is zero: seed the input with tangent 1, Dual(x, 1.0), not 0", 0 * as_float64(expected)),
                ], EXACT)


def check_dual_jvp(dual_jvp, exercise: str, *, sizes=((3, 2),), seeds=(0,), notes_example: bool = True):
    """dual_jvp(f, x, v) must return (f(x), J v) as two 1-D arrays, from one evaluation of f on
    the list of dual numbers Dual(x[i], v[i]). f takes a list of n Duals and returns a list of m."""
    safe.verify(exercise)
    for label, n, m, seed, f in _vector_cases(sizes, seeds, notes_example):
        rng = safe.np_random_default_rng(300 + seed)
        x, v = rng.uniform(-1.5, 1.5, size=n), rng.normal(size=n)
        copies = [safe.np_copy(x), safe.np_copy(v)]
        counted = _Counted(f, exercise)
        what = f"dual_jvp(f, x, v) for {label}"
        result = call_student(exercise, what, dual_jvp, counted, x, v)
        check_not_mutated(exercise, [x, v], copies, "dual_jvp")
        if counted.calls != 1:
            fail(exercise, f"{what} evaluated f {counted.calls} times; one forward pass (one evaluation on "
                            f"dual numbers) gives J v.")
        if not (safe.builtin_isinstance(result, (tuple, list)) and safe.builtin_len(result) == 2):
            fail(exercise, f"{what} should return a pair (values, tangents), got {type(result).__name__}.")
        values, tangents = result
        want_values, want_tangents = _ag_jvp(_on_ag(f, n), (x,), (v,))
        jacobian = _ag_jacobian(_on_ag(f, n), x)
        _compare(exercise, f"the values f(x) from {what}", values, want_values, [
            Mistake("these are the tangents: return (values, tangents) in that order", want_tangents)], EXACT)
        _compare(exercise, f"the tangents J v from {what}", tangents, want_tangents, [
            Mistake("every input got tangent 1: seed input i with v[i]", _np_matmul(jacobian, _np_ones(n))),
            Mistake("these are the values f(x): return (values, tangents) in that order", want_values)], EXACT)


# --- Exercise: the Jacobian by columns ---------------------------------------------------------


def check_forward_jacobian(jacobian_forward, exercise: str, *, sizes=((3, 2), (2, 3)), seeds=(0,),
                           notes_example: bool = True):
    """jacobian_forward(f, x) must return the m x n Jacobian of f: R^n -> R^m (a list of n Duals
    to a list of m Duals), with at most n evaluations of f (one per column), checked against
    mini_autograd's reverse-mode ag.jacobian."""
    safe.verify(exercise)
    for label, n, m, seed, f in _vector_cases(sizes, seeds, notes_example):
        rng = safe.np_random_default_rng(400 + seed)
        x = rng.uniform(-1.5, 1.5, size=n)
        copy = safe.np_copy(x)
        counted = _Counted(f, exercise)
        what = f"jacobian_forward(f, x) for {label}"
        got = call_student(exercise, what, jacobian_forward, counted, x)
        check_not_mutated(exercise, [x], [copy], "jacobian_forward")
        if counted.calls > n:
            fail(exercise, f"{what} evaluated f {counted.calls} times; forward mode needs one pass per input "
                            f"(n = {n}): seed input j with tangent 1 and the others with 0 to get column j.")
        expected = _ag_jacobian(_on_ag(f, n), x, mode="reverse")
        got = as_array(exercise, what, got)
        if n != m and tuple(got.shape) == (n, m):
            fail(exercise, f"{what} has shape {(n, m)}, but the Jacobian of f: R^{n} -> R^{m} has one row per "
                            f"output and one column per input, shape {(m, n)}: it is transposed. One pass with "
                            f"input j seeded gives column j.")
        _compare(exercise, what, got, expected, [
            Mistake("the Jacobian is transposed: the tangents of one pass (input j seeded) form column j, not row j",
             expected.T),
            Mistake("the columns add up: each pass also carries the seeds of the earlier passes; reset the seed to 0 "
             "after each pass", _np_cumsum(expected, axis=1)),
            Mistake("every column equals J times a vector of ones: seed one input per pass, not all of them",
             _np_matmul(expected, _np_ones((n, n)))),
        ], EXACT)


# --- Exercise: JVP rules of Operations -----------------------------------------------------------


def _reference_class(op_class):
    for base in op_class.__mro__[1:]:
        if base.__module__.startswith("mini_autograd.ops"):
            return base
    return None


def _reverse_jacobians(reference, inputs):
    """The Jacobian of each input of the reference Operation, by reverse mode: one backward
    pass per output entry (d output / d input_k as an (output size, input size) matrix)."""
    variables = [_Variable(x) for x in inputs]
    output = reference()(*variables)
    size = int(output.value.size)
    jacobians = [safe.np_zeros((size, int(x.size))) for x in inputs]
    for i in range(size):
        seed = safe.np_zeros(size)
        seed[i] = 1.0
        grads = _compute_gradients(output, _np_reshape(seed, _np_shape(output.value)))
        for k, variable in enumerate(variables):
            grad = grads.get(variable)
            if grad is not None:
                jacobians[k][i] = _np_ravel(grad)
    return output.value, jacobians


def _contract(jacobians, tangents, shape):
    total = safe.np_zeros(jacobians[0].shape[0])
    for jacobian, tangent in zip(jacobians, tangents):
        total = total + _np_matmul(jacobian, _np_ravel(tangent))
    return _np_reshape(total, shape)


def check_jvp(op_class, input_shapes_list, exercise: str, *, reference=None, domain=(-2.0, 2.0), seeds=(0, 1),
              avoid_zero: float = 0.0):
    """op_class.jvp(*tangents) must return the output's tangent J_1 t_1 + ... + J_k t_k, checked
    against the reverse-mode Jacobians of the reference Operation (by default the
    mini_autograd.ops class op_class derives from) contracted with random tangents: all inputs
    moving at once, and each input moving alone. It must not change the tangents it receives."""
    safe.verify(exercise)
    if not (safe.builtin_isinstance(op_class, type) and issubclass(op_class, _Operation)):
        fail(exercise, f"expected a subclass of ag.Operation, got {op_class!r}.")
    reference = reference or _reference_class(op_class)
    if reference is None:
        raise ValueError(f"check_jvp: give the reference Operation for {op_class.__name__}")
    name = op_class.__name__
    for shapes in input_shapes_list:
        for seed in seeds:
            inputs = random_inputs(shapes, seed, domain, avoid_zero)
            rng = safe.np_random_default_rng(seed + 3000)
            node = op_class()
            output = call_student(exercise, f"{name}()(...) on inputs of shapes {describe_shape(shapes)}",
                           node, *[_Variable(safe.np_copy(x)) for x in inputs])
            value, jacobians = _reverse_jacobians(reference, inputs)
            out_shape = _np_shape(value)
            moving = [[as_float64(rng.standard_normal(x.shape)) for x in inputs]]
            if len(inputs) > 1:
                for k in range(len(inputs)):
                    moving.append([t if j == k else safe.np_zeros(x.shape) for j, (t, x) in enumerate(zip(moving[0], inputs))])
            for tangents in moving:
                copies = [safe.np_copy(t) for t in tangents]
                only = [k for k, t in enumerate(tangents) if safe.np_any(t != 0)]
                which = "" if len(only) == len(inputs) else f", only input {only[0]} moving"
                what = f"{name}.jvp for inputs of shapes {describe_shape(shapes)}{which}"
                got = call_student(exercise, what, node.jvp, *tangents)
                check_not_mutated(exercise, tangents, copies, f"{name}.jvp")
                expected = _contract(jacobians, tangents, out_shape)
                hints = [Mistake("it looks like the local derivative only: multiply it by the input's tangent (chain rule)",
                          _contract(jacobians, [_np_ones(x.shape) for x in inputs], out_shape))]
                if len(inputs) > 1 and len(only) == len(inputs):
                    for k in range(len(inputs)):
                        alone = [t if j == k else safe.np_zeros(t.shape) for j, t in enumerate(tangents)]
                        hints.append(Mistake(f"only input {k}'s contribution: the output's tangent is the sum of the "
                                      f"contributions of all inputs (product rule)", _contract(jacobians, alone, out_shape)))
                    if len(inputs) == 2 and tangents[0].shape == tangents[1].shape:
                        hints.append(Mistake("the tangents were multiplied together: the output's tangent is a sum of "
                                      "terms, each a local derivative times one input's tangent",
                                      tangents[0] * tangents[1]))
                    for k in range(len(inputs)):
                        flipped = [-t if j == k else t for j, t in enumerate(tangents)]
                        hints.append(Mistake(f"the contribution of input {k} has the wrong sign",
                                      _contract(jacobians, flipped, out_shape)))
                if len(inputs) == 1 and _np_shape(output.value) == tangents[0].shape:
                    hints.append(Mistake("the tangent was multiplied by the function's value instead of its derivative",
                                  as_float64(value) * tangents[0]))
                _compare(exercise, what, got, expected, hints)


# --- Exercise: cost of the two modes --------------------------------------------------------------


def check_choice(got, expected, exercise: str, what: str, accepted=None):
    """got must be the string ``expected`` (or any of ``accepted``)."""
    safe.verify(exercise)
    accepted = tuple(accepted) if accepted else (expected,)
    if not safe.builtin_isinstance(got, str):
        fail(exercise, f"{what} should be one of {', '.join(map(repr, accepted))}, got {type(got).__name__} {got!r}.")
    if str(got) not in accepted:
        fail(exercise, f"{what} is {str(got)!r}, but it should be {' or '.join(map(repr, accepted))}.")


def check_raises(function, arguments, error, exercise: str, what: str):
    """function(*arguments) must raise ``error``; integrity is verified after the call either way."""
    safe.verify(exercise)
    try:
        function(*arguments)
    except error:
        safe.verify(exercise)
        return
    except NotImplementedError:
        safe.verify(exercise)
        fail(exercise, f"{what} is not implemented yet (it raised NotImplementedError).")
    except AssertionError:
        safe.verify(exercise)
        raise
    except Exception as other:  # noqa: BLE001
        safe.verify(exercise)
        fail(exercise, f"{what} should raise {error.__name__}, but it raised {type(other).__name__}: {student_text(other)}")
    safe.verify(exercise)
    fail(exercise, f"{what} should raise {error.__name__}, but it returned normally.")


__all__ = [
    "check_dual_arithmetic", "check_dual_functions", "check_derivative", "check_dual_jvp", "check_forward_jacobian",
    "check_jvp", "check_choice", "check_raises", "CheckFailed",
]

safe.protect_new_modules()  # changing this module now counts as tampering too
