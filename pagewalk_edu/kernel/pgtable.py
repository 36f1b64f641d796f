"""Page-table pages and the tree they form: mm/memory.c (__pte_alloc, __pmd_alloc,
__pud_alloc, __p4d_alloc), include/linux/mm.h (mm_inc_nr_ptes/pmds/puds:
mm->pgtables_bytes).  Which tables munmap() frees is kernel/free_pgd.py.

A table is a value: identity (tid), level, the address it starts mapping, its
populated entries and its lifecycle.  A page-table page has no address of its
own: what it maps is set by the entry that points at it.  `base` is where the
table maps in the mm whose fault allocated it (ensure_table() takes it from
the faulting address); a hugetlb PMD table several mms share
(huge_pmd_share()) maps another GiB under each of their PUD entries, which
mapped_at() gives.  The tree is a tuple of tables indexed by
tid; tid 0 is the PGD.  Freed tables stay in the tuple (their memory may be
read by a racing walker: that read is the use-after-free the monitor reports).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from enum import Enum
from operator import itemgetter
from typing import Iterator, NamedTuple

from .geometry import PAGE_SIZE, PMD_SIZE, PTRS_PER_TABLE, PUD_SIZE, TABLE_BYTES, Geometry, Level

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
    base: int  # first address the table maps, in the mm whose path allocated it (mapped_at(): in every mm)
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


def mapped_at(tables: Tables, geo: Geometry, roots) -> dict[int, tuple[tuple[str, int], ...]]:
    """tid -> ((mm, base), ...): the first address each table maps in each mm
    whose tree reaches it, `roots` being (mm, PGD tid) pairs (Setup.roots).
    Followed from each PGD through live tables' entries, each child at its
    parent's base plus the entry's index times the span one entry maps; a
    table no tree reaches (unlinked, freed) is not in the result."""
    out: dict[int, list[tuple[str, int]]] = {}
    for mm, root in roots:
        seen: set[int] = set()
        todo = [(root, 0)]
        while todo:
            tid, base = todo.pop()
            if tid in seen or tid >= len(tables):
                continue
            seen.add(tid)
            out.setdefault(tid, []).append((mm, base))
            t = tables[tid]
            if t.life is not Life.LIVE and tid != root:
                continue
            span = geo.entry_span(t.level)
            todo.extend((e.target, base + i * span) for i, e in t.entries if e.is_table)
    return {tid: tuple(v) for tid, v in out.items()}


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
            # the path's address, not the parent's base: a parent shared with
            # another mm (a hugetlb PMD table) has that mm's base
            base = addr >> shifts[table.level] << shifts[table.level]
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
