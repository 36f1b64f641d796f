"""What unmap_vmas() and MADV_DONTNEED do to PTEs and PTE tables: mm/memory.c
(zap_pmd_range, zap_pte_range, zap_huge_pmd), mm/pt_reclaim.c
(reclaim_pt_is_enabled, try_get_and_clear_pmd, try_to_free_pte, free_pte).
"""

from __future__ import annotations

from typing import NamedTuple

from .geometry import PMD_SIZE, Geometry, Level
from .pgtable import Tables, entry_base, iter_entries_in, set_table


class ZapTarget(NamedTuple):
    """One PMD entry in a zapped range: a PTE table (zap_pte_range) or a huge
    PMD (zap_huge_pmd), with the part of the range it covers."""

    function: str
    pmd_tid: int
    pmd_index: int
    pte_tid: int  # -1 for a huge PMD
    start: int
    end: int


def zap_targets(tables: Tables, geo: Geometry, start: int, end: int) -> list[ZapTarget]:
    """zap_pmd_range(): the PMD entries mapping part of [start, end), in order."""
    out = []
    for pmd, index, entry in iter_entries_in(tables, geo, start, end, Level.PMD):
        lo = entry_base(geo, pmd, index)
        z_start, z_end = max(lo, start), min(lo + PMD_SIZE, end)
        if entry.is_table:
            out.append(ZapTarget("zap_pte_range", pmd.tid, index, entry.target, z_start, z_end))
        else:
            out.append(ZapTarget("zap_huge_pmd", pmd.tid, index, -1, z_start, z_end))
    return out


def zap_ptes(tables: Tables, geo: Geometry, pte_tid: int, start: int, end: int) -> Tables:
    """Clear the present PTEs of one PTE table inside [start, end).

    One new entries tuple for the whole range (the same result as clearing the
    entries one by one, without rebuilding the table once per PTE)."""
    table = tables[pte_tid]
    if not table.entries:
        return tables
    if start <= table.base and table.base + PMD_SIZE <= end:
        kept = ()  # the range covers the whole table
    else:
        span = geo.entry_span(Level.PTE)
        kept = tuple((i, e) for i, e in table.entries if not start <= table.base + i * span < end)
    if len(kept) == len(table.entries):
        return tables
    return set_table(tables, table.with_entries(kept))


def reclaim_pt_is_enabled(start: int, end: int, reclaim_pt: bool) -> bool:
    """mm/pt_reclaim.c: details->reclaim_pt && end - start >= PMD_SIZE, i.e. the
    zap covers the PTE table's whole 2 MiB range.  MADV_DONTNEED sets reclaim_pt
    (madvise_dontneed_single_vma()); munmap() does not (free_pgtables() frees)."""
    return reclaim_pt and end - start >= PMD_SIZE


def pte_table_empty(tables: Tables, pte_tid: int) -> bool:
    """try_to_free_pte()'s check: every one of the PTRS_PER_PTE entries is none."""
    return not tables[pte_tid].entries
