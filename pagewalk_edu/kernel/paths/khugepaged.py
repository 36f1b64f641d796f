"""THP collapse: mm/khugepaged.c (hpage_collapse_scan_pmd,
collapse_huge_page, retract_page_tables), mm/pgtable-generic.c
(pmdp_collapse_flush, pte_free_defer)."""

from __future__ import annotations

from dataclasses import replace

from ..geometry import Level
from ..pgtable import Entry, set_entry, set_table, unlink_table, walk_path
from ..program import instruction
from ..state import Actor
from ..steps import Taken, call_rcu, deref, lock_spin, might_sleep, pmd_lock, pmd_lock_name, pte_lock, ptl_name, release_spin
from ..vma import find_vma
from .base import go
from .mmap_lock import MmapReadUnlock
from .tlb import flush_ipis

# The instructions this file runs (kernel/program.py).
KhugepagedScanMmSlot = instruction("khugepaged_scan_mm_slot")
HpageCollapseScanPmd = instruction("hpage_collapse_scan_pmd", "addr")
HugepageVmaRevalidate = instruction("hugepage_vma_revalidate", "addr")
SpinLock = instruction("spin_lock", "which", "caller")
SpinUnlock = instruction("spin_unlock", "which", "also", defaults=(None,))
PmdpCollapseFlush = instruction("pmdp_collapse_flush", "mode")
CollapseHugePageIsolate = instruction("__collapse_huge_page_isolate")
SetPmdAt = instruction("set_pmd_at")
IMmapLockRead = instruction("i_mmap_lock_read")
IMmapUnlockRead = instruction("i_mmap_unlock_read")
FindPmdOrThpOrNone = instruction("find_pmd_or_thp_or_none", "addr")
PteFreeDefer = instruction("pte_free_defer")
CheckPmdState = instruction("check_pmd_state")
AnonVmaLockWrite = instruction("anon_vma_lock_write")
AnonVmaUnlockWrite = instruction("anon_vma_unlock_write")


#: Labels the khugepaged programs give (kernel/program.py Label).  NEXT_PMD:
#: before each KhugepagedScanMmSlot and at the end (khugepaged_scan_mm_slot()
#: goes on with the next PMD range).  OUT_UP_WRITE: collapse_huge_page()'s
#: `out_up_write:` label, before its mmap_write_unlock().  RETRACT_NEXT:
#: retract_page_tables()'s `continue` to the next VMA of the file, which in a
#: program of one VMA a PMD range is its i_mmap_unlock_read().
NEXT_PMD = "next_pmd"
OUT_UP_WRITE = "out_up_write"
RETRACT_NEXT = "retract_next_vma"


def _next_pmd(ctx, state, a, op):
    return go(state, a, "khugepaged_scan_mm_slot", "khugepaged_scan_mm_slot() moves on to the next PMD range",
              "mm/khugepaged.c: khugepaged_scan_mm_slot")


def locate(ctx, state, a, addr) -> tuple[int, int, int]:
    """The PMD table, entry index and PTE table (-1 if none) mapping `addr` now."""
    path = walk_path(state.tables, ctx.geo, addr)
    for step in path:
        if step.table.level == Level.PMD:
            e = step.entry
            return step.table.tid, step.index, (e.target if e is not None and e.is_table else -1)
    return -1, -1, -1


def saved_tables(a: Actor) -> tuple[int, int, int]:
    """The PMD table, entry index and PTE table that an earlier step of this
    actor found with locate() and kept (as the kernel keeps `pmd` and the
    `_pmd` value across collapse_huge_page())."""
    return a.get("pmd"), a.get("pmd_index"), a.get("pte")


def _hpage_collapse_scan_pmd(ctx, state, a, op):
    addr = op[1]
    pmd, idx, pte = locate(ctx, state, a, addr)
    if pte < 0:
        return go(state, a, "hpage_collapse_scan_pmd", "hpage_collapse_scan_pmd(): no PTE table to collapse",
                  "mm/khugepaged.c: hpage_collapse_scan_pmd", goto=NEXT_PMD, call=(MmapReadUnlock(),))
    got = pte_lock(state, a, pte, "hpage_collapse_scan_pmd")
    if not isinstance(got, Taken):
        return got
    state, a, lock = got
    state = release_spin(state, a, lock)
    return go(state, a, "hpage_collapse_scan_pmd",
              f"hpage_collapse_scan_pmd() scans PTE table #{pte} under its ptl: worth collapsing into a THP",
              "mm/khugepaged.c: hpage_collapse_scan_pmd")


