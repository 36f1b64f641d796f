"""hugetlb PMD sharing: mm/hugetlb.c (huge_pmd_unshare, huge_pmd_unshare_flush,
__unmap_hugepage_range, __hugetlb_zap_begin/_end, hugetlb_unshare_pmds),
fs/hugetlbfs/inode.c (hugetlbfs_punch_hole → hugetlb_vmdelete_list),
include/asm-generic/tlb.h (tlb_flush_unshared_tables), mm/memory.c (__pte_alloc).

Two mms, P (the walked one, tables with mm "") and Q, both map one hugetlbfs
file MAP_SHARED over a PUD-aligned GiB and share one PMD table T (mm "shared",
huge_pmd_share()).  huge_pmd_unshare() clears one mm's PUD entry to T under T's
PMD lock, i_mmap_rwsem for write and the hugetlb VMA lock for write; the last
sharer keeps T, and may reuse it: Q maps anonymous memory over part of its
hugetlb VMA with mmap(MAP_FIXED) (__mmap_region() splits the VMA, clears the
old range and stores an anonymous VMA there) and touches it; the fault's
pte_alloc() installs Q's PTE table in T.
With David Hildenbrand's fix (v7.0; 6.18.y, 6.12.y, 6.6.y, 6.1.y) the sync IPI
tlb_remove_table_sync_one() comes from huge_pmd_unshare_flush() after the TLB
flush, still under i_mmap_rwsem.  Jann Horn's 1013af4f585f (mainline v6.16;
stable 5.10.y, 5.15.y, 6.1.y, 6.6.y, 6.12.y, 6.15.y) sent it inside
huge_pmd_unshare() with T's lock held: v6.16 to v6.18.0 and stable kernels
before the fix (HUGETLB_UNSHARE_SYNC=in_unshare).
"""

from __future__ import annotations

from ..geometry import PUD_SIZE, Level
from ..pgtable import Entry, ensure_table, set_entry, walk_path
from ..program import instruction
from ..rwsem import I_MMAP, down_write, down_write_trylock, hugetlb_vma_lock, up
from ..steps import Taken, cpu_list, pmd_lock, release_spin, send_ipi
from ..vma import find_vma
from .base import go
from .mmu_gather import sync_one
from .tlb import WaitIpi

SRC = "mm/hugetlb.c"

# The instructions this file runs (kernel/program.py).
IMmapLockWrite = instruction("i_mmap_lock_write", "caller")
IMmapUnlockWrite = instruction("i_mmap_unlock_write")
HugetlbVmaTrylockWrite = instruction("hugetlb_vma_trylock_write", "vma")
HugetlbVmaLockWrite = instruction("hugetlb_vma_lock_write", "vma")
HugetlbVmaUnlockWrite = instruction("hugetlb_vma_unlock_write", "vma")
UnmapHugepageRange = instruction("__unmap_hugepage_range", "mm", "start", "end")
HugetlbSplit = instruction("hugetlb_split", "mm", "at")
HugePteUnlock = instruction("huge_pte_unlock", "mm")
HugePmdUnshareFlush = instruction("huge_pmd_unshare_flush", "mm")
OtherMmLock = instruction("other_mm_mmap_write_lock", "mm", "unlock")
PteAlloc = instruction("__pte_alloc", "mm", "addr")

#: The label after each VMA's hugetlb_vma_unlock_write() in a punch-hole
#: program: hugetlb_vmdelete_list()'s `continue` when the trylock fails.
NEXT_VMA = "next_vma"


def root_of(ctx, mm: str) -> int:
    return dict(ctx.setup.roots)[mm]


def mm_name(mm: str) -> str:
    return mm or "P"


def _pud_step(ctx, state, mm: str, addr: int):
    """The PUD table and entry index of `mm`'s tree that map `addr`, and the PMD
    table it points to (-1 if none)."""
    for step in walk_path(state.tables, ctx.geo, addr, root_of(ctx, mm)):
        if step.table.level == Level.PUD:
            e = step.entry
            return step.table.tid, step.index, (e.target if e is not None and e.is_table else -1)
    return -1, -1, -1


def _sharers(state, tid: int) -> int:
    """ptdesc_pmd_pts_count() + 1: how many PUD entries point to the table."""
    return sum(1 for t in state.tables if t.level == Level.PUD
               for _, e in t.entries if e.is_table and e.target == tid)


def _mm_cpus(ctx, mm: str, a) -> frozenset[int]:
    """mm_cpumask() of `mm`, without the sender's CPU."""
    if mm == "":
        cpus = set(ctx.cpumask)
    else:
        cpus = {p.cpu for p in ctx.paths if p.spec.op == "hugetlb_reuse"}
    return frozenset(c for c in cpus if c != a.cpu)


