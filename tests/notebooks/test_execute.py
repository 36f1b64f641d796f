"""Every lesson runs top to bottom headless, and its key outputs hold."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def execute(path: Path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def text_of(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") or "".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


def test_there_is_a_lesson():
    assert NOTEBOOKS, "notebooks/ holds the course"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_without_error(path):
    nb = execute(path)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", (path.name, o.get("ename"), o.get("evalue"))


def test_start_here_states_what_the_explorer_finds():
    from pagewalk_edu.explore import verdict
    from pagewalk_edu.scenarios import named

    nb = execute(ROOT / "notebooks" / "00-start-here.ipynb")
    text = text_of(nb)
    assert "munmap waits in vma_start_write()" in text, "the short trace shows munmap blocked by the walker's VMA lock"
    for name in ("none+munmap", "vma_lock+munmap"):
        v = verdict(named(name).scenario)
        assert f"{name:16s} -> {v.verdict:15s} ({v.states} states)" in text
    assert verdict(named("none+munmap").scenario).verdict == "unsafe"
    assert verdict(named("vma_lock+munmap").scenario).verdict == "safe"


def _verdict(*args, **kw):
    from pagewalk_edu.explore import verdict
    from pagewalk_edu.kernel import make_scenario

    return verdict(make_scenario(*args, **kw)).verdict


def test_lessons_state_what_the_explorer_finds():
    """Each lesson's key claim matches the explorer, computed here independently."""
    t03 = text_of(execute(ROOT / "notebooks" / "03-munmap-free-pgtables.ipynb"))
    assert f"verdict: {_verdict('none', 'munmap_adjacent')}" in t03
    assert f"vma_lock  {_verdict('vma_lock', 'munmap_partial')}" in t03
    t05 = text_of(execute(ROOT / "notebooks" / "05-thp-collapse.ipynb"))
    assert f"the explorer says {_verdict('irqs_off', 'retract_page_tables')}" in t05
    assert _verdict("irqs_off", "retract_page_tables") == "deadlock"
    t06 = text_of(execute(ROOT / "notebooks" / "06-rcu-irqs-ipis.ipynb"))
    assert f"the explorer says {_verdict('rcu', 'munmap', config='PT_RECLAIM=n', fault='batch_alloc_fail')}" in t06
    assert "rcu_read_lock() does not block IPIs" in t06
    for action, fault in (("madv_dontneed", "gather_batch_full"), ("retract_page_tables", None)):
        for walker in ("local", "remote"):
            v = _verdict("vma_lock,irqs_off", action, walker=walker, fault=fault)
            assert f"{action:20s} {walker:6s} fault={str(fault):17s} {v}" in t06


def test_lesson_06_stores_an_explorer_widget():
    nb = execute(ROOT / "notebooks" / "06-rcu-irqs-ipis.ipynb")
    views = [o for c in nb.cells for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, "the Explorer widget is displayed"


def test_shipped_notebooks_carry_no_outputs():
    """The notebooks are the lessons' only source and ship without outputs: no answer is on screen before
    the learner predicts it (the docs build executes them)."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for i, c in enumerate(nb.cells):
            if c.cell_type == "code":
                assert not c.get("outputs") and c.get("execution_count") is None, f"{path.name} cell {i} carries outputs"
        assert "widgets" not in nb.metadata, f"{path.name} carries saved widget state"


def test_no_generator_writes_the_lessons():
    """One source per lesson: nothing in tools/ writes notebooks (an edit in JupyterLab is the edit)."""
    for tool in (ROOT / "tools").glob("*.py"):
        text = tool.read_text(encoding="utf-8")
        assert "new_notebook(" not in text, f"{tool.name} generates notebooks"


def test_every_lesson_has_objectives_time_recap_and_sources():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "You will learn to" in text and "Time:" in text and "Prerequisites" in text, path.name
        assert "Recap" in text and ".c:" in text, path.name
        assert "Predict" in text, path.name
