"""Assignment 1: derivatives three ways (finite differences, by hand, automatic)."""

from .cells import markdown, notebook, scratch, setup, solution, tests

NAME = "01_derivatives"


def introduction():
    """The introduction and the setup cell."""
    return [
        markdown("""
        # Assignment 1: Derivatives, three ways

        There are three ways to get the derivative of a function a computer can evaluate:

        1. **Numerically**, from finite differences: evaluate f at nearby points.
        2. **Symbolically**, by the rules of calculus, as on paper.
        3. **Automatically**, by splitting the computation into elementary steps and applying
           the chain rule to each step, which is what the rest of this course is about.

        In this assignment you implement finite differences and measure their error, compute a
        gradient and a Jacobian numerically, and carry out a forward and a reverse pass **by hand**
        over intermediate variables. The last part compares all three approaches.

        Write your code where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
        line). Run the test cell after each exercise: a failing test tells you which input went
        wrong and why. Hidden tests use more functions and points, so solve the problem in
        general rather than for the visible examples. 100 points in total.
        """, id="intro"),
        setup("""
        import numpy as np
        import matplotlib.pyplot as plt

        import mini_autograd as ag
        from mini_autograd import finite_differences as fd
        from autograder.checks import check_between, check_unchanged, check_values, reference_functions
        from autograder.checks.exercises import a01_derivatives as known
        """, id="setup"),
    ]


def exercise_1_finite_differences():
    """Exercise 1: forward, backward and central differences."""
    return [
        markdown("""
        ## Exercise 1: finite differences (15 points)

        For a small step $h$:

        * forward difference: $\\displaystyle f'(x) \\approx \\frac{f(x + h) - f(x)}{h}$
        * backward difference: $\\displaystyle f'(x) \\approx \\frac{f(x) - f(x - h)}{h}$
        * central difference: $\\displaystyle f'(x) \\approx \\frac{f(x + h) - f(x - h)}{2h}$

        Implement the three. `f` takes and returns numpy arrays (elementwise), `x` may be a number
        or an array, and the result has the shape of `x`.
        """, id="ex1-text"),
        solution("""
        def forward_difference(f, x, h):
            ### BEGIN SOLUTION
            return (f(x + h) - f(x)) / h
            ### END SOLUTION


        def backward_difference(f, x, h):
            ### BEGIN SOLUTION
            return (f(x) - f(x - h)) / h
            ### END SOLUTION


        def central_difference(f, x, h):
            ### BEGIN SOLUTION
            return (f(x + h) - f(x - h)) / (2 * h)
            ### END SOLUTION
        """, id="ex1-solution"),
        tests("""
        x = np.array([0.3, 1.0, 2.5])
        h = 1e-3
        check_values(forward_difference(np.sin, x, h), (np.sin(x + h) - np.sin(x)) / h,
                     "Exercise 1 (forward difference)", "forward_difference(np.sin, x, 1e-3)")
        check_values(backward_difference(np.sin, x, h), (np.sin(x) - np.sin(x - h)) / h,
                     "Exercise 1 (backward difference)", "backward_difference(np.sin, x, 1e-3)")
        check_values(central_difference(np.sin, x, h), (np.sin(x + h) - np.sin(x - h)) / (2 * h),
                     "Exercise 1 (central difference)", "central_difference(np.sin, x, 1e-3)")
        ### BEGIN HIDDEN TESTS
        for f in (np.exp, np.cos, lambda t: t**3 - 2 * t, np.tanh):
            for h in (1e-1, 1e-2, 1e-4):
                for x in (np.array(0.7), np.linspace(-1.5, 2.0, 7)):
                    check_values(forward_difference(f, x, h), (f(x + h) - f(x)) / h,
                                 "Exercise 1 (forward difference)", f"forward_difference at h={h}", rtol=1e-9)
                    check_values(backward_difference(f, x, h), (f(x) - f(x - h)) / h,
                                 "Exercise 1 (backward difference)", f"backward_difference at h={h}", rtol=1e-9)
                    check_values(central_difference(f, x, h), (f(x + h) - f(x - h)) / (2 * h),
                                 "Exercise 1 (central difference)", f"central_difference at h={h}", rtol=1e-9)
        ### END HIDDEN TESTS
        """, id="ex1-tests", points=15),
    ]


