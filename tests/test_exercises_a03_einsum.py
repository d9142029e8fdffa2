"""autograder.checks.exercises.a03_einsum: what the test cells of 03_einsum call, outside notebooks.
Each known mistake is named when a backward function makes it; the forward functions, adapters and
references pass the notebook's own solutions and fail the bank's mutants of them."""

import re

import numpy as np
import pytest

import mini_autograd as ag
from autograder.checks import CheckFailed, check_function, check_vjp
from autograder.checks.exercises import a03_einsum as known
from course import banks
from course.banks import a03_einsum as bank


def solutions(mutant=None):
    """The functions of the notebook's solution cells, run in a fresh namespace; with the bank's
    mutant called ``mutant`` applied to its cell."""
    if mutant is None:
        nb = banks.source_notebook(bank.ASSIGNMENT)
    else:
        nb = banks.submission(bank.ASSIGNMENT, next(m for m in bank.MUTANTS if m["name"] == mutant))
    namespace = {"np": np, "ag": ag}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-solution"):
            exec(cell.source, namespace)
    return namespace


def softmax_vjp_making(mistake):
    """A softmax_vjp(s, grad) that makes ``mistake``, whose candidate is a function of the logits:
    log(s) are logits whose softmax is s."""
    return lambda s, grad: mistake.candidate(np.log(s), grad)[0]


# constant: (the backward function's name in the notebook, its forward, the visible cases and exercise of
# its test cell, how check_vjp receives the student's function, how a student function makes a mistake)
VJP_CELLS = {
    "MATVEC_MISTAKES": ("matvec_backward", known.matvec, [[(3, 3), (3,)], [(3, 2), (2,)]], "Exercise 1a (matvec)",
                        lambda f: f, lambda m: m.candidate),
    "MATMUL_MISTAKES": ("matmul_backward", np.matmul, [[(3, 3), (3, 3)], [(2, 4), (4, 3)]], "Exercise 1b (matmul)",
                        lambda f: f, lambda m: m.candidate),
    "LINEAR_MISTAKES": ("linear_backward", known.linear, [[(3, 3), (3, 3), (3,)], [(4, 3), (3, 2), (2,)]],
                        "Exercise 2b (linear layer)", lambda f: f, lambda m: m.candidate),
    "BATCHED_MATVEC_MISTAKES": ("batched_matvec_backward", known.batched_matvec,
                                [[(2, 3), (2, 3, 3)], [(3, 2), (3, 2, 4)]], "Exercise 4 (batched matmul)",
                                lambda f: f, lambda m: m.candidate),
    "SOFTMAX_VJP_MISTAKES": ("softmax_vjp", known.softmax, [[(4,)], [(2, 3)]], "Exercise 6b (softmax VJP)",
                             known.softmax_vjp_of_logits, softmax_vjp_making),
}


def check_cell(constant, student):
    """The visible check_vjp of the test cell that uses ``constant``, on the student's function."""
    name, forward, cases, exercise, adapt, _ = VJP_CELLS[constant]
    check_vjp(adapt(student), forward, cases, exercise, label=name, known_mistakes=getattr(known, constant))


MISTAKES = [pytest.param(constant, mistake, id=f"{constant}: {mistake.description}")
            for constant in VJP_CELLS for mistake in getattr(known, constant)]


def test_every_mistake_constant_is_tested():
    assert {name for name in dir(known) if name.endswith("_MISTAKES")} == set(VJP_CELLS)


@pytest.mark.parametrize("constant, mistake", MISTAKES)
def test_a_backward_making_a_known_mistake_fails_with_its_description(constant, mistake):
    """On the cell's visible cases in their order: a mistake whose formula fits square matrices only
    must meet a square case first (else the student sees a shape error instead of the hint)."""
    with pytest.raises(CheckFailed, match="Likely cause: " + re.escape(mistake.description)):
        check_cell(constant, VJP_CELLS[constant][-1](mistake))


