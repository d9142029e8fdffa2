"""Assignment 5: forward mode (dual numbers, JVP rules, forward vs. reverse cost)."""

from .cells import markdown, notebook, setup, solution, tests

NAME = "05_forward_mode"


def introduction():
    """The introduction and the setup cell."""
    return [
        markdown("""
        # Assignment 5: Forward mode

        The chain rule multiplies local derivatives along a chain, and a product can be evaluated
        from either end. For $x \\to a \\to b \\to y$:

        $$\\text{reverse mode: } \\frac{dy}{dx} = \\left(\\frac{dy}{db}\\frac{db}{da}\\right)\\frac{da}{dx}
        \\qquad\\qquad
        \\text{forward mode: } \\frac{dy}{dx} = \\frac{dy}{db}\\left(\\frac{db}{da}\\frac{da}{dx}\\right).$$

        Reverse mode (backpropagation) starts at the output and carries $\\partial y / \\partial(\\cdot)$
        backwards: a **vector-Jacobian product** per pass. Forward mode starts at the input and carries
        $\\partial(\\cdot) / \\partial x$ forwards, next to the values, in the same order as the computation
        itself: a **Jacobian-vector product (JVP)** per pass.

        In this assignment you build forward mode twice, first with **dual numbers** (a number
        that carries its derivative along), then as JVP rules of `mini_autograd` operations. You then
        count and measure what each mode costs for wide and for tall Jacobians.

        Write your code where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
        line) and run the test cell after each exercise. Hidden tests try more inputs, shapes and seeds,
        so solve each problem in general. Each exercise is graded on its own: the later exercises are
        tested with reference pieces, not with your earlier answers. 100 points in total.
        """, id="intro"),
        setup("""
        import numpy as np
        import matplotlib.pyplot as plt

        import mini_autograd as ag
        from autograder.checks import CheckFailed, check_values
        from autograder.checks.forward_mode import (
            check_choice, check_derivative, check_dual_arithmetic, check_dual_functions, check_dual_jvp,
            check_forward_jacobian, check_jvp, check_raises,
        )
        from autograder.checks.exercises import a05_forward_mode as known
        """, id="setup"),
    ]


