"""course collect and course feedback, for real.

Collect: from a folder, from an LMS archive (with zip-slip, symbolic-link, oversized and
non-notebook entries) and from nbgrader's exchange after students fetched and submitted with
nbgrader's own exchange classes. Feedback: two students graded by nbgrader's real autograde
into a real SQLite gradebook; nbgrader's plain feedback shows the hidden tests, ours does not:
it shows a verdict per test cell and keeps the checks' failure messages. Errors: exit status 2 and a message that says what to do.
"""

from __future__ import annotations

import copy
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
from nbgrader.preprocessors import GetGrades
from traitlets.config import Config

from autograder.grading import feedback_scrub
from autograder.grading.feedback_scrub import ScrubHiddenTests, ShowVerdicts
from course.cli import main
from course.feedback import html_text
from course_harness import ROOT, Course, cell, mutate, release_notebook, source_notebook

A = "01_derivatives"
NB = f"{A}.ipynb"


def make_course(folder: Path, extra_config: str = "") -> Course:
    """A temporary course whose nbgrader_config.py names its own exchange (as an instructor's would)."""
    course = Course.temporary(folder, [A])
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + f"\nc.Exchange.root = {str(course.root / 'exchange')!r}\n" + extra_config)
    return course


def cli(course: Course, *args: str) -> int:
    return main([*args, "--course", str(course.root), "--db-url", course.config.CourseDirectory.db_url])


def answered() -> nbformat.NotebookNode:
    """The student version with the instructor's answers typed in (no solution delimiters)."""
    nb, source = release_notebook(A), source_notebook(A)
    for mine, theirs in zip(nb.cells, source.cells, strict=True):
        assert mine.metadata.get("nbgrader", {}).get("grade_id") == theirs.metadata.get("nbgrader", {}).get("grade_id")
        if theirs.metadata.get("nbgrader", {}).get("solution"):
            mine.source = "\n".join(line for line in theirs.source.splitlines() if "SOLUTION" not in line)
    return nb


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(nb).encode()


def submitted(course: Course, student: str, name: str = NB) -> Path:
    return course.root / "submitted" / student / A / name


# -- collect from a folder --------------------------------------------------------------------


def test_collect_from_a_folder(tmp_path, capsys):
    """Both folder layouts, timestamp.txt kept, a renamed single notebook collected under the
    expected name, an ambiguous student reported missing, a broken file copied as is; collecting
    again replaces the earlier copy and says so."""
    course = make_course(tmp_path / "course")
    inbox = tmp_path / "inbox"
    files = {
        f"alice/{A}/{NB}": notebook_bytes(answered()),
        f"alice/{A}/timestamp.txt": b"2024-03-01 12:00:00.000000 UTC",
        f"bob/{NB}": notebook_bytes(release_notebook(A)),        # <student>/*.ipynb
        "carol/homework.ipynb": b'{"carol": "renamed"}',         # the only notebook, renamed
        "dave/a.ipynb": b"{}", "dave/b.ipynb": b"{}",            # ambiguous: missing
        f"erin/{NB}": b"\x00 not json at all",                   # broken: copied anyway
        f"fred/04_mlp/04_mlp.ipynb": b"{}",                      # handed in another assignment only
        "notes.txt": b"not a student",
    }
    for name, data in files.items():
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(data)

    assert cli(course, "collect", A, "--from", str(inbox)) == 1  # dave's notebook is missing
    out = capsys.readouterr().out
    assert submitted(course, "alice").read_bytes() == files[f"alice/{A}/{NB}"]
    assert submitted(course, "alice", "timestamp.txt").read_text().strip() == "2024-03-01 12:00:00.000000 UTC"
    assert submitted(course, "bob").read_bytes() == files[f"bob/{NB}"]
    assert submitted(course, "carol").read_bytes() == files["carol/homework.ipynb"]
    assert submitted(course, "erin").read_bytes() == files[f"erin/{NB}"]
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == ["alice", "bob", "carol", "erin"]
    assert sorted(p.name for p in submitted(course, "carol").parent.iterdir()) == [NB]
    assert f"renamed homework.ipynb -> {NB}" in out
    assert f"dave: missing {NB} (found: a.ipynb, b.ipynb)" in out
    assert "notes.txt: not in a student folder" in out
    assert re.search(rf"fred\s+-\s+no {A}/ folder: not handed in", out) and "fred:" not in out
    assert re.search(r"alice\s+1/1", out) and re.search(r"dave\s+0/1\s+not collected", out)
    assert "4 student(s) collected, 1 problem(s)" in out

    (inbox / f"alice/{A}/{NB}").write_bytes(b'{"second": "try"}')
    shutil.rmtree(inbox / "dave")
    assert cli(course, "collect", A, "--from", str(inbox)) == 0
    assert submitted(course, "alice").read_bytes() == b'{"second": "try"}'
    assert re.search(r"alice\s+1/1\s+replaced the earlier copy", capsys.readouterr().out)


