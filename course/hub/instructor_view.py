"""The instructors' view of the course service: the formgrader at the top level, every link working.

A Jupyter server extension loaded only by the course service (roles/service in course/hub/config.py).
Why it exists:

* Inside JupyterLab on JupyterHub 4.1+ the formgrader panel is blank: the single-user server sends
  ``Content-Security-Policy: frame-ancestors 'none'`` and nbgrader's iframe is refused
  (nbgrader #1870). That header stays. Instructors open the course service in a tab of its own.
* At the top level, nbgrader's ``linkTo`` (formgrader/static/js/utils.js) builds links as
  ``/tree/<path>``, ``/notebooks/<path>``: without the server's base URL, so under a hub service
  (``/services/<course>/``) they point at the hub's root and break (nbgrader #1794, #1888: the
  assignment names, the preview icons and the "open live notebook" links do nothing or 404).
  This extension serves that one file with the base URL put in front; the rest of the formgrader
  is nbgrader's own.
* Feedback is not shown by the formgrader at all. ``<service>/course/`` lists each assignment's
  submissions with their scores, the formgrader page of each and its feedback; feedback pages are
  served with ``Content-Security-Policy: sandbox`` and no script source, so nothing a student
  put into a notebook runs in an instructor's browser.
"""

from __future__ import annotations

import html
import mimetypes
import re
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

import nbgrader.server_extensions.formgrader.handlers as formgrader_handlers

UTILS_JS = Path(formgrader_handlers.static_path) / "js" / "utils.js"
# The top-level branch of nbgrader 0.9's linkTo; checked at load so that another nbgrader fails loudly.
LINK_LINE = '.attr("href", prefix + path)'
SAFE_PAGE = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
             "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
SAFE_FEEDBACK = "sandbox; " + SAFE_PAGE + "; font-src data:"
PATH_PART = re.compile(r"[\w.@ -]+")


def patched_utils_js(server_base_url: str) -> str:
    """nbgrader's utils.js with linkTo's top-level links under the server's base URL."""
    text = UTILS_JS.read_text(encoding="utf-8")
    if LINK_LINE not in text:
        raise RuntimeError(f"course.hub.instructor_view: {UTILS_JS} no longer contains {LINK_LINE!r}; "
                           "this nbgrader's formgrader links need a look (see nbgrader #1794).")
    helper = (
        "// course.hub.instructor_view: links at the top level go under this server's base URL\n"
        f"var courseServerBase = {server_base_url.rstrip('/')!r};\n"
        "var courseLink = function (prefix, path) {\n"
        "    var clean = String(path).replace(/^(\\.\\/)+/, '').replace(/^\\/+/, '');\n"
        "    return courseServerBase + prefix + clean.split('/').map(encodeURIComponent).join('/');\n"
        "};\n"
    )
    return helper + text.replace(LINK_LINE, '.attr("href", courseLink(prefix, path))')


class FormgraderUtilsHandler(JupyterHandler):
    """formgrader/static/js/utils.js, with working links (see the module docstring)."""

    @web.authenticated
    def get(self):
        self.set_header("Content-Type", "application/javascript; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(patched_utils_js(self.base_url))


def _course(handler) -> tuple[Path, str, str]:
    """(course root, course id, gradebook URL) from the formgrader's settings."""
    formgrader = handler.settings.get("nbgrader_formgrader")
    if formgrader is None:
        raise web.HTTPError(500, "the formgrader extension is not loaded in this server: the course view needs it")
    coursedir = formgrader.coursedir
    return Path(coursedir.root), coursedir.course_id, coursedir.db_url


class CourseIndexHandler(JupyterHandler):
    """<service>/course/: per assignment, each submission's score, formgrader page and feedback."""

    @property
    def content_security_policy(self):
        return SAFE_PAGE

    @web.authenticated
    def get(self):
        from nbgrader.api import Gradebook

        root, course_id, db_url = _course(self)
        base = self.base_url.rstrip("/")
        e = html.escape
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(course_id)}: submissions</title>"
                 "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                 "td,th{border:1px solid #ccc;padding:.3em .8em;text-align:left}</style></head><body>",
                 f"<h1>Course {e(course_id)}</h1>",
                 f"<p><a href='{e(base)}/formgrader/manage_assignments'>Formgrader</a> · "
                 f"<a href='{e(base)}/formgrader/manage_students'>Students</a> · "
                 f"<a href='{e(base)}/formgrader/gradebook'>Manual grading</a></p>"]
        with Gradebook(db_url, course_id) as gb:
            for assignment in gb.assignments:
                parts.append(f"<h2 id='{e(assignment.name)}'>{e(assignment.name)}</h2>")
                parts.append("<table><tr><th>student</th><th>name</th><th>score</th><th>graded notebooks</th><th>feedback</th></tr>")
                for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                    student = submission.student
                    name = ", ".join(n for n in (student.last_name, student.first_name) if n) or "(no name)"
                    notebooks = " ".join(
                        f"<a class='submission' href='{e(base)}/formgrader/submissions/{e(nb.id)}/'>{e(nb.name)}</a>"
                        for nb in submission.notebooks)
                    feedback_dir = root / "feedback" / student.id / assignment.name
                    feedback = " ".join(
                        f"<a class='feedback' href='{e(base)}/course/feedback/{e(student.id)}/{e(assignment.name)}/{e(page.name)}'>{e(page.stem)}</a>"
                        for page in sorted(feedback_dir.glob("*.html"))) or "not generated yet"
                    parts.append(f"<tr class='row' data-student='{e(student.id)}'><td>{e(student.id)}</td><td>{e(name)}</td>"
                                 f"<td class='score'>{submission.score:g} / {submission.max_score:g}</td>"
                                 f"<td>{notebooks}</td><td>{feedback}</td></tr>")
                parts.append("</table>")
        parts.append("</body></html>")
        self.finish("".join(parts))


class FeedbackHandler(JupyterHandler):
    """<service>/course/feedback/<student>/<assignment>/<page>: a feedback page, scripts disabled."""

    @property
    def content_security_policy(self):
        return SAFE_FEEDBACK

    @web.authenticated
    def get(self, student, assignment, page):
        for part in (student, assignment, page):
            if not PATH_PART.fullmatch(part) or part.startswith("."):
                raise web.HTTPError(404, f"no feedback {student}/{assignment}/{page}")
        root, _, _ = _course(self)
        path = root / "feedback" / student / assignment / page
        if not path.is_file():
            raise web.HTTPError(404, f"no feedback at feedback/{student}/{assignment}/{page}: run course feedback {assignment}")
        self.set_header("Content-Type", mimetypes.guess_type(page)[0] or "application/octet-stream")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(path.read_bytes())


def _jupyter_server_extension_points():
    return [{"module": "course.hub.instructor_view"}]


def _load_jupyter_server_extension(serverapp):
    web_app = serverapp.web_app
    base = web_app.settings["base_url"]
    patched_utils_js(base)   # fail at start, not at the first page, if nbgrader changed
    handlers = [
        (url_path_join(base, r"/formgrader/static/js/utils\.js"), FormgraderUtilsHandler),
        (url_path_join(base, r"/course/?"), CourseIndexHandler),
        (url_path_join(base, r"/course/feedback/([^/]+)/([^/]+)/([^/]+)"), FeedbackHandler),
    ]
    web_app.add_handlers(".*$", handlers)
    # Ours first, whatever order the extensions loaded in: the formgrader's static route also matches utils.js.
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(len(rules) - 2))
    serverapp.log.info("course.hub.instructor_view: formgrader links fixed, course view at %scourse/", base)