@pytest.mark.parametrize("constant", VJP_CELLS)
def test_the_correct_backward_passes(constant):
    check_cell(constant, solutions()[VJP_CELLS[constant][0]])


@pytest.mark.parametrize("mutant, constant, index", [
    ("matvec: outer product the wrong way round (dW = x grad^T)", "MATVEC_MISTAKES", 0),
    ("matvec: W not transposed in dx", "MATVEC_MISTAKES", 1),
    ("matmul: B instead of B.T", "MATMUL_MISTAKES", 0),
    ("bias gradient is the mean over the batch", "LINEAR_MISTAKES", 0),
    ("batched matmul: dM summed over the batch, then copied to every example", "BATCHED_MATVEC_MISTAKES", 0),
    ("softmax VJP forgets the subtraction term", "SOFTMAX_VJP_MISTAKES", 0),
    ("softmax VJP uses the diagonal of the Jacobian only", "SOFTMAX_VJP_MISTAKES", 1),
])
def test_the_bank_mutants_are_named_by_their_mistake(mutant, constant, index):
    wrong = solutions(mutant)[VJP_CELLS[constant][0]]
    with pytest.raises(CheckFailed, match=re.escape(getattr(known, constant)[index].description)):
        check_cell(constant, wrong)


# ------------------------------------------------------------------ adapters and references

def check_unbroadcast(unbroadcast):
    for source, target in (((3,), (4, 3)), ((3, 1), (2, 3, 5))):
        check_vjp(known.unbroadcast_vjp(unbroadcast), known.broadcast_to(target), [[source]],
                  "Exercise 2a (unbroadcast)", label=f"unbroadcast from {target} to {source}")


def test_unbroadcast_vjp_passes_the_solution_and_fails_an_unbroadcast_that_averages():
    check_unbroadcast(solutions()["unbroadcast"])
    with pytest.raises(CheckFailed, match=r"^Exercise 2a \(unbroadcast\): unbroadcast from \(4, 3\) to \(3,\)"):
        check_unbroadcast(solutions("unbroadcast averages instead of summing")["unbroadcast"])


def check_einsum(einsum_backward, subscripts, shapes, exercise="Exercise 3a (einsum)"):
    check_vjp(known.einsum_vjp(einsum_backward, subscripts), known.einsum(subscripts), [shapes], exercise,
              label=f"einsum_backward({subscripts!r})")


@pytest.mark.parametrize("subscripts, shapes", [("ij,jk->ik", [(2, 3), (3, 4)]),
                                                ("abc, bad -> ab", [(2, 3, 4), (3, 2, 5)]),
                                                ("ik,ikj->ij", [(3, 2), (3, 2, 4)]), ("ii->", [(3, 3)])])
def test_einsum_vjp_passes_the_solution(subscripts, shapes):
    check_einsum(solutions()["einsum_backward"], subscripts, shapes)


def test_einsum_vjp_fails_an_einsum_backward_that_does_not_copy_along_summed_letters():
    wrong = solutions("einsum backward: letters summed away are not copied back")["einsum_backward"]
    with pytest.raises(CheckFailed, match=re.escape("einsum_backward('abc, bad -> ab')")):
        check_einsum(wrong, "abc, bad -> ab", [(2, 3, 4), (3, 2, 5)])


def test_einsum_vjp_fails_an_einsum_backward_that_ignores_repeated_letters():
    wrong = solutions("einsum backward: repeated letters ignored (part a only)")["einsum_backward"]
    check_einsum(wrong, "ij,jk->ik", [(2, 3), (3, 4)])
    with pytest.raises(CheckFailed, match=r"^Exercise 3b \(repeated letters\)"):
        check_einsum(wrong, "ii->", [(3, 3)], "Exercise 3b (repeated letters)")


