"""Which page tables munmap() frees: mm/memory.c free_pgtables() and
free_pgd_range() with free_p4d_range(), free_pud_range(), free_pmd_range(),
free_pte_range().  Computed as a plan of ordered operations, so that an
actor can carry them out one atomic step at a time (kernel/paths/memory.py)
and the sequential runner in one go (kernel/sequential.py).
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from .geometry import PMD_SIZE, Geometry, Level
from .pgtable import Tables

U64 = (1 << 64) - 1


class FreeOp(NamedTuple):
    """One table freed by free_pgd_range(): clear the parent entry, then
    pte_free_tlb()/pmd_free_tlb()/pud_free_tlb()/p4d_free_tlb()."""

    function: str  # free_pte_range, free_pmd_range, free_pud_range, free_p4d_range
    free_function: str  # pte_free_tlb, pmd_free_tlb, pud_free_tlb, p4d_free_tlb
    level: Level  # level of the freed table
    tid: int
    parent: int
    index: int  # entry in the parent that is cleared
    start: int
    end: int


def _addr_end(addr: int, end: int, span: int) -> int:
    """pgd_addr_end() and friends, with the kernel's unsigned arithmetic."""
    boundary = (addr + span) & ~(span - 1) & U64
    return boundary if ((boundary - 1) & U64) < ((end - 1) & U64) else end


def _upper_free_allowed(start: int, end: int, floor: int, ceiling: int, mask: int) -> bool:
    """The floor/ceiling test at the end of free_pmd_range(), free_pud_range(),
    free_p4d_range(): free the table only if the whole span it maps, rounded to
    its level, lies inside [floor, ceiling)."""
    start &= mask
    if start < floor:
        return False
    if ceiling:
        ceiling &= mask
        if not ceiling:
            return False
    if ((end - 1) & U64) > ((ceiling - 1) & U64):
        return False
    return True


def free_pgd_range(
    tables: Tables, geo: Geometry, addr: int, end: int, floor: int, ceiling: int
) -> list[FreeOp]:
    """The tables free_pgd_range(tlb, addr, end, floor, ceiling) frees, in order.

    floor is the end of the previous VMA (or FIRST_USER_ADDRESS, 0 on x86) and
    ceiling the start of the next one (or USER_PGTABLES_CEILING, 0: the top).
    """
    ops: list[FreeOp] = []
    pmd_mask = ~(PMD_SIZE - 1) & U64
    addr &= pmd_mask
    if addr < floor:
        addr = (addr + PMD_SIZE) & U64
        if not addr:
            return ops
    if ceiling:
        ceiling &= pmd_mask
        if not ceiling:
            return ops
    if ((end - 1) & U64) > ((ceiling - 1) & U64):
        end -= PMD_SIZE
    if addr > ((end - 1) & U64):
        return ops

    pgd = tables[0]
    pgdir = geo.entry_span(Level.PGD)
    while True:
        nxt = _addr_end(addr, end, pgdir)
        entry = pgd.get(geo.pgd_index(addr))
        if entry is not None and entry.is_table:
            if geo.levels == 5:
                _free_p4d_range(tables, geo, pgd, geo.pgd_index(addr), addr, nxt, floor, ceiling, ops)
            else:
                # P4D folded: the PGD entry is the p4d; free_p4d_range() loops once
                # and its pgd_clear()/p4d_free_tlb() are no-ops.
                _free_pud_range(tables, geo, pgd, geo.pgd_index(addr), addr, nxt, floor, ceiling, ops)
        addr = nxt
        if addr == end:
            return ops


def _free_p4d_range(tables, geo, pgd, pgd_idx, addr, end, floor, ceiling, ops) -> None:
    _free_upper_range(Level.P4D, tables, geo, pgd, pgd_idx, addr, end, floor, ceiling, ops)


def _free_pud_range(tables, geo, parent, parent_idx, addr, end, floor, ceiling, ops) -> None:
    _free_upper_range(Level.PUD, tables, geo, parent, parent_idx, addr, end, floor, ceiling, ops)


