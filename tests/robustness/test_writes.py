"""Nothing a user saved is lost or clobbered: every file the package writes
goes through files.write_atomic() (temporary file, fsync, link or rename).

The concurrency cases run here too: two writers at once, a kill during a
write, a full file system (a small tmpfs mounted inside the test when root).
No test writes to a device node: /dev/null is checked to be refused before
anything is opened for writing."""

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from pagewalk_edu import cli, files
from pagewalk_edu.files import FileError, TargetExists, write_atomic
from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.saved import load_scenario, save_scenario, save_trace

ROOT = Path(__file__).resolve().parents[2]
T = ("trace", "--holds", "rcu", "--action", "munmap")
ROOTED = hasattr(os, "geteuid") and os.geteuid() == 0


def _env(**extra):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.update(extra)
    return env


def _cli(*args, timeout=120, **env):
    return subprocess.run([sys.executable, "-m", "pagewalk_edu", *args], capture_output=True, text=True,
                          timeout=timeout, env=_env(**env))


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- the target must be a regular file or absent -----------------------------------------------


@pytest.mark.parametrize("opt,force", [("--save", False), ("--save", True), ("--svg", True), ("--png", True)])
def test_a_fifo_is_refused_at_once_and_stays_a_fifo(tmp_path, opt, force):
    fifo = tmp_path / ("t.json" if opt == "--save" else f"v-tree.{opt[2:]}")
    os.mkfifo(fifo)
    target = str(fifo) if opt == "--save" else str(tmp_path / "v")
    p = _cli(*T, opt, target, *(["--force"] if force else []), timeout=60)  # opening the FIFO would block
    assert p.returncode == 2
    assert "not a regular file" in _one_line(p.stderr)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@contextmanager
def _writes_recorded(monkeypatch):
    """Every os.open, os.link, os.rename and os.replace the code makes."""
    calls = []
    for name in ("open", "link", "rename", "replace"):
        real = getattr(os, name)

        def spy(*a, _real=real, _name=name, **k):
            calls.append((_name, a))
            return _real(*a, **k)

        monkeypatch.setattr(os, name, spy)
    yield calls