def exercise_2_error_against_step():
    """Exercise 2: the error of each difference against the step size, and its plot."""
    return [
        markdown("""
        ## Exercise 2: error against step size (15 points)

        The error of a finite difference has two sources: **truncation** (the Taylor terms we
        dropped: $O(h)$ for forward and backward differences, $O(h^2)$ for central ones) and
        **round-off** (the two values of f agree in most digits, and their difference loses
        them: about $\\epsilon_{\\text{machine}} |f(x)| / h$). Small steps trade the first for the
        second.

        Write `difference_errors(f, df, x, hs)` returning a dict with keys `"forward"`,
        `"backward"` and `"central"`, each an array with the absolute error $|\\text{estimate} - f'(x)|$
        for every step size in `hs` (`df` is the exact derivative). Use the reference versions
        `fd.forward_difference`, `fd.backward_difference` and `fd.central_difference` (they do what
        yours do, so a slip in Exercise 1 costs nothing here). Then run the plotting cell and look
        at the two slopes and the turning point.
        """, id="ex2-text"),
        solution("""
        def difference_errors(f, df, x, hs):
            ### BEGIN SOLUTION
            exact = df(x)
            return {
                "forward": np.array([abs(fd.forward_difference(f, x, h) - exact) for h in hs]),
                "backward": np.array([abs(fd.backward_difference(f, x, h) - exact) for h in hs]),
                "central": np.array([abs(fd.central_difference(f, x, h) - exact) for h in hs]),
            }
            ### END SOLUTION
        """, id="ex2-solution"),
        setup("""
        hs = np.logspace(-15, -1, 57)
        errors = difference_errors(np.sin, np.cos, 1.0, hs)
        fig, ax = plt.subplots(figsize=(6, 4))
        for scheme, err in errors.items():
            ax.loglog(hs, np.maximum(err, 1e-17), label=scheme)
        ax.set_xlabel("step size h")
        ax.set_ylabel("absolute error of f'(1), f = sin")
        ax.legend()
        ax.set_title("Truncation error (right) against round-off error (left)")
        plt.show()
        """, id="ex2-plot"),
        tests("""
        hs = np.array([1e-1, 1e-2, 1e-3])
        errors = difference_errors(np.sin, np.cos, 1.0, hs)
        exact = np.cos(1.0)
        check_values(errors["forward"], [abs((np.sin(1 + h) - np.sin(1)) / h - exact) for h in hs],
                     "Exercise 2", 'errors["forward"]')
        check_values(errors["central"], [abs((np.sin(1 + h) - np.sin(1 - h)) / (2 * h) - exact) for h in hs],
                     "Exercise 2", 'errors["central"]')
        ### BEGIN HIDDEN TESTS
        hs = np.logspace(-12, -1, 12)
        for f, df, x in ((np.exp, np.exp, 0.5), (np.tanh, lambda t: 1 - np.tanh(t) ** 2, -0.3)):
            errors = difference_errors(f, df, x, hs)
            for scheme, estimate in (("forward", lambda h: (f(x + h) - f(x)) / h),
                                     ("backward", lambda h: (f(x) - f(x - h)) / h),
                                     ("central", lambda h: (f(x + h) - f(x - h)) / (2 * h))):
                check_values(errors[scheme], [abs(estimate(h) - df(x)) for h in hs], "Exercise 2",
                             f'errors["{scheme}"]', rtol=1e-9, atol=1e-15)
        ### END HIDDEN TESTS
        """, id="ex2-tests", points=10),
    ]


def exercise_2b_best_step():
    """Exercise 2 (best step): the step size read off the plot."""
    return [
        markdown("""
        From your plot: roughly which step size gives the smallest error for the **central**
        difference in float64? Set `best_central_step` to that power of ten (a number such as
        `1e-3`).
        """, id="ex2b-text"),
        solution("""
        ### BEGIN SOLUTION
        best_central_step = 1e-5
        ### END SOLUTION
        """, id="ex2b-solution"),
        tests("""
        check_between(best_central_step, 1e-7, 1e-3, "Exercise 2 (best step)",
                      "Look again at the curve of the central difference: its minimum lies where truncation "
                      "error (h^2) meets round-off error (eps/h), near the cube root of machine epsilon.")
        """, id="ex2b-tests", points=5),
    ]


