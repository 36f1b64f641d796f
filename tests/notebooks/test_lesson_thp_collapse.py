"""Lesson 05's claims, pinned on the scenarios it quotes: the retracted PTE
table is empty from the start and the PMD entry stays none, khugepaged's own
walk is step 7 of the Explorer, the deadlock is the one the lesson spells out
and the reveal's first line is about the other interleavings, a remote walker
and anonymous collapse do not deadlock, the scenario-name table matches the
scenarios, and neither prediction is given away by the cells before it."""

import re

from lessons import ROOT, is_reveal, read

from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.scenarios import named

LESSON = ROOT / "notebooks" / "05-thp-collapse.ipynb"


def _cells():
    return read(LESSON).cells


def _prose() -> str:
    return "\n".join(c.source for c in _cells() if c.cell_type == "markdown")


def _prose_before_reveal(n: int) -> str:
    """The markdown before the n-th reveal cell (0-based)."""
    out, seen = [], 0
    for c in _cells():
        if is_reveal(c):
            if seen == n:
                return "\n".join(out)
            seen += 1
        elif c.cell_type == "markdown":
            out.append(c.source)
    raise AssertionError(f"lesson 05 has no reveal {n}")


def test_the_retracted_table_is_empty_from_the_start_and_the_pmd_entry_stays_none():
    s = named("vma_lock+retract_page_tables").scenario
    t = run(s)
    geo = t.ctx.geo
    first = t.states[0]
    pmd = next(x for x in first.tables if x.level.name == "PMD")
    pte_tid = pmd.get(geo.index(pmd.level, t.ctx.walk_addr)).target
    assert first.tables[pte_tid].entries == (), "collapse_file() unmapped the small pages before the retract"
    last = t.last
    assert last.tables[pmd.tid].get(geo.index(pmd.level, t.ctx.walk_addr)) is None, "no THP is mapped by the retract"
    assert last.actor("walker").get("result") == "NULL"
    text = _prose()
    assert f"PTE table #{pte_tid} is empty from the start" in text and "the walked entry `[5]` is none" in text
    assert "stays none until a later page fault maps the THP" in text
    assert "finds the entry none and returns NULL" in text


def test_khugepageds_own_lockless_walk_is_step_7_of_the_explorer():
    from pagewalk_edu.widgets import Explorer

    e = Explorer(scenario="vma_lock+retract_page_tables", controls=("holds",))
    for _ in range(7):
        e.do_step()
    assert e.trace.events[6].function == "find_pmd_or_thp_or_none"
    assert e.trace.events[5].function == "i_mmap_lock_read", "it walks with i_mmap_rwsem held for read"
    text = _prose()
    assert "`find_pmd_or_thp_or_none()` (step 7)" in text
    assert "`i_mmap_rwsem` is what keeps those tables there" in text


def test_the_deadlock_is_the_one_the_lesson_spells_out():
    s = named("seed-patch-local/retract_page_tables").scenario
    v = verdict(s)
    assert v.verdict == "deadlock"
    last = run(s, v.schedule, then_default=False).last
    walker = last.actor("walker")
    assert walker.get("spinning") == "ptl:4" and last.lock_holder("ptl:4") == "khugepaged"
    assert last.cpus[walker.cpu].irqs_off
    assert any(i.sender == "khugepaged" and walker.cpu in i.pending for i in last.ipis)
    assert "khugepaged holds the ptl of PTE table #4 and sends the flush IPI" in _prose()
    # the first line of the reveal is about the interleavings without a deadlock
    assert v.why[0] == "pte_free_now() freed PTE table #4 only after the walker had finished with it."
    assert "The reveal's first line is about the\nother interleavings" in _prose()


def test_a_remote_walker_and_anonymous_collapse_do_not_deadlock():
    assert verdict(named("irqs_off+retract_page_tables/remote").scenario).verdict == "safe_but_stale"
    assert verdict(make_scenario("irqs_off", "khugepaged_collapse")).verdict == "safe_but_stale"
    text = _prose()
    assert "`irqs_off+retract_page_tables/remote`: **safe_but_stale**" in text
    assert "with IRQs off is not deadlocked by `khugepaged_collapse` (the cell below: safe_but_stale)" in text
    code = "\n".join(c.source for c in _cells() if c.cell_type == "code")
    assert 'make_scenario("irqs_off", "khugepaged_collapse")' in code


def test_the_scenario_name_table_says_what_each_scenario_is():
    text = _prose()
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|", text, flags=re.M)
    by_name = {name: (holds, walker) for name, holds, walker in rows}
    assert {"vma_lock+retract_page_tables", "irqs_off+retract_page_tables/remote", "seed-patch/6.18/default/mremap",
            "seed-review/7.1/default/mremap", "seed-patch-local/retract_page_tables"} <= set(by_name)
    words = {"vma_lock": "VMA lock", "irqs_off": "IRQs off", "rcu": "RCU"}
    for name, (holds, walker) in by_name.items():
        s = named(name).scenario
        assert re.match(r"\W*(\w+)", walker).group(1) == s.walker, (name, walker, s.walker)
        if name.startswith("seed-patch"):
            assert set(s.holds) == {"vma_lock", "irqs_off"}
        elif name.startswith("seed-review"):
            assert set(s.holds) == {"vma_lock", "rcu"} and "RCU" in holds
        else:
            assert all(words[h] in holds for h in s.holds), (name, holds)


def test_neither_prediction_is_given_away_by_the_cells_before_it():
    first = _prose_before_reveal(0)
    assert "call_rcu" not in first and "grace period" not in first.split("## Two ways to make a THP")[1], \
        "how pte_free_defer() frees is for the learner to work out"
    assert "`pte_free_defer()`" in first and "rechecked after the ptl is taken" in first, "the facts it needs"
    second = _prose_before_reveal(1)
    assert "*while holding both*" not in second and "waits for them" not in second
    order = "PMD lock, then the PTE table's ptl; `pmdp_collapse_flush()` (clear the PMD entry, TLB\n  flush); unlock both"
    assert order in second, "the lock order the deadlock follows from is stated plainly"


def test_the_lesson_says_what_the_kernel_does_with_a_deposited_table():
    text = _prose()
    assert "never freed" not in text
    recap = next(c.source for c in _cells() if c.source.startswith("## Recap"))
    assert "taken back as the PTE table if the THP is split, freed by zap_deposited_table() when the THP is unmapped" in recap
    assert "SINGLE_DEPTH_NESTING" not in text
    assert "[`anon_vma` lock](glossary.ipynb#cell-id=rmap-locks)" in text
    assert text.count("is the file's `i_mmap_rwsem`") == 1, "i_mmap_lock_read() and i_mmap_rwsem: said once"
