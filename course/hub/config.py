"""What `course hub` writes before it starts JupyterHub: the hub's configuration and the
per-role Jupyter configuration of the servers it spawns.

Everything goes into the hub's state folder:

    jupyterhub_config.py        the hub (readable: an admin can review it, or run jupyterhub -f on it)
    roles/student/              JUPYTER_CONFIG_PATH of students' servers
    roles/instructor/           JUPYTER_CONFIG_PATH of instructors' own servers
    roles/service/              JUPYTER_CONFIG_PATH of the course service (the formgrader)
    jupyterhub.sqlite, jupyterhub_cookie_secret, proxy logs   (the hub's own state)

Each role folder holds nbgrader_config.py (course id, the shared exchange), the server
extensions of that role (jupyter_server_config.json) and the JupyterLab plugins it hides
(labconfig/page_config.json). nbgrader's extensions are enabled per role: students get the
assignment list and Validate; instructors also get the create-assignment toolbar; only the course
service runs the formgrader, in the course folder, as the course's Unix user.
"""

from __future__ import annotations

import json
import os
import pprint
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .roster import Member, instructors, students

VENV_BIN = Path(sys.executable).parent
PROXY = VENV_BIN.parent / "node" / "bin" / "configurable-http-proxy"

NBGRADER = "nbgrader.server_extensions."
EXTENSIONS = {
    "student": {NBGRADER + "assignment_list": True, NBGRADER + "validate_assignment": True,
                NBGRADER + "formgrader": False, NBGRADER + "course_list": False},
    "instructor": {NBGRADER + "assignment_list": True, NBGRADER + "validate_assignment": True,
                   NBGRADER + "formgrader": False, NBGRADER + "course_list": False},
    # nbgrader's formgrader through course.pages.formgrader: the same, with pages that autoescape
    "service": {NBGRADER + "assignment_list": False, NBGRADER + "validate_assignment": False,
                NBGRADER + "formgrader": False, NBGRADER + "course_list": False,
                "course.pages.formgrader": True, "course.hub.instructor_view": True},
}
LAB_PLUGINS_HIDDEN = {
    # The formgrader panel would be blank (JupyterHub's frame-ancestors 'none'; nbgrader #1870):
    # instructors open the course service in its own tab instead.
    "student": ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:create-assignment"],
    "instructor": ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list"],
    "service": ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list"],
}


@dataclass
class HubSettings:
    """Everything the generated configuration depends on."""

    course_root: Path
    course_id: str
    exchange: Path
    state: Path
    members: list[Member]
    service_user: str
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    service_port: int = 8002
    db_url: str | None = None
    extra_config: Path | None = None
    python: Path = Path(sys.executable)   # the Python of users' servers and the service
    env: dict[str, str] = field(default_factory=dict)

    @property
    def service_name(self) -> str:
        return self.course_id

    @property
    def student_group(self) -> str:
        return f"nbgrader-{self.course_id}"      # nbgrader's JupyterHub naming

    @property
    def instructor_group(self) -> str:
        return f"formgrade-{self.course_id}"

    def role_dir(self, role: str) -> Path:
        return self.state / "roles" / role


def server_args(role: str) -> list[str]:
    """Command-line options of a spawned server: its nbgrader extensions (the command line
    outranks any config file the user owns)."""
    return [f"--ServerApp.jpserver_extensions={name}={value}" for name, value in EXTENSIONS[role].items()]


def server_command(settings: HubSettings) -> list[str]:
    """jupyterhub-singleuser, run by the Python every user can execute."""
    return [str(settings.python), "-m", "jupyterhub.singleuser"]


def base_environment(settings: HubSettings) -> dict[str, str]:
    bins = dict.fromkeys([str(Path(settings.python).parent), str(VENV_BIN)])
    env = {"PATH": ":".join([*bins, "/usr/local/bin", "/usr/bin", "/bin"]), "AUTODIFF_EXCHANGE": str(settings.exchange)}
    if settings.db_url:
        env["AUTODIFF_DB_URL"] = settings.db_url
    env.update(settings.env)
    return env


def write_role_dirs(settings: HubSettings) -> None:
    write_role_folders(settings.state / "roles", settings.course_id, settings.exchange)


