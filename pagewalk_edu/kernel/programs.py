"""Each racing kernel path's order of kernel functions, written once: munmap()
(mm/vma.c do_vmi_align_munmap), madvise(MADV_DONTNEED) (mm/madvise.c),
khugepaged's collapse_huge_page() and retract_page_tables() (mm/khugepaged.c)
and mremap() (mm/mremap.c).

A builder turns a PathSpec of a Layout into a program: a tuple of typed
instructions (kernel/program.py), one per kernel function, that kernel/paths/
executes one atomic step at a time.  Decisions that
depend on the state when the path runs (which tables free_pgd_range() frees,
whether lock_vma_under_rcu() succeeds) are taken by the instructions, not here.
"""

from __future__ import annotations

from .config import KernelConfig
from .geometry import PMD_SIZE
from .layout import PATH_OPS, PathSpec
from .paths.khugepaged import (
    AnonVmaLockWrite,
    AnonVmaUnlockWrite,
    CheckPmdState,
    CollapseHugePageIsolate,
    FindPmdOrThpOrNone,
    HpageCollapseScanPmd,
    HugepageVmaRevalidate,
    IMmapLockRead,
    IMmapUnlockRead,
    KhugepagedScanMmSlot,
    PmdpCollapseFlush,
    PteFreeDefer,
    SetPmdAt,
    SpinLock,
    SpinUnlock,
)
from .paths.madvise import MadviseSpansVmas, MadviseVma
from .paths.memory import FreePgtables, UnmapVmas, ZapPageRangeSingleBatched
from .paths.mmap_lock import (
    LockVmaUnderRcu,
    MmapReadLock,
    MmapReadUnlock,
    MmapWriteDowngrade,
    MmapWriteLock,
    MmapWriteUnlock,
    VmaEndRead,
    VmaStartWrite,
)
from .paths.mmu_gather import TlbFinishMmu, TlbRemoveTableSyncOne
from .paths.mremap import MovePageTables
from .paths.vma import CopyVma, SplitVma, VmsGatherMunmapVmas
from .program import Program
from .vma import Vma

#: Between two PMD ranges of one khugepaged path: a step that gives up on one
#: PMD skips to the next one (khugepaged_scan_mm_slot() moves on).
NEXT_PMD = KhugepagedScanMmSlot()
#: Where in its 2 MiB hole Q touches anonymous memory: the offset the shipped
#: hugetlb layouts walk in P, so that the walk can return Q's very page.
FAULT_OFFSET = 0x5000


def in_mm(op: str) -> bool:
    """Is the path a thread of the walked mm (its CPU in mm_cpumask())?"""
    return PATH_OPS[op][1]


def build_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    return _BUILDERS[spec.op](spec, vmas, config)


def _covered(vmas: tuple[Vma, ...], start: int, end: int) -> list[Vma]:
    return [v for v in vmas if v.start < end and start < v.end]


def munmap_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """do_vmi_align_munmap(): mmap_write_lock_killable(); vms_gather_munmap_vmas()
    splits the edges (__split_vma() write-locks the VMA it splits and the new
    one) and vma_start_write()s each VMA in the range, then detaches them;
    vms_complete_munmap_vmas() downgrades to the read lock before
    vms_clear_ptes() runs unmap_vmas() and free_pgtables()."""
    start, end = spec.start, spec.end
    inside = _covered(vmas, start, end)
    if not inside:  # do_vmi_munmap(): vma_find() finds nothing in the range: unlock, return 0
        return (MmapWriteLock("mmap_write_lock_killable"), MmapWriteUnlock())
    prog: list[tuple] = [MmapWriteLock("mmap_write_lock_killable")]
    names: list[str] = []
    locked: set[str] = set()
    for v in inside:
        name = v.name
        if v.start < start:  # __split_vma(vmi, vma, start, 1): the range's part gets a new VMA
            prog += [VmaStartWrite(name), SplitVma(name, start, name + ".hi")]
            name = name + ".hi"
            locked.add(name)
        if v.end > end:  # __split_vma(vmi, next, end, 0): the part above the range stays mapped
            if name not in locked:
                prog.append(VmaStartWrite(name))
                locked.add(name)
            prog.append(SplitVma(name, end, name + ".hi"))
        if name not in locked:
            prog.append(VmaStartWrite(name))
            locked.add(name)
        names.append(name)
    lo, hi = max(start, inside[0].start), min(end, inside[-1].end)
    # free_pgtables() runs free_pgd_range() per unmapped VMA with the same floor;
    # no table lies only in a hole between them, so one call over [lo, hi) frees the same set.
    prog += [
        VmsGatherMunmapVmas(tuple(names)),
        MmapWriteDowngrade(),
        UnmapVmas(lo, hi, False),
        FreePgtables(lo, hi),
        TlbFinishMmu(),
        MmapReadUnlock(),
    ]
    return tuple(prog)


