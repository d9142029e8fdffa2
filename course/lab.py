"""course lab (being written)."""

from .course_dir import CourseError


def run(args) -> int:
    raise CourseError("course lab is not written yet")
