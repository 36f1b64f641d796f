"""Where the tree's boxes go (the pure-Python layout of the SVG tree): each
subtree gets its own columns, so boxes never overlap and an unlinked table
keeps its place under its former parent."""

from __future__ import annotations

from ...kernel.geometry import fmt_size
from ..model.sharing import where_lines
from ..model.tree import TreeModel

BOX_W = 190
LEAF_W = 128
LINE = 17
LEAF_H = 2 * LINE + 8
LEAF_GAP = 6
GAP = 14
RANK_LABEL_W = 84
PAD = 8
HEAD = 2 * LINE + 8  # a table's title and its address line
ROW = 2 * LINE + 2  # an entry: its label and its address line

# How tall a box is: with several mms a table, an entry or a page has one
# address line for each mm whose path reaches it (a page table has no address
# of its own), so its height follows what the model says it maps.


def span_text(lo: int, hi: int) -> str:
    return f"{lo:#x} +{fmt_size(hi - lo)}"


def span_lines(x) -> list[str]:
    """The address lines of a table, an entry or a page: with several mms one
    line for each mm whose path reaches it, its own address in that mm."""
    if x.where:
        return where_lines(x.where, fmt_size(x.where[0].hi - x.where[0].lo))
    return [span_text(x.lo, x.hi)]


def head_h(node) -> float:
    """The box's header: title and badge, span(s), and (several mms) whose table it is."""
    return HEAD + LINE * (len(span_lines(node)) - 1) + (LINE if node.owner else 0) + (LINE + 2 if node.foreign else 0)


def row_h(node) -> float:
    """An entry's height: its label, then an address line for each mm."""
    return ROW + LINE * max([len(r.where) - 1 for r in node.rows if r.where] or [0])


def leaf_where(n) -> tuple:
    """Where a page is mapped: by each mm that maps it now (a former mapping,
    through an unshared entry, is told on the entry's row, where there is room)."""
    return tuple(w for w in n.where if w.live) or n.where


def page_h(m: TreeModel) -> float:
    """A page's height in this picture: its label, then an address line for each mm that maps it."""
    return LEAF_H + LINE * max([len(leaf_where(n)) - 1 for n in m.leaves if n.where] or [0])


def table_h(node) -> float:
    rows = len(node.rows) + (1 if node.more else 0) + len(node.locks)
    return head_h(node) + len(node.rows) * row_h(node) + (rows - len(node.rows)) * ROW + (4 if rows else 0)


