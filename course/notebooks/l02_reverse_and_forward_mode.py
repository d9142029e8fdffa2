"""Lecture 2: reverse mode and forward mode automatic differentiation, and what each costs."""

from .cells import markdown, notebook, scratch

NAME = "02_reverse_and_forward_mode"


def build():
    return notebook([
        markdown(r"""
        # Lecture 2: Reverse mode and forward mode

        Lecture 1 computed derivatives by walking a computation graph backwards. That is one of two
        ways to apply the chain rule mechanically. This lecture puts both side by side:

        1. The chain rule is a product of Jacobians, and the order of multiplication matters.
        2. **Forward mode**: push a tangent (a direction) from the inputs to the outputs, a
           Jacobian-vector product (JVP) per input direction.
        3. **Reverse mode** (backpropagation): pull a gradient from the output back to the inputs, a
           vector-Jacobian product (VJP) per output.
        4. Whole Jacobians, and what each mode costs.
        5. Four ways to differentiate the same function, compared.
        6. Graphs written as code, a small network from the notes, and control flow.
        """),
        scratch("""
        import time

        import numpy as np
        import matplotlib.pyplot as plt

        import mini_autograd as ag
        from course.widgets import BackwardStepper
        """),

        markdown(r"""
        ## 1. The chain rule is a product, and products can be bracketed

        For a chain $x \to a \to b \to y$ the chain rule gives $\frac{dy}{dx} = \frac{dy}{db}\frac{db}{da}\frac{da}{dx}$,
        which can be evaluated in two orders:

        $$\text{reverse mode: } \frac{dy}{dx} = \left(\frac{dy}{db}\frac{db}{da}\right)\frac{da}{dx},
        \qquad \text{forward mode: } \frac{dy}{dx} = \frac{dy}{db}\left(\frac{db}{da}\frac{da}{dx}\right).$$

        With scalars both are three multiplications. With vectors each factor is a Jacobian matrix:
        for $a = f(x) \in \mathbb{R}^{n_1}$, $b = g(a) \in \mathbb{R}^{n_2}$, $c = h(b) \in \mathbb{R}^{n_3}$ and a scalar loss
        $e = L(c)$ the product is

        $$\underbrace{\frac{\partial e}{\partial c}}_{1 \times n_3}\;
        \underbrace{\frac{\partial c}{\partial b}}_{n_3 \times n_2}\;
        \underbrace{\frac{\partial b}{\partial a}}_{n_2 \times n_1}\;
        \underbrace{\frac{\partial a}{\partial x}}_{n_1 \times n_0}.$$

        Starting from the left (reverse mode), every intermediate result is a **row vector**: a
        vector-Jacobian product, cheap. Starting from the right (forward mode), every intermediate
        result is a matrix with $n_0$ columns, one per input coordinate. The cell below counts the
        multiplications and times both orders.
        """),
        scratch("""
        rng = np.random.default_rng(0)
        n0, n1, n2, n3 = 400, 400, 400, 400
        J_xa = rng.normal(size=(n1, n0))
        J_ab = rng.normal(size=(n2, n1))
        J_bc = rng.normal(size=(n3, n2))
        g_c = rng.normal(size=(1, n3))  # de/dc: one row, the loss is a scalar

        start = time.perf_counter()
        reverse = ((g_c @ J_bc) @ J_ab) @ J_xa
        t_reverse = time.perf_counter() - start
        start = time.perf_counter()
        forward = g_c @ (J_bc @ (J_ab @ J_xa))
        t_forward = time.perf_counter() - start

        flops_reverse = n3 * n2 + n2 * n1 + n1 * n0
        flops_forward = n2 * n1 * n0 + n3 * n2 * n0 + n3 * n0
        print("same result:", np.allclose(reverse, forward))
        print(f"reverse order: {flops_reverse:>12,d} multiplications, {t_reverse * 1e3:7.2f} ms")
        print(f"forward order: {flops_forward:>12,d} multiplications, {t_forward * 1e3:7.2f} ms")
        """),
        markdown(r"""
        A scalar loss of many parameters is exactly the situation of training a network, which is why
        deep learning libraries use reverse mode. If the output had 3 coordinates instead of 1, reverse
        mode would need the product for each of the 3 rows: three times the work. And with one input
        and many outputs the situation flips: forward mode carries a single column.
        """),

        markdown(r"""
        ## 2. Forward mode: tangents

        Forward mode carries, next to every value, its **tangent**: the derivative of that value along
        a chosen input direction. Write $\dot v = \frac{dv}{dx}$. For the lecture example, starting from
        $\dot x = 1$:

        $$\dot a = 2x\,\dot x,\quad \dot b = \exp(a)\,\dot a,\quad \dot c = \dot a + \dot b,\quad
        \dot d = \frac{\dot c}{2\sqrt c},\quad \dot e = -\sin(c)\,\dot c,\quad \dot f = \dot d + \dot e.$$

        Every line only needs the values and tangents of its inputs, so tangents can be computed in the
        same sweep as the values, with no graph to store. Each operation of `mini_autograd` has a `jvp`
        rule for this, and `ag.jvp(f, primals, tangents)` runs the sweep.
        """),
        scratch("""
        x, x_dot = 1.0, 1.0
        a, a_dot = x**2, 2 * x * x_dot
        b, b_dot = np.exp(a), np.exp(a) * a_dot
        c, c_dot = a + b, a_dot + b_dot
        d, d_dot = np.sqrt(c), c_dot / (2 * np.sqrt(c))
        e, e_dot = np.cos(c), -np.sin(c) * c_dot
        f, f_dot = d + e, d_dot + e_dot
        print(f"by hand:  f = {f:.10f}, df/dx = {f_dot:.10f}")


        def lecture_f(x):
            return ag.sqrt(x**2 + ag.exp(x**2)) + ag.cos(x**2 + ag.exp(x**2))


        value, tangent = ag.jvp(lecture_f, 1.0, 1.0)
        print(f"ag.jvp:   f = {float(value):.10f}, df/dx = {float(tangent):.10f}")
        x_var = ag.Variable(1.0)
        lecture_f(x_var).backward()
        print(f"reverse:  df/dx = {float(x_var.grad):.10f}")
        """),
        markdown(r"""
        With several inputs, a JVP gives the derivative along one direction $v$: $J v$. Choosing
        $v = d_i$ (the $i$-th unit vector) gives the $i$-th column of the Jacobian, so forward mode needs one
        sweep per input. A VJP gives $u^\top J$; with $u = d_j$ it is the $j$-th row, so reverse mode needs one
        backward pass per output.
        """),

        markdown(r"""
        ## 3. Whole Jacobians, both ways

        `ag.jacobian(f, x, mode="reverse")` builds the Jacobian row by row with backward passes;
        `mode="forward"` builds it column by column with JVPs. The notes' example
        $f(x) = (x_1^2,\; x_1 x_2 x_3)$ has 3 inputs and 2 outputs: 2 backward passes or 3 forward sweeps.
        """),
        scratch("""
        def f(x):
            return ag.stack([x[0] ** 2, x[0] * x[1] * x[2]])


        x = np.array([1.5, -2.0, 0.5])
        print("reverse mode:\\n", ag.jacobian(f, x, mode="reverse"))
        print("forward mode:\\n", ag.jacobian(f, x, mode="forward"))
        print("by hand:\\n", np.array([[2 * x[0], 0, 0], [x[1] * x[2], x[0] * x[2], x[0] * x[1]]]))
        """),

        markdown(r"""
        ## 4. What it costs

        Two families of functions make the difference visible:

        * many inputs, one output: $F_n(x) = \sum_i \tanh(x_i)\, x_i$ with $x \in \mathbb{R}^n$ (a loss);
        * one input, many outputs: $G_m(t) = \tanh(t\, w)$ with a fixed $w \in \mathbb{R}^m$ (a curve).

        The cell times `ag.jacobian` in both modes as $n$ and $m$ grow.
        """),
        scratch("""
        def timed(fn, repeat=3):
            best = np.inf
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - start)
            return best


        sizes = [5, 20, 80, 240]
        results = {"F (n inputs, 1 output)": {"reverse": [], "forward": []},
                   "G (1 input, m outputs)": {"reverse": [], "forward": []}}
        for n in sizes:
            x = np.linspace(-1, 1, n)
            w = np.linspace(0.5, 2.0, n)
            F = lambda v: (ag.tanh(v) * v).sum()
            G = lambda t: ag.tanh(t * w)
            for mode in ("reverse", "forward"):
                results["F (n inputs, 1 output)"][mode].append(timed(lambda: ag.jacobian(F, x, mode=mode)))
                results["G (1 input, m outputs)"][mode].append(timed(lambda: ag.jacobian(G, np.array([0.3]), mode=mode)))

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
        for ax, (title, times) in zip(axes, results.items()):
            for mode, values in times.items():
                ax.loglog(sizes, np.array(values) * 1e3, "o-", label=mode)
            ax.set_title(title)
            ax.set_xlabel("n or m")
            ax.legend()
        axes[0].set_ylabel("time for the Jacobian (ms)")
        plt.show()
        for title, times in results.items():
            print(title, {mode: [f"{t * 1e3:.2f}" for t in values] for mode, values in times.items()})
        """),
        markdown(r"""
        The rule of thumb from the notes:

        * **reverse mode** costs a small multiple of one evaluation of $f$ **per output**: ideal for
          high-dimensional inputs and low-dimensional outputs ($D \gg C$), such as a loss;
        * **forward mode** costs a small multiple of one evaluation **per input**: ideal for few inputs and
          many outputs ($D \ll C$), and it stores no graph;
        * **finite differences** cost two evaluations per input and lose half the digits.

        Reverse mode pays with memory: the forward pass must keep every intermediate value the backward
        pass will need.
        """),

        markdown(r"""
        ## 5. One function, four methods

        From the notes: $y = f(x, z) = e^{xz} + \dfrac{xz}{\ln x} + \dfrac{\sin(\ln x)}{xz}$; what are
        $\partial y / \partial x$ and $\partial y / \partial z$ at $x = 2$, $z = 3$?

        * **Finite differences**: 4 evaluations (2 per input), about 10 correct digits.
        * **Symbolic**: differentiate by the rules:
          $\dfrac{\partial y}{\partial x} = z e^{xz} + \dfrac{z \ln x - z}{(\ln x)^2} + \dfrac{z\cos(\ln x) - z\sin(\ln x)}{(xz)^2}$ and
          $\dfrac{\partial y}{\partial z} = x e^{xz} + \dfrac{x}{\ln x} - \dfrac{\sin(\ln x)}{x z^2}$.
        * **Reverse mode**: one forward and one backward pass give both partial derivatives.
        * **Forward mode**: one sweep per input, two here.
        """),
        scratch("""
        def y_fn(x, z):
            return ag.exp(x * z) + x * z / ag.log(x) + ag.sin(ag.log(x)) / (x * z)


        def y_np(x, z):
            return np.exp(x * z) + x * z / np.log(x) + np.sin(np.log(x)) / (x * z)


        x0, z0, h = 2.0, 3.0, 1e-6
        numeric = ((y_np(x0 + h, z0) - y_np(x0 - h, z0)) / (2 * h), (y_np(x0, z0 + h) - y_np(x0, z0 - h)) / (2 * h))
        L = np.log(x0)
        symbolic = (z0 * np.exp(x0 * z0) + (z0 * L - z0) / L**2 + (z0 * np.cos(L) - z0 * np.sin(L)) / (x0 * z0) ** 2,
                    x0 * np.exp(x0 * z0) + x0 / L - np.sin(L) / (x0 * z0**2))
        xv, zv = ag.Variable(x0, name="x"), ag.Variable(z0, name="z")
        y = y_fn(xv, zv)
        y.name = "y"
        y.backward()
        reverse = (float(xv.grad), float(zv.grad))
        forward = (float(ag.jvp(y_fn, (x0, z0), (1.0, 0.0))[1]), float(ag.jvp(y_fn, (x0, z0), (0.0, 1.0))[1]))
        for name, (dx, dz) in [("finite differences", numeric), ("symbolic", symbolic),
                               ("reverse mode", reverse), ("forward mode", forward)]:
            print(f"{name:20s} dy/dx = {dx:.12f}   dy/dz = {dz:.12f}")
        """),
        markdown(r"""
        The graph of this function, with the gradients of the backward pass. Notice how $x$ and the
        product $xz$ are used several times: their gradients collect several contributions. Step
        through the backward pass to watch them add up.
        """),
        scratch("""
        xv.grad = zv.grad = None
        BackwardStepper(y)
        """),

        markdown(r"""
        ## 6. A graph written as code

        A computation graph is just a program in which every line is an elementary operation. The notes
        show the negative log-density of a Gaussian written this way:

        ```python
        t0 = x - m
        t1 = t0 / s
        t2 = np.log(s)
        t3 = t1**2
        t4 = t2 + np.log(2 * np.pi) / 2
        t5 = t3 / 2
        c = t4 + t5
        ```

        Running the same lines on `ag.Variable`s records the graph. By hand:
        $\frac{\partial c}{\partial x} = \frac{x - m}{s^2}$, $\frac{\partial c}{\partial m} = -\frac{x - m}{s^2}$ and
        $\frac{\partial c}{\partial s} = \frac1s - \frac{(x - m)^2}{s^3}$; at $x = 1.5$, $m = 0.5$, $s = 2$ these are
        $0.25$, $-0.25$ and $0.375$.
        """),
        scratch("""
        x, m, s = ag.Variable(1.5, name="x"), ag.Variable(0.5, name="m"), ag.Variable(2.0, name="s")
        t0 = x - m
        t1 = t0 / s
        t2 = ag.log(s)
        t3 = t1**2
        t4 = t2 + np.log(2 * np.pi) / 2
        t5 = t3 / 2
        c = t4 + t5
        for name, node in [("t0", t0), ("t1", t1), ("t2", t2), ("t3", t3), ("t4", t4), ("t5", t5), ("c", c)]:
            node.name = name
        grads = ag.compute_gradients(c)
        print("dc/dx, dc/dm, dc/ds =", grads[x], grads[m], grads[s])
        BackwardStepper(c)
        """),

        markdown(r"""
        ### A small network from the notes

        The notes show a PyTorch program: inputs $x \in \mathbb{R}^{10 \times 5}$, targets $y = 0$, weights
        $W_1 \in \mathbb{R}^{5 \times 3}$, $W_2 \in \mathbb{R}^{3 \times 1}$, a bias $b$, logits $r = x W_1 W_2 + b$
        and the binary cross-entropy with logits as the loss. The same program in `mini_autograd`
        (with our own random numbers) records a graph in which each Variable knows the Operation that
        made it (`producer`, PyTorch's `grad_fn`), and one backward pass gives all three gradients.
        `ag.gradcheck` compares them with finite differences.
        """),
        scratch("""
        rng = np.random.default_rng(0)
        x = ag.constant(rng.normal(size=(10, 5)))
        y = np.zeros((10, 1))
        w1 = ag.Variable(rng.normal(size=(5, 3)), name="W1")
        w2 = ag.Variable(rng.normal(size=(3, 1)), name="W2")
        b = ag.Variable(rng.normal(size=1), name="b")
        z = x @ w1
        r = z @ w2 + b
        loss = ag.binary_cross_entropy_with_logits(r, y)
        print("the operation that made z:", z.producer, "   and the loss:", loss.producer)
        loss.backward()
        print("dL/dW1 =\\n", w1.grad, "\\ndL/dW2 =", w2.grad.ravel(), "\\ndL/db =", b.grad)

        report = ag.gradcheck(lambda W1, W2, B: ag.binary_cross_entropy_with_logits(x @ W1 @ W2 + B, y),
                              w1.value, w2.value, b.value)
        print(report)
        """),

        markdown(r"""
        ### Loops and branches

        Automatic differentiation works for any program whose steps are differentiable elementary
        operations, including `for` loops and `if` statements: the graph records the operations that
        actually ran. Two cautions: a loop makes the graph (and the memory of reverse mode) as long as
        the number of iterations, and a branch is differentiated only on the side that was taken, so at
        the switching point the result is the derivative of one side (here, of $|x|$ at 0).
        """),
        scratch("""
        def power_by_loop(x, n):
            result = x
            for _ in range(n - 1):
                result = result * x
            return result


        def absolute(x):
            return x if x.value >= 0 else -x


        x = ag.Variable(1.3)
        y = power_by_loop(x, 5)
        y.backward()
        print("d x^5/dx at 1.3:", x.grad, "  5 x^4 =", 5 * 1.3**4, "  operations in the graph:", len(ag.topological_order(y)))
        for x0 in (-2.0, 0.0, 2.0):
            x = ag.Variable(x0)
            (1.0 * absolute(x)).backward()  # times 1.0: when the branch returns x itself there is still an operation
            print(f"d|x|/dx at {x0:+.0f}:", x.grad)
        """),

        markdown(r"""
        ## Try it yourself

        * Time `ag.jacobian` for a function $\mathbb{R}^n \to \mathbb{R}^n$ (say `ag.tanh(A @ x)`). Does either mode win?
        * Write the forward-mode (tangent) sweep by hand for the Gaussian example, with $\dot s = 1$ and
          $\dot x = \dot m = 0$, and compare with `ag.jvp`.
        * In the loop example, how does the number of operations grow with `n`, and what does that mean for
          the memory reverse mode needs?
        """),
        scratch(""),
    ])