def _free_upper_range(level, tables, geo, parent, parent_idx, addr, end, floor, ceiling, ops) -> None:
    """free_p4d_range() and free_pud_range(), which have one shape: free the
    tables below each populated entry of [addr, end), then this table itself if
    the floor/ceiling test at its parent's granularity allows (P4D_MASK for a
    PUD table, PGDIR_MASK for a P4D table; with four levels the P4D is folded
    and P4D_SHIFT == PGDIR_SHIFT)."""
    table = tables[parent.get(parent_idx).target]
    start = addr
    span = geo.entry_span(level)
    free_below = _free_pud_range if level is Level.P4D else _free_pmd_range
    while True:
        nxt = _addr_end(addr, end, span)
        idx = geo.index(level, addr)
        entry = table.get(idx)
        if entry is not None and entry.is_table:
            free_below(tables, geo, table, idx, addr, nxt, floor, ceiling, ops)
        addr = nxt
        if addr == end:
            break
    parent_mask = geo.mask(Level.P4D) if level is Level.PUD and geo.levels == 5 else geo.mask(Level.PGD)
    if _upper_free_allowed(start, end, floor, ceiling, parent_mask):
        name = level.name.lower()
        ops.append(FreeOp(f"free_{name}_range", f"{name}_free_tlb", level, table.tid, parent.tid, parent_idx,
                          *table.span(geo)))


def _free_pmd_range(tables, geo, pud, pud_idx, addr, end, floor, ceiling, ops) -> None:
    pmd = tables[pud.get(pud_idx).target]
    start = addr
    # The kernel's loop visits every PMD entry of [addr, end) and skips the none
    # ones (pmd_none_or_clear_bad()); visiting only the populated entries of that
    # index range, in index order, frees the same tables in the same order.
    first = geo.pmd_index(addr)
    last = geo.pmd_index(end - 1)
    pte_span = geo.table_span(Level.PTE)
    for idx, entry in pmd.entries:
        if idx < first:
            continue
        if idx > last:
            break
        if entry.is_table:
            lo = pmd.base + idx * pte_span
            ops.append(FreeOp("free_pte_range", "pte_free_tlb", Level.PTE, entry.target, pmd.tid, idx, lo, lo + pte_span))
    if _upper_free_allowed(start, end, floor, ceiling, geo.mask(Level.PUD)):
        ops.append(
            FreeOp("free_pmd_range", "pmd_free_tlb", Level.PMD, pmd.tid, pud.tid, pud_idx,
                   *pmd.span(geo))
        )


def free_pgtables_calls(unmapped: Iterable[tuple[int, int]], ceiling: int) -> list[tuple[int, int, int]]:
    """The (addr, end, ceiling) of each free_pgd_range() call that mm/memory.c
    free_pgtables() makes for the unmapped VMAs' [start, end) spans, in address
    order.

    "Optimization: gather nearby vmas into one call down": while the next VMA
    starts at most PMD_SIZE past the end of the current one (next->vm_start <=
    vma->vm_end + PMD_SIZE), they share one call.  A call's ceiling is the
    start of the next VMA (`next ? next->vm_start : ceiling`), or the
    caller's ceiling (vms->unmap_end) after the last one.
    """
    spans = sorted(unmapped)
    calls = []
    i = 0
    while i < len(spans):
        first, last = spans[i], spans[i]
        i += 1
        while i < len(spans) and spans[i][0] <= last[1] + PMD_SIZE:
            last = spans[i]
            i += 1
        calls.append((first[0], last[1], spans[i][0] if i < len(spans) else ceiling))
    return calls


def free_pgtables(tables: Tables, geo: Geometry, unmapped: Iterable[tuple[int, int]], floor: int,
                  ceiling: int) -> list[FreeOp]:
    """The tables mm/memory.c free_pgtables() frees after the VMAs spanning
    `unmapped` were unmapped, in order: free_pgd_range() for each gathered
    group (free_pgtables_calls()), every call with the same floor
    (vms->unmap_start: the kernel does not raise it between groups).

    The plan is made on the tables as they are before any is freed; a later
    call never meets a table an earlier one frees (the groups are more than
    PMD_SIZE apart, and an earlier call frees an upper table only if its whole
    span lies below the next group's start)."""
    ops: list[FreeOp] = []
    for addr, end, top in free_pgtables_calls(unmapped, ceiling):
        ops += free_pgd_range(tables, geo, addr, end, floor, top)
    return ops
