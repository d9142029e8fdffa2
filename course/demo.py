"""course demo (being written)."""

from .course_dir import CourseError


def run(args) -> int:
    raise CourseError("course demo is not written yet")
