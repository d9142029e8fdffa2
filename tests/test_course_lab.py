"""`course lab`: a real JupyterLab server on a temporary course, checked over HTTP.

One server is started for the module (`course lab --no-browser --port P --course DIR` in a
subprocess); the tests read its printed token, then ask JupyterLab and nbgrader's formgrader
for pages and JSON. The last server test stops it and checks that it is gone.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from course.course_dir import Course, CourseError
from course.lab import DB_URL_VARIABLE, server_environment
from course_harness import ROOT

pytestmark = pytest.mark.lab

ASSIGNMENT = "01_derivatives"
STARTUP_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _course_lab(*args: str) -> list[str]:
    return [sys.executable, "-m", "course.cli", "lab", *args]


class Lab:
    """The running `course lab` process, its port, its log and the token it printed."""

    def __init__(self, process, port, log):
        self.process, self.port, self.log, self.token = process, port, log, None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, token: bool = True):
        """GET path (redirects not followed): (status, headers, body text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Authorization": f"token {self.token}"} if token else {}
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode(errors="replace")
        finally:
            connection.close()


def _environment(tmp) -> dict:
    """The environment of the server: Jupyter config and runtime files of its own, default gradebook."""
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"))
    env.pop(DB_URL_VARIABLE, None)
    return env


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    course = Course.temporary(tmp / "course", [ASSIGNMENT])
    port = _free_port()
    log = tmp / "course-lab.log"
    with log.open("w") as out:
        process = subprocess.Popen(_course_lab("--no-browser", "--port", str(port), "--course", str(course.root)),
                                   stdout=out, stderr=subprocess.STDOUT, cwd=tmp, env=_environment(tmp))
    server = Lab(process, port, log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"course lab exited with {process.returncode}:\n{server.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"course lab did not answer on port {port} within {STARTUP_SECONDS} s:\n{server.output()}")
            found = re.search(r"/lab\?token=([\w-]+)", server.output())
            if found:
                server.token = found.group(1)
                try:
                    if server.get("/api/status")[0] == 200:
                        break
                except OSError:
                    pass
            time.sleep(0.5)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_lab_serves_the_course_folder(lab):
    status, _, page = lab.get("/lab")
    assert status == 200
    assert '<script id="jupyter-config-data"' in page
    status, _, body = lab.get("/api/contents")
    assert status == 200
    assert {"nbgrader_config.py", "source"} <= {item["name"] for item in json.loads(body)["content"]}


def test_requests_without_the_token_are_refused(lab):
    assert lab.get("/api/contents", token=False)[0] == 403
    assert lab.get(f"/api/contents?token={lab.token}", token=False)[0] == 200  # the printed URL logs in


def test_nbgrader_lab_extensions_are_enabled(lab):
    _, _, page = lab.get("/lab")
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert "@jupyter/nbgrader" in {extension["name"] for extension in config["federated_extensions"]}
    assert not [name for name in config["disabledExtensions"] if name.startswith("@jupyter/nbgrader")]


def test_formgrader_answers(lab):
    status, headers, _ = lab.get("/formgrader")
    assert status == 302
    assert headers["Location"].endswith("/formgrader/manage_assignments")
    status, _, page = lab.get("/formgrader/manage_assignments")
    assert status == 200
    assert "Manage Assignments" in page


def test_the_course_assignment_is_listed_by_nbgrader(lab):
    status, _, body = lab.get("/formgrader/api/assignments")
    assert status == 200
    assignments = {a["name"]: a for a in json.loads(body)}
    assert ASSIGNMENT in assignments
    assert assignments[ASSIGNMENT]["source_path"] == f"source/{ASSIGNMENT}"


def test_sigterm_stops_the_server(lab):
    """Runs last of the server tests (they use the server this one stops)."""
    lab.process.send_signal(signal.SIGTERM)
    assert lab.process.wait(timeout=40) == 0
    assert "JupyterLab stopped" in lab.output()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", lab.port), timeout=5).close()


def test_a_folder_that_is_not_a_course_exits_2(tmp_path):
    missing = tmp_path / "no-such-course"
    done = subprocess.run(_course_lab("--no-browser", "--course", str(missing)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert str(missing) in done.stderr
    assert "nbgrader_config.py" in done.stderr


def test_a_port_in_use_is_reported_with_a_hint(tmp_path):
    course = Course.temporary(tmp_path / "course", [ASSIGNMENT])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(_course_lab("--no-browser", "--port", str(port), "--course", str(course.root)),
                              capture_output=True, text=True, timeout=60, env=_environment(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {port}" in done.stderr and "in use" in done.stderr and "--port" in done.stderr


def test_db_url_reaches_the_server_through_the_course_config(tmp_path, monkeypatch):
    monkeypatch.delenv(DB_URL_VARIABLE, raising=False)
    course = Course(Course.temporary(tmp_path / "course", [ASSIGNMENT]).root)
    url = "postgresql+psycopg2://postgres@127.0.0.1:5999/gradebook"
    assert server_environment(course, url)[DB_URL_VARIABLE] == url
    assert DB_URL_VARIABLE not in os.environ
    assert DB_URL_VARIABLE not in server_environment(course, None)


def test_db_url_is_refused_when_the_course_config_ignores_it(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        (ROOT / "nbgrader_config.py").read_text() + '\nc.CourseDirectory.db_url = "sqlite:///fixed.db"\n')
    with pytest.raises(CourseError, match="--db-url"):
        server_environment(Course(tmp_path), "postgresql+psycopg2://postgres@127.0.0.1:5999/gradebook")
