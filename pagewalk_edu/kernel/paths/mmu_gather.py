"""How an unlinked table is freed: mm/mmu_gather.c (tlb_remove_table,
tlb_remove_table_one, tlb_remove_table_sync_one, tlb_finish_mmu,
tlb_flush_mmu_free), include/asm-generic/tlb.h."""

from __future__ import annotations

from dataclasses import replace

from ..pgtable import Life, set_life
from ..program import instruction
from ..state import Callback, State
from ..steps import Blocked, all_other_cpus, call_rcu, cpu_list, free_tables, might_sleep, send_ipi, table_list
from .base import go
from .tlb import WaitIpi, flush_ipis

# The instructions this file runs (kernel/program.py).
TlbTableInvalidate = instruction("tlb_table_invalidate")
TlbRemoveTableOne = instruction("tlb_remove_table_one", "tid")
WaitGp = instruction("wait_gp", "needed")
RemoveTableNow = instruction("__tlb_remove_table", "tid", "after")
TlbFinishMmu = instruction("tlb_finish_mmu")
TlbFlushMmuFree = instruction("tlb_flush_mmu_free")
TlbRemoveTableSyncOne = instruction("tlb_remove_table_sync_one")


def tlb_remove_table(ctx, state, a, tid):
    """pte_free_tlb()/pmd_free_tlb()/pud_free_tlb() on x86 → tlb_remove_table()
    with MMU_GATHER_RCU_TABLE_FREE, or tlb_remove_page() into the page batch
    without it.  Returns (state, actor, the sub-program to call, text, changes)."""
    if not ctx.config.MMU_GATHER_RCU_TABLE_FREE:
        a = a.set(batch=a.get("batch") + (tid,))
        return state, a, (), (": tlb_remove_page() puts it in the mmu_gather page batch, "
                                "to be freed right after the TLB flush"), ()
    if ctx.fault == "batch_alloc_fail":
        return state, a, (TlbTableInvalidate(), TlbRemoveTableOne(tid)), (": tlb_remove_table() cannot allocate its batch page "
                                "(__get_free_page(GFP_NOWAIT) fails)"), ("batch_alloc_fail",)
    a = a.set(batch=a.get("batch") + (tid,))
    return state, a, (), ": tlb_remove_table() adds it to the mmu_gather table batch", ()


def _tlb_table_invalidate(ctx, state, a, op):
    state, call, how, ch = flush_ipis(ctx, state, a, (), "flush_tlb_func", "native_flush_tlb_multi")
    return go(state, a, "tlb_table_invalidate",
              f"tlb_table_invalidate() → tlb_flush_mmu_tlbonly(): {how}", "mm/mmu_gather.c: tlb_table_invalidate", *ch, call=call)


