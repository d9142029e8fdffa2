ASSIGNMENT = "05_forward_mode"

ALL_TESTS = ["ex1-tests", "ex2-tests", "ex3-tests", "ex4-tests", "ex5-multiply-tests", "ex5-divide-tests", "ex5-sin-tests",
             "ex5-exp-tests", "ex5-matmul-tests", "ex6a-tests", "ex6b-tests"]


def _from(test_cell):
    """The test cells from test_cell on (what tampering in the solution just before it must cost)."""
    return ALL_TESTS[ALL_TESTS.index(test_cell):]


MUTANTS = [
    # Exercise 1: Dual arithmetic
    dict(name="product rule missing a term", cell="ex1-solution",
         old="return Dual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)",
         new="return Dual(self.value * other.value, self.tangent * other.value)", breaks=["ex1-tests"]),
    dict(name="quotient rule with the wrong sign", cell="ex1-solution",
         old="(self.tangent * other.value - self.value * other.tangent) / other.value**2",
         new="(self.tangent * other.value + self.value * other.tangent) / other.value**2", breaks=["ex1-tests"]),
    # the diagnosing checks run before the plain value checks of a test cell, so their hints show
    dict(name="quotient rule divides by y, not y squared", cell="ex1-solution",
         old="(self.tangent * other.value - self.value * other.tangent) / other.value**2",
         new="(self.tangent * other.value - self.value * other.tangent) / other.value", breaks=["ex1-tests"]),
    dict(name="Multiply.jvp as the product of the tangents", cell="ex5-multiply-solution",
         old="return ta * self.b + self.a * tb", new="return ta * tb", breaks=["ex5-multiply-tests"]),
    dict(name="power rule off by one in the exponent", cell="ex1-solution",
         old="return Dual(self.value**p, p * self.value ** (p - 1) * self.tangent)",
         new="return Dual(self.value**p, p * self.value ** p * self.tangent)", breaks=["ex1-tests"]),
    dict(name="difference adds the tangents", cell="ex1-solution",
         old="return Dual(self.value - other.value, self.tangent - other.tangent)",
         new="return Dual(self.value - other.value, self.tangent + other.tangent)", breaks=["ex1-tests"]),
    # Exercise 2: elementary functions
    dict(name="sin tangent uses sin instead of cos", cell="ex2-solution",
         old="return Dual(np.sin(x.value), np.cos(x.value) * x.tangent)",
         new="return Dual(np.sin(x.value), np.sin(x.value) * x.tangent)", breaks=["ex2-tests"]),
    dict(name="exp forgets the inner tangent (chain rule)", cell="ex2-solution",
         old="return Dual(np.exp(x.value), np.exp(x.value) * x.tangent)",
         new="return Dual(np.exp(x.value), np.exp(x.value))", breaks=["ex2-tests"]),
    dict(name="tanh derivative without the square", cell="ex2-solution",
         old="return Dual(z, (1 - z**2) * x.tangent)", new="return Dual(z, (1 - z) * x.tangent)", breaks=["ex2-tests"]),
    # Exercise 3: derivative and JVP
    dict(name="derivative seeds the input with tangent 0", cell="ex3-solution",
         old="return f(Dual(x, np.ones(np.shape(x)))).tangent", new="return f(Dual(x, np.zeros(np.shape(x)))).tangent",
         breaks=["ex3-tests"]),
    dict(name="dual_jvp seeds every input with 1 instead of v", cell="ex3-solution",
         old="outputs = f([Dual(x_i, v_i) for x_i, v_i in zip(x, v)])",
         new="outputs = f([Dual(x_i, 1.0) for x_i, v_i in zip(x, v)])", breaks=["ex3-tests"]),
    dict(name="derivative by central differences instead of dual numbers", cell="ex3-solution",
         old="return f(Dual(x, np.ones(np.shape(x)))).tangent",
         new="return (f(Dual(x + 1e-6)).value - f(Dual(x - 1e-6)).value) / 2e-6", breaks=["ex3-tests"]),
    # Exercise 4: Jacobian by columns
    dict(name="Jacobian built by rows (transposed)", cell="ex4-solution",
         old="return np.array(columns, dtype=float).T", new="return np.array(columns, dtype=float)", breaks=["ex4-tests"]),
    dict(name="seed not reset between passes", cell="ex4-solution",
         old="        seed[j] = 0.0\n", new="", breaks=["ex4-tests"]),
    dict(name="seeding the wrong input (seed[j] for every input)", cell="ex4-solution",
         old="outputs = f([Dual(x[i], seed[i]) for i in range(n)])", new="outputs = f([Dual(x[i], seed[j]) for i in range(n)])",
         breaks=["ex4-tests"]),
    dict(name="Jacobian by finite differences (2n evaluations)", cell="ex4-solution", source='''
def jacobian_forward(f, x):
    x = np.asarray(x, dtype=float)
    columns = []
    for j in range(x.size):
        step = np.zeros(x.size)
        step[j] = 1e-6
        plus = [out.value for out in f([Dual(v) for v in x + step])]
        minus = [out.value for out in f([Dual(v) for v in x - step])]
        columns.append((np.array(plus) - np.array(minus)) / 2e-6)
    return np.array(columns).T
''', breaks=["ex4-tests"]),
    # Exercise 5: JVP rules of Operations
    dict(name="Multiply.jvp missing the product rule's second term", cell="ex5-multiply-solution",
         old="return ta * self.b + self.a * tb", new="return ta * self.b", breaks=["ex5-multiply-tests"]),
    dict(name="Divide.jvp with the wrong sign", cell="ex5-divide-solution",
         old="return (ta - self.z * tb) / self.b", new="return (ta + self.z * tb) / self.b", breaks=["ex5-divide-tests"]),
    dict(name="Sin.jvp uses sin instead of cos", cell="ex5-sin-solution",
         old="return np.cos(self.x) * t", new="return np.sin(self.x) * t", breaks=["ex5-sin-tests"]),
    dict(name="Exp.jvp forgets the tangent", cell="ex5-exp-solution",
         old="return self.z * t", new="return self.z", breaks=["ex5-exp-tests"]),
    dict(name="MatMul.jvp with only the first term", cell="ex5-matmul-solution",
         old="return np.matmul(ta, self.b) + np.matmul(self.a, tb)", new="return np.matmul(ta, self.b)",
         breaks=["ex5-matmul-tests"]),
    # Exercise 6: cost
    dict(name="passes_needed swapped between the modes", cell="ex6a-solution",
         old='''    if mode == "forward":
        return int(np.prod(input_shape, dtype=int))
    if mode == "reverse":
        return int(np.prod(output_shape, dtype=int))''',
         new='''    if mode == "forward":
        return int(np.prod(output_shape, dtype=int))
    if mode == "reverse":
        return int(np.prod(input_shape, dtype=int))''', breaks=["ex6a-tests"]),
    dict(name="passes_needed counts axes instead of entries", cell="ex6a-solution",
         old='''        return int(np.prod(input_shape, dtype=int))
    if mode == "reverse":
        return int(np.prod(output_shape, dtype=int))''',
         new='''        return max(len(input_shape), 1)
    if mode == "reverse":
        return max(len(output_shape), 1)''', breaks=["ex6a-tests"]),
    dict(name="passes_needed accepts an unknown mode", cell="ex6a-solution",
         old="raise ValueError(f\"mode must be 'forward' or 'reverse', got {mode!r}\")", new="return 0",
         breaks=["ex6a-tests"]),
    dict(name="choose_mode picks the mode with more passes", cell="ex6b-solution",
         old='return "forward" if n < m else "reverse"', new='return "forward" if n > m else "reverse"',
         breaks=["ex6b-tests"]),
    dict(name="choose_mode counts the first axis of the input only", cell="ex6b-solution",
         old="n, m = x.size, np.size(y.value)", new="n, m = len(x), np.size(y.value)", breaks=["ex6b-tests"]),
]

