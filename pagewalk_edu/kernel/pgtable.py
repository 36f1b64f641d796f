"""Page-table pages and the tree they form: mm/memory.c (__pte_alloc, __pmd_alloc,
__pud_alloc, __p4d_alloc, free_pgd_range and its helpers), include/linux/mm.h
(mm_inc_nr_ptes/pmds/puds: mm->pgtables_bytes).

A table is a value: identity (tid), level, the address it starts mapping, its
populated entries and its lifecycle.  The tree is a tuple of tables indexed by
tid; tid 0 is the PGD.  Freed tables stay in the tuple (their memory may be
read by a racing walker: that read is the use-after-free the monitor reports).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, replace
from enum import Enum
from operator import itemgetter
from typing import Iterator, NamedTuple

from .geometry import PAGE_SIZE, PMD_SIZE, PUD_SIZE, TABLE_BYTES, Geometry, Level

U64 = (1 << 64) - 1
_index = itemgetter(0)


class Life(str, Enum):
    """Lifecycle of a page-table page."""

    LIVE = "live"  # linked from its parent entry
    DETACHED = "detached"  # parent entry cleared; memory still valid
    RCU_PENDING = "rcu_pending"  # handed to call_rcu(); freed after a grace period
    IPI_PENDING = "ipi_pending"  # freed once the IPIs now in flight are acknowledged
    FREED = "freed"  # back in the page allocator
    REUSED = "reused"  # allocated again for something else

    @property
    def stale(self) -> bool:
        """Readable, but no longer part of the tree: a revalidation must catch it."""
        return self in (Life.DETACHED, Life.RCU_PENDING, Life.IPI_PENDING)

    @property
    def gone(self) -> bool:
        """Reading it is a use-after-free."""
        return self in (Life.FREED, Life.REUSED)


class Entry(NamedTuple):
    """A populated entry: a pointer to a lower table, or a leaf mapping a page."""

    kind: str  # "table" or "leaf"
    target: int  # child tid for "table"; mapped size in bytes for "leaf"

    @property
    def is_table(self) -> bool:
        return self.kind == "table"

    @property
    def is_leaf(self) -> bool:
        return self.kind == "leaf"


LEAF_4K = Entry("leaf", PAGE_SIZE)
LEAF_PMD = Entry("leaf", PMD_SIZE)
LEAF_PUD = Entry("leaf", PUD_SIZE)


@dataclass(frozen=True, slots=True)
class Table:
    tid: int
    level: Level
    base: int  # first address the table maps
    entries: tuple[tuple[int, Entry], ...] = ()  # populated entries, sorted by index
    life: Life = Life.LIVE
    deposited: bool = False  # a PTE table kept by pgtable_trans_huge_deposit()
    counted: bool = True  # still in mm->pgtables_bytes (mm_dec_nr_*() not yet run)
    freed_by: str = ""  # kernel function that freed it (for the use-after-free report)

    def get(self, index: int) -> Entry | None:
        # entries are sorted by index: a PMD table of 512 entries is searched, not scanned
        k = bisect_left(self.entries, index, key=_index)
        if k < len(self.entries) and self.entries[k][0] == index:
            return self.entries[k][1]
        return None

    def with_entry(self, index: int, entry: Entry | None) -> "Table":
        k = bisect_left(self.entries, index, key=_index)
        found = k < len(self.entries) and self.entries[k][0] == index
        middle = () if entry is None else ((index, entry),)
        rest = self.entries[:k] + middle + self.entries[k + 1 if found else k:]
        return Table(self.tid, self.level, self.base, rest, self.life,
                     deposited=self.deposited, counted=self.counted, freed_by=self.freed_by)

    def with_life(self, life: Life, freed_by: str | None = None) -> "Table":
        return Table(self.tid, self.level, self.base, self.entries, life, deposited=self.deposited,
                     counted=self.counted, freed_by=self.freed_by if freed_by is None else freed_by)

    def name(self) -> str:
        return f"{self.level.name} table #{self.tid}"

    def span(self, geo: Geometry) -> tuple[int, int]:
        return self.base, self.base + geo.table_span(self.level)


Tables = tuple[Table, ...]


def new_tree(geo: Geometry) -> Tables:
    """An mm with only its PGD (pgd_alloc() in mm_init())."""
    del geo
    return (Table(tid=0, level=Level.PGD, base=0),)


def set_table(tables: Tables, table: Table) -> Tables:
    if not isinstance(tables, tuple):  # a tablestore.TableStore: one chunk is copied, not the tree
        return tables.set(table)
    return tables[: table.tid] + (table,) + tables[table.tid + 1 :]


def set_entry(tables: Tables, tid: int, index: int, entry: Entry | None) -> Tables:
    return set_table(tables, tables[tid].with_entry(index, entry))


def set_life(tables: Tables, tid: int, life: Life, freed_by: str | None = None) -> Tables:
    return set_table(tables, tables[tid].with_life(life, freed_by))


def entry_base(geo: Geometry, table: Table, index: int) -> int:
    return table.base + index * geo.entry_span(table.level)


class PathStep(NamedTuple):
    table: Table
    index: int
    entry: Entry | None


def walk_path(tables: Tables, geo: Geometry, addr: int) -> list[PathStep]:
    """The live path from the PGD to `addr`'s leaf (or the first none entry)."""
    path: list[PathStep] = []
    table = tables[0]
    while True:
        index = geo.index(table.level, addr)
        entry = table.get(index)
        path.append(PathStep(table, index, entry))
        if entry is None or entry.is_leaf:
            return path
        table = tables[entry.target]


