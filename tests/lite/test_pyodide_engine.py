"""The simulator and the explorer are the same program in the browser: their tests
(tests/kernel, tests/explore) run inside Pyodide (the Python of the Lite site, under
Node here) against the wheel the site ships, and every one of them passes, as many
as CPython collects; so do the browser-only tests of tests/lite/in_pyodide."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from litehelp import ROOT, need_node

SUITES = ["tests/kernel", "tests/explore"]
IN_PYODIDE = "tests/lite/in_pyodide"   # browser-only behaviour; CPython does not collect it
RUNNER = Path(__file__).with_name("run_in_pyodide.mjs")


def cpython_count() -> int:
    p = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *SUITES],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    m = re.search(r"^(\d+) tests? collected", p.stdout, re.M)
    assert p.returncode == 0 and m, p.stdout[-2000:] + p.stderr[-2000:]
    return int(m.group(1))


def test_engine_tests_pass_inside_pyodide(pyodide_core, test_wheels):
    node = need_node()
    cmd = [node, str(RUNNER), str(pyodide_core), str(ROOT), *map(str, test_wheels), "--",
           *(f"/repo/{s}" for s in SUITES), f"/repo/{IN_PYODIDE}", "-q", "-p", "no:cacheprovider", "--rootdir=/repo"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, p.stdout[-3000:] + p.stderr[-3000:]
    summary = json.loads(lines[-1])
    assert summary["platform"] == "emscripten", summary   # really inside Pyodide
    assert summary["failed"] == [], p.stdout[-5000:]
    assert summary["exit"] == 0, p.stdout[-5000:]
    browser_only = [n for n in summary["passed"] if n.startswith(IN_PYODIDE)]
    assert browser_only, summary   # the in-browser behaviour was tested, not skipped
    assert summary["outcomes"] == {"passed": cpython_count() + len(browser_only)}, summary


def test_own_wheel_carries_the_package_and_its_data(test_wheels):
    own = test_wheels[-1]
    names = set(zipfile.ZipFile(own).namelist())
    src = {p.relative_to(ROOT).as_posix() for p in (ROOT / "pagewalk_edu").rglob("*")
           if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".json")}
    assert src <= names, sorted(src - names)
    version = own.name.split("-")[1]
    meta = zipfile.ZipFile(own).read(f"pagewalk_edu-{version}.dist-info/METADATA").decode()
    assert "Name: pagewalk-edu" in meta and "Requires-Dist: ipywidgets" in meta
