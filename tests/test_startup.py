"""What one command loads: `pagewalk-edu verdict` of a built-in cell imports
the kernel, the explorer and the text view, and none of what other commands
use (benchmarks/explore.py times it; this guards what it imports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run the command the way the console script does (pagewalk_edu.cli:main) or as
# `python -m pagewalk_edu`, then list the package's modules that were loaded.
PROBE = """
import json, runpy, sys
argv = json.loads(sys.argv[1])
how = sys.argv[2]
out = sys.stdout
sys.stdout = open("/dev/null" if sys.platform != "win32" else "nul", "w")
try:
    if how == "script":
        from pagewalk_edu.cli import main
        status = main(argv)
    else:
        sys.argv = ["pagewalk_edu"] + argv
        try:
            runpy.run_module("pagewalk_edu", run_name="__main__")
        except SystemExit as e:
            status = e.code
finally:
    sys.stdout = out
print(json.dumps({"status": status, "modules": sorted(m for m in sys.modules if m.startswith(("pagewalk_edu", "matplotlib", "ipywidgets", "tomllib", "secrets", "shutil")))}))
"""


def _loaded(argv: list[str], how: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), how], capture_output=True, text=True, env=env,
                       cwd=ROOT, check=True)
    return json.loads(r.stdout)


def test_a_verdict_loads_only_what_it_uses():
    for how in ("script", "module"):
        got = _loaded(["verdict", "--holds", "vma_lock", "--action", "munmap"], how)
        assert got["status"] == 0
        mods = set(got["modules"])
        assert {"pagewalk_edu.explore.verdict", "pagewalk_edu.kernel.sim", "pagewalk_edu.viz.text"} <= mods
        unused = {m for m in mods if m.startswith(("pagewalk_edu.tables", "pagewalk_edu.widgets", "matplotlib",
                                                   "ipywidgets", "pagewalk_edu.viz.tree", "pagewalk_edu.viz.timeline"))}
        unused |= mods & {"pagewalk_edu.check", "pagewalk_edu.files", "pagewalk_edu.saved", "pagewalk_edu.scenarios.files",
                          "secrets", "shutil"}
        assert not unused, f"{how}: a built-in verdict imported {sorted(unused)}"


def test_help_still_lists_every_command_and_option():
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    top = subprocess.run([sys.executable, "-m", "pagewalk_edu", "-h"], capture_output=True, text=True, env=env, check=True)
    for command in ("trace", "verdict", "matrix", "check", "tables"):
        assert command in top.stdout
    v = subprocess.run([sys.executable, "-m", "pagewalk_edu", "verdict", "-h"], capture_output=True, text=True, env=env,
                       check=True)
    for option in ("--holds", "--action", "--scenario", "--address", "--kernel", "--walker", "--config", "--fault",
                   "--patch", "--walk", "--json"):
        assert option in v.stdout


def test_other_commands_still_parse_when_one_is_named():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "pagewalk_edu", "verdcit"], capture_output=True, text=True, env=env)
    assert r.returncode == 2
    assert "invalid choice: 'verdcit'" in r.stderr and "'tables'" in r.stderr and "Traceback" not in r.stderr
