"""nbgrader configuration of the course. The repository root is the course directory."""

import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "autodiff"
c.CourseDirectory.db_url = os.environ.get("AUTODIFF_DB_URL", "sqlite:///" + os.path.join(ROOT, "gradebook.db"))

# What students see where a solution was removed.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding: a cell may run for at most 60 s; test cells a student deleted are put back.
c.Execute.timeout = 60
c.Execute.allow_errors = True
c.OverwriteCells.add_missing_cells = True
