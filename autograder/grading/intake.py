"""Read a student's submission folder into notebooks nbgrader can grade, naming what is wrong.

Nothing here raises on bad student files: every problem becomes a reason in `Intake.problems`
(the notebook then counts as missing and scores zero), so one broken file never stops a batch.
The student's files are only read, never changed.

Student files are untrusted, and so are the names of their folders. Everything a student controls is
opened without following symbolic links (`Folder`: a directory opened with O_NOFOLLOW|O_DIRECTORY,
its entries looked at with lstat and opened relative to it with O_NOFOLLOW|O_NONBLOCK): a symbolic
link (to the instructor's source notebook, a classmate's notebook, /proc/self/environ), a named pipe
(reading one would block forever), a device or a socket is refused with a reason and never opened;
a regular file is read only up to a size limit, and checked after opening to be the file that was
looked at. Deeply nested JSON and anything else that makes json or nbformat run out of stack or
memory is a reason too, not a crash.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.warnings import MissingIDFieldWarning

MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_TIMESTAMP_BYTES = 1000
MAX_JSON_DEPTH = 100   # a notebook as Jupyter writes it is about 10 levels deep; widget state a few more
MAX_JSON_CONTAINERS = 1_000_000   # '[' and '{' in the file: 20 MB of "[]," would be ~7 million Python lists


class Refused(ValueError):
    """A student's file or folder that must not be read (not a regular file, too large, changed)."""


