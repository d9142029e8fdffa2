"""Nothing from a submission runs as script in anyone's page (issue 8, class 1), in a real browser.

A submission of 01_derivatives (the instructor's solution, so 100 points) carries every payload of
course/banks/hostile_pages.py: markdown cells (script, img onerror, svg onload, javascript: and
data: links, iframes, a form, a meta refresh, style tricks, attachments, a MathJax \\href), outputs
of every mime type, cell and notebook metadata, and markup in the student's first and last names
in the gradebook. Each payload, if it ran, would call a listener on 127.0.0.1, retitle the page,
add an element or open a dialog. Next to the payloads the submission draws a Graphviz graph and a
matplotlib plot, which must still render.

The real workflow: ``course release``, ``course collect --from``, ``course grade`` (sandboxed
kernels), ``course feedback``; then headless Chromium opens (a) the formgrader's view of the
submission in a real ``course lab`` JupyterLab server, its student list and a crafted formgrader
URL, and (b) the student's feedback page. Control: the same hostile notebook rendered by plain
nbconvert, without the course's sanitiser, does call the listener, retitle the page and open
dialogs, so the listener and the payloads are live.

Screenshots: the ``screenshots`` folder under this module's pytest temporary folder
(``/tmp/pytest-of-<user>/pytest-<n>/screenshots0/``); the path is printed (``-s``) and stored in
``SCREENSHOTS`` beside them as ``where.txt``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from browser import browser, listener, open_page  # noqa: F401 - fixtures
from course.banks.adversarial import Context
from course.banks.hostile_pages import STUDENT_NAMES, TITLE_MARK, everything
from course.cli import main
from course.course_dir import Course
from course_harness import source_notebook

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.nbgrader, pytest.mark.sandbox]

A = "01_derivatives"
HOSTILE, HONEST = "hostile", "honest"
FIRST, LAST = STUDENT_NAMES["hostile pages: every payload at once"]
STARTUP_SECONDS = 90


# -- the graded course ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    (folder / "where.txt").write_text(str(folder) + "\n")
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def course(tmp_path_factory, listener):
    """A course graded through the `course` command: the hostile submission and an honest one."""
    tmp = tmp_path_factory.mktemp("hostile-pages")
    before = len(listener.hits)
    root = tmp / "course"
    Course.temporary(root, [A])
    where = ["--course", str(root)]
    assert main(["release", A, *where]) == 0
    inbox = tmp / "downloads"
    for student, nb in {HOSTILE: everything(Context(root, listener.port)), HONEST: source_notebook(A)}.items():
        (inbox / student / A).mkdir(parents=True)
        nbformat.write(nb, inbox / student / A / f"{A}.ipynb")
    assert main(["collect", A, "--from", str(inbox), *where]) == 0
    assert main(["grade", A, "--workers", "2", *where]) == 0
    with Course(root).gradebook() as gb:  # names reach the gradebook from a roster or an LMS
        gb.update_or_create_student(HOSTILE, first_name=FIRST, last_name=LAST)
    assert main(["feedback", A, *where]) == 0
    assert listener.hits[before:] == [], "a payload ran while grading (outside any browser)"
    return root


def submission_score(root: Path, student: str) -> float:
    with Course(root).gradebook() as gb:
        return gb.find_submission_notebook(A, A, student).score


def submission_id(root: Path, student: str) -> str:
    with Course(root).gradebook() as gb:
        return gb.find_submission_notebook(A, A, student).id


# -- course lab ------------------------------------------------------------------------------------

def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory):
    """`course lab` on the graded course: (base URL, token). Stopped (by its PID) afterwards."""
    tmp = tmp_path_factory.mktemp("lab")
    port, log = _free_port(), tmp / "course-lab.log"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    env.pop("AUTODIFF_DB_URL", None)
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "course.cli", "lab", "--no-browser", "--port", str(port),
                                    "--course", str(course)], stdout=out, stderr=subprocess.STDOUT, cwd=tmp, env=env)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        token = None
        while token is None or not _answers(port):
            assert process.poll() is None, f"course lab exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"course lab did not start:\n{log.read_text()}"
            found = re.search(r"/lab\?token=([\w-]+)", log.read_text())
            token = found.group(1) if found else None
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", token, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(port: int) -> bool:
    import http.client
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/api/status")
        return connection.getresponse().status in (200, 403)
    except OSError:
        return False


# -- what a page must (not) show --------------------------------------------------------------------

def payload_traces(visit) -> list[str]:
    """Everything a payload that ran would leave in the page."""
    page = visit.page
    traces = [f"dialog {d}" for d in visit.dialogs]
    if TITLE_MARK in page.title():
        traces.append(f"title {page.title()!r}")
    traces += [f"element #{e}" for e in page.evaluate("() => [...document.querySelectorAll('[id^=pwned]')].map(e => e.id)")]
    traces += [f"scripted link {h[:60]}" for h in page.evaluate(
        "() => [...document.querySelectorAll('[href],[src],[action],[formaction]')].map("
        "e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action') || e.getAttribute('formaction'))"
        ".filter(u => /^\\s*(javascript|vbscript|data:text)/i.test(u))")]
    traces += [f"frame {f}" for f in page.evaluate("() => [...document.querySelectorAll('iframe,frame,object,embed')].map(e => e.outerHTML.slice(0, 80))")]
    return traces


def click_payload_links(page) -> None:
    """Click what a reader might click: the payloads' links and buttons (they must do nothing)."""
    for text in ("click me (html link)", "click me (markdown link)", "click me (data link)", "Submit grades", "click me"):
        for element in page.get_by_text(text, exact=False).all()[:3]:
            try:
                element.click(timeout=2000, no_wait_after=True)
            except Exception:  # hidden or covered: nothing a reader could click either
                pass
    page.wait_for_timeout(1000)


