"""Scenarios and traces as files: round trips, determinism across processes and
hash seeds, atomic writes; and run-time hygiene (no network, no eval)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pagewalk_edu import files, saved
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


# --- what read_user_text() and parse_json() accept ---------------------------------------------


def test_a_named_pipe_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo)
    for args in (["verdict", "--scenario", str(fifo)], ["tables", str(fifo)]):
        p = subprocess.run([sys.executable, "-m", "pagewalk_edu", *args], capture_output=True, text=True, env=_env(), timeout=60)
        assert p.returncode == 2 and "not a regular file" in p.stderr, p.stderr
    with pytest.raises(ValueError, match=r"s\.json: not a regular file"):
        load_scenario(fifo)


def test_the_size_bound_holds_when_the_file_grows_after_the_size_check(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    path.write_text("{" + " " * saved.MAX_BYTES + "}")
    real_stat = files.Path.stat

    def stat_before_it_grew(self, *a, **k):
        st = real_stat(self, *a, **k)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 2,
                               st.st_atime, st.st_mtime, st.st_ctime))

    monkeypatch.setattr(files.Path, "stat", stat_before_it_grew)
    read = []
    real_fdopen = files.os.fdopen

    def fdopen(fd, *a, **k):
        f = real_fdopen(fd, *a, **k)
        real_read = f.read
        f.read = lambda n=-1: read.append(n) or real_read(n)
        return f

    monkeypatch.setattr(files.os, "fdopen", fdopen)
    with pytest.raises(ValueError, match=r"larger than the 1048576 bytes \(1 MiB\) accepted"):
        load_scenario(path)
    assert read == [saved.MAX_BYTES + 1], "at most MAX_BYTES + 1 bytes are read"


def test_a_byte_order_mark_is_accepted(tmp_path):
    from pagewalk_edu.tables import load_tables_scenario, parse_tables_text

    path = tmp_path / "s.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"schema": 1, "holds": ["rcu"], "action": "munmap"}).encode())
    assert load_scenario(path)[0] == make_scenario("rcu", "munmap")
    tables = tmp_path / "t.json"
    tables.write_bytes(b"\xef\xbb\xbf" + json.dumps({"steps": [{"op": "mmap", "start": 0, "length": "4K"}]}).encode())
    assert len(load_tables_scenario(tables).steps) == 1
    assert saved.parse_json("\ufeff[1]") == [1]
    assert len(parse_tables_text('\ufeff{"steps": [{"op": "mmap", "start": 0, "length": "4K"}]}').steps) == 1


@pytest.mark.parametrize("text,needle", [
    ("[" * 100_000 + "]" * 100_000, "where: nested too deeply (100000 levels of arrays and objects); accepted: at most 100 levels"),
    ('{"a": ' * 101 + "1" + "}" * 101, "nested too deeply (101 levels"),
    ('{"a": "' + "[" * 500 + '"}', None),  # brackets inside a string do not count
    ('{"x": ' + "7" * 5000 + "}", "where: a number with more than 4300 digits; accepted: integers of at most 4300 digits"),
    ('{"a": {"b": 1, "b": 2}}', "where: field 'b' is given twice"),
])
def test_parse_json_errors_are_one_line_and_name_where(text, needle):
    if needle is None:
        assert saved.parse_json(text, "where") == {"a": "[" * 500}
        return
    with pytest.raises(ValueError) as info:
        saved.parse_json(text, "where")
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_tables_files_share_the_nesting_and_number_checks(tmp_path):
    from pagewalk_edu.tables import load_tables_scenario

    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match=r"deep\.json: nested too deeply"):
        load_tables_scenario(path)
    path.write_text('{"steps": [{"op": "mmap", "start": ' + "1" * 5000 + ', "length": "4K"}]}')
    with pytest.raises(ValueError, match=r"deep\.json: a number with more than"):
        load_tables_scenario(path)


# --- saved files: every loader of a trace checks it the same way -------------------------------


def _saved_trace(tmp_path, edit=None):
    path = tmp_path / "t.json"
    save_trace(path, run(make_scenario("none", "munmap")))
    if edit:
        d = json.loads(path.read_text())
        edit(d)
        path.write_text(json.dumps(d))
    return path


def test_load_scenario_of_an_edited_trace_is_refused_like_load_trace(tmp_path):
    path = _saved_trace(tmp_path, lambda d: d["fingerprints"].__setitem__(3, "0" * 16))
    for load in (load_trace, load_scenario):
        with pytest.raises(ValueError, match=r"t\.json: state 3 does not replay to the saved state"):
            load(path)


def test_a_trace_with_an_unknown_field_is_refused(tmp_path):
    path = _saved_trace(tmp_path, lambda d: d.__setitem__("colour", "red"))
    for load in (load_trace, load_scenario):
        with pytest.raises(ValueError, match=r"t\.json: unknown field 'colour'; accepted: schema, kind, scenario, schedule"):
            load(path)


def test_a_saved_trace_still_loads_both_ways(tmp_path):
    path = _saved_trace(tmp_path)
    trace = load_trace(path)
    scenario, schedule = load_scenario(path)
    assert scenario == trace.ctx.scenario and schedule == trace.actions


def test_a_key_given_twice_in_a_saved_file_is_refused(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"schema": 1, "holds": ["rcu"], "action": "munmap", "holds": []}')
    with pytest.raises(ValueError, match=r"s\.json: field 'holds' is given twice"):
        load_scenario(path)


def test_a_bad_schedule_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"schema": 1, "holds": ["vma_lock"], "action": "munmap", "schedule": ["walker", "munmap", "munmap"]}))
    with pytest.raises(ValueError, match=r"s\.json: schedule step 3: munmap cannot move now"):
        load_scenario(path)


def test_saved_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        save_scenario(tmp_path / "s.json", make_scenario("rcu", "munmap"))
        save_trace(tmp_path / "t.json", run(make_scenario("rcu", "munmap")))
    finally:
        os.umask(old)
    for name in ("s.json", "t.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640  # 0o666 & ~umask, not mkstemp's 0o600


def test_saving_onto_a_directory_says_so(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        save_scenario(tmp_path, make_scenario("rcu", "munmap"), overwrite=True)
    with pytest.raises(TypeError, match=r"save_trace\(\) takes a Trace"):
        save_trace(tmp_path / "t.json", make_scenario("rcu", "munmap"))