def kind(mode: int) -> str:
    """What a file is, from its st_mode, as the reason says it."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Folder:
    """A directory a student controls, opened without following a symbolic link, and read by entry
    name relative to its file descriptor (so nothing can be swapped in between). A context manager."""

    def __init__(self, fd: int, path: Path):
        self.fd, self.path = fd, Path(path)

    @classmethod
    def open(cls, path: Path | str, untrusted: int = 1) -> "Folder":
        """Open path, whose last `untrusted` components are the student's: each must be a real folder
        (the parents above them are the instructor's and may be links). Refused otherwise."""
        path = Path(path)
        parts = path.parts[len(path.parts) - untrusted:] if untrusted else ()
        base = Path(*path.parts[: len(path.parts) - untrusted]) if untrusted else path
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        folder = cls(fd, base)
        for part in parts:
            folder = folder.child(part, close_parent=True)   # closes the parent, also when refused
        return folder

    def lstat(self, name: str) -> os.stat_result:
        return os.stat(name, dir_fd=self.fd, follow_symlinks=False)

    def entries(self) -> dict[str, int]:
        """{name: st_mode} of every entry, sorted by name; nothing is followed or opened."""
        found = {}
        for name in sorted(os.listdir(self.fd)):
            try:
                found[name] = self.lstat(name).st_mode
            except FileNotFoundError:   # removed while we looked
                continue
        return found

    def child(self, name: str, close_parent: bool = False) -> "Folder":
        """The sub-folder name, refused if it is a link or not a folder."""
        try:
            mode = self.lstat(name).st_mode
            if not stat.S_ISDIR(mode):
                raise Refused(f"{name} is {kind(mode)}, not a folder; nothing in it was read")
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=self.fd)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise Refused(f"{name} changed into something other than a folder while being read") from None
                raise
            return Folder(fd, self.path / name)
        finally:
            if close_parent:
                self.close()

    def read(self, name: str, max_bytes: int) -> bytes:
        """The bytes of the regular file name; Refused (with the reason) for anything else, or when
        it holds more than max_bytes."""
        before = self.lstat(name)
        if not stat.S_ISREG(before.st_mode):
            raise Refused(f"{name} is {kind(before.st_mode)}; it was not opened (only regular files are read)")
        if before.st_size > max_bytes:
            raise Refused(f"{name} is {before.st_size:,} bytes, over the limit of {max_bytes:,}")
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=self.fd)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise Refused(f"{name} turned into a symbolic link while being read; it was not followed") from None
            raise
        try:
            after = os.fstat(fd)
            if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
                raise Refused(f"{name} was replaced by {kind(after.st_mode)} while being read; not read")
            chunks, size = [], 0
            while size <= max_bytes:
                chunk = os.read(fd, min(2**20, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
        if size > max_bytes:
            raise Refused(f"{name} grew over the limit of {max_bytes:,} bytes while being read")
        return b"".join(chunks)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "Folder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class Intake:
    """The readable notebooks (name -> notebook) of one submission, and what was wrong with the rest."""

    notebooks: dict[str, nbformat.NotebookNode] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)   # notebook name -> why it scores zero
    notes: list[str] = field(default_factory=list)           # things done that the student should know
    timestamp: str | None = None                            # timestamp.txt, if it is a small regular file
    secret: bytes | None = None                             # submission_secret.txt (nbgrader's feedback key)


def json_depth(value) -> int:
    """How deeply lists and dicts nest in a parsed JSON value (iteratively: no recursion to run out of)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_notebook(name: str, data: bytes) -> nbformat.NotebookNode:
    """The bytes of a notebook file as nbformat 4; ValueError with a plain-language reason otherwise."""
    if not data:
        raise ValueError(f"{name} is empty (0 bytes); save the notebook in Jupyter and submit it again")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{name} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
                         "it is not a notebook file as Jupyter saves it") from None
    too_deep = (f"{name} nests lists or objects more than {MAX_JSON_DEPTH} levels deep; it is not a notebook "
                "as Jupyter saves it (clear the outputs and metadata, or start from the released notebook)")
    containers = data.count(b"[") + data.count(b"{")
    if containers > MAX_JSON_CONTAINERS:
        raise ValueError(f"{name} has {containers:,} '[' and '{{' characters, more than the {MAX_JSON_CONTAINERS:,} "
                         "a notebook may have; it is not a notebook as Jupyter saves it (clear the outputs)")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{name} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
                         "it may have been edited by hand or cut short") from None
    except RecursionError:
        raise ValueError(too_deep) from None
    except MemoryError:
        raise ValueError(f"{name} takes more memory to read than the grader allows; it is not a notebook "
                         "as Jupyter saves it") from None
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise ValueError(too_deep)
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise ValueError(f"{name} is JSON but not a notebook (no cells)")
    major = raw.get("nbformat")
    if major not in (3, 4):
        raise ValueError(f"{name} declares nbformat version {major!r}; this course reads versions 3 and 4 "
                         "(open it in a current Jupyter and save it again)")
    try:
        with warnings.catch_warnings():   # missing cell ids: normalize() adds them just below
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nb = nbformat.reads(text, as_version=4)
        _, normalized = nbformat.validator.normalize(nb)   # e.g. adds the cell ids older notebooks lack
        nb = nbformat.from_dict(normalized)
        nbformat.validate(nb)
    except (RecursionError, MemoryError):
        raise ValueError(too_deep) from None
    except Exception as error:   # nbformat raises several kinds for malformed notebooks
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{name} is not a valid notebook: {first_line}") from None
    return nb


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at path (its folder is trusted, the file is not: a link, a pipe or a device is
    refused, never opened) as nbformat 4; ValueError with a plain-language reason otherwise."""
    path = Path(path)
    with Folder.open(path.parent, untrusted=0) as folder:
        return parse_notebook(path.name, _read(folder, path.name))


def _read(folder: Folder, name: str) -> bytes:
    try:
        return folder.read(name, MAX_NOTEBOOK_BYTES)
    except Refused as refused:
        text = str(refused)
        if "over the limit" in text:
            size = folder.lstat(name).st_size
            text = (f"{name} is {size / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB limit; "
                    "clear the outputs (Kernel > Restart and Clear Outputs) and submit again")
        raise ValueError(text) from None
    except OSError as error:
        raise ValueError(f"{name} could not be read ({error.strerror or error})") from None


def read_submission(folder: Path, expected: list[str], untrusted: int = 2) -> Intake:
    """Read folder's notebooks for the expected notebook names (without .ipynb). The last `untrusted`
    components of folder are the student's (submitted/<student>/<assignment>: 2) and must be real
    folders, not links."""
    intake = Intake()
    try:
        opened = Folder.open(folder, untrusted=untrusted)
    except Refused as refused:
        why = f"the submission folder is not read: {refused}"
        intake.problems = {name: why for name in expected}
        return intake
    except FileNotFoundError:
        intake.problems = {name: f"no {name}.ipynb in the submission (found: no notebooks)" for name in expected}
        return intake
    except OSError as error:
        intake.problems = {name: f"the submission folder could not be read ({error.strerror or error})" for name in expected}
        return intake
    with opened:
        entries = opened.entries()
        present = [n for n, mode in entries.items() if n.endswith(".ipynb") and stat.S_ISREG(mode)]
        refused = {n[: -len(".ipynb")]: f"{n} is {kind(mode)}; it was not opened (only regular files are read)"
                   for n, mode in entries.items() if n.endswith(".ipynb") and not stat.S_ISREG(mode)}
        for stem, why in refused.items():
            if stem not in expected:
                intake.notes.append(f"not read: {why}")
        if "timestamp.txt" in entries:
            try:
                intake.timestamp = opened.read("timestamp.txt", MAX_TIMESTAMP_BYTES).decode("utf-8", "replace")
            except (Refused, OSError) as error:
                intake.notes.append(f"timestamp.txt ignored: {error}")
        if "submission_secret.txt" in entries:   # written by nbgrader's collect; release_feedback needs it
            try:
                intake.secret = opened.read("submission_secret.txt", MAX_TIMESTAMP_BYTES)
            except (Refused, OSError) as error:
                intake.notes.append(f"submission_secret.txt ignored: {error}")
        by_name = {n[: -len(".ipynb")]: n for n in present}
        missing = [name for name in expected if name not in by_name and name not in refused]
        strangers = [n for stem, n in by_name.items() if stem not in expected]
        if len(missing) == 1 and len(strangers) == 1:
            # A renamed notebook ("01_derivatives (1).ipynb"): unambiguous, so grade it under its name.
            by_name[missing[0]] = strangers[0]
            intake.notes.append(f"graded {strangers[0]} as {missing[0]}.ipynb (the notebook was renamed)")
            missing = []
        for name in expected:
            if name in refused and name not in by_name:
                intake.problems[name] = refused[name]
            elif name in missing:
                found = ", ".join(n for n in entries if n.endswith(".ipynb")) or "no notebooks"
                intake.problems[name] = f"no {name}.ipynb in the submission (found: {found})"
            else:
                try:
                    intake.notebooks[name] = parse_notebook(by_name[name], _read(opened, by_name[name]))
                except ValueError as error:
                    intake.problems[name] = str(error)
    return intake



def fingerprint(folder: Path) -> str:
    """A hash of everything in a submission folder (names, and the bytes of regular files), opening
    nothing through a link: a link counts by its target's name, a pipe or device by its kind. For the
    engine's records: a changed submission has another fingerprint."""
    import hashlib

    digest = hashlib.sha256()
    try:
        top = Folder.open(folder, untrusted=0)
    except OSError:
        return digest.hexdigest()

    def visit(current: Folder, prefix: str, depth: int) -> None:
        for name, mode in current.entries().items():
            path = f"{prefix}{name}"
            digest.update(path.encode("utf-8", "surrogateescape") + b"\0")
            if stat.S_ISDIR(mode) and depth < 20:
                with current.child(name) as inner:
                    visit(inner, path + "/", depth + 1)
            elif stat.S_ISREG(mode):
                try:
                    fd = os.open(name, _READ_FLAGS, dir_fd=current.fd)
                except OSError:
                    digest.update(b"unreadable")
                    continue
                try:
                    if not stat.S_ISREG(os.fstat(fd).st_mode):
                        digest.update(b"replaced")
                        continue
                    inner_digest = hashlib.sha256()
                    while chunk := os.read(fd, 2**20):
                        inner_digest.update(chunk)
                    digest.update(inner_digest.digest())
                finally:
                    os.close(fd)
            elif stat.S_ISLNK(mode):
                digest.update(b"link:" + os.fsencode(os.readlink(name, dir_fd=current.fd)))
            else:
                digest.update(f"{kind(mode)}".encode())

    with top:
        try:
            visit(top, "", 0)
        except (Refused, OSError) as error:
            digest.update(f"error:{error}".encode())
    return digest.hexdigest()
