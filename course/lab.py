"""course lab: JupyterLab on 127.0.0.1 with the course folder as its root and nbgrader's extensions.

JupyterLab runs in a child process (``python -m jupyterlab`` from this same Python) whose working
folder is the course root, so that nbgrader's server extensions (formgrader, assignment list,
course list, validate) find the course's nbgrader_config.py. The URL printed at start carries a
fresh token, so opening it logs in. Ctrl-C (or SIGTERM) stops the server and returns.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import socket
import subprocess
import sys

from sqlalchemy.engine import make_url

from .course_dir import Course, CourseError

HOST = "127.0.0.1"

# nbgrader's server extensions, enabled on the command line in case a user config disabled them.
# The formgrader is loaded through course.pages.formgrader (nbgrader's, with pages that autoescape),
# so nbgrader's own entry, which nbgrader's installed config enables, is turned off.
NBGRADER_SERVER_EXTENSIONS = [
    "course.pages.formgrader",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.validate_assignment",
]

# The course's nbgrader_config.py reads its gradebook URL from this variable (see nbgrader_config.py).
DB_URL_VARIABLE = "AUTODIFF_DB_URL"


def check_port_free(port: int) -> None:
    """Raise CourseError when something already listens on HOST:port."""
    with socket.socket() as s:
        # As the server will: a port whose last connections are closing (TIME_WAIT) is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CourseError(f"port {port} on {HOST} is already in use (another Jupyter server?). "
                                  f"Pass a free one with --port, e.g. --port {port + 1}.") from None
            raise CourseError(f"cannot listen on {HOST}:{port}: {error.strerror}. Pass another port with --port.") from None


def server_environment(course: Course, db_url: str | None) -> dict[str, str]:
    """The environment of the server: with --db-url, the variable the course's config reads.

    nbgrader's server extensions load the course's nbgrader_config.py themselves (it overrides
    anything given on the command line), so a gradebook URL can only reach them through it.
    """
    env = dict(os.environ)
    if db_url:
        env[DB_URL_VARIABLE] = db_url
        saved = os.environ.get(DB_URL_VARIABLE)
        os.environ[DB_URL_VARIABLE] = db_url
        try:
            seen = Course(course.root).db_url
        finally:
            if saved is None:
                del os.environ[DB_URL_VARIABLE]
            else:
                os.environ[DB_URL_VARIABLE] = saved
        if seen != db_url:
            raise CourseError(f"--db-url cannot reach nbgrader in JupyterLab: {course.root / 'nbgrader_config.py'} "
                              f"sets CourseDirectory.db_url to {seen} without reading ${DB_URL_VARIABLE}.")
    return env


def lab_command(course: Course, port: int, token: str, open_browser: bool) -> list[str]:
    """The command line that runs JupyterLab on the course."""
    command = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.ip={HOST}", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={course.root}", f"--IdentityProvider.token={token}",
        f"--ServerApp.open_browser={open_browser}",
    ]
    if os.geteuid() == 0:  # Jupyter refuses to run as root unless told (containers, course VMs)
        command.append("--ServerApp.allow_root=True")
    for extension in NBGRADER_SERVER_EXTENSIONS:
        command.append(f"--ServerApp.jpserver_extensions={extension}=True")
    command.append("--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=False")
    return command


def run(args) -> int:
    """Run JupyterLab on the course in the foreground until Ctrl-C; return its exit status."""
    course = Course(args.course, db_url=args.db_url)
    env = server_environment(course, args.db_url)
    check_port_free(args.port)
    token = secrets.token_urlsafe(24)
    gradebook = make_url(course.db_url).render_as_string(hide_password=True)
    print(f"course lab: JupyterLab on {course.root} (gradebook {gradebook})", flush=True)
    print(f"course lab: open http://{HOST}:{args.port}/lab?token={token}", flush=True)
    print(f"course lab: nbgrader's formgrader: http://{HOST}:{args.port}/formgrader?token={token}", flush=True)
    print("course lab: press Ctrl-C to stop.", flush=True)
    # A session of its own: Ctrl-C reaches only us, and we stop the server without its y/n prompt.
    server = subprocess.Popen(lab_command(course, args.port, token, not args.no_browser),
                              cwd=course.root, env=env, start_new_session=True)

    def stop_on_sigterm(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()  # Jupyter shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=30)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            server.kill()
            server.wait()
        print("course lab: JupyterLab stopped.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
