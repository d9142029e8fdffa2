"""The grading engine (autograder/grading/engine.py) and `course grade`, on real notebooks, real nbgrader,
real sandboxes (bubblewrap), a real SQLite gradebook and a real PostgreSQL server.

- The adversarial bank (course/banks/adversarial.py) graded in one batch: each attack gets its
  expected score and reason, nothing escapes the sandbox, the batch finishes.
- The engine gives the same per-test scores as nbgrader's own autograde.
- `kill -9` in the middle of a batch, then the same command again: the grades of an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
import pytest

from autograder.grading.engine import GradingEngine
from autograder.grading.sandbox import FIRST_SLOT_UID, processes_of_user
from autograder.grading.settings import GradingSettings
from course import banks
from course.banks.adversarial import ATTACKS, Context, every_attack
from course.banks import hostile_files
from course.banks.hostile_kernel import TERMINAL_MARKER
from course.course_dir import Course
from course.grading import explain
from course_harness import release_notebook, source_notebook

pytestmark = [pytest.mark.sandbox, pytest.mark.nbgrader]
warnings.filterwarnings("ignore", module="nbgrader")

ASSIGNMENT = "01_derivatives"


def _reported(course_root: Path, result) -> str:
    """All the grader says about a student: its notes and every output of the graded notebook."""
    text = [explain(result)]
    path = course_root / "autograded" / result.student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if path.exists():
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                text.append(f"{output.get('ename', '')}: {output.get('evalue', '')} {output.get('text', '')}")
    return "\n".join(text)


def _sandbox_processes() -> list[str]:
    """'pid command line' of every process running as a sandbox slot's user."""
    found = []
    for pid in (pid for k in range(4) for pid in processes_of_user(FIRST_SLOT_UID + k)):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:   # ended meanwhile
            continue
        found.append(f"{pid} {command}")
    return found


def _scores(course_root: Path, students) -> dict[str, dict[str, float]]:
    """{student: {grade_id: score}} read from the course's gradebook."""
    with Course(course_root).gradebook() as gb:
        return {student: {grade.name: grade.score for grade in
                          gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).grades}
                for student in students}


# -- the adversarial batch ------------------------------------------------------------------

