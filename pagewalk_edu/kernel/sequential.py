"""One system call run alone on one mm: the program kernel/programs.py builds
for the explorer (munmap(): mm/vma.c do_vmi_align_munmap; madvise(MADV_DONTNEED):
mm/madvise.c madvise_walk_vmas), executed instruction by instruction with
nothing racing.  This is what `pagewalk-edu tables` runs.

The order of kernel functions lives in the builders only; this module knows
what each instruction does to the page tables and VMAs, through the same
functions the explorer's steps use (kernel/paths/memory.py zap_instructions()
and free_pgtables_plan(), pgtable.unlink_table(), zap.zap_ptes() ...).  With
one actor some work cannot change the outcome, and is skipped:

- locks (mmap_lock, VMA locks, the PMD lock, the ptl): nobody else holds them,
  so every acquisition succeeds at once.  lock_vma_under_rcu() finds the VMA
  unlocked, and try_get_and_clear_pmd()'s spin_trylock() of the PMD lock
  succeeds, so the slow path try_to_free_pte() never runs;
- TLB flushes and their IPIs, tlb_remove_table_sync_one(): no other CPU uses
  this mm;
- RCU grace periods: no reader is inside rcu_read_lock(), so a table handed to
  call_rcu() by tlb_finish_mmu() → tlb_table_flush() is freed as soon as the
  call completes, by tlb_remove_table_rcu() as in the explorer (or at once by
  tlb_batch_pages_flush() without MMU_GATHER_RCU_TABLE_FREE).

tests/kernel/test_one_builder.py runs the same calls through the explorer's
step function with one racing path and checks that both give the same tables.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterable, NamedTuple

from .config import KernelConfig
from .geometry import PMD_SIZE, Geometry
from .pgtable import Tables, free_table, unlink_table
from .paths.madvise import MadviseSpansVmas, MadviseVma
from .paths.memory import (FreePgtables, FreeTable, UnmapVmas, Zap, ZapPageRangeSingleBatched, free_pgtables_plan,
                           zap_instructions)
from .paths.mmap_lock import (FALLBACK, UNLOCK, LockVmaUnderRcu, MmapReadLock, MmapReadUnlock, MmapWriteDowngrade,
                              MmapWriteLock, MmapWriteUnlock, VmaEndRead, VmaStartWrite)
from .paths.mmu_gather import TlbFinishMmu
from .paths.pt_reclaim import FreePte
from .paths.vma import SplitVma, VmsGatherMunmapVmas
from .program import Program
from .tablestore import TableStore
from .vma import Vma, find_vma, replace_vma, split_vma
from .zap import pte_table_empty, reclaim_pt_is_enabled, zap_ptes


class Change(NamedTuple):
    """One page table allocated or freed by a system call.

    `function` is the kernel function responsible (__pte_alloc, free_pgd_range,
    free_pte ...); `path` is the call chain that reached it.
    """

    level: str
    start: int
    end: int
    function: str
    path: str = ""

    def as_dict(self, base: int = 0) -> dict:
        return {"level": self.level, "start": self.start - base, "end": self.end - base,
                "function": self.function, "path": self.path}


class Done(NamedTuple):
    """What a program left: the tables, the VMAs (those it detached still in,
    marked detached), the VMA splits it made as (old, new) names, and the
    tables it freed, in order."""

    tables: Tables
    vmas: tuple[Vma, ...]
    splits: tuple[tuple[str, str], ...]
    freed: tuple[Change, ...]


class _Run:
    """The mm while one program runs (a local of run_alone(), never shared)."""

    __slots__ = ("geo", "config", "tables", "vmas", "splits", "freed", "batch", "zapper")

    def __init__(self, geo: Geometry, config: KernelConfig, tables: Tables, vmas: tuple[Vma, ...]) -> None:
        self.geo, self.config, self.tables, self.vmas = geo, config, tables, vmas
        self.splits: list[tuple[str, str]] = []
        self.freed: list[Change] = []
        self.batch: list[int] = []  # the mmu_gather's tables, freed by tlb_finish_mmu()
        self.zapper = ""  # the function whose zap is running (unmap_vmas, zap_page_range_single_batched)


class _Goto(NamedTuple):
    """A step's answer: the pc goes to the next Label(label) of the program
    (the kernel's goto), as paths/base.go(goto=...) moves it."""

    label: str


_Step = Callable[[_Run, tuple], "Iterable[tuple] | _Goto | None"]


def run_alone(program: Program, tables: Tables, vmas: tuple[Vma, ...], geo: Geometry,
              config: KernelConfig) -> Done:
    """Run `program` to its end on (tables, vmas), with the explorer's program
    counter rules (kernel/program.py): on by one, to the end at a Return(), to
    a label on a goto; a sub-program a step calls (a zap per PMD entry, a
    free per table) runs to its end before the caller goes on."""
    # A TableStore is edited in place for the length of the call (nobody looks
    # at the tables between two of its instructions): one version per call.
    session = tables.transient() if isinstance(tables, TableStore) else None
    run = _Run(geo, config, tables if session is None else session, vmas)
    try:
        _run(run, program if isinstance(program, Program) else Program(program))
    except BaseException:
        if session is not None:
            session.abandon()
        raise
    return Done(run.tables if session is None else session.persistent(), run.vmas, tuple(run.splits),
                tuple(run.freed))


def _run(run: _Run, program: Program) -> None:
    steps = _STEPS
    pc = 0
    while not program.ends_at(pc):
        op = program[pc]
        more = _step(steps, run, op)
        if type(more) is _Goto:
            pc = program.target(more.label, pc)
            continue
        pc = program.after(pc)
        if more:
            _call(steps, run, more)


def _call(steps: dict, run: _Run, sub) -> None:
    """A called sub-program: plain instructions (the zaps, the frees, a
    free_pte()), each run to its end in turn."""
    if isinstance(sub, Program) and (sub.labels or sub.returns):
        _run(run, sub)
        return
    for op in sub:
        more = _step(steps, run, op)
        if type(more) is _Goto:  # pragma: no cover - no called sub-program has labels
            raise AssertionError(f"goto {more.label} in a called sub-program")
        if more:
            _call(steps, run, more)


def _step(steps: dict, run: _Run, op: tuple):
    step = steps.get(type(op))
    if step is None:
        raise ValueError(f"{op.function}() cannot run alone here: the sequential runner models the instructions of "
                         "munmap() and madvise(MADV_DONTNEED) only")
    return step(run, op)


# --- what each instruction does alone ----------------------------------------------------------


def _nothing(run: _Run, op: tuple) -> None:
    """A lock taken or dropped, a TLB flush: nothing else runs, so nothing to do."""


def _lock_vma(run: _Run, op: tuple):
    """try_vma_read_lock(): lock_vma_under_rcu() read-locks the VMA at the
    address (no writer holds it); with no VMA there, the program's fall-back
    to the mmap read lock (goto FALLBACK), as in the explorer."""
    return _Goto(FALLBACK) if find_vma(run.vmas, op.addr) is None else None


def _mmap_read_lock(run: _Run, op: tuple):
    """mmap_read_lock() (never contended here); a caller that looks a VMA up
    after taking it (op.addr) goes to its unlock if none is there any more."""
    if op.addr is not None and find_vma(run.vmas, op.addr) is None:
        return _Goto(UNLOCK)
    return None


def _split_vma(run: _Run, op: tuple) -> None:
    run.vmas = split_vma(run.vmas, op.vma, op.at, op.new, op.new_below)
    run.splits.append((op.vma, op.new))


def _gather_munmap_vmas(run: _Run, op: tuple) -> None:
    for name in op.vmas:
        run.vmas = replace_vma(run.vmas, name, detached=True)


def _madvise_vma(run: _Run, op: tuple):
    """madvise_walk_vmas(): the VMA, looked up again; its zap is clipped to it."""
    if not any(v.name == op.vma and not v.detached for v in run.vmas):
        return None
    return (ZapPageRangeSingleBatched(op.start, op.end, op.reclaim),)


def _zap_range(run: _Run, op: tuple):
    """unmap_vmas() / zap_page_range_single_batched() → zap_pmd_range()."""
    run.zapper = op.function
    return zap_instructions(run.tables, run.geo, op.start, op.end, op.reclaim)


def _zap(run: _Run, op: tuple):
    """zap_pte_range() of one PMD entry's part of the range; with
    details->reclaim_pt and a zap covering the whole PTE table, an empty table
    is unlinked by try_get_and_clear_pmd() and freed by free_pte()."""
    _, kind, pte, pmd, idx, start, end, reclaim = op
    if kind == "zap_huge_pmd":
        raise ValueError("a huge PMD in a sequential run: its mappings are MADV_NOHUGEPAGE, which installs no THP")
    tables = run.tables
    entry = tables[pmd].get(idx)
    if entry is None or entry.target != pte or not entry.is_table:
        return None  # the PMD entry no longer points to that PTE table
    tables = zap_ptes(tables, run.geo, pte, start, end)
    if not (reclaim_pt_is_enabled(start, end, reclaim) and pte_table_empty(tables, pte)):
        run.tables = tables
        return None
    base = tables[pte].base
    run.tables = unlink_table(tables, pmd, idx, pte)
    run.freed.append(Change("PTE", base, base + PMD_SIZE, "free_pte", _reclaim_path(run.zapper)))
    return (FreePte(pte),)


@lru_cache(maxsize=None)
def _reclaim_path(zapper: str) -> str:
    return f"madvise_dontneed_single_vma → {zapper} → zap_pte_range → try_get_and_clear_pmd → free_pte → pte_free_tlb"


def _free_pgtables(run: _Run, op: tuple):
    _, _, ops = free_pgtables_plan(run.tables, run.geo, run.vmas, op.start, op.end)
    return tuple(FreeTable(*o) for o in ops)


def _free_table(run: _Run, op: tuple) -> None:
    """free_pmd_range() and friends: clear the parent entry, then
    pte_free_tlb()/pmd_free_tlb()/pud_free_tlb() into the mmu_gather."""
    _, caller, free_function, level, tid, parent, index, start, end = op
    run.tables = unlink_table(run.tables, parent, index, tid)
    run.batch.append(tid)
    run.freed.append(Change(level.name, start, end, "free_pgd_range",
                            f"free_pgtables → free_pgd_range → {caller} → {free_function}"))


def _tlb_remove_table(run: _Run, op: tuple) -> None:
    """free_pte() → pte_free_tlb() → tlb_remove_table(): into the mmu_gather."""
    run.batch.append(op.tid)


def _tlb_finish_mmu(run: _Run, op: tuple) -> None:
    """tlb_finish_mmu() → tlb_flush_mmu_free(): mm/mmu_gather.c tlb_table_flush()
    → call_rcu(tlb_remove_table_rcu) with MMU_GATHER_RCU_TABLE_FREE, else
    tlb_batch_pages_flush(); with no reader the grace period ends at once."""
    freed_by = "tlb_remove_table_rcu" if run.config.MMU_GATHER_RCU_TABLE_FREE else "tlb_batch_pages_flush"
    tables = run.tables
    for tid in run.batch:
        tables = free_table(tables, tid, freed_by)
    run.tables = tables
    run.batch.clear()


_STEPS: dict[type, _Step] = {
    MmapWriteLock: _nothing,
    MmapWriteUnlock: _nothing,
    MmapWriteDowngrade: _nothing,
    MmapReadUnlock: _nothing,
    VmaStartWrite: _nothing,
    VmaEndRead: _nothing,
    MadviseSpansVmas: _nothing,
    MmapReadLock: _mmap_read_lock,
    LockVmaUnderRcu: _lock_vma,
    SplitVma: _split_vma,
    VmsGatherMunmapVmas: _gather_munmap_vmas,
    MadviseVma: _madvise_vma,
    UnmapVmas: _zap_range,
    ZapPageRangeSingleBatched: _zap_range,
    Zap: _zap,
    FreePgtables: _free_pgtables,
    FreeTable: _free_table,
    FreePte: _tlb_remove_table,
    TlbFinishMmu: _tlb_finish_mmu,
}
