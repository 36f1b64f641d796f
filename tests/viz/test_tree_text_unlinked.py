"""The tree's text/plain form (what a screen reader, a terminal or a notebook
without SVG shows) says what the drawing says about an unlinked table: its
range, its state ("deposited" included) and the entries the box still draws."""

import pytest

from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import run
from pagewalk_edu.scenarios import named
from pagewalk_edu.viz.model.tree import tree_model
from pagewalk_edu.viz.tree import tree

# lesson 01's picture: khugepaged alone, CPU0 answering its two flush IPIs
COLLAPSE = ["khugepaged"] * 9 + ["irq0"] + ["khugepaged"] * 3 + ["irq0"] + ["khugepaged"] * 5


def _traces():
    yield run(named("none+khugepaged_collapse").scenario, COLLAPSE, then_default=False)
    bug = named("none+munmap").scenario
    yield run(bug, verdict(bug).schedule, then_default=False)
    yield run(named("vma_lock+madv_dontneed").scenario)


def _unlinked_line(text: str, tid: int) -> str:
    return next(line for line in text.splitlines() if line.startswith("(unlinked) ") and f" table #{tid} " in line)


def test_deposited_table_is_named_with_its_entries_in_the_text_form():
    t = next(_traces())
    text = tree(t.ctx, t.last, legend=False)._repr_mimebundle_()["text/plain"]
    lines = text.splitlines()
    head = _unlinked_line(text, 4)
    assert head == "(unlinked) PTE table #4 [0x7f0000200000, 0x7f0000400000) detached deposited"
    below = lines[lines.index(head) + 1:lines.index(head) + 3]
    assert below == ["  [5] 0x7f0000205000: 4K page", "  [6] 0x7f0000206000: 4K page"]


@pytest.mark.parametrize("trace", list(_traces()), ids=["khugepaged_collapse", "none+munmap", "vma_lock+madv_dontneed"])
def test_every_unlinked_box_drawn_is_described_in_the_text_form(trace):
    checked = 0
    for i, state in enumerate(trace.states):
        m = tree_model(trace.ctx, state, trace=trace, index=i)
        linked = {e.dst for e in m.edges if e.kind == "live"}
        for node in m.tables:
            if node.tid == 0 or node.id in linked:
                continue
            head = _unlinked_line(m.alt, node.tid)
            assert f"[{node.lo:#x}, {node.hi:#x}) {node.life}" in head
            assert ("deposited" in head) == node.deposited
            lines = m.alt.splitlines()
            listed = lines[lines.index(head) + 1:]
            for row in node.rows:
                if row.what == "leaf":
                    assert any(line.startswith(f"  [{row.index}] {row.lo:#x}: ") for line in listed), (i, node.title, row)
            checked += 1
    assert checked, "no unlinked table was drawn in this trace"
