"""Files from students are untrusted: links, pipes, devices, hostile names and ids, LMS namesakes,
impostors in the exchange and deeply nested JSON, through the real commands.

- `course collect --from DIR`: symbolic links (to the source notebook, a classmate's notebook,
  /proc/self/environ), a FIFO, a device, a socket, a symbolically linked student folder, folder names
  with HTML and path characters, a long id: each rejected with the reason, nothing read through a link,
  the honest students collected.
- `course collect --zip`: two Canvas participants of the same name kept apart, late ones, a Moodle
  archive, hostile and 300-character ids, a configured named_regexp.
- the exchange, with real Unix users made by the test (removed afterwards): a student submitting as
  another (nbgrader submit --student), links, a FIFO and a linked folder planted in inbound/, names
  nbgrader would crash on; the honest students collected from their own submissions.
- the grading engine (`course grade`): course/banks/hostile_files.py graded in one batch, every attack
  with its score and reason, no secret in autograded/ or the output; folders of submitted/ with an
  invalid id or a link are reported, not graded; `--student` with an invalid id is refused.

Secrets: the instructor's source notebook (its solution lines), a classmate's notebook and the
environment of the collecting or grading process (a variable set only for that command) must never
appear in submitted/, autograded/ or what the command prints.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.grading.intake import read_submission
from autograder.grading.student_ids import MAX_LENGTH, id_problem, slug
from course.banks.adversarial import Context
from course.banks.hostile_files import ATTACKS, Fifo, Link, write_files
from course.course_dir import Course
from course_harness import ROOT, release_notebook, source_notebook

A = "01_derivatives"
NB = f"{A}.ipynb"


def mark_source(course: Course) -> str:
    """Put a secret into the course's source notebook (a markdown cell at the end); returns it."""
    secret = f"INSTRUCTOR-SOURCE-SECRET-{uuid.uuid4().hex}"
    path = course.root / "source" / A / NB
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(secret))
    nbformat.write(nb, path)
    return secret


def make_course(folder: Path, extra_config: str = "", exchange: Path | None = None) -> Course:
    course = Course.temporary(folder, [A])
    config = course.root / "nbgrader_config.py"
    exchange = exchange or course.root / "exchange"
    config.write_text(config.read_text() + f"\nc.Exchange.root = {str(exchange)!r}\n" + extra_config)
    return course


def course_command(course: Course, *args: str, secret: str = "", timeout: float = 900) -> subprocess.CompletedProcess:
    """`course ARGS` as a separate process (its /proc/self/environ holds HOSTILE_SECRET=secret)."""
    env = {**os.environ, "HOSTILE_SECRET": secret or "unset"}
    return subprocess.run([sys.executable, "-m", "course.cli", *args, "--course", str(course.root)],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=str(course.root))


def regular_files(*roots: Path):
    for root in roots:
        if root.exists():
            for path in root.rglob("*"):
                if stat.S_ISREG(os.lstat(path).st_mode):
                    yield path


def assert_nowhere(secrets: list[str], *roots: Path, output: str = "") -> None:
    """None of the secrets in any regular file under roots (links are not followed) or in output."""
    for secret in secrets:
        assert secret not in output, f"{secret!r} printed"
        for path in regular_files(*roots):
            assert secret.encode() not in path.read_bytes(), f"{secret!r} in {path}"


def answered_bytes(marker: str) -> bytes:
    """An honest student's notebook (the source's solutions), with a marker of whose it is."""
    nb = source_notebook(A)
    nb.cells[0].source += f"\n\n{marker}"
    return nbformat.writes(nb).encode()


# -- the id rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("student", ["alice", "jane.doe-4242", "smithjane-12345", "a.b_c@d-e", "X" * MAX_LENGTH, "007"])
def test_ids_that_pass(student):
    assert id_problem(student) is None


@pytest.mark.parametrize("student, words", [
    ("", "empty"), ("x" * 300, "300 characters long, over the limit of 64"), ("<script>", "'<' '>'"),
    ("a/b", "'/'"), ("..", "starts with '.'"), (".hidden", "starts with '.'"), ("-rf", "starts with '-'"),
    ("a\\b", "'\\\\'"), ("a\0b", "'\\x00'"), ("new\nline", "'\\n'"), ("Jane Doe", "' '"), ("al+ice", "'+'"),
    ("\u0430lice", "'\u0430'"), ("a*b", "'*'"), ("café", "'é'"),
])
def test_ids_that_are_refused_say_why(student, words):
    problem = id_problem(student)
    assert problem and words in problem, problem
    assert "\n" not in problem and "\0" not in problem


