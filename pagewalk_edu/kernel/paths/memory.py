"""Zapping and freeing page tables: mm/memory.c (unmap_vmas, zap_pte_range,
free_pgtables → free_pgd_range), mm/huge_memory.c (zap_huge_pmd)."""

from __future__ import annotations


from ..geometry import Level
from ..free_pgd import FreeOp, free_pgtables
from ..pgtable import Entry, Life, set_entry, unlink_table
from ..program import instruction
from ..steps import Taken, deref, free_tables, pmd_lock, pmd_lock_name, pte_lock, release_spin
from ..vma import unmap_bounds
from ..zap import pte_table_empty, reclaim_pt_is_enabled, zap_ptes, zap_targets
from .base import go
from .mmu_gather import tlb_remove_table
from .pt_reclaim import FreePte, TryToFreePte
from .tlb import flush_ipis

# The instructions this file runs (kernel/program.py).
UnmapVmas = instruction("unmap_vmas", "start", "end", "reclaim")
ZapPageRangeSingleBatched = instruction("zap_page_range_single_batched", "start", "end", "reclaim")
Zap = instruction("zap", "kind", "pte", "pmd", "index", "start", "end", "reclaim")
ZapUnlock = instruction("zap_unlock", "lock")
FreePgtables = instruction("free_pgtables", "start", "end")
FreeTable = instruction("free_table", "caller", "free_function", "level", "tid", "parent", "index", "start", "end")


def zap_instructions(tables, geo, start: int, end: int, reclaim: bool) -> tuple:
    """zap_pmd_range() over [start, end): one Zap per PMD entry, in order
    (also what the sequential runner, kernel/sequential.py, pushes)."""
    return tuple(Zap(t.function, t.pte_tid, t.pmd_tid, t.pmd_index, t.start, t.end, reclaim)
                 for t in zap_targets(tables, geo, start, end))


def free_pgtables_plan(tables, geo, vmas, start: int, end: int) -> tuple[int, int, list[FreeOp]]:
    """free_pgtables() after munmap() of [start, end): (floor, ceiling, the
    tables to free in order) for the VMAs there that vms_gather_munmap_vmas()
    detached, gathered as mm/memory.c gathers them (free_pgd.free_pgtables())."""
    floor, ceiling = unmap_bounds(vmas, start, end)
    unmapped = [(v.start, v.end) for v in vmas if v.detached and start <= v.start and v.end <= end]
    return floor, ceiling, free_pgtables(tables, geo, unmapped, floor, ceiling)


def _unmap_vmas(ctx, state, a, op):
    """unmap_vmas() (munmap, mremap) or zap_page_range_single_batched()
    (MADV_DONTNEED, with details->reclaim_pt when PT_RECLAIM is set) →
    zap_pmd_range(): one zap per PMD entry in the range."""
    function, start, end, reclaim = op
    zaps = zap_instructions(state.tables, ctx.geo, start, end, reclaim)
    return go(state, a, function,
              f"{function}() zaps [{start:#x}, {end:#x}): {len(zaps)} PMD entr{'y' if len(zaps) == 1 else 'ies'} to visit",
              f"mm/memory.c: {function}", call=zaps)


def _zap(ctx, state, a, op):
    _, function, pte, pmd, idx, start, end, reclaim = op
    if function == "zap_huge_pmd":
        return _zap_huge_pmd(ctx, state, a, pmd, idx)
    # zap_pte_range(): pte_offset_map_lock() on the PMD entry, then clear the PTEs.
    state, _ = deref(ctx, state, a.name, pmd, "zap_pte_range")
    if state.tables[pmd].get(idx) != Entry("table", pte):
        return go(state, a, "zap_pte_range", f"zap_pte_range(): the PMD entry no longer points to PTE table #{pte}; nothing to zap",
                  "mm/memory.c: zap_pte_range")
    got = pte_lock(state, a, pte, "zap_pte_range")
    if not isinstance(got, Taken):
        return got
    state, a, lock = got
    state, _ = deref(ctx, state, a.name, pte, "zap_pte_range")
    before = len(state.tables[pte].entries)
    state = state.but(tables=zap_ptes(state.tables, ctx.geo, pte, start, end))
    zapped = before - len(state.tables[pte].entries)
    text = f"zap_pte_range() under the ptl clears {zapped} PTE{'s' if zapped != 1 else ''} of PTE table #{pte}"
    changes = [f"zap:{pte}"]
    src = "mm/memory.c: zap_pte_range"
    can_reclaim = reclaim_pt_is_enabled(start, end, reclaim)
    then: tuple = ()
    if can_reclaim and pte_table_empty(state.tables, pte):
        pml = pmd_lock_name(pmd)
        if not state.lock_holder(pml):
            # try_get_and_clear_pmd(): spin_trylock(pml) succeeds; clear the PMD under the ptl.
            state = state.but(tables=unlink_table(state.tables, pmd, idx, pte))
            text += f"; the table is empty and the zap covered all of it: try_get_and_clear_pmd() clears the PMD entry (PT_RECLAIM)"
            changes.append(f"detached:{pte}")
            then = (FreePte(pte),)
        else:
            text += "; spin_trylock() of the PMD lock fails: try_to_free_pte() will retry with pmd_lock()"
            then = (TryToFreePte(pte, pmd, idx),)
    if ctx.fault == "gather_batch_full" and zapped:
        # __tlb_remove_folio_pages() reports the gather batch full: force_flush.
        # "Do the actual TLB flush before dropping ptl": tlb_flush_mmu_tlbonly()
        # runs with the ptl held, and its IPIs wait for every CPU in mm_cpumask().
        state, call, how, ch = flush_ipis(ctx, state, a, (ZapUnlock(lock),) + then,
                                          "flush_tlb_func", "native_flush_tlb_multi")
        text += ("; the mmu_gather batch is full (force_flush): tlb_flush_mmu_tlbonly() flushes before the ptl "
                 f"is dropped: {how}")
        return go(state, a, "zap_pte_range", text, src, *changes, *ch, call=call, flush=True)
    state = release_spin(state, a, lock)
    return go(state, a, "zap_pte_range", text, src, *changes, call=then, flush=a.get("flush") or zapped > 0)


