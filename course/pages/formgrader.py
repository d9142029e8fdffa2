"""nbgrader's formgrader, with its pages' Jinja environment autoescaping (a Jupyter server extension).

nbgrader 0.9.6 renders the formgrader's own pages (manage assignments, submissions, students,
the gradebook, the 403/404/500 pages) with ``jinja2.Environment(loader=...)``: no autoescape.
They print the assignment, notebook and student ids of the URL, a student id from the gradebook,
and file paths raw into HTML and into script string literals, so a crafted link such as
``/formgrader/manage_students/<script>...`` runs in the instructor's session. With autoescape every
``{{ }}`` is escaped; macros and nbgrader's markup are unchanged (the templates pass no HTML in
variables). The submission view itself is rendered by nbconvert; course/pages/__init__.py makes
that safe.

Enable this extension instead of ``nbgrader.server_extensions.formgrader`` (``course lab`` does):
it loads nbgrader's formgrader, then replaces the environment, so the order is certain.
"""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader
from nbgrader.server_extensions.formgrader import formgrader as nbgrader_formgrader
from nbgrader.server_extensions.formgrader.handlers import template_path


def autoescaping_environment() -> Environment:
    return Environment(loader=FileSystemLoader([template_path]), autoescape=True)


def _jupyter_server_extension_points():
    return [{"module": "course.pages.formgrader"}]


def _load_jupyter_server_extension(serverapp):
    nbgrader_formgrader.load_jupyter_server_extension(serverapp)
    serverapp.web_app.settings["nbgrader_jinja2_env"] = autoescaping_environment()
    serverapp.log.info("course: the formgrader's pages autoescape (course.pages.formgrader)")


# the name jupyter_server (and the classic notebook server) look for, as nbgrader's own module has it
load_jupyter_server_extension = _load_jupyter_server_extension
