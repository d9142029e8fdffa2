"""The two halves of tamper detection, outside nbgrader: the static scan of student code and
the in-process integrity check."""

import numpy as np
import pytest

import autograder.checks
from autograder.checks import integrity
from autograder.grading.tamper_scan import scan_source

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
    "from autograder.checks import check_values",
    "import autograder.checks.gradients as c\nc.worst_mismatch = lambda *a, **k: None",
    "from autograder.checks import messages\nmessages.likely_cause = None",
    "def f():\n    global check_values\n    check_values = print",
    "import sys\nsys.setprofile(None)",
    # IPython's and the interpreter's machinery (issue 8, class 3)
    "get_ipython().input_transformers_post.append(lambda lines: ['pass'])",
    "ip = get_ipython()",
    "shell.input_transformers_cleanup.append(f)",
    "shell.ast_transformers.append(Dropper())",
    "shell.set_custom_exc((Exception,), handler)",
    "type(shell)._showtraceback = lambda *a: None",
    "import sys\nsys.excepthook = print",
    "import sys\nsys.displayhook = print",
    "import sys\nsys.meta_path.insert(0, Finder())",
    "import sys\nsys.settrace(tracer)",
    "import sys\nsys.addaudithook(hook)",
    "import threading\nthreading.settrace(tracer)",
    "import IPython",
    "from IPython import get_ipython",
    "from IPython.core.interactiveshell import InteractiveShell",
    "import linecache\nprint(linecache.cache)",
    "print(In[-1])",
    "print(_ih[-1])",
    "print(_i3)",
    "import sys\nprint(sys._getframe(1).f_locals)",
    "def f():\n    import sys\n    return sys._getframe().f_back",
    "try:\n    1 / 0\nexcept Exception as e:\n    frame = e.__traceback__.tb_frame",
    "g = check_values.__globals__",
    "object.__subclasses__()",
    "getattr(sys, '_get' + 'frame')",
    "%config InteractiveShell.ast_node_interactivity = 'none'",
    "%load_ext evil",
    "%run /tmp/evil.py",
    "%%capture\nx = 1",
    "%%javascript\nalert(1)",
    "%timeit np.allclose = None",
    "%%time\nnp.allclose = lambda *a, **k: True",
    "import __main__ as m\nprint(m.In[-1])",
    "import traceback\nframe = traceback.sys._getframe(1)",
    "import pydoc\nstack = pydoc.inspect.stack()",
    "import traceback\nlines = traceback.linecache.getlines('x')",
    "getattr(frame, 'f_' + 'back')",
    "getattr(frame, 'f_back')",
    "getattr(shell, f'{prefix}transformers_post')",
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
    "%timeit forward_pass(1.0)",
    "%%time\nresult = [forward_pass(x) for x in range(3)]",
    "!ls",
    "files = !ls",
    "import traceback\ntraceback.print_exc()",
    "from IPython.display import HTML, Markdown, Image, display",
    "import IPython.display",
    "value = getattr(layer, name)",
    "setattr(self, 'weight', w)",
])
def test_honest_code_is_not_flagged(source):
    assert findings(source) == []


def test_integrity_check_catches_and_names_rebinding():
    integrity.verify("Exercise 0")  # the test process has not tampered with anything
    original = np.allclose
    try:
        np.allclose = lambda *args, **kwargs: True
        with pytest.raises(autograder.checks.TamperingDetected, match=r"Exercise 9.*np\.allclose.*scores 0"):
            autograder.checks.check_values([1.0], [2.0], "Exercise 9")
    finally:
        np.allclose = original
    integrity.verify("Exercise 0")


def test_checks_use_their_own_references():
    """Even with the integrity check silenced, a rebound np.allclose does not change a verdict."""
    original = np.allclose
    try:
        np.allclose = lambda *args, **kwargs: True
        with pytest.raises(AssertionError):
            autograder.checks.check_values([1.0, 2.0], [1.0, 3.0], "Exercise 9")
    finally:
        np.allclose = original


def test_class_patching_is_detected():
    import mini_autograd as ag

    original = ag.ops.Multiply.backward
    try:
        ag.ops.Multiply.backward = lambda self, grad: (grad, grad)
        with pytest.raises(autograder.checks.TamperingDetected, match="Multiply.backward"):
            integrity.verify("Exercise 2")
    finally:
        ag.ops.Multiply.backward = original
    integrity.verify("Exercise 2")


def test_the_grader_never_takes_the_in_kernel_snapshot():
    """autograder.grading (engine, executor, preprocessors) imports nothing of autograder.checks, whose
    import snapshots numpy and installs IPython hooks: that belongs in a student's kernel only."""
    import subprocess
    import sys
    program = ("import sys\n"
               "import autograder.grading.engine, autograder.grading.sandboxed_execute, autograder.grading.feedback_scrub\n"
               "import autograder.grading.lock_to_source, autograder.grading.tamper_scan, autograder.grading.sanitize\n"
               "import course.cli\n"
               "print(sorted(m for m in sys.modules if m.startswith('autograder.checks')))")
    printed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == "[]"


def test_a_released_notebook_protects_what_its_setup_imports():
    """scan_notebook reads the locked cells' imports (and only theirs) on a real release notebook."""
    import nbformat

    from autograder.grading.tamper_scan import scan_notebook

    nb = nbformat.read("release/01_derivatives/01_derivatives.ipynb", as_version=4)
    assert scan_notebook(nb) == []      # the release as handed out is clean
    student = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                   and not c.metadata.get("nbgrader", {}).get("locked"))
    setup = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("locked") and "import" in c.source)
    imported = next(line.split(" as ")[-1].strip() for line in setup.splitlines() if line.startswith("import ") and " as " in line)
    nb.cells[student].source += f"\n{imported} = None\n"
    [(position, finding)] = scan_notebook(nb)
    assert position == student and f"'{imported}', which the notebook's setup imported" in finding.what
