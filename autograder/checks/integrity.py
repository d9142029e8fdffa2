"""Tamper detection: the checks must not trust a namespace the student can change.

When ``autograder`` is imported (in the notebook's locked setup cell, before any student
code runs) we take a snapshot of everything the checks rely on: the public attributes of
numpy, numpy.testing, numpy.linalg, math, builtins, mini_autograd and autograder (and the
methods of their classes). The checks use references taken at that moment, so a student
who rebinds ``np.allclose`` cannot change their verdict; and every check first compares the
live modules with the snapshot, so tampering is reported and fails the exercise.

The machinery that decides how cells run is watched too (``autograder.checks.hooks``): IPython's input and
AST transformers, exception handlers, event callbacks, display and exception hooks, the shell's and
kernel's methods, and the interpreter's trace, profile, import and display hooks. A hook that runs
code from anywhere but the installed packages is tampering.

In IPython we also watch the notebook's own names: the names the setup cell bound to the
checks, numpy or mini_autograd (``np``, ``ag``, ``check_operation``...) are recorded after
that cell, and before each later cell they are compared with the recording. A change is
logged and the original put back, so the test cells always call the real checks, and
those checks see the log.
"""

from __future__ import annotations

import builtins
import math
import sys
import types

import numpy
import numpy.linalg
import numpy.testing

from .hooks import HookSnapshot

_WATCHED_PREFIXES = ("numpy", "mini_autograd", "autograder", "builtins", "math")
_WATCHED_MODULE_NAMES = ("numpy", "numpy.testing", "numpy.linalg", "builtins", "math")


# Names that legitimately change after the snapshot: our own mutable globals, and the
# builtins that IPython's kernel installs or swaps at every cell.
_MUTABLE_GLOBALS = {
    "autograder.checks.integrity": {"_snapshot", "_watch", "_hooks"},
    "builtins": {"input", "raw_input", "get_ipython", "display", "exit", "quit", "help", "copyright",
                 "credits", "license", "breakpoint"},
}


def _snapshot_module(module: types.ModuleType) -> dict:
    """Public attributes of numpy, builtins and math (their private ones change by themselves:
    IPython sets builtins._ at every cell); all but dunder attributes of our own modules."""
    ours = module.__name__.startswith(("mini_autograd", "autograder"))
    skip = _MUTABLE_GLOBALS.get(module.__name__, set())
    return {name: value for name, value in vars(module).items()
            if not name.startswith("__") and (ours or not name.startswith("_")) and name not in skip}


def _watched_modules() -> dict[str, types.ModuleType]:
    modules = {name: sys.modules[name] for name in _WATCHED_MODULE_NAMES if name in sys.modules}
    for name, module in list(sys.modules.items()):
        if module is not None and (name == "mini_autograd" or name.startswith("mini_autograd.")
                                   or name == "autograder" or name.startswith("autograder.")):
            modules[name] = module
    return modules


def _classes_of(module: types.ModuleType) -> list[type]:
    return [value for value in vars(module).values()
            if isinstance(value, type) and getattr(value, "__module__", "") == module.__name__]


class _Snapshot:
    """Identity of every watched attribute at the time of the snapshot."""

    def __init__(self):
        self.modules = {name: _snapshot_module(m) for name, m in _watched_modules().items()}
        self.classes = {}
        for name, module in _watched_modules().items():
            if name.startswith(("mini_autograd", "autograder")):
                for cls in _classes_of(module):
                    self.classes[cls] = dict(vars(cls))

    def differences(self) -> list[str]:
        """Human-readable names of everything that no longer matches the snapshot."""
        changed = []
        for name, attributes in self.modules.items():
            module = sys.modules.get(name)
            if module is None:
                changed.append(f"the module {name} was removed from sys.modules")
                continue
            current = vars(module)
            for attribute, original in attributes.items():
                if current.get(attribute, _MISSING) is not original:
                    changed.append(f"{_display(name)}.{attribute}")
        for cls, attributes in self.classes.items():
            current = vars(cls)
            for attribute, original in attributes.items():
                if current.get(attribute, _MISSING) is not original:
                    changed.append(f"{cls.__module__}.{cls.__qualname__}.{attribute}")
            for attribute in current:
                if attribute not in attributes:
                    changed.append(f"{cls.__module__}.{cls.__qualname__}.{attribute} (added)")
        return changed

    def restore(self) -> None:
        for name, attributes in self.modules.items():
            module = sys.modules.get(name)
            if module is None:
                continue
            for attribute, original in attributes.items():
                if vars(module).get(attribute, _MISSING) is not original:
                    setattr(module, attribute, original)
        for cls, attributes in self.classes.items():
            for attribute in [a for a in vars(cls) if a not in attributes]:
                delattr(cls, attribute)
            for attribute, original in attributes.items():
                if vars(cls).get(attribute, _MISSING) is not original and attribute not in ("__dict__", "__weakref__"):
                    setattr(cls, attribute, original)


_MISSING = object()


def _display(module_name: str) -> str:
    return {"numpy": "np", "builtins": "builtins"}.get(module_name, module_name)


