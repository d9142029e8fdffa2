"""Feedback that shows students what the checks say, and no hidden test code (nbgrader #917, #1363).

Before grading, nbgrader puts back the instructor's version of every test cell, hidden tests
included, and the student's code runs next to them: it can read them (``In``, ``linecache``,
frames, ``inspect``, IPython's history) and print, raise, display or stash them, in any encoding.
Pattern matching cannot find every encoding, so feedback does not show what a test cell printed
or raised; it shows the verdict of the checks. The steps (nbgrader preprocessors, in this order in
nbgrader_config.py's GenerateFeedback.preprocessors, for `course feedback` and the formgrader):

- ``ScrubHiddenTests``: in the code of every cell but the student's answers, each hidden-test
  region becomes one line ``# hidden tests``.
- ``ShowVerdicts``: a test cell's outputs become its verdict only: "Passed.", or one error output
  with the failure (``failure``). What a test cell printed (stdout, stderr), displayed, and every
  traceback are not shown. Outputs of the cells that ran after the first test cell with hidden
  tests (the student's and the notebook's own) are replaced by a one-line note: student code may
  have stashed what it read during a test and print it later. Cells before it keep their outputs
  (text, errors, displays: the drawings and plots); the grader lets a display be updated only while
  its own cell runs, so a later cell cannot have rewritten one.
- ``HideGraderPaths``: paths of the grading machine (the course, the sandbox, the Python
  installation) are cut to their last two parts in the outputs that stay.
- ``RefuseHiddenTestLeaks``: the last line of defence: a notebook that still shows a secret
  hidden-test line anywhere fails, so nbgrader writes no page for it.

A failure is shown as follows (``failure``):

- the message the tamper scan put in front of the test cell's code, taken from that code;
- the message of an error named CheckFailed or TamperingDetected (the checks), or CellTimeoutError,
  KernelDied, NotRun, UnreadableOutput or TestDidNotPass (the grader), through ``check_message``:
  student code can raise or forge these, so no part of the message is trusted. What the checks
  quote from student code (an exception's message, marked by autograder.checks.messages.student_text)
  is replaced by a note; every word that is not a word of the course (the checks, mini_autograd,
  the student version of the notebook, the labels the tests give the checks, Python's builtins)
  becomes "…"; at most 24 numbers of at most 12 characters; no paths; printable ASCII; at most
  12 lines and 1200 characters; and a message that shows a secret line, or 6 words and numbers in
  a row of hidden code (forwards or backwards, whatever separates them), becomes a fixed sentence;
- any other exception: a fixed sentence naming it if it is one of Python's built-in exceptions,
  "an exception" otherwise; a test that wrote to stderr or gave partial credit: a fixed sentence.

What is secret is decided against what the student was given: a line of a hidden-test region is
secret unless the release version (release/<assignment>/<notebook>.ipynb) or the source outside
the hidden regions shows it, so visible test code is never mistaken for a hidden test.

What remains: the verdicts themselves (pass or fail per test cell), and the numbers and the choice
of course words in a check's message, are chosen by student code that fails a check on purpose;
a few dozen characters per failing test cell can be carried that way, never a hidden line as such.

``failure`` is also what ``course export`` (Gradescope results.json) and ``course report`` show.
"""

from __future__ import annotations

import ast
import builtins
import functools
import keyword
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import determine_grade
from traitlets import Integer, Unicode

from .executor import GRADER_ERRORS
from ..student_text_markers import END as STUDENT_TEXT_END, START as STUDENT_TEXT_START

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"  # nbgrader's ClearHiddenTests delimiters
PLACEHOLDER = "# hidden tests"
MIN_SECRET = 12  # shorter hidden lines ("x = 1.0") are ordinary code, not telling

# Who may put a message in front of a student: the checks (autograder/checks/messages.py, integrity.py)
# and the grader's own error outputs (autograder/grading/executor.py).
AUTHORED = tuple(dict.fromkeys(("CheckFailed", "TamperingDetected", *GRADER_ERRORS)))
BUILTIN_EXCEPTIONS = frozenset(name for name, value in vars(builtins).items()
                               if isinstance(value, type) and issubclass(value, BaseException))
