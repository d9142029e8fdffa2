"""course collect ASSIGNMENT: take in submissions as submitted/<student>/<assignment>/<notebook>.ipynb.

Three sources, one result (nbgrader's layout, with a timestamp.txt when the submission time is known):

  (default)    the nbgrader exchange: what students sent with `nbgrader submit`, collected by
               nbgrader's own ExchangeCollect (a newer submission replaces an older one), screened
               (ScreenedExchangeCollect below): nbgrader copies an inbound folder with shutil.copytree,
               which follows symbolic links and reads named pipes and devices, as the instructor; here
               every inbound submission is checked first and copied without following anything.
  --from DIR   a folder of <student>/<assignment>/*.ipynb or <student>/*.ipynb; a timestamp.txt
               next to the notebooks is kept.
  --zip FILE   an LMS download archive, one entry per student file, named (DEFAULT_ZIP_REGEXP):
                   Moodle  <Full Name>_<participant>_assignsubmission_file_/<file>   -> jane.doe-4242
                           (Jane Doe_4242_assignsubmission_file_/01_derivatives.ipynb)
                   Canvas  <sortablename>_<userid>_<submissionid>_<file>             -> smithjane-12345
                           <sortablename>_LATE_<userid>_<submissionid>_<file>
                           (smithjane_12345_67890_01_derivatives-1.ipynb)
                   plain   <student>_<file>                                           -> alice
                           (alice_01_derivatives.ipynb)
               An LMS student's id is the slug of the name and the LMS's number (two students with the
               same name stay two students). Canvas's user id is the same in every assignment, so the
               id is too. Moodle's participant number is Moodle's per assignment (assign_user_mapping):
               the same student can get another id in the next assignment's archive.
               That is nbgrader's FileNameCollectorPlugin with the default named_regexp; set
               c.FileNameCollectorPlugin.named_regexp in nbgrader_config.py for another naming: groups
               file_id and student_id (or name and participant, made into <slug>-<participant>),
               optionally timestamp. An entry counts as notebook N when its name ends with N.ipynb or
               N-<k>.ipynb (Canvas numbers resubmissions so).
               Entries are read one at a time, never extracted by their own path: entries that would
               escape the folder (zip-slip: `..`, absolute paths), symbolic links and other non-regular
               entries, entries larger than CourseDirectory.max_file_size and corrupt entries are
               rejected, reported and not written; files other than notebooks are reported and skipped.

Files from students are untrusted (autograder/grading/intake.py reads them): nothing is followed out of a
submission. A symbolic link, a named pipe, a device or a socket is never opened; it is rejected, and
the report says so. Every student id, whatever the source, must pass autograder/grading/student_ids.py (ASCII
letters, digits, . _ @ -, starting with a letter or digit, at most 64 characters); a folder, file or
exchange submission with another id is refused with the reason. In the exchange, a submission whose
claimed student id is a Unix user on this machine must be owned by that user (nbgrader's check_owner,
enforced); nbgrader's warnings about suspicious submissions are problems in the report.

A student whose only notebook has another name (a renamed notebook) gets it under the assignment's
notebook name, and the summary says so; otherwise a notebook not found is reported missing.
Collecting again replaces a student's earlier copy (from the exchange: only with a newer submission).
Collect only copies bytes: it never parses a notebook, so a broken one cannot stop it (the
grader reports broken notebooks later). Every problem makes the exit status 1.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import pwd
import re
import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from autograder.grading.intake import MAX_TIMESTAMP_BYTES, Folder, Refused, kind
from autograder.grading.student_ids import MAX_LENGTH, id_problem, printable, quoted, slug

from .course_dir import Course, CourseError

DEFAULT_ZIP_REGEXP = (
    r"(?:(?P<moodle_name>[^_/]+)_(?P<moodle_participant>\d+)_assignsubmission_file_/?(?P<moodle_file>.+)"
    r"|(?P<canvas_name>[^_/]+)_(?:(?i:late)_)?(?P<canvas_participant>\d+)_\d+_(?P<canvas_file>[^/]+)"
    r"|(?P<student_id>[^/_]+)_(?P<file_id>.+))$"
)
JUNK = ("__MACOSX/", ".")  # macOS resource forks, .DS_Store, .ipynb_checkpoints...


@dataclass
class Submission:
    """One student's notebooks from a source: {name without .ipynb: a function reading its bytes}
    (read when written, so that an archive is never held in memory)."""

    student: str
    notebooks: dict[str, Callable[[], bytes]] = field(default_factory=dict)
    timestamp: str | None = None
    note: str = ""


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
            for student, count, note in sorted(self.rows):
                print(f"  {student:<{width}}  {count:<9}  {note}".rstrip())
        collected = sum(1 for _, count, _ in self.rows if not count.startswith(("0/", "-")))
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
        notes.append(f"renamed {printable(names[0])}.ipynb -> {expected[0]}.ipynb")
    extra = [name for name in names if name not in mapping.values()]
    if extra:
        notes.append(f"not collected: {', '.join(f'{printable(n)}.ipynb' for n in extra)}")
    missing = [name for name in expected if name not in mapping]
    if not missing:
        return mapping, notes, None
    found = ", ".join(f"{printable(n)}.ipynb" for n in names) or "no notebook"
    problem = f"missing {', '.join(f'{n}.ipynb' for n in missing)} (found: {found})"
    return mapping, notes + [problem], problem


# -- sources --------------------------------------------------------------------------------


def _read_student_file(root: Path, parts: tuple[str, ...], name: str, max_bytes: int) -> bytes:
    """A student's file root/parts.../name, opened again without following any link below root."""
    with Folder.open(root.joinpath(*parts), untrusted=len(parts)) as folder:
        return folder.read(name, max_bytes)


