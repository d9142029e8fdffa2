"""Each exercise judged on its own, and nothing changed in place unseen (issue 9, fairness):
the known mistake produces its message, the correct variant passes."""

import numpy as np
import pytest

import mini_autograd as ag
from autograder.checks import CheckFailed, check_operation, check_unchanged, check_values, reference_functions


def relu_reference(x):
    return np.maximum(x, 0.0)


class GoodReLU(ag.Operation):
    def forward(self, x):
        self.positive = x > 0
        return np.maximum(x, 0)

    def backward(self, grad):
        return (grad * self.positive,)


def test_a_correct_relu_passes():
    check_operation(GoodReLU, [[(3, 4)], [(7,)]], "Ex", reference=relu_reference, avoid_zero=0.05)


def test_forward_that_changes_its_input_in_place_is_reported():
    class InPlace(GoodReLU):
        def forward(self, x):
            self.positive = x > 0
            x *= self.positive
            return x

    with pytest.raises(CheckFailed, match=r"InPlace.forward changed its input 0 in place"):
        check_operation(InPlace, [[(5,)]], "Ex", reference=relu_reference, avoid_zero=0.05)


def test_backward_that_changes_grad_output_in_place_is_reported():
    class ZeroesGrad(GoodReLU):
        def backward(self, grad):
            grad[~self.positive] = 0
            return (grad,)

    with pytest.raises(CheckFailed, match=r"ZeroesGrad.backward changed grad_output in place"):
        check_operation(ZeroesGrad, [[(5,)]], "Ex", reference=relu_reference, avoid_zero=0.05)


def test_backward_that_changes_what_forward_stored_is_reported():
    class Square(ag.Operation):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, grad):
            self.x *= 2  # the stored input is the caller's array
            return (grad * self.x,)

    with pytest.raises(CheckFailed, match=r"Square.backward \(through what forward stored\) changed its input 0"):
        check_operation(Square, [[(4,)]], "Ex", reference=np.square)


class Linear(ag.Operation):
    def forward(self, X, W, b):
        self.X, self.W = X, W
        return X @ W + b

    def backward(self, grad):
        return grad @ self.W.T, self.X.T @ grad, grad.sum(axis=0)


LINEAR = dict(reference=lambda X, W, b: X @ W + b)
SHAPES = [[(4, 3), (3, 2), (2,)]]


def test_backward_judged_alone_does_not_pay_for_a_wrong_forward():
    class NoBias(Linear):
        def forward(self, X, W, b):
            self.X, self.W = X, W
            return X @ W

    with pytest.raises(CheckFailed, match="NoBias.forward for inputs"):
        check_operation(NoBias, SHAPES, "Ex", **LINEAR)
    check_operation(NoBias, SHAPES, "Ex", check_forward=False, **LINEAR)  # its backward is right

    class ScalesX(Linear):  # the right values, but X changed in place: a forward mistake
        def forward(self, X, W, b):
            self.X, self.W = X.copy(), W
            X *= 1.001
            return self.X @ W + b

    with pytest.raises(CheckFailed, match="ScalesX.forward changed its input 0 in place"):
        check_operation(ScalesX, SHAPES, "Ex", check_backward=False, **LINEAR)
    check_operation(ScalesX, SHAPES, "Ex", check_forward=False, **LINEAR)


def test_forward_judged_alone_does_not_pay_for_a_wrong_backward():
    class BiasNotSummed(Linear):
        def backward(self, grad):
            return grad @ self.W.T, self.X.T @ grad, grad

    check_operation(BiasNotSummed, SHAPES, "Ex", check_backward=False, **LINEAR)
    with pytest.raises(CheckFailed, match="BiasNotSummed.backward"):
        check_operation(BiasNotSummed, SHAPES, "Ex", check_forward=False, **LINEAR)

    class Upcasts(Linear):
        def forward(self, X, W, b):
            return super().forward(X, W, b).astype(np.float64)

    with pytest.raises(CheckFailed, match="float32 inputs into float64"):
        check_operation(Upcasts, SHAPES, "Ex", check_backward=False, **LINEAR)
    check_operation(Upcasts, SHAPES, "Ex", check_forward=False, **LINEAR)


