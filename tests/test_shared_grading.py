"""Several grading processes sharing one class through a real PostgreSQL gradebook
(autograder/grading/work_queue.py, `course grade --run-id`).

- The queue itself: two processes' claims never overlap, nobody waits for a row another holds,
  and a claim whose holder dies (its connection gone) is taken by the next process to ask.
- Three `course grade` processes on one class, one killed with SIGKILL while it grades: every
  submission is graded exactly once by the processes that finished it, and the grades equal those
  of one process grading the class alone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa

from autograder.grading.work_queue import TABLE, SharedQueue
from course import banks
from course.course_dir import Course
from course.cli import main
from course_harness import release_notebook, source_notebook

pytestmark = [pytest.mark.postgres]
warnings.filterwarnings("ignore", module="nbgrader")

ASSIGNMENT = "01_derivatives"
GRADED_LINE = re.compile(r"^(\S+): graded (\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)$", re.MULTILINE)


# -- the queue ------------------------------------------------------------------------------

def die(connection: sa.engine.Connection, url: str) -> None:
    """What a holder's death does to its claim: the client side of the connection is gone, and the
    server ends its session (which it does on its own once it reads the closed socket; waiting for
    that here, with pg_terminate_backend's wait, makes the test independent of how soon it does)."""
    backend = connection.connection.dbapi_connection.get_backend_pid()
    connection.invalidate()
    with sa.create_engine(url).connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 30000)"), {"pid": backend})


def test_claims_never_overlap_and_a_dead_holders_claim_goes_to_the_next(fresh_postgres_db):
    students = [f"s{i}" for i in range(5)]
    first = SharedQueue(fresh_postgres_db, "run-1", ASSIGNMENT, students, size=3)
    second = SharedQueue(fresh_postgres_db, "run-1", ASSIGNMENT, students, size=3)   # adds nothing twice
    try:
        mine = [first.claim(), first.claim()]
        theirs = [second.claim(), second.claim(), second.claim()]
        assert sorted(mine + theirs) == students                     # disjoint, and nobody waited
        assert first.claim() is None and second.claim() is None      # all held
        assert first.others_unfinished() == 3 and second.others_unfinished() == 2

        second.done(theirs[0], graded=True)
        die(first.claims.pop(mine[0]), fresh_postgres_db)   # its process died: PostgreSQL ends the transaction
        assert second.claim() == mine[0]          # ... and the row is free again
        assert first.claim() is None              # done rows are never handed out again

        second.done(theirs[1], graded=False)      # a grader error: off the run, the next run redoes it
        for student in list(first.claims):
            first.done(student, graded=True)
        for student in list(second.claims):
            second.done(student, graded=True)
        assert first.others_unfinished() == 0 and second.others_unfinished() == 0
    finally:
        first.close()
        second.close()
    with sa.create_engine(fresh_postgres_db).connect() as connection:
        rows = dict(connection.execute(sa.text(f"SELECT student, done_at IS NOT NULL FROM {TABLE}")).all())
    assert rows == {s: True for s in students if s != theirs[1]}


def test_another_run_id_is_another_run(fresh_postgres_db):
    one = SharedQueue(fresh_postgres_db, "monday", ASSIGNMENT, ["ann"], size=1)
    other = SharedQueue(fresh_postgres_db, "tuesday", ASSIGNMENT, ["ann"], size=1)
    try:
        assert one.claim() == "ann" and other.claim() == "ann"
    finally:
        one.close()
        other.close()


def test_a_run_id_needs_a_postgres_gradebook(tmp_path, capsys):
    course = Course.temporary(tmp_path / "course", [ASSIGNMENT])
    course.generate(ASSIGNMENT)
    course.submit("ann", ASSIGNMENT, release_notebook(ASSIGNMENT))
    assert main(["grade", ASSIGNMENT, "--course", str(course.root), "--run-id", "week1"]) == 2
    said = capsys.readouterr().err
    assert "PostgreSQL gradebook" in said and "--db-url postgresql://" in said
    assert main(["grade", ASSIGNMENT, "--course", str(course.root), "--run-id", "../week 1"]) == 2
    assert "--run-id '../week 1': use 1 to 64 letters" in capsys.readouterr().err