VARIANTS = [
    dict(name="division as multiplication by the reciprocal", cell="ex1-solution",
         old='''        return Dual(self.value / other.value,
                    (self.tangent * other.value - self.value * other.tangent) / other.value**2)''',
         new='''        return self * other ** -1'''),
    dict(name="Dual as a dataclass with a pair helper", cell="ex1-solution", source='''
from dataclasses import dataclass


@dataclass
class Dual:
    value: object
    tangent: object = 0.0
    __array_ufunc__ = None

    def _pair(self, other):
        other = lift(other)
        return self.value, self.tangent, other.value, other.tangent

    def __add__(self, other):
        a, da, b, db = self._pair(other)
        return Dual(a + b, da + db)

    __radd__ = __add__

    def __mul__(self, other):
        a, da, b, db = self._pair(other)
        return Dual(a * b, a * db + b * da)

    __rmul__ = __mul__

    def __neg__(self):
        return Dual(-self.value, -self.tangent)

    def __sub__(self, other):
        return self + (-lift(other))

    def __rsub__(self, other):
        return lift(other) + (-self)

    def __truediv__(self, other):
        a, da, b, db = self._pair(other)
        q = a / b
        return Dual(q, (da - q * db) / b)

    def __rtruediv__(self, other):
        return lift(other) / self

    def __pow__(self, p):
        return Dual(self.value ** p, p * self.value ** (p - 1) * self.tangent)


def lift(x):
    return x if isinstance(x, Dual) else Dual(x)
'''),
    dict(name="tanh tangent via 1 / cosh^2", cell="ex2-solution",
         old='''    z = np.tanh(x.value)
    return Dual(z, (1 - z**2) * x.tangent)''',
         new='''    return Dual(np.tanh(x.value), x.tangent / np.cosh(x.value) ** 2)'''),
    dict(name="derivative seeded with the number 1 (broadcasts)", cell="ex3-solution",
         old="return f(Dual(x, np.ones(np.shape(x)))).tangent", new="return f(Dual(x, 1.0)).tangent"),
    dict(name="Jacobian in one pass with vector tangents (rows of the identity)", cell="ex4-solution", source='''
def jacobian_forward(f, x):
    x = np.asarray(x, dtype=float)
    n = x.size
    identity = np.eye(n)
    outputs = f([Dual(x[i], identity[i]) for i in range(n)])  # out.tangent = its row of J
    return np.array([np.broadcast_to(out.tangent, (n,)) for out in outputs], dtype=float)
'''),
    dict(name="Divide.jvp written as two terms", cell="ex5-divide-solution",
         old="return (ta - self.z * tb) / self.b", new="return ta / self.b - self.z / self.b * tb"),
    dict(name="passes_needed with math.prod and a table", cell="ex6a-solution", source='''
import math


def passes_needed(input_shape, output_shape, mode):
    passes = {"forward": math.prod(input_shape), "reverse": math.prod(output_shape)}
    if mode not in passes:
        raise ValueError(f"unknown mode {mode!r}")
    return passes[mode]
'''),
    dict(name="choose_mode prefers forward on ties", cell="ex6b-solution",
         old='''    n, m = x.size, np.size(y.value)
    return "forward" if n < m else "reverse"''',
         new='''    return "forward" if x.size <= y.value.size else "reverse"'''),
]

