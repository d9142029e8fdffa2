"""ScrubHiddenTests: nbgrader feedback without the hidden test code (nbgrader issues #917, #1363).

Before grading, nbgrader puts back the instructor's version of every test cell, hidden tests
included, so its HTML feedback shows them: in the test cells and in the traceback of a failed
test. This preprocessor, registered into GenerateFeedback's preprocessors by course/feedback.py,
reads the hidden-test regions (### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS) of the
instructor's notebook source/<assignment>/<notebook>.ipynb and, in the notebook being turned
into feedback:

  - in each test cell, replaces a hidden-test region with a line `# hidden tests`, and drops
    any other line of the cell that is a hidden-test line;
  - in error outputs, replaces every traceback line (and evalue line) that quotes a hidden-test
    line with `... (hidden test code)`.

A hidden-test line is a line inside a region that does not also appear outside every region of
the source notebook. The failure message of a check (the error's evalue) quotes no source and
stays: it is what the student needs.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"  # nbgrader's ClearHiddenTests delimiters
PLACEHOLDER = "# hidden tests"
HIDDEN_OUTPUT_LINE = "    ... (hidden test code)"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CONTEXT_LINE = re.compile(r"\s*(?:-*>)?\s*\d+ (.*)")  # IPython's "---> 12 code" and "     8 code"
MIN_QUOTED = 12  # hidden lines this long are also looked for inside other text


def hidden_lines(nb: nbformat.NotebookNode) -> set[str]:
    """The stripped lines inside hidden-test regions (delimiters included) that do not also
    appear outside them anywhere in nb."""
    inside_lines, outside_lines = set(), set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if BEGIN in line or END in line:
                inside = BEGIN in line
                inside_lines.add(text)
            elif text:
                (inside_lines if inside else outside_lines).add(text)
    return inside_lines - outside_lines


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


class ScrubHiddenTests(NbGraderPreprocessor):
    """Remove hidden test code from test cells and tracebacks (see the module docstring)."""

    source_directory = Unicode(
        "source", help="The folder of <assignment>/<notebook>.ipynb, the instructor's notebooks."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        path = Path(self.source_directory, info["assignment"], f"{info['notebook']}.ipynb")
        if not path.is_file():
            raise FileNotFoundError(f"no source notebook {path}: without it the hidden tests cannot be "
                                    f"told apart, so no feedback is written for {info['student']}")
        self.hidden = hidden_lines(nbformat.read(path, as_version=4))
        self.quoted = [line for line in self.hidden if len(line) >= MIN_QUOTED]
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = self.scrub_source(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [self.scrub_output(entry) for entry in output.get("traceback", [])]
                output["evalue"] = self.scrub_output(output.get("evalue", ""))
        return cell, resources

    def scrub_source(self, source: str) -> str:
        """Each hidden region, and any run of hidden lines, becomes one placeholder line."""
        lines, inside = [], False
        for line in source.split("\n"):
            if BEGIN in line:
                inside = True
                lines.append(_indent(line) + PLACEHOLDER)
            elif END in line:
                inside = False
            elif inside:
                continue
            elif line.strip() in self.hidden:
                if not lines or lines[-1].strip() != PLACEHOLDER:
                    lines.append(_indent(line) + PLACEHOLDER)
            else:
                lines.append(line)
        return "\n".join(lines)

    def quotes_hidden(self, line: str) -> bool:
        plain = ANSI.sub("", line)
        context = CONTEXT_LINE.fullmatch(plain)
        if context and context.group(1).strip() in self.hidden:
            return True
        return any(hidden in plain for hidden in self.quoted)

    def scrub_output(self, text: str) -> str:
        """text without the lines that quote hidden test code (one marker per removed run)."""
        lines = []
        for line in text.split("\n"):
            if not self.quotes_hidden(line):
                lines.append(line)
            elif not lines or lines[-1] != HIDDEN_OUTPUT_LINE:
                lines.append(HIDDEN_OUTPUT_LINE)
        return "\n".join(lines)