def _i_mmap_lock_write(ctx, state, a, op):
    out = down_write(state, a, I_MMAP, "i_mmap_lock_write", "the file's i_mmap_rwsem")
    if not hasattr(out, "sems"):
        return out
    return go(out, a, "i_mmap_lock_write", f"{op.caller}: i_mmap_lock_write() takes the file's i_mmap_rwsem for write",
              _src_of(op.caller), "i_mmap:write")


def _src_of(caller: str) -> str:
    return {"hugetlbfs_punch_hole": "fs/hugetlbfs/inode.c: hugetlbfs_punch_hole",
            "__hugetlb_zap_begin": f"{SRC}: __hugetlb_zap_begin",
            "__split_vma": "mm/vma.c: vma_prepare"}.get(caller, SRC)


def _i_mmap_unlock_write(ctx, state, a, op):
    return go(up(state, a, I_MMAP), a, "i_mmap_unlock_write", "i_mmap_unlock_write(): other sharers of the file may change their tables now",
              SRC, "i_mmap:unlock")


def _trylock(ctx, state, a, op):
    """hugetlb_vmdelete_list(): `if (!hugetlb_vma_trylock_write(vma)) continue;`"""
    lock = hugetlb_vma_lock(op.vma)
    new = down_write_trylock(state, a, lock)
    if new is None:
        return go(state, a, "hugetlb_vma_trylock_write",
                  f"hugetlb_vmdelete_list(): hugetlb_vma_trylock_write() of VMA {op.vma} fails (someone holds its hugetlb VMA "
                  "lock): the VMA is skipped", "fs/hugetlbfs/inode.c: hugetlb_vmdelete_list", goto=NEXT_VMA)
    return go(new, a, "hugetlb_vma_trylock_write", f"hugetlb_vmdelete_list(): hugetlb_vma_trylock_write() takes VMA {op.vma}'s hugetlb VMA lock",
              "fs/hugetlbfs/inode.c: hugetlb_vmdelete_list")


def _lock_write(ctx, state, a, op):
    out = down_write(state, a, hugetlb_vma_lock(op.vma), "hugetlb_vma_lock_write", f"VMA {op.vma}'s hugetlb VMA lock")
    if not hasattr(out, "sems"):
        return out
    return go(out, a, "hugetlb_vma_lock_write", f"__hugetlb_zap_begin(): hugetlb_vma_lock_write() of VMA {op.vma}",
              f"{SRC}: __hugetlb_zap_begin")


def _unlock_write(ctx, state, a, op):
    return go(up(state, a, hugetlb_vma_lock(op.vma)), a, "hugetlb_vma_unlock_write",
              f"hugetlb_vma_unlock_write() of VMA {op.vma}", SRC)


def _unshare_or_zap(ctx, state, a, op, zap: bool, fn: str = "__unmap_hugepage_range"):
    """huge_pte_lock() (T's split PMD lock), then huge_pmd_unshare(): T shared
    → pud_clear() of this mm's entry; not shared → (a zap) clear T's leaves."""
    mm, start = op.mm, op.start
    pud, idx, t = _pud_step(ctx, state, mm, start)
    who = mm_name(mm)
    if t < 0:
        return go(state, a, fn, f"{fn}(): {who}'s PUD entry is none: nothing to {'unmap' if zap else 'unshare'}", SRC)
    got = pmd_lock(state, a, t, "huge_pte_lock")
    if not isinstance(got, Taken):
        return got
    state, a, lock = got
    after: tuple = (HugePteUnlock(mm),)
    if _sharers(state, t) > 1:
        state = state.but(tables=set_entry(state.tables, pud, idx, None))
        text = (f"huge_pte_lock() takes PMD table #{t}'s lock; huge_pmd_unshare(): the table is shared, so pud_clear() of "
                f"entry {idx} of {who}'s PUD table #{pud}: {who} no longer maps it; ptdesc_pmd_pts_dec()")
        changes = [f"unshared:{t}:{who}"]
        fully = _sharers(state, t) == 1
        if ctx.config.HUGETLB_UNSHARE_SYNC == "in_unshare":
            state, after, how, _, ch = sync_one(ctx, state, a, after)
            text += (f"; v6.16 to v6.18.0 and stable kernels before the fix: tlb_remove_table_sync_one() inside "
                     f"huge_pmd_unshare(), with the lock held: {how}")
            changes += ch
        if not zap:  # hugetlb_unshare_pmds() flushes once its loop is done: huge_pmd_unshare_flush()
            after = after + (HugePmdUnshareFlush(mm),)
        return go(state, a, "huge_pmd_unshare", text, f"{SRC}: huge_pmd_unshare", *changes,
                  call=after, unshared=True, fully=fully, tlock=lock)
    if not zap:
        state = release_spin(state, a, lock)
        return go(state, a, fn, f"{fn}(): PMD table #{t} is not shared: nothing to unshare", SRC)
    # Entries by index: the table maps the same file GiB in every sharer, at each
    # mm's own PUD-aligned address.
    first, last = ctx.geo.pmd_index(start), ctx.geo.pmd_index(op.end - 1)
    tables = state.tables
    n = 0
    for i, e in state.tables[t].entries:
        if first <= i <= last and e.is_leaf:
            tables = set_entry(tables, t, i, None)
            n += 1
    state = state.but(tables=tables)
    return go(state, a, "__unmap_hugepage_range",
              f"huge_pte_lock() takes PMD table #{t}'s lock; it is {who}'s alone now, so __unmap_hugepage_range() clears "
              f"{n} hugetlb PMD entr{'y' if n == 1 else 'ies'} of it", f"{SRC}: __unmap_hugepage_range", f"zap:{t}",
              call=after, zapped=True, tlock=lock)