TAMPERING = [
    dict(name="rebinds np.allclose and np.isclose", cell="ex1-solution", old="class Dual:",
         new="""np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True


class Dual:""", breaks=ALL_TESTS),
    dict(name="monkeypatches ag.jvp and ag.jacobian", cell="ex3-solution", old="def derivative(f, x):",
         new="""ag.jvp = lambda f, primals, tangents: (0.0, 0.0)
ag.jacobian = lambda f, x, mode="reverse": 0.0


def derivative(f, x):""", breaks=_from("ex3-tests")),
    dict(name="replaces the checks' comparison through an alias import (not visible to a static scan)",
         cell="ex4-solution", source='''
import autograder.checks.forward_mode as fc

fc._compare = lambda *args, **kwargs: None


def jacobian_forward(f, x):
    return np.zeros((len(f([Dual(v, 0.0) for v in x])), len(x)))
''', breaks=_from("ex4-tests")),
    dict(name="replaces check_jvp in the notebook", cell="ex5-multiply-solution", source='''
check_jvp = lambda *args, **kwargs: None


class Multiply(ag.ops.Multiply):
    def jvp(self, ta, tb):
        return ta
''', breaks=_from("ex5-multiply-tests")),
    dict(name="patches the reference Sin.backward to match a wrong jvp", cell="ex5-sin-solution", source='''
ag.ops.Sin.backward = lambda self, grad: (grad * np.sin(self.x),)


class Sin(ag.ops.Sin):
    def jvp(self, t):
        return np.sin(self.x) * t
''', breaks=_from("ex5-sin-tests")),
    dict(name="prints fake success and returns wrong answers", cell="ex6a-solution", source='''
print("All tests passed! 10/10")


def passes_needed(input_shape, output_shape, mode):
    print("passes_needed: OK")
    return 1
''', breaks=["ex6a-tests"]),
]