def test_slug_of_names():
    assert slug("Jane Doe") == "jane.doe" and slug("José García") == "jose.garcia"
    assert slug("O'Brien, Mary") == "o.brien.mary" and slug("李雷") == ""


# -- course collect --from DIR ----------------------------------------------------------------


@pytest.fixture
def hostile_inbox(tmp_path):
    """A course and a download folder where most students are attacks; returns (course, inbox, secrets)."""
    course = make_course(tmp_path / "course")
    source_secret = mark_source(course)
    secret = f"ENVIRONMENT-SECRET-{uuid.uuid4().hex}"
    inbox = tmp_path / "inbox"
    honest = {"alice": answered_bytes("ALICE-OWN-WORK"), "zoe": answered_bytes("ZOE-OWN-WORK")}
    for student, data in honest.items():
        (inbox / student / A).mkdir(parents=True)
        (inbox / student / A / NB).write_bytes(data)
    (inbox / "alice" / A / "timestamp.txt").write_text("2024-03-01 12:00:00.000000 UTC")
    source = course.root / "source" / A / NB
    write_files(inbox / "bob" / A, {NB: Link(str(source))})                                  # the source notebook
    write_files(inbox / "carol" / A, {NB: Link(str(course.root / "submitted" / "alice" / A / NB))})  # a classmate's
    write_files(inbox / "dave" / A, {NB: Link("/proc/self/environ")})
    write_files(inbox / "erin" / A, {NB: Fifo()})
    os.symlink(course.root / "source" / A, inbox / "frank")                                  # a linked student folder
    (inbox / "gina").mkdir()
    os.symlink(course.root / "source" / A, inbox / "gina" / A)                               # a linked assignment folder
    (inbox / "hugo" / A).mkdir(parents=True)
    os.mknod(inbox / "hugo" / A / NB, stat.S_IFCHR | 0o644, os.makedev(1, 5))               # a device (/dev/zero)
    (inbox / "ivan" / A).mkdir(parents=True)
    with socket.socket(socket.AF_UNIX) as server:
        here = os.getcwd()
        os.chdir(inbox / "ivan" / A)                                                         # socket paths are short
        try:
            server.bind(NB)
        finally:
            os.chdir(here)
    write_files(inbox / "zoe" / A, {"timestamp.txt": Link("/proc/self/environ")})           # honest, a linked timestamp
    for name in ("<img src=x onerror=alert(1)>", "new\nline", "back\\slash", "-rf", "x" * 100, "Jane Doe", "al+ice"):
        (inbox / name / A).mkdir(parents=True)
        (inbox / name / A / NB).write_bytes(source.read_bytes())
    os.mkfifo(inbox / "a-fifo-at-the-top")
    return course, inbox, [secret, source_secret, "ALICE-OWN-WORK"]


