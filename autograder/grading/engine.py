"""The grading engine: nbgrader's autograde, in parallel, with every kernel in a sandbox.

A grading process claims submissions from its queue (autograder/grading/work_queue.py: the whole class
when it grades alone, or a share of it when several processes, on one machine or many, grade one
class through the PostgreSQL gradebook) and hands each to a worker process. The worker does all
of that submission's work, so the parent's own work per submission is a few milliseconds and it
keeps any number of workers busy:

1. **Intake**: read the submitted notebooks into a private staging copy; broken files (bad JSON,
   wrong nbformat, not UTF-8, empty, renamed, missing) become reasons, not crashes.
2. **Sanitize**: nbgrader's sanitize preprocessors from the course config (clear outputs, put
   back the source version of test cells, the tamper scan, ...).
3. **Execute**: the sanitized notebooks run in sandboxed kernels (autograder/grading/executor.py,
   autograder/grading/sandbox.py); a kernel that dies costs one cell.
4. **Save**: nbgrader's own Autograde converter runs on the staged (already sanitized)
   submission with its Execute step replaced by `ReplaySandboxRun`, which hands over the sandbox's
   executed notebook; so SaveAutoGrades, late penalties, output limits and the autograded/ files
   are nbgrader's. Workers write the gradebook side by side, each its own student's rows.
5. **Record**: `grading/<assignment>/<student>.json`, written atomically after the gradebook
   commit, with a fingerprint of the submitted files and the grading run. A later run skips
   submissions whose record matches, so a grader killed at any point (even `kill -9`) goes on
   where it stopped and ends with the same grades as an uninterrupted run.

The sandbox itself runs as root and starts its kernels as unprivileged users, so the parent and
its workers are trusted code only; student code runs nowhere but in the kernels.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from nbgrader.utils import capture_log, temp_attrs
from sqlalchemy.exc import SQLAlchemyError
from traitlets import Bool
from traitlets.utils.importstring import import_item

from .executor import ExecutionJob, ExecutionResult, KernelStartError, execute
from .intake import Intake, fingerprint, read_submission
from .lock_to_source import GraderFault, SubmissionRejected
from .nbgrader_reuse import reusing_nbgrader
from .sandbox import Sandbox, compile_course_packages, matplotlib_cache, reserved_slots
from .settings import GradingSettings, settings_from
from .work_queue import LocalQueue, SharedQueue, process_name

RECORD_VERSION = 1

# How often a process that has nothing left to claim asks whether other processes of its run
# still hold submissions (one of them may die and hand them back).
SHARED_POLL_SECONDS = 2.0

# Failures of the course or the machine, never of a submission: the student is reported as not
# graded (and graded by the next run), rather than given a zero.
GRADER_FAULTS = (OSError, SQLAlchemyError, GraderFault, KernelStartError)
MACHINE_ERRORS = ("OperationalError", "PermissionError", "OSError", "No space left", "DatabaseError")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


@dataclass
class StudentResult:
    """What grading one student's submission gave."""

    student: str
    status: str                      # graded, skipped (already graded), elsewhere (by another process of the run), grader_error
    score: float = 0.0
    max_score: float = 0.0
    problems: dict[str, str] = field(default_factory=dict)   # notebook -> why it scored zero
    notes: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)          # kernel deaths, timeouts, ... per cell
    error: str = ""                  # for grader_error: what went wrong on the grader's side
    seconds: float = 0.0
    fingerprint: str = ""
    run: str = ""                    # the grading run that graded it
    graded_by: str = ""              # host:pid of the grading process
    phases: dict[str, float] = field(default_factory=dict)   # seconds: stage, execute, save (in the worker); kernel_cpu


class ReplaySandboxRun(Preprocessor):
    """nbgrader's Execute step, replaced: the notebook was already run in the sandbox; hand over
    that executed notebook (after checking it is the same notebook, cell for cell)."""

    enabled = Bool(True)   # nbconvert skips preprocessors that are not enabled
    executed: dict[tuple[str, str], nbformat.NotebookNode] = {}

    def preprocess(self, nb, resources):
        key = (resources["nbgrader"]["student"], resources["nbgrader"]["notebook"])
        done = self.executed.pop(key, None)
        if done is None:
            raise RuntimeError(f"no sandbox run for {key}: the grading engine did not execute this notebook")
        if [c.source for c in done.cells] != [c.source for c in nb.cells]:
            raise RuntimeError(f"the sandbox ran a different notebook than nbgrader sanitized for {key}")
        return done, resources


def default_workers() -> int:
    """Kernels at once when nobody says: one more than the cores this process may use. A worker
    spends about a fifth of each notebook waiting for its kernel (starting it, message round
    trips), so with one per core the cores sit idle that long; `benchmarks/grade_throughput.py
    --workers N` compares."""
    return len(os.sched_getaffinity(0)) + 1