def exercise_1_dual_numbers():
    """Exercise 1: the class Dual and its arithmetic."""
    return [
        markdown("""
        ## Exercise 1: dual numbers (15 points)

        A **dual number** $a + a'\\varepsilon$ is a pair: a value $a$ and a tangent $a'$, with the
        rule $\\varepsilon^2 = 0$. Arithmetic on dual numbers is then forward-mode differentiation:

        $$(a + a'\\varepsilon)(b + b'\\varepsilon) = ab + (a'b + ab')\\varepsilon + a'b'\\varepsilon^2
        = ab + (a'b + ab')\\varepsilon,$$

        which is the product rule. In general $f(a + a'\\varepsilon) = f(a) + f'(a)\\,a'\\,\\varepsilon$:
        the tangent of a result is the local derivative times the tangent of the input. Start $x$
        with tangent 1 and every value computed from it carries $dv/dx$ along.

        Complete the class `Dual` below: `+`, `-`, `*`, `/` (with the quotient rule), unary `-`, and
        `**` with a **number** exponent $p$ (the power rule; $p$ may be negative or fractional). A
        plain number $c$ is the constant $c + 0\\varepsilon$: `lift` turns numbers into Duals, and the
        operations with a number on the left (`2 * x`, `1 / x`) are given. Values and tangents may be
        numbers or numpy arrays of the same shape (elementwise); the rules need no change for that.
        """, id="ex1-text"),
        solution("""
        class Dual:
            \"\"\"The dual number value + tangent * eps, with eps**2 = 0.\"\"\"

            __array_ufunc__ = None  # numpy hands `array * Dual` to Dual.__rmul__ (as with ag.Variable)

            def __init__(self, value, tangent=0.0):
                self.value = value
                self.tangent = tangent

            def __repr__(self):
                return f"Dual(value={self.value}, tangent={self.tangent})"

            def __add__(self, other):
                other = lift(other)
                ### BEGIN SOLUTION
                return Dual(self.value + other.value, self.tangent + other.tangent)
                ### END SOLUTION

            def __sub__(self, other):
                other = lift(other)
                ### BEGIN SOLUTION
                return Dual(self.value - other.value, self.tangent - other.tangent)
                ### END SOLUTION

            def __mul__(self, other):
                other = lift(other)
                ### BEGIN SOLUTION
                return Dual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)
                ### END SOLUTION

            def __truediv__(self, other):
                other = lift(other)
                ### BEGIN SOLUTION
                return Dual(self.value / other.value,
                            (self.tangent * other.value - self.value * other.tangent) / other.value**2)
                ### END SOLUTION

            def __neg__(self):
                ### BEGIN SOLUTION
                return Dual(-self.value, -self.tangent)
                ### END SOLUTION

            def __pow__(self, p):
                \"\"\"self ** p for a number p.\"\"\"
                ### BEGIN SOLUTION
                return Dual(self.value**p, p * self.value ** (p - 1) * self.tangent)
                ### END SOLUTION

            # a number on the left: c + x, c - x, c * x, c / x
            def __radd__(self, other):
                return lift(other) + self

            def __rsub__(self, other):
                return lift(other) - self

            def __rmul__(self, other):
                return lift(other) * self

            def __rtruediv__(self, other):
                return lift(other) / self


        def lift(x):
            \"\"\"A Dual unchanged; a number (or array) as a constant, with tangent 0.\"\"\"
            return x if isinstance(x, Dual) else Dual(x, 0.0)
        """, id="ex1-solution"),
        tests("""
        check_dual_arithmetic(Dual, "Exercise 1")  # first: it names the rule that went wrong
        x, y = Dual(3.0, 1.0), Dual(2.0, -0.5)
        check_values((x * y).tangent, 1.0 * 2.0 + 3.0 * (-0.5), "Exercise 1", "(x * y).tangent (product rule)")
        check_values((x / y).tangent, (1.0 * 2.0 - 3.0 * (-0.5)) / 2.0**2, "Exercise 1", "(x / y).tangent (quotient rule)")
        check_values((x**3).tangent, 3 * 3.0**2 * 1.0, "Exercise 1", "(x ** 3).tangent (power rule)")
        ### BEGIN HIDDEN TESTS
        check_dual_arithmetic(Dual, "Exercise 1", seeds=(1, 2, 3), shapes=((), (4,)))
        ### END HIDDEN TESTS
        """, id="ex1-tests", points=15),
    ]


