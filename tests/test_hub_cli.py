"""`course hub` and `course release --to-exchange/--feedback` without a running hub: option
parsing, the generated configuration, and the refusals that name what is wrong and how to fix it."""

from __future__ import annotations

import csv
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from course.cli import build_parser
from course.course_dir import Course, CourseError
from course.hub import check_course_private, server_python, service_user_of, unreachable_part
from course.hub.config import HubSettings, hub_config_text, write_state
from course.hub.roster import Member, read_roster, sync_gradebook
from course_harness import ROOT


def test_course_option_before_or_after_the_subcommand():
    parser = build_parser()
    assert parser.parse_args(["--course", "/a", "lab"]).course == "/a"
    assert parser.parse_args(["lab", "--course", "/b"]).course == "/b"
    assert parser.parse_args(["--course", "/a", "lab", "--course", "/b"]).course == "/b"
    assert parser.parse_args(["--db-url", "sqlite:///x.db", "release"]).db_url == "sqlite:///x.db"
    assert parser.parse_args(["lab"]).course == os.environ.get("COURSE_ROOT", ".")
    assert parser.parse_args(["lab"]).db_url is None


def test_course_course_dir_lab_reaches_the_course(tmp_path):
    missing = tmp_path / "nowhere"
    done = subprocess.run([sys.executable, "-m", "course.cli", "--course", str(missing), "lab", "--no-browser"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and str(missing) in done.stderr   # the option was used, not refused


def test_release_help_documents_handing_out():
    done = subprocess.run([sys.executable, "-m", "course.cli", "release", "--help"], capture_output=True, text=True)
    assert "--to-exchange" in done.stdout and "--feedback" in done.stdout and "exchange" in done.stdout
    done = subprocess.run([sys.executable, "-m", "course.cli", "hub", "--help"], capture_output=True, text=True)
    assert "--roster" in done.stdout and "--extra-config" in done.stdout


@pytest.mark.nbgrader
def test_release_to_the_exchange_and_again(tmp_path):
    course = Course.temporary(tmp_path / "course", ["01_derivatives"])
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    for _ in range(2):   # a second release replaces the first
        done = subprocess.run([sys.executable, "-m", "course.cli", "release", "01_derivatives", "--to-exchange",
                               "--exchange", str(exchange), "--course", str(course.root)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (exchange / "autodiff" / "outbound" / "01_derivatives" / "01_derivatives.ipynb").is_file()
    assert "released 01_derivatives to the students" in done.stdout


@pytest.mark.nbgrader
def test_release_to_a_missing_exchange_says_how_to_make_it(tmp_path):
    course = Course.temporary(tmp_path / "course", ["01_derivatives"])
    done = subprocess.run([sys.executable, "-m", "course.cli", "release", "01_derivatives", "--to-exchange",
                           "--exchange", str(tmp_path / "none"), "--course", str(course.root)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "chmod 1777" in done.stderr


@pytest.mark.nbgrader
def test_release_feedback_without_feedback_says_what_to_run(tmp_path):
    course = Course.temporary(tmp_path / "course", ["01_derivatives"])
    done = subprocess.run([sys.executable, "-m", "course.cli", "release", "01_derivatives", "--feedback",
                           "--exchange", str(tmp_path), "--course", str(course.root)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "course feedback 01_derivatives" in done.stderr


def _roster(path: Path, rows) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["username", "role", "first_name", "last_name", "email"])
        writer.writerows(rows)
    return path


def test_a_wrong_roster_names_each_problem(tmp_path):
    path = _roster(tmp_path / "r.csv", [["Ada Lovelace", "student", "", "", ""], ["bob", "teacher", "", "", ""],
                                        ["bob", "student", "", "", ""]])
    with pytest.raises(CourseError) as error:
        read_roster(path)
    message = str(error.value)
    assert "line 2" in message and "not a valid user name" in message
    assert "line 3" in message and "'student' or 'instructor'" in message
    assert "line 4" in message and "listed twice" in message


@pytest.mark.nbgrader
def test_roster_names_reach_the_gradebook(tmp_path):
    course = Course(Course.temporary(tmp_path / "course", ["01_derivatives"]).root)
    root = pwd.getpwuid(0).pw_name
    written = sync_gradebook(course, [Member("ada", "student", "Ada", "Lovelace"), Member("prof", "instructor", "G", "H"),
                                      Member(root, "student")])
    assert written == ["ada", root]
    with course.gradebook() as gb:
        assert (gb.find_student("ada").first_name, gb.find_student("ada").last_name) == ("Ada", "Lovelace")
        with pytest.raises(Exception):
            gb.find_student("prof")   # instructors are not students


def test_the_course_service_never_runs_as_root(tmp_path):
    course = Course(Course.temporary(tmp_path / "course", ["01_derivatives"]).root)
    if course.root.stat().st_uid == 0:
        with pytest.raises(CourseError, match="must not"):
            service_user_of(course, None)
    with pytest.raises(CourseError, match="no Unix user"):
        service_user_of(course, "no-such-user-here")


def test_a_course_folder_open_to_others_is_refused(tmp_path):
    course = Course(Course.temporary(tmp_path / "course", ["01_derivatives"]).root)
    course.root.chmod(0o755)
    with pytest.raises(CourseError, match="chmod o-rwx"):
        check_course_private(course)
    course.root.chmod(0o750)
    check_course_private(course)


def test_a_python_other_users_cannot_run_is_refused(tmp_path):
    closed = tmp_path / "closed"
    (closed / "bin").mkdir(parents=True)
    python = closed / "bin" / "python"
    python.symlink_to(sys.executable)
    closed.chmod(0o700)
    tmp_path.chmod(0o755)
    assert unreachable_part(python) in (closed, *closed.parents)
    with pytest.raises(CourseError, match="closed to other users"):
        server_python(str(python))


def test_the_generated_configuration_loads_with_lti(tmp_path):
    """jupyterhub_config.py as written, with the LTI 1.3 file of deploy/ loaded at its end."""
    members = [Member("ada", "student"), Member("prof", "instructor")]
    settings = HubSettings(course_root=tmp_path / "course", course_id="autodiff", exchange=tmp_path / "exchange",
                           state=tmp_path / "state", members=members, service_user=pwd.getpwuid(os.getuid()).pw_name,
                           extra_config=ROOT / "deploy" / "single-server" / "lti13.py")
    config_file = write_state(settings)
    assert oct(config_file.stat().st_mode & 0o777) == "0o600"
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    assert config.JupyterHub.authenticator_class == "ltiauthenticator.lti13.auth.LTI13Authenticator"
    assert config.Authenticator.allowed_users == {"ada", "prof"}
    assert config.JupyterHub.load_groups == {"nbgrader-autodiff": {"users": ["ada"]}, "formgrade-autodiff": {"users": ["prof"]}}
    role = config.JupyterHub.load_roles[0]
    assert role["groups"] == ["formgrade-autodiff"] and "access:services!service=autodiff" in role["scopes"]
    service = config.JupyterHub.services[0]
    assert service["name"] == "autodiff" and service["user"] == settings.service_user
    from ltiauthenticator.lti13.auth import LTI13Authenticator
    authenticator = LTI13Authenticator(config=config)
    assert authenticator.client_id == {"CHANGE-ME"} or list(authenticator.client_id) == ["CHANGE-ME"]
    assert "load_subconfig" in hub_config_text(settings)
