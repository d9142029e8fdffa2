"""Assignment 2: backpropagation (operation nodes, topological order, the reverse-mode driver)."""

from .cells import markdown, notebook, scratch, setup, solution, tests

NAME = "02_backprop"


def introduction():
    """The assignment's overview and the locked setup cell."""
    return [
        markdown("""
        # Assignment 2: Backpropagation

        The lecture notes describe a computation as a **computation graph**: a directed acyclic graph
        with two kinds of nodes.

        * **Variable nodes** hold values (numbers, vectors, matrices) and, after a backward pass,
          gradients. Every source and every sink of the graph is a variable node.
        * **Operation nodes** compute one function of their input variables and write the result into
          their output variable. They may keep whatever *state* their backward pass needs.

        The graph is **bipartite**: edges only join a variable to an operation or an operation to a
        variable. For $f(x, y) = x(x + y)^2$ it has the operations `Add`, `Power` and `Multiply`, and the
        variable $x$ feeds two of them.

        **Backpropagation** has two phases. The *forward pass* runs the operations from the sources to
        the sink and stores state. The *backward pass* starts from $\\partial f / \\partial f = 1$ at the
        sink and runs the operations in reverse; each operation receives the gradient of its output and
        returns the gradients of its inputs. Both passes are **local**: an operation only sees its own
        inputs and output. Where a variable feeds several operations, the contributions are **added**.

        In this assignment you build those pieces of `mini_autograd` yourself:

        | Exercise | What | Points |
        |---|---|---|
        | 1 | `sum_to_shape`: the gradient of a broadcast input | 8 |
        | 2 | `Add`, `Multiply`, `Divide` with broadcasting | 10 + 8 |
        | 3 | `Power` | 8 |
        | 4 | `Exp`, `Log`, `Sqrt` | 12 |
        | 5 | `Sin`, `Cos` and the activations `Tanh`, `Sigmoid`, `ReLU` | 6 + 12 |
        | 6 | the topological order of a graph | 14 |
        | 7 | the reverse-mode driver, with accumulation when a variable is reused | 16 + 6 |
        | 8 | drawing your graph with Graphviz (not graded) | 0 |

        Every exercise is graded on its own: later exercises use `mini_autograd`'s reference pieces
        (`ag.unbroadcast`, `ag.topological_order`, `ag.ops.Multiply`...), so a slip in one exercise
        costs only that exercise. Write your code where it says `# YOUR CODE HERE` (delete the
        `raise NotImplementedError()` line) and run the test cell after each exercise: a failing test
        names the input, the element, the expected and the computed value, and often the likely cause.
        Hidden tests use more shapes, seeds and edge cases (broadcasting, 0-d values, float32), so
        solve the problem in general rather than for the visible examples. 100 points in total.
        """, id="intro"),
        setup("""
        import numpy as np

        import mini_autograd as ag
        from autograder.checks import check_backpropagation, check_operation, check_topological_order, check_values
        from autograder.checks.exercises import a02_backprop as known
        """, id="setup"),
    ]


def operation_nodes():
    """How an operation node works, with a worked example (Square)."""
    return [
        markdown("""
        ## How an operation node works

        An operation is a subclass of `ag.Operation` with two methods:

        * `forward(self, *values)` receives the **values** of the inputs (numpy arrays, or numpy scalars
          such as `np.float64` for 0-d values), stores in `self` what the backward pass will need, and
          returns the output value.
        * `backward(self, grad)` receives `grad` $= \\partial L / \\partial z$, the gradient of the final
          scalar $L$ with respect to the output $z$ (shaped like $z$), and returns a **tuple** with
          $\\partial L / \\partial a$ for every input $a$, in order, each shaped like that input.

        For an elementwise function the chain rule is an elementwise product:
        $\\partial L / \\partial a = \\partial L / \\partial z \\cdot \\partial z / \\partial a$. Multiply the
        local derivative by `grad`; forgetting `grad` is the most common mistake.

        Calling an instance on Variables, `Square()(x)`, runs `forward`, adds the node to the graph and
        returns the output Variable (use a new instance for every call). Here is a complete example;
        run it and look at the drawing, where ellipses are variable nodes and boxes operation nodes.
        """, id="demo-text"),
        setup("""
        class Square(ag.Operation):
            \"\"\"z = x**2.   dz/dx = 2x.\"\"\"

            def forward(self, x):
                self.x = x                      # the state the backward pass needs
                return x * x

            def backward(self, grad):
                return (grad * 2 * self.x,)     # dL/dx = dL/dz * dz/dx, in a tuple: one entry per input


        demo_x = ag.Variable(3.0, name="x")
        demo_y = Square()(demo_x)
        demo_y.name = "y"
        demo_y.backward()                       # the reference driver; you write your own in Exercise 7
        print("y =", demo_y.value, " dy/dx =", demo_x.grad)
        ag.draw(demo_y)
        """, id="demo"),
    ]