class Allocation(NamedTuple):
    level: Level
    tid: int
    start: int
    end: int
    function: str


_ALLOC_FUNCTION = {
    Level.P4D: "__p4d_alloc",
    Level.PUD: "__pud_alloc",
    Level.PMD: "__pmd_alloc",
    Level.PTE: "__pte_alloc",
}


def ensure_table(
    tables: Tables, geo: Geometry, addr: int, level: Level
) -> tuple[Tables, list[Allocation], Table]:
    """Allocate each missing table down to the table at `level` that maps `addr`
    (__p4d_alloc, __pud_alloc, __pmd_alloc, __pte_alloc); return it."""
    allocated: list[Allocation] = []
    table = tables[0]
    while table.level != level:
        index = geo.index(table.level, addr)
        entry = table.get(index)
        if entry is not None and entry.is_leaf:
            raise ValueError(f"{addr:#x} is already mapped by a {table.level.name} leaf")
        if entry is None:
            child_level = geo.child_level(table.level)
            base = entry_base(geo, table, index)
            child = Table(tid=len(tables), level=child_level, base=base)
            tables = tables + (child,)
            tables = set_entry(tables, table.tid, index, Entry("table", child.tid))
            allocated.append(
                Allocation(
                    child_level,
                    child.tid,
                    base,
                    base + geo.table_span(child_level),
                    _ALLOC_FUNCTION[child_level],
                )
            )
            table = child
        else:
            table = tables[entry.target]
    return tables, allocated, table


def populate(
    tables: Tables, geo: Geometry, addr: int, leaf_level: Level = Level.PTE
) -> tuple[Tables, list[Allocation]]:
    """Fault `addr` in, as handle_mm_fault() does: allocate each missing table
    (__p4d_alloc, __pud_alloc, __pmd_alloc, __pte_alloc) and install a leaf at
    `leaf_level` (PTE: a 4 KiB page; PMD: a THP; PUD: a 1 GiB page)."""
    tables, allocated, table = ensure_table(tables, geo, addr, leaf_level)
    index = geo.index(table.level, addr)
    entry = table.get(index)
    if entry is not None and entry.is_table:
        raise ValueError(f"cannot map a {leaf_level.name} leaf at {addr:#x}: a page table is there")
    leaf = LEAF_4K if leaf_level == Level.PTE else Entry("leaf", geo.entry_span(leaf_level))
    return set_entry(tables, table.tid, index, leaf), allocated


def pgtables_bytes(tables: Tables) -> int:
    """mm->pgtables_bytes: PUD, PMD and PTE tables still accounted to the mm.

    mm_dec_nr_ptes()/pmds()/puds() run when a table is unlinked (free_pte_range(),
    retract_page_tables(), free_pte() ...), so detached tables no longer count; a
    PTE table deposited under a THP keeps its count (pgtable_trans_huge_deposit()).
    P4D tables are not counted (there is no mm_inc_nr_p4ds()); neither is the PGD.
    """
    if not isinstance(tables, tuple):  # a tablestore.TableStore keeps the count as it goes
        return tables.accounted * TABLE_BYTES
    count = 0
    for t in tables:
        if is_accounted(t):
            count += 1
    return count * TABLE_BYTES


