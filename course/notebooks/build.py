"""Write the course's notebooks from their Python descriptions.

    python -m course.notebooks.build            write source/<a>/<a>.ipynb and course/lectures/*.ipynb
    python -m course.notebooks.build --check    exit 1 if a committed notebook differs from its module
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]

# (module in course.notebooks, notebook name)
ASSIGNMENTS = [
    ("a01_derivatives", "01_derivatives"),
    ("a02_backprop", "02_backprop"),
    ("a03_einsum", "03_einsum"),
    ("a04_mlp", "04_mlp"),
    ("a05_forward_mode", "05_forward_mode"),
]
LECTURES = [
    ("l01_chain_rule_and_graphs", "01_chain_rule_and_graphs"),
    ("l02_reverse_and_forward_mode", "02_reverse_and_forward_mode"),
    ("l03_vjps_and_einsum", "03_vjps_and_einsum"),
    ("l04_mlps_and_universal_approximation", "04_mlps_and_universal_approximation"),
]


def build(module: str) -> nbformat.NotebookNode:
    return importlib.import_module(f"course.notebooks.{module}").build()


def targets(root: Path = ROOT):
    for module, name in ASSIGNMENTS:
        yield module, root / "source" / name / f"{name}.ipynb"
    for module, name in LECTURES:
        yield module, root / "course" / "lectures" / f"{name}.ipynb"


def render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a notebook is out of date")
    args = parser.parse_args(argv)
    stale = []
    for module, path in targets():
        text = render(build(module))
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date (run python -m course.notebooks.build):", *map(str, stale), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
