"""Notebooks for the grading tests: the source and release versions, and mutated copies.

The banks and their builders live in course/banks (they are the course's, used by `course check`);
the temporary course they are graded in is course.course_dir.Course.temporary.
"""

from course.banks import ROOT, cell, mutate, release_notebook, source_notebook  # noqa: F401
from course.course_dir import Course  # noqa: F401
