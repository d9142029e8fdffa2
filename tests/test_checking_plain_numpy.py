"""ag.numerical_gradient, numerical_jacobian and gradcheck on plain numpy functions (students
write those first) as well as on mini_autograd functions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mini_autograd as ag

SHAPES = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4)


def arrays(shape):
    return hnp.arrays(np.float64, shape, elements=st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False))


def test_the_issue_example_works():
    x = np.array([0.3, -1.2, 2.0])
    got = ag.numerical_gradient(lambda a: np.sum(np.sin(a) * a), x)
    np.testing.assert_allclose(got, np.cos(x) * x + np.sin(x), rtol=1e-7, atol=1e-9)
    report = ag.gradcheck(lambda a: np.sum(np.sin(a) * a), x, gradient=lambda a: np.cos(a) * a + np.sin(a))
    assert report.passed


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_property_plain_numpy_and_mini_autograd_agree(data, shape):
    x = data.draw(arrays(shape), label="x")
    before = x.copy()
    plain = ag.numerical_gradient(lambda a: np.sum(np.sin(a) * a + np.exp(a) / 3), x)
    engine = ag.numerical_gradient(lambda a: (ag.sin(a) * a + ag.exp(a) / 3).sum(), x)
    np.testing.assert_allclose(plain, engine, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(plain, np.cos(x) * x + np.sin(x) + np.exp(x) / 3, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(x, before)  # the caller's array is left alone


@settings(max_examples=30, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_property_plain_numpy_jacobian_and_vjp(data, shape):
    a = data.draw(arrays(shape), label="a")
    b = data.draw(arrays(shape), label="b")
    g = data.draw(arrays(shape), label="grad_output")
    ja, jb = ag.numerical_jacobian(lambda u, v: np.tanh(u) * v, a, b)
    eye = np.eye(a.size).reshape(a.shape + a.shape)
    np.testing.assert_allclose(ja, eye * (1 - np.tanh(a) ** 2 * 1.0) * b.reshape(a.shape + (1,) * a.ndim),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(jb, eye * np.tanh(a).reshape(a.shape + (1,) * a.ndim), rtol=1e-6, atol=1e-7)
    va, vb = ag.numerical_gradient(lambda u, v: np.tanh(u) * v, a, b, grad_output=g)
    np.testing.assert_allclose(va, g * (1 - np.tanh(a) ** 2) * b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(vb, g * np.tanh(a), rtol=1e-6, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), shape=SHAPES)
def test_property_gradcheck_of_a_plain_function_with_its_gradient(data, shape):
    x = data.draw(arrays(shape), label="x")
    ag.gradcheck(lambda a: np.sum(np.sin(a) * a), x, gradient=lambda a: np.cos(a) * a + np.sin(a))
    # non-scalar f: the gradient is a vector-Jacobian product
    ag.gradcheck(lambda a: np.sin(a) * a, x, vjp=lambda a, g: g * (np.cos(a) * a + np.sin(a)))
    with pytest.raises(ag.GradcheckError):
        ag.gradcheck(lambda a: np.sum(np.sin(a) * a), x + 3.0, gradient=lambda a: np.cos(a) * a)


def test_gradcheck_of_a_plain_function_without_a_gradient_says_what_to_do():
    with pytest.raises(TypeError, match="gradient="):
        ag.gradcheck(lambda a: np.sum(np.sin(a) * a), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="vjp"):
        ag.gradcheck(lambda a: np.sin(a), np.array([0.5, 1.0]), gradient=np.cos)


def test_mini_autograd_functions_still_checked_by_reverse_mode():
    class WrongSin(ag.Operation):
        def forward(self, x):
            self.x = x
            return np.sin(x)

        def backward(self, grad):
            return (grad * np.sin(self.x),)

    x = np.array([0.3, -1.2, 2.0])
    assert ag.gradcheck(lambda v: ag.sin(v).sum(), x).passed
    with pytest.raises(ag.GradcheckError, match="input 0"):
        ag.gradcheck(lambda v: WrongSin()(v).sum(), x)


def test_a_mini_autograd_function_that_fails_reports_its_own_error():
    with pytest.raises(ValueError):
        ag.numerical_gradient(lambda v: v.reshape(7).sum(), np.ones(3))
