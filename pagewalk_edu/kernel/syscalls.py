"""A sequential model of one mm's page tables under whole system calls: page
faults (handle_mm_fault → __pud_alloc/__pmd_alloc/__pte_alloc), munmap()
(mm/vma.c do_vmi_align_munmap → mm/memory.c free_pgtables/free_pgd_range) and
madvise(MADV_DONTNEED) (mm/madvise.c → zap_pte_range, mm/pt_reclaim.c).

It uses the same rules as the concurrent actors (pgtable.populate,
pgtable.free_pgd_range, vma.unmap_bounds, zap.*): this is what
`pagewalk-edu tables` predicts and checks against the running kernel's VmPTE.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from .config import KernelConfig
from .geometry import PAGE_SIZE, PMD_SIZE, Geometry, Level
from .pgtable import Allocation, Life, Tables, free_pgd_range, new_tree, pgtables_bytes, populate, set_entry, set_table
from .vma import Vma, unmap_bounds
from .zap import pte_table_empty, reclaim_pt_is_enabled, zap_ptes, zap_targets


class Change(NamedTuple):
    """A table allocated or freed by one system call."""

    level: str
    start: int
    end: int
    function: str

    def as_dict(self) -> dict:
        return {"level": self.level, "start": hex(self.start), "end": hex(self.end), "function": self.function}


@dataclass(frozen=True)
class Mm:
    geo: Geometry
    config: KernelConfig
    tables: Tables
    vmas: tuple[Vma, ...]  # merged runs of mapped memory, sorted

    @classmethod
    def new(cls, config: KernelConfig, neighbours: tuple[Vma, ...] = ()) -> "Mm":
        geo = Geometry(config.PGTABLE_LEVELS)
        return cls(geo, config, new_tree(geo), tuple(sorted(neighbours, key=lambda v: v.start)))

    @property
    def pgtables_bytes(self) -> int:
        return pgtables_bytes(self.tables)

    def mapped(self, start: int, end: int) -> bool:
        """Is every byte of [start, end) inside a VMA?"""
        at = start
        for v in self.vmas:
            if v.start <= at < v.end:
                at = v.end
                if at >= end:
                    return True
        return at >= end

    def overlaps(self, start: int, end: int) -> bool:
        return any(v.start < end and start < v.end for v in self.vmas)

    # --- mmap ---------------------------------------------------------------
    def mmap(self, start: int, end: int) -> tuple["Mm", list[Change], list[Change]]:
        """An anonymous private mapping: no page table is allocated until a fault.
        Adjacent anonymous VMAs with the same flags merge (vma_merge_new_range())."""
        runs = sorted(self.vmas + (Vma(f"anon@{start:#x}", start, end),), key=lambda v: v.start)
        merged: list[Vma] = []
        for v in runs:
            if merged and merged[-1].end == v.start and merged[-1].kind == v.kind and not v.name.startswith("neighbour") \
                    and not merged[-1].name.startswith("neighbour"):
                merged[-1] = replace(merged[-1], end=v.end)
            else:
                merged.append(v)
        return replace(self, vmas=tuple(merged)), [], []

    # --- faults ---------------------------------------------------------------
    def touch(self, addrs) -> tuple["Mm", list[Change], list[Change]]:
        """Write one byte at each address: do_anonymous_page() after allocating
        any missing table on the way down."""
        tables = self.tables
        allocated: list[Allocation] = []
        seen = set()
        for addr in addrs:
            page = addr & ~(PAGE_SIZE - 1)
            if page in seen:
                continue
            seen.add(page)
            leaf = self._leaf(tables, page)
            if leaf:
                continue
            tables, allocs = populate(tables, self.geo, page, Level.PTE)
            allocated.extend(allocs)
        changes = [Change(a.level.name, a.start, a.end, a.function) for a in allocated]
        return replace(self, tables=tables), changes, []

    def _leaf(self, tables: Tables, addr: int) -> bool:
        table = tables[0]
        while True:
            e = table.get(self.geo.index(table.level, addr))
            if e is None:
                return False
            if e.is_leaf:
                return True
            table = tables[e.target]

    # --- munmap -----------------------------------------------------------------
    def munmap(self, start: int, end: int) -> tuple["Mm", list[Change], list[Change]]:
        """do_vmi_align_munmap(): split the edge VMAs, detach what lies inside,
        zap it (unmap_vmas), then free_pgtables() with floor = the previous VMA's
        end and ceiling = the next VMA's start."""
        keep: list[Vma] = []
        removed: list[Vma] = []
        for v in self.vmas:
            if v.end <= start or v.start >= end:
                keep.append(v)
                continue
            if v.start < start:
                keep.append(replace(v, end=start))
            if v.end > end:
                keep.append(replace(v, start=end))
            removed.append(replace(v, start=max(v.start, start), end=min(v.end, end)))
        if not removed:
            return self, [], []
        remaining = tuple(sorted(keep, key=lambda v: v.start))
        floor, ceiling = unmap_bounds(remaining, start, end)
        tables = self.tables
        for v in removed:  # unmap_vmas(): zap every PTE in the detached VMAs
            for t in zap_targets(tables, self.geo, v.start, v.end):
                if t.pte_tid >= 0:
                    tables = zap_ptes(tables, self.geo, t.pte_tid, t.start, t.end)
        freed: list[Change] = []
        # free_pgtables(): gather nearby detached VMAs into one free_pgd_range() call.
        i = 0
        while i < len(removed):
            first = removed[i]
            last = first
            while i + 1 < len(removed) and removed[i + 1].start <= last.end + PMD_SIZE:
                i += 1
                last = removed[i]
            nxt = removed[i + 1].start if i + 1 < len(removed) else ceiling
            for op in free_pgd_range(tables, self.geo, first.start, last.end, floor, nxt):
                tables = set_entry(tables, op.parent, op.index, None)
                tables = set_table(tables, replace(tables[op.tid], life=Life.FREED, counted=False, freed_by=op.function))
                freed.append(Change(op.level.name, op.start, op.end, f"free_pgd_range → {op.function}"))
            i += 1
        return replace(self, tables=tables, vmas=remaining), [], freed

    # --- madvise(MADV_DONTNEED) ----------------------------------------------------
    def madvise_dontneed(self, start: int, end: int) -> tuple["Mm", list[Change], list[Change]]:
        """zap_page_range_single_batched() with details.reclaim_pt: zap the PTEs;
        with CONFIG_PT_RECLAIM, a PTE table whose whole 2 MiB range the zap
        covered and that is then empty is unlinked (try_get_and_clear_pmd()) and
        freed (free_pte() → pte_free_tlb())."""
        tables = self.tables
        freed: list[Change] = []
        for t in zap_targets(tables, self.geo, start, end):
            if t.pte_tid < 0:
                continue
            tables = zap_ptes(tables, self.geo, t.pte_tid, t.start, t.end)
            if reclaim_pt_is_enabled(t.start, t.end, self.config.PT_RECLAIM) and pte_table_empty(tables, t.pte_tid):
                tables = set_entry(tables, t.pmd_tid, t.pmd_index, None)
                pte = tables[t.pte_tid]
                tables = set_table(tables, replace(pte, life=Life.FREED, counted=False, freed_by="free_pte"))
                lo, hi = pte.span(self.geo)
                freed.append(Change("PTE", lo, hi, "try_get_and_clear_pmd → free_pte (PT_RECLAIM)"))
        return replace(self, tables=tables), [], freed