class _NotebookWatch:
    """Protects the names the setup cell bound in the notebook's namespace (IPython only)."""

    def __init__(self, snapshot: _Snapshot):
        self.snapshot = snapshot
        self.protected: dict[str, object] | None = None
        self.log: list[str] = []
        self.cell_count = 0

    def _is_protected_value(self, value) -> bool:
        if isinstance(value, types.ModuleType):
            return value.__name__.split(".")[0] in ("numpy", "mini_autograd", "autograder")
        module = getattr(value, "__module__", None) or ""
        return module.split(".")[0] in ("mini_autograd", "autograder") and callable(value)

    def post_run_cell(self, result=None) -> None:
        self.cell_count += 1
        if self.protected is None:
            namespace = _user_namespace()
            if namespace is not None:
                self.protected = {name: value for name, value in namespace.items()
                                  if not name.startswith("_") and self._is_protected_value(value)}

    def pre_run_cell(self, info=None) -> None:
        namespace = _user_namespace()
        found = []
        if self.protected is not None and namespace is not None:
            for name, original in self.protected.items():
                if namespace.get(name, _MISSING) is not original:
                    found.append(f"the notebook name '{name}'")
                    namespace[name] = original
        for difference in self.snapshot.differences():
            found.append(difference)
        if found:
            self.log.extend(f"{what} (changed before cell {self.cell_count + 1})" for what in found)
            self.snapshot.restore()


def _user_namespace():
    shell = _ipython()
    return shell.user_ns if shell is not None else None


def _ipython():
    get_ipython = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", None)
    return get_ipython() if get_ipython else None


class TamperingDetected(AssertionError):
    """Raised by a check when numpy, builtins, mini_autograd or the checks were changed."""


_snapshot: _Snapshot | None = None
_watch: _NotebookWatch | None = None
_hooks = None   # HookSnapshot, from autograder.checks.hooks


def install() -> None:
    """Take the snapshot and, inside IPython, start watching the notebook's names.

    Called once when autograder is imported; later calls do nothing.
    """
    global _snapshot, _watch, _hooks
    if _snapshot is not None:
        return
    _snapshot = _Snapshot()
    shell = _ipython()
    if shell is not None:
        _watch = _NotebookWatch(_snapshot)
        shell.events.register("pre_run_cell", _watch.pre_run_cell)
        shell.events.register("post_run_cell", _watch.post_run_cell)
    _hooks = HookSnapshot(shell)


def protect_new_modules() -> None:
    """Add the autograder and mini_autograd modules imported since the snapshot to it (a check
    module imported by a notebook after ``import autograder`` calls this at its end)."""
    if _snapshot is None:
        return
    for name, module in _watched_modules().items():
        if name in _snapshot.modules or not name.startswith(("autograder", "mini_autograd")):
            continue
        _snapshot.modules[name] = _snapshot_module(module)
        for cls in _classes_of(module):
            _snapshot.classes.setdefault(cls, dict(vars(cls)))


def problems() -> list[str]:
    """Everything changed so far: logged by the notebook watch, or visible right now."""
    found = list(_watch.log) if _watch is not None else []
    if _snapshot is not None:
        found.extend(_snapshot.differences())
    if _hooks is not None:
        found.extend(_hooks.differences())
    if _watch is not None:
        shell = _ipython()
        callbacks = shell.events.callbacks if shell is not None else {}
        if _watch.pre_run_cell not in callbacks.get("pre_run_cell", []):
            found.append("the autograder's IPython hooks were removed")
    return list(dict.fromkeys(found))


def report() -> str:
    """'intact', or what was changed: the grader evaluates this after every test cell that passed
    (autograder/grading/executor.py), outside the cell's own code."""
    try:
        found = problems()
    except Exception as error:   # noqa: BLE001 - a broken check is itself a finding
        return f"the integrity check could not run ({type(error).__name__})"
    return "; ".join(found[:8]) if found else "intact"


def verify(exercise: str) -> None:
    """Raise TamperingDetected, naming what changed, if anything did."""
    found = problems()
    if found:
        listed = "; ".join(found[:8]) + (f"; and {len(found) - 8} more" if len(found) > 8 else "")
        raise TamperingDetected(
            f"{exercise}: integrity check failed. This notebook changed what the checks rely on: "
            f"{listed}. Checks cannot trust a notebook that replaces numpy, Python builtins, "
            f"mini_autograd or the checks, so this exercise scores 0. Remove that code, restart "
            f"the kernel and run all cells again."
        )


# References the checks use, taken at import time (before any student code runs).
np_asarray = numpy.asarray
np_array = numpy.array
np_abs = numpy.abs
np_max = numpy.max
np_argmax = numpy.argmax
np_unravel_index = numpy.unravel_index
np_isfinite = numpy.isfinite
np_all = numpy.all
np_any = numpy.any
np_where = numpy.where
np_nan_to_num = numpy.nan_to_num
np_swapaxes = numpy.swapaxes
np_copy = numpy.copy
np_float64 = numpy.float64
np_float32 = numpy.float32
ndarray = numpy.ndarray
np_sum = numpy.sum
np_allclose = numpy.allclose
np_array_equal = numpy.array_equal
np_random_default_rng = numpy.random.default_rng
np_zeros = numpy.zeros
np_ndindex = numpy.ndindex
np_broadcast_shapes = numpy.broadcast_shapes
builtin_isinstance = builtins.isinstance
builtin_len = builtins.len
builtin_abs = builtins.abs
builtin_range = builtins.range
math_isfinite = math.isfinite
sys_getprofile = sys.getprofile
sys_setprofile = sys.setprofile
