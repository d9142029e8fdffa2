"""autograder.checks.exercises.a04_mlp: what the test cells of 04_mlp call, outside notebooks, with
the notebook's own solutions and the bank's mutants of them: the known mistake of the squared loss
is named, the references and adapters pass the solutions and fail wrong answers."""

import re

import numpy as np
import pytest

import mini_autograd as ag
from autograder.checks import CheckFailed, check_function, check_operation, check_values, check_vjp, reference_functions
from autograder.checks.exercises import a04_mlp as known
from course.banks import a04_mlp as bank
from course.notebooks import a04_mlp as notebook

CELLS = {"ex1-solution", "ex2-solution", "ex3-solution", "ex4-solution", "ex5-solution", "ex8-solution"}


SOURCES = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.build().cells
           if cell.metadata.get("nbgrader", {}).get("grade_id") in CELLS}


def solutions(mutant=None):
    """The notebook's solution cells of Exercises 1 to 5 and 8 run in a fresh namespace, with the
    bank's mutant called ``mutant`` applied to its cell."""
    sources = dict(SOURCES)
    if mutant is not None:
        entry = next(m for m in bank.MUTANTS if m["name"] == mutant)
        assert entry["old"] in sources[entry["cell"]]
        sources[entry["cell"]] = sources[entry["cell"]].replace(entry["old"], entry["new"])
    namespace = {"np": np, "ag": ag}
    for source in sources.values():
        exec(source, namespace)
    return namespace


LINEAR = [[(4, 3), (3, 2), (2,)]]
MSE_SHAPES = [[(5, 1), (5,)], [(4, 3), (4, 3)]]
EXTREME = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]])


# ------------------------------------------------------------------ known mistakes (Exercise 4)

def test_every_mistake_constant_is_tested():
    assert {name for name in dir(known) if name.endswith("_MISTAKES")} == {"MSE_MISTAKES"}


@pytest.mark.parametrize("mistake", known.MSE_MISTAKES, ids=lambda m: m.description)
def test_an_mse_making_the_known_mistake_fails_with_its_description(mistake):
    with pytest.raises(CheckFailed, match="Likely cause: " + re.escape(mistake.description)):
        check_function(mistake.candidate, known.mse, MSE_SHAPES, "Exercise 4 (MSE)", known_mistakes=known.MSE_MISTAKES)


def test_the_bank_mutant_without_the_reshape_is_named_by_the_mistake():
    wrong = solutions("MSE broadcasts an (N, 1) prediction against an (N,) target")["mse"]
    with pytest.raises(CheckFailed, match=re.escape(known.MSE_MISTAKES[0].description)):
        check_function(wrong, known.mse, MSE_SHAPES, "Exercise 4 (MSE)", known_mistakes=known.MSE_MISTAKES)


def test_the_correct_mse_passes():
    check_function(solutions()["mse"], known.mse, MSE_SHAPES, "Exercise 4 (MSE)", known_mistakes=known.MSE_MISTAKES)


# ------------------------------------------------------------------ Exercise 1: linear, forward_of

def test_forward_of_the_solution_passes_and_a_forward_without_bias_fails():
    check_function(known.forward_of(solutions()["LinearOp"]), known.linear, LINEAR, "Exercise 1 (Linear forward)")
    wrong = solutions("Linear forward forgets the bias")["LinearOp"]
    with pytest.raises(CheckFailed, match=r"^Exercise 1 \(Linear forward\): the result"):
        check_function(known.forward_of(wrong), known.linear, LINEAR, "Exercise 1 (Linear forward)")


def test_the_backward_cell_judges_backward_with_reference_forward_values():
    """With reference=known.linear and check_forward=False a wrong forward costs nothing, a wrong
    backward fails."""
    check_operation(solutions("Linear forward forgets the bias")["LinearOp"], LINEAR, "Exercise 1 (Linear backward)",
                    reference=known.linear, check_forward=False)
    wrong = solutions("Linear bias gradient not summed over the batch")["LinearOp"]
    with pytest.raises(CheckFailed, match=r"LinearOp.backward"):
        check_operation(wrong, LINEAR, "Exercise 1 (Linear backward)", reference=known.linear, check_forward=False)


# ------------------------------------------------------------------ Exercise 2: relu, sigmoid

@pytest.mark.parametrize("name, wrong", [("relu", np.abs), ("sigmoid", np.tanh)])
def test_the_activation_references_pass_the_solution_and_fail_a_wrong_one(name, wrong):
    reference = getattr(known, name)
    check_function(solutions()[name], reference, [[(3, 4)], [(7,)]], f"Exercise 2 ({name})", domain=(-6, 6))
    with pytest.raises(CheckFailed, match=rf"^Exercise 2 \({name}\)"):
        check_function(wrong, reference, [[(3, 4)], [(7,)]], f"Exercise 2 ({name})", domain=(-6, 6))


def test_the_sigmoid_reference_judges_sigmoid_backward():
    check_vjp(solutions()["sigmoid_backward"], known.sigmoid, [[(3, 4)]], "Exercise 2 (sigmoid backward)",
              label="sigmoid_backward")
    wrong = solutions("sigmoid_backward forgets grad_output (local derivative only)")["sigmoid_backward"]
    with pytest.raises(CheckFailed, match="sigmoid_backward: the gradient"):
        check_vjp(wrong, known.sigmoid, [[(3, 4)]], "Exercise 2 (sigmoid backward)", label="sigmoid_backward")


# ------------------------------------------------------------------ Exercise 3: softmax and cross-entropy

