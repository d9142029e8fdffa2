"""autograder: how students' work is judged.

In the notebook, test cells call the checks in ``autograder.checks``; they compare the
student's code with references and finite differences and raise CheckFailed with feedback
that teaches. Importing this package (in the locked setup cell, before any student code)
snapshots numpy, builtins, mini_autograd and the checks, so tampering is detected.
"""

import mini_autograd  # noqa: F401 - imported before the snapshot, so that it is part of it

from . import integrity
from .checks import (
    check_backpropagation, check_between, check_function, check_operation, check_topological_order, check_unchanged,
    check_values, check_vjp, example_graphs, reference_functions,
)
from .feedback import CheckFailed
from .integrity import TamperingDetected

__all__ = [
    "check_backpropagation", "check_between", "check_function", "check_operation", "check_topological_order",
    "check_unchanged", "check_values", "check_vjp", "example_graphs", "reference_functions", "CheckFailed",
    "TamperingDetected",
]

# Last, once everything the checks use is imported: take the snapshot.
integrity.install()