# -- collect from an LMS archive --------------------------------------------------------------


def test_collect_from_an_lms_zip_rejects_unsafe_entries(tmp_path, capsys):
    """Moodle, Canvas and plain names are collected; zip-slip, links, oversized and corrupt entries
    are rejected without writing anything; other files are skipped."""
    course = make_course(tmp_path / "course", "c.CourseDirectory.max_file_size = 1000  # kB\n")
    archive = tmp_path / "download.zip"
    good = {
        f"alice_{A}.ipynb": ("alice", b'{"alice": 1}'),
        f"smithjane_12345_67890_{A}-1.ipynb": ("smithjane-12345", b'{"canvas": 1}'),   # name slug + LMS number
        f"Jane Doe_4242_assignsubmission_file_/{A}.ipynb": ("jane.doe-4242", b'{"moodle": 1}'),
        "bob_777_my homework.ipynb": ("bob", b'{"renamed": 1}'),
    }
    evil = ["../../evil_up.ipynb", f"{tmp_path}/evil_absolute.ipynb", "carol_1/../../../evil_nested.ipynb",
            "carol_2\\..\\..\\evil_windows.ipynb"]
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, (_, data) in good.items():
            zf.writestr(name, data)
        for name in evil:
            zf.writestr(name, b'{"evil": 1}')
        link = zipfile.ZipInfo(f"mallory_{A}.ipynb")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr(f"big_1_{A}.ipynb", b" " * 2_000_000)
        zf.writestr("readme.txt", b"hello")
        zf.writestr(f"__MACOSX/._alice_{A}.ipynb", b"\x00\x05")
        zf.writestr(f"zoe_{A}.ipynb", b'{"zoe": "ZOE-CONTENT"}', compress_type=zipfile.ZIP_STORED)
    archive.write_bytes(archive.read_bytes().replace(b"ZOE-CONTENT", b"ZOE-CONTENX"))  # a bad CRC

    assert cli(course, "collect", A, "--zip", str(archive)) == 1
    out = capsys.readouterr().out
    for name, (student, data) in good.items():
        assert submitted(course, student).read_bytes() == data, name
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == sorted(s for s, _ in good.values())
    assert f"renamed 777_my homework.ipynb -> {NB}" in out
    for name in evil:
        assert f"rejected {name}: its path leaves the archive folder (zip-slip); nothing written" in out
    assert f"rejected mallory_{A}.ipynb: it is a symbolic link" in out
    assert f"rejected big_1_{A}.ipynb: 2,000,000 bytes, more than the limit of 1,000,000" in out
    assert f"rejected zoe_{A}.ipynb: cannot be read (Bad CRC-32" in out
    assert "readme.txt: not a notebook" in out
    assert "4 student(s) collected, 7 problem(s), 1 file(s) skipped" in out
    written = [p for p in tmp_path.rglob("*evil*")] + [p for p in (ROOT, ROOT.parent, Path.cwd()) if list(p.glob("evil*"))]
    assert written == [], written


# -- collect from nbgrader's exchange ---------------------------------------------------------


def as_student(course: Course, student: str, home: Path, action) -> None:
    """Run nbgrader's exchange fetch or submit as the student, in their own folder."""
    c = Config()
    c.CourseDirectory.course_id = "autodiff"
    c.CourseDirectory.assignment_id = A
    c.CourseDirectory.student_id = student
    c.Exchange.root = str(course.root / "exchange")
    c.Exchange.assignment_dir = str(home)
    c.Exchange.cache = str(home / ".nbgrader_cache")
    action(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c).start()