def exercise_1():
    """Exercise 1: sum_to_shape, the gradient of a broadcast input."""
    return [
        markdown("""
        ## Exercise 1: the gradient of a broadcast input (8 points)

        numpy **broadcasts**: in `a + b` with `a` of shape `(2, 3)` and `b` of shape `(3,)`, `b` is
        copied along a new first axis, so each element of `b` is used twice. A variable used several
        times gets the **sum** of the gradients of its uses, so the gradient of `b` is the gradient of the
        output summed over axis 0.

        Write `sum_to_shape(grad, shape)` that sums `grad` down to `shape`, the shape of an input that
        was broadcast to `grad.shape`:

        1. sum over the leading axes that `shape` does not have (`grad.ndim - len(shape)` of them);
        2. then sum, keeping the axis (`keepdims=True`), over every axis where `shape` has size 1 and
           `grad` does not.

        Examples: `(2, 3)` to `(3,)` sums axis 0; `(2, 3)` to `(2, 1)` sums axis 1 keeping it; `(2, 3)`
        to `()` sums everything; when the shapes are equal, return `grad` unchanged.
        """, id="ex1-text"),
        solution("""
        def sum_to_shape(grad, shape):
            ### BEGIN SOLUTION
            grad = np.asarray(grad)
            shape = tuple(shape)
            extra = grad.ndim - len(shape)
            if extra > 0:
                grad = grad.sum(axis=tuple(range(extra)))
            stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
            if stretched:
                grad = grad.sum(axis=stretched, keepdims=True)
            return grad
            ### END SOLUTION
        """, id="ex1-solution"),
        tests("""
        g = np.arange(6.0).reshape(2, 3)
        check_values(sum_to_shape(g, (3,)), [3.0, 5.0, 7.0], "Exercise 1", "sum_to_shape(grad of shape (2, 3), (3,))")
        check_values(sum_to_shape(g, (2, 1)), [[3.0], [12.0]], "Exercise 1", "sum_to_shape(grad of shape (2, 3), (2, 1))")
        check_values(sum_to_shape(g, (2, 3)), g, "Exercise 1", "sum_to_shape(grad of shape (2, 3), (2, 3))")
        ### BEGIN HIDDEN TESTS
        rng = np.random.default_rng(21)
        for grad_shape, shape in [((4, 2, 3), (2, 1)), ((4, 2, 3), (1, 3)), ((4, 2, 3), (4, 1, 1)), ((2, 3), ()),
                                  ((5,), (1,)), ((), ()), ((3, 1, 4), (3, 1, 4)), ((2, 3, 4), (3, 1)), ((1, 3), (1, 1)),
                                  ((2, 5), (1, 5)), ((3, 2, 2), (1, 1, 2))]:
            grad = rng.normal(size=grad_shape)
            check_values(sum_to_shape(grad, shape), ag.unbroadcast(grad, shape), "Exercise 1",
                         f"sum_to_shape(grad of shape {grad_shape}, {shape})")
        ### END HIDDEN TESTS
        """, id="ex1-tests", points=8),
    ]


