"""The machinery that decides how a cell runs, and whether it has been taken over.

Without touching numpy or the checks, a student's cell can change how later cells run: IPython's
input transformers (rewrite a test cell before it runs), AST transformers, custom exception
handlers (swallow a failed check), event callbacks, display hooks; the shell's or the kernel's
own methods; and the interpreter's hooks (``sys.settrace``, ``sys.excepthook``, import hooks in
``sys.meta_path``...). ``HookSnapshot`` records all of them when ``autograder`` is imported in the
setup cell, and ``differences()`` names every one that changed since to something that runs code
from outside the installed packages.

"Installed" means: defined in a file under the Python installation, the virtual environment, the
course's own packages, or a folder of the import path that the kernel cannot write. In the grading sandbox those folders are read-only, so student code
cannot put a hook there; everything a student writes (a cell, a file in the working folder or
/tmp) lives elsewhere. Hooks that installed code adds later (matplotlib's inline backend
registering its callbacks, ``six`` adding an import hook) stay allowed.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import types

import autograder
import mini_autograd


def _trusted_roots() -> tuple[str, ...]:
    """The installation, the course's packages, and the import path's folders that this process cannot
    write (packages installed elsewhere, through a .pth file or PYTHONPATH); never the working folder."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(autograder.__file__), os.path.dirname(mini_autograd.__file__)}
    here = os.path.realpath(os.getcwd())
    for entry in sys.path:
        path = os.path.realpath(entry or ".")
        if entry and os.path.isdir(path) and path != here and not os.access(path, os.W_OK):
            roots.add(path)
    return tuple(sorted({os.path.realpath(root) + os.sep for root in roots}))


_TRUSTED_ROOTS = _trusted_roots()
_realpath = os.path.realpath
_gettrace, _getprofile = sys.gettrace, sys.getprofile
_thread_gettrace = getattr(threading, "gettrace", lambda: None)
_thread_getprofile = getattr(threading, "getprofile", lambda: None)


def _installed_file(filename: str) -> bool:
    return bool(filename) and _realpath(filename).startswith(_TRUSTED_ROOTS)


def _code_of(value, depth: int = 0):
    """The code objects that calling ``value`` may run (empty for builtins, which students cannot
    write). A function's closure counts too: IPython wraps a custom exception handler in a function
    of its own, and a decorator wraps the function it decorates."""
    if depth > 4:
        return []
    if isinstance(value, functools.partial):
        return _code_of(value.func, depth + 1)
    if isinstance(value, (staticmethod, classmethod, types.MethodType)):
        return _code_of(value.__func__, depth + 1)
    if isinstance(value, property):
        return [c for f in (value.fget, value.fset, value.fdel) if f is not None for c in _code_of(f, depth + 1)]
    if isinstance(value, types.FunctionType):
        codes = [value.__code__]
        for closure_cell in value.__closure__ or ():
            try:
                inner = closure_cell.cell_contents
            except ValueError:   # an empty cell
                continue
            if callable(inner):
                codes.extend(_code_of(inner, depth + 1))
        return codes
    if isinstance(value, (types.BuiltinFunctionType, types.BuiltinMethodType, types.ModuleType)) or value is None:
        return []
    cls = value if isinstance(value, type) else type(value)
    codes = []
    for klass in cls.__mro__:
        if klass is object:
            continue
        for attribute in vars(klass).values():
            if isinstance(attribute, (types.FunctionType, staticmethod, classmethod, property)):
                codes.extend(_code_of(attribute, depth + 1))
    return codes


def untrusted(value) -> bool:
    """True when calling ``value`` may run code from outside the installed packages."""
    try:
        return any(not _installed_file(code.co_filename) for code in _code_of(value))
    except Exception:   # noqa: BLE001 - an object that resists inspection is not trusted
        return True


def _describe(value) -> str:
    name = getattr(value, "__qualname__", None) or type(value).__qualname__
    return str(name)[:60]


class HookSnapshot:
    """Every hook point, as it was when the snapshot was taken (see the module docstring)."""

    def __init__(self, shell=None):
        self.shell = shell
        self.initial = self._current()
        self.classes = {cls: dict(vars(cls)) for cls in self._machinery_classes()}

    def _machinery_classes(self) -> list[type]:
        """The classes of the shell, its kernel and their helpers (IPython's and ipykernel's), whose
        methods run every cell."""
        if self.shell is None:
            return []
        objects = [self.shell, getattr(self.shell, "kernel", None), getattr(self.shell, "displayhook", None),
                   getattr(self.shell, "display_pub", None), getattr(self.shell, "input_transformer_manager", None),
                   getattr(self.shell, "InteractiveTB", None), getattr(self.shell, "events", None),
                   getattr(self.shell, "compile", None)]
        classes = []
        for obj in objects:
            if obj is None:
                continue
            for cls in type(obj).__mro__:
                if cls is not object and cls.__module__.split(".")[0] in ("IPython", "ipykernel") and cls not in classes:
                    classes.append(cls)
        return classes

    def _current(self) -> dict[str, list]:
        """{hook point: the callables installed there now}."""
        points = {
            "sys.displayhook": [sys.displayhook], "sys.excepthook": [sys.excepthook],
            "sys.breakpointhook": [sys.breakpointhook], "sys.unraisablehook": [sys.unraisablehook],
            "sys.settrace": [_gettrace()], "sys.setprofile": [_getprofile()],
            "threading.settrace": [_thread_gettrace()], "threading.setprofile": [_thread_getprofile()],
            "sys.meta_path": list(sys.meta_path), "sys.path_hooks": list(sys.path_hooks),
        }
        shell = self.shell
        if shell is None:
            return points
        manager = shell.input_transformer_manager
        points.update({
            "IPython's input_transformers_cleanup": list(shell.input_transformers_cleanup),
            "IPython's input_transformers_post": list(shell.input_transformers_post),
            "IPython's input transformer manager": [*manager.cleanup_transforms, *manager.line_transforms,
                                                    *manager.token_transformers],
            "IPython's ast_transformers": list(shell.ast_transformers),
            "IPython's custom exception handler": [shell.CustomTB] if shell.custom_exceptions else [],
            "IPython's display hook": [shell.displayhook], "IPython's display publisher": [shell.display_pub],
            "IPython's traceback formatter": [shell.InteractiveTB],
        })
        for event, callbacks in shell.events.callbacks.items():
            points[f"IPython's {event} event callbacks"] = list(callbacks)
        points["methods set on the shell"] = [v for v in vars(shell).values() if callable(v) and not isinstance(v, type)]
        kernel = getattr(shell, "kernel", None)
        if kernel is not None:
            points["the kernel's message handlers"] = list(getattr(kernel, "shell_handlers", {}).values())
            points["methods set on the kernel"] = [v for v in vars(kernel).values()
                                                   if isinstance(v, (types.FunctionType, types.MethodType, functools.partial))]
        return points

    def differences(self) -> list[str]:
        """What now runs student code at a hook point, and which machinery methods were replaced."""
        found = []
        for point, callables in self._current().items():
            before = self.initial.get(point, [])
            for value in callables:
                if value is None or any(value is old for old in before):
                    continue
                if untrusted(value):
                    found.append(f"{point}: {_describe(value)} was installed by the notebook")
        for cls, attributes in self.classes.items():
            current = vars(cls)
            for name, value in current.items():
                original = attributes.get(name, _MISSING)
                if value is not original and (callable(value) or isinstance(value, (staticmethod, classmethod, property))):
                    found.append(f"{cls.__module__}.{cls.__qualname__}.{name} was replaced")
        return found


_MISSING = object()
