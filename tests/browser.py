"""Headless Chromium (Debian's /usr/bin/chromium through Playwright) and a loopback listener, for tests.

Import the fixtures into a test module (``from browser import browser, listener  # noqa: F401``):

* ``browser``: a Playwright ``Browser`` on Debian's chromium (module scope; never downloads a
  browser). ``open_page(browser, url)`` opens a page in a fresh context and returns a ``Visit``
  that records what the page did: dialogs (dismissed; the page's own beforeunload "leave this
  page?" is accepted and counted, as a person moving on would), uncaught errors, console messages and
  every request it made.
* ``listener``: an HTTP server on 127.0.0.1 (a free port) that records every request it gets
  (``listener.hits``); a payload that ran would call it. It answers any method, with CORS
  headers, so that a ``fetch`` from any page reaches it.

Network: only loopback addresses, and the listener stops with its fixture.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

CHROMIUM = "/usr/bin/chromium"


class Listener:
    """A loopback HTTP server recording the requests it receives."""

    def __init__(self):
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                hits.append(f"{self.command} {self.path}")
                body = b"ok"
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = do_OPTIONS = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@dataclass
class Visit:
    """What one page did while it was open."""

    page: object
    dialogs: list[str] = field(default_factory=list)   # alert, confirm, prompt: what a payload could open
    leave_prompts: int = 0                             # beforeunload prompts, accepted
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def open_page(browser, url: str, *, settle_ms: int = 1500, viewport=(1280, 900)) -> Visit:
    """Open url in a new context; wait for the load and for the network to be idle, then settle.

    The caller closes ``visit.page.context`` (or lets the browser fixture close everything).
    """
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    visit = Visit(page)

    def on_dialog(dialog):
        if dialog.type == "beforeunload":
            # The page's own "leave this page?" (JupyterLab asks it when it holds a notebook it
            # thinks changed): a person going on to the next page clicks Leave.
            visit.leave_prompts += 1
            dialog.accept()
            return
        visit.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    page.on("console", lambda message: visit.console.append(f"{message.type}: {message.text}"))
    page.on("request", lambda request: visit.requests.append(request.url))
    page.goto(url, wait_until="load")
    try:
        page.wait_for_load_state("networkidle", timeout=15000)
    except Exception:  # a page that keeps polling (JupyterLab) never goes idle; the settle below still runs
        pass
    page.wait_for_timeout(settle_ms)
    return visit


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def listener():
    with Listener() as server:
        yield server
