"""What the test cells of Assignment 2 (backprop) take from autograder.checks.exercises.a02_backprop:
each known mistake is named when an operation makes it, the correct operations pass, and the
activations' reference functions tell a right forward pass from a wrong one."""

import re

import numpy as np
import pytest

import mini_autograd as ag
from autograder.checks import CheckFailed, check_operation
from autograder.checks.exercises import a02_backprop as known


def correct(reference_op):
    """A student-style copy of a mini_autograd operation (check_operation refuses the reference's
    own methods): forward and backward defined here, doing what the reference does."""
    return type(reference_op.__name__, (reference_op,), {
        "forward": lambda self, *values: reference_op.forward(self, *values),
        "backward": lambda self, grad: reference_op.backward(self, grad),
    })


def making(mistake, name, forward):
    """An operation whose forward is ``forward`` and whose backward makes ``mistake``: it returns
    what the mistake's candidate (the wrong formula) gives on the inputs and grad."""
    class Wrong(ag.Operation):
        def forward(self, *values):
            self.values = values
            return forward(*values)

        def backward(self, grad):
            return mistake.candidate(*self.values, grad)

    Wrong.__name__ = name
    return Wrong


BINARY = [[(3,), (3,)], [(2, 3), (3,)], [(2, 1), (1, 3)]]
UNARY = [[(3,)], [(2, 3)]]

# name: (reference operation, the visible check_operation arguments of its test cell, its known mistakes)
OPERATIONS = {
    "Multiply": (ag.ops.Multiply, dict(input_shapes_list=BINARY, exercise="Exercise 2 (Multiply)",
                                       reference=np.multiply), known.MULTIPLY_MISTAKES),
    "Divide": (ag.ops.Divide, dict(input_shapes_list=BINARY, exercise="Exercise 2 (Divide)", reference=np.divide,
                                   avoid_zero=0.5), known.DIVIDE_MISTAKES),
    "Power": (ag.ops.Power, dict(input_shapes_list=[[(3,), (3,)], [(2, 3), (3,)], [(), (2,)]],
                                 exercise="Exercise 3 (Power)", reference=np.power, domain=(0.5, 2.0)),
              known.POWER_MISTAKES),
    "Exp": (ag.ops.Exp, dict(input_shapes_list=UNARY, exercise="Exercise 4 (Exp)", reference=np.exp),
            known.EXP_MISTAKES),
    "Log": (ag.ops.Log, dict(input_shapes_list=UNARY, exercise="Exercise 4 (Log)", reference=np.log,
                             domain=(0.2, 3.0)), known.LOG_MISTAKES),
    "Sqrt": (ag.ops.Sqrt, dict(input_shapes_list=UNARY, exercise="Exercise 4 (Sqrt)", reference=np.sqrt,
                               domain=(0.2, 3.0)), known.SQRT_MISTAKES),
    "Sin": (ag.ops.Sin, dict(input_shapes_list=UNARY, exercise="Exercise 5 (Sin)", reference=np.sin),
            known.SIN_MISTAKES),
    "Cos": (ag.ops.Cos, dict(input_shapes_list=UNARY, exercise="Exercise 5 (Cos)", reference=np.cos),
            known.COS_MISTAKES),
    "Tanh": (ag.ops.Tanh, dict(input_shapes_list=UNARY, exercise="Exercise 5 (Tanh)", reference=np.tanh),
             known.TANH_MISTAKES),
    "Sigmoid": (ag.ops.Sigmoid, dict(input_shapes_list=UNARY, exercise="Exercise 5 (Sigmoid)",
                                     reference=known.sigmoid), known.SIGMOID_MISTAKES),
    "ReLU": (ag.ops.ReLU, dict(input_shapes_list=UNARY, exercise="Exercise 5 (ReLU)", reference=known.relu),
             known.RELU_MISTAKES),
}

MISTAKES = [pytest.param(name, mistake, id=f"{name}: {mistake.description}")
            for name, (_, _, mistakes) in OPERATIONS.items() for mistake in mistakes]


def test_every_mistake_constant_is_tested():
    constants = {name for name in dir(known) if name.endswith("_MISTAKES")}
    tested = {name for name in dir(known) for _, _, mistakes in OPERATIONS.values()
              if getattr(known, name) is mistakes}
    assert constants == tested


@pytest.mark.parametrize("name, mistake", MISTAKES)
def test_an_operation_making_a_known_mistake_fails_with_its_description(name, mistake):
    _, arguments, mistakes = OPERATIONS[name]
    wrong = making(mistake, name, arguments["reference"])
    with pytest.raises(CheckFailed, match="Likely cause: " + re.escape(mistake.description)):
        check_operation(wrong, **arguments, known_mistakes=mistakes)


@pytest.mark.parametrize("name", OPERATIONS)
def test_the_correct_operation_passes(name):
    reference_op, arguments, mistakes = OPERATIONS[name]
    check_operation(correct(reference_op), **arguments, known_mistakes=mistakes)


@pytest.mark.parametrize("name, wrong_forward", [("Sigmoid", np.tanh), ("ReLU", np.abs)])
def test_the_activation_references_pass_the_right_forward_and_fail_a_wrong_one(name, wrong_forward):
    reference_op, arguments, _ = OPERATIONS[name]
    check_operation(correct(reference_op), **arguments)
    wrong = type(name, (correct(reference_op),), {"forward": lambda self, x: wrong_forward(x)})
    with pytest.raises(CheckFailed, match=rf"{name}.forward for inputs of shapes"):
        check_operation(wrong, **arguments)
