"""Submissions that try to run script in the pages that show them (issue 8, class 1).

Every submission is the instructor's solution of 01_derivatives (so 100 points: the payloads
must not cost any) with payloads where students can put markup: markdown cells (raw HTML,
``javascript:`` and ``data:`` links, attachments, markdown images), outputs their code displays
(every mime type), cell and notebook metadata, the notebook's file name, and, through the
gradebook, their first and last names (``STUDENT_NAMES``). The instructor reads them in the
formgrader (a page holding the server's token), students in their feedback pages.

Each payload, if it ran, would call ``http://127.0.0.1:<ctx.listen_port>/hit/<token>`` (a loopback
listener the tests run) and set ``document.title`` to ``PWNED-<token>``, add an element with id
``pwned-<token>`` or open a dialog. ``host_check = "pages inert"``: the tests open the formgrader's
view and the feedback page of the student in Chromium and check that none of this happened,
while the submission's own Graphviz drawing and matplotlib plot still render.

Same ``Attack`` (and ``Context``) as course/banks/adversarial.py, so the integrator can grade
these in the one adversarial batch with the honest controls.
"""

from __future__ import annotations

import base64

import nbformat

from .adversarial import ASSIGNMENT, NOTEBOOK, Attack, Context, _bytes, _solution
from . import cell

PAGES_INERT = "pages inert"
TITLE_MARK = "PWNED"

# A 1x1 transparent PNG (real base64), for outputs whose metadata carries the payload.
PIXEL_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def js(ctx: Context, token: str) -> str:
    """Script that, if it ran, calls the listener, retitles the page, marks it and opens a dialog.

    No spaces and no double quotes, so it fits in attributes, markdown link targets and strings;
    the URL is split so that markdown does not turn it into a link inside a <script>.
    """
    return (f"fetch('ht'+'tp://127.0.0.1:{ctx.listen_port}/hit/{token}');document.title='{TITLE_MARK}-{token}';"
            f"document.body.insertAdjacentHTML('beforeend','<b\\x20id=pwned-{token}></b>');alert('{token}')")


def hit(ctx: Context, token: str) -> str:
    return f"http://127.0.0.1:{ctx.listen_port}/hit/{token}"


def markdown_payloads(ctx: Context) -> list[str]:
    """One markdown cell each: raw HTML, links, images, frames, forms, refreshes, style tricks, math."""
    return [
        f"Script tag: <script>{js(ctx, 'md-script')}</script>",
        f'Image with onerror: <img src="nonexistent.png" onerror="{js(ctx, "md-img-onerror")}">',
        f'SVG with onload: <svg onload="{js(ctx, "md-svg-onload")}"><circle r="4"></circle></svg>',
        f'<a id="payload-js-link" href="javascript:{js(ctx, "md-html-js-link")}">click me (html link)</a>',
        f"[click me (markdown link)](javascript:{js(ctx, 'md-markdown-js-link')})",
        f'<a id="payload-data-link" href="data:text/html,<script>{js(ctx, "md-data-link")}</script>">click me (data link)</a>',
        f'<iframe src="{hit(ctx, "md-iframe-src")}"></iframe>'
        f'<iframe srcdoc="<script>parent.{js(ctx, "md-iframe-srcdoc")}</script>"></iframe>',
        f'<form action="{hit(ctx, "md-form-action")}"><input name="q" autofocus onfocus="{js(ctx, "md-form-onfocus")}">'
        f'<button id="payload-form-button" formaction="javascript:{js(ctx, "md-formaction")}">Submit grades</button></form>',
        f'<meta http-equiv="refresh" content="0;url={hit(ctx, "md-meta-refresh")}">',
        f"<style>body {{ background: url({hit(ctx, 'md-style-tag')}); }} #notebook-container {{ display: none; }}</style>"
        f'<div style="position:fixed;top:0;left:0;width:100%;height:100%;z-index:99999;background:url({hit(ctx, "md-style-attr")})">'
        f"Fake overlay: session expired, enter your password</div>"
        f'<link rel="stylesheet" href="{hit(ctx, "md-link-stylesheet")}">',
        f'<object data="{hit(ctx, "md-object")}"></object><embed src="{hit(ctx, "md-embed")}">',
        f'<base href="{hit(ctx, "md-base")}/">',
        f"Tracking pixel: ![pixel]({hit(ctx, 'md-image-remote')}) <img src=\"{hit(ctx, 'md-img-remote')}\">",
        f'Markdown image then handler: ![pic](nonexistent.png "title") <img alt="md" src="x" onerror="{js(ctx, "md-img-alt")}">',
        f'<details open ontoggle="{js(ctx, "md-details-ontoggle")}"><summary>details</summary>x</details>'
        f'<video><source onerror="{js(ctx, "md-video-onerror")}"></video>',
        f'<math><mtext><table><mglyph><style><img src=x onerror="{js(ctx, "md-mxss")}">',
        f"Math with a link: $\\href{{javascript:{js(ctx, 'md-mathjax-href')}}}{{click\\ me}}$ and $a < b$",
        "An attachment: ![svg attachment](attachment:evil.svg) ![html attachment](attachment:evil.html)",
    ]