@pytest.fixture(scope="module")
def adversarial(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    Course.temporary(root, [ASSIGNMENT]).generate(ASSIGNMENT)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    context = Context(root, listener.getsockname()[1])
    attacks = {}
    for i, attack in enumerate(every_attack()):
        student = f"student{i:02d}"
        attacks[student] = attack
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        hostile_files.write_files(folder, attack.build(context), context)   # bytes, links, FIFOs, devices
    engine = GradingEngine(Course(root), workers=2, settings=GradingSettings(cell_timeout=10))
    with _terminal_captured() as terminal:
        results = {r.student: r for r in engine.grade(ASSIGNMENT)}
    try:
        listener.accept()
        connected = True
    except (socket.timeout, BlockingIOError):
        connected = False
    listener.close()
    return root, attacks, results, connected, terminal["printed"]


@contextlib.contextmanager
def _terminal_captured():
    """The grader's own stdout and stderr (file descriptors 1 and 2, which its workers inherit) go to a
    file for the duration; yields a dict whose "printed" holds the bytes written, afterwards."""
    captured = {"printed": b""}
    with tempfile.TemporaryFile() as terminal:
        saved = os.dup(1), os.dup(2)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(terminal.fileno(), 1)
        os.dup2(terminal.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            terminal.seek(0)
            captured["printed"] = terminal.read()


def test_bank_has_the_attacks_the_issue_lists():
    assert len(ATTACKS) >= 25
    names = " ".join(a.name for a in ATTACKS)
    for words in ("infinite loop", "os._exit", "sys.exit", "segfault through ctypes", "memory hog", "fork bomb",
                  "huge output", "monkeypatches numpy", "monkeypatches builtins", "autograder module",
                  "edits a test cell", "deletes a test cell", "prints success", "reads the source notebook",
                  "gradebook", "outside the sandbox", "network", "invalid JSON", "empty file", "nbformat version",
                  "renamed", "missing notebook", "non-UTF-8"):
        assert words in names, words


def test_every_attack_gets_its_expected_score_and_reason(adversarial):
    root, attacks, results, _, _ = adversarial
    wrong = []
    for student, attack in attacks.items():
        result = results[student]
        said = _reported(root, result)
        if result.status != "graded" or result.score != attack.score or attack.reason.lower() not in said.lower():
            wrong.append(f"{attack.name}: {result.status} {result.score:g} (expected {attack.score:g}, "
                         f"reason {attack.reason!r}); the grader said:\n    {said[:400]}")
    assert not wrong, "\n".join(wrong)


def test_batch_finishes_and_honest_students_keep_full_marks(adversarial):
    root, attacks, results, _, _ = adversarial
    assert set(results) == set(attacks)
    honest = [s for s, a in attacks.items() if a.name.startswith("honest")]
    assert len(honest) >= 3
    for student, grades in _scores(root, honest).items():
        assert sum(grades.values()) == 100, (student, grades)


def test_a_dead_kernel_costs_only_the_cells_that_did_not_run(adversarial):
    root, attacks, results, _, _ = adversarial
    student = next(s for s, a in attacks.items() if a.name == "os._exit inside a function under test")
    grades = _scores(root, [student])[student]
    lost = sorted(g for g, s in grades.items() if s == 0)
    assert lost == ["ex4-reverse-tests"]          # ex5, graded after the kernel died, keeps its points
    kinds = [e["kind"] for e in results[student].events]
    assert "kernel_died" in kinds and "restarted" in kinds


def test_nothing_escapes_the_sandbox(adversarial):
    root, attacks, results, connected, terminal = adversarial
    assert not connected, "a sandboxed kernel reached a server on the grader's loopback"
    assert not (root / "pwned.txt").exists() and not (root / "submitted" / "pwned.txt").exists()
    assert not Path("/root/pwned.txt").exists()
    writer = next(s for s, a in attacks.items() if a.name == "writes the gradebook with sqlite3")
    assert sum(_scores(root, [writer])[writer].values()) == 0
    assert _sandbox_processes() == [], "sandboxed processes outlived the batch"
    assert TERMINAL_MARKER.encode() not in terminal, "a kernel wrote to the grader's terminal"


def test_an_input_transformer_would_pass_blank_work_without_the_check_after_each_test(tmp_path, monkeypatch):
    """The control for the hook attacks: blank work with an input transformer (installed from a module,
    which the tamper scan cannot read) scores 100 when the grader's integrity check after each test
    cell is switched off, and 0 with it."""
    from autograder.grading import executor
    from course.banks import hostile_kernel

    def blank_with_transformer(ctx):
        files = hostile_kernel._hook_from_module(hostile_kernel.INPUT_TRANSFORMER)(ctx)
        nb = nbformat.reads(files[f"{ASSIGNMENT}.ipynb"].decode(), as_version=4)
        for answer in nb.cells:
            if answer.metadata.get("nbgrader", {}).get("solution"):
                answer.source = "pass"
        return nbformat.writes(nb)

    totals = {}
    for probe in ("'intact'", executor.INTEGRITY_PROBE):
        monkeypatch.setattr(executor, "INTEGRITY_PROBE", probe)   # the workers fork from this process
        root = tmp_path / ("without" if probe == "'intact'" else "with")
        course = Course.temporary(root, [ASSIGNMENT])
        course.generate(ASSIGNMENT)
        course.submit("blank", ASSIGNMENT, nbformat.reads(blank_with_transformer(Context(root)), as_version=4))
        (result,) = GradingEngine(Course(root), workers=1, settings=GradingSettings(cell_timeout=20)).grade(ASSIGNMENT)
        totals[probe == "'intact'"] = result.score
    assert totals == {True: 100, False: 0}


def test_the_engine_grades_after_nbgrader_autograde_ran_in_the_same_process(tmp_path):
    """nbgrader's autograde (SandboxedExecute) runs a kernel from this process; the engine's workers,
    forked afterwards, must not inherit its ZeroMQ context (which does not survive fork)."""
    root = tmp_path / "course"
    course = Course.temporary(root, [ASSIGNMENT])
    course.generate(ASSIGNMENT)
    course.submit("first", ASSIGNMENT, source_notebook(ASSIGNMENT))
    course.autograde(ASSIGNMENT, "first")                      # in this process
    course.submit("second", ASSIGNMENT, source_notebook(ASSIGNMENT))
    (result,) = GradingEngine(Course(root), workers=1, settings=GradingSettings(cell_timeout=20)).grade(ASSIGNMENT, students=["second"])
    assert (result.status, result.score) == ("graded", 100)


def test_a_record_that_cannot_be_written_does_not_stop_the_batch(tmp_path):
    root = tmp_path / "course"
    course = Course.temporary(root, [ASSIGNMENT])
    course.generate(ASSIGNMENT)
    course.submit("ann", ASSIGNMENT, source_notebook(ASSIGNMENT))
    course.submit("ben", ASSIGNMENT, source_notebook(ASSIGNMENT))
    blocked = root / "grading" / ASSIGNMENT / "ann.json.tmp"
    blocked.mkdir(parents=True)            # where the record would be written: a folder
    results = {r.student: r for r in GradingEngine(Course(root), workers=2).grade(ASSIGNMENT)}
    assert results["ann"].status == "grader_error" and "record could not be written" in results["ann"].error
    assert (results["ben"].status, results["ben"].score) == ("graded", 100)
    assert course.scores(ASSIGNMENT, "ann")["ex1-tests"] == (15.0, 15.0)   # the grade itself is saved
    blocked.rmdir()
    again = {r.student: r for r in GradingEngine(Course(root), workers=2).grade(ASSIGNMENT)}
    assert again["ann"].status == "graded" and again["ben"].status == "skipped"


def test_nbgrader_autograde_in_the_course_runs_student_code_in_the_sandbox(tmp_path, monkeypatch):
    """`nbgrader autograde` itself (what the formgrader's button calls) goes through the sandbox: a
    submission that reads the instructor's source notebook finds nothing, while the solution scores
    100; as a user who cannot start the sandbox it refuses, saying to use `course grade`."""
    root = tmp_path / "course"
    course = Course.temporary(root, [ASSIGNMENT])
    course.generate(ASSIGNMENT)
    course.submit("sol", ASSIGNMENT, source_notebook(ASSIGNMENT))
    thief = next(a for a in ATTACKS if a.name == "reads the source notebook and imports its solutions")
    folder = root / "submitted" / "thief" / ASSIGNMENT
    folder.mkdir(parents=True)
    for name, data in thief.build(Context(root)).items():
        (folder / name).write_bytes(data)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sum(s for s, _ in course.scores(ASSIGNMENT, "sol").values()) == 100
    assert sum(s for s, _ in course.scores(ASSIGNMENT, "thief").values()) == 0
    graded = nbformat.read(root / "autograded" / "thief" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert "No such file or directory" in str([c.get("outputs") for c in graded.cells])

    # As a user who cannot start the sandbox (not root), nbgrader's own API (the formgrader's button)
    # refuses rather than running the notebook in a plain kernel.
    import autograder.grading.sandbox

    monkeypatch.setattr(autograder.grading.sandbox.os, "geteuid", lambda: 1000)
    outcome = Course(root).api().autograde(ASSIGNMENT, "sol", force=True)
    said = f"{outcome.get('error')}\n{outcome.get('log')}"
    assert not outcome["success"]
    assert "runs only in the grading sandbox" in said and f"course grade {ASSIGNMENT}" in said, said[-3000:]


# -- same grades as nbgrader ---------------------------------------------------------------

def test_engine_grades_like_nbgrader_autograde(tmp_path):
    bank = banks.bank_for(ASSIGNMENT)
    submissions = {"solutions": source_notebook(ASSIGNMENT), "release": release_notebook(ASSIGNMENT),
                   "mutant-ex1": banks.submission(ASSIGNMENT, bank.MUTANTS[0]),
                   "mutant-ex4": banks.submission(ASSIGNMENT, bank.MUTANTS[9])}
    plain, ours = Course.temporary(tmp_path / "plain", [ASSIGNMENT]), Course.temporary(tmp_path / "ours", [ASSIGNMENT])
    for course in (plain, ours):
        course.generate(ASSIGNMENT)
        for student, nb in submissions.items():
            course.submit(student, ASSIGNMENT, nb)
    for student in submissions:
        plain.autograde(ASSIGNMENT, student)
    GradingEngine(Course(ours.root), workers=2).grade(ASSIGNMENT)
    for student in submissions:
        assert ours.scores(ASSIGNMENT, student) == plain.scores(ASSIGNMENT, student), student
    assert sum(s for s, _ in ours.scores(ASSIGNMENT, "mutant-ex1").values()) == 85


# -- kill -9 and resume -------------------------------------------------------------------

def _class_course(root: Path) -> Path:
    course = Course.temporary(root, [ASSIGNMENT])
    course.generate(ASSIGNMENT)
    bank = banks.bank_for(ASSIGNMENT)
    chosen = {"solutions": source_notebook(ASSIGNMENT), "release": release_notebook(ASSIGNMENT)}
    for i in (0, 3, 5, 8, 11):
        chosen[f"mutant{i}"] = banks.submission(ASSIGNMENT, bank.MUTANTS[i])
    for student, nb in chosen.items():
        course.submit(student, ASSIGNMENT, nb)
    exiting = next(a for a in ATTACKS if a.name == "os._exit inside a function under test")
    folder = root / "submitted" / "exiter" / ASSIGNMENT
    folder.mkdir(parents=True)
    for name, data in exiting.build(Context(root)).items():
        (folder / name).write_bytes(data)
    return root


def _course_grade(root: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "course.cli", "grade", ASSIGNMENT, "--course", str(root),
                             "--workers", "2", *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_kill_9_mid_batch_then_rerun_gives_the_uninterrupted_grades(tmp_path):
    interrupted = _class_course(tmp_path / "interrupted")
    records = interrupted / "grading" / ASSIGNMENT
    grader = _course_grade(interrupted)
    deadline = time.monotonic() + 300
    while not (records.is_dir() and len(list(records.glob("*.json"))) >= 2):
        assert grader.poll() is None, grader.stdout.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(grader.pid, signal.SIGKILL)
    grader.wait()
    done_before = len(list(records.glob("*.json")))
    students = sorted(p.name for p in (interrupted / "submitted").iterdir())
    assert done_before < len(students), "the batch finished before it could be killed"
    time.sleep(1)
    assert _sandbox_processes() == [], "kernels outlived the killed grader"

    resumed = _course_grade(interrupted)
    output = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0, output
    assert f"already graded before {done_before}" in output, output

    uninterrupted = _class_course(tmp_path / "uninterrupted")
    straight = _course_grade(uninterrupted)
    assert straight.wait(timeout=600) == 0, straight.stdout.read()
    assert _scores(interrupted, students) == _scores(uninterrupted, students)
    totals = {s: sum(g.values()) for s, g in _scores(interrupted, students).items()}
    assert totals["solutions"] == 100 and totals["release"] == 0 and totals["exiter"] == 80


def test_regrading_skips_unchanged_submissions_and_redoes_changed_ones(tmp_path):
    root = tmp_path / "course"
    course = Course.temporary(root, [ASSIGNMENT])
    course.generate(ASSIGNMENT)
    course.submit("ann", ASSIGNMENT, release_notebook(ASSIGNMENT))
    course.submit("ben", ASSIGNMENT, source_notebook(ASSIGNMENT))
    engine = GradingEngine(Course(root), workers=2)
    assert [r.status for r in engine.grade(ASSIGNMENT)] == ["graded", "graded"]
    assert [r.status for r in engine.grade(ASSIGNMENT)] == ["skipped", "skipped"]
    course.submit("ann", ASSIGNMENT, source_notebook(ASSIGNMENT))      # ann hands in again
    results = {r.student: r for r in engine.grade(ASSIGNMENT)}
    assert (results["ann"].status, results["ann"].score) == ("graded", 100)
    assert results["ben"].status == "skipped"
    assert [r.status for r in engine.grade(ASSIGNMENT, force=True)] == ["graded", "graded"]


# -- the command's errors ------------------------------------------------------------------

def test_course_grade_errors_say_what_exists_and_what_to_do(tmp_path, capsys):
    from course.cli import main

    root = tmp_path / "course"
    Course.temporary(root, [ASSIGNMENT]).generate(ASSIGNMENT)
    assert main(["grade", "nope", "--course", str(root)]) == 2
    assert "Assignments: 01_derivatives" in capsys.readouterr().err
    assert main(["grade", ASSIGNMENT, "--course", str(root)]) == 2
    assert f"course collect {ASSIGNMENT}" in capsys.readouterr().err
    assert main(["grade", ASSIGNMENT, "--course", str(root), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["grade", ASSIGNMENT, "--course", str(tmp_path / "nothing")]) == 2
    assert "no course at" in capsys.readouterr().err


# -- PostgreSQL ------------------------------------------------------------------------------

@pytest.mark.postgres
def test_course_grade_writes_a_real_postgresql_gradebook(tmp_path, fresh_postgres_db):
    from course.cli import main
    from sqlalchemy import create_engine, text

    root = tmp_path / "course"
    course = Course.temporary(root, [ASSIGNMENT], db_url=fresh_postgres_db)
    course.submit("solutions", ASSIGNMENT, source_notebook(ASSIGNMENT))
    course.submit("release", ASSIGNMENT, release_notebook(ASSIGNMENT))
    assert main(["grade", ASSIGNMENT, "--course", str(root), "--db-url", fresh_postgres_db]) == 0
    with create_engine(fresh_postgres_db).connect() as db:
        rows = db.execute(text(
            "SELECT student.id, SUM(grade.auto_score) FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id GROUP BY student.id")).all()
    assert dict(rows) == {"solutions": 100, "release": 0}
    assert not list(root.glob("*.db"))


def _python_environment() -> list[Path]:
    """What a kernel needs to read to start: the interpreter (as named and as resolved), the
    environment it runs in, and the folders its packages are imported from."""
    import ipykernel
    import numpy

    return [Path(sys.executable), Path(os.path.realpath(sys.executable)), Path(sys.prefix), Path(sys.base_prefix),
            Path(numpy.__file__).parent, Path(ipykernel.__file__).parent]


def _other_users_can_use(path: Path) -> bool:
    """Every folder on the way is searchable by others, and path itself readable (and searchable)."""
    path = Path(os.path.abspath(path))
    if any(p.stat().st_mode & 0o001 == 0 for p in path.parents):
        return False
    return path.stat().st_mode & 0o005 == 0o005


def test_without_bubblewrap_the_kernel_user_must_be_able_to_run_python(tmp_path):
    """`course grade --no-sandbox` runs kernels unprivileged with limits but without bubblewrap's
    filesystem; where that user cannot reach the Python environment (for example a virtual
    environment in a clone under /root, which is 0700, whatever Python it was made from), grading
    refuses up front with a message saying what to do; elsewhere it goes ahead."""
    from autograder.grading.sandbox import Sandbox, SandboxUnavailable

    sandbox = Sandbox(GradingSettings().limits(), isolated=False)
    assert "bwrap" not in " ".join(sandbox.kernel_argv(tmp_path, 0, tmp_path / "c.json"))
    python_is_private = not all(_other_users_can_use(path) for path in _python_environment())
    if python_is_private:
        with pytest.raises(SandboxUnavailable, match="Install bubblewrap"):
            sandbox.check()
    else:
        sandbox.check()


def test_grading_an_unknown_student_names_who_submitted(tmp_path, capsys):
    from course.cli import main

    root = tmp_path / "course"
    course = Course.temporary(root, [ASSIGNMENT])
    course.submit("ann", ASSIGNMENT, release_notebook(ASSIGNMENT))
    assert main(["grade", ASSIGNMENT, "--course", str(root), "--student", "zed"]) == 2
    err = capsys.readouterr().err
    assert "from zed" in err and "submitted: ann" in err
