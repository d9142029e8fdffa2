"""course collect ASSIGNMENT: take in submissions as submitted/<student>/<assignment>/<notebook>.ipynb.

Three sources, one result (nbgrader's layout, with a timestamp.txt when the submission time is known):

  (default)    the nbgrader exchange: what students sent with `nbgrader submit`, collected by
               nbgrader's own API (NbGraderAPI.collect; a newer submission replaces an older one).
  --from DIR   a folder of <student>/<assignment>/*.ipynb or <student>/*.ipynb; a timestamp.txt
               next to the notebooks is kept.
  --zip FILE   an LMS download archive. Each entry's path starts with the student id and an underscore:
                   <student>_<anything>_<notebook>.ipynb     alice_01_derivatives.ipynb; Canvas:
                                                             smithjane_12345_67890_01_derivatives-1.ipynb
                   <student>_<anything>/<notebook>.ipynb     Moodle "download all" folders:
                                                             Jane Doe_4242_assignsubmission_file_/01_derivatives.ipynb
               That is nbgrader's FileNameCollectorPlugin with the default named_regexp below; set
               c.FileNameCollectorPlugin.named_regexp in nbgrader_config.py for another naming (groups
               student_id and file_id, optionally timestamp). An entry counts as notebook N when its
               name ends with N.ipynb or N-<k>.ipynb (Canvas numbers resubmissions so).
               Entries are read one at a time, never extracted by their own path: entries that would
               escape the folder (zip-slip: `..`, absolute paths), symbolic links, entries larger than
               CourseDirectory.max_file_size and corrupt entries are rejected, reported and not
               written; files other than notebooks are reported and skipped.

A student whose only notebook has another name (a renamed notebook) gets it under the assignment's
notebook name, and the summary says so; otherwise a notebook not found is reported missing.
Collecting again replaces a student's earlier copy (from the exchange: only with a newer submission).
Collect only copies bytes: it never parses a notebook, so a broken one cannot stop it (the
grader reports broken notebooks later).
"""

from __future__ import annotations

import logging
import re
import shutil
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from .course_dir import Course, CourseError

DEFAULT_ZIP_REGEXP = r"(?P<student_id>[^/_]+)_(?P<file_id>.+)"
STUDENT_ID = re.compile(r"\w(?:[\w.@ -]*[\w@])?")  # no '/', '+', '*', no leading '.', no trailing space
JUNK = ("__MACOSX/", ".")  # macOS resource forks, .DS_Store, .ipynb_checkpoints...


@dataclass
class Submission:
    """One student's notebooks from a source: {name without .ipynb: a function reading its bytes}
    (read when written, so that an archive is never held in memory)."""

    student: str
    notebooks: dict[str, Callable[[], bytes]] = field(default_factory=dict)
    timestamp: str | None = None