def test_dev_null_is_refused_before_anything_is_opened_for_writing(monkeypatch, capsys):
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with _writes_recorded(monkeypatch) as calls:
        with pytest.raises(ValueError, match=r"^/dev/null: not a regular file"):
            write_atomic("/dev/null", "x", overwrite=True)
        with pytest.raises(ValueError, match="not a regular file"):
            save_scenario("/dev/null", make_scenario("rcu", "munmap"), overwrite=True)
        assert cli.main([*T, "--save", "/dev/null", "--force"]) == 2
    touched = [c for c in calls if any(str(a).startswith("/dev") for a in c[1][:2])]
    assert touched == [], "nothing under /dev was opened, linked or renamed"
    assert "not a regular file" in _one_line(capsys.readouterr().err)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_symlink_to_a_file_is_followed_and_never_replaced(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    with pytest.raises(TargetExists, match="link.json exists"):
        save_scenario(link, make_scenario("rcu", "munmap"))
    assert real.read_text() == "old"
    p = _cli(*T, "--save", str(link), "--force")
    assert p.returncode == 0, p.stderr
    assert link.is_symlink() and os.readlink(link) == str(real), "the link itself is kept"
    assert json.loads(real.read_text())["kind"] == "trace", "its target got the new content"


@pytest.mark.parametrize("force", [False, True])
def test_a_dangling_or_looping_symlink_is_refused_and_kept(tmp_path, force):
    dangling = tmp_path / "d.json"
    dangling.symlink_to(tmp_path / "gone" / "x.json")
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    for link, words in ((dangling, "which does not exist"), (loop, "loops")):
        before = os.readlink(link)
        p = _cli(*T, "--save", str(link), *(["--force"] if force else []))
        assert p.returncode == 2 and words in _one_line(p.stderr)
        assert link.is_symlink() and os.readlink(link) == before
    assert not (tmp_path / "gone").exists()


def test_a_folder_with_a_trailing_slash_is_never_written_as_a_file(tmp_path):
    for target in (tmp_path / "newdir", tmp_path):
        p = _cli(*T, "--save", f"{target}/")
        assert p.returncode == 2 and "ends with '/'" in _one_line(p.stderr)
    assert not (tmp_path / "newdir").exists()
    with pytest.raises(ValueError, match="ends with '/'"):
        write_atomic(f"{tmp_path}/new/", "x")


# --- creating a name fails atomically when it exists -------------------------------------------


def test_two_saves_to_one_new_name_never_clobber_each_other(tmp_path):
    """100 tries of two writers at once: each time exactly one wins and the
    file holds the winner's bytes; the other is told the file exists."""
    for i in range(100):
        path = tmp_path / f"s{i}.json"
        barrier = threading.Barrier(2)
        outcome = {}

        def save(who):
            barrier.wait()
            try:
                write_atomic(path, who * 10_000)
                outcome[who] = "wrote"
            except FileExistsError:
                outcome[who] = "exists"

        threads = [threading.Thread(target=save, args=(w,)) for w in "ab"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcome.values()) == ["exists", "wrote"], outcome
        winner = next(w for w, o in outcome.items() if o == "wrote")
        assert path.read_text() == winner * 10_000
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_creating_a_name_uses_link_so_a_late_rival_is_not_replaced(tmp_path, monkeypatch):
    """The name appears between the check and the final step: link(2) fails."""
    path = tmp_path / "s.json"
    real_fsync = os.fsync

    def rival_meanwhile(fd):
        real_fsync(fd)
        if not path.exists():
            path.write_text("rival")

    monkeypatch.setattr(os, "fsync", rival_meanwhile)
    with pytest.raises(TargetExists, match="exists"):
        save_scenario(path, make_scenario("rcu", "munmap"))
    assert path.read_text() == "rival"


KILLED = """
import os, sys, time
from pagewalk_edu import files
real = os.fsync
def stall(fd):
    real(fd)
    open(sys.argv[2], "w").close()  # tell the test: the data is written, the name not yet changed
    time.sleep(60)
os.fsync = stall
files.write_atomic(sys.argv[1], b"new" * 100_000, overwrite=sys.argv[3] == "1")
"""


@pytest.mark.parametrize("existed", [True, False])
def test_a_kill_during_a_write_leaves_the_old_file_and_no_empty_one(tmp_path, existed):
    path = tmp_path / "s.json"
    if existed:
        path.write_text("old and good")
    marker = tmp_path.parent / f"{tmp_path.name}-ready"
    child = subprocess.Popen([sys.executable, "-c", KILLED, str(path), str(marker), "1" if existed else "0"],
                             env=_env())
    deadline = time.monotonic() + 60
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), "the writer reached its fsync"
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    if existed:
        assert path.read_text() == "old and good"
    else:
        assert not path.exists(), "no empty file under the target's name"
    assert all(p.stat().st_size > 0 for p in tmp_path.iterdir()), "no 0-byte file anywhere"
    save_scenario(path, make_scenario("rcu", "munmap"), overwrite=existed)  # the retry works
    assert load_scenario(path)[0] == make_scenario("rcu", "munmap")


def test_ctrl_c_during_a_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    path.write_text("old")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"] and path.read_text() == "old"


@pytest.fixture
def full_tmpfs():
    """A 2 MiB tmpfs, mounted for the test (root only)."""
    if not ROOTED or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root and mount(8); CI runs this as root")
    where = Path(tempfile.mkdtemp(prefix="pagewalk-full-"))
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)
        where.rmdir()


