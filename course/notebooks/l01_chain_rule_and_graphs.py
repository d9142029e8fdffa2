"""Lecture 1: the chain rule, computation graphs, and the forward and backward passes."""

from .cells import markdown, notebook, scratch

NAME = "01_chain_rule_and_graphs"


def build():
    return notebook([
        markdown(r"""
        # Lecture 1: The chain rule and computation graphs

        Training a model means following the gradient of a loss with respect to thousands or millions
        of parameters. This lecture is about how a computer gets that gradient **exactly** (up to
        rounding) and **cheaply**: split the computation into elementary steps, draw them as a graph,
        and apply the chain rule one step at a time, from the output back to the inputs.

        Plan:

        1. A function whose derivative is tedious to write down.
        2. Finite differences, and why their step size is a compromise (with an interactive explorer).
        3. The chain rule: one variable, several variables, and inputs that are used twice.
        4. Computation graphs: variable nodes and operation nodes.
        5. The forward pass and the backward pass, by hand and with `mini_autograd`, one step at a time.

        Every code cell can be run and changed; nothing in this notebook is graded.
        """),
        scratch("""
        import numpy as np
        import matplotlib.pyplot as plt

        import mini_autograd as ag
        from course.widgets import BackwardStepper, StepSizeExplorer
        """),

        markdown(r"""
        ## 1. A function with a tedious derivative

        Our running example is

        $$f(x) = \sqrt{x^2 + \exp(x^2)} + \cos\left(x^2 + \exp(x^2)\right).$$

        The chain rule gives its derivative, which after some tidying is

        $$\frac{df}{dx} = 2x \left(\frac{1}{2\sqrt{x^2 + \exp(x^2)}} - \sin\left(x^2 + \exp(x^2)\right)\right)\left(1 + \exp(x^2)\right).$$

        Two things are worth noticing. Writing such formulas out by hand does not scale (a neural network
        is this function with millions of terms). And the formula repeats work: $x^2 + \exp(x^2)$
        appears three times. Evaluating the formula naively recomputes it each time; the method of
        this lecture computes every intermediate quantity once and reuses it.
        """),
        scratch("""
        def f(x):
            return np.sqrt(x**2 + np.exp(x**2)) + np.cos(x**2 + np.exp(x**2))


        def df_by_hand(x):
            c = x**2 + np.exp(x**2)
            return 2 * x * (1 / (2 * np.sqrt(c)) - np.sin(c)) * (1 + np.exp(x**2))


        xs = np.linspace(-1.6, 1.6, 400)
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot(xs, f(xs), label="f(x)")
        ax.plot(xs, df_by_hand(xs), label="f'(x)")
        ax.axhline(0, color="gray", lw=0.5)
        ax.legend()
        ax.set_xlabel("x")
        plt.show()
        print(f"f(1) = {f(1.0):.6f},  f'(1) = {df_by_hand(1.0):.6f}")
        """),

        markdown(r"""
        ## 2. Finite differences

        The definition of the derivative, $f'(x) = \lim_{h \to 0} \frac{f(x + h) - f(x)}{h}$, suggests
        simply taking a small $h$:

        | name | formula | truncation error |
        |---|---|---|
        | forward difference | $\dfrac{f(x + h) - f(x)}{h}$ | $O(h)$ |
        | backward difference | $\dfrac{f(x) - f(x - h)}{h}$ | $O(h)$ |
        | central difference | $\dfrac{f(x + h) - f(x - h)}{2h}$ | $O(h^2)$ |

        The truncation error comes from Taylor's theorem: $f(x \pm h) = f(x) \pm h f'(x) + \frac{h^2}{2} f''(x)
        \pm \frac{h^3}{6} f'''(x) + \dots$. In the central difference the $h^2$ terms cancel.

        So what is wrong with it? Two things:

        * **Round-off.** $f(x + h)$ and $f(x)$ agree in most of their digits when $h$ is small, and the
          subtraction cancels those digits: the error grows like $\epsilon_{\text{machine}} |f(x)| / h$.
          A small $h$ is not automatically a good $h$.
        * **Cost.** For $f: \mathbb{R}^D \to \mathbb{R}$ one needs a difference per input coordinate,
          $\frac{\partial f}{\partial x_i} \approx \frac{f(x + h d_i) - f(x - h d_i)}{2h}$ with the unit vector
          $d_i$: $2D$ evaluations of $f$ for one gradient. With a million parameters that is hopeless.

        Finite differences remain the best way to **check** an implementation of derivatives on small
        inputs, which is how this course tests your code.
        """),
        scratch("""
        x, h = 1.0, 1e-5
        exact = df_by_hand(x)
        for name, estimate in [("forward", (f(x + h) - f(x)) / h),
                               ("backward", (f(x) - f(x - h)) / h),
                               ("central", (f(x + h) - f(x - h)) / (2 * h))]:
            print(f"{name:9s} {estimate:.12f}   error {abs(estimate - exact):.2e}")
        print(f"exact     {exact:.12f}")
        """),
        markdown(r"""
        ### Explore: the step size

        Move the slider for $\log_{10} h$ and pick other functions. The plot shows the error of each
        difference against $h$ on log-log axes, with a dot at the current $h$; below it are the three
        estimates next to the exact derivative.

        Things to find:

        * On the right (large $h$) the one-sided errors fall with slope 1 and the central one with slope 2:
          the truncation errors $O(h)$ and $O(h^2)$.
        * On the left (small $h$) every curve rises with slope $-1$, ragged: round-off.
        * The best $h$ is near $\sqrt{\epsilon} \approx 10^{-8}$ for one-sided differences and near
          $\epsilon^{1/3} \approx 10^{-5}$ for the central one, where the two errors meet.
        * At $h = 10^{-16}$, what do the estimates become, and why?
        """),
        scratch("""
        StepSizeExplorer(function="sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2)) at x = 1", log10_h=-5)
        """),

        markdown(r"""
        ## 3. The chain rule

        For functions of one variable, if $y = g(x)$ and $z = h(y)$, then

        $$\frac{dz}{dx} = \frac{dz}{dy}\,\frac{dy}{dx}, \qquad (h \circ g)'(x) = h'(g(x))\, g'(x).$$

        Example from the notes: $f(x) = x^4$ and $g(y) = \sqrt{y}$. Then $f'(x) = 4x^3$,
        $g'(y) = \frac{1}{2\sqrt{y}}$, and $(g \circ f)'(x) = \frac{4x^3}{2\sqrt{x^4}} = 2x$ (for $x > 0$),
        as it should be since $g(f(x)) = x^2$.
        """),
        scratch("""
        x = ag.Variable(1.5)
        y = ag.sqrt(x**4)
        y.backward()
        print("d sqrt(x^4)/dx at 1.5:", x.grad, "   2x =", 2 * 1.5)
        """),
        markdown(r"""
        ### Several variables: Jacobians

        For $f: \mathbb{R}^n \to \mathbb{R}^m$ the derivative at $x$ is a linear map, stored as the
        matrix of all partial derivatives. Two layouts are in use, and the notes use both:

        * the **Jacobian** $J_{ij} = \partial f_i / \partial x_j$ (one row per output, $m \times n$); the chain
          rule reads $J_{g \circ f}(x) = J_g(f(x))\, J_f(x)$;
        * the transposed layout $D[f](x)_{ij} = \partial f_j / \partial x_i$ (one row per input, $n \times m$),
          which suits row vectors and batches ("multiply on the right"); the chain rule reads
          $D[g \circ f](x) = D[f](x)\, D[g](f(x))$.

        `ag.jacobian(f, x)` returns the first layout, with shape `f(x).shape + x.shape`.

        Examples from the notes: $f(x) = (x_1^2,\; x_1 x_2 x_3)$ has
        $D[f](x) = \begin{bmatrix} 2x_1 & x_2 x_3 \\ 0 & x_1 x_3 \\ 0 & x_1 x_2 \end{bmatrix}$, and
        $f(x_1, x_2) = (x_2^2,\; x_1 + x_2,\; x_1 x_2)$ has
        $D[f](x) = \begin{bmatrix} 0 & 1 & x_2 \\ 2x_2 & 1 & x_1 \end{bmatrix}$.
        """),
        scratch("""
        def f1(x):
            return ag.stack([x[0] ** 2, x[0] * x[1] * x[2]])


        def f2(x):
            return ag.stack([x[1] ** 2, x[0] + x[1], x[0] * x[1]])


        x = np.array([1.0, 2.0, 3.0])
        print("J of (x1^2, x1 x2 x3) at (1, 2, 3), one row per output:\\n", ag.jacobian(f1, x))
        print("D[f] = J^T, one row per input:\\n", ag.jacobian(f1, x).T)
        print("D[f] of (x2^2, x1 + x2, x1 x2) at (1, 2):\\n", ag.jacobian(f2, np.array([1.0, 2.0])).T)
        """),
        markdown(r"""
        ### Paths add up

        If $x$ influences $z$ along several paths, $y_1 = g_1(x)$ and $y_2 = g_2(x)$ with $z = h(y_1, y_2)$,
        the contributions of the paths are **added** (the total derivative):

        $$\frac{dz}{dx} = \frac{\partial z}{\partial y_1}\frac{dy_1}{dx} + \frac{\partial z}{\partial y_2}\frac{dy_2}{dx}.$$

        For a vector $y \in \mathbb{R}^n$ in the middle this is a sum over its coordinates, i.e. a
        row vector times a matrix: $\frac{\partial z}{\partial x} = \sum_i \frac{\partial z}{\partial y_i}\frac{\partial y_i}{\partial x}
        = \frac{\partial z}{\partial y}\frac{\partial y}{\partial x}$.

        The same rule covers an input that is used twice: for $g(X) = f(X, 2X)$,
        $D[g] = D_X[f] + 2\, D_Y[f]$. With $f(X, Y) = XY$ that gives $g(X) = 2X^2$ and $g'(X) = Y + 2X = 4X$.
        """),
        scratch("""
        X = ag.Variable(1.5)
        g = X * (2 * X)  # f(X, Y) = X Y with Y = 2X
        g.backward()
        print("dg/dX:", X.grad, "   4X =", 4 * 1.5)
        """),
        markdown(r"""
        ### Nested functions

        The notes' example: $g(K) = K^2$, $f(X, Y) = XY$, $h(Z, W) = Z + W$, and the function
        $g(f(X, h(Z, W))) = X^2 (Z + W)^2$. Its derivative with respect to $W$ is the product of the
        local derivatives along the path $W \to h \to f \to g$:

        $$D_W = D_W[h]\; D_Y[f]\; D[g] = 1 \cdot X \cdot 2K = 2X^2(Z + W),$$

        which is $2 \cdot 4 \cdot 5 = 40$ at $(X, Z, W) = (2, 2, 3)$.
        """),
        scratch("""
        X, Z, W = ag.Variable(2.0, name="X"), ag.Variable(2.0, name="Z"), ag.Variable(3.0, name="W")
        K = X * (Z + W)
        out = K**2
        out.backward()
        print("d/dW:", W.grad, "  d/dZ:", Z.grad, "  d/dX:", X.grad)
        """),

        markdown(r"""
        ## 4. Computation graphs

        Give every intermediate result a name. For our example:

        $$a = x^2,\quad b = \exp(a),\quad c = a + b,\quad d = \sqrt{c},\quad e = \cos(c),\quad f = d + e.$$

        Each line is an elementary function with a simple local derivative:

        $$\frac{\partial a}{\partial x} = 2x,\quad \frac{\partial b}{\partial a} = \exp(a),\quad
        \frac{\partial c}{\partial a} = \frac{\partial c}{\partial b} = 1,\quad
        \frac{\partial d}{\partial c} = \frac{1}{2\sqrt{c}},\quad
        \frac{\partial e}{\partial c} = -\sin(c),\quad
        \frac{\partial f}{\partial d} = \frac{\partial f}{\partial e} = 1.$$

        (One slide of the notes writes $\partial d / \partial c = 1/\sqrt{c}$; the factor $\frac12$ is needed,
        as the next slide's $\frac{1}{2\sqrt{c}}$ shows.)

        A **computation graph** is a directed acyclic graph with two kinds of nodes:

        * **variable nodes** (ellipses below) hold values (numbers, vectors, matrices) and, after the
          backward pass, gradients;
        * **operation nodes** (boxes) hold a function and whatever state it needs for its derivative.

        The graph is bipartite: edges only join a variable to an operation or an operation to a
        variable, and every source and sink is a variable. `mini_autograd` records this graph while
        ordinary-looking Python code runs, and `ag.draw` draws it.
        """),
        scratch("""
        def lecture_example(x0):
            x = ag.Variable(x0, name="x")
            a = x**2
            a.name = "a"
            b = ag.exp(a)
            b.name = "b"
            c = a + b
            c.name = "c"
            d = ag.sqrt(c)
            d.name = "d"
            e = ag.cos(c)
            e.name = "e"
            f = d + e
            f.name = "f"
            return x, f


        x, out = lecture_example(1.0)
        ag.draw(out, show_grads=False)
        """),

        markdown(r"""
        ## 5. The forward pass

        The forward pass starts by giving the source variables values ($x = 1$), then repeatedly
        evaluates an operation whose inputs all have values, stores its output in the output variable
        node (and, in the operation node, whatever the backward pass will need). Any order in which
        every operation comes after the operations it depends on works: a **topological order**.
        """),
        scratch("""
        for op in ag.topological_order(out):
            inputs = ", ".join(v.name or f"{float(v.value):g}" for v in op.inputs)
            print(f"{op.output.name} = {op.label()}({inputs}) = {float(op.output.value):.6f}")
        """),

        markdown(r"""
        ## 6. The backward pass

        The backward pass starts at the sink with $\frac{\partial f}{\partial f} = 1$ and visits the
        operations in **reverse** topological order. Each operation receives the derivative of $f$ with
        respect to its output, multiplies by its local derivatives, and sends the results to its inputs.
        A variable used by several operations ($c$ feeds $d$ and $e$; $a$ feeds $b$ and $c$) must wait
        until all of them have sent their part, and **adds** them:

        $$\begin{aligned}
        \frac{\partial f}{\partial c} &= \frac{\partial f}{\partial d}\frac{\partial d}{\partial c} + \frac{\partial f}{\partial e}\frac{\partial e}{\partial c}
          = \frac{1}{2\sqrt{c}} - \sin(c), \\
        \frac{\partial f}{\partial b} &= \frac{\partial f}{\partial c}\frac{\partial c}{\partial b} = \frac{\partial f}{\partial c}, \\
        \frac{\partial f}{\partial a} &= \frac{\partial f}{\partial b}\frac{\partial b}{\partial a} + \frac{\partial f}{\partial c}\frac{\partial c}{\partial a}
          = \frac{\partial f}{\partial b}\exp(a) + \frac{\partial f}{\partial c}, \\
        \frac{\partial f}{\partial x} &= \frac{\partial f}{\partial a}\frac{\partial a}{\partial x} = \frac{\partial f}{\partial a}\, 2x.
        \end{aligned}$$

        In general, with variables $x_1, \dots, x_D$ where $x_i = g_i(x_{\mathrm{Pa}(i)})$ is computed from its
        parents, the forward pass computes $x_{d+1}, \dots, x_D$ in order and the backward pass computes

        $$\frac{\partial f}{\partial x_i} = \sum_{j:\, i \in \mathrm{Pa}(j)} \frac{\partial f}{\partial x_j}\,\frac{\partial g_j}{\partial x_i}.$$

        Below, the backward pass by hand in numpy, then by `mini_autograd`.
        """),
        scratch("""
        x0 = 1.0
        a = x0**2
        b = np.exp(a)
        c = a + b
        d = np.sqrt(c)
        e = np.cos(c)

        df_dd = df_de = 1.0
        df_dc = df_dd * (1 / (2 * np.sqrt(c))) + df_de * (-np.sin(c))
        df_db = df_dc * 1.0
        df_da = df_db * np.exp(a) + df_dc * 1.0
        df_dx = df_da * 2 * x0
        print(f"by hand:   df/dc = {df_dc:.10f}   df/da = {df_da:.10f}   df/dx = {df_dx:.10f}")

        x, out = lecture_example(x0)
        out.backward()
        print(f"automatic: df/dx = {x.grad:.10f}")
        print(f"formula:   df/dx = {df_by_hand(x0):.10f}")
        """),
        markdown(r"""
        ### Step through it

        The stepper runs the same backward pass one operation at a time, using each operation's own
        `backward` method. The highlighted box is the operation being processed; every variable shows
        the gradient it has received **so far**. Watch $c$: after the `Cos` step it holds only
        $-\sin(c)$, and the `Sqrt` step adds $\frac{1}{2\sqrt c}$. The same happens to $a$ with `Add` and `Exp`.
        Use *Next* / *Prev* or the slider.
        """),
        scratch("""
        x, out = lecture_example(1.0)
        BackwardStepper(out)
        """),
        markdown(r"""
        The stepper's logic is available without the widget, which is handy for checking a hand
        computation step by step: `BackwardPass(out).gradients_by_name(k)` is the dictionary of
        partial gradients after step `k`.
        """),
        scratch("""
        from course.widgets import BackwardPass

        bp = BackwardPass(out)
        for k in range(bp.num_steps + 1):
            print(bp.describe(k))
        """),

        markdown(r"""
        ## 7. Backpropagation is local

        Each operation only needs its immediate neighbours: in the forward pass it reads its inputs and
        writes its output; in the backward pass it receives the gradient of its output and returns the
        gradients of its inputs. In code, an operation is a small class:

        * `forward(self, *inputs)` computes the output and stores what the derivative will need;
        * `backward(self, grad_output)` multiplies the incoming gradient by the stored local derivatives
          and returns one gradient per input.

        Here is a hand-written square operation, checked against finite differences with `ag.gradcheck`.
        You will write many of these in the assignments.
        """),
        scratch("""
        class Square(ag.Operation):
            def forward(self, x):
                self.x = x  # the state the backward pass needs
                return x * x

            def backward(self, grad_output):
                return (grad_output * 2 * self.x,)


        x = ag.Variable(3.0, name="x")
        y = Square()(x)
        y.backward()
        print("d x^2 / dx at 3:", x.grad)
        print(ag.gradcheck(lambda v: ag.sin(Square()(v)).sum(), np.array([0.3, -1.2, 2.0])))
        """),

        markdown(r"""
        ## 8. More graphs to step through

        **A reused input.** $f(x, y) = x (x + y)^2$ at $(2, 1)$: $x$ is used twice, so its gradient is the
        sum of $(x + y)^2 = 9$ (through the product) and $2x(x + y) = 12$ (through the sum): 21.
        """),
        scratch("""
        x, y = ag.Variable(2.0, name="x"), ag.Variable(1.0, name="y")
        q = x + y
        q.name = "q = x + y"
        f_xy = x * q**2
        f_xy.name = "f"
        BackwardStepper(f_xy)
        """),
        markdown(r"""
        **Beyond scalars.** A variable node can hold a vector. For $Z = x_1^3 x_2$ at $x = (2, 3)$ the
        gradient is $D_X[Z] = (3x_1^2 x_2,\; x_1^3) = (36, 8)$. Indexing is an operation too (`GetItem`),
        and its backward pass puts the gradient back into the right slot of a zero vector.
        """),
        scratch("""
        x = ag.Variable([2.0, 3.0], name="x")
        Z = x[0] ** 3 * x[1]
        Z.name = "Z"
        Z.backward()
        print("dZ/dx =", x.grad)
        x.grad = None
        BackwardStepper(Z)
        """),
        markdown(r"""
        **A sigmoid neuron.** $\sigma(w, x) = \frac{1}{1 + e^{-(w_0 x_0 + w_1 x_1 + w_2)}}$ is the composition of
        $i(x) = w_0 x_0 + w_1 x_1 + w_2$, $h(u) = e^{-u}$, $g(u) = 1 + u$ and $f(u) = 1/u$. Building it from
        these pieces gives a longer graph; its result must agree with the one-node `ag.sigmoid`, whose
        backward pass uses the shortcut $\sigma'(u) = \sigma(u)(1 - \sigma(u))$.
        """),
        scratch("""
        w = ag.Variable([1.5, -0.5, 0.25], name="w")
        x_in = ag.Variable([0.8, 2.0], name="x")
        i = w[0] * x_in[0] + w[1] * x_in[1] + w[2]
        i.name = "i"
        h_ = ag.exp(-i)
        g_ = 1.0 + h_
        sigma = 1.0 / g_
        sigma.name = "sigma"
        grads = ag.compute_gradients(sigma)
        print("sigma =", float(sigma.value), " dsigma/dw =", grads[w], " dsigma/dx =", grads[x_in])

        w2, x2 = ag.Variable(w.value), ag.Variable(x_in.value)
        s = ag.sigmoid((w2[:2] * x2).sum() + w2[2])
        s.backward()
        print("with ag.sigmoid:   dsigma/dw =", w2.grad, " dsigma/dx =", x2.grad)
        BackwardStepper(sigma)
        """),
        markdown(r"""
        ## Try it yourself

        * Build $f(x, y, z) = (x + y) z$ and step through it. Which gradients are "$z$" and which is "$x + y$"?
        * Take the lecture example at $x = -1.2$: which intermediate gradient changes sign?
        * Write your own operation class (say `Cube`) and check it with `ag.gradcheck`.
        """),
        scratch(""),
    ])