def exercise_2():
    """Exercise 2: Add, Multiply and Divide with broadcasting."""
    return [
        markdown("""
        ## Exercise 2: binary arithmetic with broadcasting (18 points)

        Write the operation nodes `Add` ($z = a + b$), `Multiply` ($z = ab$) and `Divide` ($z = a / b$).
        Their local derivatives are

        $$\\frac{\\partial (a + b)}{\\partial a} = \\frac{\\partial (a + b)}{\\partial b} = 1, \\qquad
        \\frac{\\partial (ab)}{\\partial a} = b, \\quad \\frac{\\partial (ab)}{\\partial b} = a, \\qquad
        \\frac{\\partial (a/b)}{\\partial a} = \\frac{1}{b}, \\quad \\frac{\\partial (a/b)}{\\partial b} = -\\frac{a}{b^2}.$$

        The inputs may have different shapes that numpy broadcasts (`(2, 3)` with `(3,)`, `(2, 1)` with
        `(1, 3)`, a 0-d value with anything), so sum each input's gradient down to that input's shape with
        **`ag.unbroadcast(grad, shape)`**, the reference version of your Exercise 1 (a slip there then costs
        nothing here). Remember the input shapes in `forward`: `np.shape(a)` also works for 0-d values.
        `backward` returns a tuple of two gradients. A test that reports a gradient of the wrong shape
        (for instance `(2, 3)` for an input of shape `(3,)`) means a missing `ag.unbroadcast`.
        """, id="ex2-text"),
        solution("""
        class Add(ag.Operation):
            \"\"\"z = a + b\"\"\"

            def forward(self, a, b):
                ### BEGIN SOLUTION
                self.a_shape, self.b_shape = np.shape(a), np.shape(b)
                return a + b
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                return ag.unbroadcast(grad, self.a_shape), ag.unbroadcast(grad, self.b_shape)
                ### END SOLUTION


        class Multiply(ag.Operation):
            \"\"\"z = a * b\"\"\"

            def forward(self, a, b):
                ### BEGIN SOLUTION
                self.a, self.b = a, b
                return a * b
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                grad_a = grad * self.b
                grad_b = grad * self.a
                return ag.unbroadcast(grad_a, np.shape(self.a)), ag.unbroadcast(grad_b, np.shape(self.b))
                ### END SOLUTION


        class Divide(ag.Operation):
            \"\"\"z = a / b\"\"\"

            def forward(self, a, b):
                ### BEGIN SOLUTION
                self.a, self.b = a, b
                return a / b
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                grad_a = grad / self.b
                grad_b = -grad * self.a / self.b**2
                return ag.unbroadcast(grad_a, np.shape(self.a)), ag.unbroadcast(grad_b, np.shape(self.b))
                ### END SOLUTION
        """, id="ex2-solution"),
        tests("""
        shapes = [[(3,), (3,)], [(2, 3), (3,)], [(2, 1), (1, 3)]]
        check_operation(Add, shapes, "Exercise 2 (Add)", reference=np.add)
        check_operation(Multiply, shapes, "Exercise 2 (Multiply)", reference=np.multiply,
                        known_mistakes=known.MULTIPLY_MISTAKES)
        ### BEGIN HIDDEN TESTS
        more = [[(), ()], [(), (2, 2)], [(4, 1, 3), (2, 3)], [(2, 3, 4), (1,)], [(5,), ()], [(3, 1), (3, 4)]]
        check_operation(Add, more, "Exercise 2 (Add)", reference=np.add, seeds=(3, 4))
        check_operation(Multiply, more, "Exercise 2 (Multiply)", reference=np.multiply, seeds=(3, 4),
                        known_mistakes=known.MULTIPLY_MISTAKES)
        check_operation(Multiply, [[(50, 70), (70,)]], "Exercise 2 (Multiply)", reference=np.multiply, seeds=(5,))
        ### END HIDDEN TESTS
        """, id="ex2-add-multiply-tests", points=10),
        tests("""
        check_operation(Divide, [[(3,), (3,)], [(2, 3), (3,)], [(2, 1), (1, 3)]], "Exercise 2 (Divide)",
                        reference=np.divide, avoid_zero=0.5, known_mistakes=known.DIVIDE_MISTAKES)
        ### BEGIN HIDDEN TESTS
        check_operation(Divide, [[(), ()], [(), (2, 2)], [(4, 1, 3), (2, 3)], [(5,), ()], [(3, 1), (3, 4)]],
                        "Exercise 2 (Divide)", reference=np.divide, avoid_zero=0.5, seeds=(3, 4),
                        known_mistakes=known.DIVIDE_MISTAKES)
        check_operation(Divide, [[(50, 70), (70,)]], "Exercise 2 (Divide)", reference=np.divide, avoid_zero=0.5, seeds=(5,))
        ### END HIDDEN TESTS
        """, id="ex2-divide-tests", points=8),
    ]


