"""The page-table tree of a long sequential run (`pagewalk-edu tables`), kept
so that changing one table costs the same however many tables the mm has.

pgtable.py's tree is a tuple indexed by tid: right for the explorer, whose
trees hold a dozen tables and whose states are hashed, but a run that
allocates 100,000 PTE tables would copy the whole tuple at each change (a
quadratic run).  A TableStore is the same sequence as a persistent array
(Baker's trick): the newest version owns a list and changes it in place; an
older version keeps, instead of a copy, the one slot in which it differs from
the next version, and takes the list back (undoing the later changes) when it
is read again.  Reading or changing the newest version costs O(1); every
version stays a value, so an earlier Mm still sees its own tables.  It keeps
mm->pgtables_bytes's count as it goes (pgtable.is_accounted()).  pgtable's
set_table() and pgtables_bytes() take either a tuple or a TableStore.
"""

from __future__ import annotations

from typing import Iterator

from .pgtable import Table, is_accounted


class _Version:
    """The list itself (newest version), or: like `newer`, but slot `tid` holds `table`."""

    __slots__ = ("tables", "tid", "table", "newer")

    def __init__(self, tables: list | None, tid: int = -1, table: Table | None = None,
                 newer: "_Version | None" = None) -> None:
        self.tables, self.tid, self.table, self.newer = tables, tid, table, newer


def _reroot(v: _Version) -> list:
    """Make `v` own the list (undoing the changes of the versions after it)."""
    if v.tables is not None:
        return v.tables
    chain = []
    while v.tables is None:
        chain.append(v)
        v = v.newer
    for older in reversed(chain):  # the one next to the list first
        tables = v.tables
        tid = older.tid  # the list only grows, so the slot is there
        older.table, tables[tid] = tables[tid], older.table
        v.tables, v.tid, v.table, v.newer = None, tid, older.table, older
        older.tables, older.newer, older.table = tables, None, None
        v = older
    return v.tables


class TableStore:
    __slots__ = ("_version", "_len", "accounted")

    def __init__(self, tables=()) -> None:
        tables = list(tables)
        self._version = _Version(tables)
        self._len = len(tables)
        self.accounted = sum(1 for t in tables if is_accounted(t))

    @classmethod
    def _make(cls, version: _Version, length: int, accounted: int) -> "TableStore":
        new = cls.__new__(cls)
        new._version, new._len, new.accounted = version, length, accounted
        return new

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, tid: int) -> Table:
        v = self._version
        tables = v.tables if v.tables is not None else _reroot(v)
        if 0 <= tid < self._len:
            return tables[tid]
        raise IndexError(f"no table #{tid}")

    def __iter__(self) -> Iterator[Table]:
        v = self._version
        tables = v.tables if v.tables is not None else _reroot(v)
        return iter(tables[: self._len])

    def _put(self, tid: int, table: Table, length: int, accounted: int) -> "TableStore":
        v = self._version
        tables = v.tables if v.tables is not None else _reroot(v)
        newest = _Version(tables)
        if tid < len(tables):
            old, tables[tid] = tables[tid], table
        else:
            tables.append(table)
            old = None
        v.tables, v.tid, v.table, v.newer = None, tid, old, newest
        return self._make(newest, length, accounted)

    def set(self, table: Table) -> "TableStore":
        """The store with table #table.tid replaced by `table`."""
        tid = table.tid
        old = self[tid]
        accounted = self.accounted
        if old.counted != table.counted or old.life is not table.life or old.level is not table.level:
            accounted += is_accounted(table) - is_accounted(old)
        return self._put(tid, table, self._len, accounted)

    def __add__(self, more: tuple) -> "TableStore":
        """The store with `more` appended (ensure_table(): `tables + (child,)`)."""
        new = self
        for table in more:
            if table.tid != new._len:
                raise ValueError(f"table #{table.tid} appended at position {new._len}")
            new = new._put(new._len, table, new._len + 1, new.accounted + is_accounted(table))
        return new

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (TableStore, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"TableStore({self._len} tables, {self.accounted} accounted)"
