"""autograder: how students' work is judged.

In the notebook, test cells call the checks in ``autograder.checks``; they compare the
student's code with references and finite differences and raise CheckFailed with feedback
that teaches. Importing this package (in the locked setup cell, before any student code)
snapshots numpy, builtins, mini_autograd and the checks, so tampering is detected.
"""

from . import integrity

integrity.install()

from .checks import (  # noqa: E402
    check_backpropagation, check_between, check_function, check_operation, check_topological_order, check_values, check_vjp,
    example_graphs,
)
from .feedback import CheckFailed  # noqa: E402
from .integrity import TamperingDetected  # noqa: E402

__all__ = [
    "check_backpropagation", "check_between", "check_function", "check_operation", "check_topological_order", "check_values",
    "check_vjp", "example_graphs", "CheckFailed", "TamperingDetected",
]
