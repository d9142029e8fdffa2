"""SanitizeNotebook: what a student wrote, made safe to render in someone else's browser.

Everything in a submission is the student's: markdown, outputs (their code produced them, or they
edited the JSON), metadata. The instructor reads these notebooks in nbgrader's formgrader, a page
that holds the Jupyter server's token, and students read their feedback pages. So before nbgrader
writes ``autograded/`` (and again before each feedback page is written) this preprocessor makes
the notebook inert, with nh3 (the Ammonia sanitiser) doing all the HTML work:

* markdown cells: a cell whose rendered HTML nh3 leaves alone (no raw HTML, no unsafe link) is
  kept as written; any other cell is replaced by its rendered, sanitised HTML (which a markdown
  cell displays as is; ``$...$`` math stays as text for MathJax). Attachments keep raster images
  and sanitised SVG only.
* outputs: ``text/html`` and ``text/markdown`` sanitised the same way, ``image/svg+xml``
  sanitised with an SVG allowlist that keeps Graphviz drawings, raster images kept only when they
  are base64, anything that runs (``*javascript*``, ``*ecmascript*``, widget views) and unknown
  types dropped. Output metadata keeps numeric image sizes only.
* cell and notebook metadata: only the keys renderers and nbgrader read, with safe values.

What nbgrader scores from is never touched: error outputs, execution counts, the nbgrader
metadata of graded cells (a grade_id is only rewritten when it holds characters nbgrader itself
rejects), and the sources of code cells (rendered as highlighted, escaped text).
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import re

import nbformat
import nh3
from bs4 import BeautifulSoup
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbgrader.preprocessors import NbGraderPreprocessor

# -- what may stay ---------------------------------------------------------------------------

HTML_TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}
HTML_ATTRIBUTES = {
    "*": {"title", "lang", "dir"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "table": {"border"},
}

# Graphviz (ag.draw) and matplotlib's SVG backend use these; no script, no foreignObject, no
# external references (use, image, a, style).
SVG_TAGS = {"svg", "g", "path", "polygon", "polyline", "ellipse", "circle", "rect", "line", "text",
            "tspan", "title", "desc", "defs", "linearGradient", "radialGradient", "stop", "clipPath"}
SVG_ATTRIBUTES = {"id", "class", "width", "height", "viewBox", "xmlns", "version", "fill", "fill-opacity",
                  "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-dasharray",
                  "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "transform", "points", "d",
                  "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "dx", "dy",
                  "font-family", "font-size", "font-weight", "font-style", "text-anchor",
                  "dominant-baseline", "opacity", "offset", "stop-color", "stop-opacity",
                  "gradientUnits", "gradientTransform", "clipPathUnits", "preserveAspectRatio"}
# clip-path="url(#p1)" (matplotlib) is a local reference; anything else in url() is dropped.
LOCAL_REFERENCE = re.compile(r"^url\(#[\w.-]+\)$")

LINK_SCHEMES = {"http", "https", "mailto"}
RASTER_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
CONTROL = re.compile(r"[\x00-\x20\x7f]")
URL_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")

SAFE_ID = re.compile(r"^[\w.-]+$")                    # grade ids, tags
CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")        # nbformat 4.5
PLAIN_VALUE = re.compile(r"^[^<>\"'&`\\]{0,80}$")  # names and versions, never markup
PLAIN_TYPES = {"text/plain", "application/json"}
TEXT_RENDERED = {"text/latex"}                        # text for MathJax, escaped by the templates
REMOVED_NOTE = "[output removed: it could run code in the grader's or a student's browser]"

NOTEBOOK_METADATA = {"kernelspec": {"name", "display_name", "language"},
                     "language_info": {"name", "version", "file_extension", "mimetype", "pygments_lexer",
                                       "nbconvert_exporter", "codemirror_mode"},
                     "course": None}
CELL_FLAGS = {"collapsed", "scrolled", "editable", "deletable"}


# -- HTML and SVG ------------------------------------------------------------------------------

def _compact(value: str) -> str:
    """The URL as a browser reads its scheme: tabs, newlines and control characters removed."""
    return CONTROL.sub("", value)


def _safe_link(value: str) -> bool:
    value = _compact(value)
    scheme = URL_SCHEME.match(value)
    if scheme:
        return scheme.group(1).lower() in LINK_SCHEMES
    return not value.strip().startswith(("//", "\\\\", "/\\", "\\/"))


def _safe_image_source(value: str) -> bool:
    """Images load only from the page itself: a data: raster image or a relative path."""
    value = _compact(value)
    if value.startswith("data:"):
        return bool(DATA_IMAGE.match(value))
    return not URL_SCHEME.match(value) and not value.strip().startswith(("/", "\\"))


def _html_attribute(tag: str, attribute: str, value: str):
    if attribute == "href":
        return value if _safe_link(value) else None
    if attribute == "src":
        return value if _safe_image_source(value) else None
    return value


def _svg_attribute(tag: str, attribute: str, value: str):
    if "url(" in value.replace(" ", "").lower():
        return value if LOCAL_REFERENCE.match(value.strip()) else None
    return value


_HTML = nh3.Cleaner(tags=HTML_TAGS | SVG_TAGS, attributes={**HTML_ATTRIBUTES, **{t: SVG_ATTRIBUTES - {"id", "class"} for t in SVG_TAGS}},
                    attribute_filter=_html_attribute, url_schemes=LINK_SCHEMES | {"data"}, link_rel="noopener noreferrer nofollow")
_SVG = nh3.Cleaner(tags=SVG_TAGS, attributes={t: SVG_ATTRIBUTES | {"clip-path"} for t in SVG_TAGS},
                   attribute_filter=_svg_attribute, url_schemes=set(), link_rel=None)


def clean_html(html: str) -> str:
    """HTML with nothing that runs, loads from elsewhere, or restyles the page around it."""
    return _HTML.clean(html)


def clean_svg(svg: str) -> str:
    """An SVG document that still draws (Graphviz, matplotlib) with nothing that runs or loads.

    The result stays a standalone SVG (it is shown through <img src="data:image/svg+xml...">), so
    the XML-undefined entity the HTML serialiser writes for a no-break space is put back as a number.
    """
    cleaned = _SVG.clean(svg).replace("&nbsp;", "&#160;").strip()
    if cleaned.startswith("<svg") and "xmlns=" not in cleaned.split(">", 1)[0]:
        cleaned = '<svg xmlns="http://www.w3.org/2000/svg"' + cleaned[4:]
    return cleaned


# -- TeX ---------------------------------------------------------------------------------------

# MathJax commands that put a link, a class, a style or an id into the page. MathJax typesets after
# any HTML sanitiser has run (in JupyterLab too), so their arguments are checked here, in the text.
TEX_COMMANDS = re.compile(r"\\(href|class|cssId|style|data)\s*\{")


def _closing_brace(text: str, start: int) -> int:
    """The index of the brace closing the group opened just before `start` (or len(text))."""
    depth, i = 1, start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
        i += 1
    return len(text)


def clean_tex(text: str) -> str:
    """Math with \\href kept only for http(s)/mailto links, and \\class, \\cssId, \\style, \\data emptied."""
    out, position = [], 0
    for match in TEX_COMMANDS.finditer(text):
        if match.start() < position:  # inside an argument already replaced
            continue
        end = _closing_brace(text, match.end())
        argument = text[match.end():end]
        keep = match.group(1) == "href" and URL_SCHEME.match(_compact(argument)) and _safe_link(argument)
        out.append(text[position:match.end()] + (argument if keep else ("#" if match.group(1) == "href" else "")))
        position = end
    return "".join(out) + text[position:]


# -- markdown ----------------------------------------------------------------------------------

def render_markdown(source: str, attachments: dict | None = None, escape: bool = False) -> str:
    """The HTML nbconvert renders for this markdown (the formgrader's and the feedback's renderer).

    With escape=True raw HTML in the markdown is rendered as text instead.
    """
    renderer = IPythonRenderer(escape=escape, attachments=attachments or {}, anchor_link_text="¶")
    return MarkdownWithMath(renderer=renderer).render(source)


def _structure(html: str):
    """Every tag with its attributes (but the renderer's own id and class), and the text."""
    soup = BeautifulSoup(html, "html.parser")
    tags = [(tag.name, sorted((k, " ".join(v) if isinstance(v, list) else v) for k, v in tag.attrs.items()
                              if k not in ("id", "class", "rel")))
            for tag in soup.find_all(True)]
    return tags, soup.get_text()


def clean_markdown(source: str, attachments: dict | None = None) -> str:
    """The markdown itself when it renders to safe HTML, else its rendered and sanitised HTML.

    Kept as written: markdown with no raw HTML whose rendering nh3 leaves alone (compared tag by
    tag, attribute by attribute and as text), so an honest cell stays editable markdown. Math
    commands that would make links or styles are checked first (clean_tex).
    """
    if not attachments:   # most cells are the assignment's own text, the same in every submission
        return _clean_plain_markdown(source)
    return _clean_markdown(source, attachments)


@functools.lru_cache(maxsize=4096)
def _clean_plain_markdown(source: str) -> str:
    return _clean_markdown(source, None)


def _clean_markdown(source: str, attachments: dict | None) -> str:
    source = clean_tex(source)
    try:
        rendered = render_markdown(source, attachments)
        escaped = render_markdown(source, attachments, escape=True)
    except Exception:  # a missing attachment, or markdown the renderer cannot read: show it as text
        return "<pre>" + html.escape(source) + "</pre>"
    cleaned = clean_html(rendered)
    if rendered == escaped and _structure(rendered) == _structure(cleaned):
        return source
    return cleaned.strip()  # stripped, so that sanitising again gives the same cell


# -- outputs -----------------------------------------------------------------------------------

def _is_base64(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode("".join(value.split()), validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def clean_data(data: dict) -> dict:
    """A mime bundle with what runs dropped and what renders as HTML sanitised."""
    kept = {}
    for mime, value in data.items():
        kind = mime.lower()
        if kind in PLAIN_TYPES:
            kept[mime] = value if kind == "application/json" else _text(value)
        elif kind in TEXT_RENDERED:
            kept[mime] = clean_tex(_text(value))
        elif kind in RASTER_TYPES:
            if _is_base64(value):
                kept[mime] = value
        elif kind == "image/svg+xml":
            kept[mime] = clean_svg(_text(value))
        elif kind == "text/html":
            kept[mime] = clean_html(_text(value))
        elif kind == "text/markdown":
            kept[mime] = clean_markdown(_text(value))
        # everything else is dropped: *javascript*, *ecmascript*, widget views and unknown types
    if not kept:
        kept["text/plain"] = REMOVED_NOTE
    return kept


def clean_output_metadata(metadata: dict) -> dict:
    """Only numeric image sizes (the templates print them into attributes)."""
    kept = {}
    for mime, value in (metadata or {}).items():
        if mime in RASTER_TYPES + ("image/svg+xml",) and isinstance(value, dict):
            sizes = {k: v for k, v in value.items() if k in ("width", "height")
                     and isinstance(v, (int, float)) and not isinstance(v, bool)}
            if sizes:
                kept[mime] = sizes
    return kept


def clean_output(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    kind = output.get("output_type")
    if kind == "error":
        return output  # scored from; its text is escaped by every renderer
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=output.get("name") if output.get("name") in ("stdout", "stderr")
                                      else "stdout", text=_text(output.get("text", "")))
    if kind in ("display_data", "execute_result", "update_display_data"):
        cleaned = nbformat.NotebookNode(output_type=kind, data=nbformat.NotebookNode(clean_data(output.get("data", {}))),
                                        metadata=nbformat.NotebookNode(clean_output_metadata(output.get("metadata", {}))))
        if kind == "execute_result":
            cleaned.execution_count = output.get("execution_count")
        return cleaned
    return nbformat.v4.new_output("stream", name="stdout", text=REMOVED_NOTE)


# -- metadata ----------------------------------------------------------------------------------

def safe_identifier(value) -> str:
    return value if isinstance(value, str) and SAFE_ID.match(value) else re.sub(r"[^\w.-]", "_", str(value))


def clean_cell_metadata(metadata: dict) -> dict:
    kept = {}
    if isinstance(metadata.get("nbgrader"), dict):
        nbgrader = metadata["nbgrader"]
        if "grade_id" in nbgrader:
            nbgrader["grade_id"] = safe_identifier(nbgrader["grade_id"])
        kept["nbgrader"] = nbgrader
    tags = metadata.get("tags")
    if isinstance(tags, list):
        kept["tags"] = [t for t in tags if isinstance(t, str) and SAFE_ID.match(t)]
    jupyter = metadata.get("jupyter")
    if isinstance(jupyter, dict):
        kept["jupyter"] = {k: v for k, v in jupyter.items() if k in ("source_hidden", "outputs_hidden") and isinstance(v, bool)}
    for flag in CELL_FLAGS:
        if isinstance(metadata.get(flag), bool) or (flag == "scrolled" and metadata.get(flag) == "auto"):
            kept[flag] = metadata[flag]
    return kept


def clean_notebook_metadata(metadata: dict) -> dict:
    kept = {}
    for key, fields in NOTEBOOK_METADATA.items():
        value = metadata.get(key)
        if not isinstance(value, dict):
            continue
        if fields is None:  # the course's own (total points): numbers only
            kept[key] = {k: v for k, v in value.items() if isinstance(v, (int, float)) and SAFE_ID.match(str(k))}
            continue
        kept[key] = {k: v for k, v in value.items() if k in fields and isinstance(v, (str, int, float))
                     and not isinstance(v, bool) and PLAIN_VALUE.match(str(v))}
    # nbformat requires these; nbgrader's OverwriteKernelspec has set the real ones before grading
    if "kernelspec" in kept:
        kept["kernelspec"].setdefault("name", "python3")
        kept["kernelspec"].setdefault("display_name", kept["kernelspec"]["name"])
    if "language_info" in kept:
        kept["language_info"].setdefault("name", "python")
    return kept


def clean_attachments(attachments: dict) -> dict:
    kept = {}
    for name, bundle in (attachments or {}).items():
        if not isinstance(bundle, dict) or not SAFE_ID.match(str(name).replace(" ", "_")):
            continue
        images = {m: v for m, v in bundle.items() if m in RASTER_TYPES and _is_base64(v)}
        if "image/svg+xml" in bundle:
            try:
                svg = clean_svg(base64.b64decode(_text(bundle["image/svg+xml"])).decode("utf-8"))
                images["image/svg+xml"] = base64.b64encode(svg.encode()).decode()
            except (binascii.Error, ValueError):
                pass
        if images:
            kept[name] = images
    return kept


# -- the preprocessor ----------------------------------------------------------------------------

def sanitize_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """nb made safe to render, in place (and returned)."""
    nb.metadata = nbformat.NotebookNode(clean_notebook_metadata(nb.get("metadata", {})))
    for cell in nb.cells:
        if "id" in cell and not (isinstance(cell.id, str) and CELL_ID.match(cell.id)):
            cell.id = nbformat.v4.new_code_cell().id
        cell.metadata = nbformat.NotebookNode(clean_cell_metadata(cell.get("metadata", {})))
        if cell.cell_type == "markdown":
            if "attachments" in cell:
                cell.attachments = nbformat.NotebookNode(clean_attachments(cell.attachments))
                if not cell.attachments:
                    del cell["attachments"]
            cell.source = clean_markdown(_text(cell.source), cell.get("attachments"))
        elif cell.cell_type == "code":
            cell.outputs = [clean_output(output) for output in cell.get("outputs", [])]
        elif cell.cell_type == "raw":
            cell.pop("attachments", None)
            cell.source = clean_html(_text(cell.source))
    return nb


class SanitizeNotebook(NbGraderPreprocessor):
    """nbgrader/nbconvert preprocessor: runs sanitize_notebook on the whole notebook."""

    def preprocess(self, nb, resources):
        return sanitize_notebook(nb), resources