def _attachments(ctx: Context) -> dict:
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="{js(ctx, "attachment-svg-onload")}">'
           f"<script>{js(ctx, 'attachment-svg-script')}</script><rect width='20' height='20' fill='red'/></svg>")
    page = f"<script>{js(ctx, 'attachment-html')}</script>"
    return {"evil.svg": {"image/svg+xml": base64.b64encode(svg.encode()).decode()},
            "evil.html": {"text/html": base64.b64encode(page.encode()).decode()}}


def output_payload_code(ctx: Context) -> str:
    """A code cell whose outputs (made when it runs, in the sandbox) carry payloads of every mime type."""
    def J(token):
        return js(ctx, token)

    def script(token):
        return "<script>" + J(token) + "</script>"

    def onerror(token):
        return '<img src=x onerror="' + J(token) + '">'

    svg = ("<svg xmlns='http://www.w3.org/2000/svg' width='30' height='30' onload=\"" + J("out-svg-onload") + "\">"
           + script("out-svg-script") + "<circle cx='15' cy='15' r='10' fill='blue'/></svg>")
    lines = [
        "# display() is the kernel's own; raw mime bundles, so nothing needs importing",
        "display({'text/html': %r}, raw=True)" % ("<b>html output</b>" + script("out-html-script")),
        "display({'text/html': %r}, raw=True)" % onerror("out-html-onerror"),
        "display({'application/javascript': %r, 'text/plain': 'javascript'}, raw=True)" % J("out-javascript"),
        "display({'application/javascript': %r, 'text/plain': 'js'}, raw=True)" % J("out-raw-javascript"),
        "display({'text/javascript': %r, 'application/x-ecmascript': %r, 'text/plain': 'ecmascript'}, raw=True)"
        % (J("out-text-javascript"), J("out-ecmascript")),
        "display({'image/svg+xml': %r}, raw=True)" % svg,
        "display({'text/markdown': %r}, raw=True)" % ("markdown output " + onerror("out-markdown") + " [link](javascript:" + J("out-markdown-link") + ")"),
        "display({'text/latex': %r}, raw=True)" % ("$$\\href{javascript:" + J("out-latex-href") + "}{x}$$ " + script("out-latex-script")),
        "display({'application/vnd.jupyter.widget-view+json': {'model_id': %r, 'version_major': 2, 'version_minor': 0},"
        " 'text/plain': 'a widget'}, raw=True)" % ("</script>" + script("out-widget")),
        "display({'text/html': %r}, raw=True, metadata={'text/html': {'isolated': True}})" % ("<b>isolated</b>" + script("out-isolated")),
        "display({'image/png': %r}, raw=True, metadata={'image/png': {'width': %r}})" % (PIXEL_PNG, "1 onerror=" + J("out-png-width")),
        "display({'image/png': %r, 'text/plain': 'bad png'}, raw=True)" % ('x" onerror="' + J("out-png-data") + '" a="'),
        "display({'application/vnd.unknown+html': %r, 'text/plain': 'unknown'}, raw=True)" % script("out-unknown"),
        "print(%r)" % (script("out-stream") + " (printed text stays text)"),
    ]
    return "\n".join(lines)


