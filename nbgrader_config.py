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

# Autograding: a cell may run for at most 60 s; test cells a student deleted are put back.
c.Execute.timeout = 60
c.Execute.allow_errors = True
c.OverwriteCells.add_missing_cells = True

# Before running a submission, read its code for tampering (autograder.tamper_scan): test cells
# after code that rebinds numpy, builtins, mini_autograd or the checks fail, saying why.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "autograder.tamper_scan.FlagTampering",
    "nbgrader.preprocessors.CheckCellMetadata",
]