def _gradient_in_place_never_restored(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in range(x.size):
        x[i] += h
        plus = f(x)
        x[i] -= 2 * h
        minus = f(x)
        grad[i] = (plus - minus) / (2 * h)
    return grad


def _gradient(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def test_an_input_changed_by_one_step_is_seen():
    f = lambda v: np.sin(v) @ np.cos(v)  # noqa: E731
    x = np.array([0.4, -1.1, 2.0])
    before = x.copy()
    _gradient_in_place_never_restored(f, x)
    # the old comparison, with the step size as tolerance, saw nothing
    check_values(x, before, "Ex", "x")
    with pytest.raises(CheckFailed, match=r"(?s)x after numerical_gradient \(it must not change\) at index .*"
                                          r"changed its input in place"):
        check_unchanged(x, before, "Ex", "x after numerical_gradient")
    x = before.copy()
    _gradient(f, x)
    check_unchanged(x, before, "Ex", "x after numerical_gradient")
    with pytest.raises(CheckFailed, match="has shape"):
        check_unchanged(x[:2], before, "Ex", "x")


def test_reference_functions_bind_and_restore_the_notebooks_names():
    namespace = {"forward_pass": "student's", "np": np}
    with reference_functions(namespace, forward_pass="reference", softmax="reference softmax"):
        assert namespace["forward_pass"] == "reference" and namespace["softmax"] == "reference softmax"
    assert namespace == {"forward_pass": "student's", "np": np}
    with pytest.raises(CheckFailed):
        with reference_functions(namespace, forward_pass="reference"):
            raise CheckFailed("Ex: the check failed inside")
    assert namespace["forward_pass"] == "student's"


def test_an_exercise_that_calls_an_earlier_one_is_judged_with_the_reference():
    namespace = {}
    exec(  # a correct reverse pass built on a wrong forward pass, as in a notebook
        "import numpy as np\n"
        "def forward_pass(x):\n"
        "    a = x**2; b = np.exp(a); c = a * b\n"
        "    return dict(a=a, b=b, c=c)\n"
        "def reverse_pass(x):\n"
        "    v = forward_pass(x)\n"
        "    return 1 / (2 * np.sqrt(v['c'])) - np.sin(v['c'])\n", namespace)

    def reference(x):
        a = x**2
        return dict(a=a, b=np.exp(a), c=a + np.exp(a))

    c = 1 + np.e
    with pytest.raises(CheckFailed):
        check_values(namespace["reverse_pass"](1.0), 1 / (2 * np.sqrt(c)) - np.sin(c), "Ex")
    with reference_functions(namespace, forward_pass=reference):
        check_values(namespace["reverse_pass"](1.0), 1 / (2 * np.sqrt(c)) - np.sin(c), "Ex")


# --- 05_forward_mode: the diagnosis of a known mistake reaches the student ------------------

def _first_failure_of_visible_tests(assignment, entry, test_id):
    """Run the notebook in this process (hidden tests left out) with one bank entry applied;
    the message of the first failure in the test cell ``test_id``."""
    import re

    import matplotlib

    from course import banks

    matplotlib.use("Agg")
    namespace = {}
    for c in banks.submission(assignment, entry).cells:
        meta = c.metadata.get("nbgrader", {})
        if c.cell_type != "code" or (meta.get("grade") and meta.get("grade_id") != test_id):
            continue
        source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", c.source, flags=re.S)
        try:
            exec(compile(source, meta.get("grade_id", "cell"), "exec"), namespace)
        except CheckFailed as failure:
            if meta.get("grade_id") == test_id:
                return str(failure)
        if meta.get("grade_id") == test_id:
            return None


HINTS = [  # (mutant, its test cell, the hint that must reach the student)
    ("product rule missing a term", "ex1-tests", "the product rule has two terms"),
    ("quotient rule with the wrong sign", "ex1-tests", "the quotient rule subtracts"),
    ("quotient rule divides by y, not y squared", "ex1-tests", "the quotient rule divides by y squared"),
    ("power rule off by one in the exponent", "ex1-tests", "the exponent is off by one"),
    ("derivative seeds the input with tangent 0", "ex3-tests", "seed the input with tangent 1"),
    ("dual_jvp seeds every input with 1 instead of v", "ex3-tests", "seed input i with v[i]"),
    ("seed not reset between passes", "ex4-tests", "reset the seed to 0 after each pass"),
    ("Multiply.jvp missing the product rule's second term", "ex5-multiply-tests", "sum of the contributions"),
    ("Multiply.jvp as the product of the tangents", "ex5-multiply-tests", "the tangents were multiplied together"),
]


@pytest.mark.parametrize("mutant, test_id, hint", HINTS, ids=[h[0] for h in HINTS])
def test_known_mistakes_of_forward_mode_get_their_hint(mutant, test_id, hint):
    from course import banks

    entry = next(e for e in banks.bank_for("05_forward_mode").MUTANTS if e["name"] == mutant)
    message = _first_failure_of_visible_tests("05_forward_mode", entry, test_id)
    assert message is not None and f"Likely cause: {hint}" in message or hint in (message or ""), message


def test_the_mse_broadcasting_trap_has_its_own_hint():
    from autograder.checks import check_function
    from autograder.checks.core import Mistake

    def reference(p, t):
        return np.mean((p - np.reshape(t, np.shape(p))) ** 2)

    trap = [Mistake("broadcasts to an (N, N) matrix", lambda p, t: np.mean((p - t) ** 2))]
    with pytest.raises(CheckFailed, match=r"Likely cause: broadcasts to an \(N, N\) matrix"):
        check_function(lambda p, t: np.mean((p - t) ** 2), reference, [[(5, 1), (5,)]], "Ex", known_mistakes=trap)
    check_function(reference, reference, [[(5, 1), (5,)]], "Ex", known_mistakes=trap)
    with pytest.raises(CheckFailed) as failure:  # another mistake is not blamed on the trap
        check_function(lambda p, t: 2 * reference(p, t), reference, [[(5, 1), (5,)]], "Ex", known_mistakes=trap)
    assert "broadcasts" not in str(failure.value)