def image_sizes(page, selector: str) -> list[dict]:
    return page.evaluate(f"""() => [...document.querySelectorAll({selector!r})].map(img => {{
        const box = img.getBoundingClientRect();
        return {{natural: img.naturalWidth, width: box.width, height: box.height, complete: img.complete}};
    }})""")


def assert_teaching_content_renders(page) -> None:
    """The Graphviz drawing, the matplotlib plot and the math of the same submission render."""
    drawings = [s for s in image_sizes(page, ".output_svg img") if s["natural"] > 100]
    assert drawings and drawings[0]["width"] > 200 and drawings[0]["height"] > 20, image_sizes(page, ".output_svg img")
    plots = [s for s in image_sizes(page, ".output_png img") if s["natural"] >= 200]
    assert plots and plots[0]["width"] >= 200 and plots[0]["height"] >= 150, image_sizes(page, ".output_png img")
    math = page.evaluate("() => [...document.querySelectorAll('mjx-container')].map(m => m.getBoundingClientRect().width)")
    assert len(math) > 10 and max(math) > 20, math  # MathJax, inlined, typeset offline
    assert page.locator("mjx-container a").count() == 0  # \href shows its text and links nowhere


def scroll_to(page, locator) -> None:
    """Scroll the page (vertically only) so that the element is near the top, for a screenshot."""
    locator.first.evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 80)")
    page.wait_for_timeout(300)


def external_requests(visit, allowed: str) -> list[str]:
    return sorted({r for r in visit.requests if not r.startswith(("data:", "blob:", "about:", allowed))})


# -- the control: the same payloads, unsanitised, do run ------------------------------------------------

def test_control_the_payloads_run_in_a_page_that_is_not_sanitised(browser, listener, tmp_path, screenshots):
    """Plain nbconvert on the hostile notebook (its outputs made by a local kernel): the listener is hit."""
    nb = everything(Context(Path("."), listener.port))
    # The payloads only (no solution code); not the meta refresh (it leaves the page before the rest
    # runs) nor the mXSS one (its unclosed <style> swallows the rest of an unsanitised page).
    nb.cells = [c for c in nb.cells if "nbgrader" not in c.metadata and "http-equiv" not in c.source
                and "<math>" not in c.source]
    NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3").execute()
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    page_file = tmp_path / "control.html"
    page_file.write_text(html)
    before = len(listener.hits)
    visit = open_page(browser, page_file.as_uri(), settle_ms=2500)
    visit.page.screenshot(path=str(screenshots / "control-unsanitised.png"), full_page=False)
    visit.page.context.close()
    hits = listener.hits[before:]
    tokens = {h.split("/hit/")[-1] for h in hits}
    assert {"md-script", "md-img-onerror", "md-svg-onload", "out-html-script", "out-html-onerror"} <= tokens, hits
    assert visit.dialogs, "the payloads' alert() calls should have opened dialogs"


# -- the pages ---------------------------------------------------------------------------------------

def test_grading_is_unchanged_by_the_payloads(course):
    assert submission_score(course, HOSTILE) == 100
    assert submission_score(course, HONEST) == 100