def read_folder(folder: Path, assignment: str, report: Report, max_bytes: int = 100_000_000) -> list[Submission]:
    """<student>/<assignment>/*.ipynb or <student>/*.ipynb under folder. folder is the instructor's;
    everything in it is the students': looked at with lstat, links and special files never opened."""
    if not folder.is_dir():
        raise CourseError(f"no folder {folder}: --from takes a folder of <student>/{assignment}/*.ipynb "
                          f"or <student>/*.ipynb.")
    submissions = []
    with Folder.open(folder, untrusted=0) as top:
        entries = top.entries()
    for name, mode in entries.items():
        shown = printable(name)
        if name.startswith(JUNK):
            continue
        if stat.S_ISLNK(mode):
            report.problems.append(f"{shown}: a symbolic link, not a student folder; not followed, nothing collected")
            continue
        if not stat.S_ISDIR(mode):
            what = "" if stat.S_ISREG(mode) else f" ({kind(mode)}, not opened)"
            report.skipped.append(f"{shown}: not in a student folder{what}")
            continue
        if problem := id_problem(name):
            report.problems.append(f"{folder / shown}: {problem}; nothing collected")
            continue
        submission = Submission(name)
        submissions.append(submission)
        try:
            with Folder.open(folder / name, untrusted=1) as student:
                parts, inner = (name,), student.entries()
                if assignment in inner:
                    if not stat.S_ISDIR(inner[assignment]):
                        report.problems.append(f"rejected {shown}/{assignment}: {kind(inner[assignment])}, not a "
                                               "folder; not followed, nothing read from it")
                        continue
                    parts = (name, assignment)
                    with student.child(assignment) as where:
                        inner = where.entries()
                        stamp = _timestamp(where, inner, "/".join(parts), report)
                elif any(stat.S_ISDIR(m) for m in inner.values()) and not any(n.endswith(".ipynb") for n in inner):
                    # <student>/<other assignment>/ only: this student has not handed this one in
                    submissions.pop()
                    report.rows.append((name, "-", f"no {assignment}/ folder: not handed in"))
                    continue
                else:
                    stamp = _timestamp(student, inner, name, report)
        except (Refused, OSError) as error:
            report.problems.append(f"{shown}: cannot be read ({error}); nothing collected")
            continue
        submission.timestamp = stamp
        for file_name, file_mode in inner.items():
            relative = printable("/".join([*parts, file_name]))
            if file_name.startswith(JUNK) or file_name in ("timestamp.txt", assignment):
                continue
            if not file_name.endswith(".ipynb"):
                report.skipped.append(f"{relative}: not a notebook")
            elif not stat.S_ISREG(file_mode):
                report.problems.append(f"rejected {relative}: {kind(file_mode)}; not opened, nothing written")
            else:
                submission.notebooks[file_name[: -len(".ipynb")]] = partial(
                    _read_student_file, folder, parts, file_name, max_bytes)
    return submissions