class Layout:
    """Columns for every subtree.  A leaf in its table's own rank (a huge page
    mapped at PMD or PUD level) stands beside the table; a table several
    entries point at (hugetlb PMD sharing: P's and Q's PUD entries, live or
    ghost) is laid out under all of them, centred between its parents.
    `beside` is the room a node's labels take right of its box (the list of
    entries that meet at a shared table): the layout keeps it inside the
    parents' columns where it can, so the labels do not widen the picture.
    Where that place would widen the picture (after one mm's unshare its new
    PMD table stands where the shared one was centred), the shared table goes
    to the nearest free place within it, its huge leaves under it if they
    leave no room beside (and its labels above it, tree.py)."""

    def __init__(self, m: TreeModel, beside: dict[str, float] | None = None):
        self.m = m
        self.beside = beside or {}
        self.nodes = {n.id: n for n in m.tables}
        self.nodes.update({n.id: n for n in m.leaves})
        parents: dict[str, list[tuple[int, str]]] = {}
        for e in m.edges:
            if e.dst in self.nodes and e.src in self.nodes and e.src not in (p for _, p in parents.get(e.dst, ())):
                parents.setdefault(e.dst, []).append((e.index, e.src))
        self.parents = {d: [p for _, p in v] for d, v in parents.items()}
        self.shared = [d for d, v in self.parents.items() if len(v) > 1]
        children: dict[str, list[tuple[int, str]]] = {k: [] for k in self.nodes}
        self.side: dict[str, list[str]] = {k: [] for k in self.nodes}
        for d, v in parents.items():
            if d in self.shared:
                continue
            idx, src = v[0]
            if d.count(".p") and self.nodes[d].rank == self.nodes[src].rank:
                self.side[src].append((idx, d))
            else:
                children[src].append((idx, d))
        self.side = {k: [d for _, d in sorted(v)] for k, v in self.side.items()}
        self.children = {k: [d for _, d in sorted(v)] for k, v in children.items()}
        self.roots = sorted((k for k in self.nodes if k not in parents), key=lambda k: (self.nodes[k].rank, k))
        self.x: dict[str, float] = {}
        self.dy: dict[str, int] = {}  # place in a column of stacked leaves
        # a table whose huge leaves stand under it, right-aligned in its own
        # column (no room beside it for them): how far down its leaves start
        self.low: set[str] = set()
        self.drop: dict[str, float] = {}
        self._w: dict[str, float] = {}

    def own(self, nid: str) -> float:
        """Width of the node itself, with the huge leaves standing beside it."""
        if nid.count(".p"):
            return LEAF_W
        return BOX_W + (GAP + LEAF_W if self.side[nid] and nid not in self.low else 0)

    def stacked(self, nid: str) -> bool:
        """A table whose children are all leaves (pages): they stack in a
        column under it, so a PTE table is never wider than its box."""
        kids = self.children[nid]
        return len(kids) > 1 and all(k.count(".p") for k in kids)

    def width(self, nid: str) -> float:
        if nid not in self._w:
            own = self.own(nid)
            kids = self.children[nid]
            if self.stacked(nid):
                self._w[nid] = max(own, LEAF_W)
            else:
                self._w[nid] = max(own, sum(self.width(k) for k in kids) + GAP * (len(kids) - 1) if kids else own)
        return self._w[nid]

    def place(self, nid: str, left: float) -> None:
        w = self.width(nid)
        own = self.own(nid)
        self.x[nid] = left + (w - own) / 2
        for k, leaf in enumerate(self.side[nid]):
            self.dy[leaf] = k
            if nid in self.low:
                self.x[leaf] = self.x[nid] + BOX_W - LEAF_W
                self.drop[leaf] = table_h(self.nodes[nid]) + 2 * LEAF_GAP
            else:
                self.x[leaf] = self.x[nid] + BOX_W + GAP
                self.drop.pop(leaf, None)
        kids = self.children[nid]
        if self.stacked(nid):
            for k, kid in enumerate(kids):
                self.x[kid] = left + (w - LEAF_W) / 2
                self.dy[kid] = k
            return
        total = sum(self.width(k) for k in kids) + GAP * (len(kids) - 1)
        cur = left + (w - total) / 2
        for k in kids:
            self.place(k, cur)
            cur += self.width(k) + GAP

    def subtree(self, nid: str) -> list[str]:
        out, todo = [], [nid]
        while todo:
            n = todo.pop()
            out.append(n)
            todo.extend(self.children[n] + self.side[n])
        return out

    def _clash(self, nodes: list[str], dx: float) -> bool:
        mine = set(nodes)
        for n in nodes:
            a = self.x[n] + dx
            b = a + self.own(n)
            for o, x in self.x.items():
                if o in mine or self.nodes[o].rank != self.nodes[n].rank:
                    continue
                if a < x + self.own(o) + GAP and x < b + GAP:
                    return True
        return False

    def _right(self, nid: str, dx: float) -> float:
        """The right edge of `nid`'s subtree moved by dx, with the labels beside it."""
        nodes = self.subtree(nid)
        return dx + max(max(self.x[n] + self.own(n) for n in nodes), self.x[nid] + BOX_W + self.beside.get(nid, 0.0))

    def _shift(self, nid: str, ps: list[str], centre: float, near: bool, limit: float) -> float | None:
        """How far to move the subtree of shared table `nid` (placed at 0)
        from where place() puts it: under the centre of its parents, slid
        left to stay inside their columns, stepped right past a neighbour.
        `near`: the nearest free place either side within `limit` instead
        (None if there is none)."""
        self.place(nid, 0.0)
        nodes = self.subtree(nid)
        dx = centre - (self.x[nid] + BOX_W / 2)
        floor = RANK_LABEL_W + PAD - min(self.x[n] for n in nodes)
        if near:
            steps = sorted({max(dx + k * GAP, floor) for k in range(-60, 61)}, key=lambda d: abs(d - dx))
            return next((d for d in steps if self._right(nid, d) <= limit and not self._clash(nodes, d)), None)
        # no wider than the parents' columns where it can help (its huge
        # leaves beside it): slide left, its centre still between theirs
        over = self._right(nid, dx) - max(self.x[p] + self.own(p) for p in ps)
        if over > 0 and len(ps) > 1:
            dx -= min(over, max(0.0, centre - min(self.x[p] + BOX_W / 2 for p in ps) - GAP))
        dx = max(dx, floor)
        while self._clash(nodes, dx):  # a neighbour stands there: step right until the columns are free
            dx += GAP
        return dx

    def run(self) -> float:
        left = RANK_LABEL_W + PAD
        for r in self.roots:
            self.place(r, left)
            left += self.width(r) + GAP
        for nid in sorted(self.shared, key=lambda k: self.nodes[k].rank):
            ps = [p for p in self.parents[nid] if p in self.x]
            if not ps:  # no parent placed (cannot happen in a tree): a column of its own at the right
                self.place(nid, max((x + self.own(n) for n, x in self.x.items()), default=left) + GAP)
                continue
            centre = sum(self.x[p] + BOX_W / 2 for p in ps) / len(ps)
            limit = max(x + self.own(n) for n, x in self.x.items())  # the picture's right edge so far
            best = None
            # where it goes: beside its huge leaves; if that widens the picture,
            # the nearest free place within it, then with its leaves under it
            for low, near in ((False, False), (False, True), (True, True)):
                self.low.discard(nid)
                if low:
                    if not self.side[nid]:
                        break
                    self.low.add(nid)
                self._w.pop(nid, None)
                dx = self._shift(nid, ps, centre, near, limit)
                if dx is None:
                    continue
                right = self._right(nid, dx)
                if best is None or right < best[0]:
                    best = (right, low, dx)
                if right <= limit:
                    break
            _, low, dx = best
            self.low.discard(nid)
            if low:
                self.low.add(nid)
            self._w.pop(nid, None)
            self.place(nid, 0.0)
            for n in self.subtree(nid):
                self.x[n] += dx
        return max((x + self.own(n) for n, x in self.x.items()), default=left) + PAD
