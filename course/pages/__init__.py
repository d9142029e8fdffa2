"""The pages nbgrader renders for the course: the formgrader's submission view and the feedback pages.

nbgrader 0.9.6 renders both with nbconvert's HTMLExporter and its own Jinja templates
(nbgrader/server_extensions/formgrader/templates), which print names without escaping them and
load MathJax 2 from a CDN. What the course changes, through configuration only
(``configure(c)``, called from nbgrader_config.py):

* every notebook is sanitised again as it is rendered (autograder.grading.sanitize.SanitizeNotebook as
  an exporter preprocessor): a notebook graded by plain nbgrader, or before the sanitiser existed,
  is shown as safely as one the grading engine wrote;
* the student's id, first and last name, and the notebook and assignment names reach the
  templates HTML-escaped (EscapePageFields): the formgrade templates print them raw into the
  page, its attributes and its scripts' string literals;
* MathJax 3.2.2 (from the pinned ``django-static-mathjax`` package) is inlined into the page in
  place of nbconvert's CDN loader, with the TeX extensions that make links, classes, styles or
  loads (``\\href``, ``\\class``, ``\\style``, ``\\require``...) left out, so math renders offline
  and cannot be made to run anything. Feedback pages also get a Content-Security-Policy that lets
  only those two scripts run and nothing load (content_security_policy). The pages' ``mathjax.html.j2`` in templates/ override
  nbconvert's; nbgrader's own templates are used for everything else.

The formgrader's other pages (manage students, gradebook...) are rendered by a Jinja environment
of their own; course/pages/formgrader.py makes it autoescape.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
from pathlib import Path

import markupsafe
from nbconvert.preprocessors import Preprocessor

TEMPLATES = Path(__file__).resolve().parent / "templates"

# resources the formgrader's SubmissionHandler (and its 404 page) hands to the templates
PAGE_FIELDS = ("student", "first_name", "last_name", "notebook_id", "assignment_id", "notebook_path", "filename")

MATHJAX_CONFIG = {
    "tex": {
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
        "tags": "ams",
        # html: \class \style \cssId \data; require/autoload: loading further files; action: \toggle ...
        "packages": {"[-]": ["html", "require", "autoload", "action"]},
        "macros": {"href": ["{#2}", 2]},  # \href{url}{text} shows the text, links nowhere
    },
    "options": {"enableMenu": False},
    "svg": {"fontCache": "global"},
}


def mathjax_source() -> str:
    """MathJax 3's TeX-to-SVG bundle with every TeX extension: one file, no fonts to load."""
    import mathjax  # the django-static-mathjax package: MathJax's distribution as package data
    return (Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js").read_text(encoding="utf-8")


def content_security_policy(*scripts: str) -> str:
    """A policy for a self-contained page: only these inline scripts run; nothing loads from anywhere."""
    hashes = " ".join("'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts)
    return (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; font-src data:; "
            "base-uri 'none'; form-action 'none'")


@functools.cache
def mathjax_scripts(page: str = "") -> markupsafe.Markup:
    """The <script> elements that configure and run MathJax in a page (a Jinja filter).

    For ``"feedback"`` (a standalone file) a Content-Security-Policy comes first, allowing exactly
    these two scripts: should anything a student wrote survive the sanitiser, it still cannot run
    or load. (The formgrader's page has nbgrader's own inline scripts and handlers, so no policy.)
    """
    source = mathjax_source()
    if "</script" in source.lower():  # cannot happen with 3.2.2; would end the inline script early
        raise ValueError("MathJax's source contains </script and cannot be inlined")
    config = f"window.MathJax = {json.dumps(MATHJAX_CONFIG)};"
    policy = ""
    if page == "feedback":
        policy = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(content_security_policy(config, source))}">\n'
    return markupsafe.Markup(  # noqa: S704 - our configuration and the pinned package's file
        f"{policy}<script>{config}</script>\n<script>{source}</script>")


class EscapePageFields(Preprocessor):
    """HTML-escapes the names the formgrade templates print raw (resources, not the notebook)."""

    def preprocess(self, nb, resources):
        for field in PAGE_FIELDS:
            if isinstance(resources.get(field), str):
                resources[field] = html.escape(resources[field], quote=True)
        return nb, resources


def configure(c) -> None:
    """Set the course's page configuration on an nbgrader config object (nbgrader_config.py)."""
    from nbgrader.server_extensions.formgrader.handlers import template_path as nbgrader_templates

    # Ours first: their mathjax.html.j2 is found before nbconvert's; nbgrader's templates do the rest.
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), nbgrader_templates]
    c.HTMLExporter.filters = {"course_mathjax": "course.pages.mathjax_scripts"}
    c.HTMLExporter.preprocessors = ["course.pages.EscapePageFields", "autograder.grading.sanitize.SanitizeNotebook"]
