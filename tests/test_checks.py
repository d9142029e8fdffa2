"""The checks that notebooks call, outside notebooks: verdicts and the feedback they give."""

import numpy as np
import pytest

import mini_autograd as ag
from autograder.checks import (CheckFailed, check_backpropagation, check_between, check_function, check_operation,
                        check_topological_order, check_values, check_vjp)
from autograder.checks.core import Mistake


class GoodMultiply(ag.Operation):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return ag.unbroadcast(grad * self.b, np.shape(self.a)), ag.unbroadcast(grad * self.a, np.shape(self.b))


def test_a_correct_operation_passes_on_broadcast_shapes():
    check_operation(GoodMultiply, [[(3,), (3,)], [(2, 3), (3,)], [(), (2, 2)]], "Ex", reference=np.multiply)


def test_wrong_gradient_names_input_element_and_values():
    class Wrong(GoodMultiply):
        def backward(self, grad):
            return grad * self.b, grad * self.b

    with pytest.raises(CheckFailed, match=r"Ex 1: Wrong.backward: the gradient for input 1 .* at index \[\d\]: "
                                          r"expected .*, got .* \(absolute error"):
        check_operation(Wrong, [[(3,), (3,)]], "Ex 1", reference=np.multiply)


def test_known_mistake_is_named_as_the_likely_cause():
    class Transposed(ag.Operation):
        def forward(self, a, b):
            self.a, self.b = a, b
            return a @ b

        def backward(self, grad):
            return grad @ self.b, self.a.T @ grad

    mistakes = [Mistake("B was not transposed", lambda a, b, g: (g @ b, a.T @ g))]
    with pytest.raises(CheckFailed, match="Likely cause: B was not transposed"):
        check_operation(Transposed, [[(3, 3), (3, 3)]], "Ex", reference=np.matmul, known_mistakes=mistakes)


def test_a_known_mistake_in_another_format_is_the_courses_error_and_says_the_format():
    with pytest.raises(TypeError, match=r"Mistake\(description, wrong formula\)"):
        check_function(np.sin, np.cos, [[(3,)]], "Ex", known_mistakes=[("a pair", lambda x: -np.sin(x))])


def test_unsummed_bias_gradient_is_explained():
    class NoBias(ag.Operation):
        def forward(self, a, b):
            return a + b

        def backward(self, grad):
            return grad, grad

    with pytest.raises(CheckFailed, match=r"(?s)has shape \(4, 3\) but should have shape \(3,\).*over axis 0"):
        check_operation(NoBias, [[(4, 3), (3,)]], "Ex", reference=np.add)


def test_local_derivative_without_chain_rule_is_explained():
    with pytest.raises(CheckFailed, match="local derivative only"):
        check_vjp(lambda x, g: (np.cos(x),), np.sin, [[(4,)]], "Ex")


def test_mutating_inputs_is_reported():
    def in_place(x, g):
        x *= 0
        return (g * np.cos(x),)

    with pytest.raises(CheckFailed, match="changed its input 0 in place"):
        check_vjp(in_place, np.sin, [[(3,)]], "Ex")


def test_float32_must_stay_float32():
    class Upcasts(GoodMultiply):
        def forward(self, a, b):
            self.a, self.b = a, b
            return (a * b).astype(np.float64)

    with pytest.raises(CheckFailed, match="float32 inputs into float64"):
        check_operation(Upcasts, [[(3,), (3,)]], "Ex", reference=np.multiply)


def test_reference_pieces_are_not_accepted_as_student_work():
    with pytest.raises(CheckFailed, match="mini_autograd's own implementation"):
        check_operation(ag.ops.Multiply, [[(2,), (2,)]], "Ex", reference=np.multiply)

    class Inherits(ag.ops.Divide):
        pass

    with pytest.raises(CheckFailed, match="write forward yourself"):
        check_operation(Inherits, [[(2,), (2,)]], "Ex", reference=np.divide, avoid_zero=0.5)
    with pytest.raises(CheckFailed, match="calls mini_autograd.*backward"):
        check_backpropagation(lambda out: out.backward(), "Ex")
    with pytest.raises(CheckFailed, match="calls mini_autograd.reverse.topological_order"):
        check_topological_order(ag.topological_order, "Ex")


def _honest_driver(output):
    grads = {output: np.ones_like(output.value)}
    for op in reversed(ag.topological_order(output)):
        for variable, g in zip(op.inputs, op.backward(grads[op.output])):
            if g is not None:
                grads[variable] = grads[variable] + g if variable in grads else g
    for variable, g in grads.items():
        variable.grad = g


