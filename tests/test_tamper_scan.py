"""The two halves of tamper detection, outside nbgrader: the static scan of student code and
the in-process integrity check."""

import numpy as np
import pytest

import autograder
from autograder import integrity
from autograder.tamper_scan import scan_source

ALIASES = {"np": "numpy", "ag": "mini_autograd", "numpy": "numpy", "mini_autograd": "mini_autograd",
           "autograder": "autograder", "builtins": "builtins", "math": "math", "sys": "sys"}
PROTECTED = {"np", "ag", "check_values", "check_operation"}


def findings(source):
    return [f.what for f in scan_source(source, "cell", ALIASES, PROTECTED)]


@pytest.mark.parametrize("source", [
    "np.allclose = lambda *a, **k: True",
    "np.testing.assert_allclose = print",
    "ag.Variable.__mul__ = lambda self, other: self",
    "ag.ops.Multiply.backward = lambda self, g: (g, g)",
    "setattr(np, 'isclose', lambda *a: True)",
    "del np.allclose",
    "check_values = lambda *a, **k: None",
    "def check_operation(*args, **kwargs):\n    pass",
    "np = FakeNumpy()",
    "import builtins\nbuiltins.abs = lambda x: 0",
    "__builtins__.len = lambda x: 0",
    "globals()['check_values'] = print",
    "exec('np.allclose = lambda *a: True')",
    "get_ipython().events.unregister('pre_run_cell', f)",
    "import sys\nsys.modules['numpy'].allclose = None",
    "import ctypes",
    "%time x = 1\nnp.allclose = None",
    "for check_values in [print]:\n    pass",
    "with open('f') as np:\n    pass",
    "from autograder import check_values",
    "import autograder.checks as c\nc.worst_mismatch = lambda *a, **k: None",
    "from autograder import feedback\nfeedback.likely_cause = None",
    "def f():\n    global check_values\n    check_values = print",
    "import sys\nsys.setprofile(None)",
])
def test_tampering_is_found(source):
    assert findings(source), source


@pytest.mark.parametrize("source", [
    "x = np.array([1.0, 2.0])\ny = np.allclose(x, x)",
    "class Multiply(ag.Operation):\n    def forward(self, a, b):\n        self.a = a\n        return a * b",
    "grad = np.zeros(3)\ngrad[0] += 1\nx.grad = None",
    "np.random.seed(0)\nresult = check_values",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 80",
    "%matplotlib inline\nvalues = {'a': 1}",
    "def numerical_gradient(f, x, h=1e-6):\n    return x",
    "this is not python",
    "def f():\n    np = 3\n    check_values = 4\n    return np + check_values",
    "class Layer:\n    check_values = None",
])
def test_honest_code_is_not_flagged(source):
    assert findings(source) == []


def test_integrity_check_catches_and_names_rebinding():
    integrity.verify("Exercise 0")  # the test process has not tampered with anything
    original = np.allclose
    try:
        np.allclose = lambda *args, **kwargs: True
        with pytest.raises(autograder.TamperingDetected, match=r"Exercise 9.*np\.allclose.*scores 0"):
            autograder.check_values([1.0], [2.0], "Exercise 9")
    finally:
        np.allclose = original
    integrity.verify("Exercise 0")


def test_checks_use_their_own_references():
    """Even with the integrity check silenced, a rebound np.allclose does not change a verdict."""
    original = np.allclose
    try:
        np.allclose = lambda *args, **kwargs: True
        with pytest.raises(AssertionError):
            autograder.check_values([1.0, 2.0], [1.0, 3.0], "Exercise 9")
    finally:
        np.allclose = original


def test_class_patching_is_detected():
    import mini_autograd as ag

    original = ag.ops.Multiply.backward
    try:
        ag.ops.Multiply.backward = lambda self, grad: (grad, grad)
        with pytest.raises(autograder.TamperingDetected, match="Multiply.backward"):
            integrity.verify("Exercise 2")
    finally:
        ag.ops.Multiply.backward = original
    integrity.verify("Exercise 2")
