"""Several mms in one tree view: hugetlb PMD sharing (mm/hugetlb.c
huge_pmd_share(), huge_pmd_unshare(); kernel-facts §13).

The simulator keeps every mm's page tables in one tuple, each mm's tree
hanging off its own PGD (Setup.roots).  These helpers say which chains reach
a table now, which entries pointed at it before (so a table P unshared keeps
a ghost edge from P's PUD entry while Q still maps it), and how the view
names the table's owner."""

from __future__ import annotations


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
