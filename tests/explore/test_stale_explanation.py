"""A `why` credits a stale read to what protected it at that read's level:
an upper-level read (PUD, PMD) happens before __pte_offset_map() takes its own
rcu_read_lock() and before any ptl is held (mm/pagewalk.c folio_walk_start(),
mm/pgtable-generic.c __pte_offset_map_lock()), so only the walker's own
protection can have held the grace period open there; and what catches the
read is what the walker did next, not always pmd_same()."""

import pytest

from pagewalk_edu.explore import verdict
from pagewalk_edu.explore.properties import stops
from pagewalk_edu.explore.search import bfs
from pagewalk_edu.explore.stale import stale_reads
from pagewalk_edu.kernel.sim import initial, make_ctx
from pagewalk_edu.scenarios import named

OWN_RCU = "CPU0's rcu_read_lock() (the walker's own)"
MAP_RCU = "pte_offset_map()'s rcu_read_lock() on CPU0"
SPIN = "CPU0's spinlock"
IRQS = "CPU0's IRQs-off section"


def _lines(name):
    why = verdict(named(name).scenario).why
    gp = next(w for w in why if "held open" in w)
    stale = next(w for w in why if w.startswith("CPU0 can read"))
    return gp, stale


def _reads(name):
    ctx = make_ctx(named(name).scenario, None)
    g = bfs(ctx, initial(ctx), stop=stops(ctx))
    return ctx, g, stale_reads(ctx, g)


def test_a_pmd_level_stale_read_is_credited_to_the_walkers_own_rcu_only():
    ctx, g, reads = _reads("rcu+mremap")
    assert {g.root.tables[tid].level.name for tid, *_ in reads} == {"PMD"}, "mremap frees the old PMD table only"
    gp, stale = _lines("rcu+mremap")
    assert OWN_RCU in gp
    assert MAP_RCU not in gp and SPIN not in gp, gp
    # the lesson's interleaving: pmdp_get_lockless() reads the emptied old PMD entry and the walk ends
    assert "pmdp_get_lockless() or __pte_offset_map() finds the entry none, so folio_walk_start() returns NULL" in stale
    assert "spin_lock()" not in stale, "no ptl inside a PMD table is taken"


def test_pmd_same_is_named_for_a_pmd_level_read_only_where_an_interleaving_has_it():
    ctx, g, reads = _reads("rcu+mremap")
    fns = {e.function for _, _, e, _ in reads}
    _, stale = _lines("rcu+mremap")
    assert ("pmd_same()" in stale) == ("pmd_same" in fns)
    assert "pmd_same" in fns, "a walker already at the PTE level re-reads the old PMD entry in pmd_same()"


def test_a_pte_level_stale_read_is_credited_to_pte_offset_maps_rcu_when_the_walker_holds_no_rcu():
    gp, stale = _lines("vma_lock+retract_page_tables")
    assert MAP_RCU in gp and OWN_RCU not in gp, gp
    assert SPIN not in gp, "the walker reaches the ptl only after pte_offset_map()'s rcu_read_lock()"
    assert "spin_lock() takes the ptl inside it" in stale and "pmd_same() finds that the PMD entry changed" in stale


def test_an_irqs_off_walker_spinning_on_the_stale_ptl_is_not_said_to_take_it():
    stale = next(w for w in verdict(named("seed-patch-local/retract_page_tables").scenario).why if w.startswith("CPU0 can read"))
    assert "spin_lock() spins on the ptl inside it" in stale and "takes the ptl" not in stale
    assert "each such read is caught" not in stale


@pytest.mark.parametrize("name", ["rcu+mremap", "rcu+munmap", "vma_lock+retract_page_tables", "vma_lock+madv_dontneed",
                                  "irqs_off+munmap", "irqs_off+retract_page_tables/remote", "rcu+munmap_partial"])
def test_what_a_why_credits_was_held_at_every_stale_read(name):
    ctx, g, reads = _reads(name)
    assert reads
    gp, _ = _lines(name)
    own = 1 if "rcu" in ctx.holds else 0
    for tid, src, e, _ in reads:
        cpu = src.cpus[src.actor("walker").cpu]
        if OWN_RCU in gp:
            assert own and cpu.rcu >= 1, (name, e.function)
        if MAP_RCU in gp:
            assert cpu.rcu > own, (name, e.function, tid)
        if SPIN in gp:
            assert cpu.preempt, (name, e.function, tid)
        if IRQS in gp:
            assert cpu.irqs_off, (name, e.function, tid)


def test_a_read_that_returns_a_page_is_not_called_caught():
    stale = next(w for w in verdict(named("none+khugepaged_collapse").scenario).why if w.startswith("CPU0 can read"))
    assert "ptep_get() finds a page there, and folio_walk_start() returns it with the ptl held" in stale
    assert "each such read is caught" not in stale


def test_a_deposited_table_is_not_said_to_be_never_freed():
    why = verdict(named("vma_lock+khugepaged_collapse").scenario).why
    line = next(w for w in why if "pgtable_trans_huge_deposit()" in w)
    assert "never freed" not in line and "zap_deposited_table()" in line


def test_a_deadlock_explanation_credits_no_grace_period_to_reads_that_only_deadlock():
    why = verdict(named("seed-patch-local/retract_page_tables").scenario).why
    assert not any("held open" in w for w in why), "the reads that spin on the stale ptl never reach pte_free_defer()"
    assert "pte_free_now() freed PTE table #4 only after the walker had finished with it." in why
    assert why[-1].startswith("Deadlock: walker spins in spin_lock() on the ptl of PTE table #4")
