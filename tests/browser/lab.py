"""JupyterLab for the browser tests and the browser benchmark alike: one
server on 127.0.0.1 over a work folder, with its own config and data folders
(nothing of the user's), this checkout first on PYTHONPATH, no update or news
check (no network)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class LabDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_lab(work: Path, home: Path, log: Path, *, port: int | None = None, token: str = "pagewalk-test-token"):
    """Run JupyterLab over `work` (config, data and runtime folders under
    `home`, its output in `log`); yield (url, token); stop it on exit."""
    port = port or free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}", "--ServerApp.disable_check_xsrf=True",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           # window.jupyterapp, for the tests only: they read each cell's execution count and the kernel's status
           "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    # no "get notified about Jupyter news?" toast over the widgets (it would take clicks and sit in screenshots)
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}), encoding="utf-8")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None:
                        break
                    time.sleep(0.5)
            else:
                raise LabDidNotStart(f"JupyterLab did not start; see {log}")
            if proc.poll() is not None:
                raise LabDidNotStart(f"JupyterLab exited with status {proc.returncode}; see {log}")
            yield url, token
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen, grace: float = 20) -> None:
    """Stop a server the tests started: SIGTERM, then SIGKILL if it has not
    exited within `grace` seconds (JupyterLab shuts its kernels down first)."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def shut_down_kernels(url: str, token: str) -> None:
    """End every session (and its kernel) the server runs, so that the next
    page that opens a notebook starts it on a fresh kernel: none of an earlier
    test's widgets to restore, none of its queued messages to wait behind."""
    for s in json.load(urllib.request.urlopen(f"{url}/api/sessions?token={token}", timeout=30)):
        urllib.request.urlopen(urllib.request.Request(f"{url}/api/sessions/{s['id']}?token={token}", method="DELETE"), timeout=60)


# The notebook's kernel is connected and idle (JupyterLab's own kernel status).
KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }"""
# The run is over: the kernel is idle, no code cell is queued or running, and one
# has an execution count (the outputs were cleared before; a cell behind one that
# failed is not run, and keeps none).
RUN_OVER = """() => { const w = window.jupyterapp.shell.currentWidget, k = w.sessionContext.session.kernel;
    const code = w.content.widgets.filter(c => c.model.type === 'code');
    return k.status === 'idle' && !code.some(c => c.model.executionState === 'running')
        && code.some(c => c.model.executionCount !== null); }"""
CELLS = """() => window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code').map(c => ({
    count: c.model.executionCount, empty: !c.model.sharedModel.getSource().trim(), errors: c.model.outputs.toJSON().filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)}))"""


def run_all_cells(page, notebook_url: str) -> dict[str, float]:
    """Open a notebook in JupyterLab, wait until its kernel is idle, and run
    every cell from the Run menu; return once the run is over, every code cell
    run without an error (AssertionError otherwise, naming the cells).  Returns
    the seconds from the start until the kernel was idle and the cells had run."""
    t0 = time.perf_counter()
    page.goto(notebook_url, timeout=120_000)
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    idle = time.perf_counter() - t0
    page.evaluate("async () => { await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs'); }")
    page.click("text=Run", timeout=30_000)
    page.click("text=Run All Cells", timeout=30_000)
    page.wait_for_function(RUN_OVER, timeout=300_000)
    cells = page.evaluate(CELLS)
    failed = [(i, c["errors"]) for i, c in enumerate(cells) if c["errors"]]
    not_run = [i for i, c in enumerate(cells) if c["count"] is None and not c["empty"]]
    assert not failed and not not_run, f"cells that failed: {failed}; code cells not run: {not_run}"
    return {"kernel idle": idle, "cells run": time.perf_counter() - t0}