def exercise_3():
    """Exercise 3: Power."""
    return [
        markdown("""
        ## Exercise 3: powers (8 points)

        Write `Power` for $z = a^b$, elementwise and with broadcasting as in Exercise 2. Both inputs get a
        gradient:

        $$\\frac{\\partial a^b}{\\partial a} = b\\, a^{b - 1}, \\qquad \\frac{\\partial a^b}{\\partial b} = a^b \\ln a
        \\quad (a > 0).$$

        The engine builds `x ** 2` as `Power` with a constant exponent, so `forward` must work for a
        negative base with a whole-number exponent, and the base's gradient must then still be right
        (the exponent's gradient, `nan` there, is not used since the exponent is a constant).

        The test also checks the notes' example: $Z = x_1^3 x_2$ at $x = (2, 3)$ has the gradient
        $(3x_1^2 x_2,\\ x_1^3) = (36, 8)$.
        """, id="ex3-text"),
        solution("""
        class Power(ag.Operation):
            \"\"\"z = a ** b\"\"\"

            def forward(self, a, b):
                ### BEGIN SOLUTION
                self.a, self.b = a, b
                self.z = a**b
                return self.z
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                grad_a = grad * self.b * self.a ** (self.b - 1)
                grad_b = grad * self.z * np.log(self.a)
                return ag.unbroadcast(grad_a, np.shape(self.a)), ag.unbroadcast(grad_b, np.shape(self.b))
                ### END SOLUTION
        """, id="ex3-solution"),
        tests("""
        check_operation(Power, [[(3,), (3,)], [(2, 3), (3,)], [(), (2,)]], "Exercise 3 (Power)", reference=np.power,
                        domain=(0.5, 2.0), known_mistakes=known.POWER_MISTAKES)
        x1, x2 = ag.Variable(2.0), ag.Variable(3.0)
        Z = Power()(x1, 3.0) * x2
        Z.backward()
        check_values([x1.grad, x2.grad], [36.0, 8.0], "Exercise 3 (Power)", "the gradient of Z = x1**3 x2 at (2, 3)")
        ### BEGIN HIDDEN TESTS
        check_operation(Power, [[(), ()], [(4, 1, 3), (2, 3)], [(2, 2), ()], [(3, 1), (1, 2)]], "Exercise 3 (Power)",
                        reference=np.power, domain=(0.3, 2.5), seeds=(3, 4), known_mistakes=known.POWER_MISTAKES)
        base = np.array([-1.5, -0.5, 0.7, 2.0])
        for exponent in (2.0, 3.0):
            with np.errstate(all="ignore"):
                node = Power()
                out = node(ag.Variable(base), ag.constant(exponent))
                grad_base = node.backward(np.ones(4))[0]
            check_values(out.value, base**exponent, "Exercise 3 (Power)", f"Power()(x, {exponent}).value for x = {base}")
            check_values(grad_base, exponent * base ** (exponent - 1), "Exercise 3 (Power)",
                         f"the gradient of x ** {exponent} for x = {base} (negative bases included)")
        ### END HIDDEN TESTS
        """, id="ex3-tests", points=8),
    ]


def exercise_4():
    """Exercise 4: Exp, Log and Sqrt."""
    return [
        markdown("""
        ## Exercise 4: exp, log and sqrt (12 points)

        Write `Exp`, `Log` (natural logarithm) and `Sqrt`, each with one input:

        $$\\frac{d}{dx} e^x = e^x, \\qquad \\frac{d}{dx} \\ln x = \\frac{1}{x}, \\qquad
        \\frac{d}{dx} \\sqrt{x} = \\frac{1}{2\\sqrt{x}}.$$

        Storing the *output* in `forward` saves work where the derivative is written with it ($e^x$ and
        $\\sqrt{x}$). `backward` returns a tuple with one gradient: `(grad * ...,)`. Keep the dtype of the
        input: a float32 input gives a float32 output.
        """, id="ex4-text"),
        solution("""
        class Exp(ag.Operation):
            \"\"\"z = exp(x)\"\"\"

            def forward(self, x):
                ### BEGIN SOLUTION
                self.z = np.exp(x)
                return self.z
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                return (grad * self.z,)
                ### END SOLUTION


        class Log(ag.Operation):
            \"\"\"z = log(x)\"\"\"

            def forward(self, x):
                ### BEGIN SOLUTION
                self.x = x
                return np.log(x)
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                return (grad / self.x,)
                ### END SOLUTION


        class Sqrt(ag.Operation):
            \"\"\"z = sqrt(x)\"\"\"

            def forward(self, x):
                ### BEGIN SOLUTION
                self.z = np.sqrt(x)
                return self.z
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                return (grad / (2 * self.z),)
                ### END SOLUTION
        """, id="ex4-solution"),
        tests("""
        shapes = [[(3,)], [(2, 3)]]
        check_operation(Exp, shapes, "Exercise 4 (Exp)", reference=np.exp, known_mistakes=known.EXP_MISTAKES)
        check_operation(Log, shapes, "Exercise 4 (Log)", reference=np.log, domain=(0.2, 3.0),
                        known_mistakes=known.LOG_MISTAKES)
        check_operation(Sqrt, shapes, "Exercise 4 (Sqrt)", reference=np.sqrt, domain=(0.2, 3.0),
                        known_mistakes=known.SQRT_MISTAKES)
        ### BEGIN HIDDEN TESTS
        more = [[()], [(4, 1, 3)], [(50, 70)]]
        check_operation(Exp, more, "Exercise 4 (Exp)", reference=np.exp, domain=(-3.0, 3.0), seeds=(3, 4))
        check_operation(Log, more, "Exercise 4 (Log)", reference=np.log, domain=(0.05, 5.0), seeds=(3, 4),
                        known_mistakes=known.LOG_MISTAKES)
        check_operation(Sqrt, more, "Exercise 4 (Sqrt)", reference=np.sqrt, domain=(0.05, 5.0), seeds=(3, 4),
                        known_mistakes=known.SQRT_MISTAKES)
        ### END HIDDEN TESTS
        """, id="ex4-tests", points=12),
    ]


