"""One test per rule the concurrent simulator encodes, each named after the kernel
function it stands for.  They drive the stepping API (make_scenario, run, outcome)
the way the CLI and the widgets do, and read what the steps did."""

from __future__ import annotations


from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.kernel.pgtable import Life
from pagewalk_edu.kernel.sim import Trace, blocked, outcome
from pagewalk_edu.kernel.steps import Blocked, Moved


def advance(trace: Trace, actor: str, function: str, limit: int = 80, irqs: bool = False) -> Trace:
    """Move `actor` until its step is `function` (assert it gets there); with
    `irqs`, CPU0 takes the IPIs the actor waits for on the way."""
    for _ in range(limit):
        o = outcome(trace.ctx, trace.last, actor)
        if irqs and isinstance(o, Blocked) and isinstance(outcome(trace.ctx, trace.last, "irq0"), Moved):
            trace.push("irq0")
            continue
        assert isinstance(o, Moved), f"{actor} cannot move before {function}(): {o}"
        trace.push(actor)
        if trace.events[-1].function == function:
            return trace
    raise AssertionError(f"{actor} never ran {function}()")


def start(holds="none", action="munmap", **kw) -> Trace:
    return run(make_scenario(holds, action, **kw), [], then_default=False)


def functions(trace: Trace, actor: str | None = None) -> list[str]:
    return [e.function for e in trace.events if actor is None or e.actor == actor]


def waits(trace: Trace, actor: str) -> Blocked:
    o = outcome(trace.ctx, trace.last, actor)
    assert isinstance(o, Blocked), f"{actor} is not blocked: {o}"
    return o


# --- the walker: mm/pagewalk.c, mm/pgtable-generic.c ---------------------------------


def test_folio_walk_start_reads_upper_levels_with_no_lock_and_no_rcu():
    t = advance(start(), "walker", "pmdp_get_lockless")
    assert functions(t) == ["pgd_offset", "pudp_get", "pmdp_get_lockless"]
    assert t.last.cpus[0].rcu == 0 and not t.last.locks_held_by("walker")


def test_pte_offset_map_takes_rcu_itself_and_pte_unmap_drops_it():
    t = advance(start(), "walker", "__pte_offset_map")
    assert t.last.cpus[0].rcu == 1, "__pte_offset_map(): rcu_read_lock() before reading the PMD"
    t2 = start()
    while isinstance(outcome(t2.ctx, t2.last, "walker"), Moved):
        t2.push("walker")
    assert t2.last.actors[0].done and t2.last.cpus[0].rcu == 0, "folio_walk_end() → pte_unmap(): rcu_read_unlock()"


def test_pte_offset_map_lock_rechecks_pmd_same_and_retries():
    """__pte_offset_map_lock(): the PMD changed between the map and the ptl → retry."""
    t = advance(start("none", "madv_dontneed"), "walker", "__pte_offset_map")
    advance(t, "madvise", "zap_pte_range")  # PT_RECLAIM clears the PMD entry
    assert any(c.startswith("detached:") for c in t.events[-1].changes)
    advance(t, "walker", "pmd_same")
    assert "fails" in t.events[-1].text or "retry" in t.events[-1].text
    assert t.last.stale, "the walker read the unlinked table: stale, not freed"
    while isinstance(outcome(t.ctx, t.last, "walker"), Moved):
        t.push("walker")
    assert t.last.actors[0].done and not t.last.uaf


def test_vma_assert_locked_lock_vma_under_rcu_takes_a_vma_read_lock():
    t = advance(start("vma_lock"), "walker", "lock_vma_under_rcu")
    a = next(v for v in t.last.vmas if v.name == "A")
    assert a.readers == {"walker"} and not a.writer and "vma_start_read()" in t.events[-1].text


def test_mmap_read_lock_is_a_sleeping_lock_after_irqs_off_is_a_bug():
    """might_sleep() in down_read(): "sleeping function called from invalid context"."""
    t = run(make_scenario("irqs_off,mmap_lock", "munmap"))
    assert any("sleeping function called from invalid context" in b for b in t.last.bugs)
    t = run(make_scenario("mmap_lock,irqs_off", "munmap"))
    assert not t.last.bugs