def _unmap(ctx, state, a, op):
    return _unshare_or_zap(ctx, state, a, op, zap=True)


def _split(ctx, state, a, op):
    """__split_vma() → hugetlb_split(): a split that leaves the PUD-aligned GiB
    around `at` no longer whole in one VMA (the VMA mapped all of it) calls
    hugetlb_unshare_pmds(), which unshares this mm's own entry (its
    huge_pmd_unshare_flush() follows the loop); any other split unshares
    nothing (`if (floor >= vma->vm_start && ceil <= vma->vm_end)`)."""
    vma = find_vma(state.vmas, op.at, op.mm)
    floor = op.at & ~(PUD_SIZE - 1)
    if vma is None or op.at == floor or not (vma.start <= floor and floor + PUD_SIZE <= vma.end):
        where = f"VMA {vma.name}" if vma is not None else "one VMA"
        return go(state, a, "hugetlb_split",
                  f"hugetlb_split() at {op.at:#x}: {where} does not map the whole GiB [{floor:#x}, {floor + PUD_SIZE:#x}), "
                  "so no PMD table of it can be shared: nothing to unshare", f"{SRC}: hugetlb_split")
    return _unshare_or_zap(ctx, state, a, UnmapHugepageRange(op.mm, op.at, op.at), zap=False, fn="hugetlb_split")


def _pte_unlock(ctx, state, a, op):
    lock = a.get("tlock")
    return go(release_spin(state, a, lock), a, "spin_unlock", "spin_unlock() of the PMD table's lock", SRC,
              f"unlock:{lock}", tlock="")


def _unshare_flush(ctx, state, a, op):
    """huge_pmd_unshare_flush() → tlb_flush_unshared_tables(): the TLB flush of
    this mm, then, when a table became exclusive, tlb_remove_table_sync_one(),
    before i_mmap_rwsem is dropped.  From v6.16 to v6.18.0 and in stable kernels
    before the fix only the flush is left here."""
    if not (a.get("unshared") or a.get("zapped")):
        return go(state, a, "huge_pmd_unshare_flush", "huge_pmd_unshare_flush(): nothing was unshared or unmapped", SRC)
    mm = op.mm
    targets = _mm_cpus(ctx, mm, a)
    tail: tuple = ()
    sync_text, sync_ch = "", []
    if a.get("unshared") and a.get("fully") and ctx.config.HUGETLB_UNSHARE_SYNC == "after_flush":
        state, tail, sync_text, _, sync_ch = sync_one(ctx, state, a)
        sync_text = "; then " + sync_text
    if ctx.config.TLB_FLUSH == "broadcast" or not targets:
        how = "a broadcast invalidation (INVLPGB): no IPI" if ctx.config.TLB_FLUSH == "broadcast" else \
            f"no other CPU in {mm_name(mm)}'s mm_cpumask()"
        call, ch = tail, []
    else:
        # The flush IPIs first, then the sync IPI: one IPI in flight per sender.
        state = send_ipi(state, a, "flush_tlb_func", "native_flush_tlb_multi", targets)
        how = f"IPIs {cpu_list(targets)} ({mm_name(mm)}'s mm_cpumask()) and waits"
        call, ch = (WaitIpi(),) + tail, [f"ipi:cpu{c}" for c in sorted(targets)]
        if sync_ch:  # send the sync IPI once the flush is acknowledged
            state = state.but(ipis=tuple(i for i in state.ipis if not (i.sender == a.name and i.handler == "tlb_remove_table_smp_sync")))
            call = (WaitIpi(), _ResendSync())
    return go(state, a, "huge_pmd_unshare_flush",
              f"huge_pmd_unshare_flush() → tlb_flush_unshared_tables(): tlb_flush_mmu_tlbonly() of {mm_name(mm)}: {how}{sync_text}",
              f"{SRC}: huge_pmd_unshare_flush", *ch, *sync_ch, call=call, unshared=False, zapped=False, fully=False)


