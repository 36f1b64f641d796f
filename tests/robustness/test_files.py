"""Scenarios and traces as files: round trips, determinism across processes and
hash seeds, atomic writes; and run-time hygiene (no network, no eval)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pagewalk_edu import saved
from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.saved import fingerprint, load_scenario, load_trace, save_scenario, save_trace

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra):
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), **extra}


def test_scenario_round_trip(tmp_path):
    s = make_scenario("vma_lock,irqs_off", "retract_page_tables", "7.1", "remote", "PT_RECLAIM=n,TLB_FLUSH=broadcast", "batch_alloc_fail")
    path = tmp_path / "s.json"
    save_scenario(path, s, ["walker", "khugepaged"])
    loaded, schedule = load_scenario(path)
    assert loaded == s
    assert schedule == ["walker", "khugepaged"]
    assert json.loads(path.read_text())["schema"] == saved.SCHEMA


def test_trace_replays_identically_in_another_process_with_another_hash_seed(tmp_path):
    s = make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail")
    path = tmp_path / "t.json"
    save_trace(path, run(s))
    code = ("import sys; from pagewalk_edu.saved import load_trace, fingerprint; "
            "t = load_trace(sys.argv[1]); print(fingerprint(t.last), len(t))")
    outs = set()
    for seed in ("0", "1", "12345"):
        p = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=_env(PYTHONHASHSEED=seed))
        assert p.returncode == 0, p.stderr
        outs.add(p.stdout.strip())
    assert len(outs) == 1
    here = load_trace(path)
    assert outs == {f"{fingerprint(here.last)} {len(here)}"}


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    save_scenario(path, make_scenario("rcu", "munmap"))
    before = path.read_text()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(saved.os, "replace", boom)
    with pytest.raises(OSError):
        save_scenario(path, make_scenario("none", "mremap"), overwrite=True)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_cli_trace_save_then_replay(tmp_path):
    path = tmp_path / "t.json"
    p = subprocess.run([sys.executable, "-m", "pagewalk_edu", "trace", "--holds", "none", "--action", "munmap", "--save", str(path)],
                       capture_output=True, text=True, env=_env())
    assert p.returncode == 0, p.stderr
    q = subprocess.run([sys.executable, "-m", "pagewalk_edu", "trace", "--scenario", str(path), "--no-continue"],
                       capture_output=True, text=True, env=_env())
    assert q.returncode == 0, q.stderr
    assert "USE-AFTER-FREE" in q.stdout
    assert p.stdout.splitlines()[3:] == q.stdout.splitlines()[3:]


NO_NET = """
import socket
def _refuse(*a, **k):
    raise OSError("network disabled for this test")
socket.socket.connect = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


def test_cli_runs_with_the_network_blocked(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(NO_NET)
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    for args in (["verdict", "--holds", "rcu", "--action", "munmap"], ["matrix"], ["trace", "--holds", "none", "--action", "mremap"]):
        p = subprocess.run([sys.executable, "-m", "pagewalk_edu", *args], capture_output=True, text=True, env=env, timeout=120)
        assert p.returncode == 0, p.stderr
    p = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 9))"],
                       capture_output=True, text=True, env=env)
    assert "network disabled" in p.stderr, "the network block itself must work"


def test_package_never_evals_execs_or_unpickles():
    pattern = re.compile(r"\b(eval|exec)\s*\(|\bpickle\b|\bmarshal\.loads\b")
    offenders = []
    for path in (ROOT / "pagewalk_edu").rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, offenders