def madvise_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """madvise(MADV_DONTNEED): madvise_lock() with MADVISE_VMA_READ_LOCK;
    madvise_walk_vmas() → try_vma_read_lock() for a range inside one VMA (else
    the mmap read lock), zap_page_range_single_batched() per VMA with
    details->reclaim_pt when PT_RECLAIM is set, vma_end_read(), then
    madvise_finish_tlb() → tlb_finish_mmu()."""
    start, end = spec.start, spec.end
    inside = _covered(vmas, start, end)
    if len(inside) == 1:
        return (
            LockVmaUnderRcu(start),
            ZapPageRangeSingleBatched(start, end, config.PT_RECLAIM),
            VmaEndRead(),
            TlbFinishMmu(),
        )
    # try_vma_read_lock(): the range ends beyond the first VMA, so it drops the
    # VMA lock and madvise_walk_vmas() runs under mmap_read_lock(), one zap per VMA.
    prog: list[tuple] = [MadviseSpansVmas(start, end, inside[0].name), MmapReadLock()]
    for v in inside:
        prog.append(MadviseVma(v.name, max(start, v.start), min(end, v.end), config.PT_RECLAIM))
    prog += [TlbFinishMmu(), MmapReadUnlock()]
    return tuple(prog)


def collapse_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """khugepaged_scan_mm_slot() → hpage_collapse_scan_pmd() → collapse_huge_page(),
    one PMD range after the other."""
    prog: list[tuple] = []
    for at in range(spec.start, spec.end, PMD_SIZE):
        vma = next(v for v in vmas if v.contains(at))
        if prog:
            prog.append(NEXT_PMD)
        prog += [
            MmapReadLock(),
            HpageCollapseScanPmd(at),
            MmapReadUnlock(),
            MmapWriteLock("mmap_write_lock"),
            HugepageVmaRevalidate(at),
            VmaStartWrite(vma.name),
            AnonVmaLockWrite(),
            SpinLock("pmd", "pmd_lock"),
            PmdpCollapseFlush("anon"),
            SpinUnlock("pmd"),
            TlbRemoveTableSyncOne(),
            CollapseHugePageIsolate(),
            AnonVmaUnlockWrite(),
            SetPmdAt(),
            MmapWriteUnlock(),
        ]
    return tuple(prog)


def retract_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """collapse_file() → retract_page_tables() for each PMD range of the file."""
    prog: list[tuple] = []
    for at in range(spec.start, spec.end, PMD_SIZE):
        if prog:
            prog.append(NEXT_PMD)
        prog += [
            IMmapLockRead(),
            FindPmdOrThpOrNone(at),
            SpinLock("pmd", "pmd_lock"),
            CheckPmdState(),
            SpinLock("ptl", "spin_lock_nested"),
            PmdpCollapseFlush("retract"),
            SpinUnlock("ptl", "pmd"),
            PteFreeDefer(),
            IMmapUnlockRead(),
        ]
    return tuple(prog)


def mremap_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """mremap() of a whole VMA: vma_start_write(), copy_vma(), move_page_tables(),
    then the old range is unmapped as munmap does (do_vmi_munmap())."""
    vma = next(v for v in vmas if v.start == spec.start and v.end == spec.end)
    size = spec.end - spec.start
    return (
        MmapWriteLock("mmap_write_lock_killable"),
        VmaStartWrite(vma.name),
        CopyVma(vma.name, spec.new, vma.name + ".new"),
        MovePageTables(vma.name, spec.start, spec.new, size),
        VmsGatherMunmapVmas((vma.name,)),
        UnmapVmas(spec.start, spec.end, False),
        FreePgtables(spec.start, spec.end),
        TlbFinishMmu(),
        MmapWriteUnlock(),
    )


def _hugetlb_vmas(vmas: tuple[Vma, ...]) -> list[Vma]:
    """The file's mapping->i_mmap, in the order hugetlb_vmdelete_list() visits it:
    the walked mm's VMA first (the layout's choice; the other order unshares Q
    instead and leaves P's tables alone)."""
    return sorted((v for v in vmas if v.kind == "hugetlb"), key=lambda v: (v.mm != "", v.start))