LEGIT_CODE = """\
# What teaching needs must still render: a Graphviz drawing of a graph and a matplotlib plot.
import base64
import io

import numpy as np
import matplotlib.pyplot as plt
import mini_autograd as ag

x = ag.Variable(np.array([1.0, 2.0]), name="x")
display(ag.draw((ag.exp(x) * x).sum()))
figure, axes = plt.subplots(figsize=(4, 3))
axes.plot([1, 2, 3, 4], [1, 4, 9, 16], marker="o")
axes.set_title("legit matplotlib plot")
png = io.BytesIO()
figure.savefig(png, format="png")  # shown as PNG whatever the kernel's matplotlib backend
display({"image/png": base64.b64encode(png.getvalue()).decode(), "text/plain": "a plot"}, raw=True)
"""


def _with_cells(ctx: Context, kinds: set[str]) -> nbformat.NotebookNode:
    """The solution with the chosen payload kinds added after its first cell (and the legit drawing)."""
    nb = _solution(ctx)
    added = [nbformat.v4.new_code_cell(LEGIT_CODE)]
    if "markdown" in kinds:
        for source in markdown_payloads(ctx):
            new = nbformat.v4.new_markdown_cell(source)
            if "attachment:" in source:
                new.attachments = _attachments(ctx)
            added.append(new)
    if "outputs" in kinds:
        added.append(nbformat.v4.new_code_cell(output_payload_code(ctx)))
    if "metadata" in kinds:
        # (valid nbformat: a tag has no comma, jupyter.* are booleans; other keys are free)
        tag = f"x\" onmouseover=\"document.title='{TITLE_MARK}-meta-tag'\" autofocus onfocus=\"document.title='{TITLE_MARK}-meta-tag2'\" data-x=\""
        added.append(nbformat.v4.new_markdown_cell("A cell with hostile metadata.", metadata={
            "tags": [tag, "ok-tag"], "x-renderer": {"html": f"<script>{js(ctx, 'meta-free-key')}</script>"}}))
        nb.metadata["title"] = f"<script>{js(ctx, 'meta-title')}</script>"
        nb.metadata["authors"] = [{"name": f"<img src=x onerror=\"{js(ctx, 'meta-author')}\">"}]
        nb.metadata["language_info"] = {"name": "python", "pygments_lexer": f"</script><script>{js(ctx, 'meta-lexer')}</script>"}
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "state": {}, "version_major": 2, "version_minor": 0, "x": f"</script><script>{js(ctx, 'meta-widgets')}</script>"}}
    index = nb.cells.index(cell(nb, "setup")) + 1
    nb.cells[index:index] = added
    return nb


def _build(kinds: set[str], name: str = NOTEBOOK):
    def build(ctx: Context) -> dict[str, bytes]:
        return {name: _bytes(_with_cells(ctx, kinds))}
    return build


def everything(ctx: Context) -> nbformat.NotebookNode:
    """One notebook carrying every payload of this bank (what the browser tests open)."""
    return _with_cells(ctx, {"markdown", "outputs", "metadata"})


# A notebook file name (graded under the expected name, the intake says so) and student names
# (they reach the gradebook from a roster, an LMS or the instructor) with markup in them.
RENAMED_NOTEBOOK = "<svg onload=document.title='PWNED-notebook-name'>.ipynb"
STUDENT_NAMES = {
    "hostile pages: every payload at once": ("<img src=x onerror=document.title='PWNED-first-name'>",
                                             "<script>document.title='PWNED-last-name'</script>"),
}

ATTACKS = [
    Attack("hostile pages: markdown cells with raw HTML, scripted links, frames, forms, refreshes, styles",
           _build({"markdown"}), 100, host_check=PAGES_INERT),
    Attack("hostile pages: outputs of every mime type", _build({"outputs"}), 100, host_check=PAGES_INERT),
    Attack("hostile pages: cell and notebook metadata", _build({"metadata"}), 100, host_check=PAGES_INERT),
    Attack("hostile pages: markup in the notebook's file name", _build(set(), RENAMED_NOTEBOOK), 100, "renamed",
           host_check=PAGES_INERT),
    Attack("hostile pages: every payload at once", lambda ctx: {NOTEBOOK: _bytes(everything(ctx))}, 100,
           host_check=PAGES_INERT),
]

__all__ = ["ASSIGNMENT", "ATTACKS", "STUDENT_NAMES", "PAGES_INERT", "TITLE_MARK", "everything", "js"]