def test_collect_from_a_folder_follows_nothing(hostile_inbox):
    course, inbox, secrets = hostile_inbox
    done = course_command(course, "collect", A, "--from", str(inbox), secret=secrets[0])
    out = done.stdout
    assert done.returncode == 1, done.stdout + done.stderr
    submitted = course.root / "submitted"
    assert sorted(os.listdir(submitted)) == ["alice", "zoe"]
    assert (submitted / "alice" / A / NB).read_bytes() == (inbox / "alice" / A / NB).read_bytes()
    assert (submitted / "alice" / A / "timestamp.txt").read_text() == "2024-03-01 12:00:00.000000 UTC"
    assert (submitted / "zoe" / A / NB).read_bytes() == (inbox / "zoe" / A / NB).read_bytes()
    assert not (submitted / "zoe" / A / "timestamp.txt").exists()
    for line in [
        f"rejected bob/{A}/{NB}: a symbolic link; not opened, nothing written",
        f"rejected carol/{A}/{NB}: a symbolic link; not opened",
        f"rejected dave/{A}/{NB}: a symbolic link; not opened",
        f"rejected erin/{A}/{NB}: a named pipe (FIFO); not opened",
        "frank: a symbolic link, not a student folder; not followed, nothing collected",
        f"rejected gina/{A}: a symbolic link, not a folder; not followed",
        f"rejected hugo/{A}/{NB}: a device file; not opened",
        f"rejected ivan/{A}/{NB}: a socket; not opened",
        f"rejected zoe/{A}/timestamp.txt: timestamp.txt is a symbolic link; it was not opened",
        "the student id '<img src=x onerror=alert(1)>' contains ' ' '(' ')' '<' '=' '>'",
        "the student id 'new\\nline' contains '\\n'",
        "the student id 'back\\\\slash' contains '\\\\'",
        "the student id '-rf' starts with '-'",
        "is 100 characters long, over the limit of 64",
        "the student id 'Jane Doe' contains ' '",
        "the student id 'al+ice' contains '+'",
        "a-fifo-at-the-top: not in a student folder (a named pipe (FIFO), not opened)",
    ]:
        assert line in out, f"{line!r} not in:\n{out}"
    assert "2 student(s) collected" in out
    assert "\nline" not in out   # the newline of a folder name is shown escaped, not printed
    assert_nowhere(secrets[:2], submitted, output=out + done.stderr)
    assert "ALICE-OWN-WORK" not in (submitted / "zoe" / A / NB).read_text()


# -- course collect --zip ---------------------------------------------------------------------


def test_collect_from_lms_archives_keeps_namesakes_apart(tmp_path):
    course = make_course(tmp_path / "course")
    archive = tmp_path / "download.zip"
    entries = {   # entry name -> (expected student id, content)
        f"smithjane_12345_111_{A}.ipynb": ("smithjane-12345", b'{"jane": "one"}'),
        f"smithjane_67890_222_{A}.ipynb": ("smithjane-67890", b'{"jane": "two"}'),
        f"doejohn_LATE_555_333_{A}-1.ipynb": ("doejohn-555", b'{"late": 1}'),
        f"Jane Doe_4242_assignsubmission_file_/{A}.ipynb": ("jane.doe-4242", b'{"moodle": "one"}'),
        f"Jane Doe_4343_assignsubmission_file_/{A}.ipynb": ("jane.doe-4343", b'{"moodle": "two"}'),
        f"José García_77_assignsubmission_file_/{A}.ipynb": ("jose.garcia-77", b'{"moodle": "accents"}'),
        f"alice_{A}.ipynb": ("alice", b'{"plain": 1}'),
        f"{'y' * 300}_1_2_{A}.ipynb": ("y" * 62 + "-1", b'{"long": 1}'),   # an LMS name is cut to fit, the number kept
    }
    hostile = {f"<script>alert(1)<_{A}.ipynb": "contains '(' ')' '<' '>'",
               f"{'x' * 300}_{A}.ipynb": "300 characters long, over the limit of 64",
               f"-rf_{A}.ipynb": "starts with '-'"}
    with zipfile.ZipFile(archive, "w") as zf:
        for name, (_, data) in entries.items():
            zf.writestr(name, data)
        for name in hostile:
            zf.writestr(name, b'{"hostile": 1}')
        fifo = zipfile.ZipInfo(f"mallory_{A}.ipynb")
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zf.writestr(fifo, b"")
    done = course_command(course, "collect", A, "--zip", str(archive))
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    for name, (student, data) in entries.items():
        assert (course.root / "submitted" / student / A / NB).read_bytes() == data, (name, out)
    assert sorted(os.listdir(course.root / "submitted")) == sorted(s for s, _ in entries.values())
    for name, words in hostile.items():
        [line] = [line for line in out.splitlines() if "problem:" in line and name[:40] in line]
        assert words in line and line.endswith("not collected"), line
    assert f"rejected mallory_{A}.ipynb: it is a named pipe (FIFO); nothing written" in out
    assert re.search(r"smithjane-12345\s+1/1\s+id from the archive: Canvas participant 12345, smithjane", out)
    assert re.search(r"jane.doe-4343\s+1/1\s+id from the archive: Moodle participant 4343, Jane Doe", out)
    assert "8 student(s) collected, 4 problem(s)" in out