def test_driver_that_overwrites_reused_gradients_is_explained():
    check_backpropagation(_honest_driver, "Ex")

    def overwrites(output):
        grads = {output: np.ones_like(output.value)}
        for op in reversed(ag.topological_order(output)):
            for variable, g in zip(op.inputs, op.backward(grads[op.output])):
                if g is not None:
                    grads[variable] = g
        for variable, g in grads.items():
            variable.grad = g

    with pytest.raises(CheckFailed, match=r"(?s)x \(x \+ y\)\^2, the gradient of x: expected 21, got 12.*add to it"):
        check_backpropagation(overwrites, "Ex")


def test_topological_order_must_put_producers_first():
    def depth_first_preorder(output):
        order, stack, seen = [], [output.producer], set()
        while stack:
            op = stack.pop()
            if op is None or id(op) in seen:
                continue
            seen.add(id(op))
            order.append(op)
            stack.extend(v.producer for v in op.inputs)
        return order

    with pytest.raises(CheckFailed, match="comes before .* which produces one of its inputs"):
        check_topological_order(depth_first_preorder, "Ex")


def test_values_functions_and_ranges():
    check_values(np.array([1.0, 2.0]), [1.0, 2.0], "Ex")
    with pytest.raises(CheckFailed, match=r"result at index \[1\]: expected 3, got 2"):
        check_values([1.0, 2.0], [1.0, 3.0], "Ex")
    with pytest.raises(CheckFailed, match="is None: did you forget to return"):
        check_values(None, [1.0], "Ex")
    check_function(np.tanh, lambda x: np.sinh(x) / np.cosh(x), [[(3, 2)]], "Ex")
    with pytest.raises(CheckFailed, match="sign is flipped"):
        check_function(lambda x: -np.tanh(x), np.tanh, [[(5,)]], "Ex")
    check_between(1e-5, 1e-7, 1e-3, "Ex")

    class Liar(float):
        def __le__(self, other):
            return True

    with pytest.raises(CheckFailed, match="not between"):
        check_between(Liar(5.0), 1e-7, 1e-3, "Ex")
    with pytest.raises(CheckFailed, match="expected a number"):
        check_between(object(), 0, 1, "Ex")


def test_failing_driver_check_draws_the_graph_with_the_culprit_highlighted(monkeypatch):
    """In a notebook the feedback shows the graph, the reused variable and its users highlighted."""
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())  # pretend to run inside IPython
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))

    def overwrites(output):
        grads = {output: np.ones_like(output.value)}
        for op in reversed(ag.topological_order(output)):
            for variable, g in zip(op.inputs, op.backward(grads[op.output])):
                if g is not None:
                    grads[variable] = g
        for variable, g in grads.items():
            variable.grad = g

    with pytest.raises(CheckFailed):
        check_backpropagation(overwrites, "Ex")
    captions = [o.data for o in shown if isinstance(o, IPython.display.HTML)]
    svgs = [o.data for o in shown if isinstance(o, IPython.display.SVG)]
    assert captions and "x and the operations that use it are highlighted" in captions[0]
    assert svgs and svgs[0].count("#ffd54f") == 3  # x, and the Multiply and Add that use it


# --- integrity is verified after every call into student code -------------------------------------

def _tampering(result):
    """A student function that rebinds np.allclose while it runs, then returns ``result``."""
    def student(*_):
        np.allclose = lambda *args, **kwargs: True
        return result(*_) if callable(result) else result
    return student


@pytest.fixture
def restore_allclose():
    from autograder.checks import TamperingDetected, integrity

    original = np.allclose
    yield TamperingDetected
    np.allclose = original
    integrity.verify("after the test")


def test_check_function_verifies_integrity_after_student_code(restore_allclose):
    with pytest.raises(restore_allclose, match="np.allclose"):
        check_function(_tampering(lambda a: a * 2), lambda a: a * 2, [[(3,)]], "Ex")


def test_check_vjp_verifies_integrity_after_student_code(restore_allclose):
    with pytest.raises(restore_allclose, match="np.allclose"):
        check_vjp(_tampering(lambda a, g: (g * 2,)), lambda a: a * 2, [[(3,)]], "Ex")


def test_check_operation_verifies_integrity_after_student_code(restore_allclose):
    class Tampering(GoodMultiply):
        def forward(self, a, b):
            np.allclose = lambda *args, **kwargs: True
            return super().forward(a, b)

    with pytest.raises(restore_allclose, match="np.allclose"):
        check_operation(Tampering, [[(3,), (3,)]], "Ex", reference=np.multiply)


def test_check_backpropagation_verifies_integrity_after_student_code(restore_allclose):
    with pytest.raises(restore_allclose, match="np.allclose"):
        check_backpropagation(_tampering(lambda output: output.backward()), "Ex")


def test_check_topological_order_verifies_integrity_after_student_code(restore_allclose):
    with pytest.raises(restore_allclose, match="np.allclose"):
        check_topological_order(_tampering(lambda output: []), "Ex")
