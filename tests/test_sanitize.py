"""autograder.grading.sanitize: what a student wrote, made inert, with what teaching needs kept.

Unit tests on the sanitiser's pieces and on whole notebooks (the 01_derivatives solution with
payloads added); hypothesis checks that nothing executable survives arbitrary text around the
payloads, that honest markdown is kept as written, and that sanitising twice changes nothing.
The browser tests (tests/test_browser_security.py) check the same in real pages.
"""

from __future__ import annotations

import base64
import copy
import re

import nbformat
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mini_autograd as ag
from autograder.grading.sanitize import (REMOVED_NOTE, SanitizeNotebook, clean_data, clean_html, clean_markdown,
                                 clean_output, clean_svg, clean_tex, render_markdown, sanitize_notebook)
from course_harness import source_notebook

A = "01_derivatives"
DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "form", "meta", "link", "style", "base", "foreignobject",
                  "use", "frame", "frameset", "applet", "noscript", "template", "image", "animate", "set"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster"}
PAYLOADS = [
    "<script>document.title='pwned'</script>",
    "<img src=x onerror=\"document.title='pwned'\">",
    "<svg onload=\"document.title='pwned'\"><circle r=3 /></svg>",
    "<a href=\"javascript:document.title='pwned'\">click</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">tab</a>",
    "[md link](javascript:alert(1))",
    "![md image](x \"t\" onerror=alert(1))",
    "<iframe src=\"http://127.0.0.1:9/\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<form action=\"http://127.0.0.1:9/\"><button formaction=\"javascript:alert(1)\">go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=http://127.0.0.1:9/\">",
    "<style>body{display:none}</style>",
    "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%\">overlay</div>",
    "<object data=\"http://127.0.0.1:9/\"></object><embed src=\"http://127.0.0.1:9/\">",
    "<base href=\"http://127.0.0.1:9/\">",
    "<svg><foreignObject><img src=x onerror=alert(1)></foreignObject></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<link rel=stylesheet href=\"http://127.0.0.1:9/x.css\">",
    "![pixel](http://127.0.0.1:9/pixel.png)",
    "An autolink <javascript:alert(1)> and <vbscript:msgbox(1)>",
    "[reference link][evil]\n\n[evil]: javascript:alert(1)",
    "<svg><style>@import 'http://127.0.0.1:9/x.css';</style><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<p style=\"background:url(javascript:alert(1))\">styled</p>",
]


def executable(html: str) -> list[str]:
    """What in this HTML could run or load: dangerous elements, event handlers, scripted or external URLs."""
    found = []
    for tag in BeautifulSoup(html, "html.parser").find_all(True):
        if tag.name.lower() in DANGEROUS_TAGS:
            found.append(f"<{tag.name}>")
        for name, value in tag.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            compact = re.sub(r"[\x00-\x20]", "", value).lower()
            if name.lower().startswith("on") or name.lower() in ("srcdoc", "style"):
                found.append(f"{tag.name} {name}")
            elif tag.name.lower() == "a" and name.lower() == "href" and re.match(r"(https?:|mailto:)", compact):
                continue   # a link a person may follow (the policy keeps them), not something that runs or loads
            elif name.lower() in URL_ATTRIBUTES and re.match(r"(javascript|vbscript|data:text|data:image/svg|https?:|//)", compact):
                found.append(f"{tag.name} {name}={value[:40]}")
    return found


def rendered_markdown(source: str) -> str:
    """What a page shows for a sanitised markdown cell (the cell is rendered as markdown again)."""
    return render_markdown(clean_markdown(source))


# -- markdown ------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_payloads_render_inert(payload):
    assert executable(rendered_markdown(f"Some text\n\n{payload}\n\nmore")) == []


@pytest.mark.parametrize("source", [
    "# Exercise 1\n\nThe forward difference $\\frac{f(x+h) - f(x)}{h}$ has error $O(h)$; $a < b$ and $b > c$.",
    "$$\\nabla_x f = \\left[\\frac{\\partial f}{\\partial x_i}\\right]_{i<n}$$",
    "> a quote\n\n* a list with `code < 1`\n\n```python\nif a < b and c > d:\n    pass\n```",
    "| a | b |\n|---|---|\n| 1 < 2 | 3 |",
    "See [the docs](https://numpy.org/doc/) or [a notebook](02_backprop.ipynb#Exercise-1), & so on.",
    "YOUR ANSWER HERE",
])
def test_honest_markdown_is_kept_as_written(source):
    assert clean_markdown(source) == source


def test_math_survives_when_a_cell_must_be_rewritten():
    cleaned = clean_markdown("<img src=x onerror=alert(1)> so $a < b$ and $$c > d$$")
    assert "onerror" not in cleaned
    # the text a reader (and MathJax) sees is the math as written
    assert "$a &lt; b$" in cleaned and "$$c &gt; d$$" in cleaned


