"""autograder.checks.exercises.a05_forward_mode: the example functions the test cells of
05_forward_mode use, outside notebooks, with the notebook's own solutions and the bank's mutants."""

import numpy as np
import pytest

import mini_autograd as ag
from autograder.checks import CheckFailed, check_values
from autograder.checks.exercises import a05_forward_mode as known
from course.banks import a05_forward_mode as bank
from course.notebooks import a05_forward_mode as notebook

SOLUTION_CELLS = ("ex1-solution", "ex3-solution", "ex4-solution")


def solutions(mutant=None):
    """The solution cells of Exercises 1, 3 and 4 run in a fresh namespace, with the bank's
    mutant called ``mutant`` applied to its cell."""
    entry = next(m for m in bank.MUTANTS if m["name"] == mutant) if mutant else None
    namespace = {"np": np, "ag": ag}
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in notebook.build().cells}
    for grade_id in SOLUTION_CELLS:
        source = cells[grade_id]
        if entry and entry["cell"] == grade_id:
            assert entry["old"] in source
            source = source.replace(entry["old"], entry["new"])
        exec(source, namespace)
    return namespace


# --- linear_2_to_2: the example of dual_jvp (ex3-tests) ---------------------------------------------

def check_dual_jvp_of_linear(namespace):
    """What ex3-tests checks with the example."""
    linear = known.linear_2_to_2(namespace["Dual"])
    values, tangents = namespace["dual_jvp"](linear, np.array([1.0, 2.0]), np.array([0.5, -1.0]))
    check_values(values, [8.0, -1.0], "Exercise 3 (dual_jvp)", "the values of dual_jvp(linear, [1, 2], [0.5, -1])")
    check_values(tangents, [-2.0, 1.5], "Exercise 3 (dual_jvp)", "J v from dual_jvp(linear, [1, 2], [0.5, -1])")


def test_linear_2_to_2_is_the_function_its_docstring_names():
    Dual = solutions()["Dual"]
    x, y = 1.5, -0.5
    outputs = known.linear_2_to_2(Dual)([Dual(x, 1.0), Dual(y, 0.0)])
    assert all(type(out) is Dual for out in outputs)  # built with the class it was given
    check_values([out.value for out in outputs], [2 * x + 3 * y, x - y], "linear_2_to_2", "values")
    check_values([out.tangent for out in outputs], [2, 1], "linear_2_to_2", "the column of x")


def test_a_correct_dual_jvp_passes_on_linear_2_to_2():
    check_dual_jvp_of_linear(solutions())


def test_a_wrong_dual_jvp_fails_on_linear_2_to_2():
    with pytest.raises(CheckFailed, match=r"Exercise 3 \(dual_jvp\): J v from dual_jvp\(linear"):
        check_dual_jvp_of_linear(solutions("dual_jvp seeds every input with 1 instead of v"))


# --- linear_2_to_3: the example of jacobian_forward (ex4-tests) --------------------------------------

def check_jacobian_of_linear(namespace):
    """What ex4-tests checks with the example."""
    linear = known.linear_2_to_3(namespace["Dual"])
    check_values(namespace["jacobian_forward"](linear, np.array([1.0, 2.0])), [[2, 3], [1, -1], [0, 4]], "Exercise 4",
                 "jacobian_forward(linear, [1, 2])")


def test_linear_2_to_3_is_the_function_its_docstring_names():
    Dual = solutions()["Dual"]
    x, y = 1.5, -0.5
    outputs = known.linear_2_to_3(Dual)([Dual(x, 0.0), Dual(y, 1.0)])
    assert all(type(out) is Dual for out in outputs)
    check_values([out.value for out in outputs], [2 * x + 3 * y, x - y, 4 * y], "linear_2_to_3", "values")
    check_values([out.tangent for out in outputs], [3, -1, 4], "linear_2_to_3", "the column of y")


def test_a_correct_jacobian_forward_passes_on_linear_2_to_3():
    check_jacobian_of_linear(solutions())


@pytest.mark.parametrize("mutant", ["Jacobian built by rows (transposed)", "seed not reset between passes"])
def test_a_wrong_jacobian_forward_fails_on_linear_2_to_3(mutant):
    with pytest.raises(CheckFailed, match=r"Exercise 4: .*jacobian_forward\(linear, \[1, 2\]\)"):
        check_jacobian_of_linear(solutions(mutant))
