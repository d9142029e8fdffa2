"""Interactive widgets for the lectures (ipywidgets + matplotlib + Graphviz).

    from course.widgets import BackwardStepper, StepSizeExplorer, TrainingDashboard

* ``BackwardStepper(output)``: step through a backward pass, Operation by Operation
  (logic without widgets: ``BackwardPass``).
* ``StepSizeExplorer()``: the error of forward / backward / central differences against the step h
  (logic: ``StepSizeModel``).
* ``TrainingDashboard("spirals")``: train a small MLP with SGD and watch the loss
  (logic: ``Trainer``; ``dashboard.run(steps)`` trains without pressing anything).

Names are imported on first use, so ``import course.widgets`` stays cheap and a widget module
that needs something missing does not break the others. Other widget modules of this package
(e.g. ``course.widgets.universal_approximation``) are imported by their module name.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BackwardPass": "backward_stepper",
    "BackwardStepper": "backward_stepper",
    "Step": "backward_stepper",
    "StepSizeModel": "step_size",
    "StepSizeExplorer": "step_size",
    "Trainer": "training_dashboard",
    "TrainingDashboard": "training_dashboard",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
