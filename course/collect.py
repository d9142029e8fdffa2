"""course collect (being written)."""

from .course_dir import CourseError


def run(args) -> int:
    raise CourseError("course collect is not written yet")