def exercise_3_gradient_and_jacobian():
    """Exercise 3: the numerical gradient and Jacobian."""
    return [
        markdown("""
        ## Exercise 3: the numerical gradient and Jacobian (30 points)

        For $f: \\mathbb{R}^n \\to \\mathbb{R}$ the gradient has one partial derivative per input
        coordinate. With the unit vector $d_i$ (a one in position $i$):

        $$\\frac{\\partial f}{\\partial x_i} \\approx \\frac{f(x + h\\, d_i) - f(x - h\\, d_i)}{2h}.$$

        Write `numerical_gradient(f, x, h=1e-6)` for a 1-D array `x`, and then
        `numerical_jacobian(f, x, h=1e-6)` for a vector function $f: \\mathbb{R}^n \\to \\mathbb{R}^m$,
        returning the $m \\times n$ matrix $J_{ji} = \\partial f_j / \\partial x_i$ (one row per output).
        Do not change `x` in place (or put it back exactly).
        """, id="ex3-text"),
        solution("""
        def numerical_gradient(f, x, h=1e-6):
            ### BEGIN SOLUTION
            x = np.asarray(x, dtype=float)
            grad = np.zeros_like(x)
            for i in range(x.size):
                step = np.zeros_like(x)
                step[i] = h
                grad[i] = (f(x + step) - f(x - step)) / (2 * h)
            return grad
            ### END SOLUTION


        def numerical_jacobian(f, x, h=1e-6):
            ### BEGIN SOLUTION
            x = np.asarray(x, dtype=float)
            columns = []
            for i in range(x.size):
                step = np.zeros_like(x)
                step[i] = h
                columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * h))
            return np.stack(columns, axis=1)
            ### END SOLUTION
        """, id="ex3-solution"),
        tests("""
        f = lambda x: x[0] * x[1] + x[2]  # the gradient is (x2, x1, 1)
        x = np.array([1.5, -2.0, 0.5])
        check_values(numerical_gradient(f, x), [-2.0, 1.5, 1.0], "Exercise 3 (gradient)",
                     "numerical_gradient(x1 x2 + x3)")
        check_unchanged(x, [1.5, -2.0, 0.5], "Exercise 3 (gradient)", "x after numerical_gradient(f, x)")
        ### BEGIN HIDDEN TESTS
        # with a coarse step a one-sided difference is off by O(h), a central one by O(h^2)
        A = np.array([[1.0, -2.0], [0.5, 3.0]])
        x = np.array([0.4, -1.1])
        exact = np.cos(x) * (A @ np.cos(x)) - np.sin(x) * (A.T @ np.sin(x))
        check_values(numerical_gradient(lambda v: np.sin(v) @ A @ np.cos(v), x, h=1e-3), exact,
                     "Exercise 3 (gradient)", "numerical_gradient with h=1e-3 (central differences are accurate to h^2)",
                     rtol=1e-5, atol=1e-6)
        rng = np.random.default_rng(11)
        for n in (1, 4, 9):
            A = rng.normal(size=(n, n))
            x = rng.normal(size=n)
            x_before = x.copy()
            exact = np.cos(x) * (A @ np.cos(x)) - np.sin(x) * (A.T @ np.sin(x))
            g = numerical_gradient(lambda v: np.sin(v) @ A @ np.cos(v), x)
            check_unchanged(x, x_before, "Exercise 3 (gradient)", f"x after numerical_gradient, n={n}")
            # with h = 1e-6 central differences are right to about 1e-9 here
            check_values(g, exact, "Exercise 3 (gradient)", f"numerical_gradient of sin(x) A cos(x), n={n}",
                         rtol=1e-7, atol=1e-8)
        ### END HIDDEN TESTS
        """, id="ex3-gradient-tests", points=15),
        tests("""
        f = lambda x: np.array([x[0] ** 2, x[0] * x[1] * x[2]])  # the example of the notes
        x = np.array([1.5, -2.0, 0.5])
        J = numerical_jacobian(f, x)
        check_values(J, [[2 * x[0], 0, 0], [x[1] * x[2], x[0] * x[2], x[0] * x[1]]], "Exercise 3 (Jacobian)",
                     "numerical_jacobian of (x1^2, x1 x2 x3)")
        ### BEGIN HIDDEN TESTS
        g = lambda x: np.array([x[1] ** 2, x[0] + x[1], x[0] * x[1]])
        x = np.array([0.7, -1.3])
        check_values(numerical_jacobian(g, x), [[0, 2 * x[1]], [1, 1], [x[1], x[0]]], "Exercise 3 (Jacobian)",
                     "numerical_jacobian of (x2^2, x1 + x2, x1 x2)")
        rng = np.random.default_rng(5)
        W = rng.normal(size=(4, 6))
        x = rng.normal(size=6)
        x_before = x.copy()
        check_values(numerical_jacobian(lambda v: np.tanh(W @ v), x), (1 - np.tanh(W @ x_before) ** 2)[:, None] * W,
                     "Exercise 3 (Jacobian)", "numerical_jacobian of tanh(W x), a 4 x 6 Jacobian", rtol=1e-6)
        check_unchanged(x, x_before, "Exercise 3 (Jacobian)", "x after numerical_jacobian")
        ### END HIDDEN TESTS
        """, id="ex3-jacobian-tests", points=15),
    ]


