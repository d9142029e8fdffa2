"""Feedback shows students the checks' verdicts and never the hidden tests, through the real workflow.

`course release`, `course collect`, `course grade` (sandboxed kernels, real nbgrader, a real SQLite
gradebook), `course feedback`, `course export` and `course report`, as an instructor runs them:

- the instructor's solutions of all five assignments, and a correct variant, each get their
  feedback page, with a verdict per test cell, and no `problem:` line;
- the hostile submissions of course/banks/hostile_feedback.py read the hidden tests while a test
  cell runs (In, _ih, the history manager, frames and linecache, inspect) and print, write to
  stderr, display, warn, raise, forge a check's failure, get a check to quote them, or stash them
  for a later cell, in plain text, base64, hex, rot13, reversed or split across lines. The graded
  notebooks (the instructor's view) show that each attack got the hidden code out of the test cell;
  neither the feedback pages, results.json, grades.csv, report.md nor the terminal show any of it,
  by any of those encodings (decoded and searched here, independently of the code under test); each
  student still gets a page with the checks' verdicts and the score the bank expects.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import csv
import html
import io
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder.grading.feedback_scrub import DROPPED_NOTE, HIDDEN_MESSAGE, PASSED, STUDENT_MESSAGE, ShowVerdicts
from course import banks
from course.banks import hostile_feedback
from course.assignments import NAMES
from course.banks.adversarial import Context
from course.cli import main
from course.course_dir import Course
from course.feedback import html_text
from course_harness import release_notebook, source_notebook

pytestmark = [pytest.mark.nbgrader, pytest.mark.sandbox]

ASSIGNMENTS = list(NAMES)


# -- finding hidden code, whatever its encoding --------------------------------------------------

def secret_lines(assignment: str) -> list[str]:
    """Lines of the source notebook's hidden-test regions (20 characters or more) that neither the
    release nor the source outside those regions shows: the code students must never see."""
    shown = [c.source for c in release_notebook(assignment).cells]
    inside = set()
    for c in source_notebook(assignment).cells:
        hidden = False
        for line in c.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                hidden = "BEGIN" in line
                inside.add(line.strip())
            elif hidden:
                inside.add(line.strip())
            else:
                shown.append(line)
    visible = "\n".join(shown)
    secret = sorted(line for line in inside if len(line) >= 20 and _squash(line) not in _squash(visible))
    assert len(secret) >= 10, assignment
    return secret


def _visible_letters(assignment: str) -> str:
    return _letters("\n".join(c.source for c in release_notebook(assignment).cells))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def decodings(text: str) -> list[str]:
    """text, unescaped, reversed and rot13'd, and every base64 or hex run in them decoded."""
    forms = [text, html.unescape(text)]
    forms += [form[::-1] for form in forms] + [codecs.decode(form, "rot13") for form in forms]
    decoded = []
    for form in forms:
        for run in re.findall(r"[A-Za-z0-9+/]{24,}={0,2}", form):
            for start in range(4):
                chunk = run[start:].rstrip("=")
                chunk = chunk[: len(chunk) - len(chunk) % 4]
                try:
                    decoded.append(base64.b64decode(chunk).decode("utf-8", "ignore"))
                except (binascii.Error, ValueError):
                    pass
        for run in re.findall(r"[0-9a-fA-F]{32,}", form):
            for start in (0, 1):
                chunk = run[start:][: (len(run) - start) // 2 * 2]
                decoded.append(bytes.fromhex(chunk).decode("utf-8", "ignore"))
    return forms + decoded


def leaked(text: str, secrets: list[str], visible_letters: str = "") -> list[str]:
    """The secret lines that text shows in any of the encodings, ignoring white space, and ignoring
    punctuation too (for code split up by separators) when the line's letters and digits alone are
    not in visible_letters (what the release shows, with punctuation and white space removed)."""
    found = set()
    by_letters = [s for s in secrets if len(_letters(s)) >= 20 and _letters(s) not in visible_letters]
    for form in decodings(text):
        squashed, letters = _squash(form), _letters(form)
        found.update(s for s in secrets if _squash(s) in squashed)
        found.update(s for s in by_letters if _letters(s) in letters)
    return sorted(found)


def test_the_detector_finds_every_encoding():
    """The detector of this file finds a hidden line in each encoding of the bank, and not in the release."""
    secrets = secret_lines("01_derivatives")
    code = next(c.source for c in source_notebook("01_derivatives").cells if "BEGIN HIDDEN TESTS" in c.source)
    for encoded in (code, base64.b64encode(code.encode()).decode(), "x" + base64.b64encode(b"ab" + code.encode()).decode(),
                    code.encode().hex(), codecs.encode(code, "rot13"), code[::-1], "\n".join(code), "|".join(code.split()),
                    html.escape(code), json.dumps(code)):
        assert leaked(f"before {encoded} after", secrets), encoded[:80]
    for assignment in ASSIGNMENTS:
        release = nbformat.writes(release_notebook(assignment))
        assert leaked(release, secret_lines(assignment), _visible_letters(assignment)) == [], assignment


# -- the workflow -----------------------------------------------------------------------------

def cli(root: Path, *args: str) -> tuple[int, str]:
    """A `course` command in the course folder root: its exit status and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main([*args, "--course", str(root)])
    return status, printed.getvalue()


def run_course(root: Path, assignment: str, submissions: dict[str, dict[str, bytes]]) -> dict[str, str]:
    """release, collect from a folder, grade, feedback, report: {step: what it printed}; every step succeeds."""
    printed = {}
    inbox = root.parent / f"inbox-{assignment}"
    for student, files in submissions.items():
        (inbox / student / assignment).mkdir(parents=True)
        for name, data in files.items():
            (inbox / student / assignment / name).write_bytes(data)
    for step, args in (("release", ["release", assignment]), ("collect", ["collect", assignment, "--from", str(inbox)]),
                       ("grade", ["grade", assignment, "--workers", "2"]),
                       ("feedback", ["feedback", assignment]), ("report", ["report", assignment])):
        status, printed[step] = cli(root, *args)
        assert status == 0, (step, printed[step])
    return printed


def scores(root: Path) -> dict[tuple[str, str], float]:
    with open(root / "exports" / "grades.csv") as handle:
        return {(row["assignment"], row["student_id"]): float(row["score"]) for row in csv.DictReader(handle)}


def page(root: Path, student: str, assignment: str) -> Path:
    return root / "feedback" / student / assignment / f"{assignment}.html"


def graded_test_cells(assignment: str) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in source_notebook(assignment).cells
            if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")]


def artefacts(root: Path, student: str, assignment: str) -> dict[str, str]:
    """Everything the student, or anyone reading the class's reports, is shown."""
    shown = {"page": page(root, student, assignment).read_text(encoding="utf-8")}
    shown["page text"] = html_text(page(root, student, assignment))
    results = root / "exports" / "gradescope" / assignment / student / "results.json"
    shown["results.json"] = results.read_text()
    shown["results.json outputs"] = "\n".join(t["output"] for t in json.loads(shown["results.json"])["tests"])
    shown["grades.csv"] = (root / "exports" / "grades.csv").read_text()
    shown["report.md"] = (root / "reports" / assignment / "report.md").read_text()
    return shown


# -- honest students get their pages -----------------------------------------------------------

@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    """The instructor's solutions and the first correct variant of every assignment, through the workflow."""
    root = tmp_path_factory.mktemp("honest") / "course"
    Course.temporary(root, ASSIGNMENTS)
    printed = {}
    for assignment in ASSIGNMENTS:
        hand_ins = {"ada": banks.source_notebook(assignment),
                    "emil": banks.submission(assignment, banks.bank_for(assignment).VARIANTS[0])}
        printed[assignment] = run_course(root, assignment, {
            student: {f"{assignment}.ipynb": nbformat.writes(nb).encode()} for student, nb in hand_ins.items()})
    assert cli(root, "export")[0] == 0
    return root, printed


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_honest_students_get_every_page_with_a_verdict_per_test(honest, assignment):
    root, printed = honest
    said = printed[assignment]["feedback"]
    assert "problem:" not in said, said
    secrets = secret_lines(assignment)
    for student in ("ada", "emil"):
        assert re.search(rf"{student}\s+{assignment}\.html", said), said
        text = html_text(page(root, student, assignment))
        assert text.count(PASSED) == len(graded_test_cells(assignment)), (student, text.count(PASSED))
        assert "BEGIN HIDDEN TESTS" not in text and "# hidden tests" in text
        for name, shown in artefacts(root, student, assignment).items():
            assert leaked(shown, secrets, _visible_letters(assignment)) == [], (student, name)
    assert scores(root)[(assignment, "ada")] == 100 and scores(root)[(assignment, "emil")] == 100


# -- hostile students ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "course"
    assignments = [hostile_feedback.ASSIGNMENT, hostile_feedback.CHECK_ASSIGNMENT]
    Course.temporary(root, assignments)
    students, printed = {}, {}
    for assignment, attacks in ((hostile_feedback.ASSIGNMENT, hostile_feedback.ATTACKS),
                                (hostile_feedback.CHECK_ASSIGNMENT, hostile_feedback.CHECK_ATTACKS)):
        made = {f"h{i:02d}": attack for i, attack in enumerate(attacks)}
        students[assignment] = made
        printed[assignment] = run_course(root, assignment, {s: a.build(Context(root)) for s, a in made.items()})
    status, printed["export"] = cli(root, "export")
    assert status == 0, printed["export"]
    return root, students, printed


def _autograded_text(root: Path, student: str, assignment: str) -> str:
    """Every output of the graded notebook (what the instructor sees), as text."""
    nb = nbformat.read(root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
    parts = []
    for c in nb.cells:
        for output in c.get("outputs", []):
            parts += [str(output.get("text", "")), output.get("ename", ""), output.get("evalue", ""),
                      *output.get("traceback", []), *map(str, output.get("data", {}).values())]
    return "\n".join(parts)


def _hostile_cases():
    return [(hostile_feedback.ASSIGNMENT, i) for i in range(len(hostile_feedback.ATTACKS))] + \
           [(hostile_feedback.CHECK_ASSIGNMENT, i) for i in range(len(hostile_feedback.CHECK_ATTACKS))]


def test_the_bank_has_every_way_in_and_out():
    names = " ".join(a.name for a in hostile_feedback.ATTACKS + hostile_feedback.CHECK_ATTACKS)
    for words in ("In", "_ih", "history manager", "frames and linecache", "inspect", "prints", "stderr", "displays",
                  "warns", "stashes", "later cell", "raises ValueError", "forged CheckFailed", "split", "base64", "hex",
                  "class name", "grader error", "check_operation quotes", "renames its class", "update_display"):
        assert words in names, words
    assert set(hostile_feedback.ENCODERS.split("'")) >= {"plain", "base64", "hex", "rot13", "reversed", "lines"}


@pytest.mark.parametrize("assignment, index", _hostile_cases(),
                         ids=[f"{a[:2]}-{i:02d}" for a, i in _hostile_cases()])
def test_hostile_submission_leaks_nothing_and_still_gets_its_verdicts(hostile, assignment, index):
    root, students, printed = hostile
    student = f"h{index:02d}"
    attack = students[assignment][student]
    secrets = secret_lines(assignment)

    # the attack worked: the graded notebook, which only the instructor sees, holds the hidden code;
    # except where the grader itself stops it (a later cell's update of an earlier display is ignored)
    graded = _autograded_text(root, student, assignment)
    visible = _visible_letters(assignment)
    if "update_display" in attack.name:
        assert not leaked(graded, secrets, visible) and "nothing to see" in graded, attack.name
    else:
        assert leaked(graded, secrets, visible), f"{attack.name}: the attack did not get the hidden code out"
    assert attack.reason.lower() in graded.lower(), attack.name

    # none of it reaches what students or the class reports show
    assert f"{student}" in printed[assignment]["feedback"] and "problem:" not in printed[assignment]["feedback"]
    for name, shown in artefacts(root, student, assignment).items():
        assert leaked(shown, secrets, visible) == [], f"{attack.name}: {name} shows hidden code"
        if not name.startswith("page"):   # the page shows the student's own code, which says "leak-..."
            assert not re.search(r"leak[-_]", shown), f"{attack.name}: {name} shows what the attack wrote"
    for step, said in [*printed[assignment].items(), ("export", printed["export"])]:
        assert leaked(said, secrets, visible) == [] and "leak-" not in said, f"{attack.name}: course {step} printed it"

    # and the student gets the checks' verdicts and the expected score
    assert scores(root)[(assignment, student)] == attack.score, attack.name
    text = html_text(page(root, student, assignment))
    results = json.loads(artefacts(root, student, assignment)["results.json"])["tests"]
    assert text.count(PASSED) == sum(t["status"] == "passed" for t in results) > 0
    assert len(results) == len(graded_test_cells(assignment))
    for test in results:
        assert (test["status"] == "passed") == (test["output"] == ""), test
        assert test["output"] == "" or test["output"].split(":", 1)[1].strip() in text, test


def test_what_each_kind_of_failure_shows(hostile):
    """The verdicts are the checks' own words, or fixed sentences."""
    root, students, _ = hostile
    by_name = {a.name: (assignment, s) for assignment, made in students.items() for s, a in made.items()}

    def outputs(name):
        assignment, student = by_name[name]
        return {t["name"].rsplit("(", 1)[1].rstrip(")"): t["output"] for t in json.loads(
            (root / "exports" / "gradescope" / assignment / student / "results.json").read_text())["tests"]}

    assert outputs("leak: raises ValueError with the test cell")["ex1-tests"].startswith(
        "ValueError: The test stopped with ValueError")
    assert outputs("leak: raises a forged CheckFailed quoting the test cell")["ex1-tests"] == f"CheckFailed: {HIDDEN_MESSAGE}"
    assert outputs("leak: raises a forged CheckFailed with the test cell split, in base64 and hex")["ex1-tests"] == \
        f"CheckFailed: {HIDDEN_MESSAGE}"
    assert outputs("leak: raises an exception whose class name is the test cell in hex")["ex1-tests"].startswith(
        "Error: The test stopped with an exception;")
    assert outputs("leak: writes the test cell read from _ih (through __main__) to stderr, encoded")["ex1-tests"] \
        .startswith("Stderr: The test wrote to stderr")
    quoted = outputs("leak: Add.forward raises the test cell, which check_operation quotes")["ex2-add-multiply-tests"]
    assert quoted == f"CheckFailed: Exercise 2 (Add): Add.forward raised ValueError: {STUDENT_MESSAGE}", quoted
    stash = by_name["leak: stashes the test cell during the test and prints it in a later cell"]
    assert DROPPED_NOTE.strip() in html_text(page(root, stash[1], stash[0]))
    early = by_name["leak: rewrites a display made before the tests (update_display) with the test cell"]
    shown = html_text(page(root, early[1], early[0]))
    # the early display is kept and still shows what its own cell displayed (the grader ignored the later
    # cell's update): its text once in the code that made it, once as the display
    assert shown.count("nothing to see") == 2, shown.count("nothing to see")


def test_the_formgrader_config_is_the_one_course_feedback_uses(hostile):
    """nbgrader's own generate_feedback with the course's nbgrader_config.py (as the formgrader runs it)
    writes the same safe pages."""
    root, students, _ = hostile
    api = Course(root).api()
    assignment = hostile_feedback.ASSIGNMENT
    result = api.generate_feedback(assignment, student_id="h00", force=True)
    assert result["success"], result
    assert leaked(page(root, "h00", assignment).read_text(), secret_lines(assignment),
                  _visible_letters(assignment)) == []
    assert ShowVerdicts.class_traits(config=True)["drop_after_hidden_tests"].help