def _hugepage_vma_revalidate(ctx, state, a, op):
    addr = op[1]
    vma = find_vma(state.vmas, addr)
    pmd, idx, pte = locate(ctx, state, a, addr)
    if vma is None or pte < 0:
        return go(state, a, "hugepage_vma_revalidate",
                  "hugepage_vma_revalidate(): the VMA or the PTE table is gone: give up (SCAN_VMA_CHECK)",
                  "mm/khugepaged.c: hugepage_vma_revalidate", goto=OUT_UP_WRITE)
    return go(state, a, "hugepage_vma_revalidate",
              f"hugepage_vma_revalidate(): VMA {vma.name} still there after retaking mmap_lock for write (the THP "
              "allocation and a first revalidation under the mmap read lock came before; they change no page table)",
              "mm/khugepaged.c: hugepage_vma_revalidate", pmd=pmd, pmd_index=idx, pte=pte)


def _lock_of(a: Actor, which: str) -> tuple[str, str]:
    if which == "pmd":
        return pmd_lock_name(a.get("pmd")), f"the PMD lock of PMD table #{a.get('pmd')}"
    return ptl_name(a.get("pte")), f"the ptl of PTE table #{a.get('pte')}"


def _spin_lock_op(ctx, state, a, op):
    which, function = op[1], op[2]
    lock, describe = _lock_of(a, which)
    if which == "ptl":
        state, _ = deref(ctx, state, a.name, a.get("pte"), function)
    got = lock_spin(state, a, lock, function, describe)
    if not isinstance(got, Taken):
        return got
    state, a, _ = got
    return go(state, a, function, f"{function}() takes {describe}", "include/linux/spinlock.h: spin_lock", f"lock:{lock}")


def _spin_unlock_op(ctx, state, a, op):
    names = []
    for which in (w for w in op[1:] if w):
        lock, describe = _lock_of(a, which)
        state = release_spin(state, a, lock)
        names.append(describe)
    return go(state, a, "spin_unlock", f"spin_unlock() of {' and '.join(names)}", "include/linux/spinlock.h: spin_unlock",
              *(f"unlock:{_lock_of(a, w)[0]}" for w in op[1:] if w))


def _pmdp_collapse_flush(ctx, state, a, op):
    """pmdp_collapse_flush(): clear the PMD entry and flush the TLB (flush_tlb_range)."""
    mode = op[1]  # "anon": the table will be deposited; "retract": pte_free_defer() follows
    pmd, idx, pte = saved_tables(a)
    counted = mode == "anon"  # retract_page_tables() does mm_dec_nr_ptes(); a deposited table stays counted
    tables = unlink_table(state.tables, pmd, idx, pte, counted=counted)
    state = state.but(tables=tables)
    state, call, how, ch = flush_ipis(ctx, state, a, (), "flush_tlb_func", "native_flush_tlb_multi")
    held = ", with the PMD lock and the ptl held" if mode == "retract" else ", with the PMD lock held"
    return go(state, a, "pmdp_collapse_flush",
              f"pmdp_collapse_flush() clears entry {idx} of PMD table #{pmd} (PTE table #{pte} is detached) and flushes the TLB{held}: {how}",
              "mm/pgtable-generic.c: pmdp_collapse_flush", f"detached:{pte}", *ch, call=call)


def _collapse_isolate(ctx, state, a, op):
    """pte_offset_map_lock() on the saved _pmd, __collapse_huge_page_isolate(), copy."""
    pte = a.get("pte")
    lock = ptl_name(pte)
    state, _ = deref(ctx, state, a.name, pte, "__collapse_huge_page_isolate")
    got = lock_spin(state, a, lock, "__collapse_huge_page_isolate", f"the ptl of the old PTE table #{pte}")
    if not isinstance(got, Taken):
        return got
    state, a, _ = got
    state = release_spin(state, a, lock)
    return go(state, a, "__collapse_huge_page_isolate",
              f"__collapse_huge_page_isolate() under the old table's ptl (via the saved PMD value), then the pages are copied into the THP",
              "mm/khugepaged.c: __collapse_huge_page_isolate")


def _set_huge_pmd(ctx, state, a, op):
    pmd, idx, pte = saved_tables(a)
    got = pmd_lock(state, a, pmd, "pmd_lock")
    if not isinstance(got, Taken):
        return got
    state, a, lock = got
    tables = set_entry(state.tables, pmd, idx, Entry("leaf", 1 << 21))
    tables = set_table(tables, replace(tables[pte], deposited=True))
    state = release_spin(state.but(tables=tables), a, lock)
    return go(state, a, "set_pmd_at",
              f"under pmd_lock(): pgtable_trans_huge_deposit() keeps the old PTE table #{pte} (not freed); "
              f"set_pmd_at() maps the THP at entry {idx} of PMD table #{pmd}",
              "mm/khugepaged.c: collapse_huge_page", f"deposited:{pte}")


