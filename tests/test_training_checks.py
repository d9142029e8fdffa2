"""autograder.checks.training outside notebooks: correct answers pass, each known mistake gets
its message (a made-up loss history included), every check verifies integrity after student code."""

import pathlib

import nbformat
import numpy as np
import pytest

import mini_autograd as ag
from autograder.checks import CheckFailed, TamperingDetected, integrity
from autograder.checks.training import check_bump, check_regularized_loss, check_sgd_steps, check_training
from test_forward_mode_checks import notebook_solutions


SOLUTIONS = notebook_solutions("04_mlp", {"ex5-solution", "ex6-solution", "ex8-solution"})
train, regularized_loss = SOLUTIONS["train"], SOLUTIONS["regularized_loss"]


def train_reporting(report):
    """The solution's SGD loop (it trains correctly) returning report(batch_losses) for each epoch
    instead of the epoch's mean loss."""
    source = _solution_source("ex6-solution")
    wrong = "history.append(report(batch_losses))"
    assert "history.append(float(np.mean(batch_losses)))" in source
    namespace = {"np": np, "ag": ag, "report": report}
    exec(source.replace("history.append(float(np.mean(batch_losses)))", wrong), namespace)
    return namespace["train"]


def _solution_source(grade_id):
    path = pathlib.Path(__file__).parent.parent / "source" / "04_mlp" / "04_mlp.ipynb"
    return next(c.source for c in nbformat.read(path, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_the_solution_passes():
    check_sgd_steps(train, "Ex 6", seeds=(0, 1))
    check_regularized_loss(regularized_loss, "Ex 5")


def test_losses_weighted_by_batch_size_are_accepted_too():
    check_sgd_steps(train_reporting(lambda losses: np.average(losses, weights=[4, 4, 2] if len(losses) == 3 else None)),
                    "Ex 6")


@pytest.mark.parametrize("report, name", [
    (lambda losses: losses[-1], "the last minibatch's loss"),
    (lambda losses: losses[0], "the first minibatch's loss"),
    (lambda losses: 1.0, "made-up losses"),
])
def test_a_loss_history_that_is_not_what_the_loop_computed_fails(report, name):
    with pytest.raises(CheckFailed, match="the returned loss.* not the ones the loop computed|the returned losses"):
        check_sgd_steps(train_reporting(report), "Ex 6")


@pytest.mark.slow
def test_check_training_compares_the_history_with_the_watched_losses():
    last_batch = train_reporting(lambda losses: losses[-1])
    with pytest.raises(CheckFailed, match="not the ones the loop computed"):
        check_training(last_batch, "Ex 6", epochs=15, min_accuracy=0.0)
    check_training(train, "Ex 6", epochs=15, min_accuracy=0.0)


def test_known_sgd_mistakes_get_their_message():
    def uphill(model, X, y, epochs, lr, batch_size, seed=0):
        return train(model, X, y, epochs, -lr, batch_size, seed)

    with pytest.raises(CheckFailed, match="the step goes uphill"):
        check_sgd_steps(uphill, "Ex 6")
    with pytest.raises(CheckFailed, match="train returned 0 losses"):
        check_sgd_steps(lambda *args: [], "Ex 6")
    with pytest.raises(CheckFailed, match="the parameters did not change"):
        check_sgd_steps(lambda model, X, y, epochs, *rest: [1.0] * epochs, "Ex 6")


def test_every_training_check_verifies_integrity_after_student_code():
    original = np.allclose

    def tampering(function):
        def student(*args):
            np.allclose = lambda *a, **k: True
            return function(*args)
        return student

    calls = [
        lambda: check_sgd_steps(tampering(train), "Ex"),
        lambda: check_regularized_loss(tampering(regularized_loss), "Ex"),
        lambda: check_training(tampering(train), "Ex", epochs=1, min_accuracy=0.0),
        lambda: check_bump(tampering(lambda *a: (np.ones(2), np.ones(2), np.ones(2))), [(0.2, 0.4, 1.0, 100.0)], "Ex"),
    ]
    try:
        for call in calls:
            with pytest.raises(TamperingDetected, match="np.allclose"):
                call()
            np.allclose = original
    finally:
        np.allclose = original
    integrity.verify("after the test")