def exercise_4_forward_and_reverse_pass():
    """Exercise 4: a forward and a reverse pass by hand."""
    return [
        markdown("""
        ## Exercise 4: a forward and a reverse pass by hand (30 points)

        The lecture's example is
        $$f(x) = \\sqrt{x^2 + \\exp(x^2)} + \\cos\\left(x^2 + \\exp(x^2)\\right).$$
        Written with intermediate variables it is a short program:

        $$a = x^2,\\quad b = \\exp(a),\\quad c = a + b,\\quad d = \\sqrt{c},\\quad e = \\cos(c),\\quad f = d + e.$$

        **Forward pass.** Write `forward_pass(x)` returning a dict with the values of
        `"a", "b", "c", "d", "e", "f"`.

        **Reverse pass.** Write `reverse_pass(x)` returning a dict with the derivatives of f with
        respect to every intermediate, `"f", "e", "d", "c", "b", "a", "x"` (so `result["c"]` is
        $\\partial f / \\partial c$). Start from $\\partial f / \\partial f = 1$ and go backwards; where a
        variable is used twice ($a$ feeds both $b$ and $c$; $c$ feeds $d$ and $e$), **add** the
        contributions. Use numpy only (no `ag`), and the values from `forward_pass(x)`: the tests
        run your `reverse_pass` with a reference `forward_pass`, so a slip in the forward pass costs
        nothing here.
        """, id="ex4-text"),
        solution("""
        def forward_pass(x):
            ### BEGIN SOLUTION
            a = x**2
            b = np.exp(a)
            c = a + b
            d = np.sqrt(c)
            e = np.cos(c)
            f = d + e
            return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}
            ### END SOLUTION


        def reverse_pass(x):
            ### BEGIN SOLUTION
            v = forward_pass(x)
            df = 1.0
            dd = df * 1.0
            de = df * 1.0
            dc = dd / (2 * np.sqrt(v["c"])) + de * (-np.sin(v["c"]))
            db = dc * 1.0
            da = db * np.exp(v["a"]) + dc * 1.0
            dx = da * 2 * x
            return {"f": df, "e": de, "d": dd, "c": dc, "b": db, "a": da, "x": dx}
            ### END SOLUTION
        """, id="ex4-solution"),
        tests("""
        values = forward_pass(1.0)
        c = 1 + np.e
        check_values(values["c"], c, "Exercise 4 (forward pass)", 'forward_pass(1.0)["c"]')
        check_values(values["f"], np.sqrt(c) + np.cos(c), "Exercise 4 (forward pass)", 'forward_pass(1.0)["f"]')
        ### BEGIN HIDDEN TESTS
        for x in (-1.2, 0.0, 0.4, 1.3):
            a = x**2
            expected = {"a": a, "b": np.exp(a), "c": a + np.exp(a), "d": np.sqrt(a + np.exp(a)),
                        "e": np.cos(a + np.exp(a)), "f": np.sqrt(a + np.exp(a)) + np.cos(a + np.exp(a))}
            values = forward_pass(x)
            for key, value in expected.items():
                check_values(values[key], value, "Exercise 4 (forward pass)", f'forward_pass({x})["{key}"]', rtol=1e-12)
        ### END HIDDEN TESTS
        """, id="ex4-forward-tests", points=10),
        tests("""
        # reverse_pass runs with the reference forward pass, so that only reverse_pass is judged
        with reference_functions(globals(), forward_pass=known.reference_forward_pass):
            grads = reverse_pass(1.0)
        c = 1 + np.e
        check_values(grads["c"], 1 / (2 * np.sqrt(c)) - np.sin(c), "Exercise 4 (reverse pass)", 'reverse_pass(1.0)["c"]')
        ### BEGIN HIDDEN TESTS
        for x in (-1.2, 0.4, 0.9, 1.3):
            a = x**2
            c = a + np.exp(a)
            dc = 1 / (2 * np.sqrt(c)) - np.sin(c)
            expected = {"f": 1.0, "e": 1.0, "d": 1.0, "c": dc, "b": dc, "a": dc * np.exp(a) + dc,
                        "x": 2 * x * (1 / (2 * np.sqrt(c)) - np.sin(c)) * (1 + np.exp(a))}
            with reference_functions(globals(), forward_pass=known.reference_forward_pass):
                grads = reverse_pass(x)
            for key in ("f", "e", "d", "c", "b", "a", "x"):
                check_values(grads[key], expected[key], "Exercise 4 (reverse pass)", f'reverse_pass({x})["{key}"]', rtol=1e-10)
        ### END HIDDEN TESTS
        """, id="ex4-reverse-tests", points=20),
    ]