def test_the_formgrader_submission_view_is_inert_and_still_shows_the_work(course, lab, browser, listener, screenshots):
    base, token, _ = lab
    before = len(listener.hits)
    url = f"{base}/formgrader/submissions/{submission_id(course, HOSTILE)}/?token={token}"
    visit = open_page(browser, url, settle_ms=3000)
    page = visit.page
    page.screenshot(path=str(screenshots / "formgrader-submission-top.png"))
    assert page.title() == A
    assert page.locator("input.score").count() >= 8  # the formgrader's own script ran and loaded the grades
    click_payload_links(page)
    assert payload_traces(visit) == []
    assert_teaching_content_renders(page)
    scroll_to(page, page.locator(".output_svg img"))
    page.screenshot(path=str(screenshots / "formgrader-submission-drawing.png"))
    scroll_to(page, page.get_by_text("Submit grades", exact=False))
    page.screenshot(path=str(screenshots / "formgrader-submission-markdown-payloads.png"))
    scroll_to(page, page.get_by_text("html output", exact=False))
    page.screenshot(path=str(screenshots / "formgrader-submission-outputs.png"))
    page.screenshot(path=str(screenshots / "formgrader-submission-full.png"), full_page=True)
    names = page.locator("a.name-shown").first.inner_text()
    assert FIRST in names and LAST in names  # shown as text, as typed
    assert external_requests(visit, base) == []
    page.context.close()
    assert listener.hits[before:] == []


def test_the_formgrader_lists_and_a_crafted_url_are_inert(course, lab, browser, listener, screenshots):
    base, token, _ = lab
    before = len(listener.hits)
    crafted = urllib.parse.quote(f"<img src=x onerror=document.title='{TITLE_MARK}-url'>", safe="")
    for name, path in (("assignments", "/formgrader/manage_assignments"),
                       ("students", "/formgrader/manage_students"),
                       ("submissions", f"/formgrader/gradebook/{A}/{A}"),
                       ("crafted-url", f"/formgrader/manage_students/{crafted}")):
        visit = open_page(browser, f"{base}{path}?token={token}", settle_ms=2000)
        visit.page.screenshot(path=str(screenshots / f"formgrader-{name}.png"))
        assert payload_traces(visit) == [], name
        if name == "students":
            assert FIRST in visit.page.inner_text("body")  # the name, as text
        visit.page.context.close()
    assert listener.hits[before:] == []


def test_the_feedback_page_is_inert_and_still_shows_the_work(course, browser, listener, screenshots):
    page_file = course / "feedback" / HOSTILE / A / f"{A}.html"
    before = len(listener.hits)
    visit = open_page(browser, page_file.as_uri(), settle_ms=3000)
    page = visit.page
    page.screenshot(path=str(screenshots / "feedback-top.png"))
    assert page.title() == A
    click_payload_links(page)
    assert payload_traces(visit) == []
    assert_teaching_content_renders(page)
    scroll_to(page, page.locator(".output_svg img"))
    page.screenshot(path=str(screenshots / "feedback-drawing.png"))
    scroll_to(page, page.get_by_text("Math with a link", exact=False))
    page.screenshot(path=str(screenshots / "feedback-markdown-payloads.png"))
    page.screenshot(path=str(screenshots / "feedback-full.png"), full_page=True)
    assert external_requests(visit, "file:") == []  # nothing from the network: MathJax is in the page
    # The second layer: the page's Content-Security-Policy runs no handler that got into it.
    assert page.locator('meta[http-equiv="Content-Security-Policy"]').count() == 1
    page.evaluate("""() => document.body.insertAdjacentHTML('beforeend',
        '<img src="x" onerror="document.title=\\'PWNED-despite-csp\\'">')""")
    page.wait_for_timeout(500)
    assert page.title() == A
    page.context.close()
    assert listener.hits[before:] == []


def test_the_autograded_notebook_is_sanitised_at_the_source(course):
    """What nbgrader wrote into autograded/ (the formgrader's and the live notebook's source) is inert."""
    nb = nbformat.read(course / "autograded" / HOSTILE / A / f"{A}.ipynb", as_version=4)
    markup = re.compile(r"<script|onerror\s*=|onload\s*=|javascript:|<iframe|<meta|<style|<form", re.I)
    for c in nb.cells:
        if c.cell_type == "markdown":
            assert not markup.search(c.source), c.source
        for output in c.get("outputs", []):
            for mime, value in output.get("data", {}).items():
                assert "javascript" not in mime and "ecmascript" not in mime and "widget" not in mime
                if mime in ("text/html", "image/svg+xml", "text/markdown"):
                    assert not markup.search(str(value)), (mime, value)
    assert set(nb.metadata) <= {"kernelspec", "language_info", "course"}