def is_accounted(t: Table) -> bool:
    """Is `t` in mm->pgtables_bytes (see pgtables_bytes())?"""
    return t.level in (Level.PUD, Level.PMD, Level.PTE) and t.counted and not t.life.gone


# ---------------------------------------------------------------------------
# free_pgd_range(): mm/memory.c.  Computed as a plan of ordered operations so
# that an actor can carry them out one atomic step at a time.


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
    p4d = tables[pgd.get(pgd_idx).target]
    start = addr
    span = geo.entry_span(Level.P4D)
    while True:
        nxt = _addr_end(addr, end, span)
        entry = p4d.get(geo.p4d_index(addr))
        if entry is not None and entry.is_table:
            _free_pud_range(tables, geo, p4d, geo.p4d_index(addr), addr, nxt, floor, ceiling, ops)
        addr = nxt
        if addr == end:
            break
    if _upper_free_allowed(start, end, floor, ceiling, geo.mask(Level.PGD)):
        ops.append(
            FreeOp("free_p4d_range", "p4d_free_tlb", Level.P4D, p4d.tid, pgd.tid, pgd_idx,
                   *p4d.span(geo))
        )


def _free_pud_range(tables, geo, parent, parent_idx, addr, end, floor, ceiling, ops) -> None:
    pud = tables[parent.get(parent_idx).target]
    start = addr
    span = geo.entry_span(Level.PUD)
    while True:
        nxt = _addr_end(addr, end, span)
        entry = pud.get(geo.pud_index(addr))
        if entry is not None and entry.is_table:
            _free_pmd_range(tables, geo, pud, geo.pud_index(addr), addr, nxt, floor, ceiling, ops)
        addr = nxt
        if addr == end:
            break
    # P4D_MASK: with four levels the P4D is folded and P4D_SHIFT == PGDIR_SHIFT.
    p4d_mask = geo.mask(Level.P4D) if geo.levels == 5 else geo.mask(Level.PGD)
    if _upper_free_allowed(start, end, floor, ceiling, p4d_mask):
        ops.append(
            FreeOp("free_pud_range", "pud_free_tlb", Level.PUD, pud.tid, parent.tid, parent_idx,
                   *pud.span(geo))
        )


def _free_pmd_range(tables, geo, pud, pud_idx, addr, end, floor, ceiling, ops) -> None:
    pmd = tables[pud.get(pud_idx).target]
    start = addr
    while True:
        nxt = _addr_end(addr, end, PMD_SIZE)
        idx = geo.pmd_index(addr)
        entry = pmd.get(idx)
        if entry is not None and entry.is_table:
            pte = tables[entry.target]
            ops.append(
                FreeOp("free_pte_range", "pte_free_tlb", Level.PTE, pte.tid, pmd.tid, idx,
                       *pte.span(geo))
            )
        addr = nxt
        if addr == end:
            break
    if _upper_free_allowed(start, end, floor, ceiling, geo.mask(Level.PUD)):
        ops.append(
            FreeOp("free_pmd_range", "pmd_free_tlb", Level.PMD, pmd.tid, pud.tid, pud_idx,
                   *pmd.span(geo))
        )


def iter_entries_in(
    tables: Tables, geo: Geometry, start: int, end: int, level: Level
) -> Iterator[tuple[Table, int, Entry]]:
    """Live entries of tables at `level` that map part of [start, end), in order."""

    def visit(table: Table) -> Iterator[tuple[Table, int, Entry]]:
        span = geo.entry_span(table.level)
        for index, entry in table.entries:
            lo = table.base + index * span
            hi = lo + span
            if hi <= start or lo >= end:
                continue
            if table.level == level:
                yield table, index, entry
            elif entry.is_table:
                yield from visit(tables[entry.target])

    yield from visit(tables[0])


def unlink_table(tables: Tables, parent: int, index: int, tid: int, *, counted: bool = False) -> Tables:
    """Clear entry `index` of table `parent` (pmd_clear(), pud_clear(), ...) and
    mark table `tid`, which it pointed to, detached: still valid memory that a
    lockless walker may read, no longer in the tree.  `counted`: the table still
    counts in mm->pgtables_bytes (a PTE table deposited under a THP does)."""
    tables = set_entry(tables, parent, index, None)
    return set_table(tables, replace(tables[tid], life=Life.DETACHED, counted=counted))
