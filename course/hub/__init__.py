"""course hub: the class on a real JupyterHub on this machine.

    course hub --roster roster.csv [--port 8000] [--exchange /srv/nbgrader/exchange]
               [--state /var/lib/course-hub/<course>] [--service-user USER] [--config-only]

Run as root (PAM checks passwords against /etc/shadow; the spawner starts each user's server as
that user). Every roster user is a real Unix user; students get JupyterLab with nbgrader's
assignment list and Validate, instructors also reach the course service: the formgrader on the
course folder, run by the hub as the course's Unix user (the owner of the folder), at
/services/<course>/formgrader and /services/<course>/course/. JupyterHub's RBAC keeps
students out of it and out of each other's servers. See docs/admin-guide.md.

The modules: roster.py (the class list, gradebook names), config.py (what is written),
spawn.py (per-role servers), instructor_view.py (the service's extension), run here.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
from pathlib import Path

from ..course_dir import Course, CourseError
from .config import PROXY, VENV_BIN, HubSettings, prepare_exchange, write_state
from .roster import missing_unix_users, read_roster, sync_gradebook

DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_user_of(course: Course, requested: str | None) -> str:
    """The Unix user the course service runs as: --service-user, else the course folder's owner."""
    name = requested or pwd.getpwuid(course.root.stat().st_uid).pw_name
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise CourseError(f"no Unix user {name!r} for the course service: create it (useradd --system "
                          f"--create-home {name}) or pass --service-user USER.") from None
    if entry.pw_uid == 0:
        raise CourseError(f"the course service would run as root ({course.root} belongs to root): the formgrader "
                          f"must not. Create a course user and give it the course: useradd --system --create-home "
                          f"autodiff && chown -R autodiff: {course.root}; or pass --service-user USER.")
    return name


def check_course_private(course: Course) -> None:
    """Students must not read source/ (the solutions): the course folder must be closed to others."""
    mode = course.root.stat().st_mode
    if mode & 0o007:
        raise CourseError(f"{course.root} is open to other users (mode {mode & 0o777:o}): students could read the "
                          f"solutions in source/. Close it: chmod o-rwx {course.root}.")


def unreachable_part(path: Path) -> Path | None:
    """The first folder (or the file) on the way to path that other users cannot pass, or None."""
    path = Path(path)
    for part in [*reversed(path.parents), path]:
        if not part.stat().st_mode & 0o001:
            return part
    if path.is_symlink():
        return unreachable_part(path.resolve())
    return None


def server_python(requested: str | None) -> Path:
    """The Python of users' servers: --python, else this one; every user must be able to run it."""
    python = Path(requested or sys.executable).absolute()
    if not python.exists():
        raise CourseError(f"--python {python} does not exist.")
    blocked = unreachable_part(python)
    if blocked is not None:
        raise CourseError(
            f"the users' servers could not run {python}: {blocked} is closed to other users (it resolves to "
            f"{python.resolve()}). Install the course with a Python everyone can run (PYTHON=/usr/bin/python3 bash "
            f"scripts/setup.sh), or pass --python with one whose site-packages hold the course.")
    return python


def settings_from(args, course: Course) -> HubSettings:
    members = read_roster(args.roster)
    missing = missing_unix_users(members)
    if missing:
        raise CourseError("these roster users have no Unix account (PAM and the spawner need one each): "
                          + ", ".join(missing) + ". Create them, e.g. useradd --create-home --comment 'Ada Lovelace' "
                          + f"{missing[0]} && passwd {missing[0]}.")
    if not PROXY.is_file():
        raise CourseError(f"JupyterHub's proxy is missing at {PROXY}: run bash scripts/setup.sh (it installs "
                          "configurable-http-proxy from npm into .venv/node).")
    exchange = Path(args.exchange or os.environ.get("AUTODIFF_EXCHANGE") or DEFAULT_EXCHANGE).resolve()
    state = Path(args.state or f"/var/lib/course-hub/{course.course_id}").resolve()
    return HubSettings(
        course_root=course.root, course_id=course.course_id, exchange=exchange, state=state, members=members,
        service_user=service_user_of(course, args.service_user), ip=args.ip, port=args.port,
        hub_port=free_port(), proxy_api_port=free_port(), service_port=free_port(), db_url=args.db_url,
        extra_config=Path(args.extra_config).resolve() if args.extra_config else None,
        python=server_python(args.python),
    )


def give_gradebook_to(course: Course, user: str) -> None:
    """A SQLite gradebook created by root here must be writable by the course service."""
    url = course.db_url
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        entry = pwd.getpwnam(user)
        if path.exists() and path.stat().st_uid == 0:
            os.chown(path, entry.pw_uid, entry.pw_gid)


def run(args) -> int:
    if os.geteuid() != 0:
        raise CourseError("course hub must run as root: PAM reads /etc/shadow to check passwords and the "
                          "spawner starts each user's server as that user. Run: sudo .venv/bin/course hub ...")
    course = Course(args.course, db_url=args.db_url)
    check_course_private(course)
    settings = settings_from(args, course)
    named = sync_gradebook(course, settings.members)
    give_gradebook_to(course, settings.service_user)
    prepare_exchange(settings.exchange)
    config = write_state(settings)
    print(f"course hub: {len(named)} student(s) in the gradebook of {course.course_id}; exchange {settings.exchange}", flush=True)
    print(f"course hub: configuration {config}", flush=True)
    if args.config_only:
        return 0
    url = f"http://{settings.ip}:{settings.port}"
    print(f"course hub: JupyterHub at {url}/hub/login ; instructors: {url}/services/{settings.service_name}/formgrader "
          f"and {url}/services/{settings.service_name}/course/", flush=True)
    print("course hub: press Ctrl-C to stop (every server the hub started stops with it).", flush=True)
    hub = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(config)], cwd=settings.state, start_new_session=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return hub.wait()
    except KeyboardInterrupt:
        hub.terminate()   # JupyterHub stops users' servers, the service and the proxy on SIGTERM
        try:
            hub.wait(timeout=60)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            os.killpg(hub.pid, signal.SIGKILL)
            hub.wait()
        print("course hub: JupyterHub stopped.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
