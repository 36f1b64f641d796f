"""Several mms in one tree view: hugetlb PMD sharing (mm/hugetlb.c
huge_pmd_share(), huge_pmd_unshare(); kernel-facts §13).

The simulator keeps every mm's page tables in one tuple, each mm's tree
hanging off its own PGD (Setup.roots).  These helpers say which chains reach
a table now, which entries pointed at it before (so a table P unshared keeps
a ghost edge from P's PUD entry while Q still maps it), and how the view
names the table's owner."""

from __future__ import annotations

from dataclasses import dataclass


def reach(tables, root: int) -> set[int]:
    """The tables of the tree under PGD `root`: followed through live tables'
    table entries (an unlinked table's stale entries link nothing)."""
    out, todo = {root}, [root]
    while todo:
        t = tables[todo.pop()]
        if t.life.value != "live" and t.tid != root:
            continue
        for _, e in t.entries:
            if e.is_table and e.target < len(tables) and e.target not in out:
                out.add(e.target)
                todo.append(e.target)
    return out


def former_edges(states, upto: int | None = None) -> dict[int, list[tuple[int, int]]]:
    """tid -> every (parent tid, entry index) that pointed at it over
    states[:upto+1], first seen first (a shared table has one a sharer)."""
    out: dict[int, list[tuple[int, int]]] = {}
    seen = set()
    end = len(states) if upto is None else upto + 1
    for s in states[:end]:
        if id(s.tables) in seen:
            continue
        seen.add(id(s.tables))
        for t in s.tables:
            for idx, e in t.entries:
                if e.is_table and (t.tid, idx) not in out.setdefault(e.target, []):
                    out[e.target].append((t.tid, idx))
    return out


def points_at(tables, parent: int, index: int, tid: int) -> bool:
    """Does entry `index` of live table `parent` still point at `tid`?"""
    if parent >= len(tables):
        return False
    p = tables[parent]
    e = p.get(index)
    return p.life.value == "live" and e is not None and e.is_table and e.target == tid


def owner_text(t, owners: list[str], roots: dict[int, tuple[str, bool]]) -> str:
    """The line naming whose table `t` is: the PGD's mm ("mm P (walked)"), the
    sharers of a shared table, or the one mm whose chain still reaches it.
    Table.mm stays "shared" after an unshare: the last sharer keeps the table
    (huge_pmd_unshare() only clears the other mm's PUD entry)."""
    if t.tid in roots:
        name, walked = roots[t.tid]
        return f"mm {name} (walked)" if walked else f"mm {name}"
    if len(owners) > 1:
        return "shared by " + " and ".join(owners)
    if owners:
        return f"{owners[0]}'s alone (was shared)" if t.mm == "shared" else f"{owners[0]}'s"
    return "was shared" if t.mm == "shared" else f"{t.mm or 'P'}'s"


def mm_spans(geo, tables, edges, root: str) -> dict[str, tuple[int, int]]:
    """Node id -> the address range that drawn table maps in one mm's
    addresses, below that mm's PGD: followed down from its PGD through the
    edges drawn (a ghost edge counts: the table stays where the mm had it),
    each child at its parent's base plus the entry's index times the span an
    entry maps."""
    level = {lv.name: lv for lv in geo.table_levels}
    named = {n.id: n for n in tables}
    out = {root: 0}
    todo = [root]
    while todo:
        nid = todo.pop()
        for e in edges:
            if e.src == nid and e.kind != "leaf" and e.dst in named and e.dst not in out:
                out[e.dst] = out[nid] + e.index * geo.entry_span(level[named[nid].level])
                todo.append(e.dst)
    return {n: (base, base + geo.table_span(level[named[n].level])) for n, base in out.items() if n != root}


def mm_axis(geo, tables, edges, root: str, fallback: tuple[int, int]) -> tuple[int, int]:
    """The address range one mm's deepest drawn tables map, in that mm's
    addresses (mm_spans())."""
    named = {n.id: n for n in tables}
    below = [(named[n].rank, lo, hi) for n, (lo, hi) in mm_spans(geo, tables, edges, root).items()]
    if not below:
        return fallback
    deepest = max(r for r, _, _ in below)
    return min(a for r, a, _ in below if r == deepest), max(b for r, _, b in below if r == deepest)


@dataclass(frozen=True, slots=True)
class Where:
    """What a table (or an entry, or a page) maps in one mm: a page table has
    no address of its own, so a table several mms reach maps another range
    under each (a shared hugetlb PMD table: P's GiB under P's PUD entry, Q's
    under Q's).  `live`: reached through that mm's tree now; not live, through
    the entry that pointed at it before (huge_pmd_unshare() cleared it)."""

    mm: str
    lo: int
    hi: int
    live: bool = True

    def at(self, index: int, span: int) -> "Where":
        """Entry `index` of the table, each entry mapping `span` bytes."""
        lo = self.lo + index * span
        return Where(self.mm, lo, lo + span, self.live)


def addresses(tables, geo, roots: list[tuple[str, int]], formerly: dict[int, list[tuple[int, int]]]) -> dict[int, tuple[Where, ...]]:
    """tid -> where the table maps in each mm whose tree reaches it
    (kernel/pgtable.py mapped_at()), then, in the mm of each entry that
    pointed at it and no longer does, where it mapped there (not live).  A
    table no tree reaches keeps the range its former parent gave it."""
    from ...kernel.pgtable import mapped_at

    names = {tid: name for name, tid in roots}
    out: dict[int, tuple[Where, ...]] = {
        tid: tuple(Where(mm, b, b + geo.table_span(tables[tid].level)) for mm, b in v)
        for tid, v in mapped_at(tables, geo, [(name, tid) for name, tid in roots]).items()}
    done: dict[int, tuple[Where, ...]] = {}

    def of(tid: int, seen: frozenset) -> tuple[Where, ...]:
        if tid in done:
            return done[tid]
        t = tables[tid]
        mine = list(out.get(tid, ()))
        for parent, index in formerly.get(tid, ()):
            if parent in seen or points_at(tables, parent, index, tid):
                continue
            span = geo.entry_span(tables[parent].level)
            for w in of(parent, seen | {tid}):
                if not any(m.mm == w.mm for m in mine):
                    mine.append(Where(w.mm, w.lo + index * span, w.lo + (index + 1) * span, False))
        if not mine:  # no history known: the mm that allocated it, at its own base
            mm = names.get(0, "P") if t.mm in ("", "shared") else t.mm
            mine.append(Where(mm, t.base, t.base + geo.table_span(t.level), False))
        done[tid] = tuple(mine)
        return done[tid]

    return {t.tid: of(t.tid, frozenset()) for t in tables}


def where_lines(where: tuple[Where, ...], size: str = "") -> list[str]:
    """The address lines of a box drawn with several mms: each mm's first
    address ("P: 0x40000000 +1G", without `size` "P: 0x40000000"), a former
    one marked ("P (was): 0x40000000")."""
    return [(f"{w.mm}: {w.lo:#x}" + (f" +{size}" if size else "")) if w.live else f"{w.mm} (was): {w.lo:#x}"
            for w in where]
