ASSIGNMENT = "01_derivatives"

MUTANTS = [
    dict(name="forward difference divided by 2h", cell="ex1-solution",
         old="return (f(x + h) - f(x)) / h", new="return (f(x + h) - f(x)) / (2 * h)", breaks=["ex1-tests"]),
    dict(name="central difference without the 2", cell="ex1-solution",
         old="return (f(x + h) - f(x - h)) / (2 * h)", new="return (f(x + h) - f(x - h)) / h", breaks=["ex1-tests"]),
    dict(name="backward difference sign flipped", cell="ex1-solution",
         old="return (f(x) - f(x - h)) / h", new="return (f(x - h) - f(x)) / h", breaks=["ex1-tests"]),
    dict(name="signed error instead of absolute", cell="ex2-solution",
         old='"central": np.array([abs(fd.central_difference(f, x, h) - exact) for h in hs]),',
         new='"central": np.array([fd.central_difference(f, x, h) - exact for h in hs]),', breaks=["ex2-tests"]),
    dict(name="step size read off the wrong curve", cell="ex2b-solution",
         old="best_central_step = 1e-5", new="best_central_step = 1e-8", breaks=["ex2b-tests"]),
    dict(name="one-sided numerical gradient", cell="ex3-solution",
         old="grad[i] = (f(x + step) - f(x - step)) / (2 * h)", new="grad[i] = (f(x + step) - f(x)) / h",
         breaks=["ex3-gradient-tests"]),
    dict(name="Jacobian transposed (one row per input)", cell="ex3-solution",
         old="return np.stack(columns, axis=1)", new="return np.stack(columns, axis=0)", breaks=["ex3-jacobian-tests"]),
    dict(name="gradient changes x in place", cell="ex3-solution",
         old="""        grad[i] = (f(x + step) - f(x - step)) / (2 * h)""",
         new="""        x += step
        plus = f(x)
        x -= 2 * step
        minus = f(x)
        grad[i] = (plus - minus) / (2 * h)
        x += step * 0.5""",
         breaks=["ex3-gradient-tests"]),
    dict(name="gradient perturbs x in place and never restores it (off by one step)", cell="ex3-solution",
         old="""        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)""",
         new="""        x[i] += h
        plus = f(x)
        x[i] -= 2 * h
        minus = f(x)
        grad[i] = (plus - minus) / (2 * h)""",
         breaks=["ex3-gradient-tests"]),
    # the reverse pass is judged with a reference forward pass: a wrong forward pass costs only its own cell
    dict(name="forward pass c = a * b (the reverse pass uses it)", cell="ex4-solution",
         old="c = a + b", new="c = a * b", breaks=["ex4-forward-tests"]),
    dict(name="reverse pass overwrites da instead of adding", cell="ex4-solution",
         old='da = db * np.exp(v["a"]) + dc * 1.0', new='da = dc * 1.0', breaks=["ex4-reverse-tests"]),
    dict(name="reverse pass forgets the chain factor 2x", cell="ex4-solution",
         old="dx = da * 2 * x", new="dx = da", breaks=["ex4-reverse-tests"]),
    dict(name="forward pass d = c ** 2", cell="ex4-solution",
         old='d = np.sqrt(c)', new='d = c ** 2', breaks=["ex4-forward-tests"]),
    dict(name="quotient rule sign error", cell="ex5-solution",
         old="x / np.log(x) - np.sin(np.log(x)) / (x * z**2)", new="x / np.log(x) + np.sin(np.log(x)) / (x * z**2)",
         breaks=["ex5-tests"]),
]

VARIANTS = [
    dict(name="differences via a shared helper and np.subtract", cell="ex1-solution", source='''
def _quotient(top, bottom):
    return np.subtract(*top) / bottom


def forward_difference(f, x, h):
    return _quotient((f(x + h), f(x)), h)


def backward_difference(f, x, h):
    return _quotient((f(x), f(x - h)), h)


def central_difference(f, x, h):
    return _quotient((f(x + h), f(x - h)), 2 * h)
'''),
    dict(name="gradient via the Jacobian of a scalar function", cell="ex3-solution", source='''
def numerical_jacobian(f, x, h=1e-6):
    x = np.array(x, dtype=float)
    eye = np.eye(x.size) * h
    rows = [(np.atleast_1d(f(x + e)) - np.atleast_1d(f(x - e))) / (2 * h) for e in eye]
    return np.array(rows).T


def numerical_gradient(f, x, h=1e-6):
    return numerical_jacobian(f, x, h)[0]
'''),
    dict(name="reverse pass with a gradient dictionary", cell="ex4-solution", old='''    v = forward_pass(x)
    df = 1.0''', new='''    v = forward_pass(x)
    g = {"f": 1.0}
    g["d"] = g["e"] = g["f"]
    g["c"] = g["d"] * 0.5 / np.sqrt(v["c"]) - g["e"] * np.sin(v["c"])
    g["b"] = g["c"]
    g["a"] = g["c"] + g["b"] * v["b"]
    g["x"] = g["a"] * 2 * x
    return g
    df = 1.0'''),
]

TAMPERING = [
    dict(name="rebinds np.allclose and np.testing", cell="ex1-solution", old="def forward_difference(f, x, h):",
         new="""np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None

def forward_difference(f, x, h):""",
         breaks=["ex1-tests", "ex2-tests", "ex3-gradient-tests", "ex3-jacobian-tests", "ex4-forward-tests",
                 "ex4-reverse-tests", "ex5-tests"]),
    dict(name="replaces the check helper in the notebook", cell="ex3-solution", old="def numerical_gradient(f, x, h=1e-6):",
         new="""check_values = lambda *args, **kwargs: None

def numerical_gradient(f, x, h=1e-6):""",
         breaks=["ex3-gradient-tests", "ex3-jacobian-tests", "ex4-forward-tests", "ex4-reverse-tests", "ex5-tests"]),
    dict(name="prints fake success and returns wrong answers", cell="ex4-solution", source='''
print("All tests passed! 30/30")

def forward_pass(x):
    return {k: 0.0 for k in "abcdef"}

def reverse_pass(x):
    print("reverse_pass: OK")
    return {k: 0.0 for k in ("f", "e", "d", "c", "b", "a", "x")}
''', breaks=["ex4-forward-tests", "ex4-reverse-tests"]),
]
