"""The kernel paths that unmap, zap, move or collapse page tables while the
walker runs: munmap() (mm/vma.c, mm/memory.c), madvise(MADV_DONTNEED)
(mm/madvise.c, mm/pt_reclaim.c), khugepaged's collapse_huge_page() and
retract_page_tables() (mm/khugepaged.c), mremap()'s move_normal_pmd()
(mm/mremap.c), and the mmu_gather that frees what they unlink
(mm/mmu_gather.c, include/asm-generic/tlb.h).

Each path is a program: a tuple of instructions, each one atomic step named
after the kernel function it stands for.  An instruction may expand into more
(free_pgtables() into one free per table, tlb_remove_table() into the
batch-failure fallback), decided from the state at the moment it runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from .geometry import Level
from .pgtable import Entry, Life, ensure_table, free_pgd_range, set_entry, set_life, set_table, walk_path
from .state import Actor, Callback, State
from .steps import (
    Blocked,
    Event,
    Moved,
    Outcome,
    all_other_cpus,
    call_rcu,
    cpu_add,
    cpu_list,
    deref,
    flush_targets,
    free_tables,
    might_sleep,
    own_ipi,
    pmd_lock_name,
    ptl_name,
    release_spin,
    send_ipi,
    spin_lock,
    table_list,
    take_spin,
    who,
)
from .vma import by_name, find_vma, replace_vma, split_vma, unmap_bounds
from .programs import NEXT_PMD
from .zap import pte_table_empty, reclaim_pt_is_enabled, zap_ptes, zap_targets

if TYPE_CHECKING:  # pragma: no cover
    from .ctx import Ctx

Op = tuple


def initial_freer(name: str, cpu: int, program: tuple[Op, ...]) -> Actor:
    return Actor(name=name, cpu=cpu, pc="run" if program else "done").set(
        todo=program, batch=(), flush=False, vma=""
    )


def freer_step(ctx: "Ctx", state: State, a: Actor) -> Outcome:
    todo = a.get("todo")
    op, rest = todo[0], todo[1:]
    return _OPS[op[0]](ctx, state, a, op, rest)


def _give_up(rest: tuple[Op, ...], last: Op) -> tuple[Op, ...]:
    """khugepaged gives up on this PMD range: `last` (the unlock), then the next
    PMD range of the path if there is one (programs.NEXT_PMD separates them)."""
    for i, op in enumerate(rest):
        if op == NEXT_PMD:
            return (last,) + rest[i:]
    return (last,)


def _go(state: State, a: Actor, rest: tuple[Op, ...], function: str, text: str, source: str,
        *changes: str, **regs) -> Moved:
    a = a.set(pc="run" if rest else "done", todo=rest, **regs)
    return Moved(state.with_actor(a), Event(a.name, a.cpu, function, text, source, tuple(changes)))


# --- mmap_lock and the per-VMA lock -------------------------------------------


def _mmap_write_lock(ctx, state, a, op, rest):
    fn = op[1] if len(op) > 1 else "mmap_write_lock"
    others = state.mmap_readers - {a.name}
    if state.mmap_writer or others:
        holder = state.mmap_writer or sorted(others)[0]
        return Blocked(f"{a.name} waits in {fn}(): {who(state, holder)} holds mmap_lock", "mmap_lock", fn)
    state = might_sleep(state, a, fn)
    state = state.but(mmap_writer=a.name)
    return _go(state, a, rest, fn, f"{fn}() takes mmap_lock for write", "include/linux/mmap_lock.h: mmap_write_lock", "mmap_lock:write")


def _mmap_read_lock(ctx, state, a, op, rest):
    if state.mmap_writer:
        return Blocked(f"{a.name} waits in mmap_read_lock(): {who(state, state.mmap_writer)} holds mmap_lock for write", "mmap_lock", "mmap_read_lock")
    state = might_sleep(state, a, "mmap_read_lock")
    state = state.but(mmap_readers=state.mmap_readers | {a.name})
    text = "mmap_read_lock()"
    if len(op) > 1:  # look the VMA up, as the caller does after taking the lock
        vma = find_vma(state.vmas, op[1])
        if vma is None:
            rest = (("mmap_read_unlock",),)
            text += f"; no VMA at {op[1]:#x} any more: nothing to do"
        else:
            text += f"; finds VMA {vma.name}"
    return _go(state, a, rest, "mmap_read_lock", text, "include/linux/mmap_lock.h: mmap_read_lock", "mmap_lock:read")


def _end_vma_writes(state: State, a: Actor) -> State:
    """vma_end_write_all(): every VMA write lock of this mmap write cycle ends."""
    vmas = tuple(replace(v, writer="") if v.writer == a.name else v for v in state.vmas)
    return state.but(vmas=vmas)


def _mmap_read_unlock(ctx, state, a, op, rest):
    state = state.but(mmap_readers=state.mmap_readers - {a.name})
    return _go(state, a, rest, "mmap_read_unlock", "mmap_read_unlock()", "include/linux/mmap_lock.h: mmap_read_unlock", "mmap_lock:unlock")


def _mmap_write_unlock(ctx, state, a, op, rest):
    state = _end_vma_writes(state.but(mmap_writer=""), a)
    return _go(state, a, rest, "mmap_write_unlock", "mmap_write_unlock(): mmap_lock and all VMA write locks released (vma_end_write_all())",
               "include/linux/mmap_lock.h: mmap_write_unlock", "mmap_lock:unlock")


def _mmap_write_downgrade(ctx, state, a, op, rest):
    state = _end_vma_writes(state.but(mmap_writer="", mmap_readers=state.mmap_readers | {a.name}), a)
    return _go(state, a, rest, "mmap_write_downgrade",
               "vms_complete_munmap_vmas(): mmap_write_downgrade() — mmap_lock is now held for read and the VMA write locks end "
               "(vma_end_write_all()); the unmapped VMAs are already out of the tree",
               "include/linux/mmap_lock.h: mmap_write_downgrade", "mmap_lock:downgrade")


def _vma_start_write(ctx, state, a, op, rest):
    name = op[1]
    vma = by_name(state.vmas, name)
    readers = vma.readers - {a.name}
    if readers:
        reader = sorted(readers)[0]
        return Blocked(f"{a.name} waits in vma_start_write() for {who(state, reader)}'s read lock of VMA {name}",
                       "vma_lock", "vma_start_write")
    state = might_sleep(state, a, "vma_start_write")
    state = state.but(vmas=replace_vma(state.vmas, name, writer=a.name))
    return _go(state, a, rest, "vma_start_write",
               f"vma_start_write() write-locks VMA {name}: no reader holds it, and new lock_vma_under_rcu() calls now fail",
               "include/linux/mmap_lock.h: vma_start_write", f"vma_lock:{name}:write")


def _lock_vma_under_rcu(ctx, state, a, op, rest):
    """madvise_lock() with MADVISE_VMA_READ_LOCK: try_vma_read_lock(), else the mmap read lock."""
    addr = op[1]
    vma = find_vma(state.vmas, addr)
    if vma is not None and not vma.writer:
        state = state.but(vmas=replace_vma(state.vmas, vma.name, readers=vma.readers | {a.name}))
        return _go(state, a, rest, "lock_vma_under_rcu",
                   f"try_vma_read_lock(): lock_vma_under_rcu({addr:#x}) read-locks VMA {vma.name}",
                   "mm/madvise.c: try_vma_read_lock", f"vma_lock:{vma.name}:read", vma=vma.name)
    why = "finds no VMA" if vma is None else f"finds VMA {vma.name} write-locked by {who(state, vma.writer)}"
    # Under the mmap read lock there is no vma_end_read(): madvise_unlock() drops the
    # lock after madvise_finish_tlb() → tlb_finish_mmu().
    kept = []
    for o in rest:
        if o[0] != "vma_end_read":
            kept.append(o)
        if o[0] == "tlb_finish_mmu":
            kept.append(("mmap_read_unlock",))
    rest = tuple(kept)
    return _go(state, a, (("mmap_read_lock", addr),) + rest, "lock_vma_under_rcu",
               f"try_vma_read_lock(): lock_vma_under_rcu() {why}; fall back to mmap_read_lock()",
               "mm/madvise.c: try_vma_read_lock")


def _vma_end_read(ctx, state, a, op, rest):
    name = a.get("vma")
    vma = by_name(state.vmas, name)
    state = state.but(vmas=replace_vma(state.vmas, name, readers=vma.readers - {a.name}))
    return _go(state, a, rest, "vma_end_read", f"vma_end_read() drops the read lock of VMA {name}",
               "include/linux/mmap_lock.h: vma_end_read", f"vma_lock:{name}:unlock")


def _madvise_spans_vmas(ctx, state, a, op, rest):
    """try_vma_read_lock(): lock_vma_under_rcu(start) finds a VMA that ends before
    the range does; vma_end_read() and take the mmap read lock instead."""
    _, start, end, first = op
    return _go(state, a, rest, "try_vma_read_lock",
               f"try_vma_read_lock(): [{start:#x}, {end:#x}) runs past VMA {first}: no VMA read lock; "
               "madvise_walk_vmas() falls back to mmap_read_lock()", "mm/madvise.c: try_vma_read_lock")


def _madvise_vma(ctx, state, a, op, rest):
    """madvise_walk_vmas() under the mmap read lock: each VMA of the range, looked
    up now (one unmapped before the lock was taken is not found)."""
    _, name, start, end, reclaim = op
    vma = next((v for v in state.vmas if v.name == name and not v.detached), None)
    if vma is None:
        return _go(state, a, rest, "madvise_walk_vmas", f"madvise_walk_vmas(): no VMA at {start:#x} any more; skip it",
                   "mm/madvise.c: madvise_walk_vmas")
    return _go(state, a, (("zap_page_range_single_batched", start, end, reclaim),) + rest, "madvise_walk_vmas",
               f"madvise_walk_vmas(): VMA {name}: madvise_dontneed_single_vma() zaps [{start:#x}, {end:#x})",
               "mm/madvise.c: madvise_walk_vmas")


def _next_pmd(ctx, state, a, op, rest):
    return _go(state, a, rest, "khugepaged_scan_mm_slot", "khugepaged_scan_mm_slot() moves on to the next PMD range",
               "mm/khugepaged.c: khugepaged_scan_mm_slot")


# --- munmap(): mm/vma.c -------------------------------------------------------


def _split_vma(ctx, state, a, op, rest):
    _, name, at, new_name = op
    state = state.but(vmas=split_vma(state.vmas, name, at, new_name))
    return _go(state, a, rest, "__split_vma",
               f"__split_vma() cuts VMA {name} at {at:#x}; the new VMA {new_name} is write-locked too",
               "mm/vma.c: __split_vma", f"vma_split:{name}:{new_name}")


def _gather_munmap_vmas(ctx, state, a, op, rest):
    names = op[1]
    vmas = state.vmas
    for name in names:
        vmas = replace_vma(vmas, name, detached=True)
    state = state.but(vmas=vmas)
    return _go(state, a, rest, "vms_gather_munmap_vmas",
               (f"vms_gather_munmap_vmas() moves VMA {', '.join(names)} to the detach tree and marks "
                f"{'it' if len(names) == 1 else 'them'} detached (vma_mark_detached()); do_vmi_align_munmap() then clears the "
                "range from the VMA tree (vma_iter_clear_gfp()): lookups no longer find it"),
               "mm/vma.c: vms_gather_munmap_vmas", *(f"vma_detached:{n}" for n in names))


def _unmap_vmas(ctx, state, a, op, rest):
    """unmap_vmas() (munmap, mremap) or zap_page_range_single_batched()
    (MADV_DONTNEED, with details->reclaim_pt when PT_RECLAIM is set) →
    zap_pmd_range(): one zap per PMD entry in the range."""
    function, start, end, reclaim = op
    zaps = tuple(("zap", t.function, t.pte_tid, t.pmd_tid, t.pmd_index, t.start, t.end, reclaim)
                 for t in zap_targets(state.tables, ctx.geo, start, end))
    return _go(state, a, zaps + rest, function,
               f"{function}() zaps [{start:#x}, {end:#x}): {len(zaps)} PMD entr{'y' if len(zaps) == 1 else 'ies'} to visit",
               f"mm/memory.c: {function}")


def _zap(ctx, state, a, op, rest):
    _, function, pte, pmd, idx, start, end, reclaim = op
    if function == "zap_huge_pmd":
        return _zap_huge_pmd(ctx, state, a, pmd, idx, rest)
    # zap_pte_range(): pte_offset_map_lock() on the PMD entry, then clear the PTEs.
    state, _ = deref(ctx, state, a.name, pmd, "zap_pte_range")
    if state.tables[pmd].get(idx) != Entry("table", pte):
        return _go(state, a, rest, "zap_pte_range", f"zap_pte_range(): the PMD entry no longer points to PTE table #{pte}; nothing to zap",
                   "mm/memory.c: zap_pte_range")
    lock = ptl_name(pte)
    out = spin_lock(state, a, lock, "zap_pte_range", f"the ptl of PTE table #{pte}")
    if out is not None:
        return out
    state, a = take_spin(state, a, lock)
    state, _ = deref(ctx, state, a.name, pte, "zap_pte_range")
    before = len(state.tables[pte].entries)
    state = state.but(tables=zap_ptes(state.tables, ctx.geo, pte, start, end))
    zapped = before - len(state.tables[pte].entries)
    text = f"zap_pte_range() under the ptl clears {zapped} PTE{'s' if zapped != 1 else ''} of PTE table #{pte}"
    changes = [f"zap:{pte}"]
    src = "mm/memory.c: zap_pte_range"
    can_reclaim = reclaim_pt_is_enabled(start, end, reclaim)
    if can_reclaim and pte_table_empty(state.tables, pte):
        pml = pmd_lock_name(pmd)
        if not state.lock_holder(pml):
            # try_get_and_clear_pmd(): spin_trylock(pml) succeeds; clear the PMD under the ptl.
            state = state.but(tables=set_entry(state.tables, pmd, idx, None))
            state = state.but(tables=set_table(state.tables, replace(state.tables[pte], life=Life.DETACHED, counted=False)))
            text += f"; the table is empty and the zap covered all of it: try_get_and_clear_pmd() clears the PMD entry (PT_RECLAIM)"
            changes.append(f"detached:{pte}")
            rest = (("free_pte", pte),) + rest
        else:
            text += "; spin_trylock() of the PMD lock fails: try_to_free_pte() will retry with pmd_lock()"
            rest = (("try_to_free_pte", pte, pmd, idx),) + rest
    if ctx.fault == "gather_batch_full" and zapped:
        # __tlb_remove_folio_pages() reports the gather batch full: force_flush.
        # "Do the actual TLB flush before dropping ptl": tlb_flush_mmu_tlbonly()
        # runs with the ptl held, and its IPIs wait for every CPU in mm_cpumask().
        state, rest, how, ch = _flush_ipis(ctx, state, a, (("zap_unlock", lock),) + rest,
                                           "flush_tlb_func", "native_flush_tlb_multi")
        text += ("; the mmu_gather batch is full (force_flush): tlb_flush_mmu_tlbonly() flushes before the ptl "
                 f"is dropped: {how}")
        return _go(state, a, rest, "zap_pte_range", text, src, *changes, *ch, flush=True)
    state = release_spin(state, a, lock)
    return _go(state, a, rest, "zap_pte_range", text, src, *changes, flush=a.get("flush") or zapped > 0)


def _zap_unlock(ctx, state, a, op, rest):
    """zap_pte_range() after a forced flush: pte_unmap_unlock() drops the ptl."""
    lock = op[1]
    state = release_spin(state, a, lock)
    return _go(state, a, rest, "pte_unmap_unlock", "zap_pte_range(): the forced TLB flush is done; pte_unmap_unlock() drops the ptl",
               "mm/memory.c: zap_pte_range", f"unlock:{lock}")


def _zap_huge_pmd(ctx, state, a, pmd, idx, rest):
    lock = pmd_lock_name(pmd)
    out = spin_lock(state, a, lock, "zap_huge_pmd", f"the PMD lock of PMD table #{pmd}")
    if out is not None:
        return out
    state, a = take_spin(state, a, lock)
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
    return _go(state, a, rest, "zap_huge_pmd", text, "mm/huge_memory.c: zap_huge_pmd", *changes, flush=True)


def _free_pgtables(ctx, state, a, op, rest):
    """free_pgtables() → free_pgd_range(addr, end, floor, ceiling)."""
    _, start, end = op
    floor, ceiling = unmap_bounds(state.vmas, start, end)
    ops = free_pgd_range(state.tables, ctx.geo, start, end, floor, ceiling)
    frees = tuple(("free_table",) + tuple(o) for o in ops)
    ceil_txt = f"{ceiling:#x}" if ceiling else "USER_PGTABLES_CEILING"
    kept = "" if ops else "; no table lies wholly inside: none is freed"
    text = (f"free_pgtables() → free_pgd_range([{start:#x}, {end:#x}), floor {floor:#x}, ceiling {ceil_txt}): "
            f"{len(ops)} table{'s' if len(ops) != 1 else ''} to free{kept}")
    return _go(state, a, frees + rest, "free_pgtables", text, "mm/memory.c: free_pgd_range")


def _free_table(ctx, state, a, op, rest):
    _, function, free_function, level, tid, parent, index, start, end = op
    tables = set_entry(state.tables, parent, index, None)
    tables = set_table(tables, replace(tables[tid], life=Life.DETACHED, counted=False))
    state = state.but(tables=tables)
    clear = {Level.PTE: "pmd_clear", Level.PMD: "pud_clear", Level.PUD: "p4d_clear", Level.P4D: "pgd_clear"}[Level(level)]
    lead = (f"{function}(): {clear}() unlinks {Level(level).name} table #{tid} "
            f"[{start:#x}, {end:#x}) from table #{parent}; {free_function}()")
    state, a, rest, tail, changes = _tlb_remove_table(ctx, state, a, tid, rest)
    return _go(state, a, rest, function, lead + tail, f"mm/memory.c: {function}", f"detached:{tid}", *changes, flush=True)


def _free_pte(ctx, state, a, op, rest):
    """mm/pt_reclaim.c free_pte(): pte_free_tlb() of a PTE table already unlinked."""
    tid = op[1]
    state, a, rest, tail, changes = _tlb_remove_table(ctx, state, a, tid, rest)
    return _go(state, a, rest, "free_pte", f"free_pte(): pte_free_tlb() of PTE table #{tid}" + tail,
               "mm/pt_reclaim.c: free_pte", *changes, flush=True)


def _try_to_free_pte(ctx, state, a, op, rest):
    """mm/pt_reclaim.c try_to_free_pte(): pmd_lock(), then (holding it) the ptl."""
    _, pte, pmd, idx = op
    pml = pmd_lock_name(pmd)
    out = spin_lock(state, a, pml, "try_to_free_pte", f"the PMD lock of PMD table #{pmd}")
    if out is not None:
        return out
    state, a = take_spin(state, a, pml)
    return _go(state, a, (("try_to_free_pte_ptl", pte, pmd, idx),) + rest, "pmd_lock",
               f"try_to_free_pte(): pmd_lock() takes the PMD lock of PMD table #{pmd}", "mm/pt_reclaim.c: try_to_free_pte",
               f"lock:{pml}")


def _try_to_free_pte_ptl(ctx, state, a, op, rest):
    """... spin_lock_nested() of the ptl with the PMD lock held; every PTE none →
    pmd_clear(), unlock both, free_pte()."""
    _, pte, pmd, idx = op
    pml, ptl = pmd_lock_name(pmd), ptl_name(pte)
    out = spin_lock(state, a, ptl, "try_to_free_pte", f"the ptl of PTE table #{pte}")
    if out is not None:
        return out
    state, a = take_spin(state, a, ptl)
    state = release_spin(state, a, ptl)  # the checks and pmd_clear() below run under both locks
    if state.tables[pmd].get(idx) != Entry("table", pte) or not pte_table_empty(state.tables, pte):
        state = release_spin(state, a, pml)
        return _go(state, a, rest, "try_to_free_pte", "try_to_free_pte(): the table is gone or not empty; nothing freed",
                   "mm/pt_reclaim.c: try_to_free_pte")
    state = state.but(tables=set_entry(state.tables, pmd, idx, None))
    state = state.but(tables=set_table(state.tables, replace(state.tables[pte], life=Life.DETACHED, counted=False)))
    state = release_spin(state, a, pml)
    return _go(state, a, (("free_pte", pte),) + rest, "try_to_free_pte",
               f"try_to_free_pte(): under pmd_lock() and the ptl every PTE is none: pmd_clear() unlinks PTE table #{pte}",
               "mm/pt_reclaim.c: try_to_free_pte", f"detached:{pte}")


# --- the mmu_gather: mm/mmu_gather.c -------------------------------------------


def _tlb_remove_table(ctx, state, a, tid, rest):
    """pte_free_tlb()/pmd_free_tlb()/pud_free_tlb() on x86 → tlb_remove_table()
    with MMU_GATHER_RCU_TABLE_FREE, or tlb_remove_page() into the page batch
    without it.  Returns (state, actor, rest, text, changes)."""
    if not ctx.config.MMU_GATHER_RCU_TABLE_FREE:
        a = a.set(batch=a.get("batch") + (tid,))
        return state, a, rest, (": tlb_remove_page() puts it in the mmu_gather page batch, "
                                "to be freed right after the TLB flush"), ()
    if ctx.fault == "batch_alloc_fail":
        rest = (("tlb_table_invalidate",), ("tlb_remove_table_one", tid)) + rest
        return state, a, rest, (": tlb_remove_table() cannot allocate its batch page "
                                "(__get_free_page(GFP_NOWAIT) fails)"), ("batch_alloc_fail",)
    a = a.set(batch=a.get("batch") + (tid,))
    return state, a, rest, ": tlb_remove_table() adds it to the mmu_gather table batch", ()


def _flush_ipis(ctx, state, a, rest, handler: str, waiter: str) -> tuple[State, tuple[Op, ...], str, tuple[str, ...]]:
    targets = flush_targets(ctx, a)
    if ctx.config.TLB_FLUSH == "broadcast":
        return state, rest, "a broadcast TLB invalidation (INVLPGB): no IPI is sent", ("flush:broadcast",)
    if not targets:
        return state, rest, "no other CPU is in mm_cpumask(): no IPI is needed", ("flush:local",)
    state = send_ipi(state, a, handler, waiter, targets)
    return (state, (("wait_ipi",),) + rest,
            f"IPIs {cpu_list(targets)} (the CPUs in mm_cpumask()) and waits for each to flush",
            tuple(f"ipi:cpu{c}" for c in sorted(targets)))


def _tlb_table_invalidate(ctx, state, a, op, rest):
    state, rest, how, ch = _flush_ipis(ctx, state, a, rest, "flush_tlb_func", "native_flush_tlb_multi")
    return _go(state, a, rest, "tlb_table_invalidate",
               f"tlb_table_invalidate() → tlb_flush_mmu_tlbonly(): {how}", "mm/mmu_gather.c: tlb_table_invalidate", *ch)


def _tlb_remove_table_one(ctx, state, a, op, rest):
    tid = op[1]
    if ctx.config.PT_RECLAIM:
        state = call_rcu(state, a.name, "__tlb_remove_table_one_rcu", (tid,))
        return _go(state, a, rest, "tlb_remove_table_one",
                   f"tlb_remove_table_one() → __tlb_remove_table_one() with PT_RECLAIM: call_rcu() on {table_list(state, (tid,))}'s pt_rcu_head",
                   "mm/mmu_gather.c: __tlb_remove_table_one", f"rcu_pending:{tid}")
    if ctx.config.TABLE_FREE_FALLBACK == "ipi":
        targets = all_other_cpus(ctx, a)
        state = state.but(tables=set_life(state.tables, tid, Life.IPI_PENDING))
        state = send_ipi(state, a, "tlb_remove_table_smp_sync", "tlb_remove_table_sync_one", targets)
        rest = ((("wait_ipi",),) if targets else ()) + (("__tlb_remove_table", tid, "tlb_remove_table_sync_one"),) + rest
        return _go(state, a, rest, "tlb_remove_table_sync_one",
                   f"tlb_remove_table_one() without PT_RECLAIM (v6.18): tlb_remove_table_sync_one() IPIs every other CPU "
                   f"({cpu_list(targets)}) and waits; the table is freed as soon as they all answer",
                   "mm/mmu_gather.c: tlb_remove_table_sync_one", f"ipi_pending:{tid}", *(f"ipi:cpu{c}" for c in sorted(targets)))
    # mainline 2026 (1fb3d8c20bfa): tlb_remove_table_sync_rcu() = synchronize_rcu().
    state = state.but(tables=set_life(state.tables, tid, Life.RCU_PENDING))
    needed = state.rcu.needed_for_new_callback()
    cb = Callback(needed, "wakeme_after_rcu", (), a.name)
    state = state.but(rcu=replace(state.rcu, callbacks=state.rcu.callbacks + (cb,)))
    state = might_sleep(state, a, "synchronize_rcu")
    rest = (("wait_gp", needed), ("__tlb_remove_table", tid, "tlb_remove_table_sync_rcu")) + rest
    return _go(state, a, rest, "tlb_remove_table_sync_rcu",
               "tlb_remove_table_one() without PT_RECLAIM (v7.1): tlb_remove_table_sync_rcu() calls synchronize_rcu() "
               "and sleeps until a full grace period has passed",
               "mm/mmu_gather.c: tlb_remove_table_sync_rcu", f"rcu_pending:{tid}")


def _wait_gp(ctx, state, a, op, rest):
    needed = op[1]
    if state.rcu.gp_seq < needed:
        return Blocked(f"{a.name} sleeps in synchronize_rcu() until a grace period ends", "gp", "synchronize_rcu")
    return _go(state, a, rest, "synchronize_rcu", "synchronize_rcu() returns: the grace period has ended",
               "kernel/rcu/tree.c: synchronize_rcu")


def _remove_table_now(ctx, state, a, op, rest):
    _, tid, after = op
    state = free_tables(state, (tid,), f"__tlb_remove_table (after {after})")
    return _go(state, a, rest, "__tlb_remove_table", f"__tlb_remove_table() frees {table_list(state, (tid,))} at once",
               "mm/mmu_gather.c: __tlb_remove_table_one", f"freed:{tid}")


def _wait_ipi(ctx, state, a, op, rest):
    ipi = own_ipi(state, a.name)
    if ipi is None:  # pragma: no cover - wait_ipi only follows a send
        return _go(state, a, rest, "wait", "nothing to wait for", "")
    if ipi.pending:
        cpus = cpu_list(ipi.pending)
        why = []
        for c in sorted(ipi.pending):
            if state.cpus[c].irqs_off:
                why.append(f"CPU{c} has IRQs disabled")
        tail = f" ({'; '.join(why)})" if why else ""
        return Blocked(f"{a.name} waits in {ipi.waiter}() for {cpus} to take the {ipi.handler} IPI{tail}", "ipi", ipi.waiter)
    state = state.but(ipis=tuple(i for i in state.ipis if i.sender != a.name))
    return _go(state, a, rest, ipi.waiter, f"{ipi.waiter}(): every CPU has taken the {ipi.handler} IPI",
               "arch/x86/mm/tlb.c: native_flush_tlb_multi" if ipi.handler == "flush_tlb_func" else "mm/mmu_gather.c: tlb_remove_table_sync_one")


def _tlb_finish_mmu(ctx, state, a, op, rest):
    """tlb_finish_mmu() → tlb_flush_mmu(): tlb_flush_mmu_tlbonly(), then tlb_flush_mmu_free()."""
    if not a.get("flush"):
        return _go(state, a, rest, "tlb_finish_mmu", "tlb_finish_mmu(): nothing was gathered, nothing to flush",
                   "mm/mmu_gather.c: tlb_finish_mmu")
    batch = a.get("batch")
    changes: tuple[str, ...] = ()
    if batch and not ctx.config.MMU_GATHER_RCU_TABLE_FREE:
        tables = state.tables
        for tid in batch:
            tables = set_life(tables, tid, Life.IPI_PENDING)
        state = state.but(tables=tables)
        changes = tuple(f"ipi_pending:{t}" for t in batch)
    state, rest2, how, ch = _flush_ipis(ctx, state, a, (("tlb_flush_mmu_free",),) + rest, "flush_tlb_func", "native_flush_tlb_multi")
    return _go(state, a, rest2, "tlb_flush_mmu_tlbonly",
               f"tlb_finish_mmu() → tlb_flush_mmu_tlbonly() → flush_tlb_mm_range(): {how}",
               "arch/x86/mm/tlb.c: flush_tlb_mm_range", *changes, *ch, flush=False)


def _tlb_flush_mmu_free(ctx, state, a, op, rest):
    batch = a.get("batch")
    if not batch:
        return _go(state, a, rest, "tlb_flush_mmu_free", "tlb_flush_mmu_free(): no page table in the batch",
                   "mm/mmu_gather.c: tlb_flush_mmu_free")
    if ctx.config.MMU_GATHER_RCU_TABLE_FREE:
        state = call_rcu(state, a.name, "tlb_remove_table_rcu", batch)
        return _go(state, a, rest, "tlb_table_flush",
                   f"tlb_flush_mmu_free() → tlb_table_flush(): call_rcu(tlb_remove_table_rcu) for {table_list(state, batch)}",
                   "mm/mmu_gather.c: tlb_table_flush", *(f"rcu_pending:{t}" for t in batch), batch=())
    state = free_tables(state, batch, "tlb_batch_pages_flush")
    return _go(state, a, rest, "tlb_batch_pages_flush",
               f"tlb_flush_mmu_free() → tlb_batch_pages_flush(): {table_list(state, batch)} freed now, right after the TLB flush",
               "mm/mmu_gather.c: tlb_batch_pages_flush", *(f"freed:{t}" for t in batch), batch=())


# --- khugepaged: mm/khugepaged.c ------------------------------------------------


def _locate(ctx, state, a, addr) -> tuple[int, int, int]:
    """The PMD table, entry index and PTE table (-1 if none) mapping `addr` now."""
    path = walk_path(state.tables, ctx.geo, addr)
    for step in path:
        if step.table.level == Level.PMD:
            e = step.entry
            return step.table.tid, step.index, (e.target if e is not None and e.is_table else -1)
    return -1, -1, -1


def _hpage_collapse_scan_pmd(ctx, state, a, op, rest):
    addr = op[1]
    pmd, idx, pte = _locate(ctx, state, a, addr)
    if pte < 0:
        return _go(state, a, _give_up(rest, ("mmap_read_unlock",)), "hpage_collapse_scan_pmd", "hpage_collapse_scan_pmd(): no PTE table to collapse",
                   "mm/khugepaged.c: hpage_collapse_scan_pmd")
    lock = ptl_name(pte)
    out = spin_lock(state, a, lock, "hpage_collapse_scan_pmd", f"the ptl of PTE table #{pte}")
    if out is not None:
        return out
    state, a = take_spin(state, a, lock)
    state = release_spin(state, a, lock)
    return _go(state, a, rest, "hpage_collapse_scan_pmd",
               f"hpage_collapse_scan_pmd() scans PTE table #{pte} under its ptl: worth collapsing into a THP",
               "mm/khugepaged.c: hpage_collapse_scan_pmd")


def _hugepage_vma_revalidate(ctx, state, a, op, rest):
    addr = op[1]
    vma = find_vma(state.vmas, addr)
    pmd, idx, pte = _locate(ctx, state, a, addr)
    if vma is None or pte < 0:
        return _go(state, a, _give_up(rest, ("mmap_write_unlock",)), "hugepage_vma_revalidate",
                   "hugepage_vma_revalidate(): the VMA or the PTE table is gone: give up (SCAN_VMA_CHECK)",
                   "mm/khugepaged.c: hugepage_vma_revalidate")
    return _go(state, a, rest, "hugepage_vma_revalidate",
               f"hugepage_vma_revalidate(): VMA {vma.name} still there after retaking mmap_lock for write (the THP "
               "allocation and a first revalidation under the mmap read lock came before; they change no page table)",
               "mm/khugepaged.c: hugepage_vma_revalidate", pmd=pmd, pmd_index=idx, pte=pte)


def _lock_of(a: Actor, which: str) -> tuple[str, str]:
    if which == "pmd":
        return pmd_lock_name(a.get("pmd")), f"the PMD lock of PMD table #{a.get('pmd')}"
    return ptl_name(a.get("pte")), f"the ptl of PTE table #{a.get('pte')}"


def _spin_lock_op(ctx, state, a, op, rest):
    which, function = op[1], op[2]
    lock, describe = _lock_of(a, which)
    if which == "ptl":
        state, _ = deref(ctx, state, a.name, a.get("pte"), function)
    out = spin_lock(state, a, lock, function, describe)
    if out is not None:
        return out
    state, a = take_spin(state, a, lock)
    return _go(state, a, rest, function, f"{function}() takes {describe}", "include/linux/spinlock.h: spin_lock", f"lock:{lock}")


def _spin_unlock_op(ctx, state, a, op, rest):
    names = []
    for which in op[1:]:
        lock, describe = _lock_of(a, which)
        state = release_spin(state, a, lock)
        names.append(describe)
    return _go(state, a, rest, "spin_unlock", f"spin_unlock() of {' and '.join(names)}", "include/linux/spinlock.h: spin_unlock",
               *(f"unlock:{_lock_of(a, w)[0]}" for w in op[1:]))


def _pmdp_collapse_flush(ctx, state, a, op, rest):
    """pmdp_collapse_flush(): clear the PMD entry and flush the TLB (flush_tlb_range)."""
    mode = op[1]  # "anon": the table will be deposited; "retract": pte_free_defer() follows
    pmd, idx, pte = a.get("pmd"), a.get("pmd_index"), a.get("pte")
    tables = set_entry(state.tables, pmd, idx, None)
    counted = mode == "anon"  # retract_page_tables() does mm_dec_nr_ptes(); a deposited table stays counted
    tables = set_table(tables, replace(tables[pte], life=Life.DETACHED, counted=counted))
    state = state.but(tables=tables)
    state, rest, how, ch = _flush_ipis(ctx, state, a, rest, "flush_tlb_func", "native_flush_tlb_multi")
    held = ", with the PMD lock and the ptl held" if mode == "retract" else ", with the PMD lock held"
    return _go(state, a, rest, "pmdp_collapse_flush",
               f"pmdp_collapse_flush() clears entry {idx} of PMD table #{pmd} (PTE table #{pte} is detached) and flushes the TLB{held}: {how}",
               "mm/pgtable-generic.c: pmdp_collapse_flush", f"detached:{pte}", *ch)


def _tlb_remove_table_sync_one(ctx, state, a, op, rest):
    targets = all_other_cpus(ctx, a)
    state = send_ipi(state, a, "tlb_remove_table_smp_sync", "tlb_remove_table_sync_one", targets)
    return _go(state, a, ((("wait_ipi",),) if targets else ()) + rest, "tlb_remove_table_sync_one",
               f"tlb_remove_table_sync_one(): an IPI to every other CPU ({cpu_list(targets)}), so that GUP-fast walkers "
               "with IRQs disabled have finished with the old table",
               "mm/mmu_gather.c: tlb_remove_table_sync_one", *(f"ipi:cpu{c}" for c in sorted(targets)))


def _collapse_isolate(ctx, state, a, op, rest):
    """pte_offset_map_lock() on the saved _pmd, __collapse_huge_page_isolate(), copy."""
    pte = a.get("pte")
    lock = ptl_name(pte)
    state, _ = deref(ctx, state, a.name, pte, "__collapse_huge_page_isolate")
    out = spin_lock(state, a, lock, "__collapse_huge_page_isolate", f"the ptl of the old PTE table #{pte}")
    if out is not None:
        return out
    state, a = take_spin(state, a, lock)
    state = release_spin(state, a, lock)
    return _go(state, a, rest, "__collapse_huge_page_isolate",
               f"__collapse_huge_page_isolate() under the old table's ptl (via the saved PMD value), then the pages are copied into the THP",
               "mm/khugepaged.c: __collapse_huge_page_isolate")


def _set_huge_pmd(ctx, state, a, op, rest):
    pmd, idx, pte = a.get("pmd"), a.get("pmd_index"), a.get("pte")
    lock = pmd_lock_name(pmd)
    out = spin_lock(state, a, lock, "pmd_lock", f"the PMD lock of PMD table #{pmd}")
    if out is not None:
        return out
    state, a = take_spin(state, a, lock)
    tables = set_entry(state.tables, pmd, idx, Entry("leaf", 1 << 21))
    tables = set_table(tables, replace(tables[pte], deposited=True))
    state = release_spin(state.but(tables=tables), a, lock)
    return _go(state, a, rest, "set_pmd_at",
               f"under pmd_lock(): pgtable_trans_huge_deposit() keeps the old PTE table #{pte} (not freed); "
               f"set_pmd_at() maps the THP at entry {idx} of PMD table #{pmd}",
               "mm/khugepaged.c: collapse_huge_page", f"deposited:{pte}")


def _i_mmap_lock_read(ctx, state, a, op, rest):
    state = might_sleep(state, a, "i_mmap_lock_read")
    return _go(state, a, rest, "i_mmap_lock_read",
               "i_mmap_lock_read(): walk mapping->i_mmap; no mmap_lock and no VMA lock of the mm is taken",
               "mm/khugepaged.c: retract_page_tables")


def _i_mmap_unlock_read(ctx, state, a, op, rest):
    return _go(state, a, rest, "i_mmap_unlock_read", "i_mmap_unlock_read()", "mm/khugepaged.c: retract_page_tables")


def _find_pmd_or_thp_or_none(ctx, state, a, op, rest):
    addr = op[1]
    for step in walk_path(state.tables, ctx.geo, addr):
        state, _ = deref(ctx, state, a.name, step.table.tid, "find_pmd_or_thp_or_none")
    pmd, idx, pte = _locate(ctx, state, a, addr)
    if pte < 0:
        return _go(state, a, _give_up(rest, ("i_mmap_unlock_read",)), "find_pmd_or_thp_or_none",
                   "find_pmd_or_thp_or_none(): no PTE table here; skip this VMA", "mm/khugepaged.c: find_pmd_or_thp_or_none")
    return _go(state, a, rest, "find_pmd_or_thp_or_none",
               f"find_pmd_or_thp_or_none() walks down without locks to entry {idx} of PMD table #{pmd} → PTE table #{pte}",
               "mm/khugepaged.c: find_pmd_or_thp_or_none", pmd=pmd, pmd_index=idx, pte=pte)


def _pte_free_defer(ctx, state, a, op, rest):
    pte = a.get("pte")
    state = call_rcu(state, a.name, "pte_free_now", (pte,))
    return _go(state, a, rest, "pte_free_defer",
               f"mm_dec_nr_ptes(); pte_free_defer() hands PTE table #{pte} to call_rcu(pte_free_now)",
               "mm/pgtable-generic.c: pte_free_defer", f"rcu_pending:{pte}")


# --- mremap(): mm/mremap.c ------------------------------------------------------


def _copy_vma(ctx, state, a, op, rest):
    _, name, new_start, new_name = op
    old = by_name(state.vmas, name)
    new = replace(old, name=new_name, start=new_start, end=new_start + old.size, readers=frozenset(), writer=a.name)
    state = state.but(vmas=tuple(sorted(state.vmas + (new,), key=lambda v: v.start)))
    return _go(state, a, rest, "copy_vma",
               f"copy_vma() creates VMA {new_name} at {new_start:#x} for the moved range; vma_link() write-locks it "
               "(vma_start_write())", "mm/vma.c: copy_vma", f"vma_new:{new_name}")


def _move_page_tables(ctx, state, a, op, rest):
    _, name, old_start, new_start, length = op
    moves = []
    for t in zap_targets(state.tables, ctx.geo, old_start, old_start + length):
        if t.function == "zap_pte_range" and t.end - t.start == 1 << 21:
            # move_pgt_entry(): take_rmap_locks() around move_normal_pmd() (NORMAL_PMD
            # always takes them: should_take_rmap_locks()).
            moves += [("alloc_new_pmd", new_start + (t.start - old_start)), ("take_rmap_locks", name),
                      ("move_normal_pmd", t.start, new_start + (t.start - old_start)), ("drop_rmap_locks", name)]
    n = sum(1 for m in moves if m[0] == "move_normal_pmd")
    return _go(state, a, tuple(moves) + rest, "move_page_tables",
               f"move_page_tables(): {n} whole PTE table{'s' if n != 1 else ''} to move by move_normal_pmd()",
               "mm/mremap.c: move_page_tables")


def _check_pmd_state(ctx, state, a, op, rest):
    """retract_page_tables(): under the PMD lock, check_pmd_state() re-reads the
    entry; the ptl then comes from it (pte_lockptr()), not from the lockless look."""
    pmd, idx, pte = a.get("pmd"), a.get("pmd_index"), a.get("pte")
    if state.tables[pmd].get(idx) != Entry("table", pte):
        state = release_spin(state, a, pmd_lock_name(pmd))
        return _go(state, a, _give_up(rest, ("i_mmap_unlock_read",)), "check_pmd_state",
                   f"check_pmd_state(): entry {idx} of PMD table #{pmd} no longer points to PTE table #{pte}; drop the PMD lock",
                   "mm/khugepaged.c: retract_page_tables")
    return _go(state, a, rest, "check_pmd_state",
               f"check_pmd_state(): under the PMD lock entry {idx} of PMD table #{pmd} still points to PTE table #{pte}; "
               "its ptl is pte_lockptr() of that entry", "mm/khugepaged.c: retract_page_tables")


def _anon_vma_lock(ctx, state, a, op, rest):
    """collapse_huge_page(): anon_vma_lock_write() after vma_start_write(), dropped
    once __collapse_huge_page_isolate() has isolated and locked every page."""
    if op[0] == "anon_vma_lock_write":
        state = might_sleep(state, a, "anon_vma_lock_write")
        text = "anon_vma_lock_write(): rmap walkers of this anon_vma (page migration, reclaim) are kept out while the PMD is cleared"
    else:
        text = "anon_vma_unlock_write(): every page is isolated and locked, so anon_vma rmap walks can no longer reach them"
    return _go(state, a, rest, op[0], text, "mm/khugepaged.c: collapse_huge_page")


def _rmap_locks(ctx, state, a, op, rest):
    """take_rmap_locks()/drop_rmap_locks(): the anon_vma or i_mmap lock for write.
    No other actor of a scenario takes them, so they are steps, not modelled locks."""
    kind = by_name(state.vmas, op[1]).kind
    lock = "i_mmap_lock_write()" if kind == "file" else "anon_vma_lock_write()"
    if op[0] == "take_rmap_locks":
        text = (f"take_rmap_locks(): {lock}, so that rmap walkers (retract_page_tables(), rmap_walk()) "
                "never see the PMD entry half-moved")
    else:
        text = f"drop_rmap_locks(): {lock.replace('lock_write', 'unlock_write')}"
    return _go(state, a, rest, op[0], text, f"mm/mremap.c: {op[0]}")


def _alloc_new_pmd(ctx, state, a, op, rest):
    addr = op[1]
    tables, allocated, _ = ensure_table(state.tables, ctx.geo, addr, Level.PMD)
    state = state.but(tables=tables)
    what = ", ".join(f"{al.function}() → {al.level.name} table #{al.tid}" for al in allocated) or "the tables exist"
    return _go(state, a, rest, "alloc_new_pmd", f"alloc_new_pmd({addr:#x}): {what}", "mm/mremap.c: alloc_new_pmd",
               *(f"allocated:{al.tid}" for al in allocated))


def _move_normal_pmd(ctx, state, a, op, rest):
    _, old_addr, new_addr = op
    opmd, oidx, pte = _locate(ctx, state, a, old_addr)
    npmd, nidx, _ = _locate(ctx, state, a, new_addr)
    old_lock, new_lock = pmd_lock_name(opmd), pmd_lock_name(npmd)
    for lock, desc in ((old_lock, f"the PMD lock of PMD table #{opmd}"), (new_lock, f"the PMD lock of PMD table #{npmd}")):
        holder = state.lock_holder(lock)
        if holder and holder != a.name:
            return Blocked(f"{a.name} waits in move_normal_pmd() for {desc}, held by {who(state, holder)}", "spin", "move_normal_pmd")
    tables = set_entry(state.tables, opmd, oidx, None)
    tables = set_entry(tables, npmd, nidx, Entry("table", pte))
    tables = set_table(tables, replace(tables[pte], base=new_addr & ~((1 << 21) - 1)))
    state = state.but(tables=tables)
    # flush_tlb_range() under both PMD locks.
    state = state.take_spin(old_lock, a.name)
    if new_lock != old_lock:
        state = state.take_spin(new_lock, a.name)
    state = cpu_add(state, a.cpu, preempt=2 if new_lock != old_lock else 1)
    a = a.set(pmd=opmd, pmd2=npmd)
    state, rest, how, ch = _flush_ipis(ctx, state, a, (("unlock_pmds",),) + rest, "flush_tlb_func", "native_flush_tlb_multi")
    return _go(state, a, rest, "move_normal_pmd",
               f"move_normal_pmd() under both PMD locks: pmd_clear() of entry {oidx} of PMD table #{opmd}, pmd_populate() of entry "
               f"{nidx} of PMD table #{npmd} with PTE table #{pte}; flush_tlb_range(): {how}",
               "mm/mremap.c: move_normal_pmd", f"moved:{pte}", *ch)


def _unlock_pmds(ctx, state, a, op, rest):
    locks = {pmd_lock_name(a.get("pmd")), pmd_lock_name(a.get("pmd2"))}
    for lock in sorted(locks):
        state = release_spin(state, a, lock)
    return _go(state, a, rest, "spin_unlock", "move_normal_pmd(): spin_unlock() of the PMD locks", "mm/mremap.c: move_normal_pmd")


_OPS: dict[str, Callable] = {
    "madvise_spans_vmas": _madvise_spans_vmas,
    "madvise_vma": _madvise_vma,
    "khugepaged_scan_mm_slot": _next_pmd,
    "mmap_write_lock": _mmap_write_lock,
    "mmap_read_lock": _mmap_read_lock,
    "mmap_read_unlock": _mmap_read_unlock,
    "mmap_write_unlock": _mmap_write_unlock,
    "mmap_write_downgrade": _mmap_write_downgrade,
    "vma_start_write": _vma_start_write,
    "lock_vma_under_rcu": _lock_vma_under_rcu,
    "vma_end_read": _vma_end_read,
    "__split_vma": _split_vma,
    "vms_gather_munmap_vmas": _gather_munmap_vmas,
    "unmap_vmas": _unmap_vmas,
    "zap_page_range_single_batched": _unmap_vmas,
    "take_rmap_locks": _rmap_locks,
    "anon_vma_lock_write": _anon_vma_lock,
    "check_pmd_state": _check_pmd_state,
    "anon_vma_unlock_write": _anon_vma_lock,
    "drop_rmap_locks": _rmap_locks,
    "zap": _zap,
    "zap_unlock": _zap_unlock,
    "free_pgtables": _free_pgtables,
    "free_table": _free_table,
    "free_pte": _free_pte,
    "try_to_free_pte": _try_to_free_pte,
    "try_to_free_pte_ptl": _try_to_free_pte_ptl,
    "tlb_table_invalidate": _tlb_table_invalidate,
    "tlb_remove_table_one": _tlb_remove_table_one,
    "wait_gp": _wait_gp,
    "__tlb_remove_table": _remove_table_now,
    "wait_ipi": _wait_ipi,
    "tlb_finish_mmu": _tlb_finish_mmu,
    "tlb_flush_mmu_free": _tlb_flush_mmu_free,
    "hpage_collapse_scan_pmd": _hpage_collapse_scan_pmd,
    "hugepage_vma_revalidate": _hugepage_vma_revalidate,
    "spin_lock": _spin_lock_op,
    "spin_unlock": _spin_unlock_op,
    "pmdp_collapse_flush": _pmdp_collapse_flush,
    "tlb_remove_table_sync_one": _tlb_remove_table_sync_one,
    "__collapse_huge_page_isolate": _collapse_isolate,
    "set_pmd_at": _set_huge_pmd,
    "i_mmap_lock_read": _i_mmap_lock_read,
    "i_mmap_unlock_read": _i_mmap_unlock_read,
    "find_pmd_or_thp_or_none": _find_pmd_or_thp_or_none,
    "pte_free_defer": _pte_free_defer,
    "copy_vma": _copy_vma,
    "move_page_tables": _move_page_tables,
    "alloc_new_pmd": _alloc_new_pmd,
    "move_normal_pmd": _move_normal_pmd,
    "unlock_pmds": _unlock_pmds,
}