def _timestamp(where: Folder, entries: dict[str, int], relative: str, report: Report) -> str | None:
    if "timestamp.txt" not in entries:
        return None
    try:
        return where.read("timestamp.txt", MAX_TIMESTAMP_BYTES).decode("utf-8", "replace").strip()
    except (Refused, OSError) as error:
        report.problems.append(f"rejected {printable(relative)}/timestamp.txt: {error}; no timestamp kept")
        return None


def unsafe_entry(info: zipfile.ZipInfo, max_bytes: int) -> str | None:
    """Why an archive entry must not be written anywhere, or None."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in name.split("/"):
        return "its path leaves the archive folder (zip-slip)"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "it is a symbolic link"
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return f"it is {kind(mode)}"
    if "\0" in name or any(ord(c) < 32 for c in name):
        return "its name has control characters"
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


def archive_student(groups: dict) -> tuple[str, str, str]:
    """(student id, file id, how the id was made) from the groups of the file name regexp: student_id
    as it is, or <slug of the name>-<participant number> from name/participant groups (the default
    regexp's moodle_* and canvas_* groups, or a configured regexp's name and participant)."""
    for prefix, lms in (("moodle_", "Moodle"), ("canvas_", "Canvas"), ("", "")):
        person, number = groups.get(f"{prefix}name"), groups.get(f"{prefix}participant")
        if person is not None and number is not None:
            file_id = groups.get(f"{prefix}file") or groups.get("file_id") or ""
            name_part = slug(person)[: max(1, MAX_LENGTH - len(number) - 1)].strip(".") or "participant"
            how = f"{lms + ' ' if lms else ''}participant {number}, {person.strip()}"
            return f"{name_part}-{number}", file_id, how
    return groups.get("student_id") or "", groups.get("file_id") or "", ""


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
            shown = printable(name)
            if reason := unsafe_entry(info, max_bytes):
                report.problems.append(f"rejected {shown}: {reason}; nothing written")
                continue
            if info.is_dir() or name.startswith(JUNK) or PurePosixPath(name).name.startswith(JUNK):
                continue
            if not name.endswith(".ipynb"):
                report.skipped.append(f"{shown}: not a notebook")
                continue
            found = collector.collect(name)
            student, file_id, how = archive_student(found or {})
            if not found or (problem := id_problem(student)):
                why = problem if found else "the name does not start with <student>_"
                report.problems.append(f"{shown}: {why}; not collected")
                continue
            read = partial(read_entry, archive, info, max_bytes)
            try:
                read()  # once now, to report a broken or oversized entry before anything is written
            except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as error:
                report.problems.append(f"rejected {shown}: cannot be read ({error}); nothing written")
                continue
            submission = submissions.setdefault(student, Submission(student))
            if how and how not in submission.note:
                submission.note = "; ".join(filter(None, [submission.note, f"id from the archive: {printable(how)}"]))
            key = notebook_key(file_id, expected)
            if key in submission.notebooks:
                duplicates.add((student, key))
            submission.notebooks[key] = read
            submission.timestamp = zip_timestamp(found.get("timestamp"), name, report) or submission.timestamp
    for student, key in sorted(duplicates):
        del submissions[student].notebooks[key]
        report.problems.append(f"{student}: several files for {printable(key)}.ipynb in the archive; none collected")
    return [submissions[student] for student in sorted(submissions)]


# -- writing ----------------------------------------------------------------------------------


def place(course: Course, assignment: str, submission: Submission, report: Report) -> None:
    """Write one submission into submitted/<student>/<assignment>/, replacing an earlier copy."""
    expected = course.notebooks(assignment)
    student = submission.student
    if problem := id_problem(student):   # every source checked this already; the rule is the rule
        report.problems.append(f"{problem}; not collected")
        return
    contents = {}
    for name, read in submission.notebooks.items():
        try:
            contents[name] = read()
        except (Refused, OSError, ValueError, zipfile.BadZipFile, zlib.error) as error:
            report.problems.append(f"rejected {student}/{printable(name)}.ipynb: {error}; nothing written")
    mapping, notes, missing = match_notebooks(expected, sorted(contents))
    count = f"{len(mapping)}/{len(expected)}"
    if submission.note:
        notes.insert(0, submission.note)
    if missing:
        report.problems.append(f"{student}: {missing}")
    if not mapping:
        report.rows.append((student, count, "not collected"))
        return
    if (problem := _unsafe_destination(course, student, assignment)):
        report.problems.append(problem)
        report.rows.append((student, f"0/{len(expected)}", "not collected"))
        return
    dest = course.path("submitted", student, assignment)
    if dest.exists():
        shutil.rmtree(dest)
        notes.insert(0, "replaced the earlier copy")
    dest.mkdir(parents=True)
    for notebook, given in mapping.items():
        (dest / f"{notebook}.ipynb").write_bytes(contents[given])
    if submission.timestamp:
        (dest / "timestamp.txt").write_text(submission.timestamp)
    report.rows.append((student, count, "; ".join(notes)))


def _unsafe_destination(course: Course, student: str, assignment: str) -> str | None:
    """Why submitted/<student>/<assignment> must not be written (a link there would lead the write elsewhere)."""
    for path in (course.path("submitted", student), course.path("submitted", student, assignment)):
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return None
        if not stat.S_ISDIR(mode):
            return (f"{student}: {path} is {kind(mode)}, not a folder; nothing written. "
                    "Delete it, then collect again")
    return None


def _timestamps(course: Course, assignment: str) -> dict[str, str]:
    """{student: the submission's timestamp.txt (or '')} in submitted/."""
    stamps = {}
    for student in course.students_submitted(assignment):
        try:
            with Folder.open(course.path("submitted", student, assignment), untrusted=2) as folder:
                stamps[student] = folder.read("timestamp.txt", MAX_TIMESTAMP_BYTES).decode("utf-8", "replace")
        except (Refused, OSError):
            stamps[student] = ""
    return stamps


# -- the exchange ---------------------------------------------------------------------------


def _screened_exchange_collect():
    """ScreenedExchangeCollect (defined on first use: nbgrader's exchange classes are slow to import)."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.exchange.default import ExchangeCollect
    from nbgrader.utils import check_mode, parse_utc

    class ScreenedExchangeCollect(ExchangeCollect):
        """nbgrader's ExchangeCollect, with what students control screened.

        nbgrader lists inbound/<student>+<assignment>+<time>[+<random>] and copies the newest per
        student with shutil.copytree, which follows symbolic links (to any file the instructor can
        read), reads named pipes (blocks) and devices (/dev/zero: forever), and fails the whole collect
        on one badly named folder. Here, before nbgrader chooses the newest submission per student,
        every inbound submission is screened and the refused ones are left out (so a refused newer
        one does not replace a good older one):
          - its name must parse and its student id pass autograder/grading/student_ids.py;
          - it must be a real folder (not a link) holding only folders and regular files, within
            CourseDirectory.max_dir_size (nothing is opened while screening);
          - check_owner: if the claimed student id is a Unix user here, that user must own it.
        The copy itself (do_copy) opens nothing through a link either. `refusals` says why, per
        submission."""

        refusals: list[str]

        def init_src(self):
            self.refusals = []
            if self.coursedir.course_id == "":
                self.fail("No course id specified. Re-run with --course flag.")
            self.course_path = os.path.join(self.root, self.coursedir.course_id)
            self.inbound_path = os.path.join(self.course_path, "inbound")
            if not os.path.isdir(self.inbound_path):
                self.fail("Course not found: {}".format(self.inbound_path))
            if not check_mode(self.inbound_path, read=True, execute=True):
                self.fail("You don't have read permissions for the directory: {}".format(self.inbound_path))
            records = {}
            for name in sorted(os.listdir(self.inbound_path)):
                parts = name.split("+")
                if len(parts) < 3 or parts[1] != self.coursedir.assignment_id:
                    if f"+{self.coursedir.assignment_id}+" in name:
                        self.refusals.append(f"inbound {printable(name)}: not a name nbgrader submit writes "
                                             "(<student>+<assignment>+<time>); not collected")
                    continue
                reason = self.screen(name, parts)
                if reason:
                    self.refusals.append(f"inbound {printable(name)}: {reason}; not collected")
                    continue
                records.setdefault(parts[0], []).append(
                    {"username": parts[0], "filename": name, "timestamp": parse_utc(parts[2])})
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
                try:
                    self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
                except MissingEntry:
                    self.duedate = None
            self.src_records = []
            for mine in records.values():   # nbgrader's choice: the newest, or the newest before the due date
                mine = self._sort_by_timestamp(mine)
                if self.duedate is not None and self.before_duedate:
                    on_time = [r for r in mine if r["timestamp"] <= self.duedate]
                    mine = on_time or mine
                self.src_records.append(mine[0])

        def screen(self, name: str, parts: list[str]) -> str | None:
            """Why the inbound submission name must not be collected, or None."""
            student = parts[0]
            if len(parts) > 4:
                return "not a name nbgrader submit writes (<student>+<assignment>+<time>)"
            if problem := id_problem(student):
                return problem
            try:
                parse_utc(parts[2])
            except (ValueError, OverflowError):
                return f"the time {quoted(parts[2])} in its name is not a time"
            try:
                with Folder.open(Path(self.inbound_path, name), untrusted=1) as folder:
                    owner = os.fstat(folder.fd).st_uid
                    problem = tree_problem(folder, 1000 * self.coursedir.max_dir_size)
            except Refused as refused:
                return str(refused)
            except OSError as error:
                return f"cannot be read ({error.strerror or error})"
            if problem:
                return problem
            if self.check_owner:
                try:
                    claimed = pwd.getpwnam(student)
                except KeyError:
                    claimed = None   # not a Unix user here: nbgrader's own warning says so, below
                if claimed is not None and claimed.pw_uid != owner:
                    try:
                        owner_name = pwd.getpwuid(owner).pw_name
                    except KeyError:
                        owner_name = f"user id {owner}"
                    return (f"claims to be submitted by {student} but is owned by {owner_name} "
                            f"(nbgrader's check_owner: {student} is a user here)")
            return None

        def do_copy(self, src, dest, log=None):
            """src (an inbound submission) to dest, opening nothing through a link, honouring
            CourseDirectory.ignore, include and max_file_size as nbgrader's copy does."""
            try:
                with Folder.open(src, untrusted=1) as folder:
                    copy_tree(folder, Path(dest), self.coursedir, self.refusals, Path(src).name)
            except (Refused, OSError) as error:
                shutil.rmtree(dest, ignore_errors=True)
                self.refusals.append(f"inbound {printable(Path(src).name)}: {error}; not collected")

    return ScreenedExchangeCollect


def _walk(folder: Folder, relative: str, depth: int = 0):
    """(relative path, st_mode, its folder, name) for everything under folder, without following links."""
    if depth > 20:
        raise Refused(f"{relative or 'the folder'} nests folders more than 20 deep")
    for name, mode in folder.entries().items():
        path = f"{relative}/{name}" if relative else name
        yield path, mode, folder, name
        if stat.S_ISDIR(mode):
            with folder.child(name) as inner:
                yield from _walk(inner, path, depth + 1)


def tree_problem(folder: Folder, max_bytes: int) -> str | None:
    """Why a submission folder must not be copied (something in it is not a folder or a regular file,
    or it is too large), or None. Only lstat: nothing is opened but folders."""
    total = 0
    for path, mode, parent, name in _walk(folder, ""):
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            return f"{printable(path)} is {kind(mode)}; nothing in a submission may be"
        if stat.S_ISREG(mode):
            total += parent.lstat(name).st_size
            if total > max_bytes:
                return f"more than {max_bytes:,} bytes (CourseDirectory.max_dir_size)"
    return None


def copy_tree(folder: Folder, dest: Path, coursedir, refusals: list[str], label: str) -> None:
    """Copy the folders and regular files under folder to dest (a new folder), by nbgrader's ignore,
    include and max_file_size rules; anything else refuses the whole copy."""
    dest.mkdir(parents=True)
    skipped = set()
    for path, mode, parent, name in _walk(folder, ""):
        if any(path.startswith(s + "/") for s in skipped):
            continue
        if any(fnmatch.fnmatch(name, glob) for glob in coursedir.ignore):
            skipped.add(path)
            continue
        target = dest / path
        if stat.S_ISDIR(mode):
            target.mkdir()
        elif not stat.S_ISREG(mode):
            raise Refused(f"{printable(path)} is {kind(mode)}; it was not opened")
        elif coursedir.include and not any(fnmatch.fnmatch(name, glob) for glob in coursedir.include):
            continue
        else:
            limit = 1000 * coursedir.max_file_size
            if parent.lstat(name).st_size > limit:
                refusals.append(f"inbound {printable(label)}: {printable(path)} is over {limit:,} bytes "
                                "(CourseDirectory.max_file_size); not copied")
                continue
            target.write_bytes(parent.read(name, limit))


def _suspicious(log: str, inbound: str) -> list[str]:
    """nbgrader's warnings in a captured log, one line each (not the 'nothing to collect' one), with
    the inbound folder's path shortened to inbound/."""
    found = []
    for block in re.split(r"\n(?=\[[A-Z]+\])", log):
        if block.startswith("[WARNING]") and "No submissions of" not in block:
            text = " ".join(block[len("[WARNING]"):].split()).replace(inbound.rstrip("/") + "/", "inbound/")
            if "cheating attempt?" in text:   # nbgrader names the option CollectApp's; it is ExchangeCollect's
                text += (" (where one shared user submits for everyone, set c.ExchangeCollect.check_owner = False "
                         "in nbgrader_config.py)")
            found.append(printable(text, limit=400))
    return found


def collect_exchange(course: Course, assignment: str, report: Report) -> str:
    """nbgrader's collect from the exchange (screened); then renamed notebooks get their expected name."""
    from nbgrader.exchange.default import Exchange
    from nbgrader.utils import capture_log, temp_attrs

    root = Exchange(config=course.config).root
    if not Path(root, course.course_id, "inbound").is_dir():
        raise CourseError(
            f"no exchange for course {course.course_id!r} in {root} (Exchange.root in nbgrader_config.py). "
            f"Release the assignment to the exchange (nbgrader release_assignment {assignment}) so that students "
            f"can fetch and `nbgrader submit` it; to collect a folder or an LMS archive instead, use --from DIR or --zip FILE.")
    before = _timestamps(course, assignment)
    api = course.api()
    level = api.log.level
    api.log.setLevel(logging.WARNING)   # nbgrader's warnings (check_owner...) go into the captured log
    try:
        with temp_attrs(api.coursedir, assignment_id=assignment):
            collector = _screened_exchange_collect()(coursedir=api.coursedir, authenticator=api.authenticator, parent=api)
            collector.update = True
            result = capture_log(collector)
    finally:
        api.log.setLevel(level)
    if not result["success"]:
        reason = (result.get("error") or result.get("log") or "").strip().splitlines()[-1:] or ["unknown"]
        raise CourseError(
            f"nbgrader could not collect {assignment} from the exchange {root}: {reason[0].split(': ', 1)[-1]} "
            f"Students send their work with `nbgrader submit` after the assignment was released to the exchange "
            f"(nbgrader release_assignment); to collect a folder or an LMS archive instead, use --from DIR or --zip FILE.")
    report.problems.extend(getattr(collector, "refusals", []))
    report.problems.extend(f"nbgrader: {warning}" for warning in _suspicious(result.get("log", ""), str(Path(root, course.course_id, "inbound"))))
    after = _timestamps(course, assignment)
    expected = course.notebooks(assignment)
    for student in sorted(after):
        if after[student] == before.get(student):
            continue
        folder = course.path("submitted", student, assignment)
        names = sorted(p.name[: -len(".ipynb")] for p in folder.iterdir()
                       if p.name.endswith(".ipynb") and stat.S_ISREG(os.lstat(p).st_mode))
        mapping, notes, missing = match_notebooks(expected, names)
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
        submissions = read_folder(source, assignment, report, course.coursedir.max_file_size * 1000)
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