def exercise_5_three_ways():
    """Exercise 5: symbolic, numeric and automatic derivatives, and the comparison."""
    return [
        markdown("""
        ## Exercise 5: symbolic, numeric and automatic (10 points)

        For $y = f(x, z) = e^{xz} + \\dfrac{xz}{\\ln x} + \\dfrac{\\sin(\\ln x)}{xz}$, derive
        $\\partial y / \\partial x$ and $\\partial y / \\partial z$ by hand and write them as numpy
        functions `dy_dx(x, z)` and `dy_dz(x, z)`. The cell after the tests compares your formulas
        with finite differences and with `mini_autograd` at $x = 2, z = 3$.
        """, id="ex5-text"),
        solution("""
        def dy_dx(x, z):
            ### BEGIN SOLUTION
            return (z * np.exp(x * z) + (z * np.log(x) - z) / np.log(x) ** 2
                    + (np.cos(np.log(x)) * z - np.sin(np.log(x)) * z) / (x * z) ** 2)
            ### END SOLUTION


        def dy_dz(x, z):
            ### BEGIN SOLUTION
            return x * np.exp(x * z) + x / np.log(x) - np.sin(np.log(x)) / (x * z**2)
            ### END SOLUTION
        """, id="ex5-solution"),
        tests("""
        y = known.y  # exp(xz) + xz / ln x + sin(ln x) / (xz), with mini_autograd
        x, z = ag.Variable(2.0), ag.Variable(3.0)
        y(x, z).backward()
        check_values(dy_dx(2.0, 3.0), x.grad, "Exercise 5", "dy_dx(2, 3)")
        check_values(dy_dz(2.0, 3.0), z.grad, "Exercise 5", "dy_dz(2, 3)")
        ### BEGIN HIDDEN TESTS
        for x0, z0 in ((1.5, 0.5), (3.0, -1.0), (0.5, 2.0)):
            x, z = ag.Variable(x0), ag.Variable(z0)
            y(x, z).backward()
            check_values(dy_dx(x0, z0), x.grad, "Exercise 5", f"dy_dx({x0}, {z0})", rtol=1e-9)
            check_values(dy_dz(x0, z0), z.grad, "Exercise 5", f"dy_dz({x0}, {z0})", rtol=1e-9)
        ### END HIDDEN TESTS
        """, id="ex5-tests", points=10),
        markdown("""
        All three agree to many digits. Symbolic differentiation needs the formula written out (and
        it grows fast); finite differences need two evaluations **per input** and lose half the
        digits; automatic differentiation needs one backward pass for **all** inputs, exact to
        machine precision. That is why the rest of the course builds one.
        """, id="ex5-discussion"),
        scratch("""
        x, z = ag.Variable(2.0), ag.Variable(3.0)
        y(x, z).backward()
        numeric_x = central_difference(lambda t: np.exp(t * 3) + t * 3 / np.log(t) + np.sin(np.log(t)) / (t * 3), 2.0, 1e-5)
        print(f"dy/dx: symbolic {dy_dx(2.0, 3.0):.10f}, numeric {numeric_x:.10f}, automatic {x.grad:.10f}")
        """),
    ]


def build():
    return notebook([
        *introduction(),
        *exercise_1_finite_differences(),
        *exercise_2_error_against_step(),
        *exercise_2b_best_step(),
        *exercise_3_gradient_and_jacobian(),
        *exercise_4_forward_and_reverse_pass(),
        *exercise_5_three_ways(),
    ])
