"""`pagewalk-edu tables` under a memory limit, with a child killed by a signal,
and with a shared file whose values hold escape sequences or go on for pages."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pagewalk_edu.tables import parse_tables_scenario, real
from pagewalk_edu.tables.real import RealUnavailable, cgroup_headroom, killed_message, measure

ROOT = Path(__file__).resolve().parents[2]
M = 1 << 20


def _tree(root: Path, files: dict) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_cgroup_v2_headroom_is_the_tightest_ancestor(tmp_path):
    _tree(tmp_path, {"user.slice/memory.max": "max\n", "user.slice/memory.current": "1000\n",
                     "user.slice/app/memory.max": str(512 * M), "user.slice/app/memory.current": str(500 * M),
                     "memory.max": "max"})
    assert cgroup_headroom("0::/user.slice/app\n", str(tmp_path)) == 12 * M


def test_cgroup_v1_in_a_container_reads_the_mount_root(tmp_path):
    """Inside a container /proc/self/cgroup names the host's path, which does
    not exist under the container's mount: its root is the container's cgroup."""
    _tree(tmp_path, {"memory/memory.limit_in_bytes": str(256 * M), "memory/memory.usage_in_bytes": str(200 * M)})
    text = "4:memory:/docker/0123abcd\n1:cpu:/\n0::/\n"
    assert cgroup_headroom(text, str(tmp_path)) == 56 * M
    _tree(tmp_path, {"memory/memory.limit_in_bytes": "9223372036854771712"})  # v1's "no limit"
    assert cgroup_headroom(text, str(tmp_path)) is None
    assert cgroup_headroom("garbage", str(tmp_path)) is None


def test_real_refuses_what_the_cgroup_would_oom_kill(monkeypatch):
    try:
        real.check_platform()
    except RealUnavailable as err:
        pytest.skip(f"--real cannot run here: {err}")
    monkeypatch.setattr(real, "_available_memory", lambda: 64 << 30)
    monkeypatch.setattr(real, "cgroup_headroom", lambda: 100 * M)
    s = parse_tables_scenario({"steps": [{"op": "mmap", "start": 0, "length": "1G"},
                                         {"op": "touch", "start": 0, "length": "1G"}]})
    with pytest.raises(RealUnavailable, match=r"this process's cgroup lets it use only 100M more \(its memory limit\)"):
        measure(s)


def test_a_child_killed_by_a_signal_says_why_and_what_to_reduce(monkeypatch, tmp_path):
    assert "out-of-memory killer" in killed_message(signal.SIGKILL, 1 << 30)
    assert "writes up to 1G: touch fewer pages" in killed_message(signal.SIGKILL, 1 << 30)
    assert "SIGSEGV" in killed_message(signal.SIGSEGV, 0) and "SIGTERM" in killed_message(signal.SIGTERM, 0)
    try:
        real.check_platform()
    except RealUnavailable as err:
        pytest.skip(f"--real cannot run here: {err}")
    child = tmp_path / "child.py"
    child.write_text("import os, signal, sys; sys.stdin.read(); os.kill(os.getpid(), signal.SIGKILL)")
    monkeypatch.setattr(real, "CHILD", child)
    s = parse_tables_scenario({"steps": [{"op": "mmap", "start": 0, "length": "4M"}]})
    with pytest.raises(RealUnavailable) as info:
        measure(s)
    assert "killed by SIGKILL" in str(info.value) and "touch fewer pages" in str(info.value)


def _tables(*args, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "pagewalk_edu", "tables", *args], capture_output=True, env=env,
                          timeout=120)


def test_escape_sequences_of_a_shared_file_never_reach_the_terminal(tmp_path):
    path = tmp_path / "shared\x1b[2J.json"
    path.write_text(json.dumps({"description": "\x1b]0;owned\x07\x1b[31mred\r\nand " + "long " * 300,
                                "steps": [{"op": "mmap", "start": 0, "length": "4K"}]}))
    p = _tables(str(path))
    assert p.returncode == 0, p.stderr
    assert b"\x1b" not in p.stdout and b"\x07" not in p.stdout and b"\r" not in p.stdout
    first = p.stdout.decode().splitlines()[0]
    assert first.startswith("shared\\x1b[2J: \\x1b]0;owned\\x07\\x1b[31mred\\r\\nand long")
    assert len(first) < 400, "a long description is cut"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"steps": [{"op": "\x1b[2J" + "x" * 5000, "start": 0, "length": "4K"}]}))
    p = _tables(str(bad))
    assert p.returncode == 2 and b"\x1b" not in p.stderr
    line, = p.stderr.decode().strip().splitlines()
    assert line.startswith("pagewalk-edu tables: error: step 1: field 'op'") and "(5004 characters)" in line
    assert len(line) < 400
    broken = tmp_path / "bad\nname.json"
    broken.write_text('{"steps": [')
    p = _tables(str(broken))
    line, = p.stderr.decode().strip().splitlines()
    assert p.returncode == 2 and "bad\\nname.json: truncated" in line