def test_attachments_keep_raster_images_and_drop_the_rest():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n0000").decode()
    svg = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="2"/></svg>').decode()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "![a](attachment:a.png) ![b](attachment:b.svg) ![c](attachment:c.html)",
        attachments={"a.png": {"image/png": png}, "b.svg": {"image/svg+xml": svg},
                     "c.html": {"text/html": "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="}})])
    cell = sanitize_notebook(nb).cells[0]
    assert set(cell.attachments) == {"a.png", "b.svg"}
    assert cell.attachments["a.png"]["image/png"] == png
    assert b"script" not in base64.b64decode(cell.attachments["b.svg"]["image/svg+xml"])
    # the reference to the dropped attachment cannot be rendered: the cell is shown as text
    page = render_markdown(cell.source, cell.attachments)
    assert "<pre>![a](attachment:a.png)" in page and executable(page) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.text(max_size=40), after=st.text(max_size=40), payload=st.sampled_from(PAYLOADS))
def test_no_text_around_a_payload_makes_it_run(before, after, payload):
    assert executable(rendered_markdown(before + payload + after)) == []


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_sanitising_is_idempotent(text):
    once = clean_markdown(text)
    assert clean_markdown(once) == once
    assert clean_html(clean_html(text)) == clean_html(text)


words = st.text(alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=" ,.;:?!"), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "# ", "## ", "* ", "1. ", "> "]), words,
                          st.sampled_from(["", " $x_i < y$", " `a < b`", " **bold**", " [link](https://example.org)"])),
                min_size=1, max_size=6))
def test_honest_markdown_of_any_shape_is_kept(lines):
    source = "\n\n".join(f"{prefix}{text}{extra}" for prefix, text, extra in lines)
    assert clean_markdown(source) == source


@pytest.mark.parametrize("tex, expected", [
    (r"$\href{javascript:alert(1)}{x}$", r"$\href{#}{x}$"),
    (r"$\href{javascript:if(1){alert(1)}}{x}$", r"$\href{#}{x}$"),
    (r"$\href {java	script:alert(1)}{x}$", r"$\href {#}{x}$"),
    (r"$\class{navbar-fixed-top}{y} + \style{position:fixed}{z} + \cssId{statusmessage}{w}$", r"$\class{}{y} + \style{}{z} + \cssId{}{w}$"),
    (r"$\href{https://numpy.org}{numpy}$", r"$\href{https://numpy.org}{numpy}$"),
    (r"$\frac{\partial f}{\partial x} < \{1, 2\}$", r"$\frac{\partial f}{\partial x} < \{1, 2\}$"),
])
def test_math_cannot_link_or_restyle(tex, expected):
    """MathJax typesets after HTML sanitisers run (in JupyterLab too): \\href and friends are checked in the text."""
    assert clean_tex(tex) == expected
    assert clean_markdown(tex) == expected
    assert clean_data({"text/latex": tex})["text/latex"] == expected


# -- outputs -------------------------------------------------------------------------------------

def graphviz_svg() -> str:
    x = ag.Variable([1.0, 2.0], name="x")
    return ag.draw((ag.exp(x) * x).sum()).pipe(format="svg").decode()


def test_graphviz_drawing_is_kept():
    original = graphviz_svg()
    cleaned = clean_svg(original)
    assert cleaned.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in cleaned
    for needed in ("viewBox", "<polygon", "<ellipse", "<path", "<text"):
        assert needed in cleaned
    assert cleaned.count("<text") == original.count("<text")
    assert executable(cleaned) == []
    import xml.dom.minidom
    xml.dom.minidom.parseString(cleaned)  # still a standalone XML document (shown through <img>)


def test_svg_payloads_are_removed():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script>'
           '<a href="javascript:alert(3)"><rect width="5" height="5" onclick="alert(4)"/></a>'
           '<rect fill="url(http://127.0.0.1:9/x)" clip-path="url(#ok)" width="1" height="1"/>'
           '<use href="http://127.0.0.1:9/x.svg#a"/><foreignObject><iframe src="http://127.0.0.1:9/"/></foreignObject></svg>')
    cleaned = clean_svg(svg)
    assert executable(cleaned) == [] and "127.0.0.1" not in cleaned
    assert 'clip-path="url(#ok)"' in cleaned