def _tlb_remove_table_one(ctx, state, a, op):
    tid = op[1]
    if ctx.config.PT_RECLAIM:
        state = call_rcu(state, a.name, "__tlb_remove_table_one_rcu", (tid,))
        return go(state, a, "tlb_remove_table_one",
                  f"tlb_remove_table_one() → __tlb_remove_table_one() with PT_RECLAIM: call_rcu() on {table_list(state, (tid,))}'s pt_rcu_head",
                  "mm/mmu_gather.c: __tlb_remove_table_one", f"rcu_pending:{tid}")
    if table_sync_elided(ctx):
        state = free_tables(state, (tid,), "__tlb_remove_table (sync elided)")
        return go(state, a, "__tlb_remove_table",
                  f"tlb_remove_table_one() without PT_RECLAIM: tlb_remove_table_sync_"
                  f"{'one' if ctx.config.TABLE_FREE_FALLBACK == 'ipi' else 'rcu'}() returns at once, as "
                  "tlb_table_flush_implies_ipi_broadcast() says the TLB flush already IPIed (TABLE_SYNC=elide_native, "
                  f"not in a release); __tlb_remove_table() frees {table_list(state, (tid,))} at once",
                  "mm/mmu_gather.c: __tlb_remove_table_one", f"freed:{tid}")
    if ctx.config.TABLE_FREE_FALLBACK == "ipi":
        targets = all_other_cpus(ctx, a)
        state = state.but(tables=set_life(state.tables, tid, Life.IPI_PENDING))
        state = send_ipi(state, a, "tlb_remove_table_smp_sync", "tlb_remove_table_sync_one", targets)
        call = ((WaitIpi(),) if targets else ()) + (RemoveTableNow(tid, "tlb_remove_table_sync_one"),)
        return go(state, a, "tlb_remove_table_sync_one",
                  f"tlb_remove_table_one() without PT_RECLAIM (v6.18): tlb_remove_table_sync_one() IPIs every other CPU "
                  f"({cpu_list(targets)}) and waits; the table is freed as soon as they all answer",
                  "mm/mmu_gather.c: tlb_remove_table_sync_one", f"ipi_pending:{tid}", *(f"ipi:cpu{c}" for c in sorted(targets)),
                  call=call)
    # mainline 2026 (1fb3d8c20bfa): tlb_remove_table_sync_rcu() = synchronize_rcu().
    state = state.but(tables=set_life(state.tables, tid, Life.RCU_PENDING))
    needed = state.rcu.needed_for_new_callback()
    cb = Callback(needed, "wakeme_after_rcu", (), a.name)
    state = state.but(rcu=replace(state.rcu, callbacks=state.rcu.callbacks + (cb,)))
    state = might_sleep(state, a, "synchronize_rcu")
    return go(state, a, "tlb_remove_table_sync_rcu",
              "tlb_remove_table_one() without PT_RECLAIM (v7.1): tlb_remove_table_sync_rcu() calls synchronize_rcu() "
              "and sleeps until a full grace period has passed",
              "mm/mmu_gather.c: tlb_remove_table_sync_rcu", f"rcu_pending:{tid}",
              call=(WaitGp(needed), RemoveTableNow(tid, "tlb_remove_table_sync_rcu")))


def _wait_gp(ctx, state, a, op):
    needed = op[1]
    if state.rcu.gp_seq < needed:
        return Blocked(f"{a.name} sleeps in synchronize_rcu() until a grace period ends", "gp", "synchronize_rcu", a.name,
                       obj=f"grace period {needed}")
    return go(state, a, "synchronize_rcu", "synchronize_rcu() returns: the grace period has ended",
              "kernel/rcu/tree.c: synchronize_rcu")


def _remove_table_now(ctx, state, a, op):
    _, tid, after = op
    state = free_tables(state, (tid,), f"__tlb_remove_table (after {after})")
    return go(state, a, "__tlb_remove_table", f"__tlb_remove_table() frees {table_list(state, (tid,))} at once",
              "mm/mmu_gather.c: __tlb_remove_table_one", f"freed:{tid}")


def _tlb_finish_mmu(ctx, state, a, op):
    """tlb_finish_mmu() → tlb_flush_mmu(): tlb_flush_mmu_tlbonly(), then tlb_flush_mmu_free()."""
    if not a.get("flush"):
        return go(state, a, "tlb_finish_mmu", "tlb_finish_mmu(): nothing was gathered, nothing to flush",
                  "mm/mmu_gather.c: tlb_finish_mmu")
    batch = a.get("batch")
    changes: tuple[str, ...] = ()
    if batch and not ctx.config.MMU_GATHER_RCU_TABLE_FREE:
        tables = state.tables
        for tid in batch:
            tables = set_life(tables, tid, Life.IPI_PENDING)
        state = state.but(tables=tables)
        changes = tuple(f"ipi_pending:{t}" for t in batch)
    state, call, how, ch = flush_ipis(ctx, state, a, (TlbFlushMmuFree(),), "flush_tlb_func", "native_flush_tlb_multi")
    return go(state, a, "tlb_flush_mmu_tlbonly",
              f"tlb_finish_mmu() → tlb_flush_mmu_tlbonly() → flush_tlb_mm_range(): {how}",
              "arch/x86/mm/tlb.c: flush_tlb_mm_range", *changes, *ch, call=call, flush=False)


