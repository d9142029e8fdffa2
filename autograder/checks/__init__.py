"""autograder.checks: what runs in the student's kernel.

Test cells call these checks; they compare the student's code with references and finite
differences and raise CheckFailed with a message that teaches (``messages``). Importing this
package (in the locked setup cell, before any student code) snapshots numpy, builtins,
mini_autograd and the checks (``integrity``, ``hooks``), so tampering is detected.

- ``gradients``: values, functions, VJPs, operation nodes, the reverse-mode driver, topological order;
- ``forward_mode``: dual numbers, JVPs and forward-mode Jacobians (05_forward_mode);
- ``training``: losses, SGD steps, training runs and accuracy (04_mlp).

Nothing here imports the grader (``autograder.grading``), and the grader never imports this.
"""

import mini_autograd  # noqa: F401 - imported before the snapshot, so that it is part of it

from . import core, integrity  # noqa: F401 - core: what every check is written on
from . import exercises  # noqa: F401 - each assignment's known mistakes and adapters (before the snapshot)
from .gradients import (
    check_backpropagation, check_between, check_function, check_operation, check_topological_order, check_unchanged,
    check_values, check_vjp, example_graphs, reference_functions,
)
from .messages import CheckFailed
from .integrity import TamperingDetected

__all__ = [
    "check_backpropagation", "check_between", "check_function", "check_operation", "check_topological_order",
    "check_unchanged", "check_values", "check_vjp", "example_graphs", "reference_functions", "CheckFailed",
    "TamperingDetected",
]

# Last, once everything the checks use is imported: take the snapshot.
integrity.install()
