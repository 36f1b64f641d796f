"""The conference kit, as a presenter uses it: one archive (at most 100 MB), unpacked
into a fresh folder and served with `python3 -m http.server`; the docs open, lesson
00's "Run this page live" link runs the lesson in the tab to its first verdict, the
steppers open from disk, and no request leaves 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import pytest

from litebrowser import FIRST_VERDICT, PAGE_LOAD_MS, Guard, cells, lite_context, run_each
from litehelp import ROOT
from test_lite_site import blocker

KIT = "pagewalk-edu-kit"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit") / f"{KIT}.zip"
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "build_kit.py"), "--output", str(out)],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(kit, tmp_path_factory):
    """Unpacked elsewhere and served by the command the README gives."""
    where = tmp_path_factory.mktemp("usb-stick")
    with zipfile.ZipFile(kit) as z:
        z.extractall(where)
    folder = where / KIT
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + PAGE_LOAD_MS / 1000  # a budget: the loop ends when the server answers
    while True:
        try:
            urllib.request.urlopen(base + "/index.html", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"python3 -m http.server did not serve the kit (exit status {proc.poll()})")
            time.sleep(0.1)
    yield folder, base
    proc.terminate()
    proc.wait(timeout=20)


def test_kit_is_one_archive_under_100_mb_with_docs_lite_and_steppers(kit):
    assert kit.stat().st_size <= 100_000_000, f"{kit.stat().st_size / 1e6:.0f} MB"
    names = set(zipfile.ZipFile(kit).namelist())
    for need in ("README.txt", "index.html", "lessons/00-start-here.html", "lite/jupyter-lite.json",
                 "lite/static/pyodide/pyodide.asm.wasm", "lite/files/00-start-here.ipynb", "steppers.html"):
        assert f"{KIT}/{need}" in names, need
    assert any(n.startswith(f"{KIT}/_static/steppers/") and n.endswith("index.html") for n in names)
    readme = zipfile.ZipFile(kit).read(f"{KIT}/README.txt").decode()
    assert "python3 -m http.server" in readme


def test_kit_serves_lesson_00_live_offline(chromium, served):
    folder, base = served
    guard = Guard(base)
    ctx = lite_context(chromium, base + "/lite", guard)
    page = ctx.new_page()
    page.goto(f"{base}/lessons/00-start-here.html", timeout=PAGE_LOAD_MS)
    link = page.locator("a:has-text('Run this page live')")
    assert link.count() == 1
    link.click()
    page.wait_for_url("**/lite/notebooks/index.html?path=00-start-here.ipynb", timeout=PAGE_LOAD_MS)  # loaded
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=PAGE_LOAD_MS)
    page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget; await w.context.ready;"
                  " await w.sessionContext.ready; }")
    run_each(page)
    got = cells(page)
    assert all(c["count"] is not None for c in got if c["source"].strip()), "every cell ran"
    assert page.evaluate(FIRST_VERDICT), "lesson 00 reaches its first verdict"
    errors = [e for c in got for e in c["errors"]]
    if blocker("00-start-here.ipynb") is None:
        assert not errors
    else:   # the one known cause (tests/lite/test_lite_site.py): `dot` cannot start in a browser
        assert errors and all("does not support processes" in e or "matplotlib" in e for e in errors), errors
    ctx.close()
    assert not guard.foreign, f"the kit requested another host: {guard.foreign[:5]}"


def test_kit_steppers_open_from_disk(chromium, served):
    folder, _ = served
    page = chromium.new_page()
    external = []
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:")) else external.append(r.url))
    page.goto((folder / "_static" / "steppers" / "bug-none-munmap" / "index.html").as_uri())
    first = page.inner_text("#line")
    page.click("#next")
    assert page.inner_text("#line") != first
    page.close()
    assert not external
