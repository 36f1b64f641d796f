"""Run every row of the bad-input catalogue (docs/bad-inputs.md)."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pagewalk_edu.kernel import Geometry, KernelConfig, Scenario, make_scenario, run
from pagewalk_edu.kernel.sim import initial, make_ctx, step
from pagewalk_edu.explore import verdict
from pagewalk_edu.saved import load_trace, parse_json, save_scenario, save_trace
from pagewalk_edu.viz.text import state_text
from pagewalk_edu.viz.tree import tree

from .cases import CASES, markdown

ROOT = Path(__file__).resolve().parents[2]


def _cli(tmp_path, case):
    names = {}
    for key, content in case.files.items():  # a key with a dot is the file's whole name
        p = tmp_path / (key if "." in key else f"{key}.json")
        if content is None:  # a named pipe
            os.mkfifo(p)
        elif content.startswith("->"):  # a symbolic link
            p.symlink_to(content[2:])
        else:
            p.write_text(content)
        names[key] = str(p)
    args = [a.format(dir=tmp_path, **{k: v for k, v in names.items() if "." not in k}) for a in case.args]
    before = {k: _what_is_there(v) for k, v in names.items()}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    p = subprocess.run([sys.executable, "-m", "pagewalk_edu", *args], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env=env)
    after = {k: _what_is_there(v) for k, v in names.items()}
    assert before == after, "a bad input must never change the user's files"
    return p


def _what_is_there(path: str):
    """A file's content, a FIFO as such, a link and where it points: never opened if not a regular file."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISFIFO(st.st_mode):
        return ("fifo",)
    return Path(path).read_text()


@pytest.mark.parametrize("case", [c for c in CASES if c.surface in ("cli", "file", "tables")], ids=lambda c: c.id)
def test_cli_bad_input(tmp_path, case):
    p = _cli(tmp_path, case)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("pagewalk-edu tables: error: " if case.surface == "tables" else "pagewalk-edu: error: "), lines[0]
    assert case.expect in lines[0]
    assert "Traceback" not in p.stderr


def _api(case, tmp_path):
    what, kw = case.args
    if what == "make_scenario":
        make_scenario(**{"holds": "rcu", "action": "munmap", **kw})
    elif what == "KernelConfig":
        KernelConfig(**kw)
    elif what == "Geometry":
        Geometry(**kw)
    elif what == "Scenario":
        Scenario(**kw)
    elif what == "step":
        ctx = make_ctx(make_scenario("rcu", "munmap"))
        step(ctx, initial(ctx), kw["name"])
    elif what == "step_blocked":
        s = make_scenario("vma_lock", "munmap")
        t = run(s, ["walker", "munmap"], then_default=False)
        step(t.ctx, t.last, "munmap")
    elif what == "pop":
        run(make_scenario("rcu", "munmap"), [], then_default=False).pop()
    elif what == "load_edited":
        t = run(make_scenario("none", "munmap"))
        path = tmp_path / "t.json"
        save_trace(path, t)
        d = json.loads(path.read_text())
        d["fingerprints"][3] = "0" * 16
        path.write_text(json.dumps(d))
        load_trace(path)
    elif what == "verdict":
        verdict(**kw)
    elif what == "save_scenario":
        path = tmp_path if kw.get("path") == "." else tmp_path / "s.json"  # ".": the folder itself
        save_scenario(path, kw.get("scenario", make_scenario("rcu", "munmap")))
    elif what == "tree":
        tree(None, None)
    elif what == "state_text":
        t = run(make_scenario("rcu", "munmap"))
        state_text(t.ctx, t.last)
    elif what == "parse_json":
        parse_json(kw["text"])
    elif what in ("Explorer", "Quiz", "Matrix"):
        from pagewalk_edu import widgets

        getattr(widgets, what)(**kw, **({} if what == "Quiz" else {"render": False}))
    elif what == "save_exists":
        path = tmp_path / "s.json"
        path.write_text("mine")
        try:
            save_scenario(path, make_scenario("rcu", "munmap"))
        finally:
            assert path.read_text() == "mine"
    elif what == "save_special":  # refused before anything is opened for writing
        path = kw["kind"]
        if path == "fifo":
            path = tmp_path / "p.fifo"
            os.mkfifo(path)
        mode = os.stat(path).st_mode
        try:
            save_scenario(path, make_scenario("rcu", "munmap"), overwrite=True)
        finally:
            assert os.stat(path).st_mode == mode and not stat.S_ISREG(mode)
    else:  # pragma: no cover
        raise AssertionError(what)