def hugetlb_punch_hole_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """fallocate(FALLOC_FL_PUNCH_HOLE) by another task: hugetlbfs_punch_hole() →
    i_mmap_lock_write() → hugetlb_vmdelete_list(): per VMA of the file,
    hugetlb_vma_trylock_write() (a VMA it cannot lock is skipped) →
    unmap_hugepage_range() → __unmap_hugepage_range() → huge_pmd_unshare() or the
    zap, then huge_pmd_unshare_flush() before the VMA's lock and i_mmap_rwsem go."""
    from .paths.hugetlb import (HugePmdUnshareFlush, HugetlbVmaTrylockWrite, HugetlbVmaUnlockWrite, IMmapLockWrite,
                                IMmapUnlockWrite, UnmapHugepageRange)
    walked = _hugetlb_vmas(vmas)
    base = walked[0].start
    prog: list = [IMmapLockWrite("hugetlbfs_punch_hole")]
    for v in walked:
        lo, hi = v.start + (spec.start - base), v.start + (spec.end - base)
        prog += [HugetlbVmaTrylockWrite(v.name), UnmapHugepageRange(v.mm, lo, hi), HugePmdUnshareFlush(v.mm),
                 HugetlbVmaUnlockWrite(v.name)]
    prog.append(IMmapUnlockWrite())
    return tuple(prog)


def hugetlb_dontneed_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """P's own madvise(MADV_DONTNEED) of its hugetlb range: under the VMA read lock
    (MADVISE_VMA_READ_LOCK), zap_vma_range_batched() → __hugetlb_zap_begin()
    (hugetlb_vma_lock_write(), i_mmap_lock_write()) → __unmap_hugepage_range() →
    huge_pmd_unshare(), huge_pmd_unshare_flush(), then __hugetlb_zap_end()."""
    from .paths.hugetlb import (HugePmdUnshareFlush, HugetlbVmaLockWrite, HugetlbVmaUnlockWrite, IMmapLockWrite,
                                IMmapUnlockWrite, UnmapHugepageRange)
    vma = next(v for v in vmas if v.mm == "" and v.contains(spec.start))
    return (
        LockVmaUnderRcu(spec.start),
        HugetlbVmaLockWrite(vma.name),
        IMmapLockWrite("__hugetlb_zap_begin"),
        UnmapHugepageRange("", spec.start, spec.end),
        HugePmdUnshareFlush(""),
        IMmapUnlockWrite(),
        HugetlbVmaUnlockWrite(vma.name),
        VmaEndRead(),
    )


def hugetlb_reuse_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """Q unmaps a 2 MiB hole of its hugetlb VMA (mmap_write_lock(); __split_vma()
    → vma_prepare() takes i_mmap_lock_write(); hugetlb_split() →
    hugetlb_unshare_pmds() unshares Q's entry if the table is still shared; the
    zap; free_pgtables() keeps the PMD table, which maps the rest of Q's VMA) and
    faults anonymous memory there: pte_alloc() installs Q's PTE table."""
    from .paths.hugetlb import (HugePmdUnshareFlush, HugetlbSplit, IMmapLockWrite, IMmapUnlockWrite, OtherMmLock,
                                PteAlloc, UnmapHugepageRange)
    vma = next(v for v in vmas if v.contains(spec.start) and v.mm)
    return (
        OtherMmLock(vma.mm, False),
        IMmapLockWrite("__split_vma"),
        HugetlbSplit(vma.mm, spec.start),
        HugePmdUnshareFlush(vma.mm),
        UnmapHugepageRange(vma.mm, spec.start, spec.end),
        HugePmdUnshareFlush(vma.mm),
        IMmapUnlockWrite(),
        OtherMmLock(vma.mm, True),
        PteAlloc(vma.mm, spec.start + FAULT_OFFSET),
    )


_BUILDERS = {
    "hugetlb_punch_hole": hugetlb_punch_hole_program,
    "hugetlb_dontneed": hugetlb_dontneed_program,
    "hugetlb_reuse": hugetlb_reuse_program,
    "munmap": munmap_program,
    "madvise": madvise_program,
    "khugepaged_collapse": collapse_program,
    "retract_page_tables": retract_program,
    "mremap": mremap_program,
}
