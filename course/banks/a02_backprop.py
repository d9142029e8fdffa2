"""Assignment 2 (backpropagation): mutants, correct variants and tampering attempts.

Format: see course/banks/__init__.py. ``old``/``new`` match the dedented cell source exactly.
"""
ASSIGNMENT = "02_backprop"

LATER_THAN_EX2 = ["ex2-add-multiply-tests", "ex2-divide-tests", "ex3-tests", "ex4-tests", "ex5-trig-tests",
                  "ex5-activation-tests", "ex6-tests", "ex7-tests", "ex7-accumulate-tests"]

MUTANTS = [
    # Exercise 1: sum_to_shape
    dict(name="sum_to_shape drops the size-1 axes (no keepdims)", cell="ex1-solution",
         old="grad = grad.sum(axis=stretched, keepdims=True)", new="grad = grad.sum(axis=stretched)",
         breaks=["ex1-tests"]),
    dict(name="sum_to_shape only handles missing leading axes", cell="ex1-solution",
         old="""    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
""", new="", breaks=["ex1-tests"]),
    # Exercise 2: Add, Multiply, Divide
    dict(name="Multiply forgets to unbroadcast", cell="ex2-solution",
         old="""        grad_b = grad * self.a
        return ag.unbroadcast(grad_a, np.shape(self.a)), ag.unbroadcast(grad_b, np.shape(self.b))""",
         new="""        grad_b = grad * self.a
        return grad_a, grad_b""",
         breaks=["ex2-add-multiply-tests"]),
    dict(name="Add returns a bare array instead of a tuple for its two inputs", cell="ex2-solution",
         old="return ag.unbroadcast(grad, self.a_shape), ag.unbroadcast(grad, self.b_shape)", new="return grad",
         breaks=["ex2-add-multiply-tests"]),
    dict(name="Multiply returns the local derivatives only (forgets grad)", cell="ex2-solution",
         old="""        grad_a = grad * self.b
        grad_b = grad * self.a""",
         new="""        grad_a = self.b
        grad_b = self.a""",
         breaks=["ex2-add-multiply-tests"]),
    dict(name="Divide: d(a/b)/db without the minus sign", cell="ex2-solution",
         old="grad_b = -grad * self.a / self.b**2", new="grad_b = grad * self.a / self.b**2",
         breaks=["ex2-divide-tests"]),
    dict(name="Divide: d(a/b)/db = -a/b (square forgotten)", cell="ex2-solution",
         old="grad_b = -grad * self.a / self.b**2", new="grad_b = -grad * self.a / self.b",
         breaks=["ex2-divide-tests"]),
    # Exercise 3: Power
    dict(name="power rule off by one (b * a**b)", cell="ex3-solution",
         old="grad_a = grad * self.b * self.a ** (self.b - 1)", new="grad_a = grad * self.b * self.a ** self.b",
         breaks=["ex3-tests"]),
    dict(name="exponent gradient without log(a)", cell="ex3-solution",
         old="grad_b = grad * self.z * np.log(self.a)", new="grad_b = grad * self.z",
         breaks=["ex3-tests"]),
    dict(name="Power forward as exp(b log a): fails for negative bases (hidden test)", cell="ex3-solution",
         old="self.z = a**b", new="self.z = np.exp(b * np.log(a))",
         breaks=["ex3-tests"]),
    # Exercise 4: Exp, Log, Sqrt
    dict(name="log derivative 1/x**2", cell="ex4-solution",
         old="return (grad / self.x,)", new="return (grad / self.x**2,)", breaks=["ex4-tests"]),
    dict(name="sqrt derivative without the 1/2", cell="ex4-solution",
         old="return (grad / (2 * self.z),)", new="return (grad / self.z,)", breaks=["ex4-tests"]),
    dict(name="Exp forward turns float32 into float64", cell="ex4-solution",
         old="self.z = np.exp(x)", new="self.z = np.exp(np.asarray(x, dtype=float))", breaks=["ex4-tests"]),
    # Exercise 5: trigonometric functions and activations
    dict(name="cos derivative without the minus sign", cell="ex5-solution",
         old="return (-grad * np.sin(self.x),)", new="return (grad * np.sin(self.x),)", breaks=["ex5-trig-tests"]),
    dict(name="sigmoid derivative s instead of s(1 - s)", cell="ex5-solution",
         old="return (grad * self.z * (1 - self.z),)", new="return (grad * self.z,)", breaks=["ex5-activation-tests"]),
    dict(name="ReLU derivative on the wrong side (x < 0)", cell="ex5-solution",
         old="self.positive = x > 0", new="self.positive = x < 0", breaks=["ex5-activation-tests"]),
    # the operation checks compare the arrays forward and backward were given, not copies of them
    dict(name="ReLU forward zeroes its input in place (x *= x > 0)", cell="ex5-solution",
         old="""        self.positive = x > 0
        return np.maximum(x, 0)""", new="""        self.positive = x > 0
        x *= self.positive
        return x""", breaks=["ex5-activation-tests"]),
    dict(name="ReLU backward zeroes grad in place (grad[~positive] = 0)", cell="ex5-solution",
         old="return (grad * self.positive,)", new="""grad[~self.positive] = 0
        return (grad,)""", breaks=["ex5-activation-tests"]),
    dict(name="tanh derivative 1 - tanh(x) without the square", cell="ex5-solution",
         old="return (grad * (1 - self.z**2),)", new="return (grad * (1 - self.z),)", breaks=["ex5-activation-tests"]),
    # Exercise 6: topological order
    dict(name="topological order in pre-order (an operation before its inputs)", cell="ex6-solution", source='''
def topological_sort(output):
    order, visited = [], set()

    def visit(operation):
        if operation is None or operation in visited:
            return
        visited.add(operation)
        order.append(operation)
        for variable in operation.inputs:
            visit(variable.producer)

    visit(output.producer)
    return order
''', breaks=["ex6-tests"]),
    dict(name="topological order without a visited set (duplicates)", cell="ex6-solution", source='''
def topological_sort(output):
    order = []

    def visit(operation):
        if operation is None:
            return
        for variable in operation.inputs:
            visit(variable.producer)
        order.append(operation)

    visit(output.producer)
    return order
''', breaks=["ex6-tests"]),
    dict(name="topological order returned outputs first (forgot it must be reversed later, not now)",
         cell="ex6-solution", old="    return order\n    ### END SOLUTION", new="    return order[::-1]\n    ### END SOLUTION",
         breaks=["ex6-tests"]),
    # Exercise 7: the driver
    dict(name="driver overwrites instead of accumulating a reused variable", cell="ex7-solution",
         old="grads[variable] = grads[variable] + grad", new="grads[variable] = grad",
         breaks=["ex7-tests", "ex7-accumulate-tests"]),
    dict(name="driver hands every operation ones instead of its output's gradient", cell="ex7-solution",
         old="input_grads = operation.backward(grad_output)",
         new="input_grads = operation.backward(np.ones_like(grad_output))",
         breaks=["ex7-tests", "ex7-accumulate-tests"]),
    dict(name="driver walks the topological order forwards", cell="ex7-solution",
         old="for operation in reversed(ag.topological_order(output)):",
         new="for operation in ag.topological_order(output):",
         breaks=["ex7-tests", "ex7-accumulate-tests"]),
    dict(name="driver overwrites .grad instead of adding across backward passes", cell="ex7-solution",
         old="variable.grad = grad if variable.grad is None else variable.grad + grad", new="variable.grad = grad",
         breaks=["ex7-accumulate-tests"]),
    dict(name="driver keeps intermediate gradients in .grad and never resets them", cell="ex7-solution", source='''
def backpropagate(output):
    seed = np.ones_like(output.value)
    output.grad = seed if output.grad is None else output.grad + seed
    for operation in reversed(ag.topological_order(output)):
        grad_output = operation.output.grad
        if grad_output is None:
            continue
        for variable, grad in zip(operation.inputs, operation.backward(grad_output)):
            if grad is None or not variable.requires_grad:
                continue
            variable.grad = grad if variable.grad is None else variable.grad + grad
''', breaks=["ex7-accumulate-tests"]),
]

