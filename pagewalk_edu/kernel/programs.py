"""Each racing kernel path's order of kernel functions, written once: munmap()
(mm/vma.c do_vmi_align_munmap), madvise(MADV_DONTNEED) (mm/madvise.c),
khugepaged's collapse_huge_page() and retract_page_tables() (mm/khugepaged.c)
and mremap() (mm/mremap.c).

A builder turns a PathSpec of a Layout into a program: a fixed tuple of typed
instructions (kernel/program.py), one per kernel function, with labels where
a step may jump (a failed trylock's `continue`, khugepaged giving up on a PMD
range, try_vma_read_lock()'s fall-back to the mmap lock), that kernel/paths/
executes one atomic step at a time.  Decisions that depend on the state when
the path runs (which tables free_pgd_range() frees, whether
lock_vma_under_rcu() succeeds) are taken by the instructions, not here: a step
calls a sub-program or jumps to a label; the program itself never changes.

A new racing path registers its builder with register_path() (the built-in
ones below do the same), and its steps with kernel/paths register_ops().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .config import KernelConfig
from .geometry import PAGE_SIZE, PMD_SIZE
from .layout import PATH_CHECKS, PATH_OPS, LayoutError, PathSpec
from .paths.khugepaged import (
    NEXT_PMD,
    OUT_UP_WRITE,
    RETRACT_NEXT,
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
    FALLBACK,
    UNLOCK,
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
from .program import Label, Program, Return
from .vma import Vma

#: Where in its 2 MiB hole Q touches anonymous memory: the offset the shipped
#: hugetlb layouts walk in P, so that the walk can return Q's very page.
FAULT_OFFSET = 0x5000


Builder = Callable[[PathSpec, tuple[Vma, ...], KernelConfig], Program]


@dataclass(frozen=True)
class PathKind:
    """A racing path a layout may name (`op = "..."` in a [[path]] table)."""

    op: str
    build: Builder  # (spec, vmas, config) → the program
    actor: str  # the actor (role) it runs as unless the file names one
    in_mm: bool  # a thread of the walked mm (its CPU in mm_cpumask())


PATHS: dict[str, PathKind] = {}


def register_path(op: str, build: Builder, *, actor: str | None = None, in_mm: bool | None = None,
                  check: Callable[..., Any] | None = None) -> PathKind:
    """Let layouts name the racing path `op`, built by `build`.  A new path gives
    `actor` (default: op) and `in_mm` (default: a thread of the walked mm), and
    may give check(start, end, table, vmas, key), which raises LayoutError on a
    range the path cannot take (default: page-aligned and inside VMAs)."""
    if not isinstance(op, str) or not op.isidentifier():
        raise ValueError(f"a path's op is a name of letters, digits and _, got {op!r}")
    if not callable(build):
        raise TypeError(f"the builder of {op} must be callable, got {type(build).__name__}")
    if op in PATHS and PATHS[op].build is not build:
        raise ValueError(f"path {op!r} is already registered (by {PATHS[op].build.__qualname__})")
    known = PATH_OPS.get(op)
    kind = PathKind(op, build, actor or (known[0] if known else op),
                    in_mm if in_mm is not None else (known[1] if known else True))
    PATHS[op] = kind
    PATH_OPS[op] = (kind.actor, kind.in_mm)
    if check is not None or known is None:  # the built-in ops keep layout.py's checks
        PATH_CHECKS[op] = check or check_inside_vmas
    return kind


def check_inside_vmas(start: int, end: int, table: dict, vmas: tuple[Vma, ...], key: str) -> None:
    """The default check of a registered path: a page-aligned range with no hole,
    inside VMAs."""
    if start % PAGE_SIZE or end % PAGE_SIZE:
        raise LayoutError(f"{key}: [{start:#x}, {end:#x}) is not page-aligned; give multiples of 4 KiB")
    pos = start
    for v in _covered(vmas, start, end):
        if v.start > pos:
            break
        pos = v.end
    if pos < end:
        raise LayoutError(f"{key}: [{start:#x}, {end:#x}) is not inside VMAs (nothing mapped at {pos:#x}); give a range inside VMAs")


def in_mm(op: str) -> bool:
    """Is the path a thread of the walked mm (its CPU in mm_cpumask())?"""
    return PATH_OPS[op][1]


def build_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    return PATHS[spec.op].build(spec, vmas, config)


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
        return Program((MmapWriteLock("mmap_write_lock_killable"), MmapWriteUnlock()))
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
    # free_pgtables() gathers the VMAs detached in [lo, hi) into free_pgd_range()
    # calls as mm/memory.c does (paths/memory.free_pgtables_plan()).
    prog += [
        VmsGatherMunmapVmas(tuple(names)),
        MmapWriteDowngrade(),
        UnmapVmas(lo, hi, False),
        FreePgtables(lo, hi),
        TlbFinishMmu(),
        MmapReadUnlock(),
    ]
    return Program(prog)


def madvise_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """madvise(MADV_DONTNEED): madvise_lock() with MADVISE_VMA_READ_LOCK;
    madvise_walk_vmas() → try_vma_read_lock() for a range inside one VMA (else
    the mmap read lock), zap_page_range_single_batched() per VMA with
    details->reclaim_pt when PT_RECLAIM is set, vma_end_read(), then
    madvise_finish_tlb() → tlb_finish_mmu()."""
    start, end = spec.start, spec.end
    inside = _covered(vmas, start, end)
    if len(inside) == 1:
        zap = ZapPageRangeSingleBatched(start, end, config.PT_RECLAIM)
        return Program((
            LockVmaUnderRcu(start),  # fails: goto FALLBACK
            zap,
            VmaEndRead(),
            TlbFinishMmu(),
            Return(),
            # try_vma_read_lock() failed: mmap_read_lock(), the VMA looked up again
            # (gone: goto UNLOCK), the same zap, madvise_unlock().
            Label(FALLBACK),
            MmapReadLock(start),
            zap,
            TlbFinishMmu(),
            Label(UNLOCK),
            MmapReadUnlock(),
        ))
    # try_vma_read_lock(): the range ends beyond the first VMA, so it drops the
    # VMA lock and madvise_walk_vmas() runs under mmap_read_lock(), one zap per VMA.
    prog: list[tuple] = [MadviseSpansVmas(start, end, inside[0].name), MmapReadLock()]
    for v in inside:
        prog.append(MadviseVma(v.name, max(start, v.start), min(end, v.end), config.PT_RECLAIM))
    prog += [TlbFinishMmu(), MmapReadUnlock()]
    return Program(prog)


def collapse_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """khugepaged_scan_mm_slot() → hpage_collapse_scan_pmd() → collapse_huge_page(),
    one PMD range after the other."""
    prog: list[tuple] = []
    for at in range(spec.start, spec.end, PMD_SIZE):
        vma = next(v for v in vmas if v.contains(at))
        if prog:
            prog += [Label(NEXT_PMD), KhugepagedScanMmSlot()]
        prog += [
            MmapReadLock(),
            HpageCollapseScanPmd(at),  # nothing to collapse: mmap_read_unlock(), goto NEXT_PMD
            MmapReadUnlock(),
            MmapWriteLock("mmap_write_lock"),
            HugepageVmaRevalidate(at),  # the VMA or table is gone: goto OUT_UP_WRITE
            VmaStartWrite(vma.name),
            AnonVmaLockWrite(),
            SpinLock("pmd", "pmd_lock"),
            PmdpCollapseFlush("anon"),
            SpinUnlock("pmd"),
            TlbRemoveTableSyncOne(),
            CollapseHugePageIsolate(),
            AnonVmaUnlockWrite(),
            SetPmdAt(),
            Label(OUT_UP_WRITE),
            MmapWriteUnlock(),
        ]
    return Program(prog + [Label(NEXT_PMD)])


def retract_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """collapse_file() → retract_page_tables() for each PMD range of the file."""
    prog: list[tuple] = []
    for at in range(spec.start, spec.end, PMD_SIZE):
        if prog:
            prog.append(KhugepagedScanMmSlot())
        prog += [
            IMmapLockRead(),
            FindPmdOrThpOrNone(at),  # no PTE table: goto RETRACT_NEXT
            SpinLock("pmd", "pmd_lock"),
            CheckPmdState(),  # the entry changed: goto RETRACT_NEXT
            SpinLock("ptl", "spin_lock_nested"),
            PmdpCollapseFlush("retract"),
            SpinUnlock("ptl", "pmd"),
            PteFreeDefer(),
            Label(RETRACT_NEXT),
            IMmapUnlockRead(),
        ]
    return Program(prog)


def mremap_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """mremap() of a whole VMA: vma_start_write(), copy_vma(), move_page_tables(),
    then the old range is unmapped as munmap does (do_vmi_munmap())."""
    vma = next(v for v in vmas if v.start == spec.start and v.end == spec.end)
    size = spec.end - spec.start
    return Program((
        MmapWriteLock("mmap_write_lock_killable"),
        VmaStartWrite(vma.name),
        CopyVma(vma.name, spec.new, vma.name + ".new"),
        MovePageTables(vma.name, spec.start, spec.new, size),
        VmsGatherMunmapVmas((vma.name,)),
        UnmapVmas(spec.start, spec.end, False),
        FreePgtables(spec.start, spec.end),
        TlbFinishMmu(),
        MmapWriteUnlock(),
    ))


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
    from .paths.hugetlb import (NEXT_VMA, HugePmdUnshareFlush, HugetlbVmaTrylockWrite, HugetlbVmaUnlockWrite,
                                IMmapLockWrite, IMmapUnlockWrite, UnmapHugepageRange)
    walked = _hugetlb_vmas(vmas)
    base = walked[0].start
    prog: list = [IMmapLockWrite("hugetlbfs_punch_hole")]
    for v in walked:
        lo, hi = v.start + (spec.start - base), v.start + (spec.end - base)
        # the trylock fails: goto NEXT_VMA (`continue`)
        prog += [HugetlbVmaTrylockWrite(v.name), UnmapHugepageRange(v.mm, lo, hi), HugePmdUnshareFlush(v.mm),
                 HugetlbVmaUnlockWrite(v.name), Label(NEXT_VMA)]
    prog.append(IMmapUnlockWrite())
    return Program(prog)


def hugetlb_dontneed_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """P's own madvise(MADV_DONTNEED) of its hugetlb range: under the VMA read lock
    (MADVISE_VMA_READ_LOCK), zap_vma_range_batched() → __hugetlb_zap_begin()
    (hugetlb_vma_lock_write(), i_mmap_lock_write()) → __unmap_hugepage_range() →
    huge_pmd_unshare(), huge_pmd_unshare_flush(), then __hugetlb_zap_end()."""
    from .paths.hugetlb import (HugePmdUnshareFlush, HugetlbVmaLockWrite, HugetlbVmaUnlockWrite, IMmapLockWrite,
                                IMmapUnlockWrite, UnmapHugepageRange)
    vma = next(v for v in vmas if v.mm == "" and v.contains(spec.start))
    zap = (
        HugetlbVmaLockWrite(vma.name),
        IMmapLockWrite("__hugetlb_zap_begin"),
        UnmapHugepageRange("", spec.start, spec.end),
        HugePmdUnshareFlush(""),
        IMmapUnlockWrite(),
        HugetlbVmaUnlockWrite(vma.name),
    )
    # try_vma_read_lock() fails: the same zap under mmap_read_lock(), then
    # madvise_unlock() → mmap_read_unlock().
    return Program((LockVmaUnderRcu(spec.start), *zap, VmaEndRead(), Return(),
                    Label(FALLBACK), MmapReadLock(spec.start), *zap, Label(UNLOCK), MmapReadUnlock()))


def hugetlb_reuse_program(spec: PathSpec, vmas: tuple[Vma, ...], config: KernelConfig) -> Program:
    """Q maps anonymous memory over 2 MiB of its hugetlb VMA and touches it:
    mmap(MAP_FIXED | MAP_ANONYMOUS) → mmap_region() → __mmap_region() under
    mmap_write_lock_killable().  vms_gather_munmap_vmas() splits the VMA at
    each end of the range (__split_vma(): vma_prepare() takes
    i_mmap_lock_write(); hugetlb_split() → hugetlb_unshare_pmds() unshares Q's
    entry if the split leaves a shared GiB no longer whole in one VMA, then
    huge_pmd_unshare_flush(); vma_complete() drops i_mmap_rwsem) and detaches
    the middle VMA; vms_clean_up_area() → vms_clear_ptes() → unmap_vmas() →
    hugetlb_zap_begin() → __hugetlb_zap_begin() takes the hole's hugetlb VMA
    lock, then i_mmap_rwsem, for the zap, and __hugetlb_zap_end() drops them
    (ZAP_FLAG_UNMAP: the VMA lock is freed first); free_pgtables() keeps the PMD
    table, which maps the rest of Q's VMA; __mmap_new_vma() stores the
    anonymous VMA over the range.  After mmap_write_unlock(), Q touches it: the
    fault's pte_alloc() installs Q's PTE table (in the PMD table Q shared, if
    its PUD entry still points there).  Without the new VMA the touch would be
    a SIGSEGV: munmap() alone leaves no VMA in the hole.
    The VMA that keeps mapping the range keeps Q's VMA's name and its hugetlb
    VMA lock, the one hugetlb_vmdelete_list() trylocks.  Q's per-VMA locks are not steps: no other actor takes them."""
    from .paths.hugetlb import (HugePmdUnshareFlush, HugetlbSplit, HugetlbVmaLockWrite, HugetlbVmaUnlockWrite,
                                IMmapLockWrite, IMmapUnlockWrite, OtherMmLock, PteAlloc, UnmapHugepageRange)
    from .paths.vma import MmapNewVma

    vma = next(v for v in vmas if v.contains(spec.start) and v.mm)
    mm, start, end = vma.mm, spec.start, spec.end
    # The VMA struct that keeps mapping the range (and its hugetlb VMA lock:
    # hugetlb_vm_op_open() gives each new part a lock of its own) keeps the
    # name; the parts split off below and above are new VMAs.
    hole = vma.name
    prog: list = [OtherMmLock(mm, False)]
    if vma.start < start:  # __split_vma(vmi, vma, start, 1): the new VMA is the part below
        prog += [IMmapLockWrite("__split_vma"), HugetlbSplit(mm, start), SplitVma(hole, start, hole + ".lo", True),
                 IMmapUnlockWrite()]
    if end < vma.end:  # __split_vma(vmi, next, end, 0): the new VMA is the part above
        prog += [IMmapLockWrite("__split_vma"), HugetlbSplit(mm, end), SplitVma(hole, end, hole + ".hi"),
                 IMmapUnlockWrite()]
    prog += [
        VmsGatherMunmapVmas((hole,), "__mmap_region"),
        HugetlbVmaLockWrite(vma.name),
        IMmapLockWrite("__hugetlb_zap_begin"),
        UnmapHugepageRange(mm, start, end),
        HugePmdUnshareFlush(mm),
        HugetlbVmaUnlockWrite(vma.name),
        IMmapUnlockWrite(),
        MmapNewVma(mm, start, end, f"{mm}A", hole),
        OtherMmLock(mm, True),
        PteAlloc(mm, start + FAULT_OFFSET),
    ]
    return Program(prog)


for _op, _build in (
    ("munmap", munmap_program),
    ("madvise", madvise_program),
    ("khugepaged_collapse", collapse_program),
    ("retract_page_tables", retract_program),
    ("mremap", mremap_program),
    ("hugetlb_punch_hole", hugetlb_punch_hole_program),
    ("hugetlb_dontneed", hugetlb_dontneed_program),
    ("hugetlb_reuse", hugetlb_reuse_program),
):
    register_path(_op, _build)