def test_a_full_disk_keeps_the_old_files_and_says_so_in_one_line(full_tmpfs):
    good = full_tmpfs / "s.json"
    save_scenario(good, make_scenario("rcu", "munmap"))
    before = good.read_bytes()
    with pytest.raises(FileError, match="no space left on device"):
        write_atomic(good, b"x" * (4 << 20), overwrite=True)
    assert good.read_bytes() == before
    # --svg and --png: the previous good images stay, no 0-byte file blocks the retry
    p = _cli(*T, "--png", str(full_tmpfs / "v"))
    assert p.returncode == 0, p.stderr
    images = {q.name: q.read_bytes() for q in full_tmpfs.glob("v-*.png")}
    filler = full_tmpfs / "filler"
    with open(filler, "wb", buffering=0) as f:  # fill the file system to the last block
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as err:
            assert err.errno == errno.ENOSPC
    p = _cli(*T, "--svg", str(full_tmpfs / "v"), "--png", str(full_tmpfs / "v"), "--force")
    assert p.returncode == 2 and "no space left on device" in _one_line(p.stderr)
    assert {q.name: q.read_bytes() for q in full_tmpfs.glob("v-*.png")} == images
    assert not [q for q in full_tmpfs.iterdir() if q.stat().st_size == 0]
    # a full stdout: quietly nonzero
    with open(full_tmpfs / "out.txt", "w") as out:
        q = subprocess.run([sys.executable, "-m", "pagewalk_edu", "matrix"], stdout=out, stderr=subprocess.PIPE,
                           text=True, env=_env(), timeout=120)
    assert q.returncode == 1 and q.stderr == ""
    filler.unlink()


# --- what the system refuses: one line, the path and the reason in words ----------------------


def test_a_long_legal_name_is_saved_and_a_too_long_one_refused_in_one_line(tmp_path):
    for n in (242, 250, 255):
        path = tmp_path / ("s" * (n - 5) + ".json")
        save_scenario(path, make_scenario("rcu", "munmap"))
        assert load_scenario(path)[0] == make_scenario("rcu", "munmap")
    name = str(tmp_path / ("s" * 256))
    p = _cli(*T, "--save", name)
    assert p.returncode == 2 and "file name too long" in _one_line(p.stderr).lower()
    p = _cli(*T, "--svg", name)
    assert p.returncode == 2 and "file name too long" in _one_line(p.stderr).lower()


def test_a_path_through_a_file_is_one_line(tmp_path):
    (tmp_path / "plain").write_text("x")
    p = _cli(*T, "--save", str(tmp_path / "plain" / "t.json"))
    assert p.returncode == 2 and "is not a folder" in _one_line(p.stderr)


def test_a_folder_the_user_cannot_search_is_one_line():
    base = Path(tempfile.mkdtemp(prefix="pagewalk-locked-"))
    try:
        base.chmod(0o755)
        locked = base / "locked"
        locked.mkdir(mode=0o000)
        locked.chmod(0o000)
        target = str(locked / "t.json")
        if not ROOTED:
            with pytest.raises(FileError) as info:
                write_atomic(target, "x")
            message = str(info.value)
        else:  # root searches every folder: drop to nobody in a child first
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                os.close(r)
                try:
                    os.setgid(65534)
                    os.setuid(65534)
                    write_atomic(target, "x")
                    os.write(w, b"written")
                except BaseException as err:  # noqa: BLE001 - reported to the parent
                    os.write(w, f"{type(err).__name__}|{err}".encode())
                os._exit(0)
            os.close(w)
            with os.fdopen(r, "rb") as f:
                report = f.read().decode()
            os.waitpid(pid, 0)
            kind, _, message = report.partition("|")
            assert kind == "FileError", report
        assert message == f"cannot write {target}: permission denied"
    finally:
        (base / "locked").chmod(0o700)
        shutil.rmtree(base)


def test_a_closed_stdout_exits_quietly_with_a_nonzero_status():
    p = subprocess.Popen([sys.executable, "-m", "pagewalk_edu", "matrix"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=_env())
    p.stdout.close()  # the reader leaves at once, as `| head -0` would
    err = p.stderr.read().decode()
    assert p.wait(120) == 1
    assert err == ""


SLOW = """
import pathlib, time
from pagewalk_edu import cli
def slow(args):
    print("started", flush=True)
    pathlib.Path({marker!r}).write_text("ready")
    time.sleep(60)
cli.cmd_verdict = slow
"""


def test_ctrl_c_exits_130_with_at_most_one_line(tmp_path):
    marker = tmp_path / "ready"
    (tmp_path / "sitecustomize.py").write_text(SLOW.format(marker=str(marker)))
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    p = subprocess.Popen([sys.executable, "-m", "pagewalk_edu", "verdict", "--holds", "rcu", "--action", "munmap"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130
    assert len(err.strip().splitlines()) <= 1 and "Traceback" not in err, err


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
                                                                   "PYTHONCOERCECLOCALE": "0"}])