def test_the_softmax_reference_passes_the_solution_and_fails_a_softmax_over_the_wrong_axis():
    check_function(solutions()["softmax"], known.softmax, [[(4, 3)], [(6,)]], "Exercise 3 (softmax)", domain=(-5, 5))
    with pytest.raises(CheckFailed, match=r"^Exercise 3 \(softmax\)"):
        check_function(lambda z: np.exp(z) / np.exp(z).sum(axis=0, keepdims=True), known.softmax, [[(4, 3)]],
                       "Exercise 3 (softmax)", domain=(-5, 5))


def test_check_cross_entropy_passes_the_solution_and_fails_a_summed_loss():
    namespace = solutions()
    labels = np.array([0, 2, 1, 2])
    with reference_functions(namespace, softmax=known.softmax):
        known.check_cross_entropy(namespace["cross_entropy"], labels, [[(4, 3)]], "Exercise 3 (cross-entropy)",
                                  domain=(-5, 5))
        summed = lambda z, y: len(y) * namespace["cross_entropy"](z, y)  # noqa: E731
        with pytest.raises(CheckFailed, match=r"^Exercise 3 \(cross-entropy\)"):
            known.check_cross_entropy(summed, labels, [[(4, 3)]], "Exercise 3 (cross-entropy)", domain=(-5, 5))


def test_check_cross_entropy_grad_passes_the_solution_and_fails_a_gradient_not_divided_by_the_batch():
    labels = np.array([0, 2, 1, 2])
    namespace = solutions()
    with reference_functions(namespace, softmax=known.softmax):
        known.check_cross_entropy_grad(namespace["cross_entropy_grad"], labels, [[(4, 3)]],
                                       "Exercise 3 (cross-entropy gradient)")
    namespace = solutions("cross-entropy gradient not divided by the batch size")
    with reference_functions(namespace, softmax=known.softmax), pytest.raises(
            CheckFailed, match=r"^Exercise 3 \(cross-entropy gradient\): cross_entropy_grad: the gradient"):
        known.check_cross_entropy_grad(namespace["cross_entropy_grad"], labels, [[(4, 3)]],
                                       "Exercise 3 (cross-entropy gradient)")


def test_cross_entropy_gradient_is_the_solutions_gradient_at_extreme_logits():
    labels = np.array([1, 2])
    expected = known.cross_entropy_gradient(EXTREME, labels)
    check_values(solutions()["cross_entropy_grad"](EXTREME, labels), expected, "Ex 3", "at +-1000")
    wrong = solutions("cross-entropy gradient not divided by the batch size")["cross_entropy_grad"]
    with pytest.raises(CheckFailed):
        check_values(wrong(EXTREME, labels), expected, "Ex 3", "at +-1000")


# ------------------------------------------------------------------ Exercise 4: mse, mse_vjp

def test_mse_vjp_passes_the_solution_and_fails_a_gradient_divided_by_the_rows():
    check_vjp(known.mse_vjp(solutions()["mse_grad"]), known.mse, MSE_SHAPES, "Exercise 4 (MSE gradient)",
              label="mse_grad")
    wrong = solutions("MSE gradient divided by the number of rows, not of entries")["mse_grad"]
    with pytest.raises(CheckFailed, match=r"^Exercise 4 \(MSE gradient\): mse_grad: the gradient"):
        check_vjp(known.mse_vjp(wrong), known.mse, MSE_SHAPES, "Exercise 4 (MSE gradient)", label="mse_grad")


# ------------------------------------------------------------------ Exercise 5: the L2 penalty

@pytest.mark.parametrize("lam, shapes", [(0.1, [[(3, 4), (4, 2)]]), (0.03, [[(5, 7), (7, 7), (7, 2)]])])
def test_check_l2_penalty_passes_the_solution_and_fails_a_penalty_without_lam(lam, shapes):
    l2_penalty = solutions()["l2_penalty"]
    known.check_l2_penalty(l2_penalty, lam, shapes, "Exercise 5 (L2 penalty)")
    with pytest.raises(CheckFailed, match=r"^Exercise 5 \(L2 penalty\)"):
        known.check_l2_penalty(lambda weights, lam: l2_penalty(weights, 1.0), lam, shapes, "Exercise 5 (L2 penalty)")


@pytest.mark.parametrize("lam, shapes", [(0.1, [[(3, 4), (4, 2)]]), (0.03, [[(5, 7), (7, 7), (7, 2)]])])
def test_check_l2_penalty_grad_passes_the_solution_and_fails_a_gradient_without_the_factor_2(lam, shapes):
    known.check_l2_penalty_grad(solutions()["l2_penalty_grad"], lam, shapes, "Exercise 5 (L2 penalty gradient)")
    wrong = solutions("L2 gradient without the factor 2")["l2_penalty_grad"]
    with pytest.raises(CheckFailed, match=r"^Exercise 5 \(L2 penalty gradient\): l2_penalty_grad: the gradient"):
        known.check_l2_penalty_grad(wrong, lam, shapes, "Exercise 5 (L2 penalty gradient)")


# ------------------------------------------------------------------ Exercise 8: the sigmoid network

def test_check_sigmoid_network_passes_the_solution_and_fails_a_sum_over_the_wrong_axis():
    w, b, v = np.array([100.0, 100.0]), np.array([-20.0, -40.0]), np.array([1.0, -1.0])
    known.check_sigmoid_network(solutions()["sigmoid_network"], w, b, v, [[(11,)]], "Exercise 8 (sigmoid network)",
                                domain=(0, 1))
    wrong = solutions("sigmoid network sums over the units' axis wrongly")["sigmoid_network"]
    with pytest.raises(CheckFailed, match=r"^Exercise 8 \(sigmoid network\)"):
        known.check_sigmoid_network(wrong, w, b, v, [[(11,)]], "Exercise 8 (sigmoid network)", domain=(0, 1))
