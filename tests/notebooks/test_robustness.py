"""Tutorial rooms re-run cells in any order: running a lesson twice, then its
cells again in a shuffled order, raises nothing and leaves the widgets working."""

import random
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def run(kc, code: str) -> list[dict]:
    errors = []

    def hook(msg):
        if msg["msg_type"] == "error":
            errors.append(msg["content"])

    reply = kc.execute_interactive(code, timeout=180, output_hook=hook)
    if reply["content"]["status"] == "error" and not errors:
        errors.append(reply["content"])
    return errors


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name[:2] in ("00", "02", "05", "06", "07") or p.name.startswith("tutorial")], ids=lambda p: p.name)
def test_cells_twice_and_out_of_order(kernel, path):
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    order = list(range(len(cells))) * 2
    shuffled = order[: len(cells)]
    random.Random(path.name).shuffle(shuffled)
    for i in order + shuffled:
        errs = run(kernel, cells[i])
        assert not errs, (path.name, i, [(e.get("ename"), e.get("evalue")) for e in errs])
    # the widgets still work after all that
    errs = run(kernel, """
from pagewalk_edu.widgets import Explorer
_e = Explorer(("rcu",), "munmap", render=False)
for _ in range(5):
    _e.step_button.click()
assert _e.index == 5, _e.index
_e.bug_button.click()
""")
    assert not errs, errs
