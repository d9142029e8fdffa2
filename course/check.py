"""course check (being written)."""

from .course_dir import CourseError


def run(args) -> int:
    raise CourseError("course check is not written yet")
