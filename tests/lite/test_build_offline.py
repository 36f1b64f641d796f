"""tools/build_lite.py rebuilds from its cache with every registry unreachable, prints
the site's size, and ships exactly what the lock file names, with matching sha256."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

from litehelp import ROOT, lite_deps

DEAD = "http://127.0.0.1:9/"   # nothing listens there: any fetch fails at once


def test_rebuild_from_the_cache_needs_no_network(tmp_path):
    lite_deps.fetch_all()   # the first build's downloads (scripts/test.sh made them already)
    env = {**os.environ, "PIP_INDEX_URL": DEAD, "PIP_FIND_LINKS": "", "PIP_NO_INDEX": "1",
           "npm_config_registry": DEAD, "http_proxy": DEAD, "https_proxy": DEAD,
           "HTTP_PROXY": DEAD, "HTTPS_PROXY": DEAD, "no_proxy": "", "NO_PROXY": ""}
    out = tmp_path / "site"
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "build_lite.py"), "--output", str(out)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "fetching" not in p.stderr
    assert " MB" in p.stdout and str(out.name) in p.stdout   # it prints where and how big
    lock = json.loads((out / "static" / "pyodide" / "pyodide-lock.json").read_text())
    for entry in lock["packages"].values():
        whl = out / "static" / "pyodide" / entry["file_name"]
        assert hashlib.sha256(whl.read_bytes()).hexdigest() == entry["sha256"], entry["name"]
    assert lock["packages"]["pagewalk-edu"]["depends"] == lite_deps.own_depends()
    assert "matplotlib" not in lock["packages"]