def _die_with_parent() -> None:
    """The kernel sends SIGKILL to this worker when the grader dies (even by kill -9), and
    bubblewrap's --die-with-parent takes the sandboxed kernels down with it."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle


_worker_engine: "GradingEngine | None" = None


def _start_worker(engine: "GradingEngine") -> None:
    """Worker initializer (the worker is forked, so the engine arrives as it is, unpickled)."""
    global _worker_engine
    _die_with_parent()
    _worker_engine = engine


def _grade_in_worker(assignment: str, student: str, slot: int, scratch: str, force: bool) -> "StudentResult":
    return _worker_engine.grade_submission(assignment, student, slot, Path(scratch), force)


class GradingEngine:
    """Grades the submissions of one course. ``workers`` kernels run at once (default_workers())."""

    def __init__(self, course, workers: int | None = None, settings: GradingSettings | None = None,
                 isolated: bool = True, run_id: str | None = None):
        self.course = course
        self.workers = max(1, workers or default_workers())
        self.settings = settings or settings_from(course.config)   # timeouts, output, restarts, limits
        self.sandbox = Sandbox(self.settings.limits(), isolated=isolated)
        self.shared_run = run_id            # given: share the run with other processes (PostgreSQL)
        self.run_id = run_id or ""          # the current batch's run (a fresh one per batch when alone)
        self.matplotlib_cache: str | None = None
        self.parent_seconds = 0.0           # the parent's own work in the last batch (not waiting)

    # -- records --------------------------------------------------------------------------

    def record_path(self, assignment: str, student: str) -> Path:
        return self.course.path("grading", assignment, f"{student}.json")

    def read_record(self, assignment: str, student: str) -> dict | None:
        try:
            record = json.loads(self.record_path(assignment, student).read_text())
        except (OSError, ValueError):
            return None
        return record if record.get("version") == RECORD_VERSION else None

    def result_from_record(self, assignment: str, student: str, status: str) -> StudentResult | None:
        record = self.read_record(assignment, student)
        if record is None:
            return None
        kept = {k: record[k] for k in StudentResult.__dataclass_fields__ if k in record}
        return StudentResult(**{**kept, "status": status})

    def write_record(self, assignment: str, result: StudentResult) -> None:
        path = self.record_path(assignment, result.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps({"version": RECORD_VERSION, **asdict(result)}, indent=1))
        os.replace(temporary, path)   # atomic: a record is either the old one or the new one

    def needs_grading(self, assignment: str, student: str, force: bool) -> bool:
        """Not when the record says graded, for the files as they are now (and, with force, by this run)."""
        record = self.read_record(assignment, student)
        folder = self.course.path("submitted", student, assignment)
        if not (record and record["status"] == "graded" and record["fingerprint"] == fingerprint(folder)):
            return True
        return force and record.get("run") != self.run_id

    # -- the steps ------------------------------------------------------------------------

    def _sanitize_preprocessors(self) -> list:
        names = self.course.config.Autograde.get("sanitize_preprocessors", Autograde.sanitize_preprocessors.default())
        return [(import_item(p) if isinstance(p, str) else p)(config=self.course.config) for p in names]

    def stage(self, assignment: str, student: str, staging: Path) -> tuple[Intake, dict[str, str]]:
        """Intake and sanitize: the notebooks to run (name -> JSON), staged for nbgrader."""
        submitted = self.course.path("submitted", student, assignment)
        intake = read_submission(submitted, self.course.notebooks(assignment))
        folder = staging / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        if intake.timestamp is not None:      # read by intake without following a link
            (folder / "timestamp.txt").write_text(intake.timestamp)
        if intake.secret is not None:         # nbgrader copies it to autograded/ (release_feedback reads it)
            (folder / "submission_secret.txt").write_bytes(intake.secret)
        to_run = {}
        for name, nb in intake.notebooks.items():
            resources = {"unique_key": name, "nbgrader": {"student": student, "assignment": assignment,
                                                          "notebook": name, "db_url": self.course.db_url}}
            try:
                for preprocessor in self._sanitize_preprocessors():
                    nb, resources = preprocessor.preprocess(nb, resources)
                text = nbformat.writes(nb)
            except GRADER_FAULTS:
                raise                        # the course or the machine: a grader error, retried next run
            except SubmissionRejected as error:
                intake.problems[name] = str(error)
                continue
            except Exception as error:   # nbgrader choked (RecursionError included) on what the student handed in
                intake.problems[name] = (f"nbgrader could not prepare {name}.ipynb for grading "
                                         f"({type(error).__name__}: {_first_line(error)}); it scores 0. "
                                         "Submit a notebook saved by Jupyter from a fresh copy of the assignment.")
                continue
            (folder / f"{name}.ipynb").write_text(text, encoding="utf-8")   # staged sanitized: save() need not sanitize again
            to_run[name] = text
        return intake, to_run

    def save(self, assignment: str, student: str, staging: Path, result: ExecutionResult | None) -> None:
        """nbgrader's Autograde converter on the staged submission, executing nothing itself."""
        if result is None or not result.notebooks:
            self._save_all_zero(assignment, student)
            return
        ReplaySandboxRun.executed = {(student, name): nbformat.reads(text, as_version=4)
                                     for name, text in result.notebooks.items()}
        configured = self.course.config.Autograde.get("autograde_preprocessors", Autograde.autograde_preprocessors.default())
        steps = [(import_item(p) if isinstance(p, str) else p) for p in configured]
        steps = [ReplaySandboxRun if issubclass(step, Execute) else step for step in steps]   # SandboxedExecute too
        api = self.course.api()
        try:
            with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student,
                            submitted_directory=str(staging)):
                converter = Autograde(coursedir=api.coursedir, parent=api)
                converter.sanitize_preprocessors = []      # stage() already ran them on the staged copy
                converter.autograde_preprocessors = steps
                converter.force = True
                converter.create_student = True
                outcome = capture_log(converter)
            if not outcome["success"]:
                said = outcome.get("error") or outcome["log"]
                fault = GraderFault if any(word in said for word in MACHINE_ERRORS) else RuntimeError
                raise fault(f"nbgrader could not save the grades:\n{said}")
            if ReplaySandboxRun.executed:   # nbgrader never asked for these: its pipeline did not run ours
                raise RuntimeError(f"nbgrader's autograde skipped the sandbox results of {sorted(ReplaySandboxRun.executed)}")
        finally:
            ReplaySandboxRun.executed = {}

    def _save_all_zero(self, assignment: str, student: str) -> None:
        """No notebook could be read: a submission in the gradebook with every grade zero."""
        with self.course.gradebook() as gb:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(assignment, student)
            for notebook in gb.find_assignment(assignment).notebooks:
                for grade in gb.find_submission_notebook(notebook.name, assignment, student).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            gb.db.commit()
        destination = self.course.path("autograded", student, assignment)
        if destination.exists():
            shutil.rmtree(destination)

    def scores(self, assignment: str, student: str) -> tuple[float, float]:
        with self.course.gradebook() as gb:
            submission = gb.find_submission(assignment, student)
            return float(submission.score), float(submission.max_score)

    # -- one submission (in a worker) ---------------------------------------------------------

    def grade_submission(self, assignment: str, student: str, slot: int, scratch: Path, force: bool) -> StudentResult:
        """Everything for one submission: intake, sanitize, execute in slot ``slot``'s sandbox, save,
        record. Never raises: what goes wrong is a zero with a reason, or a grader_error."""
        if not self.needs_grading(assignment, student, force):
            # Graded meanwhile: by a process of this run that died before it could say so.
            recorded = self.result_from_record(assignment, student, "elsewhere")
            if recorded is not None:      # (else its record went away just now: grade it)
                return recorded
        started = time.monotonic()
        phases = {}
        submitted_print = fingerprint(self.course.path("submitted", student, assignment))
        staging = scratch / "staging"
        try:
            intake, to_run = self.stage(assignment, student, staging)
        except Exception as error:   # a grader bug must not stop the batch
            return StudentResult(student, "grader_error", error=f"staging failed: {error!r}")
        phases["stage"] = time.monotonic() - started
        result = None
        if to_run:                   # else nothing readable: zero, with the reasons, no kernel needed
            job = ExecutionJob(student, to_run, slot, str(scratch / f"slot{slot}"), self.sandbox,
                               **self.settings.run_options(), matplotlib_cache=self.matplotlib_cache)
            try:
                result = execute(job)
            except Exception as error:   # KernelStartError: the machine, not the submission
                return StudentResult(student, "grader_error", error=f"{type(error).__name__}: {error}")
            phases["execute"] = result.seconds
            phases["kernel_cpu"] = result.kernel_cpu
        saving = time.monotonic()
        outcome = self._complete(assignment, student, staging, intake, result, submitted_print, started)
        outcome.phases = {**phases, "save": time.monotonic() - saving}
        return outcome

    def _complete(self, assignment, student, staging, intake, result, submitted_print, started) -> StudentResult:
        try:
            try:
                self.save(assignment, student, staging, result)
            except GRADER_FAULTS:
                raise
            except Exception as error:       # nbgrader choked on the executed notebooks: a zero with the reason
                for name in (result.notebooks if result else {}):
                    intake.problems[name] = (f"nbgrader could not save the grades of {name}.ipynb "
                                             f"({type(error).__name__}: {_first_line(error)}); it scores 0")
                self._save_all_zero(assignment, student)
            score, max_score = self.scores(assignment, student)
        except Exception as error:
            return StudentResult(student, "grader_error", error=str(error))
        finally:
            shutil.rmtree(staging / student, ignore_errors=True)
        outcome = StudentResult(
            student, "graded", score, max_score, dict(intake.problems), list(intake.notes),
            [asdict(e) for e in result.events] if result else [], seconds=time.monotonic() - started,
            fingerprint=submitted_print, run=self.run_id, graded_by=process_name(),
        )
        try:
            self.write_record(assignment, outcome)
        except Exception as error:           # the grade is in the gradebook; only the record is missing
            outcome = StudentResult(student, "grader_error", score, max_score, outcome.problems, outcome.notes,
                                    outcome.events, error=f"graded, but the record could not be written: {error}")
        return outcome

    # -- the batch (in the parent) --------------------------------------------------------------

    def grade(self, assignment: str, students: list[str] | None = None, force: bool = False,
              on_result: Callable[[StudentResult], None] | None = None) -> list[StudentResult]:
        """Grade the submissions of assignment (all, or the listed students); results in student order.
        The caller checks names: every listed student must have a folder submitted/<student>/<assignment>."""
        self.course.assignment(assignment)
        everyone = students or self.course.students_submitted(assignment)
        self.sandbox.check()
        compile_course_packages()
        self.course.ensure_in_gradebook(assignment)
        self.run_id = self.shared_run or uuid.uuid4().hex
        results: dict[str, StudentResult] = {}
        todo = []
        for student in everyone:
            if self.needs_grading(assignment, student, force):
                todo.append(student)
            elif (record := self.result_from_record(assignment, student, "skipped")) is not None:
                self._finish(record, results, on_result)
            else:                              # the record went away meanwhile
                todo.append(student)
        if self.shared_run:
            queue = SharedQueue(self.course.db_url, self.shared_run, assignment, todo, self.workers)
        else:
            queue = LocalQueue(todo)
        try:
            with tempfile.TemporaryDirectory(prefix="course-grade-") as scratch, \
                    reserved_slots(self.workers) as slots, reusing_nbgrader():
                self.matplotlib_cache = str(matplotlib_cache())
                self._run_batch(assignment, queue, slots, Path(scratch), force, results, on_result)
        finally:
            queue.close()
        for student in everyone:
            if student not in results:   # taken by another process of the run
                outcome = self.result_from_record(assignment, student, "elsewhere")
                if outcome is None or outcome.run != self.run_id:
                    outcome = StudentResult(student, "grader_error", error=(
                        f"another grading process of run {self.run_id} took this submission and did not grade it; "
                        "run the same command again"))
                self._finish(outcome, results, on_result)
        return [results[s] for s in everyone]

    def _pool(self, size: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_start_worker, initargs=(self,))

    def _run_batch(self, assignment, queue, slots: list[int], scratch: Path, force: bool, results, on_result) -> None:
        """Keep every worker busy: claim the next submission as soon as a worker is free. The parent
        only claims, hands out and reports; the workers do the grading, saving included."""
        free_slots = list(slots)
        running: dict = {}
        pool = self._pool(len(slots))
        busy_since = time.perf_counter()
        self.parent_seconds = 0.0

        def start_next() -> None:
            while free_slots and (student := queue.claim()) is not None:
                slot = free_slots.pop()
                future = pool.submit(_grade_in_worker, assignment, student, slot, str(scratch), force)
                running[future] = (student, slot, pool)

        try:
            start_next()
            while running or queue.others_unfinished() > 0:
                self.parent_seconds += time.perf_counter() - busy_since
                if running:
                    done, _ = wait(running, timeout=SHARED_POLL_SECONDS, return_when=FIRST_COMPLETED)
                else:                          # others hold the rest: wait for them to finish or die
                    done = set()
                    time.sleep(SHARED_POLL_SECONDS)
                busy_since = time.perf_counter()
                for future in done:
                    student, slot, its_pool = running.pop(future)
                    free_slots.append(slot)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        if its_pool is pool:   # the first of its futures to fail: start a new pool
                            pool.shutdown(cancel_futures=True)
                            pool = self._pool(len(slots))
                        outcome = StudentResult(student, "grader_error", error="a grading worker process died")
                    except Exception as error:   # a bug in the engine itself
                        outcome = StudentResult(student, "grader_error", error=f"{type(error).__name__}: {error}")
                    queue.done(student, graded=outcome.status != "grader_error")
                    self._finish(outcome, results, on_result)
                start_next()
            self.parent_seconds += time.perf_counter() - busy_since
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _finish(outcome: StudentResult, results, on_result) -> None:
        results[outcome.student] = outcome
        if on_result:
            on_result(outcome)
