"""course export (being written)."""

from .course_dir import CourseError


def run(args) -> int:
    raise CourseError("course export is not written yet")