# -- several `course grade` processes, one killed ---------------------------------------------

def _class_course(root: Path, db_url: str) -> Course:
    course = Course.temporary(root, [ASSIGNMENT], db_url=db_url)
    course.generate(ASSIGNMENT)
    bank = banks.bank_for(ASSIGNMENT)
    chosen = {"solutions": source_notebook(ASSIGNMENT), "release": release_notebook(ASSIGNMENT)}
    for i in (0, 2, 3, 5, 8, 11):
        chosen[f"mutant{i:02d}"] = banks.submission(ASSIGNMENT, bank.MUTANTS[i])
    for i, variant in enumerate(bank.VARIANTS[:2]):
        chosen[f"variant{i}"] = banks.submission(ASSIGNMENT, variant)
    for student, nb in chosen.items():
        course.submit(student, ASSIGNMENT, nb)
    return course


def _course_grade(root: Path, db_url: str, log: Path, *extra: str) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "course.cli", "grade", ASSIGNMENT, "--course", str(root),
                                 "--db-url", db_url, "--workers", "1", *extra],
                                stdout=out, stderr=subprocess.STDOUT, text=True)


def _graded(log: Path) -> list[str]:
    """The students a process says it graded itself (one line each, as in a pod's log)."""
    return [m.group(1) for m in GRADED_LINE.finditer(log.read_text())]


def _totals(course: Course, students) -> dict[str, float]:
    with Course(course.root, db_url=course.config.CourseDirectory.db_url).gradebook() as gb:
        return {s: float(gb.find_submission(ASSIGNMENT, s).score) for s in students}


@pytest.mark.sandbox
@pytest.mark.nbgrader
def test_three_processes_one_killed_grade_every_submission_once(postgres_server, tmp_path):
    alone = _class_course(tmp_path / "alone", postgres_server.create_database("alone"))
    shared = _class_course(tmp_path / "shared", postgres_server.create_database("shared"))
    students = sorted(p.name for p in (shared.root / "submitted").iterdir())

    single = _course_grade(alone.root, alone.config.CourseDirectory.db_url, tmp_path / "alone.log")
    assert single.wait(timeout=900) == 0, (tmp_path / "alone.log").read_text()

    logs = [tmp_path / f"grader{k}.log" for k in range(3)]
    shared_db = shared.config.CourseDirectory.db_url
    graders = [_course_grade(shared.root, shared_db, log, "--run-id", "week1") for log in logs]
    deadline = time.monotonic() + 300
    while not _graded(logs[0]):               # grader 0 finished one and has claimed its next
        assert graders[0].poll() is None, logs[0].read_text()
        assert time.monotonic() < deadline, logs[0].read_text()
        time.sleep(0.05)
    os.kill(graders[0].pid, signal.SIGKILL)
    graders[0].wait()
    for grader, log in zip(graders[1:], logs[1:]):
        assert grader.wait(timeout=900) == 0, log.read_text()

    by_process = [_graded(log) for log in logs]
    everything = [s for graded in by_process for s in graded]
    assert sorted(everything) == students, by_process          # each exactly once, none lost
    assert 1 <= len(by_process[0]) < len(students)              # it was killed mid-batch
    for log in logs[1:]:
        said = " ".join(log.read_text().split())   # the summary wraps at the log's width
        assert "not graded 0" in said and "by the other processes of run week1" in said, said

    with sa.create_engine(shared_db).connect() as connection:
        done = connection.execute(sa.text(f"SELECT count(*) FROM {TABLE} WHERE run = 'week1' AND done_at IS NOT NULL")).scalar()
    assert done == len(students)
    records = shared.root / "grading" / ASSIGNMENT
    assert sorted(p.stem for p in records.glob("*.json")) == students
    assert _totals(shared, students) == _totals(alone, students)
    assert _totals(shared, students)["solutions"] == 100 and _totals(shared, students)["release"] == 0