def test_einsum_vjp_gives_every_operand_its_own_gradient():
    seen = []

    def recording(subscripts, operands, grad, k):
        seen.append((subscripts, len(operands), k))
        return np.zeros(np.shape(operands[k]))

    grads = known.einsum_vjp(recording, "ij,jk->ik")(np.ones((2, 3)), np.ones((3, 4)), np.ones((2, 4)))
    assert [np.shape(g) for g in grads] == [(2, 3), (3, 4)]
    assert seen == [("ij,jk->ik", 2, 0), ("ij,jk->ik", 2, 1)]


def check_tensordot(tensordot_backward, axes, shapes):
    check_vjp(known.tensordot_vjp(tensordot_backward, axes), known.tensordot(axes), [shapes],
              "Exercise 5 (tensordot)", label=f"tensordot_backward(axes={axes})")


@pytest.mark.parametrize("axes, shapes", [(1, [(2, 3), (3, 4)]), (2, [(2, 5, 4, 6), (4, 6, 8, 2)])])
def test_tensordot_vjp_passes_the_solution_and_fails_a_dB_with_its_axes_swapped(axes, shapes):
    check_tensordot(solutions()["tensordot_backward"], axes, shapes)
    wrong = solutions("tensordot: dB with its axes in the wrong order")["tensordot_backward"]
    with pytest.raises(CheckFailed, match=re.escape(f"tensordot_backward(axes={axes})")):
        check_tensordot(wrong, axes, shapes)


def test_jacobian_of_softmax_passes_the_solution_and_fails_the_diagonal_only():
    shapes = [[(3,)], [(5,)]]
    check_function(solutions()["softmax_jacobian"], known.jacobian_of_softmax, shapes, "Exercise 6a (softmax Jacobian)")
    wrong = solutions("softmax Jacobian: diagonal only (missing -s_i s_j)")["softmax_jacobian"]
    with pytest.raises(CheckFailed, match=r"^Exercise 6a \(softmax Jacobian\): the result"):
        check_function(wrong, known.jacobian_of_softmax, shapes, "Exercise 6a (softmax Jacobian)")


def test_softmax_vjp_of_logits_fails_a_softmax_vjp_that_sums_over_the_whole_batch():
    wrong = solutions("softmax VJP sums over the whole batch, not per row")["softmax_vjp"]
    check_vjp(known.softmax_vjp_of_logits(wrong), known.softmax, [[(4,)]], "Exercise 6b (softmax VJP)")
    with pytest.raises(CheckFailed, match=r"^Exercise 6b \(softmax VJP\)"):
        check_cell("SOFTMAX_VJP_MISTAKES", wrong)


@pytest.mark.parametrize("mutant", ["per-example gradients transposed (grad_out x^T)",
                                    "per-example gradients summed over the batch"])
def test_outer_product_per_example_passes_the_solution_and_fails_a_wrong_one(mutant):
    shapes = [[(4, 3), (4, 2)], [(3, 3), (3, 3)]]
    exercise = "Exercise 7 (per-example gradients)"
    check_function(solutions()["per_example_gradients"], known.outer_product_per_example, shapes, exercise)
    with pytest.raises(CheckFailed, match=r"^Exercise 7 \(per-example gradients\)"):
        check_function(solutions(mutant)["per_example_gradients"], known.outer_product_per_example, shapes, exercise)


@pytest.mark.parametrize("constant", VJP_CELLS)
def test_the_cases_here_are_the_visible_cases_of_the_cell(constant):
    """VJP_CELLS judges what students meet: the visible part of the cell that uses the constant holds
    exactly these cases, in this order."""
    visible = [cell.source.split("### BEGIN HIDDEN TESTS")[0] for cell in banks.source_notebook(bank.ASSIGNMENT).cells
               if f"known.{constant}" in cell.source.split("### BEGIN HIDDEN TESTS")[0]]
    assert len(visible) == 1
    assert repr(VJP_CELLS[constant][2]) in visible[0]