def write_role_folders(root: Path, course_id: str, exchange: Path) -> None:
    """root/<role>/: nbgrader_config.py, jupyter_server_config.json, labconfig/page_config.json.
    Readable by everyone (the servers read them as their users), writable by root only.
    The single-user image writes the same folders (deploy/image/Dockerfile)."""
    for role in EXTENSIONS:
        folder = root / role
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        (folder / "nbgrader_config.py").write_text(
            f'"""Written by course/hub/config.py for the {role}s of the course {course_id}."""\n'
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {course_id!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n")
        (folder / "jupyter_server_config.json").write_text(json.dumps(
            {"ServerApp": {"jpserver_extensions": EXTENSIONS[role]}}, indent=2))
        (folder / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {name: True for name in LAB_PLUGINS_HIDDEN[role]}}, indent=2))
        for path in [folder, folder / "labconfig", *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def service_command(settings: HubSettings) -> list[str]:
    """The course service: a Jupyter server on the course folder with the formgrader, run by the hub."""
    return [*server_command(settings), f"--ServerApp.root_dir={settings.course_root}",
            "--ServerApp.default_url=/formgrader", *server_args("service")]


def _literal(value) -> str:
    """A Python literal of value, laid out for reading."""
    return pprint.pformat(value, indent=1, width=110, sort_dicts=False)


def hub_config_text(settings: HubSettings) -> str:
    """The text of jupyterhub_config.py: literal values, so that it reads as configuration."""
    s = settings
    members = s.members
    group_users = {s.student_group: sorted(m.username for m in students(members)),
                   s.instructor_group: sorted(m.username for m in instructors(members))}
    import pwd
    service_home = pwd.getpwnam(s.service_user).pw_dir
    service_env = dict(base_environment(s), JUPYTER_CONFIG_PATH=str(s.role_dir("service")), HOME=service_home)
    roles = [
        {"name": f"{s.course_id}-instructor",
         "description": f"instructors of {s.course_id}: the course service (formgrader) and the class list",
         "scopes": [f"access:services!service={s.service_name}", f"read:users!group={s.student_group}"],
         "groups": [s.instructor_group]},
    ]
    service = {
        "name": s.service_name, "url": f"http://127.0.0.1:{s.service_port}", "command": service_command(s),
        "user": s.service_user, "cwd": str(s.course_root), "environment": service_env,
        "oauth_no_confirm": True, "display": True,
    }
    role_dirs = {role: str(s.role_dir(role)) for role in ("student", "instructor")}
    lines = [
        f'"""JupyterHub for the course {s.course_id}, written by `course hub` (course/hub/config.py).',
        "",
        "Edit the roster and run `course hub` again rather than editing this file; add site settings",
        "(another authenticator, e.g. LTI 1.3, TLS, a public URL) with `course hub --extra-config FILE`.",
        '"""',
        "from course.hub.spawn import role_spawner_hook",
        "",
        "c = get_config()  # noqa: F821",
        "",
        "# Where the hub listens (the proxy), and its own API, the proxy's API and its state.",
        f"c.JupyterHub.ip = {s.ip!r}",
        f"c.JupyterHub.port = {s.port}",
        "c.JupyterHub.hub_ip = '127.0.0.1'",
        f"c.JupyterHub.hub_port = {s.hub_port}",
        f"c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{s.proxy_api_port}'",
        "c.ConfigurableHTTPProxy.should_start = True",
        f"c.JupyterHub.db_url = {'sqlite:///' + str(s.state / 'jupyterhub.sqlite')!r}",
        f"c.JupyterHub.cookie_secret_file = {str(s.state / 'jupyterhub_cookie_secret')!r}",
        "c.JupyterHub.cleanup_servers = True      # stopping the hub stops every server it started",
        "c.JupyterHub.cleanup_proxy = True",
        "",
        "# Who may log in: real Unix users, passwords checked by PAM; only the roster's users.",
        "c.JupyterHub.authenticator_class = 'pam'",
        "c.PAMAuthenticator.open_sessions = False",
        f"c.Authenticator.allowed_users = {set(sorted(m.username for m in members))!r}",
        "c.Authenticator.admin_users = set()      # instructors need no hub admin rights",
        "",
        "# Groups (nbgrader's names: nbgrader-<course> students, formgrade-<course> graders) and roles.",
        f"c.JupyterHub.load_groups = {_literal({g: {'users': u} for g, u in group_users.items()})}",
        f"c.JupyterHub.load_roles = {_literal(roles)}",
        "",
        "# The course service: the formgrader on the course folder, as the course's Unix user,",
        "# reachable only with the instructor role's access:services scope.",
        f"c.JupyterHub.services = {_literal([service])}",
        "",
        "# Each user's server: JupyterLab in their home as their Unix user, nbgrader's extensions by role.",
        "c.JupyterHub.spawner_class = 'localprocess'",
        f"c.Spawner.cmd = {server_command(s)!r}",
        "c.Spawner.default_url = '/lab'",
        "c.Spawner.notebook_dir = '~'",
        "c.Spawner.start_timeout = 120",
        "c.Spawner.http_timeout = 120",
        f"c.Spawner.environment = {_literal(base_environment(s))}",
        f"c.Spawner.pre_spawn_hook = role_spawner_hook({role_dirs!r}, instructor_group={s.instructor_group!r})",
        "",
    ]
    if s.extra_config:
        lines += [f"# Site settings from {s.extra_config}", f"load_subconfig({str(s.extra_config)!r})  # noqa: F821", ""]
    return "\n".join(lines)


def write_state(settings: HubSettings) -> Path:
    """Write the state folder (root-only, except the role folders) and return jupyterhub_config.py."""
    settings.state.mkdir(parents=True, exist_ok=True)
    settings.state.chmod(0o711)   # users' servers must reach roles/, nothing else
    (settings.state / "roles").mkdir(exist_ok=True)
    (settings.state / "roles").chmod(0o755)
    write_role_dirs(settings)
    config = settings.state / "jupyterhub_config.py"
    config.write_text(hub_config_text(settings))
    config.chmod(0o600)
    return config


def prepare_exchange(exchange: Path) -> None:
    """The shared exchange: world-writable with the sticky bit, as nbgrader needs (the instructor
    creates <course>/ in it; nbgrader makes inbound/ write-only for students)."""
    exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(exchange, 0o1777)
    parent = exchange.parent
    while parent != parent.parent:   # every user must be able to walk to it
        mode = parent.stat().st_mode
        if not mode & 0o001:
            from ..course_dir import CourseError
            raise CourseError(f"the exchange {exchange} is not reachable by students: {parent} is not "
                              f"searchable by others (chmod o+x {parent}, or choose another --exchange).")
        parent = parent.parent

