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
    from pagewalk_edu.kernel import make_scenario

    nb = execute(ROOT / "notebooks" / "00-start-here.ipynb")
    text = text_of(nb)
    assert "USE-AFTER-FREE" in text
    assert "waits in vma_start_write()" in text
    for holds in ("none", "vma_lock", "rcu"):
        v = verdict(make_scenario(holds, "munmap"))
        assert f"{holds:9s} -> {v.verdict:15s}" in text