def exercise_2_elementary_functions():
    """Exercise 2: JVP rules of elementary functions, and the lecture's example (not graded)."""
    return [
        markdown("""
        ## Exercise 2: JVP rules of elementary functions (15 points)

        For a function of one variable, $f(a + a'\\varepsilon) = f(a) + f'(a)\\,a'\\,\\varepsilon$. Write
        `dual_exp`, `dual_log`, `dual_sqrt`, `dual_sin`, `dual_cos` and `dual_tanh`: each takes a `Dual`
        and returns a new `Dual`. Use numpy functions (`np.exp`, ...) so that array values work too, and
        do not forget the factor $a'$ (the chain rule): the input is not always $x$ itself.

        The tests use these functions on their own and inside expressions such as the lecture's
        $f(x) = \\sqrt{x^2 + \\exp(x^2)} + \\cos(x^2 + \\exp(x^2))$ (with reference arithmetic, so that a
        slip in Exercise 1 does not cost you points here), and compare with `mini_autograd`'s forward
        mode, `ag.jvp`.
        """, id="ex2-text"),
        solution("""
        def dual_exp(x):
            ### BEGIN SOLUTION
            return Dual(np.exp(x.value), np.exp(x.value) * x.tangent)
            ### END SOLUTION


        def dual_log(x):
            ### BEGIN SOLUTION
            return Dual(np.log(x.value), x.tangent / x.value)
            ### END SOLUTION


        def dual_sqrt(x):
            ### BEGIN SOLUTION
            root = np.sqrt(x.value)
            return Dual(root, x.tangent / (2 * root))
            ### END SOLUTION


        def dual_sin(x):
            ### BEGIN SOLUTION
            return Dual(np.sin(x.value), np.cos(x.value) * x.tangent)
            ### END SOLUTION


        def dual_cos(x):
            ### BEGIN SOLUTION
            return Dual(np.cos(x.value), -np.sin(x.value) * x.tangent)
            ### END SOLUTION


        def dual_tanh(x):
            ### BEGIN SOLUTION
            z = np.tanh(x.value)
            return Dual(z, (1 - z**2) * x.tangent)
            ### END SOLUTION
        """, id="ex2-solution"),
        tests("""
        DUAL_FUNCTIONS = dict(exp=dual_exp, log=dual_log, sqrt=dual_sqrt, sin=dual_sin, cos=dual_cos, tanh=dual_tanh)
        check_dual_functions(DUAL_FUNCTIONS, Dual, "Exercise 2")  # first: it names the likely mistake
        check_values(dual_sin(Dual(0.5, 2.0)).tangent, np.cos(0.5) * 2.0, "Exercise 2", "dual_sin(Dual(0.5, 2.0)).tangent")
        check_values(dual_exp(Dual(1.0, -3.0)).tangent, np.exp(1.0) * -3.0, "Exercise 2", "dual_exp(Dual(1.0, -3.0)).tangent")
        ### BEGIN HIDDEN TESTS
        check_dual_functions(DUAL_FUNCTIONS, Dual, "Exercise 2", seeds=(1, 2, 3), edge_points=True)
        check_dual_functions(DUAL_FUNCTIONS, Dual, "Exercise 2", seeds=(4,), shapes=((5,), (2, 3)))
        ### END HIDDEN TESTS
        """, id="ex2-tests", points=15),
        markdown("""
        Your two exercises together differentiate the lecture's example in **one forward pass**. The
        cell below compares the result with the formula from the lecture,
        $f'(x) = 2x\\left(\\frac{1}{2\\sqrt{x^2 + e^{x^2}}} - \\sin(x^2 + e^{x^2})\\right)(1 + e^{x^2})$
        (it is not graded).
        """, id="ex2-demo-text"),
        setup("""
        def lecture_example(x):
            a = x**2
            c = a + dual_exp(a)
            return dual_sqrt(c) + dual_cos(c)

        x0 = 0.7
        try:
            result = lecture_example(Dual(x0, 1.0))
            c0 = x0**2 + np.exp(x0**2)
            by_hand = 2 * x0 * (1 / (2 * np.sqrt(c0)) - np.sin(c0)) * (1 + np.exp(x0**2))
            print(f"f({x0}) = {result.value:.10f}")
            print(f"f'({x0}) = {result.tangent:.10f} with dual numbers")
            print(f"f'({x0}) = {by_hand:.10f} with the lecture's formula")
        except NotImplementedError:
            print("Exercises 1 and 2 are not finished yet.")
        """, id="ex2-demo"),
    ]


