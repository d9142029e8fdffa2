"""`course hub` end to end: a real JupyterHub on 127.0.0.1 with real Unix users, PAM passwords,
the real proxy, the shared exchange and the course service, driven as the class uses it.

The module builds one class (a module fixture, `hub_class`): it creates Unix users (a course
owner, an instructor, two students), a private course folder owned by the course user, and
starts `course hub`. Then, in order:

  the instructor releases 01_derivatives to the exchange (`course release --to-exchange`, as the
  course user); each student logs in with their password (the hub's login form: PAM), starts a
  server through the REST API, fetches the assignment with nbgrader's assignment-list API, writes
  the completed notebook (Ada: correct; Bob: a typical mistake from course/banks), validates it
  and submits it; the instructor collects (`course collect`, course user), grades with the
  sandboxed engine (`course grade`, root) and writes and releases feedback (`course feedback`,
  `course release --feedback`); the students fetch their feedback.

The tests then check what each step left behind, and what the hub refuses. The module's
finalizer stops the hub (SIGTERM: it stops every server it started), checks that no process of
the test users survives and deletes the users and their homes.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
import requests

from browser import browser, listener, open_page  # noqa: F401  (fixtures)
from course.banks import mutate, source_notebook
from course.banks import a01_derivatives as bank
from course_harness import ROOT, Course

pytestmark = pytest.mark.hub

ASSIGNMENT = "01_derivatives"
BROWSER_ASSIGNMENTS = ["02_backprop", "04_mlp"]   # a Graphviz drawing; a widget
COURSE_ID = "autodiff"
MISTAKE = bank.MUTANTS[0]                            # forward difference divided by 2h: ex1 loses its points
COURSE_CMD = [sys.executable, "-m", "course.cli"]
STARTUP_SECONDS = 90


# -- Unix users ----------------------------------------------------------------------------------

@dataclass
class UnixUser:
    name: str
    password: str
    full_name: str

    @property
    def entry(self):
        return pwd.getpwnam(self.name)


def _closed_folders(paths) -> list[tuple[Path, list[Path]]]:
    """Each folder on the way to one of paths that other users cannot enter, outermost first, with
    its children on those ways."""
    found: dict[Path, list[Path]] = {}
    for path in paths:
        for folder in reversed(path.parents):
            if not folder.stat().st_mode & 0o001:
                child = folder / path.relative_to(folder).parts[0]
                if child not in found.setdefault(folder, []):
                    found[folder].append(child)
    return sorted(found.items(), key=lambda item: len(item[0].parts))


def python_for_everyone(base: Path) -> list[str]:
    """A command prefix under which every user can run this venv's Python and read the checkout
    (empty when they can).

    Here the venv's interpreter is a pyenv build under /root (mode 700), and the checkout may be in
    a private folder (a clone in `mktemp -d`), which the hub's users cannot enter (on a machine set
    up with PYTHON=/usr/bin/python3 bash scripts/setup.sh, in a checkout others can read, they can).
    The prefix runs the command in a mount namespace of its own in which each closed folder is an
    empty world-enterable tmpfs holding only what is on the way, bound in: the same paths as
    outside, nothing on the machine changes, and the mounts vanish with the processes.
    """
    needed = [Path(sys.executable).resolve(), Path(sys.executable).absolute(), ROOT.resolve()]
    steps = []
    for closed, children in _closed_folders(needed):
        holds = [Path(tempfile.mkdtemp(prefix="bind-", dir=base)) for _ in children]
        steps += [f'mount --bind "{child}" "{hold}"' for child, hold in zip(children, holds)]
        steps.append(f'mount -t tmpfs -o mode=755 tmpfs "{closed}"')
        steps += [f'mkdir -p "{child}"; mount --move "{hold}" "{child}"' for child, hold in zip(children, holds)]
    if not steps:
        return []
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "set -e; " + "; ".join(steps) + '; exec "$@"', "sh"]


def create_user(name: str, full_name: str, system: bool = False) -> UnixUser:
    password = secrets.token_urlsafe(12)
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--comment", full_name,
                    *(["--system"] if system else []), name], check=True, capture_output=True)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True, capture_output=True)
    return UnixUser(name, password, full_name)


def processes_of(uid: int) -> list[str]:
    """`pid command` of every process running as uid."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    found.append(f"{entry.name} {command}")
            except FileNotFoundError:
                pass
    return found