def exercise_5():
    """Exercise 5: Sin, Cos and the activations Tanh, Sigmoid, ReLU."""
    return [
        markdown("""
        ## Exercise 5: trigonometric and activation functions (18 points)

        Write `Sin`, `Cos`, and the activation functions of neural networks `Tanh`, `Sigmoid` and `ReLU`:

        $$\\frac{d}{dx}\\sin x = \\cos x, \\qquad \\frac{d}{dx}\\cos x = -\\sin x, \\qquad
        \\frac{d}{dx}\\tanh x = 1 - \\tanh^2 x,$$

        $$\\sigma(x) = \\frac{1}{1 + e^{-x}}, \\quad \\frac{d\\sigma}{dx} = \\sigma(x)\\,(1 - \\sigma(x)), \\qquad
        \\operatorname{ReLU}(x) = \\max(x, 0), \\quad \\frac{d}{dx}\\operatorname{ReLU}(x) =
        \\begin{cases} 1 & x > 0 \\\\ 0 & x < 0 \\end{cases}$$

        (at $x = 0$ either value will do; PyTorch takes 0). `Sin` and `Cos` are graded together (6 points), the three
        activations together (12 points).
        """, id="ex5-text"),
        solution("""
        class Sin(ag.Operation):
            \"\"\"z = sin(x)\"\"\"

            def forward(self, x):
                ### BEGIN SOLUTION
                self.x = x
                return np.sin(x)
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                return (grad * np.cos(self.x),)
                ### END SOLUTION


        class Cos(ag.Operation):
            \"\"\"z = cos(x)\"\"\"

            def forward(self, x):
                ### BEGIN SOLUTION
                self.x = x
                return np.cos(x)
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                return (-grad * np.sin(self.x),)
                ### END SOLUTION


        class Tanh(ag.Operation):
            \"\"\"z = tanh(x)\"\"\"

            def forward(self, x):
                ### BEGIN SOLUTION
                self.z = np.tanh(x)
                return self.z
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                return (grad * (1 - self.z**2),)
                ### END SOLUTION


        class Sigmoid(ag.Operation):
            \"\"\"z = 1 / (1 + exp(-x))\"\"\"

            def forward(self, x):
                ### BEGIN SOLUTION
                self.z = 1 / (1 + np.exp(-x))
                return self.z
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                return (grad * self.z * (1 - self.z),)
                ### END SOLUTION


        class ReLU(ag.Operation):
            \"\"\"z = max(x, 0)\"\"\"

            def forward(self, x):
                ### BEGIN SOLUTION
                self.positive = x > 0
                return np.maximum(x, 0)
                ### END SOLUTION

            def backward(self, grad):
                ### BEGIN SOLUTION
                return (grad * self.positive,)
                ### END SOLUTION
        """, id="ex5-solution"),
        tests("""
        shapes = [[(3,)], [(2, 3)]]
        check_operation(Sin, shapes, "Exercise 5 (Sin)", reference=np.sin, known_mistakes=known.SIN_MISTAKES)
        check_operation(Cos, shapes, "Exercise 5 (Cos)", reference=np.cos, known_mistakes=known.COS_MISTAKES)
        ### BEGIN HIDDEN TESTS
        more = [[()], [(4, 1, 3)], [(50, 70)]]
        check_operation(Sin, more, "Exercise 5 (Sin)", reference=np.sin, domain=(-4.0, 4.0), seeds=(3, 4))
        check_operation(Cos, more, "Exercise 5 (Cos)", reference=np.cos, domain=(-4.0, 4.0), seeds=(3, 4))
        ### END HIDDEN TESTS
        """, id="ex5-trig-tests", points=6),
        tests("""
        shapes = [[(3,)], [(2, 3)]]
        check_operation(Tanh, shapes, "Exercise 5 (Tanh)", reference=np.tanh, known_mistakes=known.TANH_MISTAKES)
        check_operation(Sigmoid, shapes, "Exercise 5 (Sigmoid)", reference=known.sigmoid,
                        known_mistakes=known.SIGMOID_MISTAKES)
        check_operation(ReLU, shapes, "Exercise 5 (ReLU)", reference=known.relu, known_mistakes=known.RELU_MISTAKES)
        ### BEGIN HIDDEN TESTS
        more = [[()], [(4, 1, 3)], [(50, 70)]]
        check_operation(Tanh, more, "Exercise 5 (Tanh)", reference=np.tanh, domain=(-3.0, 3.0), seeds=(3, 4),
                        known_mistakes=known.TANH_MISTAKES)
        check_operation(Sigmoid, more, "Exercise 5 (Sigmoid)", reference=known.sigmoid, domain=(-6.0, 6.0),
                        seeds=(3, 4), known_mistakes=known.SIGMOID_MISTAKES)
        check_operation(ReLU, more, "Exercise 5 (ReLU)", reference=known.relu, domain=(-3.0, 3.0), seeds=(3, 4),
                        known_mistakes=known.RELU_MISTAKES)
        ### END HIDDEN TESTS
        """, id="ex5-activation-tests", points=12),
    ]


