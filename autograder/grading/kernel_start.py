"""How a grading kernel starts, inside the sandbox (``Sandbox.kernel_argv`` runs ``main``).

The kernel is an ordinary IPython kernel (``python -m ipykernel_launcher``), with two things a
grading run never uses left out, because every submission pays for them:

- the debugger: the grader never debugs, a debugger is one more handle on the kernel from
  inside, and importing debugpy is 0.12 s of each kernel's start. ipykernel runs as it does
  where debugpy is not installed.
- the property lists in matplotlib's docstrings: when it is imported, matplotlib writes the
  list of every settable property into the docstring of each artist's ``set`` method (and of
  ``plot``, ``bar``, ...), reading the docstrings of all their setters. That is 0.12 s of CPU,
  about a tenth of what a kernel of 01_derivatives uses in all, for text that only ``help()``
  shows. In a grading kernel those lists are one sentence; plots are drawn as before.
  Nothing is imported early for it: a notebook that never imports matplotlib never loads it.

The current folder (the student's work folder) leaves sys.path before anything is imported, as
with ipykernel_launcher (IPython puts it back for the notebook's own imports).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

PROPERTIES_LEFT_OUT = "(The list of properties is left out in the grading sandbox; see matplotlib's documentation.)"


def _short_kwdoc(artist) -> str:
    """Stands in for matplotlib.artist.kwdoc, which lists an artist's settable properties."""
    return PROPERTIES_LEFT_OUT


def _shorten_property_lists(artist_module) -> None:
    artist_module.kwdoc = _short_kwdoc   # artist.py and _docstring.py look it up when they use it


class AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``then(module)`` right after the module ``name`` has run, whoever imports it first.

    A finder placed first in sys.meta_path: asked for ``name``, it takes itself out, finds the
    module's spec as the import system would, and wraps the loader's exec_module. For any other
    name it says nothing and the usual finders answer."""

    def __init__(self, name: str, then):
        self.name, self.then = name, then

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec   # (not a plain module: it is imported as usual, unchanged)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            self.then(module)

        spec.loader.exec_module = exec_module
        return spec


def main() -> None:
    sys.modules["debugpy"] = None   # `import debugpy` raises ImportError, as if it were not installed
    sys.meta_path.insert(0, AfterImport("matplotlib.artist", _shorten_property_lists))
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()
