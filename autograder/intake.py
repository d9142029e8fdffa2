"""Read a student's submission folder into notebooks nbgrader can grade, naming what is wrong.

Nothing here raises on bad student files: every problem becomes a reason in `Intake.problems`
(the notebook then counts as missing and scores zero), so one broken file never stops a batch.
The student's files are only read, never changed.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.warnings import MissingIDFieldWarning

MAX_NOTEBOOK_BYTES = 20 * 2**20


@dataclass
class Intake:
    """The readable notebooks (name -> notebook) of one submission, and what was wrong with the rest."""

    notebooks: dict[str, nbformat.NotebookNode] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)   # notebook name -> why it scores zero
    notes: list[str] = field(default_factory=list)           # things done that the student should know


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at path as nbformat 4; ValueError with a plain-language reason otherwise."""
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path.name} is empty (0 bytes); save the notebook in Jupyter and submit it again")
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{path.name} is {size / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB limit; "
                         "clear the outputs (Kernel > Restart and Clear Outputs) and submit again")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path.name} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
                         "it is not a notebook file as Jupyter saves it") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
                         "it may have been edited by hand or cut short") from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise ValueError(f"{path.name} is JSON but not a notebook (no cells)")
    major = raw.get("nbformat")
    if major not in (3, 4):
        raise ValueError(f"{path.name} declares nbformat version {major!r}; this course reads versions 3 and 4 "
                         "(open it in a current Jupyter and save it again)")
    try:
        with warnings.catch_warnings():   # missing cell ids: normalize() adds them just below
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nb = nbformat.reads(text, as_version=4)
        _, normalized = nbformat.validator.normalize(nb)   # e.g. adds the cell ids older notebooks lack
        nb = nbformat.from_dict(normalized)
        nbformat.validate(nb)
    except Exception as error:   # nbformat raises several kinds for malformed notebooks
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path.name} is not a valid notebook: {first_line}") from None
    return nb


def read_submission(folder: Path, expected: list[str]) -> Intake:
    """Read folder's notebooks for the expected notebook names (without .ipynb)."""
    intake = Intake()
    present = sorted(p for p in folder.glob("*.ipynb") if p.is_file()) if folder.is_dir() else []
    by_name = {p.stem: p for p in present}
    missing = [name for name in expected if name not in by_name]
    strangers = [p for p in present if p.stem not in expected]
    if len(missing) == 1 and len(strangers) == 1:
        # A renamed notebook ("01_derivatives (1).ipynb"): unambiguous, so grade it under its name.
        by_name[missing[0]] = strangers[0]
        intake.notes.append(f"graded {strangers[0].name} as {missing[0]}.ipynb (the notebook was renamed)")
        missing = []
    for name in expected:
        if name in missing:
            found = ", ".join(p.name for p in present) or "no notebooks"
            intake.problems[name] = f"no {name}.ipynb in the submission (found: {found})"
            continue
        try:
            intake.notebooks[name] = read_notebook(by_name[name])
        except ValueError as error:
            intake.problems[name] = str(error)
    return intake
