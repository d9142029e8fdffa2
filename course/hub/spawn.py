"""The hub's spawner hook: each user's server is configured for their role in the course.

Imported by the jupyterhub_config.py that `course hub` writes. A member of the instructors'
group gets the instructor's Jupyter configuration, everyone else the student's. Either way the
server runs as the user's own Unix account (LocalProcessSpawner), so the exchange's permissions
separate students, and nbgrader takes the student id from JUPYTERHUB_USER, i.e. the hub user.
"""

from __future__ import annotations

from .config import server_args


def role_spawner_hook(role_dirs: dict[str, str], instructor_group: str):
    """A pre_spawn_hook setting JUPYTER_CONFIG_PATH and nbgrader's extensions by role."""

    def hook(spawner) -> None:
        groups = {group.name for group in spawner.user.groups}
        role = "instructor" if instructor_group in groups else "student"
        spawner.environment = dict(spawner.environment, JUPYTER_CONFIG_PATH=role_dirs[role], COURSE_ROLE=role)
        spawner.args = [*server_args(role)]
        spawner.log.info("course hub: %s starts a %s's server", spawner.user.name, role)

    return hook