PASSED = "Passed."
HIDDEN_MESSAGE = "(the message of this check quoted hidden test code, so it is not shown)"
STUDENT_MESSAGE = "[your code's message: run the cell in your notebook to see it]"
DROPPED_NOTE = ("[feedback: the output of this cell is not shown: it ran after hidden tests, which your "
                "code could have read]\n")
MAX_MESSAGE_LINES, MAX_MESSAGE_CHARS, MAX_MESSAGE_NUMBERS, MAX_NUMBER_CHARS = 12, 1200, 24, 12
NGRAM = 6  # this many words and numbers of hidden code in a row, in a message, count as quoting it

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
WORD = re.compile(r"\w+")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
TOKEN = re.compile(r"(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?x?)(?!\w)|(?P<word>\w+)")  # "4x" too
PATH = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][\w.+~-]+){2,}[/\\]?")
UNPRINTABLE = re.compile(r"[^\x20-\x7e\n\t…×]")
STRING_OR_COMMENT = re.compile(r"""(?:[rRbBfFuU]{0,2})(?:'{3}[\s\S]*?'{3}|"{3}[\s\S]*?"{3}|'[^'\n]*'|"[^"\n]*")|#[^\n]*""")
TAMPER_PREFIX = re.compile(r"raise AssertionError\((?P<message>'Integrity check:.*'|\"Integrity check:.*\")\)")


def _normal(text: str) -> str:
    """text with ANSI colours removed and every run of white space made one space."""
    return " ".join(ANSI.sub("", text).split())


def _regions(source: str):
    """(line, inside a hidden region?) for each line of a cell; delimiter lines count as inside."""
    inside = False
    for line in source.splitlines():
        if BEGIN in line:
            inside = True
            yield line, True
        elif END in line:
            yield line, True
            inside = False
        else:
            yield line, inside