def exercise_3_derivative_and_jvp():
    """Exercise 3: derivative and dual_jvp."""
    return [
        markdown("""
        ## Exercise 3: derivatives and Jacobian-vector products (10 points)

        **`derivative(f, x)`**: `f` is a function of one variable written with dual-number operations
        (it takes a `Dual` and returns a `Dual`). Return $f'(x)$, from **one** evaluation of `f`.
        `x` may also be a numpy array: `f` then acts elementwise and you return $f'$ at every point.

        **`dual_jvp(f, x, v)`**: now `f` maps $\\mathbb{R}^n \\to \\mathbb{R}^m$; it takes a **list** of
        $n$ Duals and returns a list of $m$ Duals. Return the pair `(values, tangents)` of 1-D numpy
        arrays: $f(x)$ and the Jacobian-vector product $J v$, again from one evaluation of `f`. (That
        is what `ag.jvp(f, x, v)` returns for a `mini_autograd` function.)

        The test functions are written with reference rules that use only `Dual(value, tangent)`,
        `.value` and `.tangent`, so this exercise does not depend on your Exercises 1 and 2.
        """, id="ex3-text"),
        solution("""
        def derivative(f, x):
            ### BEGIN SOLUTION
            return f(Dual(x, np.ones(np.shape(x)))).tangent
            ### END SOLUTION


        def dual_jvp(f, x, v):
            ### BEGIN SOLUTION
            outputs = f([Dual(x_i, v_i) for x_i, v_i in zip(x, v)])
            values = np.array([out.value for out in outputs], dtype=float)
            tangents = np.array([out.tangent for out in outputs], dtype=float)
            return values, tangents
            ### END SOLUTION
        """, id="ex3-solution"),
        tests("""
        check_derivative(derivative, "Exercise 3 (derivative)")  # first: they name the likely mistake
        check_dual_jvp(dual_jvp, "Exercise 3 (dual_jvp)")
        cube = lambda d: Dual(d.value**3, 3 * d.value**2 * d.tangent)  # x^3, with its rule written out
        check_values(derivative(cube, 2.0), 12.0, "Exercise 3 (derivative)", "derivative(x^3, 2.0)")
        linear = known.linear_2_to_2(Dual)  # f(x, y) = (2x + 3y, x - y), so J = [[2, 3], [1, -1]]
        values, tangents = dual_jvp(linear, np.array([1.0, 2.0]), np.array([0.5, -1.0]))
        check_values(values, [8.0, -1.0], "Exercise 3 (dual_jvp)", "the values of dual_jvp(linear, [1, 2], [0.5, -1])")
        check_values(tangents, [-2.0, 1.5], "Exercise 3 (dual_jvp)", "J v from dual_jvp(linear, [1, 2], [0.5, -1])")
        ### BEGIN HIDDEN TESTS
        check_derivative(derivative, "Exercise 3 (derivative)", seeds=(1, 2), shapes=((), (5,)))
        check_dual_jvp(dual_jvp, "Exercise 3 (dual_jvp)", sizes=((1, 1), (4, 2), (2, 5), (3, 3)), seeds=(1, 2))
        ### END HIDDEN TESTS
        """, id="ex3-tests", points=10),
    ]


def exercise_4_jacobian_by_columns():
    """Exercise 4: jacobian_forward."""
    return [
        markdown("""
        ## Exercise 4: the Jacobian by columns (15 points)

        One forward pass gives one Jacobian-vector product. With $v = e_j$, the unit vector of input $j$
        (tangent 1 for input $j$, 0 for all others), $J e_j$ is **column** $j$ of the Jacobian. So
        forward mode needs **one pass per input** to build the whole $m \\times n$ Jacobian
        $J_{ij} = \\partial f_i / \\partial x_j$ (reverse mode: one pass per output, row by row).

        Write `jacobian_forward(f, x)` for `f` as in `dual_jvp` (a list of $n$ Duals to a list of $m$
        Duals) and a 1-D array `x`. Use `Dual` directly (not your `dual_jvp`) and evaluate `f` at most
        $n$ times. Tangents may be arrays: seeding input $i$ with the $i$-th row of the identity matrix
        gives all columns in a single pass, which is also fine. The tests compare with
        `ag.jacobian(..., mode="reverse")`.
        """, id="ex4-text"),
        solution("""
        def jacobian_forward(f, x):
            ### BEGIN SOLUTION
            x = np.asarray(x, dtype=float)
            n = x.size
            seed = np.zeros(n)
            columns = []
            for j in range(n):
                seed[j] = 1.0
                outputs = f([Dual(x[i], seed[i]) for i in range(n)])
                seed[j] = 0.0
                columns.append([out.tangent for out in outputs])
            return np.array(columns, dtype=float).T
            ### END SOLUTION
        """, id="ex4-solution"),
        tests("""
        linear = known.linear_2_to_3(Dual)  # f(x, y) = (2x + 3y, x - y, 4y), so J = [[2, 3], [1, -1], [0, 4]]
        check_forward_jacobian(jacobian_forward, "Exercise 4")  # first: it names the likely mistake
        check_values(jacobian_forward(linear, np.array([1.0, 2.0])), [[2, 3], [1, -1], [0, 4]], "Exercise 4",
                     "jacobian_forward(linear, [1, 2])")
        ### BEGIN HIDDEN TESTS
        check_forward_jacobian(jacobian_forward, "Exercise 4", sizes=((1, 1), (1, 4), (5, 1), (4, 4), (6, 2), (2, 6)),
                               seeds=(1, 2))
        ### END HIDDEN TESTS
        """, id="ex4-tests", points=15),
    ]