def exercise_6():
    """Exercise 6: the topological order."""
    return [
        markdown("""
        ## Exercise 6: the topological order (14 points)

        The backward pass may only run an operation once the gradient of its output is complete, that is
        after **every** operation that uses its output. The forward order guarantees that: list the
        operations so that each comes after the operations that produce its inputs (a *topological
        order*), and walk that list backwards.

        Write `topological_sort(output)` returning the list of `ag.Operation` nodes that the Variable
        `output` depends on, **each exactly once**, each after the operations that produce its inputs.
        The graph is reachable from `output`:

        * `variable.producer` is the Operation that made a Variable (`None` for a leaf or a constant);
        * `operation.inputs` is the tuple of its input Variables.

        Depth-first search in *post-order* does it: before appending an operation, visit the producers of
        its inputs; keep a set of the operations already visited, because an operation whose output is
        used twice is reached twice (in $x(x+y)^2$ and in the lecture's $\\sqrt{c} + \\cos c$). For a leaf
        `output` the list is empty. A recursive function is fine here (`mini_autograd`'s own version is
        iterative, so that a chain of 100,000 operations does not hit Python's recursion limit).
        """, id="ex6-text"),
        solution("""
        def topological_sort(output):
            ### BEGIN SOLUTION
            order, visited = [], set()
            if output.producer is None:
                return order
            stack = [(output.producer, False)]
            while stack:
                operation, inputs_done = stack.pop()
                if inputs_done:
                    order.append(operation)
                elif operation not in visited:
                    visited.add(operation)
                    stack.append((operation, True))
                    for variable in reversed(operation.inputs):
                        if variable.producer is not None and variable.producer not in visited:
                            stack.append((variable.producer, False))
            return order
            ### END SOLUTION
        """, id="ex6-solution"),
        tests("""
        x, y = ag.Variable(2.0, name="x"), ag.Variable(1.0, name="y")
        check_topological_order(topological_sort, "Exercise 6")
        print("x (x + y)^2:", [op.label() for op in topological_sort(x * (x + y) ** 2)])
        ### BEGIN HIDDEN TESTS
        def chain():  # 120 operations in a row, each step also using x
            x = ag.Variable(0.3)
            y = x
            for _ in range(40):
                y = ag.sin(y) * x + 0.5
            return {"x": x}, y

        def shared():  # one intermediate used by four operations, the same variable twice in one operation
            x = ag.Variable([0.5, 1.5])
            h = ag.exp(x)
            return {"x": x}, (h * h + ag.log(h) - h / 3.0).sum()

        def constants():  # operations on constants only are not part of the graph
            x = ag.Variable(1.2)
            c = ag.constant(2.0)
            return {"x": x}, ag.exp(c * c) * x + ag.sin(x) * (c + 1.0)

        def leaf():  # no operation at all
            x = ag.Variable([1.0, 2.0])
            return {"x": x}, x

        def two_outputs_meet():  # two branches, each reused, meeting in a sum
            a, b = ag.Variable(0.4), ag.Variable(-0.8)
            u, v = a * b, ag.tanh(a + b)
            w = u * v + v / (1.0 + u * u)
            return {"a": a, "b": b}, w * w - u

        check_topological_order(topological_sort, "Exercise 6", graphs=[
            ("a chain of 120 operations", chain), ("exp(x) used four times", shared),
            ("with constants", constants), ("a leaf", leaf), ("two reused branches", two_outputs_meet)])
        ### END HIDDEN TESTS
        """, id="ex6-tests", points=14),
    ]


