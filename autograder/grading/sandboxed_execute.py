"""SandboxedExecute: nbgrader's Execute step, with the notebook run in the grading sandbox.

nbgrader's own Execute runs a student's notebook in an ordinary kernel, as whoever runs nbgrader:
on a single server that is the instructor, or root. The course's nbgrader_config.py puts this
step in its place in ``Autograde.autograde_preprocessors``, so every path that runs student code
through nbgrader goes through the sandbox: ``nbgrader autograde`` in the course folder, and the
formgrader's "autograde" button. It runs the notebook with the grading engine's executor
(autograder/grading/executor.py: bubblewrap, an unprivileged user, resource limits, a dead kernel costs
one cell) and hands nbgrader the executed notebook.

The sandbox needs root (to start kernels as their own unprivileged users). Where the process is
not root, or bubblewrap cannot run, this step refuses, saying to grade with ``course grade``
instead, and nbgrader reports that as a failed autograde: nothing runs unsandboxed.

``course grade`` (autograder/grading/engine.py) does not use this step: it runs kernels in its own pool of
workers and replaces this step by the results.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor

import nbformat
from nbgrader.preprocessors import Execute
from traitlets import Integer

from .executor import ExecutionJob, execute
from .sandbox import Sandbox, SandboxUnavailable, compile_course_packages, matplotlib_cache
from .settings import settings_from


class SandboxRefused(RuntimeError):
    """Student code would have to run outside the sandbox; the message says what to run instead."""


class SandboxedExecute(Execute):
    """Run the notebook in the grading sandbox, with the grading engine's settings (c.GradingSettings
    in nbgrader_config.py: timeouts, output limit, restarts, limits; Execute.timeout is not used)."""

    slot = Integer(
        63, help="The sandbox slot (its kernels run as user id 61000 + slot). Keep it apart from the slots "
                 "`course grade`'s workers take (0 to 62, locked per machine) so that their process limits do not mix."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        settings = settings_from(self.config)
        sandbox = Sandbox(settings.limits())
        try:
            sandbox.check()
        except SandboxUnavailable as error:
            raise SandboxRefused(
                f"student code runs only in the grading sandbox, and this process cannot start it ({error}). "
                f"Grade with `course grade {info['assignment']}` as root instead.") from None
        compile_course_packages()
        with tempfile.TemporaryDirectory(prefix="nbgrader-sandbox-") as scratch:
            job = ExecutionJob(
                student=info["student"], notebooks={info["notebook"]: nbformat.writes(nb)}, slot=self.slot,
                slot_root=scratch, sandbox=sandbox, **settings.run_options(), matplotlib_cache=str(matplotlib_cache()),
            )
            # The executor runs its own event loop; the formgrader calls this inside one of its own.
            with ThreadPoolExecutor(1) as pool:
                result = pool.submit(execute, job).result()
        for event in result.events:
            self.log.warning("%s, cell %s: %s (%s)", event.notebook, event.grade_id or event.cell, event.kind, event.message)
        return nbformat.reads(result.notebooks[info["notebook"]], as_version=4), resources
