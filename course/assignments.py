"""The course's assignments and lectures, each declared once.

An assignment is its notebook name (the folder ``source/<name>/<name>.ipynb``), the module of
``course.notebooks`` that builds that notebook, and the module of ``course.banks`` that holds its
mutants, variants and tampering attempts. ``python -m course.notebooks.build``, the banks,
``course check``, ``course demo``, the release and the tests all take the assignments from here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Assignment:
    name: str              # the notebook and its folder: source/<name>/<name>.ipynb
    notebook_module: str   # in course.notebooks: builds the source notebook
    bank_module: str       # in course.banks: MUTANTS, VARIANTS, TAMPERING

    def notebook(self, root: Path) -> Path:
        return Path(root) / "source" / self.name / f"{self.name}.ipynb"

    def bank(self):
        return importlib.import_module(f"course.banks.{self.bank_module}")


@dataclass(frozen=True)
class Lecture:
    name: str              # course/lectures/<name>.ipynb
    notebook_module: str   # in course.notebooks

    def notebook(self, root: Path) -> Path:
        return Path(root) / "course" / "lectures" / f"{self.name}.ipynb"


ASSIGNMENTS = (
    Assignment("01_derivatives", notebook_module="a01_derivatives", bank_module="a01_derivatives"),
    Assignment("02_backprop", notebook_module="a02_backprop", bank_module="a02_backprop"),
    Assignment("03_einsum", notebook_module="a03_einsum", bank_module="a03_einsum"),
    Assignment("04_mlp", notebook_module="a04_mlp", bank_module="a04_mlp"),
    Assignment("05_forward_mode", notebook_module="a05_forward_mode", bank_module="a05_forward_mode"),
)
LECTURES = (
    Lecture("01_chain_rule_and_graphs", notebook_module="l01_chain_rule_and_graphs"),
    Lecture("02_reverse_and_forward_mode", notebook_module="l02_reverse_and_forward_mode"),
    Lecture("03_vjps_and_einsum", notebook_module="l03_vjps_and_einsum"),
    Lecture("04_mlps_and_universal_approximation", notebook_module="l04_mlps_and_universal_approximation"),
)
NAMES = tuple(a.name for a in ASSIGNMENTS)


class UnknownAssignment(KeyError):
    def __str__(self) -> str:
        return self.args[0]


def by_name(name: str) -> Assignment:
    """The assignment called name; the error names the known ones."""
    for assignment in ASSIGNMENTS:
        if assignment.name == name:
            return assignment
    raise UnknownAssignment(f"no assignment {name!r} in the course registry (course/assignments.py). "
                            f"Assignments: {', '.join(NAMES)}.")
