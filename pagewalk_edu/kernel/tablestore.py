"""The page-table tree of a long sequential run (`pagewalk-edu tables`), kept
so that changing one table costs the same however many tables the mm has.

pgtable.py's tree is a tuple indexed by tid: right for the explorer, whose
trees hold a dozen tables and whose states are hashed, but a run that
allocates 100,000 PTE tables would copy the whole tuple at each change (a
quadratic run).  A TableStore is the same sequence as a persistent array
(Baker's trick): the newest version owns a list and changes it in place; an
older version keeps, instead of a copy, the slots in which it differs from
the next version, and takes the list back (undoing the later changes) when it
is read again.  Reading or changing the newest version costs O(1); every
version stays a value, so an earlier Mm still sees its own tables.  It keeps
mm->pgtables_bytes's count as it goes (pgtable.is_accounted()).  pgtable's
set_table() and pgtables_bytes() take either a tuple or a TableStore.

One system call changes thousands of tables and nobody looks at the versions
in between: `transient()` gives an editing session (a "transient", as
Clojure calls it) whose changes go straight into the list, each recording
the slot's old value once; `persistent()` ends it with one new version, and
the version it started from keeps reading as before.
"""

from __future__ import annotations

from typing import Iterator

from .pgtable import Table, is_accounted


class _Version:
    """The list itself (newest version), or: like `newer` with the (tid, table)
    slots of `diffs` put back, last first."""

    __slots__ = ("tables", "diffs", "newer")

    def __init__(self, tables: list | None, diffs: list | None = None, newer: "_Version | None" = None) -> None:
        self.tables, self.diffs, self.newer = tables, diffs, newer


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
        redo = []
        for tid, table in reversed(older.diffs):  # the list only grows, so every slot is there
            redo.append((tid, tables[tid]))
            tables[tid] = table
        # `v` now differs from `older` by redo, to be put back last first: the
        # order the changes were first made in.
        v.tables, v.diffs, v.newer = None, redo, older
        older.tables, older.diffs, older.newer = tables, None, None
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

    def _own(self) -> list:
        """The list, owned by this version.  Slots past this version's end may
        hold what a newer version appended; they are kept, as the newer
        version's diffs put them back."""
        v = self._version
        return v.tables if v.tables is not None else _reroot(v)

    def _put(self, tid: int, table: Table, length: int, accounted: int) -> "TableStore":
        tables = self._own()
        newest = _Version(tables)
        if tid < len(tables):
            old, tables[tid] = tables[tid], table
        else:
            tables.append(table)
            old = None
        v = self._version
        v.tables, v.diffs, v.newer = None, [(tid, old)], newest
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

    def transient(self) -> "Transient":
        """An editing session starting from this version (see the module's doc)."""
        return Transient(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (TableStore, Transient, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"TableStore({self._len} tables, {self.accounted} accounted)"


class Transient:
    """A TableStore being edited in place: `set()` and `+` change it and return
    it (so pgtable's functions work on it unchanged).  The version it came from
    becomes, at once, a version that differs from the session by the session's
    undo list, so reading it (or any older one) meanwhile still gives its own
    tables; that takes the list away from the session, whose next change, or
    persistent(), then refuses."""

    __slots__ = ("_base", "_node", "_tables", "_undo", "_len", "accounted")

    def __init__(self, store: TableStore) -> None:
        tables = store._own()
        self._base = store
        self._node = _Version(tables)  # the session's version: owns the list while it lasts
        self._tables = tables
        self._undo: list[tuple[int, Table | None]] = []  # (slot, old value), in the order of the changes
        v = store._version
        v.tables, v.diffs, v.newer = None, self._undo, self._node
        self._len = store._len
        self.accounted = store.accounted

    def _check(self) -> list:
        tables = self._tables
        if tables is None or self._node.tables is not tables:
            raise RuntimeError("a version of this TableStore was read while a transient edits it, "
                               "or the transient has ended")
        return tables

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, tid: int) -> Table:
        # Reads are not checked (a lookup per read would cost a fifth of a
        # sequential run); a version read meanwhile is caught by the next
        # change or by persistent().
        if 0 <= tid < self._len:
            return self._tables[tid]
        raise IndexError(f"no table #{tid}")

    def __iter__(self) -> Iterator[Table]:
        return iter(self._check()[: self._len])

    def set(self, table: Table) -> "Transient":
        tables = self._tables
        if tables is None or self._node.tables is not tables:
            self._check()
        tid = table.tid
        if not 0 <= tid < self._len:
            raise IndexError(f"no table #{tid}")
        old = tables[tid]
        if old.counted is not table.counted or old.life is not table.life or old.level is not table.level:
            self.accounted += is_accounted(table) - is_accounted(old)
        self._undo.append((tid, old))
        tables[tid] = table
        return self

    def __add__(self, more: tuple) -> "Transient":
        tables = self._check()
        for table in more:
            if table.tid != self._len:
                raise ValueError(f"table #{table.tid} appended at position {self._len}")
            if self._len < len(tables):  # a slot a newer version appended
                self._undo.append((self._len, tables[self._len]))
                tables[self._len] = table
            else:
                self._undo.append((self._len, None))
                tables.append(table)
            self._len += 1
            self.accounted += is_accounted(table)
        return self

    @property
    def changed(self) -> bool:
        return bool(self._undo)

    def persistent(self) -> TableStore:
        """End the session: the new version, which owns the list (the version
        it started from, if nothing changed)."""
        self._check()
        self._tables = None  # the session is over: a later change is refused
        if not self._undo:
            return self._base
        return TableStore._make(self._node, self._len, self.accounted)

    def abandon(self) -> TableStore:
        """End the session undoing every change (after an error): the version
        it started from, as it was."""
        self._tables = None
        _reroot(self._base._version)
        return self._base

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (TableStore, Transient, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # an editing session is not a value

    def __repr__(self) -> str:
        return f"Transient({self._len} tables, {self.accounted} accounted)"