VARIANTS = [
    dict(name="sum_to_shape with a loop over axes", cell="ex1-solution", source='''
def sum_to_shape(grad, shape):
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
'''),
    dict(name="Multiply reads its inputs from self.inputs", cell="ex2-solution",
         old='''        self.a, self.b = a, b
        return a * b
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        grad_a = grad * self.b
        grad_b = grad * self.a
        return ag.unbroadcast(grad_a, np.shape(self.a)), ag.unbroadcast(grad_b, np.shape(self.b))''',
         new='''        return np.multiply(a, b)
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        a, b = self.inputs
        return ag.unbroadcast(grad * b.value, a.shape), ag.unbroadcast(grad * a.value, b.shape)'''),
    dict(name="Divide as a * b**-1 (product rule and power rule)", cell="ex2-solution",
         old='''        self.a, self.b = a, b
        return a / b
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        grad_a = grad / self.b
        grad_b = -grad * self.a / self.b**2
        return ag.unbroadcast(grad_a, np.shape(self.a)), ag.unbroadcast(grad_b, np.shape(self.b))''',
         new='''        self.a, self.inverse = a, b**-1.0
        self.shapes = np.shape(a), np.shape(b)
        return a * self.inverse
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        grad_a = grad * self.inverse
        grad_b = grad * self.a * (-1.0) * self.inverse**2
        return ag.unbroadcast(grad_a, self.shapes[0]), ag.unbroadcast(grad_b, self.shapes[1])'''),
    dict(name="Power backward via z * log(a) and z * b / a", cell="ex3-solution",
         old="grad_a = grad * self.b * self.a ** (self.b - 1)", new="grad_a = grad * self.z * self.b / self.a"),
    dict(name="sigmoid via the tanh identity", cell="ex5-solution",
         old='''        self.z = 1 / (1 + np.exp(-x))
        return self.z
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return (grad * self.z * (1 - self.z),)''',
         new='''        self.t = np.tanh(x / 2)  # sigmoid(x) = (1 + tanh(x/2)) / 2
        return (1 + self.t) / 2
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return (grad * (1 - self.t**2) / 4,)'''),
    dict(name="tanh backward via 1/cosh^2", cell="ex5-solution",
         old='''        self.z = np.tanh(x)
        return self.z
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return (grad * (1 - self.z**2),)''',
         new='''        self.x = x
        return np.tanh(x)
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return (grad / np.cosh(self.x) ** 2,)'''),
    dict(name="ReLU with np.where, gradient 1 at x = 0", cell="ex5-solution",
         old='''        self.positive = x > 0
        return np.maximum(x, 0)
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return (grad * self.positive,)''',
         new='''        self.x = x
        return np.where(x > 0, x, 0 * x)
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return (np.where(self.x >= 0, grad, 0 * grad),)'''),
    dict(name="recursive topological sort", cell="ex6-solution", source='''
def topological_sort(output):
    order, visited = [], set()

    def visit(operation):
        if operation is None or operation in visited:
            return
        visited.add(operation)
        for variable in operation.inputs:
            visit(variable.producer)
        order.append(operation)

    visit(output.producer)
    return order
'''),
    dict(name="driver stores gradients in .grad, resetting the intermediate ones first", cell="ex7-solution", source='''
def backpropagate(output):
    order = ag.topological_order(output)
    for operation in order:
        operation.output.grad = None  # intermediate gradients start from zero on every pass
    output.grad = np.ones_like(output.value)
    for operation in reversed(order):
        grads = operation.backward(operation.output.grad)
        for variable, grad in zip(operation.inputs, grads):
            if grad is not None and variable.requires_grad:
                variable.grad = grad if variable.grad is None else variable.grad + grad
'''),
]