def _i_mmap_lock_read(ctx, state, a, op):
    state = might_sleep(state, a, "i_mmap_lock_read")
    return go(state, a, "i_mmap_lock_read",
              "i_mmap_lock_read(): walk mapping->i_mmap; no mmap_lock and no VMA lock of the mm is taken",
              "mm/khugepaged.c: retract_page_tables")


def _i_mmap_unlock_read(ctx, state, a, op):
    return go(state, a, "i_mmap_unlock_read", "i_mmap_unlock_read()", "mm/khugepaged.c: retract_page_tables")


def _find_pmd_or_thp_or_none(ctx, state, a, op):
    addr = op[1]
    for step in walk_path(state.tables, ctx.geo, addr):
        state, _ = deref(ctx, state, a.name, step.table.tid, "find_pmd_or_thp_or_none")
    pmd, idx, pte = locate(ctx, state, a, addr)
    if pte < 0:
        return go(state, a, "find_pmd_or_thp_or_none", "find_pmd_or_thp_or_none(): no PTE table here; skip this VMA",
                  "mm/khugepaged.c: find_pmd_or_thp_or_none", goto=RETRACT_NEXT)
    return go(state, a, "find_pmd_or_thp_or_none",
              f"find_pmd_or_thp_or_none() walks down without locks to entry {idx} of PMD table #{pmd} → PTE table #{pte}",
              "mm/khugepaged.c: find_pmd_or_thp_or_none", pmd=pmd, pmd_index=idx, pte=pte)


def _pte_free_defer(ctx, state, a, op):
    pte = a.get("pte")
    state = call_rcu(state, a.name, "pte_free_now", (pte,))
    return go(state, a, "pte_free_defer",
              f"mm_dec_nr_ptes(); pte_free_defer() hands PTE table #{pte} to call_rcu(pte_free_now)",
              "mm/pgtable-generic.c: pte_free_defer", f"rcu_pending:{pte}")


def _check_pmd_state(ctx, state, a, op):
    """retract_page_tables(): under the PMD lock, check_pmd_state() re-reads the
    entry; the ptl then comes from it (pte_lockptr()), not from the lockless look."""
    pmd, idx, pte = saved_tables(a)
    if state.tables[pmd].get(idx) != Entry("table", pte):
        state = release_spin(state, a, pmd_lock_name(pmd))
        return go(state, a, "check_pmd_state",
                  f"check_pmd_state(): entry {idx} of PMD table #{pmd} no longer points to PTE table #{pte}; drop the PMD lock",
                  "mm/khugepaged.c: retract_page_tables", goto=RETRACT_NEXT)
    return go(state, a, "check_pmd_state",
              f"check_pmd_state(): under the PMD lock entry {idx} of PMD table #{pmd} still points to PTE table #{pte}; "
              "its ptl is pte_lockptr() of that entry", "mm/khugepaged.c: retract_page_tables")


def _anon_vma_lock(ctx, state, a, op):
    """collapse_huge_page(): anon_vma_lock_write() after vma_start_write(), dropped
    once __collapse_huge_page_isolate() has isolated and locked every page."""
    if isinstance(op, AnonVmaLockWrite):
        state = might_sleep(state, a, "anon_vma_lock_write")
        text = "anon_vma_lock_write(): rmap walkers of this anon_vma (page migration, reclaim) are kept out while the PMD is cleared"
    else:
        text = "anon_vma_unlock_write(): every page is isolated and locked, so anon_vma rmap walks can no longer reach them"
    return go(state, a, op[0], text, "mm/khugepaged.c: collapse_huge_page")


OPS = {
    KhugepagedScanMmSlot: _next_pmd,
    AnonVmaLockWrite: _anon_vma_lock,
    CheckPmdState: _check_pmd_state,
    AnonVmaUnlockWrite: _anon_vma_lock,
    HpageCollapseScanPmd: _hpage_collapse_scan_pmd,
    HugepageVmaRevalidate: _hugepage_vma_revalidate,
    SpinLock: _spin_lock_op,
    SpinUnlock: _spin_unlock_op,
    PmdpCollapseFlush: _pmdp_collapse_flush,
    CollapseHugePageIsolate: _collapse_isolate,
    SetPmdAt: _set_huge_pmd,
    IMmapLockRead: _i_mmap_lock_read,
    IMmapUnlockRead: _i_mmap_unlock_read,
    FindPmdOrThpOrNone: _find_pmd_or_thp_or_none,
    PteFreeDefer: _pte_free_defer,
}