def test_collect_from_the_exchange(tmp_path, capsys):
    """Release to a real exchange, fetch and submit as two students with nbgrader's own classes
    (bob renamed his notebook), collect; again with nothing new; again after a resubmission."""
    # root submits for alice and bob here (no Unix users of theirs): a shared-user set-up, so nbgrader's
    # owner check is off; tests/test_hostile_files.py checks it with real per-student users
    course = make_course(tmp_path / "course", "c.ExchangeCollect.check_owner = False\n")
    shutil.copytree(ROOT / "release" / A, course.root / "release" / A)
    result = course.api().release_assignment(A)
    assert result["success"], result
    homes = {student: tmp_path / student for student in ("alice", "bob")}
    for student, home in homes.items():
        as_student(course, student, home, ExchangeFetchAssignment)
    nbformat.write(answered(), homes["alice"] / A / NB)
    (homes["bob"] / A / NB).rename(homes["bob"] / A / "my copy.ipynb")
    for student, home in homes.items():
        as_student(course, student, home, ExchangeSubmit)

    assert cli(course, "collect", A) == 0
    out = capsys.readouterr().out
    assert "2 new submission(s) in the exchange" in out
    assert submitted(course, "alice").read_bytes() == (homes["alice"] / A / NB).read_bytes()
    inbound = course.root / "exchange" / "autodiff" / "inbound"
    [alice_inbound] = inbound.glob(f"alice+{A}+*")
    assert submitted(course, "alice", "timestamp.txt").read_text() == (alice_inbound / "timestamp.txt").read_text()
    assert submitted(course, "bob").read_bytes() == (homes["bob"] / A / "my copy.ipynb").read_bytes()
    assert f"renamed my copy.ipynb -> {NB}" in out

    assert cli(course, "collect", A) == 0
    assert "0 new submission(s) in the exchange" in capsys.readouterr().out

    nb = answered()
    nb.cells[-1].source = "# second thoughts"
    nbformat.write(nb, homes["alice"] / A / NB)
    as_student(course, "alice", homes["alice"], ExchangeSubmit)
    assert cli(course, "collect", A) == 0
    out = capsys.readouterr().out
    assert re.search(r"alice\s+1/1\s+replaced the earlier copy with a newer submission", out)
    assert "1 new submission(s) in the exchange" in out and "1 earlier one(s) unchanged" in out
    assert "# second thoughts" in submitted(course, "alice").read_text()


# -- feedback ---------------------------------------------------------------------------------


def hidden_test_lines() -> list[str]:
    """Lines (longer than 12 characters) inside the source notebook's hidden-test regions that do
    not also appear outside them."""
    inside, outside = set(), set()
    for c in source_notebook(A).cells:
        hidden = False
        for line in c.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                hidden = "BEGIN" in line
            elif len(line.strip()) > 12:
                (inside if hidden else outside).add(line.strip())
    assert len(inside - outside) > 40
    return sorted(inside - outside)


def feedback_page(course: Course, student: str) -> Path:
    return course.root / "feedback" / student / A / f"{A}.html"


def error_output(nb: nbformat.NotebookNode, grade_id: str) -> dict:
    [error] = [o for o in cell(nb, grade_id).outputs if o.output_type == "error"]
    return error


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Two students graded by nbgrader's autograde: all solved, and a mutant failing a hidden test
    of ex4-forward-tests. Returns the course and the text of nbgrader's plain feedback pages."""
    course = make_course(tmp_path_factory.mktemp("feedback") / "course")
    course.generate(A)
    students = {"solved": answered(), "mutant": mutate(answered(), "ex4-solution", '"b": b,', '"b": a,')}
    for student, nb in students.items():
        course.submit(student, A, nb)
        course.autograde(A, student)
    lost = {g for g, (score, most) in course.scores(A, "mutant").items() if score < most}
    assert lost == {"ex4-forward-tests"} and sum(s for s, _ in course.scores(A, "solved").values()) == 100
    configured = course.config.GenerateFeedback.preprocessors
    course.config.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor]  # nbgrader as it comes
    try:
        result = course.api().generate_feedback(A)
    finally:
        course.config.GenerateFeedback.preprocessors = configured
    assert result["success"], result
    plain = {student: html_text(feedback_page(course, student)) for student in students}
    shutil.rmtree(course.root / "feedback")
    return course, plain


