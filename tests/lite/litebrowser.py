"""Serving a built Lite site on 127.0.0.1 and driving it in Debian's Chromium
(Playwright, executable_path: Playwright's own browsers are never downloaded),
with every request to another host refused and recorded. Shared by
tests/lite/test_lite_site.py, tests/lite/test_kit.py and benchmarks/lite.py."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("PAGEWALK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# The flags tests/browser uses, and a resolver that knows no host but 127.0.0.1:
# a request that slips past the check below still cannot leave the machine.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
# Requests a service worker makes are reported to the context only with this set.
os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(folder: Path):
    """`python3 -m http.server` on a free port of 127.0.0.1, in a thread; yields the base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class Guard:
    """Records every request a context makes to anything but `base` and refuses it."""

    def __init__(self, base: str):
        self.base = base.rstrip("/") + "/"
        self.foreign: list[str] = []

    def local(self, url: str) -> bool:
        return url.startswith((self.base, "data:", "blob:", "about:"))

    def attach(self, ctx) -> None:
        ctx.on("request", lambda r: None if self.local(r.url) else self.foreign.append(r.url))
        ctx.route(lambda url: not self.local(url), lambda route: route.abort("blockedbyclient"))


def lite_context(browser, base: str, guard: Guard, width: int = 1280, height: int = 800):
    """A browser context for the site at `base`. The test (never the shipped site)
    asks JupyterLite to expose its app object, to run cells by command."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    guard.attach(ctx)

    def expose(route):
        resp = route.fetch()
        cfg = resp.json()
        cfg["jupyter-config-data"]["exposeAppInBrowser"] = "true"
        route.fulfill(response=resp, body=json.dumps(cfg))

    ctx.route(f"{base}/lab/jupyter-lite.json", expose)
    ctx.route(f"{base}/jupyter-lite.json", expose)
    return ctx


# Budget for a page of the Lite app to load (its bundles are large; a loaded machine
# takes a while): a failure detector, the waits themselves end on the page's events.
PAGE_LOAD_MS = 120_000


def open_notebook(page, base: str, name: str, timeout: float = PAGE_LOAD_MS) -> float:
    """Open lessons `name` in JupyterLab (Lite) and wait for its kernel; seconds taken."""
    t0 = time.perf_counter()
    page.goto(f"{base}/lab/index.html?path={name}", timeout=timeout)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=timeout)
    page.evaluate("""async () => { const w = window.jupyterapp.shell.currentWidget;
        await w.context.ready; await w.sessionContext.ready; }""")
    return time.perf_counter() - t0


def run_all(page, timeout: float = 600_000) -> None:
    """Run > Run All Cells, awaited (the command settles when the last cell has replied)."""
    page.evaluate("async () => { await window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
        const k = w.sessionContext.session && w.sessionContext.session.kernel; return k && k.status === 'idle'; }""",
                           timeout=timeout)


# True once a cell that asks the explorer for a verdict shows one (its output names
# a verdict: safe, safe_but_stale, unsafe or deadlock).
FIRST_VERDICT = """() => window.jupyterapp.shell.currentWidget.content.widgets.some(c =>
    c.model.type === 'code' && c.model.sharedModel.getSource().includes('verdict(') &&
    /\\b(safe|safe_but_stale|unsafe|deadlock)\\b/.test(c.model.outputs.toJSON().map(o =>
        o.text ? [].concat(o.text).join('') : '').join('')))"""


def run_each(page, timeout: float = 600_000) -> None:
    """Run the code cells one by one, each awaited, going on past a cell that fails
    (Run All stops there: the kernel drops what was queued behind an error)."""
    page.evaluate("""async () => { const app = window.jupyterapp, nb = app.shell.currentWidget.content;
        for (let i = 0; i < nb.widgets.length; i++) {
            if (nb.widgets[i].model.type !== 'code') continue;
            nb.activeCellIndex = i;
            await app.commands.execute('notebook:run-cell');
        } }""")


# JupyterLab 4 skips rendering cells out of view (CSS content-visibility), and their
# innerText is then empty: the tests read textContent, which does not depend on layout.


def cells(page) -> list[dict]:
    """Every code cell: its source, execution count and outputs (errors as 'ename: evalue')."""
    return page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets
        .filter(c => c.model.type === 'code').map(c => ({
            source: c.model.sharedModel.getSource(), count: c.model.executionCount,
            errors: c.model.outputs.toJSON().filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
            text: c.model.outputs.toJSON().map(o => o.text ? [].concat(o.text).join('')
                  : (o.data && o.data['text/plain'] ? [].concat(o.data['text/plain']).join('') : '')).join('\\n')}))""")


def add_cell(page, source: str) -> None:
    """Append a code cell with `source` and run it (awaited)."""
    page.evaluate("""async (src) => { const app = window.jupyterapp, nb = app.shell.currentWidget.content;
        nb.activeCellIndex = nb.widgets.length - 1;
        await app.commands.execute('notebook:insert-cell-below');
        nb.activeCell.model.sharedModel.setSource(src);
        await app.commands.execute('notebook:run-cell'); }""", source)