def exercise_5_multiply():
    """Exercise 5's text, and its first operation: Multiply.jvp."""
    return [
        markdown("""
        ## Exercise 5: JVP rules of operation nodes (25 points)

        `mini_autograd` does forward mode on its graphs: `ag.jvp(f, primals, tangents)` runs `f` once,
        then visits the operations in topological order and asks each node for its output's tangent,
        `node.jvp(*input_tangents)`. For $z = g(a, b)$ that is

        $$\\dot z = \\frac{\\partial g}{\\partial a}\\,\\dot a + \\frac{\\partial g}{\\partial b}\\,\\dot b,$$

        the Jacobian of the node applied to the input tangents (each tangent has its input's shape; the
        result has the output's shape). Below, each class inherits `forward` and `backward` from the
        reference operation in `ag.ops`; write its `jvp` with what `forward` stored:

        | class | forward computes | and stores |
        |---|---|---|
        | `Multiply` | `a * b` (broadcasting) | `self.a`, `self.b` |
        | `Divide` | `a / b` (broadcasting) | `self.b`, `self.z` (the output) |
        | `Sin` | `np.sin(x)` | `self.x` |
        | `Exp` | `np.exp(x)` | `self.z` (the output) |
        | `MatMul` | `np.matmul(a, b)` (batched, 1-D operands allowed) | `self.a`, `self.b` |

        Broadcasting needs no extra work in forward mode (unlike `unbroadcast` in the backward pass):
        numpy broadcasts the tangents just like the values. The tests compare your `jvp` with the
        reverse-mode Jacobian of the reference operation, contracted with random tangents.
        """, id="ex5-text"),
        solution("""
        class Multiply(ag.ops.Multiply):
            def jvp(self, ta, tb):
                ### BEGIN SOLUTION
                return ta * self.b + self.a * tb
                ### END SOLUTION
        """, id="ex5-multiply-solution"),
        tests("""
        check_jvp(Multiply, [((3,), (3,)), ((2, 3), (2, 3))], "Exercise 5 (Multiply.jvp)")  # first: it names the mistake
        a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
        _, tangent = ag.jvp(lambda u, w: Multiply()(u, w), (a, b), (np.array([1.0, 0.0]), np.array([0.0, 1.0])))
        check_values(tangent, [3.0, 2.0], "Exercise 5 (Multiply.jvp)", "the tangent of a * b with ta = [1, 0], tb = [0, 1]")
        ### BEGIN HIDDEN TESTS
        check_jvp(Multiply, [((), ()), ((2, 3), (3,)), ((4, 1), (1, 5)), ((2, 3, 2), (2, 3, 2))], "Exercise 5 (Multiply.jvp)",
                  seeds=(2, 3))
        ### END HIDDEN TESTS
        """, id="ex5-multiply-tests", points=5),
    ]


def exercise_5_divide():
    """Exercise 5: Divide.jvp."""
    return [
        solution("""
        class Divide(ag.ops.Divide):
            def jvp(self, ta, tb):
                ### BEGIN SOLUTION
                return (ta - self.z * tb) / self.b
                ### END SOLUTION
        """, id="ex5-divide-solution"),
        tests("""
        check_jvp(Divide, [((3,), (3,)), ((2, 3), (2, 3))], "Exercise 5 (Divide.jvp)", avoid_zero=0.5)
        ### BEGIN HIDDEN TESTS
        check_jvp(Divide, [((), ()), ((2, 3), (3,)), ((4, 1), (1, 5)), ((3,), ())], "Exercise 5 (Divide.jvp)",
                  avoid_zero=0.5, seeds=(2, 3))
        ### END HIDDEN TESTS
        """, id="ex5-divide-tests", points=5),
    ]