@pytest.mark.nbgrader
def test_plain_nbgrader_feedback_shows_the_hidden_tests(graded):
    """Without the course's feedback steps the pages show every hidden-test line, in the cells and in the traceback."""
    _, plain = graded
    for student, text in plain.items():
        assert [line for line in hidden_test_lines() if line not in text] == [], student
    assert plain["mutant"].count("for key, value in expected.items():") == 2  # the cell and the traceback


@pytest.mark.nbgrader
def test_course_feedback_has_no_hidden_tests_and_keeps_the_failure_message(graded, capsys):
    """`course feedback`: a page per student, no hidden-test line anywhere, a placeholder per hidden
    region, the public tests and the check's failure message still there; a verdict per test cell and
    no traceback."""
    course, _ = graded
    assert cli(course, "feedback", A) == 0
    out = capsys.readouterr().out
    assert re.search(r"mutant\s+01_derivatives.html", out) and re.search(r"solved\s+01_derivatives.html", out)
    assert "problem:" not in out
    failure = error_output(course.autograded_notebook(A, "mutant"), "ex4-forward-tests")["evalue"]
    assert failure.startswith('Exercise 4 (forward pass): forward_pass(-1.2)["b"]: expected')
    for student in ("solved", "mutant"):
        text = html_text(feedback_page(course, student))
        assert [line for line in hidden_test_lines() if line in text] == [], student
        assert "BEGIN HIDDEN TESTS" not in text and "END HIDDEN TESTS" not in text
        assert text.count("# hidden tests") == 7  # one per test cell with hidden tests
        assert 'check_values(values["c"], c, "Exercise 4 (forward pass)", \'forward_pass(1.0)["c"]\')' in text
        assert "Traceback" not in text and "Cell In[" not in text and "checks.py" not in text
    mutant = html_text(feedback_page(course, "mutant"))
    assert f"CheckFailed: {failure}" in mutant  # a check's own message is shown as it is
    assert mutant.count("Passed.") == 7 and html_text(feedback_page(course, "solved")).count("Passed.") == 8
    assert "CheckFailed" not in html_text(feedback_page(course, "solved"))


@pytest.mark.nbgrader
def test_verdicts_replace_the_test_cells_outputs(graded):
    """The preprocessors alone, on the mutant's autograded notebook: the traceback quoted hidden
    tests before; after, the test cell has one error output, the check's message, untouched."""
    course, _ = graded
    nb = course.autograded_notebook(A, "mutant")
    before = error_output(nb, "ex4-forward-tests")
    plain_before = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(before.traceback))
    assert any(line in plain_before for line in hidden_test_lines())
    assert "checks.py" not in plain_before and "Cell In[" in plain_before  # the checks' frames are hidden in the notebook too
    directories = dict(source_directory=str(course.root / "source"), release_directory=str(course.root / "release"))
    resources = {"nbgrader": {"assignment": A, "notebook": A, "student": "mutant"}}
    after = copy.deepcopy(nb)
    for step in (ScrubHiddenTests(**directories), ShowVerdicts(**directories)):
        after, resources = step.preprocess(after, resources)
    [output] = cell(after, "ex4-forward-tests").outputs
    assert (output.ename, output.evalue, output.traceback) == ("CheckFailed", before.evalue, [f"CheckFailed: {before.evalue}"])
    assert [o.text for o in cell(after, "ex4-reverse-tests").outputs] == ["Passed.\n"]
    assert "# hidden tests" in cell(after, "ex4-forward-tests").source
    assert [line for line in hidden_test_lines() if line in nbformat.writes(after)] == []

    with pytest.raises(FileNotFoundError, match="no source notebook"):
        ShowVerdicts(source_directory=str(course.root / "nowhere")).preprocess(copy.deepcopy(nb), resources)