def released_version(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The source notebook without its solution and hidden-test regions: what students are given."""
    released = nbformat.from_dict(source)
    for cell in released.cells:
        lines, skipping = [], False
        for line in cell.source.splitlines():
            if BEGIN in line or "BEGIN SOLUTION" in line:
                skipping = True
            elif END in line or "END SOLUTION" in line:
                skipping = False
            elif not skipping:
                lines.append(line)
        cell.source = "\n".join(lines)
    return released


@functools.lru_cache(maxsize=1)
def package_words() -> frozenset[str]:
    """The words the checks and mini_autograd could put in a message: every word of their source
    files, Python's builtins and keywords, numpy's public names (a tampering message names them)."""
    import numpy
    import numpy.linalg
    import numpy.testing

    autograder = Path(__file__).resolve().parents[1]
    words = set(dir(builtins)) | set(keyword.kwlist)
    words |= {name for module in (numpy, numpy.linalg, numpy.testing, numpy.random) for name in dir(module)}
    for path in [*autograder.rglob("*.py"), *(autograder.parent / "mini_autograd").rglob("*.py")]:
        words.update(WORD.findall(path.read_text(encoding="utf-8", errors="replace")))
    return frozenset(words)


def _grams(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + NGRAM]) for i in range(len(tokens) - NGRAM + 1)}


def _code_grams(code: str) -> set[tuple[str, ...]]:
    """The runs of NGRAM words and numbers of code outside its string literals and comments (those
    break a run: a check shows the labels a test passes it, which are string literals), with at least
    three words in them (runs of numbers alone are shapes and values, which messages show too)."""
    grams = set()
    for segment in STRING_OR_COMMENT.split(code):
        grams |= {gram for gram in _grams([m.group(0) for m in TOKEN.finditer(segment)])
                  if sum(not NUMBER.fullmatch(token) for token in gram) >= 3}
    return grams


@dataclass
class HiddenTests:
    """What of one notebook is hidden from students, and how a message is made safe to show them."""

    secret_lines: list[str]   # normalized, longest first
    vocabulary: frozenset[str]
    hidden_cells: frozenset[str] = frozenset()   # grade ids of the cells with hidden tests
    secret_grams: frozenset[tuple[str, ...]] = frozenset()   # runs of NGRAM tokens of hidden code only

    @classmethod
    def of(cls, source: nbformat.NotebookNode, release: nbformat.NotebookNode) -> "HiddenTests":
        """From the instructor's notebook and the student version that was released."""
        shown = [cell.source for cell in release.cells]
        hidden, hidden_cells, regions = set(), set(), []
        for cell in source.cells:
            if BEGIN in cell.source:
                hidden_cells.add(cell.metadata.get("nbgrader", {}).get("grade_id", ""))
            outside, inside_lines = [], []
            for line, inside in _regions(cell.source):
                (hidden.add(_normal(line)) if inside else None)
                (inside_lines if inside else outside).append(line)
            shown.append("\n".join(outside))
            regions.append("\n".join(inside_lines))
        visible = _normal("\n".join(shown))
        secret = {line for line in hidden if BEGIN in line or END in line
                  or (len(line) >= MIN_SECRET and line not in visible)}
        visible_grams = set().union(*(_grams([m.group(0) for m in TOKEN.finditer(text)]) for text in shown))
        grams = set().union(*map(_code_grams, regions)) - visible_grams
        labels = "\n".join(m.group(0) for region in regions for m in STRING_OR_COMMENT.finditer(region)
                           if not m.group(0).startswith("#"))   # the labels tests give the checks: shown
        grade_ids = "\n".join(cell.metadata.get("nbgrader", {}).get("grade_id", "") for cell in release.cells)
        vocabulary = package_words() | set(WORD.findall("\n".join(cell.source for cell in release.cells) + labels
                                                        + grade_ids))
        return cls(sorted(secret, key=lambda line: (-len(line), line)), frozenset(vocabulary), frozenset(hidden_cells),
                   frozenset(grams))

    @classmethod
    def from_files(cls, source: Path, release: Path) -> "HiddenTests":
        """From source/<assignment>/<notebook>.ipynb and release/...; without a release folder, from the
        student version made from the source (solutions and hidden tests removed)."""
        if not Path(source).is_file():
            raise FileNotFoundError(f"no source notebook {source}: without it the hidden tests cannot be told "
                                    f"apart, so no feedback is shown")
        source_nb = nbformat.read(source, as_version=4)
        release_nb = nbformat.read(release, as_version=4) if Path(release).is_file() else released_version(source_nb)
        return cls.of(source_nb, release_nb)

    def leaks(self, text: str) -> list[str]:
        """The secret lines that text shows (white space and colours ignored)."""
        text = _normal(text)
        return [line for line in self.secret_lines if line in text]

    def quotes_code(self, text: str) -> bool:
        """Whether text holds a run of NGRAM words and numbers of hidden code, forwards or backwards,
        whatever separates them (spaces, new lines, punctuation)."""
        tokens = [m.group(0) for m in TOKEN.finditer(ANSI.sub("", text))]
        return bool((_grams(tokens) | _grams(tokens[::-1])) & self.secret_grams)

    def check_message(self, message: str) -> str:
        """A message of the checks or the grader as a student may see it (see the module docstring).

        Student code can raise or forge such a message, so no part of it is trusted: what the checks
        quoted from student code (STUDENT_TEXT_START...END) becomes STUDENT_MESSAGE; every word that is
        not a word of the course (the checks, mini_autograd, the student version of the notebook,
        Python's builtins) becomes "…", and so do numbers past the MAX_MESSAGE_NUMBERS-th or longer
        than MAX_NUMBER_CHARS; paths and unusual characters go; at most MAX_MESSAGE_LINES lines and
        MAX_MESSAGE_CHARS characters. A message that shows a hidden-test line or a run of hidden code
        is replaced by HIDDEN_MESSAGE."""
        text = ANSI.sub("", str(message))
        text = re.sub(f"{STUDENT_TEXT_START}[^{STUDENT_TEXT_END}]*(?:{STUDENT_TEXT_END}|$)", STUDENT_MESSAGE, text)
        if self.leaks(text) or self.quotes_code(text):
            return HIDDEN_MESSAGE
        text = PATH.sub("…", UNPRINTABLE.sub("", text.replace("\r", "")))
        numbers = 0

        def token(match: re.Match) -> str:
            nonlocal numbers
            if match.group("number") is not None:
                numbers += 1
                keep = numbers <= MAX_MESSAGE_NUMBERS and len(match.group(0)) <= MAX_NUMBER_CHARS
                return match.group(0) if keep else "…"
            return match.group(0) if match.group(0) in self.vocabulary else "…"

        text = re.sub(r"…(?:[ \t]*…)+", "…", TOKEN.sub(token, text))
        lines = text.strip().splitlines()
        text = "\n".join(lines[:MAX_MESSAGE_LINES]) + ("\n…" if len(lines) > MAX_MESSAGE_LINES else "")
        text = text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS - 1] + "…"
        return HIDDEN_MESSAGE if self.leaks(text) or self.quotes_code(text) else text