def exercise_5_sin():
    """Exercise 5: Sin.jvp."""
    return [
        solution("""
        class Sin(ag.ops.Sin):
            def jvp(self, t):
                ### BEGIN SOLUTION
                return np.cos(self.x) * t
                ### END SOLUTION
        """, id="ex5-sin-solution"),
        tests("""
        check_jvp(Sin, [((5,),), ((2, 3),)], "Exercise 5 (Sin.jvp)")
        ### BEGIN HIDDEN TESTS
        check_jvp(Sin, [((),), ((3, 4, 2),)], "Exercise 5 (Sin.jvp)", domain=(-6.0, 6.0), seeds=(2, 3))
        ### END HIDDEN TESTS
        """, id="ex5-sin-tests", points=4),
    ]


def exercise_5_exp():
    """Exercise 5: Exp.jvp."""
    return [
        solution("""
        class Exp(ag.ops.Exp):
            def jvp(self, t):
                ### BEGIN SOLUTION
                return self.z * t
                ### END SOLUTION
        """, id="ex5-exp-solution"),
        tests("""
        check_jvp(Exp, [((5,),), ((2, 3),)], "Exercise 5 (Exp.jvp)")
        ### BEGIN HIDDEN TESTS
        check_jvp(Exp, [((),), ((3, 4, 2),)], "Exercise 5 (Exp.jvp)", domain=(-4.0, 3.0), seeds=(2, 3))
        ### END HIDDEN TESTS
        """, id="ex5-exp-tests", points=4),
    ]


def exercise_5_matmul():
    """Exercise 5: MatMul.jvp."""
    return [
        solution("""
        class MatMul(ag.ops.MatMul):
            def jvp(self, ta, tb):
                ### BEGIN SOLUTION
                return np.matmul(ta, self.b) + np.matmul(self.a, tb)
                ### END SOLUTION
        """, id="ex5-matmul-solution"),
        tests("""
        check_jvp(MatMul, [((2, 3), (3, 4))], "Exercise 5 (MatMul.jvp)")
        ### BEGIN HIDDEN TESTS
        check_jvp(MatMul, [((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (4, 3, 2)),
                           ((4, 4), (4, 4))], "Exercise 5 (MatMul.jvp)", seeds=(2, 3))
        ### END HIDDEN TESTS
        """, id="ex5-matmul-tests", points=7),
    ]