def test_a_configured_named_regexp_still_works(tmp_path):
    """nbgrader's FileNameCollectorPlugin.named_regexp: student_id groups as nbgrader documents them,
    or name and participant groups; both must give ids that pass the rule."""
    regexp = r"(?:hw-(?P<student_id>[^-]+)-(?P<file_id>.+)|(?P<name>[A-Za-z ]+)#(?P<participant>\d+)#(?P<x>.+))"
    course = make_course(tmp_path / "course", f"c.FileNameCollectorPlugin.named_regexp = {regexp!r}\n")
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"hw-alice-{A}.ipynb", b'{"a": 1}')
        zf.writestr(f"Ann Lee#31#{A}.ipynb", b'{"b": 1}')
        zf.writestr(f"hw-b<o>b-{A}.ipynb", b'{"c": 1}')
    done = course_command(course, "collect", A, "--zip", str(archive))
    assert (course.root / "submitted" / "alice" / A / NB).read_bytes() == b'{"a": 1}'
    assert (course.root / "submitted" / "ann.lee-31" / A / NB).read_bytes() == b'{"b": 1}', done.stdout
    assert "the student id 'b<o>b' contains '<' '>'" in done.stdout and done.returncode == 1


# -- the exchange, with real Unix users -------------------------------------------------------


def _python_binds() -> list[str]:
    """bubblewrap options that make this Python installation reachable for any user, wherever it lives
    (e.g. under a home folder that only root may enter): the first closed ancestor is replaced by an
    empty folder holding only the installation."""
    options, hidden = [], set()
    for path in sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}):
        chain = [*reversed(path.parents), path]
        closed = next((p for p in chain[1:] if not os.stat(p).st_mode & stat.S_IXOTH), None)
        if closed is None or path in hidden:
            continue
        if closed not in hidden:
            options += ["--tmpfs", str(closed)]
            hidden.add(closed)
        for parent in chain[chain.index(closed) + 1: -1]:
            options += ["--perms", "0755", "--dir", str(parent)]
        options += ["--ro-bind", str(path), str(path)]
        hidden.add(path)
    return options


class UnixUsers:
    """Unix users made for one test (useradd), each with a home folder; all removed by remove()."""

    def __init__(self, base: Path):
        self.base, self.names = base, []
        self.tag = uuid.uuid4().hex[:6]

    def add(self, who: str) -> str:
        name = f"hf{who}{self.tag}"
        home = self.base / name
        subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin",
                        "--user-group", name], check=True, capture_output=True)
        self.names.append(name)
        home.mkdir(parents=True)
        shutil.chown(home, name, name)
        return name

    def run(self, name: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """argv as user name in their home folder (setpriv inside bubblewrap, which shows the Python
        installation to that user and nothing else changes)."""
        home = self.base / name
        command = ["bwrap", "--bind", "/", "/", "--proc", "/proc", "--dev", "/dev", *_python_binds(),
                   "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--chdir", str(home), "--",
                   "setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups", "--",
                   "env", "-i", f"HOME={home}", f"USER={name}", f"PATH={Path(sys.executable).parent}:/usr/bin:/bin", *argv]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if check:
            assert done.returncode == 0, f"{argv} as {name}: {done.stdout}{done.stderr}"
        return done

    def remove(self) -> None:
        for name in self.names:
            subprocess.run(["userdel", name], capture_output=True)
        self.names = []


@pytest.fixture
def unix_users(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="hostile-homes-", dir="/tmp"))
    os.chmod(base, 0o755)
    users = UnixUsers(base)
    try:
        yield users
    finally:
        users.remove()
        shutil.rmtree(base, ignore_errors=True)
    for name in users.names:
        with pytest.raises(KeyError):
            pwd.getpwnam(name)


def _nbgrader(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "nbgrader"), *args]


