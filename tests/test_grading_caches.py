"""What the grader prepares once so that each sandboxed kernel need not (autograder/grading/sandbox.py):

- compile_course_packages: the course's packages are read-only inside the sandbox, so their
  bytecode is written before a batch, and every kernel finds it up to date;
- matplotlib_cache: matplotlib's font cache, built once per machine and version, then reused."""

import importlib.util
import struct
from pathlib import Path

import autograder
import mini_autograd
from autograder.grading.sandbox import compile_course_packages, matplotlib_cache


def _sources():
    for package in (mini_autograd, autograder):
        yield from Path(package.__file__).parent.rglob("*.py")


def _up_to_date(source: Path) -> bool:
    """As the import system decides: the .pyc's header names the source's mtime and size."""
    cached = Path(importlib.util.cache_from_source(str(source)))
    if not cached.is_file():
        return False
    header = cached.read_bytes()[:16]
    flags, mtime, size = struct.unpack("<III", header[4:16])
    stat = source.stat()
    return header[:4] == importlib.util.MAGIC_NUMBER and flags == 0 and mtime == int(stat.st_mtime) & 0xFFFFFFFF \
        and size == stat.st_size & 0xFFFFFFFF


def test_every_module_of_the_course_packages_has_current_bytecode(tmp_path):
    sources = list(_sources())
    for source in sources:   # as in a fresh clone run with PYTHONDONTWRITEBYTECODE=1
        Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)
    assert not any(_up_to_date(s) for s in sources)
    compile_course_packages()
    assert [s for s in sources if not _up_to_date(s)] == []


def test_the_font_cache_is_built_once_and_then_reused(tmp_path):
    first = matplotlib_cache(tmp_path)
    (font_list,) = first.glob("fontlist-*.json")
    built = font_list.stat().st_mtime_ns
    again = matplotlib_cache(tmp_path)
    assert again == first and font_list.stat().st_mtime_ns == built
    assert [p.name for p in tmp_path.iterdir()] == [first.name]   # no half-built folder left behind