def delete_user(user: UnixUser) -> None:
    subprocess.run(["userdel", "--remove", user.name], capture_output=True)


def as_user(user: UnixUser, command: list[str], env: dict, cwd: Path, base: Path) -> subprocess.CompletedProcess:
    """Run command as the Unix user (uid, gid, no other groups), with HOME set to theirs."""
    entry = user.entry
    drop = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"]
    return subprocess.run([*python_for_everyone(base), *drop, *command], cwd=cwd,
                          env=dict(env, HOME=entry.pw_dir, USER=user.name), capture_output=True, text=True, timeout=600)


# -- the hub over HTTP ---------------------------------------------------------------------------

class HubUser:
    """A hub user in a requests session: logged in through the login form, then with an API token."""

    def __init__(self, hub: "Hub", user: UnixUser):
        self.hub, self.user, self.name = hub, user, user.name
        self.session = requests.Session()
        self.token = None

    def login(self, password: str | None = None) -> requests.Response:
        """POST the hub's login form (PAM checks the password); redirects not followed."""
        form = self.session.get(self.hub.url("/hub/login"), timeout=30)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
        return self.session.post(self.hub.url("/hub/login"), allow_redirects=False, timeout=60,
                                 data={"username": self.name, "password": password or self.user.password, "_xsrf": xsrf})

    def create_token(self) -> str:
        """An API token of the logged-in user, asked for with the session's cookies (and xsrf)."""
        xsrf = self.session.cookies.get("_xsrf")
        response = self.session.post(self.hub.url(f"/hub/api/users/{self.name}/tokens"), timeout=30,
                                     headers={"X-XSRFToken": xsrf, "Referer": self.hub.url("/hub/")},
                                     json={"note": "course hub test", "expires_in": 3600})
        assert response.status_code == 201, response.text
        self.token = response.json()["token"]
        return self.token

    def request(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(method, self.hub.url(path), headers=headers, allow_redirects=False, timeout=300, **kwargs)

    def start_server(self) -> None:
        response = self.request("POST", f"/hub/api/users/{self.name}/server")
        assert response.status_code in (201, 202), response.text
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            model = self.request("GET", f"/hub/api/users/{self.name}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        pytest.fail(f"{self.name}'s server did not start within {STARTUP_SECONDS} s:\n{self.hub.output()}")

    # nbgrader's server extensions in the user's own server
    def nbgrader(self, action: str, **data) -> dict:
        response = self.request("POST", f"/user/{self.name}/assignments/{action}", data=data)
        assert response.status_code == 200, f"{action}: {response.status_code} {response.text}"
        return response.json()

    def assignments(self) -> list[dict]:
        response = self.request("GET", f"/user/{self.name}/assignments", params={"course_id": COURSE_ID})
        assert response.status_code == 200, response.text
        return response.json()["value"]

    def read(self, path: str, type_: str = "file") -> dict:
        response = self.request("GET", f"/user/{self.name}/api/contents/{path}", params={"content": "1", "type": type_})
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()

    def write_notebook(self, path: str, nb) -> None:
        response = self.request("PUT", f"/user/{self.name}/api/contents/{path}",
                                json={"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))})
        assert response.status_code in (200, 201), response.text


@dataclass
class Hub:
    process: subprocess.Popen
    port: int
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_hub(hub: Hub) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            pytest.fail(f"course hub exited with {hub.process.returncode}:\n{hub.output()}")
        try:
            if requests.get(hub.url("/hub/api"), timeout=5).status_code == 200 and \
                    requests.get(hub.url("/hub/login"), timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"course hub did not answer within {STARTUP_SECONDS} s:\n{hub.output()}")


def stop_hub(hub: Hub) -> int:
    if hub.process.poll() is None:
        hub.process.send_signal(signal.SIGTERM)
        try:
            hub.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(hub.process.pid, signal.SIGKILL)
            hub.process.wait()
    return hub.process.returncode


# -- the class -----------------------------------------------------------------------------------

def completed(released, solution):
    """The released notebook with every solution cell filled in from the source notebook."""
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def with_payloads(nb, listener_url: str):
    """nb with cells whose scripts, if they ever ran in a browser, would call the listener:
    a markdown cell with a script, an onerror handler and a javascript: link, and a code cell
    whose outputs (made when the grader runs it) are an HTML script, an image handler and JavaScript."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    markdown = nbformat.v4.new_markdown_cell(
        f'Payloads: <script>fetch("{listener_url}/markdown-script")</script>'
        f'<img src="x" onerror="fetch(\'{listener_url}/markdown-onerror\')">'
        f' <a id="payload-link" href="javascript:fetch(\'{listener_url}/markdown-link\')">link</a>')
    code = nbformat.v4.new_code_cell(
        "from IPython.display import HTML, Javascript, display\n"
        f"display(HTML('<script>fetch(\"{listener_url}/output-script\")</script>"
        f"<img src=x onerror=\"fetch(\\'{listener_url}/output-onerror\\')\">'))\n"
        f"display(Javascript('fetch(\"{listener_url}/output-javascript\")'))\n")
    nb.cells[1:1] = [markdown, code]
    return nb


FEEDBACK_SCORE = re.compile(r"Score:\s*([0-9.]+)\s*/\s*([0-9.]+)")


@dataclass
class HubClass:
    hub: Hub
    base: Path
    course: Path
    exchange: Path
    owner: UnixUser
    instructor: HubUser
    students: dict[str, HubUser]
    steps: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    listener: object = None

    def run_as_owner(self, step: str, *args: str) -> subprocess.CompletedProcess:
        done = as_user(self.owner, [*COURSE_CMD, *args, "--course", str(self.course)], self.env, self.course, self.base)
        self.steps[step] = done
        assert done.returncode == 0, f"{step}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done


@pytest.fixture(scope="module")
def hub_class(tmp_path_factory, listener):
    if os.geteuid() != 0:
        pytest.fail("the hub tests create Unix users and run JupyterHub with PAM: run them as root", pytrace=False)
    tag = secrets.token_hex(2)
    users: list[UnixUser] = []
    base = Path(tempfile.mkdtemp(prefix="course-hub-test-"))
    base.chmod(0o755)
    hub = None
    try:
        owner = create_user(f"crs{tag}", "Course Autodiff", system=True)
        users.append(owner)
        prof = create_user(f"prof{tag}", "Grace Hopper")
        ada = create_user(f"ada{tag}", "Ada L.")          # the roster's names win over the account's
        bob = create_user(f"bob{tag}", "Bob Babbage")     # no names in the roster: the account's full name
        users += [prof, ada, bob]

        course_dir = base / "course"
        Course.temporary(course_dir, [ASSIGNMENT, *BROWSER_ASSIGNMENTS])
        subprocess.run(["chown", "-R", f"{owner.name}:", str(course_dir)], check=True)
        course_dir.chmod(0o700)
        exchange = base / "exchange"
        roster = base / "roster.csv"
        with roster.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["username", "role", "first_name", "last_name", "email"])
            writer.writerow([prof.name, "instructor", "Grace", "Hopper", ""])
            writer.writerow([ada.name, "student", "Ada", "Lovelace", "ada@example.org"])
            writer.writerow([bob.name, "student", "", "", ""])
        port = free_port()
        log = base / "course-hub.log"
        env = dict(os.environ, AUTODIFF_EXCHANGE=str(exchange))
        env.pop("AUTODIFF_DB_URL", None)
        with log.open("w") as out:
            process = subprocess.Popen(
                [*python_for_everyone(base), *COURSE_CMD, "hub", "--roster", str(roster), "--port", str(port), "--exchange", str(exchange),
                 "--state", str(base / "state"), "--course", str(course_dir)],
                stdout=out, stderr=subprocess.STDOUT, cwd=base, env=env, start_new_session=True)
        hub = Hub(process, port, log)
        wait_for_hub(hub)
        klass = HubClass(hub, base, course_dir, exchange, owner, HubUser(hub, prof),
                         {"ada": HubUser(hub, ada), "bob": HubUser(hub, bob)}, env=env)
        klass.listener = listener
        _run_the_class(klass)
        yield klass
    finally:
        leftovers = {}
        if hub is not None:
            klass_status = stop_hub(hub)
            print(f"course hub exited with {klass_status}")
        for user in users:
            # the hub stopped every server it started; wait a moment for their kernels to go
            deadline = time.monotonic() + 30
            while processes_of(user.entry.pw_uid) and time.monotonic() < deadline:
                time.sleep(0.5)
            left = processes_of(user.entry.pw_uid)
            if left:
                leftovers[user.name] = left
                for line in left:
                    try:
                        os.kill(int(line.split()[0]), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            delete_user(user)
        if os.environ.get("COURSE_HUB_TEST_KEEP"):   # debugging: keep the course, exchange and logs
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
        assert not leftovers, f"processes survived the hub: {leftovers}"
        assert not [u.name for u in users if _exists(u.name)], "Unix users were left behind"


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _run_the_class(klass: HubClass) -> None:
    """The whole term, in order; what each step returned goes into klass.results."""
    r = klass.results
    # The instructor releases the assignment (as the course user, as docs/admin-guide.md says).
    klass.run_as_owner("release", "release", ASSIGNMENT, *BROWSER_ASSIGNMENTS, "--to-exchange")

    solution = source_notebook(ASSIGNMENT, klass.course)
    for key, student in klass.students.items():
        r[f"{key}-login"] = student.login().status_code
        student.create_token()
        student.start_server()
        r[f"{key}-listed"] = student.assignments()
        student.nbgrader("fetch", course_id=COURSE_ID, assignment_id=ASSIGNMENT)
        released = nbformat.from_dict(student.read(f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb", "notebook")["content"])
        work = completed(released, solution)
        if key == "bob":
            work = with_payloads(mutate(work, MISTAKE["cell"], MISTAKE["old"], MISTAKE["new"]), klass.listener.url)
        student.write_notebook(f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb", work)
        r[f"{key}-validate"] = student.nbgrader("validate", path=f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
        r[f"{key}-submit"] = student.nbgrader("submit", course_id=COURSE_ID, assignment_id=ASSIGNMENT)

    klass.run_as_owner("collect", "collect", ASSIGNMENT)
    # The grading engine needs root (bubblewrap, an unprivileged user per worker).
    done = subprocess.run([*COURSE_CMD, "grade", ASSIGNMENT, "--workers", "2", "--course", str(klass.course)],
                          capture_output=True, text=True, env=klass.env, cwd=klass.course, timeout=900)
    klass.steps["grade"] = done
    assert done.returncode == 0, f"course grade: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    klass.run_as_owner("feedback", "feedback", ASSIGNMENT)
    klass.run_as_owner("release-feedback", "release", ASSIGNMENT, "--feedback")

    for key, student in klass.students.items():
        student.nbgrader("fetch_feedback", course_id=COURSE_ID, assignment_id=ASSIGNMENT)
        listed = {a["assignment_id"]: a for a in student.assignments() if a["status"] == "submitted"}
        r[f"{key}-after-feedback"] = listed
        feedback_dirs = student.read(f"{ASSIGNMENT}/feedback", "directory")["content"]
        pages = []
        for folder in feedback_dirs:
            pages.append(student.read(f"{folder['path']}/{ASSIGNMENT}.html")["content"])
        r[f"{key}-feedback"] = pages


def gradebook_scores(klass: HubClass) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{klass.course / 'gradebook.db'}", COURSE_ID) as gb:
        return {s.student.id: (s.score, s.max_score) for s in gb.find_assignment(ASSIGNMENT).submissions}


# -- what the term left behind -------------------------------------------------------------------

def test_the_hub_is_jupyterhub_6_1_behind_configurable_http_proxy(hub_class):
    import jupyterhub
    version = requests.get(hub_class.hub.url("/hub/api"), timeout=30).json()["version"]
    assert version == jupyterhub.__version__ and version.startswith("6.1."), version
    proxy = [line for line in processes_of(0) if "configurable-http-proxy" in line]
    assert any(".venv/node/bin/configurable-http-proxy" in line and "127.0.0.1" in line for line in proxy), proxy


def test_students_log_in_with_their_unix_password(hub_class):
    for key in ("ada", "bob"):
        assert hub_class.results[f"{key}-login"] == 302
    wrong = HubUser(hub_class.hub, hub_class.students["ada"].user).login(password="not-the-password")
    assert wrong.status_code == 403
    assert "jupyterhub-session-id" not in wrong.cookies and "jupyterhub-hub-login" not in wrong.cookies


def test_a_user_outside_the_roster_is_refused_even_with_a_valid_password(hub_class):
    # the course user is a real Unix user with a password, but not in the roster
    response = HubUser(hub_class.hub, hub_class.owner).login()
    assert response.status_code == 403


def test_the_released_assignment_reaches_the_students(hub_class):
    for key in ("ada", "bob"):
        listed = {a["assignment_id"]: a["status"] for a in hub_class.results[f"{key}-listed"]}
        assert listed.get(ASSIGNMENT) == "released", listed
    assert (hub_class.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    assert "released 01_derivatives to the students" in hub_class.steps["release"].stdout


def test_validate_passes_the_correct_notebook_and_names_the_mistake(hub_class):
    ada, bob = hub_class.results["ada-validate"], hub_class.results["bob-validate"]
    assert ada["success"] and bob["success"], (ada, bob)
    ada_value, bob_value = json.loads(ada["value"]) if isinstance(ada["value"], str) else ada["value"], \
        json.loads(bob["value"]) if isinstance(bob["value"], str) else bob["value"]
    assert not ada_value.get("failed") and not ada_value.get("changed"), ada_value
    assert bob_value.get("failed"), bob_value


def test_submissions_are_collected_under_the_hub_user_names(hub_class):
    submitted = sorted(p.name for p in (hub_class.course / "submitted").iterdir())
    assert submitted == sorted(s.name for s in hub_class.students.values())
    inbound = hub_class.exchange / COURSE_ID / "inbound"
    names = [p.name for p in inbound.iterdir()]
    assert all(any(n.startswith(f"{s.name}+{ASSIGNMENT}+") for n in names) for s in hub_class.students.values()), names
    # Submissions in inbound/ belong to their student's Unix user: the exchange separates them by uid.
    for student in hub_class.students.values():
        owned = {p.stat().st_uid for p in inbound.iterdir() if p.name.startswith(student.name + "+")}
        assert owned == {student.user.entry.pw_uid}


def test_the_sandboxed_grades_are_right(hub_class):
    scores = gradebook_scores(hub_class)
    ada, bob = hub_class.students["ada"].name, hub_class.students["bob"].name
    assert scores[ada][0] == scores[ada][1] == 100
    assert 0 < scores[bob][0] < scores[bob][1]


def test_students_see_their_own_score_in_their_feedback(hub_class):
    scores = gradebook_scores(hub_class)
    for key, student in hub_class.students.items():
        pages = hub_class.results[f"{key}-feedback"]
        assert len(pages) == 1, pages
        found = FEEDBACK_SCORE.search(re.sub(r"<[^>]+>", " ", pages[0]))
        assert found, pages[0][:2000]
        assert (float(found.group(1)), float(found.group(2))) == scores[student.name]
        assert hub_class.results[f"{key}-after-feedback"][ASSIGNMENT]["submissions"][0]["has_local_feedback"]


def test_the_gradebook_has_the_roster_names(hub_class):
    instructor = hub_class.instructor
    if instructor.token is None:
        assert instructor.login().status_code == 302
        instructor.create_token()
    response = instructor.request("GET", f"/services/{COURSE_ID}/formgrader/api/students")
    assert response.status_code == 200, response.text
    names = {s["id"]: (s["first_name"], s["last_name"]) for s in response.json()}
    assert names[hub_class.students["ada"].name] == ("Ada", "Lovelace")          # from the roster
    assert names[hub_class.students["bob"].name] == ("Bob", "Babbage")           # from the Unix account


def test_the_instructor_reaches_the_course_service(hub_class):
    instructor = hub_class.instructor
    if instructor.token is None:
        assert instructor.login().status_code == 302
        instructor.create_token()
    response = instructor.request("GET", f"/services/{COURSE_ID}/formgrader/api/submissions/{ASSIGNMENT}")
    assert response.status_code == 200, response.text
    graded = {s["student"]: s["score"] for s in response.json()}
    scores = gradebook_scores(hub_class)
    assert graded == {student: score for student, (score, _) in scores.items()}


def test_a_student_is_refused_by_the_course_service(hub_class):
    ada = hub_class.students["ada"]
    for path in (f"/services/{COURSE_ID}/formgrader/api/submissions/{ASSIGNMENT}",
                 f"/services/{COURSE_ID}/api/contents/source", f"/services/{COURSE_ID}/course/"):
        response = ada.request("GET", path)
        assert response.status_code == 403, (path, response.status_code, response.text[:500])


def test_a_student_is_refused_by_another_students_server(hub_class):
    ada, bob = hub_class.students["ada"], hub_class.students["bob"]
    response = ada.request("GET", f"/user/{bob.name}/api/contents/{ASSIGNMENT}")
    assert response.status_code == 403, (response.status_code, response.text[:500])
    assert bob.request("GET", f"/user/{bob.name}/api/contents/{ASSIGNMENT}").status_code == 200
    # and cannot start or stop it through the hub
    assert ada.request("DELETE", f"/hub/api/users/{bob.name}/server").status_code in (403, 404)


def test_students_servers_run_as_their_unix_users(hub_class):
    for student in hub_class.students.values():
        uid = student.user.entry.pw_uid
        assert any("jupyterhub.singleuser" in line for line in processes_of(uid)), processes_of(uid)
    service = processes_of(hub_class.owner.entry.pw_uid)
    assert any("jupyterhub.singleuser" in line and "root_dir=" in line for line in service), service


def test_students_see_no_formgrader_in_their_own_server(hub_class):
    ada = hub_class.students["ada"]
    assert ada.request("GET", f"/user/{ada.name}/formgrader/api/assignments").status_code == 404


# -- in a real browser ---------------------------------------------------------------------------
# Headless Chromium (tests/browser.py). Screenshots: outputs/hub-screenshots/ in the repository
# ($COURSE_TEST_OUTPUT/hub-screenshots/ if set), emptied at the start of each run. Not pytest's
# temporary folder: pytest keeps only its last three, and parallel runs rotate them away.

@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ.get("COURSE_TEST_OUTPUT", ROOT / "outputs")) / "hub-screenshots"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"\nhub screenshots: {folder}")
    return folder


def browser_login(browser, hub: Hub, user: UnixUser, next_path: str = ""):
    """Log in through the hub's login page like a person; returns the Visit (its page on next_path)."""
    url = hub.url("/hub/login" + (f"?next={requests.utils.quote(next_path)}" if next_path else ""))
    visit = open_page(browser, url, settle_ms=200)
    page = visit.page
    page.fill("#username_input", user.name)
    page.fill("#password_input", user.password)
    page.click("#login_submit")
    return visit


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def open_notebook_and_run_all(page, hub: Hub, user: str, path: str) -> None:
    """Open path alone in JupyterLab (?reset: a fresh workspace), run all cells, wait for every one."""
    page.goto(hub.url(f"/user/{user}/lab/tree/{path}?reset"), wait_until="load")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)
    menu(page, "Run", "Run All Cells")
    # every code cell ran: no [*] or [ ] prompts are left
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=420000)   # 04_mlp trains networks in the student's kernel: minutes on 2 busy cores


@pytest.mark.browser
def test_browser_a_student_works_in_jupyterlab(hub_class, browser, screenshots):
    """Ada logs in, fetches assignments in nbgrader's Assignments panel, runs two notebooks; the
    Graphviz drawing shows, the widget answers, Validate passes."""
    hub, ada = hub_class.hub, hub_class.students["ada"]
    visit = browser_login(browser, hub, ada.user)
    page = visit.page
    page.wait_for_url(re.compile(rf".*/user/{ada.name}/lab.*"), timeout=60000)
    page.wait_for_selector("#jp-main-dock-panel", timeout=60000)
    page.screenshot(path=str(screenshots / "student-1-lab.png"))

    menu(page, "Nbgrader", "Assignment List")
    released = page.locator("#released_assignments_list")
    released.get_by_text(BROWSER_ASSIGNMENTS[0]).wait_for(timeout=60000)
    page.screenshot(path=str(screenshots / "student-2-assignment-list.png"))
    for name in BROWSER_ASSIGNMENTS:
        row = released.locator(".list_item", has_text=name)
        row.get_by_role("button", name="Fetch").click()
        page.locator("#fetched_assignments_list").get_by_text(name).first.wait_for(timeout=60000)
    page.screenshot(path=str(screenshots / "student-3-fetched.png"))

    # The student's work: the solutions, written into the fetched notebooks.
    for name in BROWSER_ASSIGNMENTS:
        released_nb = nbformat.from_dict(ada.read(f"{name}/{name}.ipynb", "notebook")["content"])
        ada.write_notebook(f"{name}/{name}.ipynb", completed(released_nb, source_notebook(name, hub_class.course)))

    open_notebook_and_run_all(page, hub, ada.name, f"{BROWSER_ASSIGNMENTS[0]}/{BROWSER_ASSIGNMENTS[0]}.ipynb")
    drawing = page.locator(".jp-RenderedSVG").first
    drawing.scroll_into_view_if_needed()
    box = drawing.bounding_box()
    assert box and box["width"] > 50 and box["height"] > 50, box
    assert page.locator(".jp-RenderedSVG svg g.graph, .jp-RenderedSVG img").count() > 0
    drawing.screenshot(path=str(screenshots / "student-4-graphviz.png"))

    page.get_by_role("button", name="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=120000)
    dialog.get_by_text("Success").first.wait_for(timeout=120000)
    page.screenshot(path=str(screenshots / "student-5-validate.png"))
    dialog.get_by_role("button").last.click()
    page.keyboard.press("Control+s")   # saved: leaving a notebook with changes asks "leave the page?"
    page.wait_for_selector(".jp-mod-dirty", state="detached", timeout=30000)

    open_notebook_and_run_all(page, hub, ada.name, f"{BROWSER_ASSIGNMENTS[1]}/{BROWSER_ASSIGNMENTS[1]}.ipynb")
    widget = page.locator(".widget-vbox", has=page.locator(".widget-dropdown")).last
    widget.scroll_into_view_if_needed()
    widget.locator("img").first.wait_for(timeout=60000)
    widget.screenshot(path=str(screenshots / "student-6-widget-before.png"))
    before = widget.inner_text()
    dropdown = widget.locator(".widget-dropdown select").first
    current = dropdown.evaluate("s => s.options[s.selectedIndex].text")
    choice = [o for o in dropdown.locator("option").all_inner_texts() if o not in (current, "(custom)")][0]
    dropdown.select_option(label=choice)
    # the kernel redraws: the readout under the plot changes
    page.wait_for_function("([el, before]) => el.innerText !== before", arg=[widget.element_handle(), before],
                           timeout=60000)
    page.wait_for_timeout(500)
    widget.screenshot(path=str(screenshots / "student-7-widget-after.png"))
    assert not [e for e in visit.errors if "nbgrader" in e.lower()], visit.errors
    visit.page.context.close()


def _same_origin_links(page, hub: Hub) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    origin = hub.url("")
    return sorted({h.split("#")[0] for h in hrefs if h.startswith(origin) and h.split("#")[0]})


@pytest.mark.browser
def test_browser_the_instructor_grades_in_the_course_service(hub_class, browser, screenshots):
    """Grace logs in straight into the course service (its own tab), every link of its pages
    answers, the submissions show with names and scores, and each opens its feedback."""
    hub, prof = hub_class.hub, hub_class.instructor
    service = f"/services/{COURSE_ID}"
    visit = browser_login(browser, hub, prof.user, next_path=f"{service}/formgrader/manage_assignments")
    page = visit.page
    page.wait_for_url(re.compile(rf".*{service}/formgrader/manage_assignments.*"), timeout=60000)
    page.get_by_text(ASSIGNMENT).first.wait_for(timeout=30000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshots / "instructor-1-manage-assignments.png"))

    # JupyterHub's security headers are there, unweakened.
    response = page.request.get(hub.url(f"{service}/formgrader/manage_assignments"))
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")

    # The assignment name links to its source folder under the service (nbgrader #1794/#1888).
    source_link = page.locator(f"a[href*='/tree/source/{ASSIGNMENT}']").first
    assert source_link.get_attribute("href").startswith(f"{service}/tree/"), source_link.get_attribute("href")

    checked = {}
    pages = [f"{service}/formgrader/manage_assignments", f"{service}/formgrader/manage_submissions/{ASSIGNMENT}",
             f"{service}/formgrader/gradebook", f"{service}/formgrader/gradebook/{ASSIGNMENT}",
             f"{service}/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}", f"{service}/formgrader/manage_students",
             f"{service}/formgrader/manage_students/{hub_class.students['bob'].name}", f"{service}/course/"]
    for path in pages:
        page.goto(hub.url(path), wait_until="load")
        page.wait_for_load_state("networkidle")
        for link in _same_origin_links(page, hub):
            if link not in checked:
                checked[link] = page.request.get(link, max_redirects=5).status
    broken = {link: status for link, status in checked.items() if status >= 400}
    assert not broken, broken
    assert any("/tree/source/" in link for link in checked) and any("/formgrader/submissions/" in link for link in checked)

    page.goto(hub.url(f"{service}/formgrader/manage_submissions/{ASSIGNMENT}"), wait_until="load")
    page.get_by_text("Lovelace, Ada").first.wait_for(timeout=30000)
    page.get_by_text("Babbage, Bob").first.wait_for(timeout=30000)
    page.screenshot(path=str(screenshots / "instructor-2-submissions.png"))

    scores = gradebook_scores(hub_class)
    page.goto(hub.url(f"{service}/course/"), wait_until="load")
    for student in hub_class.students.values():
        row = page.locator(f"tr[data-student='{student.name}']")
        score, maximum = scores[student.name]
        assert row.locator(".score").inner_text() == f"{score:g} / {maximum:g}"
    page.screenshot(path=str(screenshots / "instructor-3-course-view.png"))
    page.locator(f"tr[data-student='{hub_class.students['bob'].name}'] a.feedback").first.click()
    page.wait_for_load_state("load")
    text = page.inner_text("body")
    found = FEEDBACK_SCORE.search(text)
    assert found and float(found.group(1)) == scores[hub_class.students["bob"].name][0], text[:1000]
    page.screenshot(path=str(screenshots / "instructor-4-feedback.png"))
    visit.page.context.close()


@pytest.mark.browser
def test_browser_no_payload_runs_in_the_instructors_pages(hub_class, browser, screenshots):
    """Bob's submission carries scripts (markdown, HTML and JavaScript outputs): the grading view,
    the live notebook, the course view and the feedback page run none of them."""
    hub, prof = hub_class.hub, hub_class.instructor
    service = f"/services/{COURSE_ID}"
    bob = hub_class.students["bob"].name
    if prof.token is None:
        assert prof.login().status_code == 302
        prof.create_token()
    notebooks = prof.request("GET", f"{service}/formgrader/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}").json()
    submission_id = [n["id"] for n in notebooks if n["student"] == bob][0]
    visit = browser_login(browser, hub, prof.user, next_path=f"{service}/formgrader/submissions/{submission_id}/")
    page = visit.page
    page.wait_for_url(re.compile(rf".*/formgrader/submissions/{submission_id}/.*"), timeout=60000)
    page.get_by_text("Payloads").first.wait_for(timeout=30000)
    page.wait_for_timeout(2000)
    page.get_by_text("Payloads").first.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "instructor-5-payload-submission.png"))
    if page.locator("#payload-link").count():
        page.locator("#payload-link").first.click()
    for path in (f"{service}/notebooks/autograded/{bob}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", f"{service}/course/",
                 f"{service}/course/feedback/{bob}/{ASSIGNMENT}/{ASSIGNMENT}.html"):
        page.goto(hub.url(path), wait_until="load")
        page.wait_for_timeout(3000)
        page.screenshot(path=str(screenshots / f"instructor-6-{path.strip('/').replace('/', '-')[-60:]}.png"))
    time.sleep(1)
    assert hub_class.listener.hits == [], hub_class.listener.hits
    assert visit.dialogs == [], visit.dialogs
    visit.page.context.close()