@pytest.mark.nbgrader
def test_exchange_collect_with_real_students_refuses_impostors_and_links(tmp_path, unix_users):
    """Students fetch and submit with `nbgrader submit` as their own Unix users; mallory submits as
    alice (`--student`), as someone without an account, and plants a link, a FIFO, a linked folder and
    badly named folders in inbound/. collect: alice, bob and mallory from their own submissions; the rest
    refused or reported, with the reasons; nothing read through a link."""
    if shutil.which("bwrap") is None or os.geteuid() != 0:
        pytest.fail("needs root and bubblewrap (bash scripts/setup.sh installs it)", pytrace=False)
    exchange = Path(tempfile.mkdtemp(prefix="hostile-exchange-", dir="/tmp"))
    try:
        os.chmod(exchange, 0o777)   # as nbgrader's docs set up /srv/nbgrader/exchange
        course = make_course(tmp_path / "course", exchange=exchange)
        source_secret = mark_source(course)
        shutil.copytree(ROOT / "release" / A, course.root / "release" / A)
        released = Course(course.root).api().release_assignment(A)   # to the exchange in nbgrader_config.py
        assert released["success"], released
        alice, bob, mallory = (unix_users.add(who) for who in ("alice", "bob", "mallory"))
        config = ["--course", "autodiff", f"--Exchange.root={exchange}"]
        for student in (alice, bob, mallory):
            unix_users.run(student, *_nbgrader("fetch_assignment", A, *config))
            work = unix_users.base / student / A / NB
            work.write_bytes(answered_bytes(f"OWN-WORK-OF-{student}"))   # keeps the student as owner
        unix_users.run(mallory, *_nbgrader("submit", A, *config))                    # mallory's honest one
        unix_users.run(alice, *_nbgrader("submit", A, *config))
        unix_users.run(bob, *_nbgrader("submit", A, *config))
        (unix_users.base / mallory / A / NB).write_bytes(answered_bytes("MALLORY-AS-ALICE"))
        unix_users.run(mallory, *_nbgrader("submit", A, *config, f"--student={alice}"))  # newer than alice's
        unix_users.run(mallory, *_nbgrader("submit", A, *config, "--student=zed"))       # no such Unix user
        inbound = exchange / "autodiff" / "inbound"
        source = course.root / "source" / A
        planted = {   # made by mallory herself, straight into inbound/ (0733: anyone may create)
            f"{mallory}+{A}+2099-01-01 00:00:01.000000 UTC": f"mkdir -p '{{d}}' && ln -s '{source / NB}' '{{d}}/{NB}'",
            f"{mallory}+{A}+2099-01-01 00:00:02.000000 UTC": f"mkdir -p '{{d}}' && mkfifo '{{d}}/{NB}'",
            f"{mallory}+{A}+2099-01-01 00:00:03.000000 UTC": f"ln -s '{source}' '{{d}}'",
            f"{mallory}+{A}+2099-01-01 00:00:04.000000 UTC": f"mkdir -p '{{d}}' && ln -s /proc/self/environ '{{d}}/{NB}'",
            f"{bob}+{A}+not a time": "mkdir -p '{d}'",
            f"<script>+{A}+2099-01-01 00:00:05.000000 UTC": "mkdir -p '{d}'",
        }
        for name, shell in planted.items():
            unix_users.run(mallory, "sh", "-c", shell.format(d=inbound / name))
        secret = f"ENVIRONMENT-SECRET-{uuid.uuid4().hex}"
        done = course_command(course, "collect", A, secret=secret)
        out = done.stdout
        assert done.returncode == 1, out + done.stderr
        submitted = course.root / "submitted"
        assert sorted(os.listdir(submitted)) == sorted([alice, bob, mallory, "zed"]), out
        for student in (alice, bob, mallory):
            assert f"OWN-WORK-OF-{student}".encode() in (submitted / student / A / NB).read_bytes(), (student, out)
        assert f"claims to be submitted by {alice} but is owned by {mallory} (nbgrader's check_owner: {alice} is a " \
               "user here); not collected" in out
        assert re.search(rf"problem: nbgrader: inbound/zed\+{A}\+.+? claims to be submitted by zed but is owned "
                         rf"by {mallory}; cheating attempt\?", out), out
        assert f"{NB} is a symbolic link; nothing in a submission may be; not collected" in out
        assert f"{NB} is a named pipe (FIFO); nothing in a submission may be; not collected" in out
        assert f"{mallory}+{A}+2099-01-01 00:00:03.000000 UTC: {mallory}+{A}+2099-01-01 00:00:03.000000 UTC is a " \
               f"symbolic link, not a folder; nothing in it was read; not collected" in out
        assert f"the time 'not a time' in its name is not a time" in out
        assert "the student id '<script>' contains '<' '>'" in out
        assert "MALLORY-AS-ALICE".encode() not in (submitted / alice / A / NB).read_bytes()
        assert_nowhere([secret, source_secret], submitted, output=out + done.stderr)
    finally:
        shutil.rmtree(exchange, ignore_errors=True)