def _zap_unlock(ctx, state, a, op):
    """zap_pte_range() after a forced flush: pte_unmap_unlock() drops the ptl."""
    lock = op[1]
    state = release_spin(state, a, lock)
    return go(state, a, "pte_unmap_unlock", "zap_pte_range(): the forced TLB flush is done; pte_unmap_unlock() drops the ptl",
              "mm/memory.c: zap_pte_range", f"unlock:{lock}")


def _zap_huge_pmd(ctx, state, a, pmd, idx):
    got = pmd_lock(state, a, pmd, "zap_huge_pmd")
    if not isinstance(got, Taken):
        return got
    state, a, lock = got
    state = state.but(tables=set_entry(state.tables, pmd, idx, None))
    text = f"zap_huge_pmd() clears the THP mapped by entry {idx} of PMD table #{pmd}"
    changes = [f"zap:{pmd}:{idx}"]
    leaf_base = state.tables[pmd].base + idx * ctx.geo.entry_span(Level.PMD)
    for t in state.tables:
        if t.deposited and t.life == Life.DETACHED and t.base == leaf_base:
            # zap_deposited_table(): pgtable_trans_huge_withdraw() then pte_free(): no RCU.
            state = free_tables(state, (t.tid,), "zap_deposited_table → pte_free")
            text += f"; zap_deposited_table() frees the deposited PTE table #{t.tid} with pte_free()"
            changes.append(f"freed:{t.tid}")
    state = release_spin(state, a, lock)
    return go(state, a, "zap_huge_pmd", text, "mm/huge_memory.c: zap_huge_pmd", *changes, flush=True)


def _free_pgtables(ctx, state, a, op):
    """free_pgtables() → free_pgd_range(addr, end, floor, ceiling)."""
    _, start, end = op
    floor, ceiling, ops = free_pgtables_plan(state.tables, ctx.geo, state.vmas, start, end)
    frees = tuple(FreeTable(*o) for o in ops)
    ceil_txt = f"{ceiling:#x}" if ceiling else "USER_PGTABLES_CEILING"
    kept = "" if ops else "; no table lies wholly inside: none is freed"
    text = (f"free_pgtables() → free_pgd_range([{start:#x}, {end:#x}), floor {floor:#x}, ceiling {ceil_txt}): "
            f"{len(ops)} table{'s' if len(ops) != 1 else ''} to free{kept}")
    return go(state, a, "free_pgtables", text, "mm/memory.c: free_pgd_range", call=frees)


def _free_table(ctx, state, a, op):
    _, function, free_function, level, tid, parent, index, start, end = op
    tables = unlink_table(state.tables, parent, index, tid)
    state = state.but(tables=tables)
    clear = {Level.PTE: "pmd_clear", Level.PMD: "pud_clear", Level.PUD: "p4d_clear", Level.P4D: "pgd_clear"}[Level(level)]
    lead = (f"{function}(): {clear}() unlinks {Level(level).name} table #{tid} "
            f"[{start:#x}, {end:#x}) from table #{parent}; {free_function}()")
    state, a, call, tail, changes = tlb_remove_table(ctx, state, a, tid)
    return go(state, a, function, lead + tail, f"mm/memory.c: {function}", f"detached:{tid}", *changes, call=call, flush=True)


OPS = {
    UnmapVmas: _unmap_vmas,
    ZapPageRangeSingleBatched: _unmap_vmas,
    Zap: _zap,
    ZapUnlock: _zap_unlock,
    FreePgtables: _free_pgtables,
    FreeTable: _free_table,
}