@pytest.mark.parametrize("case", [c for c in CASES if c.surface == "api"], ids=lambda c: c.id)
def test_api_bad_input(tmp_path, case):
    with pytest.raises((ValueError, TypeError, FileExistsError)) as info:
        _api(case, tmp_path)
    msg = str(info.value)
    assert case.expect in msg
    assert "\n" not in msg


def _widget(case, tmp_path):
    """Run a widget row; return (message shown, settings before, settings after)."""
    from pagewalk_edu.widgets import Explorer, Matrix, Quiz

    what, kw = case.args
    if what == "quiz_twice":
        q = Quiz(seed=3)
        q.reveal_button.click()
        q.reveal_button.click()
        return q.feedback.value, q.score.value, q.score.value
    if what == "matrix_config":
        m = Matrix(render=False)
        m.cfg.pt_reclaim.value = True
        m.cfg.rcu_free.value = False
        before = (m.cfg.pt_reclaim.value, m.cfg.rcu_free.value)
        list(m.cells.values())[0].click()
        return m.message.value, before, (m.cfg.pt_reclaim.value, m.cfg.rcu_free.value)
    e = Explorer(("rcu",), "mremap", render=False)
    e.step_button.click()
    settings = lambda: (tuple(b.value for b in e.holds.values()), e.action.value, e.cfg.rcu_free.value, e.cfg.pt_reclaim.value, e.index)
    if what == "explorer_config":
        e.cfg.pt_reclaim.value = True
        e.cfg.rcu_free.value = False
        before, shown = settings(), e.message.value
        assert e.step_button.disabled, "the step controls are greyed while the settings are impossible"
        e.step_button.click()  # refused, with a message; nothing the learner set is lost
        after = settings()
        assert after[4] == before[4] and "impossible combination" in e.message.value
        return shown, before[:4], after[:4]
    before = settings()
    if what == "load":
        path = tmp_path / "in.json"
        if kw["text"] is not None:
            path.write_text(kw["text"])
        e.path.value = str(path)
        e.load_button.click()
    elif what == "save_exists":
        path = tmp_path / "mine.json"
        path.write_text("keep me")
        e.path.value = str(path)
        e.save_button.click()
        assert path.read_text() == "keep me"
    elif what == "save_fifo":
        path = tmp_path / "p.fifo"
        os.mkfifo(path)
        e.path.value = str(path)
        e.overwrite.value = True
        e.save_button.click()
        assert stat.S_ISFIFO(os.lstat(path).st_mode)
        e.overwrite.value = False
    elif what == "save_no_dir":
        e.path.value = str(tmp_path / "missing" / "s.json")
        e.save_button.click()
    return e.message.value, before, settings()


@pytest.mark.parametrize("case", [c for c in CASES if c.surface == "widget"], ids=lambda c: c.id)
def test_widget_bad_input(tmp_path, case):
    import html

    shown, before, after = _widget(case, tmp_path)
    assert case.expect in html.unescape(shown), shown
    assert "Traceback" not in shown
    assert before == after, "the learner's settings stay as they were"


def test_catalogue_has_at_least_40_distinct_cases():
    assert len({c.id for c in CASES}) == len(CASES) >= 40


def test_docs_table_is_the_catalogue():
    doc = (ROOT / "docs" / "bad-inputs.md").read_text()
    assert doc == markdown(), "regenerate: python -m tests.robustness.cases > docs/bad-inputs.md"