def exercise_7():
    """Exercise 7: the reverse-mode driver, and accumulation across passes."""
    return [
        markdown("""
        ## Exercise 7: the reverse-mode driver (22 points)

        Write `backpropagate(output)` for a scalar `output`: it sets, for every Variable $v$ that `output`
        depends on, `v.grad` to $\\partial\\, \\text{output} / \\partial v$ (an array shaped like `v.value`).

        1. Seed: the gradient of `output` with respect to itself is 1 (`np.ones_like(output.value)`).
        2. Walk the operations of `ag.topological_order(output)` (the reference version of Exercise 6)
           **in reverse**. For each `operation`, look up the gradient of its output `operation.output`,
           call `operation.backward(that_gradient)`, and pair the returned gradients with
           `operation.inputs`.
        3. A Variable used by several operations (or twice by one, as in `x * x`) receives the **sum** of
           the contributions: keep the gradients in a dict `{variable: gradient}` and **add** to an entry
           that is already there. Skip a gradient that is `None` and inputs that are constants
           (`variable.requires_grad` is False).
        4. Finally, for every Variable with `requires_grad`, **add** its gradient to `variable.grad`
           (`None` means zero). Like PyTorch, gradients accumulate across backward passes until someone
           resets `v.grad = None`.

        The operations are `mini_autograd`'s reference ones (`x * y` builds an `ag.ops.Multiply`), so only
        your driver is tested. The notes' examples: for $f(x, y) = x(x + y)^2$ at $(2, 1)$,
        $\\partial f/\\partial x = (x+y)^2 + 2x(x+y) = 21$ (the two uses of $x$ add up) and
        $\\partial f / \\partial y = 12$; for $g(f(X, h(Z, W)))$ with $g(K) = K^2$, $f(X, Y) = XY$,
        $h(Z, W) = Z + W$ at $(2, 2, 3)$, $\\partial / \\partial W = 2X^2(Z + W) = 40$.
        """, id="ex7-text"),
        solution("""
        def backpropagate(output):
            ### BEGIN SOLUTION
            grads = {output: np.ones_like(output.value)}
            for operation in reversed(ag.topological_order(output)):
                grad_output = grads.get(operation.output)
                if grad_output is None:
                    continue
                input_grads = operation.backward(grad_output)
                for variable, grad in zip(operation.inputs, input_grads):
                    if grad is None or not variable.requires_grad:
                        continue
                    if variable in grads:
                        grads[variable] = grads[variable] + grad
                    else:
                        grads[variable] = grad
            for variable, grad in grads.items():
                if variable.requires_grad:
                    variable.grad = grad if variable.grad is None else variable.grad + grad
            ### END SOLUTION
        """, id="ex7-solution"),
        tests("""
        check_backpropagation(backpropagate, "Exercise 7")
        x, y = ag.Variable(2.0), ag.Variable(1.0)
        backpropagate(x * (x + y) ** 2)
        check_values(x.grad, 21.0, "Exercise 7", "x.grad for x (x + y)^2 at (2, 1)")
        check_values(y.grad, 12.0, "Exercise 7", "y.grad for x (x + y)^2 at (2, 1)")
        X, Z, W = ag.Variable(2.0), ag.Variable(2.0), ag.Variable(3.0)
        backpropagate((X * (Z + W)) ** 2)
        check_values(W.grad, 40.0, "Exercise 7", "W.grad for g(f(X, h(Z, W))) at (2, 2, 3)")
        ### BEGIN HIDDEN TESTS
        def square():  # the same variable twice in one operation
            x = ag.Variable([0.5, -1.2, 2.0])
            return {"x": x}, (x * x).sum()

        def many_uses():  # one leaf used by five operations
            x = ag.Variable(0.8)
            return {"x": x}, x * ag.sin(x) + ag.exp(x) / (1.0 + x) - x**3

        def layer():  # broadcasting: a bias of shape (2,) added to a batch of shape (5, 2)
            rng = np.random.default_rng(9)
            W, b = ag.Variable(rng.normal(size=(3, 2))), ag.Variable(rng.normal(size=2))
            X = rng.normal(size=(5, 3))
            h = ag.sigmoid(X @ W + b)
            return {"W": W, "b": b}, (h * h).mean() + (b * b).sum()

        def deep():  # a chain of 300 operations
            x = ag.Variable(0.1)
            y = x
            for _ in range(100):
                y = ag.tanh(y * 1.1) + x
            return {"x": x}, y

        def constants():  # constants get no gradient; a product of constants is not even recorded
            x = ag.Variable([1.0, 2.0])
            c = ag.constant([3.0, -1.0])
            return {"x": x}, ((x * c + c * c) ** 2).sum()

        check_backpropagation(backpropagate, "Exercise 7", graphs=[
            ("x * x", square), ("x used five times", many_uses), ("sigmoid(X W + b)", layer),
            ("a chain of 300 operations", deep), ("with constants", constants)])
        ### END HIDDEN TESTS
        """, id="ex7-tests", points=16),
        tests("""
        x = ag.Variable(2.0)
        backpropagate(x**2)
        backpropagate(ag.sin(x))
        check_values(x.grad, 2 * 2.0 + np.cos(2.0), "Exercise 7 (accumulation)",
                     "x.grad after backpropagate(x**2) and then backpropagate(sin(x)) (gradients add up, as in PyTorch)")
        ### BEGIN HIDDEN TESTS
        x, y = ag.Variable(2.0), ag.Variable(1.0)
        f = x * (x + y) ** 2
        backpropagate(f)
        backpropagate(f)
        check_values(x.grad, 42.0, "Exercise 7 (accumulation)",
                     "x.grad after two backward passes through the same graph x (x + y)^2 at (2, 1)")
        check_values(y.grad, 24.0, "Exercise 7 (accumulation)",
                     "y.grad after two backward passes through the same graph x (x + y)^2 at (2, 1)")
        v = ag.Variable([1.0, -2.0])
        v.grad = np.array([10.0, 20.0])
        backpropagate((v * v).sum())
        check_values(v.grad, [12.0, 16.0], "Exercise 7 (accumulation)",
                     "v.grad that held [10, 20] before backpropagate((v * v).sum()) at v = [1, -2]")
        ### END HIDDEN TESTS
        """, id="ex7-accumulate-tests", points=6),
    ]


