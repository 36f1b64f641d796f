"""The page-table tree of a long sequential run (`pagewalk-edu tables`), kept
so that changing one table costs the same however many tables the mm has.

pgtable.py's tree is a tuple indexed by tid: right for the explorer, whose
trees hold a dozen tables and whose states are hashed, but a run that
allocates 100,000 PTE tables would copy the whole tuple at each change (a
quadratic run).  A TableStore holds the same tables in chunks: set() and
append copy one chunk and the short tuple of chunks, and it keeps
mm->pgtables_bytes's count as it goes (pgtable.is_accounted()).  pgtable's
set_table() and pgtables_bytes() take either; both are values (nothing is
changed in place), so an earlier Mm still sees its own tables.
"""

from __future__ import annotations

from typing import Iterator

from .pgtable import Table, is_accounted

SHIFT = 9
CHUNK = 1 << SHIFT  # tables a chunk holds
MASK = CHUNK - 1


class TableStore:
    __slots__ = ("_chunks", "_len", "accounted")

    def __init__(self, tables=()) -> None:
        tables = tuple(tables)
        self._chunks = tuple(tables[i:i + CHUNK] for i in range(0, len(tables), CHUNK))
        self._len = len(tables)
        self.accounted = sum(1 for t in tables if is_accounted(t))

    @classmethod
    def _make(cls, chunks: tuple, length: int, accounted: int) -> "TableStore":
        new = cls.__new__(cls)
        new._chunks, new._len, new.accounted = chunks, length, accounted
        return new

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, tid: int) -> Table:
        # the hot path of every walk: no checks beyond what indexing a tuple makes
        if 0 <= tid < self._len:
            return self._chunks[tid >> SHIFT][tid & MASK]
        raise IndexError(f"no table #{tid}")

    def __iter__(self) -> Iterator[Table]:
        for chunk in self._chunks:
            yield from chunk

    def set(self, table: Table) -> "TableStore":
        """The store with table #table.tid replaced by `table`."""
        tid = table.tid
        if not 0 <= tid < self._len:
            raise IndexError(f"no table #{tid}")
        i, j = tid >> SHIFT, tid & MASK
        chunk = self._chunks[i]
        old = chunk[j]
        chunks = self._chunks[:i] + (chunk[:j] + (table,) + chunk[j + 1:],) + self._chunks[i + 1:]
        accounted = self.accounted
        if old.counted != table.counted or old.life is not table.life or old.level is not table.level:
            accounted += is_accounted(table) - is_accounted(old)
        return self._make(chunks, self._len, accounted)

    def __add__(self, more: tuple) -> "TableStore":
        """The store with `more` appended (ensure_table(): `tables + (child,)`)."""
        new = self
        for table in more:
            if table.tid != new._len:
                raise ValueError(f"table #{table.tid} appended at position {new._len}")
            chunks = new._chunks
            if chunks and len(chunks[-1]) < CHUNK:
                chunks = chunks[:-1] + (chunks[-1] + (table,),)
            else:
                chunks = chunks + ((table,),)
            new = self._make(chunks, new._len + 1, new.accounted + is_accounted(table))
        return new

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TableStore):
            return self._chunks == other._chunks
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"TableStore({self._len} tables, {self.accounted} accounted)"