# --- per-VMA locks: include/linux/mmap_lock.h -----------------------------------------


def test_vma_start_write_waits_for_vma_readers():
    t = advance(start("vma_lock"), "walker", "lock_vma_under_rcu")
    advance(t, "munmap", "mmap_write_lock_killable")
    b = waits(t, "munmap")
    assert b.function == "vma_start_write" and "VMA" in b.reason


def test_lock_vma_under_rcu_fails_on_a_write_locked_vma_and_falls_back_to_mmap_lock():
    t = advance(start("vma_lock"), "munmap", "vma_start_write")
    t.push("walker")
    e = t.events[-1]
    assert e.function == "lock_vma_under_rcu" and "mmap_read_lock" in e.text
    assert isinstance(outcome(t.ctx, t.last, "walker"), Blocked), "the fallback mmap_read_lock() waits for the writer"


def test_vma_end_write_all_at_mmap_write_downgrade():
    t = advance(start(), "munmap", "mmap_write_downgrade")
    assert "vma_end_write_all" in t.events[-1].text
    assert t.last.mmap_writer == "" and "munmap" in t.last.mmap_readers


# --- munmap: mm/vma.c, mm/memory.c ------------------------------------------------------


def test_munmap_downgrades_before_unmap_vmas_and_free_pgtables():
    t = run(make_scenario("none", "munmap"), ["munmap"] * 12, then_default=False)
    f = functions(t, "munmap")
    assert f.index("mmap_write_downgrade") < f.index("unmap_vmas") < f.index("free_pgtables")


def test_free_pgd_range_floor_and_ceiling_keep_a_neighbours_tables():
    t = advance(start("none", "munmap_adjacent"), "munmap", "free_pgtables")
    assert "floor" in t.events[-1].text and "ceiling" in t.events[-1].text
    t = run(make_scenario("none", "munmap_adjacent"))
    walked = {int(c.split(":")[1]) for e in t.events if e.actor == "walker" for c in e.changes if c.startswith("read:")}
    freed = {int(c.split(":")[1]) for e in t.events for c in e.changes if c.startswith("freed:")}
    assert walked and not walked & freed


def test_split_vma_is_write_locked_too():
    t = run(make_scenario("none", "munmap_partial"), ["munmap"] * 6, then_default=False)
    assert "__split_vma" in functions(t, "munmap") and "vma_start_write" in functions(t, "munmap")


# --- the mmu_gather: mm/mmu_gather.c ----------------------------------------------------


def test_tlb_remove_table_rcu_frees_only_after_a_grace_period():
    t = run(make_scenario("rcu", "munmap"))
    freeing = [e for e in t.events if any(c.startswith("freed:") for c in e.changes)]
    assert freeing and all(e.actor == "rcu_cb" and "tlb_remove_table_rcu() frees" in e.text for e in freeing)
    first_free = t.events.index(freeing[0])
    assert any(e.function == "rcu_gp_cleanup" for e in t.events[:first_free])


def test_without_rcu_table_free_tables_are_freed_right_after_the_tlb_flush():
    t = run(make_scenario("irqs_off", "munmap", config="PT_RECLAIM=n,MMU_GATHER_RCU_TABLE_FREE=n"))
    f = functions(t, "munmap")
    assert f.index("tlb_flush_mmu_tlbonly") < f.index("tlb_batch_pages_flush")
    assert not any(e.function == "rcu_gp_init" for e in t.events)


def test_tlb_remove_table_one_with_pt_reclaim_uses_call_rcu():
    t = run(make_scenario("rcu", "munmap", fault="batch_alloc_fail"))
    assert "tlb_remove_table_one" in functions(t, "munmap")
    assert not t.last.uaf and any(e.function == "__tlb_remove_table_one_rcu" or "__tlb_remove_table_one_rcu" in e.text
                                  for e in t.events)


