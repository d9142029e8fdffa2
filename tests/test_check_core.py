"""autograder.checks.core: the exercise context, calling student code, comparing, known mistakes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.checks import CheckFailed, TamperingDetected, integrity
from autograder.checks.core import GRADIENTS, MISTAKE, ROUNDING, VALUES, Mistake, exercise, explained_by
from autograder.checks.messages import likely_cause


def rebinding_allclose(*_):
    """Student code that tampers while it runs, and then returns a plausible value."""
    np.allclose = lambda *args, **kwargs: True
    return 1.0


@pytest.fixture
def restore_allclose():
    original = np.allclose
    yield
    np.allclose = original
    integrity.verify("after the test")


def test_entering_an_exercise_verifies_integrity(restore_allclose):
    np.allclose = lambda *args, **kwargs: True
    with pytest.raises(TamperingDetected, match=r"Ex 1.*np\.allclose"):
        with exercise("Ex 1"):
            pass


def test_a_call_into_student_code_is_followed_by_verification(restore_allclose):
    with pytest.raises(TamperingDetected, match=r"Ex 2.*np\.allclose"):
        with exercise("Ex 2") as ex:
            ex.call("your function", rebinding_allclose)
            raise AssertionError("not reached: the call must already have raised")


def test_tampering_wins_over_the_students_own_error(restore_allclose):
    def tamper_then_fail():
        np.allclose = lambda *args, **kwargs: True
        raise ValueError("oops")

    with pytest.raises(TamperingDetected):
        exercise("Ex").call("your function", tamper_then_fail)


def test_patching_a_module_during_the_call_is_detected():
    import mini_autograd as ag

    original = ag.ops.Multiply.backward

    def patch():
        ag.ops.Multiply.backward = lambda self, grad: (grad, grad)

    try:
        with pytest.raises(TamperingDetected, match="Multiply.backward"):
            exercise("Ex").call("your function", patch)
    finally:
        ag.ops.Multiply.backward = original
    integrity.verify("after the test")


def test_leaving_an_exercise_verifies_again(restore_allclose):
    with pytest.raises(TamperingDetected):
        with exercise("Ex"):
            np.allclose = lambda *args, **kwargs: True


def test_a_students_error_names_the_call_and_quotes_the_error():
    def broken(x):
        raise ZeroDivisionError("division by zero here")

    with pytest.raises(CheckFailed, match=r"^Ex 3: forward raised ZeroDivisionError: .*division by zero here"):
        exercise("Ex 3").call("forward", broken, 1.0)


def test_the_untouched_stub_is_reported_as_not_implemented():
    def stub():
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="forward is not implemented yet"):
        exercise("Ex").call("forward", stub)


def test_something_not_callable_is_reported():
    with pytest.raises(CheckFailed, match="your function should be a function, got int"):
        exercise("Ex").call("your function", 3)


def test_a_call_returns_what_the_student_returned():
    assert exercise("Ex").call("your function", lambda a, b: a + b, 2, 3) == 5


def test_compare_accepts_equal_values_and_names_the_worst_element():
    ex = exercise("Ex")
    ex.compare([1.0, 2.0], [1.0, 2.0], "the result")
    with pytest.raises(CheckFailed, match=r"the result at index \[1\]: expected 5, got 2"):
        ex.compare([1.0, 2.0, 3.0], [1.0, 5.0, 3.1], "the result")


def test_compare_reports_a_wrong_shape_and_none():
    ex = exercise("Ex")
    with pytest.raises(CheckFailed, match=r"has shape \(3,\) but should have shape \(2,\)"):
        ex.compare(np.zeros(3), np.zeros(2), "the result")
    with pytest.raises(CheckFailed, match="is None: did you forget to return"):
        ex.compare(None, np.zeros(2), "the result")


def test_a_known_mistake_is_named_when_it_reproduces_the_answer():
    expected = np.array([1.0, -2.0, 3.5])
    mistakes = [Mistake("you added instead of multiplying", expected + 1), Mistake("the sign", -expected)]
    with pytest.raises(CheckFailed, match="Likely cause: you added instead of multiplying"):
        exercise("Ex").compare(expected + 1, expected, "the result", mistakes=mistakes)
    with pytest.raises(CheckFailed) as failure:
        exercise("Ex").compare(expected * 7, expected, "the result", mistakes=mistakes)
    assert "you added" not in str(failure.value) and "the sign" not in str(failure.value)


def test_a_mistake_that_gives_the_right_value_here_is_not_named():
    expected = np.array([1.0, 2.0])
    mistakes = [Mistake("looks like the answer", expected), Mistake("the real one", expected * 3)]
    assert explained_by(expected * 3, expected, mistakes) == "the real one"


def test_the_tolerance_policy_orders_references_by_how_exact_they_are():
    assert ROUNDING.atol < VALUES.atol < GRADIENTS.atol
    assert ROUNDING.rtol < VALUES.rtol < GRADIENTS.rtol
    assert MISTAKE.rtol <= VALUES.rtol
    ex = exercise("Ex")
    ex.compare([1.0 + 5e-5], [1.0], "a gradient", tolerance=GRADIENTS)
    with pytest.raises(CheckFailed):
        ex.compare([1.0 + 5e-5], [1.0], "a value", tolerance=VALUES)


# --- likely_cause names a cause only when the evidence holds --------------------------------------

arrays = hnp.arrays(np.float64, st.integers(2, 12), elements=st.floats(-10, 10).filter(lambda v: abs(v) > 1e-3))


@settings(max_examples=200, deadline=None)
@given(arrays, st.data())
def test_random_wrong_answers_get_no_factor_cause(expected, data):
    got = data.draw(hnp.arrays(np.float64, expected.shape, elements=st.floats(-10, 10)))
    cause = likely_cause(got, expected) or ""
    ratios = got / expected
    if not np.allclose(ratios, ratios[0], rtol=1e-3):   # not a constant ratio: no factor may be named
        assert "factor" not in cause and "sign" not in cause and "too large" not in cause


@settings(max_examples=100, deadline=None)
@given(arrays, st.sampled_from([(2.0, "counted twice"), (0.5, "missing"), (-1.0, "sign is flipped")]))
def test_a_constant_factor_is_named(expected, case):
    factor, words = case
    assert words in likely_cause(factor * expected, expected)


def test_a_factor_is_not_named_when_small_elements_disagree():
    expected = np.array([1.0, 3e-7, -4e-7, 2e-7])
    got = np.array([2.0, -5e-7, 6e-7, 0.0])  # twice the large element, the small ones anything
    assert likely_cause(got, expected) is None