# -- the verdict of a test cell ---------------------------------------------------------------

def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def has_hidden_tests(cell, hidden: HiddenTests) -> bool:
    """Whether the instructor's version of this cell has hidden tests (whatever the cell shows now)."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return BEGIN in cell.get("source", "") or PLACEHOLDER in cell.get("source", "") or grade_id in hidden.hidden_cells


def tamper_scan_message(cell) -> str | None:
    """The message autograder.grading.tamper_scan put in front of this test cell's code, if it did: taken
    from the code the grader wrote, not from what the cell printed."""
    first = cell.get("source", "").split("\n", 1)[0]
    match = TAMPER_PREFIX.fullmatch(first)
    if not match:
        return None
    try:
        return str(ast.literal_eval(match.group("message")))
    except (ValueError, SyntaxError):
        return None


def failure(cell, hidden: HiddenTests) -> tuple[str, str] | None:
    """(name, message) that students are shown for a test cell that failed, None if it passed.

    The message of an exception raised by the checks or an error of the grader is shown through
    HiddenTests.check_message; any other exception is named only if it is one of Python's own."""
    prefix = tamper_scan_message(cell)
    if prefix is not None:
        return "TamperingDetected", hidden.check_message(prefix)
    errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    if not errors:
        score, points = determine_grade(cell)   # nbgrader's rule: what the gradebook was given
        if score is None or score >= points:
            return None
        if any(output.get("name") == "stderr" for output in cell.get("outputs", [])):
            return "Stderr", ("The test wrote to stderr (a warning or an error message, from your code or the test), "
                              "which counts as failing; what it wrote is not shown in feedback.")
        return "PartialCredit", f"The test's result gave {score:g} of {points:g} points."
    error = next((e for e in reversed(errors) if e.get("ename") in AUTHORED), errors[-1])
    ename = str(error.get("ename", ""))
    if ename in AUTHORED:
        return ename, hidden.check_message(error.get("evalue", ""))
    if ename == "NotImplementedError":
        return ename, "Your code raised NotImplementedError: this exercise is not done yet."
    if ename in BUILTIN_EXCEPTIONS:
        return ename, (f"The test stopped with {ename}, raised by your code or by the test itself; its message "
                       f"and traceback are not shown in feedback. Run the cell in your notebook to see them.")
    return "Error", ("The test stopped with an exception; its message and traceback are not shown in feedback. "
                     "Run the cell in your notebook to see them.")


def verdict_outputs(cell, hidden: HiddenTests, full_marks: bool = False) -> list:
    """The outputs a test cell keeps in feedback: one line saying it passed, or one error output.
    full_marks: the gradebook gave the cell all its points (after a manual grade, say): it passed."""
    failed = None if full_marks else failure(cell, hidden)
    if failed is None:
        return [nbformat.v4.new_output("stream", name="stdout", text=PASSED + "\n")]
    name, message = failed
    return [nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])]


# -- nbgrader preprocessors (GenerateFeedback, see nbgrader_config.py) -------------------------

class HiddenTestsPreprocessor(NbGraderPreprocessor):
    """A preprocessor that knows what of the notebook is hidden (HiddenTests of its assignment)."""

    source_directory = Unicode(
        "source", help="The folder of <assignment>/<notebook>.ipynb, the instructor's notebooks with the hidden "
                       "tests (relative to the course folder, or absolute)."
    ).tag(config=True)
    release_directory = Unicode(
        "release", help="The folder of <assignment>/<notebook>.ipynb as released to students: what they were shown "
                        "is not secret (relative to the course folder, or absolute)."
    ).tag(config=True)

    def hidden_tests(self, resources) -> HiddenTests:
        info = resources["nbgrader"]
        name = f"{info['notebook']}.ipynb"
        return HiddenTests.from_files(Path(self.source_directory, info["assignment"], name),
                                      Path(self.release_directory, info["assignment"], name))