def _tlb_flush_mmu_free(ctx, state, a, op):
    batch = a.get("batch")
    if not batch:
        return go(state, a, "tlb_flush_mmu_free", "tlb_flush_mmu_free(): no page table in the batch",
                  "mm/mmu_gather.c: tlb_flush_mmu_free")
    if ctx.config.MMU_GATHER_RCU_TABLE_FREE:
        state = call_rcu(state, a.name, "tlb_remove_table_rcu", batch)
        return go(state, a, "tlb_table_flush",
                  f"tlb_flush_mmu_free() → tlb_table_flush(): call_rcu(tlb_remove_table_rcu) for {table_list(state, batch)}",
                  "mm/mmu_gather.c: tlb_table_flush", *(f"rcu_pending:{t}" for t in batch), batch=())
    state = free_tables(state, batch, "tlb_batch_pages_flush")
    return go(state, a, "tlb_batch_pages_flush",
              f"tlb_flush_mmu_free() → tlb_batch_pages_flush(): {table_list(state, batch)} freed now, right after the TLB flush",
              "mm/mmu_gather.c: tlb_batch_pages_flush", *(f"freed:{t}" for t in batch), batch=())


def table_sync_elided(ctx) -> bool:
    """tlb_table_flush_implies_ipi_broadcast() (Lance Yang's series, not in a
    release): x86 sets it for native flush_tlb_multi() without INVLPGB, so the
    sync IPI is skipped; a broadcast flush (INVLPGB) keeps it."""
    return ctx.config.TABLE_SYNC == "elide_native" and ctx.config.TLB_FLUSH == "ipi"


def sync_one(ctx, state, a, then: tuple = ()) -> tuple[State, tuple, str, str, list[str]]:
    """tlb_remove_table_sync_one(), the one copy of the rule (collapse_huge_page(),
    huge_pmd_unshare(), tlb_flush_unshared_tables() call it): an IPI to every
    other CPU and wait; an empty stub without MMU_GATHER_RCU_TABLE_FREE; skipped
    under TABLE_SYNC=elide_native.  Returns the state, the sub-program to call
    (the wait, then `then`), the sentence, its source and the changes."""
    if not ctx.config.MMU_GATHER_RCU_TABLE_FREE:
        # include/asm-generic/tlb.h: without MMU_GATHER_RCU_TABLE_FREE it is
        # `static inline void tlb_remove_table_sync_one(void) { }`: the TLB flush's
        # own IPIs are all the synchronisation there is.
        return (state, then, "tlb_remove_table_sync_one() is an empty stub without MMU_GATHER_RCU_TABLE_FREE: no IPI is sent",
                "include/asm-generic/tlb.h: tlb_remove_table_sync_one", [])
    if table_sync_elided(ctx):
        return (state, then, "tlb_remove_table_sync_one() returns at once: tlb_table_flush_implies_ipi_broadcast() says the "
                "TLB flush already IPIed every CPU that could walk this mm (TABLE_SYNC=elide_native, not in a release)",
                "mm/mmu_gather.c: tlb_remove_table_sync_one", [])
    targets = all_other_cpus(ctx, a)
    state = send_ipi(state, a, "tlb_remove_table_smp_sync", "tlb_remove_table_sync_one", targets)
    return (state, ((WaitIpi(),) if targets else ()) + then,
            f"tlb_remove_table_sync_one(): an IPI to every other CPU ({cpu_list(targets)}) and a wait, so that GUP-fast "
            "walkers with IRQs disabled have finished with the old table",
            "mm/mmu_gather.c: tlb_remove_table_sync_one", [f"ipi:cpu{c}" for c in sorted(targets)])


def _tlb_remove_table_sync_one(ctx, state, a, op):
    state, call, how, source, changes = sync_one(ctx, state, a)
    return go(state, a, "tlb_remove_table_sync_one", how, source, *changes, call=call)


OPS = {
    TlbTableInvalidate: _tlb_table_invalidate,
    TlbRemoveTableOne: _tlb_remove_table_one,
    WaitGp: _wait_gp,
    RemoveTableNow: _remove_table_now,
    TlbFinishMmu: _tlb_finish_mmu,
    TlbFlushMmuFree: _tlb_flush_mmu_free,
    TlbRemoveTableSyncOne: _tlb_remove_table_sync_one,
}
