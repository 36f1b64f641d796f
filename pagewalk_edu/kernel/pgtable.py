"""Page-table pages and the tree they form: mm/memory.c (__pte_alloc, __pmd_alloc,
__pud_alloc, __p4d_alloc, free_pgtables, free_pgd_range and its helpers),
include/linux/mm.h (mm_inc_nr_ptes/pmds/puds: mm->pgtables_bytes).

A table is a value: identity (tid), level, the address it starts mapping, its
populated entries and its lifecycle.  The tree is a tuple of tables indexed by
tid; tid 0 is the PGD.  Freed tables stay in the tuple (their memory may be
read by a racing walker: that read is the use-after-free the monitor reports).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from enum import Enum
from operator import itemgetter
from typing import Iterable, Iterator, NamedTuple

from .geometry import PAGE_SIZE, PMD_SIZE, PTRS_PER_TABLE, PUD_SIZE, TABLE_BYTES, Geometry, Level

U64 = (1 << 64) - 1
_index = itemgetter(0)
_SLOT = PTRS_PER_TABLE - 1


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
    mm: str = ""  # whose table: "" the walked mm (P), "shared" a hugetlb PMD table of several mms, or "Q"

    def get(self, index: int) -> Entry | None:
        # entries are sorted by index: a PMD table of 512 entries is searched, not scanned
        k = bisect_left(self.entries, index, key=_index)
        if k < len(self.entries) and self.entries[k][0] == index:
            return self.entries[k][1]
        return None

    def with_entry(self, index: int, entry: Entry | None) -> "Table":
        entries = self.entries
        k = bisect_left(entries, index, key=_index)
        found = k < len(entries) and entries[k][0] == index
        if entry is None:
            if not found:
                rest = entries
            elif k == 0:  # MADV_DONTNEED and munmap clear a table's entries from its first one
                rest = entries[1:]
            else:
                rest = entries[:k] + entries[k + 1:]
        elif k == len(entries):
            rest = entries + ((index, entry),)
        else:
            rest = entries[:k] + ((index, entry),) + entries[k + 1 if found else k:]
        return _with_entries(self, rest)

    def with_entries(self, entries: tuple[tuple[int, Entry], ...]) -> "Table":
        """The table with `entries` (sorted by index) instead of its own."""
        return _with_entries(self, entries)

    def with_life(self, life: Life, freed_by: str | None = None, counted: bool | None = None) -> "Table":
        return _with_life(self, life, self.freed_by if freed_by is None else freed_by,
                          self.counted if counted is None else counted)

    def name(self) -> str:
        return f"{self.level.name} table #{self.tid}"

    def span(self, geo: Geometry) -> tuple[int, int]:
        return self.base, self.base + geo.table_span(self.level)


Tables = tuple[Table, ...]

# A sequential run changes hundreds of thousands of tables: a changed copy is
# made by setting the slots directly, which costs half of what the frozen
# dataclass's __init__ (one object.__setattr__() per field) costs.
_new = object.__new__
(_set_tid, _set_level, _set_base, _set_entries, _set_life, _set_deposited, _set_counted, _set_freed_by,
 _set_mm) = (Table.__dict__[f].__set__ for f in Table.__slots__)
assert Table.__slots__ == ("tid", "level", "base", "entries", "life", "deposited", "counted", "freed_by", "mm")


def _new_table(tid: int, level: Level, base: int, mm: str) -> Table:
    """Table(tid, level, base, mm=mm): a new, empty, live table."""
    new = _new(Table)
    _set_tid(new, tid), _set_level(new, level), _set_base(new, base), _set_entries(new, ())
    _set_life(new, Life.LIVE), _set_deposited(new, False), _set_counted(new, True)
    _set_freed_by(new, ""), _set_mm(new, mm)
    return new


def _with_entries(t: Table, entries: tuple) -> Table:
    new = _new(Table)
    _set_tid(new, t.tid), _set_level(new, t.level), _set_base(new, t.base), _set_entries(new, entries)
    _set_life(new, t.life), _set_deposited(new, t.deposited), _set_counted(new, t.counted)
    _set_freed_by(new, t.freed_by), _set_mm(new, t.mm)
    return new


def _with_life(t: Table, life: Life, freed_by: str, counted: bool) -> Table:
    new = _new(Table)
    _set_tid(new, t.tid), _set_level(new, t.level), _set_base(new, t.base), _set_entries(new, t.entries)
    _set_life(new, life), _set_deposited(new, t.deposited), _set_counted(new, counted)
    _set_freed_by(new, freed_by), _set_mm(new, t.mm)
    return new


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


def free_table(tables: Tables, tid: int, freed_by: str) -> Tables:
    """Table `tid` back in the page allocator, freed by `freed_by` (a label of
    steps.FREED); it no longer counts in mm->pgtables_bytes."""
    return set_table(tables, tables[tid].with_life(Life.FREED, freed_by, counted=False))


def entry_base(geo: Geometry, table: Table, index: int) -> int:
    return table.base + index * geo.entry_span(table.level)


class PathStep(NamedTuple):
    table: Table
    index: int
    entry: Entry | None


#: For each number of levels, the level of a table's children (geo.child_level()).
_CHILD = {n: {lvl: Geometry(n).child_level(lvl) for lvl in Geometry(n).table_levels[:-1]} for n in (4, 5)}
#: For each level, the shift that gives an address's index in a table of that
#: level: geo.index() without its per-call work (the folded P4D of a four-level
#: tree has the single index 0, which a shift of 64 gives).
_SHIFTS = {n: tuple(64 if (lvl == Level.P4D and n == 4) else Geometry(n).entry_shift(lvl) for lvl in Level)
           for n in (4, 5)}


def walk_path(tables: Tables, geo: Geometry, addr: int, root: int = 0) -> list[PathStep]:
    """The live path from the PGD to `addr`'s leaf (or the first none entry)."""
    path: list[PathStep] = []
    shifts = _SHIFTS[geo.levels]
    table = tables[root]
    while True:
        index = (addr >> shifts[table.level]) & _SLOT
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
    tables: Tables, geo: Geometry, addr: int, level: Level, root: int = 0, mm: str = ""
) -> tuple[Tables, list[Allocation], Table]:
    """Allocate each missing table down to the table at `level` that maps `addr`
    (__p4d_alloc, __pud_alloc, __pmd_alloc, __pte_alloc) in the tree of the mm
    whose PGD is `root`, each new table marked as `mm`'s; return it.  `root`
    may also be a lower table that maps `addr` (a walk that already got there)."""
    allocated: list[Allocation] = []
    shifts = _SHIFTS[geo.levels]
    child_of = _CHILD[geo.levels]
    table = tables[root]
    while table.level != level:
        index = (addr >> shifts[table.level]) & _SLOT
        entry = table.get(index)
        if entry is None:
            child_level = child_of[table.level]
            base = table.base + (index << shifts[table.level])
            child = _new_table(len(tables), child_level, base, mm)
            tables = tables + (child,)
            tables = set_table(tables, table.with_entry(index, Entry("table", child.tid)))
            allocated.append(Allocation(child_level, child.tid, base, base + (PTRS_PER_TABLE << shifts[child_level]),
                                        _ALLOC_FUNCTION[child_level]))
            table = child
        elif entry.is_leaf:
            raise ValueError(f"{addr:#x} is already mapped by a {table.level.name} leaf")
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
    """Is `t` in mm->pgtables_bytes (see pgtables_bytes())?  (PUD, PMD and PTE
    are the levels from PUD down; identity tests keep the Enum hashing out.)"""
    life = t.life
    return t.counted and t.level >= Level.PUD and life is not Life.FREED and life is not Life.REUSED


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
    return set_table(tables, tables[tid].with_life(Life.DETACHED, counted=counted))