def test_a_non_utf8_stdout_gets_ascii_spellings(env):
    for args in (("trace", "--holds", "none", "--action", "munmap"), ("verdict", "--holds", "none", "--action", "munmap"),
                 ("matrix",), ("tables", str(ROOT / "pagewalk_edu" / "scenarios" / "tables" / "dontneed-whole.json"))):
        p = subprocess.run([sys.executable, "-m", "pagewalk_edu", *args], capture_output=True, env=_env(**env),
                           timeout=120)
        assert p.returncode == 0, p.stderr
        assert p.stdout.isascii() and p.stdout.strip()
    trace = subprocess.run([sys.executable, "-m", "pagewalk_edu", "trace", "--holds", "none", "--action", "munmap"],
                           capture_output=True, env=_env(**env), timeout=120).stdout.decode()
    assert "free_pgtables() -> free_pgd_range(" in trace


def test_an_unwritable_home_adds_no_matplotlib_warnings(tmp_path):
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=_env()["PYTHONPATH"])
    p = subprocess.run([sys.executable, "-m", "pagewalk_edu", *T, "--png", str(tmp_path / "v")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert [line.split()[0] for line in p.stderr.splitlines()] == ["wrote", "wrote"], p.stderr
    p = subprocess.run([sys.executable, "-m", "pagewalk_edu", *T, "--png", str(tmp_path / "v"), "--kernel", "5.4"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2 and "unknown kernel profile" in _one_line(p.stderr)


def test_without_dot_svg_says_what_to_install_before_writing_anything(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    p = _cli(*T, "--svg", str(tmp_path / "v"), "--save", str(tmp_path / "t.json"), PATH=str(bare))
    assert p.returncode == 2
    line = _one_line(p.stderr)
    assert "Graphviz's `dot`" in line and "apt install graphviz" in line
    assert sorted(q.name for q in tmp_path.iterdir()) == ["bin"], "nothing written"


def test_the_explorer_save_goes_through_the_same_writer(tmp_path):
    from pagewalk_edu.widgets import Explorer

    fifo = tmp_path / "s.json"
    os.mkfifo(fifo)
    e = Explorer(("rcu",), "munmap", render=False)
    e.path.value = str(fifo)
    e.overwrite.value = True
    e.save_button.click()
    assert "not a regular file" in e.message.value
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    ok = tmp_path / "ok.json"
    e.path.value = str(ok)
    e.save_button.click()
    assert load_scenario(ok)[0].action == "munmap" and "Saved" in e.message.value


def test_save_trace_and_views_leave_no_temporary_files(tmp_path):
    save_trace(tmp_path / "t.json", run(make_scenario("rcu", "munmap")))
    p = _cli(*T, "--svg", str(tmp_path / "v"), "--png", str(tmp_path / "v"))
    assert p.returncode == 0, p.stderr
    assert sorted(q.name for q in tmp_path.iterdir()) == ["t.json", "v-timeline.png", "v-timeline.svg",
                                                          "v-tree.png", "v-tree.svg"]
    assert files.check_target(tmp_path / "new.json") == str(tmp_path / "new.json")


def test_without_hard_links_a_new_name_is_still_never_clobbered(tmp_path, monkeypatch):
    """A file system that refuses link(2) (FAT, some network mounts): the writer
    falls back to rename(2) with RENAME_NOREPLACE, which fails as atomically."""
    def no_links(*a, **k):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "s.json"
    write_atomic(path, "first")
    with pytest.raises(TargetExists):
        write_atomic(path, "second")
    assert path.read_text() == "first" and sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
    write_atomic(path, "third", overwrite=True)
    assert path.read_text() == "third"