def exercise_6a_passes_needed():
    """Exercise 6's text, and 6a: passes_needed."""
    return [
        markdown("""
        ## Exercise 6: what each mode costs (20 points)

        For $f: \\mathbb{R}^n \\to \\mathbb{R}^m$ the Jacobian is $m \\times n$. A forward pass gives one
        column ($J v$), a reverse pass one row ($u^\\top J$), each for about the price of a few
        evaluations of $f$. So the whole Jacobian costs $n$ forward passes or $m$ reverse passes:

        * **wide** Jacobians ($n \\gg m$, such as a loss of many parameters, $m = 1$): reverse mode;
        * **tall** Jacobians ($n \\ll m$, few inputs, many outputs): forward mode, "great for $D \\ll C$".

        `ag.jacobian(f, x, mode=...)` works on arrays of any shape: the Jacobian has shape
        `f(x).shape + x.shape`, and every **entry** of `x` is one input (every entry of `f(x)` one output).

        **6a.** Write `passes_needed(input_shape, output_shape, mode)`: the number of passes
        `ag.jacobian` needs in `mode` (`"forward"` or `"reverse"`) for a function from arrays of shape
        `input_shape` to arrays of shape `output_shape` (a shape `()` is a single number). Any other mode
        raises a `ValueError`.

        **6b.** Write `choose_mode(f, x)` for a `mini_autograd` function `f` of one array `x`: return
        `"forward"` or `"reverse"`, whichever needs fewer passes for the Jacobian at `x` (either one when
        they tie). Evaluate `f` once to find its output's shape (`f(ag.Variable(x))`); do not call your
        `passes_needed`, so that each part is graded on its own.
        """, id="ex6-text"),
        solution("""
        def passes_needed(input_shape, output_shape, mode):
            ### BEGIN SOLUTION
            if mode == "forward":
                return int(np.prod(input_shape, dtype=int))
            if mode == "reverse":
                return int(np.prod(output_shape, dtype=int))
            raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")
            ### END SOLUTION
        """, id="ex6a-solution"),
        tests("""
        check_values(passes_needed((1000,), (), "reverse"), 1, "Exercise 6a", 'passes_needed((1000,), (), "reverse")')
        check_values(passes_needed((1000,), (), "forward"), 1000, "Exercise 6a", 'passes_needed((1000,), (), "forward")')
        check_values(passes_needed((2,), (50,), "forward"), 2, "Exercise 6a", 'passes_needed((2,), (50,), "forward")')
        ### BEGIN HIDDEN TESTS
        for n_shape, m_shape in (((3, 4), (2,)), ((), (7,)), ((5,), (2, 3, 2)), ((), ()), ((8, 1), (1, 1)), ((2, 5), (5, 2))):
            n, m = int(np.prod(n_shape, dtype=int)), int(np.prod(m_shape, dtype=int))
            check_values(passes_needed(n_shape, m_shape, "forward"), n, "Exercise 6a",
                         f'passes_needed({n_shape}, {m_shape}, "forward") (one pass per input entry)')
            check_values(passes_needed(n_shape, m_shape, "reverse"), m, "Exercise 6a",
                         f'passes_needed({n_shape}, {m_shape}, "reverse") (one pass per output entry)')
        check_raises(passes_needed, ((3,), (2,), "sideways"), ValueError, "Exercise 6a", 'passes_needed((3,), (2,), "sideways")')
        ### END HIDDEN TESTS
        """, id="ex6a-tests", points=10),
    ]


def exercise_6b_choose_mode():
    """Exercise 6b: choose_mode."""
    return [
        solution("""
        def choose_mode(f, x):
            ### BEGIN SOLUTION
            x = np.asarray(x, dtype=float)
            with ag.no_grad():
                y = f(ag.Variable(x))
            n, m = x.size, np.size(y.value)
            return "forward" if n < m else "reverse"
            ### END SOLUTION
        """, id="ex6b-solution"),
        tests("""
        loss = lambda v: (ag.sin(v) * v).sum()                      # R^100 -> R: wide
        curve = lambda v: ag.tanh(np.linspace(-2, 2, 30)[:, None] * v).sum(axis=1)  # R^2 -> R^30: tall
        check_choice(choose_mode(loss, np.ones(100)), "reverse", "Exercise 6b", "choose_mode for f: R^100 -> R")
        check_choice(choose_mode(curve, np.ones(2)), "forward", "Exercise 6b", "choose_mode for f: R^2 -> R^30")
        ### BEGIN HIDDEN TESTS
        rng = np.random.default_rng(6)
        W = rng.normal(size=(5, 20))
        cases = [
            ("f: R^(2x10) -> R^5", lambda v: ag.tanh(W @ v.reshape(20)), np.ones((2, 10)), "reverse"),
            ("f: R^5 -> R^(2x10)", lambda v: ag.sin(W.T @ v).reshape(2, 10), np.ones(5), "forward"),
            ("f: R -> R^3 (a scalar input)", lambda v: ag.exp(v * np.arange(3.0)), np.array(0.5), "forward"),
            ("f: R^3 -> R (a scalar output)", lambda v: (v * v).sum(), np.ones(3), "reverse"),
            ("f: R^(4x4) -> R^(2x3)", lambda v: v[:2, :3] * 2.0, np.ones((4, 4)), "reverse"),
            ("f: R^(1x2) -> R^(3x3)", lambda v: ag.broadcast_to(v.sum(), (3, 3)) * np.eye(3), np.ones((1, 2)), "forward"),
        ]
        for what, f, x, expected in cases:
            check_choice(choose_mode(f, x), expected, "Exercise 6b", f"choose_mode for {what}")
        check_choice(choose_mode(lambda v: ag.sin(v), np.ones(4)), None, "Exercise 6b",
                     "choose_mode for f: R^4 -> R^4 (a tie)", accepted=("forward", "reverse"))
        ### END HIDDEN TESTS
        """, id="ex6b-tests", points=10),
    ]