# -- the grading engine -----------------------------------------------------------------------


@pytest.mark.sandbox
@pytest.mark.nbgrader
def test_grading_engine_scores_every_hostile_file_and_reads_nothing_through_a_link(tmp_path):
    """The bank, written into submitted/ directly (student00, student01... in bank order), graded by
    `course grade` in a process whose environment holds a secret; plus a folder with an HTML id and a
    linked student folder in submitted/, which are reported and not graded."""
    course = make_course(tmp_path / "course")
    source_secret = mark_source(course)
    course.generate(A)
    context = Context(course.root)
    for i, attack in enumerate(ATTACKS):
        write_files(course.root / "submitted" / f"student{i:02d}" / A, attack.build(context), context)
    hostile_folder = course.root / "submitted" / "<b>x" / A
    hostile_folder.mkdir(parents=True)
    (hostile_folder / NB).write_bytes(nbformat.writes(source_notebook(A)).encode())
    os.symlink(course.root / "submitted" / "student00", course.root / "submitted" / "linked")
    secret = f"ENVIRONMENT-SECRET-{uuid.uuid4().hex}"

    done = course_command(course, "grade", A, "--workers", "2", "--cell-timeout", "20", secret=secret)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    said = " ".join(out.split())   # rich wraps long lines
    assert "problem: <b>x: not graded: the student id '<b>x' contains '<' '>'" in said
    assert "problem: linked: submitted/linked is a symbolic link, not a folder; not graded" in said
    for refused in ("<b>x", "linked"):
        assert not (course.root / "autograded" / refused).exists()
        assert not (course.root / "grading" / A / f"{refused}.json").exists()
    assert_nowhere([secret], course.root / "autograded", course.root / "grading", output=out)
    linked = [f"student{i:02d}" for i, a in enumerate(ATTACKS) if "source notebook" in a.name]
    assert_nowhere([source_secret], *(course.root / "autograded" / s for s in linked))
    wrong = []
    for i, attack in enumerate(ATTACKS):
        record = json.loads((course.root / "grading" / A / f"student{i:02d}.json").read_text())
        said = " ".join([*record["problems"].values(), *record["notes"]])
        if record["status"] != "graded" or record["score"] != attack.score or attack.reason.lower() not in said.lower():
            wrong.append(f"{attack.name}: {record['status']} {record['score']} (expected {attack.score}, "
                         f"{attack.reason!r}); said: {said[:300]}")
    assert not wrong, "\n".join(wrong)


def test_course_grade_refuses_an_invalid_student_id(tmp_path):
    course = make_course(tmp_path / "course")
    course.submit("ann", A, release_notebook(A))
    for student, words in (("x" * 300, "300 characters long"), ("../ann", "contains '/'"), ("<i>", "contains '<' '>'")):
        done = course_command(course, "grade", A, "--student", student)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "--student: the student id" in done.stderr and words in done.stderr, done.stderr


# -- intake on its own: nested JSON and special files never crash or block -------------------------


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.score == 0], ids=lambda a: a.name)
def test_intake_gives_a_reason_for_each_hostile_file(tmp_path, attack):
    context = Context(ROOT)
    folder = tmp_path / "submitted" / "student01" / A
    write_files(folder, attack.build(context), context)
    intake = read_submission(folder, [A])
    assert not intake.notebooks and attack.reason.lower() in intake.problems[A].lower(), intake.problems


def test_intake_refuses_a_linked_submission_folder(tmp_path):
    (tmp_path / "submitted" / "real" / A).mkdir(parents=True)
    (tmp_path / "submitted" / "real" / A / NB).write_bytes(nbformat.writes(source_notebook(A)).encode())
    os.symlink(tmp_path / "submitted" / "real", tmp_path / "submitted" / "linked")
    intake = read_submission(tmp_path / "submitted" / "linked" / A, [A])
    assert not intake.notebooks and "linked is a symbolic link, not a folder" in intake.problems[A]
    assert read_submission(tmp_path / "submitted" / "real" / A, [A]).notebooks