def test_every_output_type():
    data = {
        "text/plain": "<script>stays text</script>",
        "text/html": "<b>bold</b><script>alert(1)</script><img src=x onerror=alert(1)>",
        "text/markdown": "**md** <img src=x onerror=alert(1)>",
        "text/latex": "$a < b$",
        "image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><circle r='2'/></svg>",
        "image/png": "iVBORw0KGgo=",
        "image/jpeg": "not base64\" onerror=\"alert(1)",
        "application/javascript": "alert(1)",
        "text/javascript": "alert(1)",
        "application/x-ecmascript": "alert(1)",
        "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2},
        "application/vnd.evil+html": "<script>alert(1)</script>",
        "application/json": {"a": 1},
    }
    cleaned = clean_data(data)
    assert set(cleaned) == {"text/plain", "text/html", "text/markdown", "text/latex", "image/svg+xml", "image/png",
                            "application/json"}
    assert cleaned["text/plain"] == data["text/plain"] and cleaned["text/latex"] == "$a < b$"
    assert cleaned["image/png"] == data["image/png"] and cleaned["application/json"] == {"a": 1}
    assert cleaned["text/html"] == "<b>bold</b><img src=\"x\">"
    for mime in ("text/html", "image/svg+xml"):
        assert executable(cleaned[mime]) == []
    assert executable(render_markdown(cleaned["text/markdown"])) == []
    assert clean_data({"application/javascript": "alert(1)"}) == {"text/plain": REMOVED_NOTE}


def test_error_outputs_and_execution_counts_are_untouched():
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="<script>alert(1)</script>",
                                   traceback=["\x1b[31m<img src=x onerror=alert(1)>\x1b[0m"])
    assert clean_output(copy.deepcopy(error)) == error
    result = nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=7)
    assert clean_output(result).execution_count == 7


def test_output_metadata_keeps_numeric_sizes_only():
    output = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="}, metadata={
        "image/png": {"width": 300, "height": "1 onerror=alert(1)"}, "filenames": {"image/png": "../../x"},
        "text/html": {"isolated": True}})
    assert clean_output(output).metadata == {"image/png": {"width": 300}}


# -- whole notebooks -----------------------------------------------------------------------------

def hostile_solution() -> nbformat.NotebookNode:
    nb = source_notebook(A)
    nb.metadata["title"] = "<script>alert('title')</script>"
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": "</script><script>alert(1)"}}
    nb.metadata.kernelspec.display_name = "<img src=x onerror=alert(1)>"
    for i, payload in enumerate(PAYLOADS):
        nb.cells.insert(2 + i, nbformat.v4.new_markdown_cell(payload))
    code = nbformat.v4.new_code_cell("display()", outputs=[
        nbformat.v4.new_output("display_data", data={"text/html": PAYLOADS[1], "application/javascript": "alert(1)"}),
        nbformat.v4.new_output("stream", name="stdout", text="<script>is text</script>"),
    ], metadata={"tags": ['x" onmouseover="alert(1)', "ok-tag"], "jupyter": {"source_hidden": "<b>"}, "evil": "<script>"})
    nb.cells.insert(1, code)
    return nb


def test_a_hostile_notebook_keeps_what_nbgrader_scores_from():
    nb = hostile_solution()
    before = copy.deepcopy(nb)
    SanitizeNotebook().preprocess(nb, {})
    assert [c.cell_type for c in nb.cells] == [c.cell_type for c in before.cells]
    for old, new in zip(before.cells, nb.cells):
        assert old.metadata.get("nbgrader") == new.metadata.get("nbgrader")
        if old.cell_type == "code":
            assert old.source == new.source and old.execution_count == new.execution_count
    assert set(nb.metadata) <= {"kernelspec", "language_info", "course"}
    assert nb.metadata.kernelspec == {"name": "python3", "display_name": "python3", "language": "python"}
    assert nb.metadata.course == {"total_points": 100}
    hostile_cell = nb.cells[1]
    assert hostile_cell.metadata == {"tags": ["ok-tag"], "jupyter": {}}
    assert "application/javascript" not in hostile_cell.outputs[0].data
    assert hostile_cell.outputs[1].text == "<script>is text</script>"
    nbformat.validate(nb)


def test_the_solution_notebook_is_unchanged():
    nb = source_notebook(A)
    before = copy.deepcopy(nb)
    sanitize_notebook(nb)
    assert [c.source for c in nb.cells] == [c.source for c in before.cells]
    assert [c.metadata for c in nb.cells] == [c.metadata for c in before.cells]


def test_the_page_nbconvert_renders_has_no_payload():
    from nbconvert import HTMLExporter
    nb = sanitize_notebook(hostile_solution())
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    body = html.split("<body", 1)[1]
    # The page's own scripts (MathJax and its configuration) come before <body>; none after it.
    assert executable(re.sub(r"<script type=\"text/x-mathjax-config\">.*?</script>", "", body, flags=re.S)) == []
