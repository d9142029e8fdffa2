"""autograder.checks.forward_mode outside notebooks: each known mistake gets its message, each
correct answer passes, and every check verifies integrity after the student's code ran."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mini_autograd as ag
from autograder.checks import CheckFailed, TamperingDetected, integrity
from autograder.checks.forward_mode import (check_choice, check_derivative, check_dual_arithmetic, check_dual_functions,
                                            check_dual_jvp, check_forward_jacobian, check_jvp, check_raises)


def notebook_solutions(assignment, grade_ids):
    """The solution cells ``grade_ids`` of a notebook in source/, run in a fresh namespace."""
    import pathlib

    import nbformat

    path = pathlib.Path(__file__).parent.parent / "source" / assignment / f"{assignment}.ipynb"
    namespace = {"np": np, "ag": ag}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in grade_ids:
            exec(cell.source, namespace)
    return namespace


SOLUTIONS = notebook_solutions("05_forward_mode", {"ex1-solution", "ex2-solution", "ex3-solution", "ex4-solution",
                                                      "ex5-multiply-solution"})
Dual, lift = SOLUTIONS["Dual"], SOLUTIONS["lift"]
FUNCTIONS = {name: SOLUTIONS[f"dual_{name}"] for name in ("exp", "log", "sqrt", "sin", "cos", "tanh")}
derivative, dual_jvp = SOLUTIONS["derivative"], SOLUTIONS["dual_jvp"]
jacobian_forward, Multiply = SOLUTIONS["jacobian_forward"], SOLUTIONS["Multiply"]


@pytest.fixture
def tampering():
    """Student code calls tampering.now() while it runs; the test restores np.allclose after."""
    original = np.allclose

    class Tamper:
        @staticmethod
        def now():
            np.allclose = lambda *args, **kwargs: True

    yield Tamper
    np.allclose = original
    integrity.verify("after the test")


# --- correct answers pass -------------------------------------------------------------------------

def test_correct_answers_pass_every_check():
    check_dual_arithmetic(Dual, "Ex 1", seeds=(0, 1), shapes=((), (4,)))
    check_dual_functions(FUNCTIONS, Dual, "Ex 2", seeds=(0, 1), edge_points=True)
    check_derivative(derivative, "Ex 3", shapes=((), (5,)))
    check_dual_jvp(dual_jvp, "Ex 3", sizes=((1, 1), (3, 2), (2, 4)))
    check_forward_jacobian(jacobian_forward, "Ex 4", sizes=((3, 2), (2, 3), (1, 1)))
    check_jvp(Multiply, [((3,), (3,)), ((2, 3), (3,))], "Ex 5")
    check_choice("forward", "forward", "Ex 6", "the mode")
    check_raises(lambda: 1 / 0, (), ZeroDivisionError, "Ex 6", "dividing by zero")


# --- known mistakes get their messages ------------------------------------------------------------

def dual_with(**rules):
    """Dual with some methods replaced by wrong ones."""
    return type("WrongDual", (Dual,), rules)


ARITHMETIC_MISTAKES = [
    ("__mul__", lambda self, o: Dual(self.value * lift(o).value, self.tangent * lift(o).value),
     "the term x t_y is missing"),
    ("__mul__", lambda self, o: Dual(self.value * lift(o).value, self.tangent * lift(o).tangent),
     "not the product of the tangents"),
    ("__truediv__", lambda self, o: Dual(self.value / lift(o).value,
                                         (self.tangent * lift(o).value + self.value * lift(o).tangent) / lift(o).value**2),
     "the quotient rule subtracts"),
    ("__truediv__", lambda self, o: Dual(self.value / lift(o).value,
                                         (self.tangent * lift(o).value - self.value * lift(o).tangent) / lift(o).value),
     "the quotient rule divides by y squared"),
    ("__sub__", lambda self, o: Dual(self.value - lift(o).value, self.tangent + lift(o).tangent),
     "the tangent of x - y is t_x - t_y"),
    ("__pow__", lambda self, p: Dual(self.value**p, p * self.value**p * self.tangent), "the exponent is off by one"),
    ("__pow__", lambda self, p: Dual(self.value**p, p * self.value ** (p - 1)), "multiply p x^(p-1) by the tangent"),
]


@pytest.mark.parametrize("method, wrong, message", ARITHMETIC_MISTAKES, ids=[m[2] for m in ARITHMETIC_MISTAKES])
def test_dual_arithmetic_mistakes_get_their_hint(method, wrong, message):
    with pytest.raises(CheckFailed, match=f"Likely cause: .*{re.escape(message)}"):
        check_dual_arithmetic(dual_with(**{method: wrong}), "Ex 1")


FUNCTION_MISTAKES = [
    ("sin", lambda d: Dual(np.sin(d.value), -np.cos(d.value) * d.tangent), "cos x, without a minus sign"),
    ("cos", lambda d: Dual(np.cos(d.value), np.sin(d.value) * d.tangent), "-sin x"),
    ("exp", lambda d: Dual(np.exp(d.value), np.exp(d.value)), "the factor t is missing"),
    ("log", lambda d: Dual(np.log(d.value), d.value * d.tangent), "the tangent is t / x"),
    ("tanh", lambda d: Dual(np.tanh(d.value), (1 - np.tanh(d.value)) * d.tangent), "the square is missing"),
]


@pytest.mark.parametrize("name, wrong, message", FUNCTION_MISTAKES, ids=[m[2] for m in FUNCTION_MISTAKES])
def test_dual_function_mistakes_get_their_hint(name, wrong, message):
    with pytest.raises(CheckFailed, match=f"Likely cause: .*{re.escape(message)}"):
        check_dual_functions({**FUNCTIONS, name: wrong}, Dual, "Ex 2")


def test_derivative_mistakes_get_their_hint():
    with pytest.raises(CheckFailed, match="Likely cause: the result is zero: seed the input with tangent 1"):
        check_derivative(lambda f, x: f(Dual(x, 0.0)).tangent, "Ex 3")
    with pytest.raises(CheckFailed, match="Likely cause: that is f\\(x\\), the value"):
        check_derivative(lambda f, x: f(Dual(x, 1.0)).value, "Ex 3")
    with pytest.raises(CheckFailed, match="evaluated f 2 times"):
        check_derivative(lambda f, x: (f(Dual(x, 1.0)), f(Dual(x, 1.0)))[1].tangent, "Ex 3")


def test_a_finite_difference_derivative_is_not_forward_mode():
    def numeric(f, x, eps=1e-5):
        return (f(Dual(x + eps, 0.0)).value - f(Dual(x - eps, 0.0)).value) / (2 * eps)

    with pytest.raises(CheckFailed):
        check_derivative(lambda f, x: numeric(lambda d: f(d), x), "Ex 3")


def test_dual_jvp_mistakes_get_their_hint():
    def ones_seed(f, x, v):
        return dual_jvp(f, x, np.ones(len(x)))

    with pytest.raises(CheckFailed, match="Likely cause: every input got tangent 1: seed input i with v\\[i\\]"):
        check_dual_jvp(ones_seed, "Ex 3")
    with pytest.raises(CheckFailed, match="Likely cause: these are the tangents"):
        check_dual_jvp(lambda f, x, v: dual_jvp(f, x, v)[::-1], "Ex 3")


def test_forward_jacobian_mistakes_get_their_hint():
    def seed_not_reset(f, x):
        x = np.asarray(x, dtype=float)
        seed, columns = np.zeros(x.size), []
        for j in range(x.size):
            seed[j] = 1.0
            columns.append([o.tangent for o in f([Dual(x[i], seed[i]) for i in range(x.size)])])
        return np.array(columns).T

    with pytest.raises(CheckFailed, match="Likely cause: the columns add up"):
        check_forward_jacobian(seed_not_reset, "Ex 4")
    with pytest.raises(CheckFailed, match="transposed"):
        check_forward_jacobian(lambda f, x: jacobian_forward(f, x).T, "Ex 4", sizes=((3, 3),))


def test_jvp_mistakes_get_their_hint():
    class MissingTerm(ag.ops.Multiply):
        def jvp(self, ta, tb):
            return ta * self.b

    class ProductOfTangents(ag.ops.Multiply):
        def jvp(self, ta, tb):
            return ta * tb

    with pytest.raises(CheckFailed, match="Likely cause: only input 0's contribution"):
        check_jvp(MissingTerm, [((3,), (3,))], "Ex 5")
    with pytest.raises(CheckFailed, match="Likely cause: the tangents were multiplied together"):
        check_jvp(ProductOfTangents, [((3,), (3,))], "Ex 5")


def test_choice_and_raises_report_wrong_answers():
    with pytest.raises(CheckFailed, match="'reverse', but it should be 'forward'"):
        check_choice("reverse", "forward", "Ex 6", "the mode")
    with pytest.raises(CheckFailed, match="returned normally"):
        check_raises(lambda: 1, (), ZeroDivisionError, "Ex 6", "dividing by zero")


@settings(max_examples=30, deadline=None)
@given(st.floats(-3, 3).filter(lambda c: abs(c) > 0.1))
def test_a_tangent_off_by_a_constant_factor_always_fails(factor):
    """Whatever wrong factor the tangent of a product carries, the check sees it."""
    wrong = dual_with(__mul__=lambda self, o: Dual(self.value * lift(o).value,
                                                   factor * (self.tangent * lift(o).value + self.value * lift(o).tangent)))
    if abs(factor - 1) < 1e-6:
        return
    with pytest.raises(CheckFailed, match="tangent of x \\* y"):
        check_dual_arithmetic(wrong, "Ex 1")


# --- integrity is verified after the student's code, in every check ----------------------------------

def test_every_check_verifies_integrity_after_student_code(tampering):
    def tampering_dual():
        return dual_with(__add__=lambda self, o: (tampering.now(), Dual.__add__(self, o))[1])

    def tampering_function(d):
        tampering.now()
        return FUNCTIONS["exp"](d)

    class TamperingMultiply(Multiply):
        def jvp(self, ta, tb):
            tampering.now()
            return super().jvp(ta, tb)

    calls = [
        lambda: check_dual_arithmetic(tampering_dual(), "Ex"),
        lambda: check_dual_functions({**FUNCTIONS, "exp": tampering_function}, Dual, "Ex"),
        lambda: check_derivative(lambda f, x: (tampering.now(), derivative(f, x))[1], "Ex"),
        lambda: check_dual_jvp(lambda f, x, v: (tampering.now(), dual_jvp(f, x, v))[1], "Ex"),
        lambda: check_forward_jacobian(lambda f, x: (tampering.now(), jacobian_forward(f, x))[1], "Ex"),
        lambda: check_jvp(TamperingMultiply, [((3,), (3,))], "Ex"),
        lambda: check_raises(lambda: (tampering.now(), 1 / 0), (), ZeroDivisionError, "Ex", "dividing"),
    ]
    original = np.allclose
    for call in calls:
        with pytest.raises(TamperingDetected, match="np.allclose"):
            call()
        np.allclose = original
        integrity.verify("between the checks")