@dataclass
class Report:
    """What collect did: a row per student, problems (exit status 1) and skipped files."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def show(self, title: str) -> int:
        print(title)
        if self.rows:
            width = max(len("student"), *(len(student) for student, _, _ in self.rows))
            print(f"  {'student':<{width}}  notebooks  note")
            for student, count, note in self.rows:
                print(f"  {student:<{width}}  {count:<9}  {note}".rstrip())
        collected = sum(1 for _, count, _ in self.rows if not count.startswith("0/"))
        print(f"{collected} student(s) collected, {len(self.problems)} problem(s), {len(self.skipped)} file(s) skipped")
        for problem in self.problems:
            print(f"  problem: {problem}")
        for skipped in self.skipped:
            print(f"  skipped: {skipped}")
        return 1 if self.problems else 0


def match_notebooks(expected: list[str], names: list[str]) -> tuple[dict[str, str], list[str], str | None]:
    """{expected notebook: the student's file name}, notes, and what is missing (or None).
    A single notebook with another name stands for the assignment's single notebook; nothing
    else is guessed."""
    mapping = {name: name for name in expected if name in names}
    notes = []
    if not mapping and len(expected) == 1 and len(names) == 1:
        mapping[expected[0]] = names[0]
        notes.append(f"renamed {names[0]}.ipynb -> {expected[0]}.ipynb")
    extra = [name for name in names if name not in mapping.values()]
    if extra:
        notes.append(f"not collected: {', '.join(f'{n}.ipynb' for n in extra)}")
    missing = [name for name in expected if name not in mapping]
    if not missing:
        return mapping, notes, None
    found = ", ".join(f"{n}.ipynb" for n in names) or "no notebook"
    problem = f"missing {', '.join(f'{n}.ipynb' for n in missing)} (found: {found})"
    return mapping, notes + [problem], problem


def student_id_problem(student: str) -> str | None:
    if not STUDENT_ID.fullmatch(student):
        return f"{student!r} is not usable as a student id (letters, digits, '.', '_', '-', '@', spaces inside)"
    return None


# -- sources --------------------------------------------------------------------------------


def read_folder(folder: Path, assignment: str, report: Report) -> list[Submission]:
    """<student>/<assignment>/*.ipynb or <student>/*.ipynb under folder."""
    if not folder.is_dir():
        raise CourseError(f"no folder {folder}: --from takes a folder of <student>/{assignment}/*.ipynb "
                          f"or <student>/*.ipynb.")
    submissions = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(JUNK):
            continue
        if not entry.is_dir():
            report.skipped.append(f"{entry.name}: not in a student folder")
            continue
        if problem := student_id_problem(entry.name):
            report.problems.append(f"{entry}: {problem}")
            continue
        where = entry / assignment if (entry / assignment).is_dir() else entry
        submission = Submission(entry.name)
        for path in sorted(where.iterdir()):
            if path.name.startswith(JUNK) or path.name == "timestamp.txt":
                continue
            if path.suffix == ".ipynb" and path.is_file():
                submission.notebooks[path.stem] = path.read_bytes
            else:
                report.skipped.append(f"{path.relative_to(folder)}: not a notebook")
        if (where / "timestamp.txt").is_file():
            submission.timestamp = (where / "timestamp.txt").read_text(errors="replace").strip()
        submissions.append(submission)
    return submissions


def unsafe_entry(info: zipfile.ZipInfo, max_bytes: int) -> str | None:
    """Why an archive entry must not be written anywhere, or None."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in name.split("/"):
        return "its path leaves the archive folder (zip-slip)"
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        return "it is a symbolic link"
    if info.file_size > max_bytes:
        return f"{info.file_size:,} bytes, more than the limit of {max_bytes:,} (CourseDirectory.max_file_size)"
    return None


def read_entry(archive: Path, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """The bytes of an entry, reading no more than max_bytes + 1 (the size in the header may lie)."""
    with zipfile.ZipFile(archive) as zf, zf.open(info) as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"larger than {max_bytes:,} bytes")
    return data


def notebook_key(file_id: str, expected: list[str]) -> str:
    """The assignment notebook an archive file stands for (Canvas adds '-1' etc.), else its own name."""
    name = PurePosixPath(file_id).name[: -len(".ipynb")]
    for notebook in sorted(expected, key=len, reverse=True):
        if re.fullmatch(rf"(?:.*[_ /-])?{re.escape(notebook)}(?:-\d+)?", name):
            return notebook
    return name


def zip_timestamp(text: str | None, name: str, report: Report) -> str | None:
    """A timestamp group of the file name regexp, in nbgrader's format (None if absent or unreadable)."""
    from nbgrader.utils import parse_utc

    if not text:
        return None
    try:
        return f"{parse_utc(text):%Y-%m-%d %H:%M:%S.%f} UTC"
    except (ValueError, OverflowError):
        report.skipped.append(f"{name}: timestamp {text!r} not understood; no timestamp.txt")
        return None


def read_zip(course: Course, archive: Path, assignment: str, report: Report) -> list[Submission]:
    """Notebooks of an LMS archive, in memory, per student (see the module docstring)."""
    from nbgrader.plugins import FileNameCollectorPlugin

    if not archive.is_file():
        raise CourseError(f"no file {archive}: --zip takes the .zip archive downloaded from the LMS.")
    if not zipfile.is_zipfile(archive):
        raise CourseError(f"{archive} is not a zip archive. Download the submissions again as .zip, "
                          f"or unpack them yourself and use --from DIR.")
    quiet = logging.getLogger("course.collect.zip")  # non-matching names are reported below
    quiet.setLevel(logging.ERROR)
    collector = FileNameCollectorPlugin(config=course.config, log=quiet)
    collector.named_regexp = collector.named_regexp or DEFAULT_ZIP_REGEXP
    max_bytes = course.coursedir.max_file_size * 1000
    expected = course.notebooks(assignment)
    submissions: dict[str, Submission] = {}
    duplicates = set()
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            name = info.filename
            if reason := unsafe_entry(info, max_bytes):
                report.problems.append(f"rejected {name}: {reason}; nothing written")
                continue
            if info.is_dir() or name.startswith(JUNK) or PurePosixPath(name).name.startswith(JUNK):
                continue
            if not name.endswith(".ipynb"):
                report.skipped.append(f"{name}: not a notebook")
                continue
            found = collector.collect(name)
            student = (found or {}).get("student_id") or ""
            if not found or (problem := student_id_problem(student)):
                why = problem if found else "the name does not start with <student>_"
                report.problems.append(f"{name}: {why}; not collected")
                continue
            read = partial(read_entry, archive, info, max_bytes)
            try:
                read()  # once now, to report a broken or oversized entry before anything is written
            except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as error:
                report.problems.append(f"rejected {name}: cannot be read ({error}); nothing written")
                continue
            submission = submissions.setdefault(student, Submission(student))
            key = notebook_key(found["file_id"], expected)
            if key in submission.notebooks:
                duplicates.add((student, key))
            submission.notebooks[key] = read
            submission.timestamp = zip_timestamp(found.get("timestamp"), name, report) or submission.timestamp
    for student, key in sorted(duplicates):
        del submissions[student].notebooks[key]
        report.problems.append(f"{student}: several files for {key}.ipynb in the archive; none collected")
    return [submissions[student] for student in sorted(submissions)]


# -- writing ----------------------------------------------------------------------------------


def place(course: Course, assignment: str, submission: Submission, report: Report) -> None:
    """Write one submission into submitted/<student>/<assignment>/, replacing an earlier copy."""
    expected = course.notebooks(assignment)
    mapping, notes, missing = match_notebooks(expected, sorted(submission.notebooks))
    count = f"{len(mapping)}/{len(expected)}"
    if missing:
        report.problems.append(f"{submission.student}: {missing}")
    if not mapping:
        report.rows.append((submission.student, count, "not collected"))
        return
    dest = course.path("submitted", submission.student, assignment)
    if dest.exists():
        shutil.rmtree(dest)
        notes.insert(0, "replaced the earlier copy")
    dest.mkdir(parents=True)
    for notebook, given in mapping.items():
        (dest / f"{notebook}.ipynb").write_bytes(submission.notebooks[given]())
    if submission.timestamp:
        (dest / "timestamp.txt").write_text(submission.timestamp)
    report.rows.append((submission.student, count, "; ".join(notes)))


def _timestamps(course: Course, assignment: str) -> dict[str, str]:
    """{student: the submission's timestamp.txt (or '')} in submitted/."""
    stamps = {}
    for student in course.students_submitted(assignment):
        path = course.path("submitted", student, assignment, "timestamp.txt")
        stamps[student] = path.read_text() if path.is_file() else ""
    return stamps


def collect_exchange(course: Course, assignment: str, report: Report) -> str:
    """nbgrader's collect from the exchange; then renamed notebooks get their expected name."""
    from nbgrader.exchange.default import Exchange

    root = Exchange(config=course.config).root
    if not Path(root, course.course_id, "inbound").is_dir():
        raise CourseError(
            f"no exchange for course {course.course_id!r} in {root} (Exchange.root in nbgrader_config.py). "
            f"Release the assignment to the exchange (nbgrader release_assignment {assignment}) so that students "
            f"can fetch and `nbgrader submit` it; to collect a folder or an LMS archive instead, use --from DIR or --zip FILE.")
    before = _timestamps(course, assignment)
    result = course.api().collect(assignment, update=True)
    if not result["success"]:
        reason = (result.get("error") or result.get("log") or "").strip().splitlines()[-1:] or ["unknown"]
        raise CourseError(
            f"nbgrader could not collect {assignment} from the exchange {root}: {reason[0].split(': ', 1)[-1]} "
            f"Students send their work with `nbgrader submit` after the assignment was released to the exchange "
            f"(nbgrader release_assignment); to collect a folder or an LMS archive instead, use --from DIR or --zip FILE.")
    after = _timestamps(course, assignment)
    expected = course.notebooks(assignment)
    for student in sorted(after):
        if after[student] == before.get(student):
            continue
        folder = course.path("submitted", student, assignment)
        mapping, notes, missing = match_notebooks(expected, sorted(p.stem for p in folder.glob("*.ipynb")))
        for notebook, given in mapping.items():
            if notebook != given:
                (folder / f"{given}.ipynb").rename(folder / f"{notebook}.ipynb")
        if missing:
            report.problems.append(f"{student}: {missing}")
        if student in before:
            notes.insert(0, "replaced the earlier copy with a newer submission")
        report.rows.append((student, f"{len(mapping)}/{len(expected)}", "; ".join(notes)))
    unchanged = sum(1 for student in after if after[student] == before.get(student))
    return f"{len(report.rows)} new submission(s) in the exchange {root}, {unchanged} earlier one(s) unchanged"


def run(args) -> int:
    course = Course(args.course, db_url=args.db_url)
    assignment = course.assignment(args.assignment)
    report = Report()
    if args.from_dir:
        source = Path(args.from_dir)
        submissions = read_folder(source, assignment, report)
    elif args.zip_file:
        source = Path(args.zip_file)
        submissions = read_zip(course, source, assignment, report)
    else:
        summary = collect_exchange(course, assignment, report)
        return report.show(f"collect {assignment}: {summary} -> {course.path('submitted')}")
    for submission in submissions:
        place(course, assignment, submission, report)
    if not submissions:
        report.problems.append(f"no submissions of {assignment} found in {source}")
    return report.show(f"collect {assignment} from {source} -> {course.path('submitted')}")
