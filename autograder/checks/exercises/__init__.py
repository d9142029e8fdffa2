"""What the test cells of each assignment call, one module per assignment.

A test cell stays short: it names the function under test, the cases and the exercise. What it
needs besides the general checks (``autograder.checks``) lives here, in the module of its
assignment: the known mistakes of each exercise, as ``core.Mistake`` (a description and the
candidate that makes it), and the small adapters that turn a student's function into what a
general check calls. Hidden cases stay in the hidden part of the test cells: everything here is
what students may read (their setup cell imports it).

The setup cell binds a module to a name (``from autograder.checks.exercises import a02_backprop as
known``), so the notebook watch protects the name and the snapshot protects its contents.
"""

from . import references, a01_derivatives, a02_backprop, a03_einsum, a04_mlp, a05_forward_mode  # noqa: F401
