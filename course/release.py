"""Generate the student versions (release/) from source/ with nbgrader, and verify them.

The generation runs in a temporary copy of the course so that it never touches the course's
own gradebook; the result is copied into release/<assignment>/.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from .course_dir import ROOT, Course, CourseError, Leaks, leaks  # noqa: F401  (leaks: the one leak scan)


def assignments(root: Path = ROOT) -> list[str]:
    """The assignment folders in source/, sorted."""
    return Course(root).assignments()


def generate(assignment: str, course_root: Path, output: Path) -> Path:
    """The student version of one assignment of course_root (Course.generate, in a temporary copy of
    the course), copied into output/<assignment>."""
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        released = Course.temporary(Path(tmp), [assignment], course_root=course_root).generate(assignment)
        target = output / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(released, target)
    return target


def run(args) -> int:
    """course release [ASSIGNMENT ...] [--to-exchange | --feedback] [--exchange DIR].

    Without options: nbgrader's generate_assignment in the course itself (so its gradebook knows
    the assignment), then the leak check on every student version. --to-exchange then releases
    each checked student version to the students (nbgrader release_assignment: the exchange's
    <course>/outbound/<assignment>). --feedback only releases the feedback `course feedback` wrote
    (nbgrader release_feedback), for every student who has some."""
    course = Course(args.course, db_url=args.db_url)
    exchange = getattr(args, "exchange", None)
    if exchange:
        course.config.Exchange.root = str(Path(exchange).resolve())
    names = [course.assignment(name) for name in args.assignments] or course.assignments()
    if not names:
        raise CourseError(f"{course.path('source')} holds no assignments (source/<assignment>/*.ipynb).")
    api = course.api()
    if getattr(args, "feedback", False):
        return _release_feedback(course, api, names)
    for assignment in names:
        try:
            course.generate(assignment)
        except Leaks as leaked:
            print(leaked, file=sys.stderr)
            return 1
        print(f"released {assignment} -> {course.path('release', assignment)} (no solution or hidden test leaked)")
        if getattr(args, "to_exchange", False):
            _to_exchange(course, api, assignment)
    return 0


def _exchange_root(course) -> Path:
    return Path(course.config.Exchange.get("root", "/usr/local/share/nbgrader/exchange"))


def _to_exchange(course, api, assignment: str) -> None:
    """nbgrader release_assignment, replacing an earlier release of the same assignment."""
    exchange = _exchange_root(course)
    if not exchange.is_dir():
        raise CourseError(f"the exchange {exchange} does not exist: create it world-writable with the sticky bit "
                          f"(mkdir -p {exchange} && chmod 1777 {exchange}; `course hub` does this), or pass --exchange DIR.")
    outbound = exchange / course.course_id / "outbound" / assignment
    if outbound.exists():
        api.unrelease(assignment)
    result = api.release_assignment(assignment)
    if not result["success"]:
        raise CourseError(f"nbgrader could not release {assignment} to the exchange {exchange}:\n"
                          f"{result.get('error') or result.get('log')}\nThe exchange must be writable by you "
                          f"(chmod 1777 {exchange}) and {exchange / course.course_id} yours, if it exists.")
    print(f"released {assignment} to the students -> {outbound}")


def _secrets_into_feedback(course, assignment: str, students: list[str]) -> None:
    """nbgrader's release_feedback names each page by a hash of the submission's secret, read from
    feedback/<student>/<assignment>/submission_secret.txt. nbgrader's autograde carries the file
    from submitted/ through autograded/ into feedback/; put it there from submitted/ when a step
    on the way did not (the student's fetch_feedback finds the page by the same secret)."""
    for student in students:
        target = course.path("feedback", student, assignment, "submission_secret.txt")
        source = course.path("submitted", student, assignment, "submission_secret.txt")
        if not target.exists() and source.is_file():
            shutil.copy(source, target)


def _release_feedback(course, api, names: list[str]) -> int:
    """nbgrader release_feedback per assignment; an assignment without feedback is an error."""
    for assignment in names:
        students = sorted(p.parent.name for p in course.path("feedback").glob(f"*/{assignment}") if any(p.glob("*.html")))
        if not students:
            raise CourseError(f"no feedback for {assignment} in {course.path('feedback')}: run course feedback {assignment} first.")
        _secrets_into_feedback(course, assignment, students)
        result = api.release_feedback(assignment)
        if not result["success"]:
            raise CourseError(f"nbgrader could not release the feedback of {assignment} to {_exchange_root(course)}:\n"
                              f"{result.get('error') or result.get('log')}")
        print(f"released the feedback of {assignment} for {len(students)} student(s): {', '.join(students)}")
    return 0


def main(argv=None) -> int:
    names = argv if argv else assignments()
    for assignment in names:
        try:
            target = generate(assignment, ROOT, ROOT / "release")
        except Leaks as leaked:
            print(*leaked.problems, sep="\n")
            return 1
        print(f"released {assignment} -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
