"""Write the course's notebooks from their Python descriptions.

    python -m course.notebooks.build            write source/<a>/<a>.ipynb and course/lectures/*.ipynb
    python -m course.notebooks.build 02_backprop    write only the notebooks named
    python -m course.notebooks.build --check    exit 1 if a committed notebook differs from its module
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import nbformat

from course.assignments import ASSIGNMENTS, LECTURES

ROOT = Path(__file__).resolve().parents[2]


def build(module: str) -> nbformat.NotebookNode:
    return importlib.import_module(f"course.notebooks.{module}").build()


def targets(root: Path = ROOT, names=()):
    for notebook in (*ASSIGNMENTS, *LECTURES):
        if not names or notebook.name in names:
            yield notebook.notebook_module, notebook.notebook(root)


def render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a notebook is out of date")
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these assignments or lectures (default: all)")
    args = parser.parse_args(argv)
    known = {n.name for n in (*ASSIGNMENTS, *LECTURES)}
    if unknown := sorted(set(args.names) - known):
        parser.error(f"no assignment or lecture called {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    stale = []
    for module, path in targets(ROOT, args.names):
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
