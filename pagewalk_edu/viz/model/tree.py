"""What the page-table tree view draws, as plain data: ranks (one per level,
with the address bits it indexes), table nodes with the entries that matter,
leaf nodes, live and ghost edges, the walker's path and cursor, VMAs as a band
along the address range, locks with their holders, the freeing queue.

Renderers (graphviz DOT, the pure-Python SVG layout, text) read a TreeModel
and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...kernel.geometry import PAGE_SHIFT, fmt_size
from . import sharing, source

#: the badge each lifecycle shows, in words (the state is never told by colour alone)
BADGES = {"live": "live", "detached": "detached", "rcu_pending": "rcu_pending", "ipi_pending": "ipi_pending",
          "freed": "freed", "reused": "reused"}
#: at most this many populated entries a table, besides those the walker uses
MAX_ROWS = 5


@dataclass(frozen=True, slots=True)
class Rank:
    level: str  # PGD, P4D, PUD, PMD, PTE, or "page"
    bits: str  # "bits 47-39"


@dataclass(frozen=True, slots=True)
class Row:
    """One entry of a table as drawn."""

    index: int
    lo: int
    hi: int
    what: str  # "table" | "leaf" | "none"
    target: str  # node id of the child (tables and leaves), "" for none
    text: str  # "→ PMD #2", "4K page", "none"
    on_path: bool  # the walker went (or goes) through this entry
    cursor: bool  # the walker reads this entry at its next step
    where: tuple = ()  # with several mms: what it maps in each (sharing.Where), lo/hi being the first


@dataclass(frozen=True, slots=True)
class TableNode:
    id: str
    mm: str
    tid: int
    level: str
    rank: int
    lo: int
    hi: int
    life: str
    badge: str
    deposited: bool
    rows: tuple[Row, ...]
    more: int  # populated entries left out
    locks: tuple[str, ...]  # "PTE ptl held by walker"
    on_path: bool
    shared_by: tuple[str, ...] = ()  # mms whose chains meet here (hugetlb PMD sharing)
    owner: str = ""  # with several mms: "mm P (walked)", "shared by P and Q", "Q's alone (was shared)"
    foreign: str = ""  # the walker read it as another mm's table: "foreign: Q's" (State.foreign)
    where: tuple = ()  # with several mms: what it maps in each (sharing.Where), lo/hi being the first

    @property
    def title(self) -> str:
        return f"{self.level} #{self.tid}"


@dataclass(frozen=True, slots=True)
class LeafNode:
    id: str
    parent: str
    index: int
    rank: int
    level: str  # level of the table whose entry maps it
    size: int
    label: str  # "4K page", "2M THP", "1G page"
    lo: int
    on_path: bool
    where: tuple = ()  # with several mms: where it is mapped in each (sharing.Where)


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    index: int  # the entry of src
    dst: str
    kind: str  # "live" | "ghost" (the entry was cleared) | "leaf"
    label: str  # "entry 254" or "was entry 254"
    on_path: bool
    foreign: bool = False  # the walker's way into another mm's table (State.foreign)


@dataclass(frozen=True, slots=True)
class VmaBand:
    name: str
    kind: str
    lo: int
    hi: int
    status: str  # "read-locked by walker; detached"
    visible: bool  # on the band: inside the range the deepest drawn tables map (of its own mm's axis)
    mm: str = ""  # with several mms: whose VMA it is ("P", "Q")
    under: tuple[str, ...] = ()  # the lowest drawn tables below the PGD that map part of it ("PMD #2")


@dataclass(frozen=True, slots=True)
class VmaAxis:
    """One mm's address axis under the tree (hugetlb sharing: P's and Q's
    trees map the shared table at different addresses, so each mm gets its own)."""

    mm: str
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class WalkerMark:
    actor: str
    cpu: int
    addr: int
    indices: tuple[tuple[str, int], ...]  # (level, index) of the address, top down
    next_step: str
    cursor: tuple[str, int] | None  # (node id, entry index) read next
    path: tuple[str, ...]  # node ids, top down
    result: str


@dataclass(frozen=True, slots=True)
class TreeModel:
    title: str
    levels: int
    ranks: tuple[Rank, ...]
    tables: tuple[TableNode, ...]
    leaves: tuple[LeafNode, ...]
    edges: tuple[Edge, ...]
    vmas: tuple[VmaBand, ...]
    lo: int  # the address range the drawn tables map (below the PGD)
    hi: int
    mm_lock: str  # "mmap_lock: writer munmap; readers -"
    cpus: tuple[str, ...]  # "CPU0: IRQs off, RCU depth 1"
    walkers: tuple[WalkerMark, ...]
    queued: tuple[str, ...]  # "#4: tlb_remove_table_rcu after grace period 1"
    uaf: tuple[str, ...]
    alt: str  # the text alternative of this state
    foreign: tuple[str, ...] = ()  # "FOREIGN TABLE: walker read PMD table #3 ...": the second violation
    roots: tuple[str, ...] = ()  # with several mms: each mm's PGD node, the walked mm's first
    axes: tuple[VmaAxis, ...] = ()  # with several mms: one VMA axis each, the walked mm's first

    def node(self, node_id: str):
        for n in self.tables:
            if n.id == node_id:
                return n
        for n in self.leaves:
            if n.id == node_id:
                return n
        raise KeyError(node_id)


def leaf_label(size: int, huge_tlb: bool = False) -> str:
    if huge_tlb:  # a hugetlbfs page, not a transparent huge page
        return f"{fmt_size(size)} hugetlb"
    return {4096: "4K page", 1 << 21: "2M THP", 1 << 30: "1G page"}.get(size, f"{fmt_size(size)} page")


def _in_hugetlb(vmas, t, addr: int) -> bool:
    """Is `addr` in a hugetlb VMA of the mm the table maps (a shared table maps
    the same file range in every sharer: any sharer's VMA will do)."""
    return any(v.kind == "hugetlb" and v.start <= addr < v.end and (t.mm in ("shared", v.mm)) for v in vmas)


def rank_bits(geo, level) -> str:
    hi = geo.entry_shift(level) + 8
    lo = geo.entry_shift(level)
    return f"bits {hi}-{lo}"


def _node_id(mm: str, tid: int, many: bool) -> str:
    return f"{mm}.t{tid}" if many else f"t{tid}"


def former_parents(states, upto: int | None = None) -> dict[int, tuple[int, int]]:
    """tid -> (parent tid, entry index) of the last entry that pointed at it,
    over states[:upto+1] (an unlinked table keeps its place under that parent)."""
    out: dict[int, tuple[int, int]] = {}
    seen = set()
    end = len(states) if upto is None else upto + 1
    for s in states[:end]:
        key = s.tables
        if id(key) in seen:
            continue
        seen.add(id(key))
        for t in s.tables:
            if t.life.value != "live" and t.tid != 0:
                continue
            for idx, e in t.entries:
                if e.is_table:
                    out[e.target] = (t.tid, idx)
    return out


def _geometric_parent(tables, geo, t) -> tuple[int, int] | None:
    """Without a history: the table one level up whose span holds t's base."""
    if t.tid == 0:
        return None
    parent_level = geo.parent_level(t.level)
    for p in tables:
        if p.level == parent_level and p.base <= t.base < p.base + geo.table_span(parent_level) and p.tid != t.tid:
            return p.tid, geo.index(parent_level, t.base)
    return None


def walker_path_tids(trace, index: int, walker: str) -> list[int]:
    """The tables the walker has read so far, in order (retries not repeated)."""
    out: list[int] = []
    for e in trace.events[:index]:
        if e.actor != walker:
            continue
        for ch in e.changes:
            kind, _, arg = ch.partition(":")
            if kind == "read" and arg.isdigit() and int(arg) not in out:
                out.append(int(arg))
    return out


def _live_path(tables, geo, addr: int, stop: int | None) -> list[int]:
    """PGD down to table `stop` along `addr` in the live tree (no history known)."""
    if stop is None:
        return []
    out, t = [], tables[0]
    while True:
        out.append(t.tid)
        e = t.get(geo.index(t.level, addr))
        if t.tid == stop or e is None or not e.is_table:
            return out if t.tid == stop else [stop]
        t = tables[e.target]


def tree_model(ctx, state, *, trace=None, index: int | None = None) -> TreeModel:
    """The tree of `state`; with `trace` (and the state's `index` in it) an
    unlinked table stays under the entry that last pointed at it, and the
    walker's path is the tables it actually read."""
    from ..text import state_text, vma_status

    geo = ctx.geo
    views = source.mms(ctx, state)
    # hugetlb PMD sharing: several mms, one tuple of tables, a PGD each; a
    # table is one node however many chains reach it
    joint = len(views) > 1 and all(v.tables is views[0].tables for v in views)
    many = len(views) > 1 and not joint
    history = former_parents(trace.states, index) if trace is not None else {}
    formerly = sharing.former_edges(trace.states if trace is not None else [state], index) if joint else {}
    roots = {v.root: (v.name, v.walked) for v in views} if joint else {0: ("mm", True)}
    # a page table has no address of its own: in each mm, what the path to it maps
    addrs = sharing.addresses(state.tables, geo, [(v.name, v.root) for v in views], formerly) if joint else {}
    reach = {v.name: sharing.reach(v.tables, v.root) for v in views} if joint else {}
    walkers = source.walkers(ctx, state)
    locks = source.spinlocks(state)
    level_rank = {lv: i for i, lv in enumerate(geo.table_levels)}
    ranks = [Rank(lv.name, rank_bits(geo, lv)) for lv in geo.table_levels]
    ranks.append(Rank("page", f"bits {PAGE_SHIFT - 1}-0"))

    marks = []
    for w in walkers:
        idx = tuple((lv.name, geo.index(lv, w.addr)) for lv in geo.table_levels)
        if trace is not None:
            tids = walker_path_tids(trace, len(trace.states) - 1 if index is None else index, w.actor)
        else:
            tids = _live_path(views[0].tables, geo, w.addr, w.cursor[0] if w.cursor else None)
        if w.cursor and w.cursor[0] not in tids:
            tids.append(w.cursor[0])
        cursor = (_node_id(w.mm, w.cursor[0], many), w.cursor[1]) if w.cursor else None
        marks.append(WalkerMark(w.actor, w.cpu, w.addr, idx, "done" if w.done else w.pc, cursor,
                                tuple(_node_id(w.mm, t, many) for t in tids), w.result))
    path_ids = {p for m in marks for p in m.path}
    path_entry = {}  # node id -> entry index the walker uses there
    for m, w in zip(marks, walkers):
        for nid in m.path:
            tid = int(nid.rsplit("t", 1)[1])
            for mv in views:
                if mv.name == w.mm and tid < len(mv.tables):
                    path_entry[nid] = geo.index(mv.tables[tid].level, w.addr)

    tables, leaves, edges = [], [], []
    reads = source.foreign_reads(state)
    foreign_at = {tid: f for f in reads for tid in (f.via, f.tid)}
    covered_lo, covered_hi = None, None
    shared: dict[int, list[str]] = {}
    for mv in views:
        for t in mv.tables:
            shared.setdefault(id(t), []).append(mv.name)
    for mv in views[:1] if joint else views:
        linked = set(roots)
        if joint:
            linked = linked.union(*reach.values())
        for t in mv.tables:
            if not joint and (t.life.value == "live" or t.tid == 0):
                linked.update(e.target for _, e in t.entries if e.is_table)
        for t in mv.tables:
            live_orphan = t.tid not in roots and t.life.value == "live" and t.tid not in linked
            if live_orphan and t.tid not in history:
                continue  # allocated, never linked: nothing to draw
            nid = _node_id(mv.name, t.tid, many)
            span = geo.entry_span(t.level)
            where = addrs.get(t.tid, ())
            lo, hi = (where[0].lo, where[0].hi) if where else t.span(geo)
            if t.tid not in roots:
                covered_lo = lo if covered_lo is None else min(covered_lo, lo)
                covered_hi = hi if covered_hi is None else max(covered_hi, hi)
            want = path_entry.get(nid)
            cursor_idx = next((m.cursor[1] for m in marks if m.cursor and m.cursor[0] == nid), None)
            rows, more = [], 0
            populated = list(t.entries)
            keep = {i for i in (want, cursor_idx) if i is not None}
            shown = [p for p in populated if p[0] in keep]
            rest = [p for p in populated if p[0] not in keep]
            shown += rest[: max(0, MAX_ROWS - len(shown))]
            more = len(populated) - len(shown)
            indices = sorted({i for i, _ in shown} | keep)
            for i in indices:
                e = t.get(i)
                elo = lo + i * span
                ew = tuple(w.at(i, span) for w in where)
                on_path = nid in path_ids and i == want
                if e is None:
                    rows.append(Row(i, elo, elo + span, "none", "", "none", on_path, i == cursor_idx, ew))
                    continue
                if e.is_table:
                    child = mv.tables[e.target] if e.target < len(mv.tables) else None
                    cname = f"{child.level.name} #{e.target}" if child is not None else f"#{e.target}"
                    did = _node_id(mv.name, e.target, many)
                    rows.append(Row(i, elo, elo + span, "table", did, f"→ {cname}", on_path, i == cursor_idx, ew))
                    edges.append(Edge(nid, i, did, "live", f"entry {i}", on_path and did in path_ids))
                else:
                    lid = f"{nid}.p{i}"
                    what = leaf_label(e.target, huge_tlb=t.level.name != "PTE" and _in_hugetlb(state.vmas, t, elo))
                    rows.append(Row(i, elo, elo + span, "leaf", lid, what, on_path, i == cursor_idx, ew))
                    # a page mapped by a PTE sits in the page rank; a huge leaf (a
                    # THP or hugetlb page at PMD level, a 1G page at PUD level) in
                    # the rank of the table whose entry maps it, beside that table
                    leaves.append(LeafNode(lid, nid, i, len(ranks) - 1 if t.level.name == "PTE" else level_rank[t.level],
                                           t.level.name, e.target, what, elo, on_path, ew))
                    edges.append(Edge(nid, i, lid, "leaf", f"entry {i}", on_path))
            held = tuple(f"{source.lock_label(k)} held by {v}" for k, v in locks if source.lock_table(k) == t.tid)
            owners = [v.name for v in views if t.tid in reach.get(v.name, ())]
            if joint and t.tid not in roots:
                # each entry that pointed here and no longer does: P's PUD
                # entry huge_pmd_unshare() cleared while Q keeps the table
                gone = [p for p in formerly.get(t.tid, []) if not sharing.points_at(mv.tables, p[0], p[1], t.tid)
                        and (p[0] in linked or p[0] in formerly)]
                if not gone and t.tid not in linked:
                    gone = [p for p in [_geometric_parent(mv.tables, geo, t)] if p is not None]
                for parent in gone:
                    pid = _node_id(mv.name, parent[0], many)  # on the walker's path only if it came that way
                    edges.append(Edge(pid, parent[1], nid, "ghost", f"was entry {parent[1]}",
                                      nid in path_ids and pid in path_ids))
            elif t.tid != 0 and t.tid not in linked:
                parent = history.get(t.tid) or _geometric_parent(mv.tables, geo, t)
                if parent is not None:
                    pid = _node_id(mv.name, parent[0], many)
                    edges.append(Edge(pid, parent[1], nid, "ghost", f"was entry {parent[1]}", nid in path_ids))
            sharers = tuple(owners) if joint else tuple(shared[id(t)])
            read = foreign_at.get(t.tid)
            tables.append(TableNode(nid, mv.name, t.tid, t.level.name, level_rank[t.level], lo, hi, t.life.value,
                                    BADGES[t.life.value], t.deposited, tuple(rows), more, held, nid in path_ids,
                                    sharers if len(sharers) > 1 else (),
                                    sharing.owner_text(t, owners, roots) if joint else "",
                                    f"foreign: {read.owner}'s" if read is not None else "", where))
    if reads:  # the walker's way into a foreign table: drawn apart from a freed one's
        into = {_node_id(views[0].name, tid, many) for tid in foreign_at}
        edges = [replace(e, foreign=True) if e.on_path and e.dst in into and e.kind != "leaf" else e for e in edges]
    # The VMA band spans what the lowest drawn tables map (a few MiB, not the
    # 512 GiB of a PUD table, so that a VMA is wide enough to read).
    deepest = max((n.rank for n in tables if n.tid != 0), default=None)
    spans = [(n.lo, n.hi) for n in tables if n.tid != 0 and n.rank == deepest]
    lo = min((a for a, _ in spans), default=covered_lo if covered_lo is not None else 0)
    hi = max((b for _, b in spans), default=covered_hi if covered_hi is not None else geo.task_size)
    bands, axes = [], []
    named_nodes = {n.id: n for n in tables}

    def under(spans, v) -> tuple[str, ...]:
        # the lowest drawn tables that map part of v: a VMA off the band may
        # still lie under a drawn upper table (mremap's old PMD table)
        hit = [named_nodes[n] for n, (t_lo, t_hi) in spans if t_lo < v.end and v.start < t_hi]
        low = max((n.rank for n in hit), default=None)
        return tuple(n.title for n in hit if n.rank == low)

    if joint:
        for mv in views:
            root_id = _node_id(mv.name, mv.root, many)
            a_lo, a_hi = sharing.mm_axis(geo, tables, edges, root_id, (lo, hi))
            axes.append(VmaAxis(mv.name, a_lo, a_hi))
            spans = list(sharing.mm_spans(geo, tables, edges, root_id).items())
            bands.extend(VmaBand(v.name, v.kind, v.start, v.end, vma_status(v), v.end > a_lo and v.start < a_hi, mv.name,
                                 under(spans, v)) for v in mv.vmas)
    else:
        for mv in views:
            spans = [(n.id, (n.lo, n.hi)) for n in tables if n.mm == mv.name and n.tid != 0]
            for v in mv.vmas:
                bands.append(VmaBand(v.name, v.kind, v.start, v.end, vma_status(v), v.end > lo and v.start < hi,
                                     under=under(spans, v)))
    mv0 = views[0]
    mm_lock = f"mmap_lock: writer {mv0.mmap_writer or '-'}; readers {', '.join(sorted(mv0.mmap_readers)) or '-'}"
    cpus = tuple(f"CPU{i}: IRQs {'off' if c.irqs_off else 'on'}, RCU depth {c.rcu}" for i, c in enumerate(state.cpus))
    queued = []
    for cb in state.rcu.callbacks:
        queued.extend(f"#{tid}: {cb.function} after grace period {cb.needed}" for tid in cb.tids)
    for a in state.actors:
        queued.extend(f"#{tid}: {a.name}'s mmu_gather batch" for tid in (a.get("batch", ()) or ()))
    for t in mv0.tables:
        if t.life.value == "ipi_pending":
            queued.append(f"#{t.tid}: freed once the IPIs are taken")
    uaf = tuple(f"USE-AFTER-FREE: {u.actor} read {u.level} table #{u.tid} in {u.function}() after {u.freed_by} freed it"
                for u in state.uaf)
    walked = next((v.name for v in views if v.walked), "P")
    foreign = tuple(f"FOREIGN TABLE: {f.actor} read {f.level} table #{f.tid} in {f.function}(): it is no longer "
                    f"{walked}'s, it is {f.owner}'s" + (f" (reached through table #{f.via})" if f.via != f.tid else "")
                    + " (reused, not freed)" for f in reads)
    where = f" at step {index}" if index is not None else ""
    said = []
    for w in marks:
        at = f"; it reads entry {w.cursor[1]} of {w.cursor[0].replace('t', 'table #')} next" if w.cursor else ""
        said.append(f"CPU{w.cpu} {w.actor} walks {w.addr:#x} ({w.next_step if w.next_step != 'done' else 'done'}){at}.")
    chains = []
    if joint:
        for v in views:
            shared_now = sorted(f"table #{n.tid}" for n in tables if len(n.shared_by) > 1 and v.name in n.shared_by)
            chains.append(f"{v.name}'s tree{' (walked)' if v.walked else ''} from PGD table #{v.root}"
                          + (f", meeting the other mm at {', '.join(shared_now)}" if shared_now else "") + ".")
        named = {n.id: n for n in tables}
        chains += [f"Entry {e.index} of {named[e.src].title} no longer points at {named[e.dst].title} (ghost edge "
                   f"\"{e.label}\"); that table is {named[e.dst].owner}." for e in edges
                   if e.kind == "ghost" and e.src in named and e.dst in named]
    alt = "\n".join([f"Page-table tree{where}."] + chains + said + list(uaf) + list(foreign) + [state_text(state, ctx)])
    return TreeModel(ctx.scenario.describe(), geo.levels, tuple(ranks), tuple(tables), tuple(leaves), tuple(edges),
                     tuple(bands), lo, hi, mm_lock, cpus, tuple(marks), tuple(queued), uaf, alt, foreign,
                     tuple(_node_id(v.name, v.root, many) for v in views) if joint else (), tuple(axes))