def measure_it():
    """Timing the two modes (not graded)."""
    return [
        markdown("""
        ### Measure it (not graded)

        Counting passes is one thing; let us time them. Write `time_jacobian(f, x, mode, repeats=3)`:
        the **fastest** of `repeats` runs of `ag.jacobian(f, x, mode=mode)`, in seconds (use
        `time.perf_counter()`; the minimum is the run least disturbed by everything else your computer
        does). The cell after it times a wide family ($\\mathbb{R}^n \\to \\mathbb{R}^2$) and a tall one
        ($\\mathbb{R}^2 \\to \\mathbb{R}^n$) for growing $n$ in both modes and plots the times next to the
        pass counts.
        """, id="timing-text"),
        solution("""
        import time


        def time_jacobian(f, x, mode, repeats=3):
            ### BEGIN SOLUTION
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                ag.jacobian(f, x, mode=mode)
                best = min(best, time.perf_counter() - start)
            return best
            ### END SOLUTION
        """, id="timing-solution"),
        setup("""
        sizes = [2, 8, 32, 128]
        rng = np.random.default_rng(0)


        def wide(n):  # R^n -> R^2
            A = rng.normal(size=(2, n)) / np.sqrt(n)
            return lambda v: ag.tanh(A @ ag.sin(v)) * 2.0


        def tall(n):  # R^2 -> R^n
            B = rng.normal(size=(n, 2))
            return lambda v: ag.sin(ag.tanh(B @ v)) * 2.0


        try:
            seconds = {(family, mode): [] for family in ("wide", "tall") for mode in ("forward", "reverse")}
            for n in sizes:
                for family, f, x in (("wide", wide(n), np.ones(n)), ("tall", tall(n), np.ones(2))):
                    for mode in ("forward", "reverse"):
                        seconds[family, mode].append(time_jacobian(f, x, mode))
            fig, axes = plt.subplots(1, 2, figsize=(11, 4))
            for ax, family, title in ((axes[0], "wide", "wide: $R^n \\\\to R^2$"), (axes[1], "tall", "tall: $R^2 \\\\to R^n$")):
                for mode, style in (("forward", "o-"), ("reverse", "s-")):
                    passes = "n" if (mode == "forward") == (family == "wide") else "2"
                    ax.loglog(sizes, seconds[family, mode], style, label=f"{mode} mode ({passes} passes)")
                ax.set_xlabel("n")
                ax.set_ylabel("seconds for the whole Jacobian")
                ax.set_title(title)
                ax.legend()
            plt.show()
        except NotImplementedError:
            print("Write time_jacobian first.")
        """, id="timing-plot"),
        markdown("""
        The measured times follow the pass counts: for the wide family reverse mode stays flat while
        forward mode grows with $n$, and the other way round for the tall family. Two things the counts
        do not show: the constant per pass differs between the modes (a reverse pass needs the values
        stored by the forward evaluation, and in `mini_autograd` a pass also walks the graph), and for
        small $n$ fixed overheads dominate, so the curves only separate once $n$ grows. Training a
        network is the extreme wide case, $m = 1$ loss and millions of parameters: one reverse pass
        instead of millions of forward ones, which is why deep learning runs on reverse mode.
        """, id="timing-discussion"),
    ]


def build():
    return notebook([
        *introduction(),
        *exercise_1_dual_numbers(),
        *exercise_2_elementary_functions(),
        *exercise_3_derivative_and_jvp(),
        *exercise_4_jacobian_by_columns(),
        *exercise_5_multiply(),
        *exercise_5_divide(),
        *exercise_5_sin(),
        *exercise_5_exp(),
        *exercise_5_matmul(),
        *exercise_6a_passes_needed(),
        *exercise_6b_choose_mode(),
        *measure_it(),
    ])