TAMPERING = [
    dict(name="rebinds np.allclose and np.testing.assert_allclose", cell="ex2-solution", old="class Add(ag.Operation):",
         new="""np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None


class Add(ag.Operation):""", breaks=LATER_THAN_EX2),
    dict(name="monkeypatches the reference Multiply.backward and Variable.__mul__", cell="ex6-solution",
         old="def topological_sort(output):", new="""ag.ops.Multiply.backward = lambda self, grad: (grad, grad)
ag.Variable.__mul__ = lambda self, other: ag.ops.Add()(self, other)


def topological_sort(output):""", breaks=["ex6-tests", "ex7-tests", "ex7-accumulate-tests"]),
    dict(name="replaces the imported check with a no-op and submits a wrong driver", cell="ex7-solution", source='''
check_backpropagation = lambda *args, **kwargs: None
check_values = lambda *args, **kwargs: None


def backpropagate(output):
    pass
''', breaks=["ex7-tests", "ex7-accumulate-tests"]),
    dict(name="prints fake success and returns zero gradients", cell="ex5-solution", source='''
print("Exercise 5: all tests passed (18/18)")


class _Fake(ag.Operation):
    def forward(self, x):
        return np.sin(x)

    def backward(self, grad):
        print("backward OK")
        return (np.zeros_like(grad),)


Sin = Cos = Tanh = Sigmoid = ReLU = _Fake
''', breaks=["ex5-trig-tests", "ex5-activation-tests"]),
]
