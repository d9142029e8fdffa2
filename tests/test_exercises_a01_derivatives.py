"""autograder.checks.exercises.a01_derivatives: what the test cells of 01_derivatives call, outside
notebooks, with the notebook's own solutions and the bank's mutants of them."""

import numpy as np
import pytest

import mini_autograd as ag
from autograder.checks import CheckFailed, check_values, reference_functions
from autograder.checks.exercises import a01_derivatives as known
from course.banks import a01_derivatives as bank
from course.notebooks import a01_derivatives as notebook


def solutions(mutant=None):
    """The notebook's solution cells run in a fresh namespace, with the bank's mutant called
    ``mutant`` applied to its cell."""
    entry = next(m for m in bank.MUTANTS if m["name"] == mutant) if mutant else None
    namespace = {"np": np, "ag": ag}
    for cell in notebook.build().cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("-solution"):
            source = cell.source
            if entry and entry["cell"] == grade_id:
                assert entry["old"] in source
                source = source.replace(entry["old"], entry["new"])
            exec(source, namespace)
    return namespace


def reverse_pass_judged_alone(namespace, x):
    """What ex4-reverse-tests does: the student's reverse_pass, run with the reference forward pass."""
    with reference_functions(namespace, forward_pass=known.reference_forward_pass):
        return namespace["reverse_pass"](x)


# --- reference_forward_pass -------------------------------------------------------------------------

@pytest.mark.parametrize("x", [-1.2, 0.0, 0.4, 1.0, np.linspace(-1, 1, 5)])
def test_the_reference_forward_pass_has_the_values_of_the_solution(x):
    expected = solutions()["forward_pass"](x)
    got = known.reference_forward_pass(x)
    assert set(got) == set("abcdef")
    for key in "abcdef":
        check_values(got[key], expected[key], "Exercise 4 (forward pass)", key, rtol=1e-14)


def test_the_reference_forward_pass_is_not_a_wrong_one():
    wrong = solutions("forward pass c = a * b (the reverse pass uses it)")["forward_pass"]
    with pytest.raises(CheckFailed, match=r"Exercise 4 \(forward pass\)"):
        check_values(known.reference_forward_pass(1.0)["c"], wrong(1.0)["c"], "Exercise 4 (forward pass)", "c")


def expected_reverse_pass(x):
    c = x**2 + np.exp(x**2)
    dc = 1 / (2 * np.sqrt(c)) - np.sin(c)
    return {"f": 1.0, "e": 1.0, "d": 1.0, "c": dc, "b": dc, "a": dc * np.exp(x**2) + dc,
            "x": 2 * x * dc * (1 + np.exp(x**2))}


def check_reverse_pass(namespace, x):
    grads = reverse_pass_judged_alone(namespace, x)
    for key, value in expected_reverse_pass(x).items():
        check_values(grads[key], value, "Exercise 4 (reverse pass)", f'reverse_pass({x})["{key}"]', rtol=1e-10)


@pytest.mark.parametrize("x", [-1.2, 0.4, 1.0, 1.3])
def test_a_correct_reverse_pass_passes_with_the_reference_forward_pass(x):
    check_reverse_pass(solutions(), x)


def test_a_wrong_forward_pass_does_not_cost_the_reverse_pass():
    namespace = solutions("forward pass c = a * b (the reverse pass uses it)")
    with pytest.raises(CheckFailed):  # without the reference, the reverse pass would pay for it
        check_values(namespace["reverse_pass"](1.0)["x"], expected_reverse_pass(1.0)["x"], "Exercise 4 (reverse pass)")
    check_reverse_pass(namespace, 1.0)
    assert namespace["forward_pass"] is not known.reference_forward_pass  # and the student's is put back


@pytest.mark.parametrize("mutant", ["reverse pass overwrites da instead of adding",
                                    "reverse pass forgets the chain factor 2x"])
def test_a_wrong_reverse_pass_fails_with_the_reference_forward_pass(mutant):
    with pytest.raises(CheckFailed, match=r"Exercise 4 \(reverse pass\): reverse_pass\(1.0\)"):
        check_reverse_pass(solutions(mutant), 1.0)


# --- y, Exercise 5's function in mini_autograd ---------------------------------------------------------

def autograd_partials(x0, z0):
    x, z = ag.Variable(x0), ag.Variable(z0)
    known.y(x, z).backward()
    return x.grad, z.grad


@pytest.mark.parametrize("x0, z0", [(2.0, 3.0), (1.5, 0.5), (3.0, -1.0), (0.5, 2.0)])
def test_the_derivatives_of_y_are_the_solutions_formulas(x0, z0):
    namespace = solutions()
    dx, dz = autograd_partials(x0, z0)
    check_values(namespace["dy_dx"](x0, z0), dx, "Exercise 5", f"dy_dx({x0}, {z0})", rtol=1e-9)
    check_values(namespace["dy_dz"](x0, z0), dz, "Exercise 5", f"dy_dz({x0}, {z0})", rtol=1e-9)


def test_y_is_the_function_of_the_exercise():
    x, z = 2.0, 3.0
    value = known.y(ag.Variable(x), ag.Variable(z)).value
    check_values(value, np.exp(x * z) + x * z / np.log(x) + np.sin(np.log(x)) / (x * z), "Exercise 5", "y(2, 3)")


def test_a_wrong_derivative_fails_against_the_derivatives_of_y():
    wrong = solutions("quotient rule sign error")
    _, dz = autograd_partials(2.0, 3.0)
    with pytest.raises(CheckFailed, match=r"Exercise 5: .*dy_dz\(2, 3\)"):
        check_values(wrong["dy_dz"](2.0, 3.0), dz, "Exercise 5", "dy_dz(2, 3)")