_ResendSync = instruction("tlb_flush_unshared_tables_sync")


def _resend_sync(ctx, state, a, op):
    state, call, how, _, ch = sync_one(ctx, state, a)
    return go(state, a, "tlb_remove_table_sync_one", f"tlb_flush_unshared_tables(): {how}",
              "include/asm-generic/tlb.h: tlb_flush_unshared_tables", *ch, call=call)


def _other_mm_lock(ctx, state, a, op):
    """Q's own mmap lock: nobody else in the scenario takes it, so it is a step."""
    fn = "mmap_write_unlock" if op.unlock else "mmap_write_lock"
    what = (f"mmap(MAP_FIXED | MAP_ANONYMOUS) returns: {fn}() of {mm_name(op.mm)}'s mm" if op.unlock else
            f"{mm_name(op.mm)} calls mmap(MAP_FIXED | MAP_ANONYMOUS) over part of its hugetlb VMA: vm_mmap_pgoff() → "
            f"mmap_write_lock_killable() of {mm_name(op.mm)}'s mm")
    return go(state, a, fn, what, "include/linux/mmap_lock.h: " + fn)


def _pte_alloc(ctx, state, a, op):
    """A touch of anonymous memory: the fault finds the VMA (lock_vma_under_rcu()),
    then handle_mm_fault() → do_anonymous_page() → pte_alloc() → __pte_alloc():
    pmd_lock() of the PMD table the entry lives in, pmd_populate() with a new
    PTE table, then the page.  Where no VMA maps the address the fault is
    bad_area(): SIGSEGV, and no table is touched."""
    mm, addr = op.mm, op.addr
    vma = find_vma(state.vmas, addr, mm)
    if vma is None:
        return go(state, a, "bad_area", f"{mm_name(mm)} touches {addr:#x}: no VMA maps it, so the fault is bad_area(): SIGSEGV",
                  "arch/x86/mm/fault.c: do_user_addr_fault")
    if vma.kind != "anon":  # hugetlb_fault() and filemap faults are not what this step models
        raise ValueError(f"__pte_alloc at {addr:#x}: VMA {vma.name} is {vma.kind}; the model faults anonymous memory only")
    root = root_of(ctx, mm)
    tables, allocated, pmd = ensure_table(state.tables, ctx.geo, addr, Level.PMD, root, mm)
    st = state.but(tables=tables)
    got = pmd_lock(st, a, pmd.tid, "__pte_alloc")
    if not isinstance(got, Taken):
        return got
    st, a, lock = got
    tables, more, pte = ensure_table(st.tables, ctx.geo, addr, Level.PTE, root, mm)
    tables = set_entry(tables, pte.tid, ctx.geo.pte_index(addr), Entry("leaf", 4096))
    st = release_spin(st.but(tables=tables), a, lock)
    new = ", ".join(f"{al.function}() → {al.level.name} table #{al.tid}" for al in allocated + more)
    reused = " (the table once shared with P: reuse)" if pmd.mm == "shared" else ""
    return go(st, a, "__pte_alloc",
              f"{mm_name(mm)} touches {addr:#x} in its anonymous VMA {vma.name} (lock_vma_under_rcu()); do_anonymous_page() → "
              f"pte_alloc(): under PMD table #{pmd.tid}'s lock{reused} {new}; "
              f"set_pte_at() maps {mm_name(mm)}'s page", "mm/memory.c: __pte_alloc",
              *(f"allocated:{al.tid}" for al in allocated + more))


OPS = {
    IMmapLockWrite: _i_mmap_lock_write,
    IMmapUnlockWrite: _i_mmap_unlock_write,
    HugetlbVmaTrylockWrite: _trylock,
    HugetlbVmaLockWrite: _lock_write,
    HugetlbVmaUnlockWrite: _unlock_write,
    UnmapHugepageRange: _unmap,
    HugetlbSplit: _split,
    HugePteUnlock: _pte_unlock,
    HugePmdUnshareFlush: _unshare_flush,
    _ResendSync: _resend_sync,
    OtherMmLock: _other_mm_lock,
    PteAlloc: _pte_alloc,
}