def test_tlb_remove_table_sync_one_ipis_then_frees_at_once_v618():
    t = run(make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"))
    f = functions(t, "munmap")
    i = f.index("tlb_remove_table_sync_one")
    assert "__tlb_remove_table" in f[i:]
    assert any(e.function == "tlb_remove_table_smp_sync" and e.actor == "irq0" for e in t.events)


def test_tlb_remove_table_sync_rcu_waits_for_a_grace_period_v71():
    t = run(make_scenario("rcu", "munmap", kernel="7.1", config="PT_RECLAIM=n", fault="batch_alloc_fail"))
    f = functions(t, "munmap")
    assert "tlb_remove_table_sync_rcu" in f and "synchronize_rcu" in f
    assert not t.last.uaf


# --- IPIs and RCU: kernel/smp.c, Documentation/RCU ---------------------------------------


def test_an_ipi_is_not_taken_while_irqs_are_off():
    t = advance(start("irqs_off", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"), "walker", "local_irq_disable")
    advance(t, "munmap", "tlb_table_invalidate")
    assert not isinstance(outcome(t.ctx, t.last, "irq0"), Moved)
    assert "IRQs disabled" in waits(t, "munmap").reason


def test_rcu_read_lock_does_not_block_an_ipi():
    t = advance(start("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"), "walker", "rcu_read_lock")
    advance(t, "munmap", "tlb_table_invalidate")
    assert isinstance(outcome(t.ctx, t.last, "irq0"), Moved)


def test_a_grace_period_waits_for_rcu_readers_and_irqs_off_cpus():
    """Since the v4.20 RCU consolidation a grace period waits for rcu_read_lock()
    sections and for IRQ-disabled regions alike."""
    for holds, why in (("rcu", "rcu_read_lock"), ("irqs_off", "IRQs")):
        t = advance(start(holds, "munmap"), "munmap", "tlb_table_flush", irqs=True)  # call_rcu() queued
        advance(t, "walker", "pgd_offset")  # CPU0 now in rcu_read_lock() / IRQs off
        while isinstance(outcome(t.ctx, t.last, "rcu_gp"), Moved):
            t.push("rcu_gp")
        b = waits(t, "rcu_gp")
        assert "CPU0" in b.reason and why in b.reason, b.reason
        assert not any(c.startswith("freed:") for e in t.events for c in e.changes)


def test_flush_tlb_mm_range_skips_a_remote_walkers_cpu():
    t = run(make_scenario("irqs_off", "munmap", walker="remote", config="PT_RECLAIM=n,MMU_GATHER_RCU_TABLE_FREE=n"))
    assert not any(e.actor == "irq0" and e.function == "flush_tlb_func" for e in t.events)


def test_broadcast_tlb_flush_sends_no_ipi():
    t = run(make_scenario("irqs_off", "munmap", config="PT_RECLAIM=n,MMU_GATHER_RCU_TABLE_FREE=n,TLB_FLUSH=broadcast"))
    assert not any(e.actor.startswith("irq") for e in t.events)
    assert any("INVLPGB" in e.text for e in t.events)


# --- MADV_DONTNEED and PT_RECLAIM: mm/madvise.c, mm/pt_reclaim.c ------------------------


def test_madv_dontneed_takes_the_vma_read_lock_not_the_mmap_lock():
    t = advance(start("vma_lock", "madv_dontneed"), "walker", "lock_vma_under_rcu")
    advance(t, "madvise", "lock_vma_under_rcu")
    assert "try_vma_read_lock()" in t.events[-1].text
    assert not t.last.mmap_readers and not t.last.mmap_writer, "no mmap_lock: two VMA readers do not exclude each other"


def test_try_get_and_clear_pmd_reclaims_a_wholly_zapped_table_only_with_pt_reclaim():
    on = run(make_scenario("none", "madv_dontneed"))
    assert any("try_get_and_clear_pmd" in e.text for e in on.events)
    off = run(make_scenario("none", "madv_dontneed", config="PT_RECLAIM=n"))
    assert not any(c.startswith(("detached:", "freed:")) for e in off.events for c in e.changes)


# --- THP collapse: mm/khugepaged.c --------------------------------------------------------


def test_collapse_huge_page_deposits_the_old_table():
    t = run(make_scenario("none", "khugepaged_collapse"))
    assert "pmdp_collapse_flush" in functions(t, "khugepaged")
    assert not any(c.startswith("freed:") for e in t.events for c in e.changes)
    assert any(tb.deposited for tb in t.last.tables)


def test_collapse_huge_page_write_locks_the_vma():
    t = advance(start("vma_lock", "khugepaged_collapse"), "walker", "lock_vma_under_rcu")
    while isinstance(outcome(t.ctx, t.last, "khugepaged"), Moved):
        t.push("khugepaged")
    assert waits(t, "khugepaged").function == "vma_start_write"


def test_retract_page_tables_takes_no_mmap_or_vma_lock_and_frees_by_pte_free_defer():
    t = run(make_scenario("mmap_lock", "retract_page_tables"))
    f = functions(t, "khugepaged")
    assert "i_mmap_lock_read" in f and "pte_free_defer" in f
    assert not any(x.startswith(("mmap_", "vma_start_write")) for x in f)
    assert any(e.actor == "rcu_cb" and "pte_free_now() frees" in e.text for e in t.events), "pte_free_defer() → call_rcu(pte_free_now)"


def test_pte_free_defer_is_rcu_even_without_rcu_table_free():
    t = run(make_scenario("none", "retract_page_tables", config="PT_RECLAIM=n,MMU_GATHER_RCU_TABLE_FREE=n"))
    assert any(e.actor == "rcu_cb" and "pte_free_now() frees" in e.text for e in t.events) and not t.last.uaf


def test_retract_page_tables_flushes_under_the_ptl_and_deadlocks_an_irqs_off_spinner():
    """pmdp_collapse_flush() under the PMD lock and the ptl waits for CPU0's IPI while
    CPU0 spins on that ptl with IRQs off: neither can move (kernel-facts §10)."""
    t = advance(start("irqs_off", "retract_page_tables"), "walker", "__pte_offset_map")
    advance(t, "khugepaged", "pmdp_collapse_flush")
    assert "ptl held" in t.events[-1].text
    while isinstance(outcome(t.ctx, t.last, "walker"), Moved):
        t.push("walker")
    assert waits(t, "walker").mechanism == "spin"
    assert waits(t, "khugepaged").mechanism == "ipi"
    assert not isinstance(outcome(t.ctx, t.last, "irq0"), Moved)


# --- zap_pte_range() force_flush: mm/memory.c ----------------------------------------------


def test_zap_pte_range_force_flush_holds_the_ptl_across_the_tlb_flush():
    t = advance(start("none", "munmap", fault="gather_batch_full"), "munmap", "zap_pte_range")
    assert "force_flush" in t.events[-1].text
    assert any(lock.startswith("ptl") for lock in t.last.locks_held_by("munmap")), "the ptl is still held"
    assert waits(t, "munmap").function == "native_flush_tlb_multi"
    t.push("irq0")
    t.push("munmap")
    advance(t, "munmap", "pte_unmap_unlock")
    assert not any(lock.startswith("ptl") for lock in t.last.locks_held_by("munmap"))
    plain = advance(start("none", "munmap"), "munmap", "zap_pte_range")
    assert "force_flush" not in plain.events[-1].text
    assert not any(lock.startswith("ptl") for lock in plain.last.locks_held_by("munmap")), "without it the ptl is dropped first"


# --- mremap: mm/mremap.c ---------------------------------------------------------------------


def test_move_normal_pmd_moves_the_pte_table_under_both_pmd_locks():
    t = run(make_scenario("none", "mremap"))
    f = functions(t, "mremap")
    assert f[:2] == ["mmap_write_lock_killable", "vma_start_write"], "mremap excludes VMA readers first"
    e = next(e for e in t.events if e.function == "move_normal_pmd")
    assert "under both PMD locks" in e.text and "flush_tlb" in e.text, "the flush runs before the PMD locks drop"
    assert f.index("move_normal_pmd") < f.index("spin_unlock") < f.index("free_pgtables")
    moved = next(int(c.split(":")[1]) for e in t.events for c in e.changes if c.startswith("freed:"))
    assert t.last.tables[moved].life == Life.FREED and t.last.tables[moved].level.name == "PMD", \
        "the old range's emptied PMD table is freed by the unmap of the old range"