def exercise_8():
    """Exercise 8: drawing the graph (not graded)."""
    return [
        markdown("""
        ## Exercise 8: draw your graph (not graded)

        `ag.draw(output, show_values=True, show_grads=True, highlight=[...])` returns a Graphviz drawing of
        the graph behind `output`: variable nodes as ellipses (name, shape, value, gradient), operation
        nodes as boxes, an edge label `0`/`1` for the input position. Variables can be named with
        `v.name = "..."`.

        Build the notes' $g(f(X, h(Z, W)))$ at $X = 2, Z = 2, W = 3$ with **your** operations (`Add` for
        $h$, `Multiply` for $f$, `Power` with exponent 2 for $g$), name the variables, run **your**
        `backpropagate`, and return the drawing with $W$ highlighted. Check that the picture is bipartite
        and that $W$'s gradient is 40. Then try other functions: $x(x+y)^2$, where $x$ has two outgoing
        edges, or the lecture's $\\sqrt{x^2 + e^{x^2}} + \\cos(x^2 + e^{x^2})$.
        """, id="ex8-text"),
        solution("""
        def nested_example_graph():
            ### BEGIN SOLUTION
            X, Z, W = ag.Variable(2.0, name="X"), ag.Variable(2.0, name="Z"), ag.Variable(3.0, name="W")
            Y = Add()(Z, W)
            Y.name = "Y = h(Z, W)"
            K = Multiply()(X, Y)
            K.name = "K = f(X, Y)"
            G = Power()(K, 2.0)
            G.name = "g(K)"
            backpropagate(G)
            return ag.draw(G, highlight=[W])
            ### END SOLUTION


        nested_example_graph()
        """, id="ex8-solution"),
        scratch("""
        # Your experiments: draw other graphs here (not graded).
        """),
    ]


def outro():
    """What the assignment built, and what comes next."""
    return [
        markdown("""
        You have now written every piece of a reverse-mode autodiff engine: local operation nodes, the
        order to visit them in, and the driver that chains their vector-Jacobian products and adds the
        contributions of reused variables. `mini_autograd`'s `Variable.backward()` is this same loop.
        The next assignment moves from elementwise operations to matrices: matrix products, einsum and
        batched derivatives.
        """, id="outro"),
    ]


def build():
    """The notebook, exercise by exercise: this function is its table of contents."""
    return notebook([*introduction(), *operation_nodes(), *exercise_1(), *exercise_2(), *exercise_3(),
                     *exercise_4(), *exercise_5(), *exercise_6(), *exercise_7(), *exercise_8(), *outro()])