class ScrubHiddenTests(HiddenTestsPreprocessor):
    """In every cell but the student's answers, each hidden-test region becomes one line `# hidden tests`."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = scrub_source(cell.source)
        return cell, resources


def scrub_source(source: str) -> str:
    lines = []
    for line, inside in _regions(source):
        if not inside:
            lines.append(line)
        elif BEGIN in line:
            lines.append(line[: len(line) - len(line.lstrip())] + PLACEHOLDER)
    return "\n".join(lines)


class ShowVerdicts(HiddenTestsPreprocessor):
    """Test cells show their verdict only; the student's cells that ran after a hidden test show a note
    instead of their outputs (see the module docstring)."""

    drop_after_hidden_tests = Integer(
        1, help="1: drop the outputs of every non-test cell after the first test cell with hidden tests (student "
                "code may print there what it read during a test). 0: keep them (not safe)."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        hidden = self.hidden_tests(resources)
        after_hidden = False
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_test_cell(cell):
                meta = cell.metadata.get("nbgrader", {})
                full = meta.get("score") is not None and meta["score"] >= meta.get("points", float("inf"))
                cell.outputs = verdict_outputs(cell, hidden, full)
                after_hidden = after_hidden or has_hidden_tests(cell, hidden)
            elif after_hidden and self.drop_after_hidden_tests and cell.get("outputs"):
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=DROPPED_NOTE)]
            else:
                cell.outputs = text_outputs(cell.get("outputs", []))
            cell.execution_count = None
        return nb, resources


def text_outputs(outputs: list) -> list:
    """The outputs of a cell that ran before any hidden test: printed text, errors and displays (the
    Graphviz drawings and plots; SanitizeNotebook makes them safe to render). The grader lets a display
    be updated only while its own cell runs (autograder/grading/executor.py), so no later cell, which may have
    read a hidden test, can have rewritten one. Execution results and displays keep their data."""
    kept = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            kept.append(nbformat.v4.new_output("stream", name=output.get("name", "stdout"), text=output.get("text", "")))
        elif kind == "error":
            kept.append(nbformat.v4.new_output("error", ename=output.get("ename", ""), evalue=output.get("evalue", ""),
                                               traceback=list(output.get("traceback", []))))
        elif kind in ("display_data", "execute_result"):
            kept.append(nbformat.v4.new_output("display_data", data=dict(output.get("data", {})),
                                               metadata=dict(output.get("metadata", {}))))
    return kept


class HideGraderPaths(NbGraderPreprocessor):
    """Paths of the grading machine in text outputs (tracebacks, printed paths) are cut to their last two
    parts: students see `…/numpy/linalg.py`, not where the course or the sandbox is."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = short_paths(output["text"])
            if output.get("output_type") == "error":
                output["evalue"] = short_paths(output.get("evalue", ""))
                output["traceback"] = [short_paths(line) for line in output.get("traceback", [])]
            data = output.get("data", {})
            if "text/plain" in data:
                data["text/plain"] = short_paths(data["text/plain"])
        return cell, resources


def short_paths(text) -> str:
    text = "".join(text) if isinstance(text, list) else str(text)

    def cut(match: re.Match) -> str:
        parts = [p for p in re.split(r"[/\\]", match.group(0)) if p]
        return "…/" + "/".join(parts[-2:])

    return PATH.sub(cut, text)


class LeakedHiddenTests(Exception):
    """A feedback notebook would still show hidden test code."""


class RefuseHiddenTestLeaks(HiddenTestsPreprocessor):
    """Fails (so nbgrader writes no feedback page for this student) when any cell's code or output still
    shows a secret hidden-test line: the last line of defence if a step before it went wrong."""

    def preprocess(self, nb, resources):
        hidden = self.hidden_tests(resources)
        found = hidden.leaks(notebook_text(nb))
        if found:
            info = resources["nbgrader"]
            raise LeakedHiddenTests(f"the feedback of {info['student']} for {info['assignment']}/{info['notebook']} "
                                    f"would show hidden test code ({found[0]!r}); no page is written")
        return nb, resources


def notebook_text(nb) -> str:
    """Every cell's code and every text of its outputs, as one string."""
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts += [output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]
            parts += [value if isinstance(value, str) else "".join(value) if isinstance(value, list) else ""
                      for value in output.get("data", {}).values()]
    return "\n".join(parts)