@pytest.mark.nbgrader
def test_course_feedback_writes_no_page_that_still_shows_hidden_tests(graded, capsys, monkeypatch):
    """The last lines of defence: with the region scrubbing switched off, the pipeline's own leak check
    stops nbgrader from writing the pages; with that switched off too, `course feedback` deletes them."""
    course, _ = graded
    monkeypatch.setattr(feedback_scrub, "scrub_source", lambda source: source)
    assert cli(course, "feedback", A) == 1
    out = capsys.readouterr().out
    assert "solved: no feedback page written" in out and "mutant: no feedback page written" in out
    assert "would show hidden test code" in out
    assert not feedback_page(course, "solved").exists() and not feedback_page(course, "mutant").exists()

    monkeypatch.setattr(feedback_scrub.RefuseHiddenTestLeaks, "preprocess", lambda self, nb, resources: (nb, resources))
    assert cli(course, "feedback", A) == 1
    out = capsys.readouterr().out
    assert "solved/01_derivatives.html showed hidden test code" in out and "deleted" in out
    assert not feedback_page(course, "solved").exists() and not feedback_page(course, "mutant").exists()


@pytest.mark.nbgrader
def test_course_feedback_refuses_a_configuration_without_the_scrubbing(graded, capsys):
    course, _ = graded
    config = course.root / "nbgrader_config.py"
    saved = config.read_text()
    try:
        config.write_text(saved + "\nc.GenerateFeedback.preprocessors = ['nbgrader.preprocessors.GetGrades']\n")
        assert cli(course, "feedback", A) == 2
        err = capsys.readouterr().err
        assert "lacks autograder.grading.feedback_scrub.ScrubHiddenTests" in err and "show hidden tests" in err
    finally:
        config.write_text(saved)


# -- errors -----------------------------------------------------------------------------------


def not_a_zip(tmp_path: Path) -> Path:
    path = tmp_path / "download.zip"
    path.write_text("<html>Session expired</html>")
    return path


@pytest.mark.parametrize("args, message", [
    (lambda t: ["collect", "02_nope", "--from", str(t)], "no assignment '02_nope' in"),
    (lambda t: ["collect", A, "--from", str(t / "missing")], "--from takes a folder of <student>/01_derivatives/*.ipynb"),
    (lambda t: ["collect", A, "--zip", str(not_a_zip(t))], "is not a zip archive"),
    (lambda t: ["collect", A, "--zip", str(t / "missing.zip")], "--zip takes the .zip archive"),
    (lambda t: ["collect", A], "nbgrader release_assignment 01_derivatives"),
    (lambda t: ["feedback", A], "course grade 01_derivatives"),
], ids=["unknown-assignment", "missing-folder", "not-a-zip", "missing-zip", "no-exchange", "feedback-before-grading"])
def test_errors_exit_2_and_say_what_to_do(tmp_path, capsys, args, message):
    """Through course.cli.main: exit status 2, a message that says what to do, nothing written."""
    course = make_course(tmp_path / "course")
    assert cli(course, *args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.startswith("course ") and ": error: " in err
    if "no assignment" in message:
        assert "Assignments: 01_derivatives." in err
    assert not (course.root / "submitted").exists() and not (course.root / "feedback").exists()


@pytest.mark.nbgrader
@pytest.mark.sandbox
def test_a_submission_no_notebook_of_which_could_be_read_gets_a_page_saying_why(tmp_path, capsys):
    """nbgrader has nothing to render for it, but the student is owed the reason for the zero."""
    course = make_course(tmp_path / "course")
    course.generate(A)
    course.submit("solved", A, answered())
    broken = submitted(course, "broken")
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b'{"cells": [{"source": "<script>alert(1)</script>"')
    cli(course, "grade", A)
    capsys.readouterr()
    assert cli(course, "feedback", A) == 0
    out = capsys.readouterr().out
    assert re.search(r"solved\s+01_derivatives.html", out)
    assert re.search(r"broken\s+01_derivatives.html\s+\(no notebook could be read", out)
    assert "problem:" not in out
    page = course.root / "feedback" / "broken" / A / "01_derivatives.html"
    assert "Content-Security-Policy" in page.read_text() and "<script>" not in page.read_text()
    text = html_text(page)
    assert "01_derivatives: 0 / 100" in text and "01_derivatives.ipynb is not valid JSON" in text
