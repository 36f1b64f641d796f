"""The lines under the tree's VMA band tell the truth in every state: a VMA
said to be outside the drawn tables is mapped by none of them, and a VMA that
a drawn upper table maps but the band (which spans only the deepest drawn
tables) leaves out is named as such, with that table (mremap: the old VMA A
under the old PMD table, after move_normal_pmd() moved its PTE table away)."""

import pytest

from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import run
from pagewalk_edu.scenarios import named
from pagewalk_edu.viz.model.tree import tree_model
from pagewalk_edu.viz.svg.tree import notes, tree_svg_model

OUTSIDE = "VMAs outside the drawn tables: "
ASIDE = "VMAs under the drawn tables but off this band: "

#: single-mm traces whose drawn tables change: a move, frees, a split VMA, a retract, a collapse
SCENARIOS = ["none+mremap", "rcu+mremap", "none+munmap", "vma_lock+munmap_partial", "none+munmap_adjacent",
             "vma_lock+retract_page_tables", "none+khugepaged_collapse"]


def _trace(name):
    s = named(name).scenario
    v = verdict(s)
    return run(s, v.schedule, then_default=False) if v.schedule else run(s)


def _named_in(lines, head):
    line = next((x for x in lines if x.startswith(head)), None)
    if line is None:
        return set()
    body = line[len(head):]
    return {part.split(" (")[0] for part in body.split("; " if head == ASIDE else ", ")}


def _check(trace, i, m):
    state = trace.states[i]
    geo = trace.ctx.geo
    drawn = [state.tables[n.tid] for n in m.tables if n.tid != 0]
    lines = notes(m)
    outside, aside = _named_in(lines, OUTSIDE), _named_in(lines, ASIDE)
    on_band = {v.name for v in state.vmas if v.end > m.lo and v.start < m.hi}
    for v in state.vmas:
        mapped = [t for t in drawn if t.span(geo)[0] < v.end and v.start < t.span(geo)[1]]
        if v.name in on_band:
            assert v.name not in outside | aside, (i, v.name, lines)
        elif mapped:
            assert v.name in aside and v.name not in outside, (i, v.name, lines)
            line = next(x for x in lines if x.startswith(ASIDE))
            assert any(f"{t.level.name} #{t.tid}" in line for t in mapped), (i, v.name, line)
        else:
            assert v.name in outside and v.name not in aside, (i, v.name, lines)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_vma_lines_are_true_in_every_state_with_and_without_the_trace(name):
    trace = _trace(name)
    for i in range(len(trace.states)):
        _check(trace, i, tree_model(trace.ctx, trace.states[i]))
        _check(trace, i, tree_model(trace.ctx, trace.states[i], trace=trace, index=i))


def test_after_move_normal_pmd_the_old_vma_is_under_the_old_pmd_table_not_outside():
    trace = _trace("none+mremap")
    at = next(i for i, e in enumerate(trace.events, 1) if e.function == "move_normal_pmd")
    m = tree_model(trace.ctx, trace.states[at])
    lines = notes(m)
    assert _named_in(lines, OUTSIDE) == {"exe", "stack"}
    aside = next(x for x in lines if x.startswith(ASIDE))
    assert aside == ASIDE + "A (0x7f0000000000-0x7f0000200000, under PMD #2)"
    assert "PMD #2" in {n.title for n in m.tables}, "the table named is drawn"
    assert "off this band" in tree_svg_model(m, legend=False)
