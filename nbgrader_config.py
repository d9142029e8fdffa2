"""nbgrader configuration of the course. The repository root is the course directory."""

import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "autodiff"
c.CourseDirectory.db_url = os.environ.get("AUTODIFF_DB_URL", "sqlite:///" + os.path.join(ROOT, "gradebook.db"))

# The exchange (nbgrader release_assignment / submit / collect). On a shared JupyterHub set
# AUTODIFF_EXCHANGE to the hub's exchange folder; by default it is exchange/ in the course.
c.Exchange.root = os.environ.get("AUTODIFF_EXCHANGE", os.path.join(ROOT, "exchange"))

# What students see where a solution was removed.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding, by `course grade` and by nbgrader's autograde alike: the grading engine's settings
# (autograder/grading/settings.py, where each is declared with its help; `course grade --help` lists
# them, and each is also an option there: --cell-timeout 30 overrides cell_timeout). A cell may run
# for at most 60 s, a notebook ten times that (errors never stop a notebook: the grader runs every
# cell); output, restarts and each kernel's resource limits keep their defaults.
c.GradingSettings.cell_timeout = 60
# nbgrader's own Execute runs only `nbgrader validate` (the Validate button), never a submission.
c.Execute.timeout = 60
# Test cells a student deleted are put back.
c.OverwriteCells.add_missing_cells = True

# Before running a submission: which cells are tests, answers and locked cells is decided by the
# gradebook, never by the submission's own metadata (autograder.grading.lock_to_source: edited metadata
# scores 0 with the reason; missing locked cells are put back); then its code is read for tampering
# (autograder.grading.tamper_scan): test cells after code that rebinds numpy, builtins, mini_autograd, the
# checks or IPython's machinery fail, saying why.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "autograder.grading.lock_to_source.LockToSource",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "autograder.grading.tamper_scan.FlagTampering",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Student code runs only in the sandbox. nbgrader's Execute step is replaced by the grading
# engine's sandboxed run (autograder/grading/sandboxed_execute.py), so `nbgrader autograde` in this folder
# and the formgrader's autograde button go through the sandbox too (or refuse, saying why).
# What the run produced is sanitised (autograder/grading/sanitize.py) before nbgrader writes autograded/:
# the formgrader shows those notebooks to the instructor.
c.Autograde.autograde_preprocessors = [
    "autograder.grading.sandboxed_execute.SandboxedExecute",
    "nbgrader.preprocessors.LimitOutput",
    "autograder.grading.sanitize.SanitizeNotebook",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback, from `course feedback` and from the formgrader alike (autograder/grading/feedback_scrub.py):
# grades; hidden-test regions out of the code; test cells show only the checks' verdicts, and the
# student's cells that ran after a hidden test show a note instead of their outputs; the grader's
# paths shortened; a page that would still show a hidden-test line is not written; what students
# wrote sanitised; nbconvert's page styles.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.grading.feedback_scrub.ScrubHiddenTests",
    "autograder.grading.feedback_scrub.ShowVerdicts",
    "autograder.grading.feedback_scrub.HideGraderPaths",
    "autograder.grading.feedback_scrub.RefuseHiddenTestLeaks",
    "autograder.grading.sanitize.SanitizeNotebook",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.HiddenTestsPreprocessor.source_directory = os.path.join(ROOT, "source")
c.HiddenTestsPreprocessor.release_directory = os.path.join(ROOT, "release")
c.LockToSource.source_directory = os.path.join(ROOT, "source")

# The pages nbgrader renders from these notebooks (the formgrader's submission view, feedback):
# sanitised again as they are rendered, names escaped, MathJax inlined from a pinned package so
# math reads offline (course/pages).
import course.pages  # noqa: E402

course.pages.configure(c)
