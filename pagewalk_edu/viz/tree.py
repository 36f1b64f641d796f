"""The page-table tree of one state.

tree(ctx, state) is a graphviz Digraph (laid out by `dot` for --svg/--png
export; a notebook displays it through the pure-Python layout);
tree_image(ctx, state) is the same view as SVG laid out in pure Python (the
widgets, and anywhere `dot` cannot run).  Both draw the
TreeModel of viz.model.tree: ranks top to bottom, the entries that matter,
leaves, ghost edges to the entry an unlinked table used to occupy, the
walker's path and cursor, VMAs with their locks, the freeing queue."""

from __future__ import annotations

from functools import lru_cache
from html import escape

from ..kernel.sim import Ctx
from ..kernel.state import State
from .model.sharing import where_lines
from .model.tree import TreeModel, tree_model
from .style import CURSOR_EDGE, CURSOR_FILL, LIFE_STYLE, OKABE_ITO


def _check(ctx, state) -> None:
    if not isinstance(ctx, Ctx):
        raise TypeError(f"tree(ctx, state): ctx must be a Ctx (make_ctx(scenario) or trace.ctx), got {type(ctx).__name__}")
    if not isinstance(state, State):
        raise TypeError(f"tree(ctx, state): state must be a State (initial(ctx) or trace.last), got {type(state).__name__}")


def queued(state: State) -> list[tuple[int, str]]:
    """Tables waiting to be freed, and by what."""
    out = []
    for cb in state.rcu.callbacks:
        for tid in cb.tids:
            out.append((tid, f"{cb.function} after grace period {cb.needed}"))
    for a in state.actors[1:]:
        for tid in a.get("batch", ()) or ():
            out.append((tid, f"{a.name}'s mmu_gather batch"))
    for t in state.tables:
        if t.life.value == "ipi_pending":
            out.append((t.tid, "freed once the IPIs are taken"))
    return out


def _addr(x, sep: str = "<br/>") -> str:
    """An entry's or a page's address; with several mms each mm's ("Q: 0x80205000")."""
    return sep.join(where_lines(x.where)) if x.where else f"{x.lo:#x}"


_DOT_STYLE = {"filled,dashed": ' style="dashed"', "filled,dotted": ' style="dotted"'}


def dot_source(m: TreeModel, *, legend: bool = True):
    """A graphviz Digraph of a TreeModel (needs the graphviz package, not `dot`, to build)."""
    import graphviz

    g = graphviz.Digraph("pagetables", graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "10",
                                                   "nodesep": "0.2", "ranksep": "0.35", "newrank": "true"},
                         node_attr={"shape": "plain", "fontname": "Helvetica", "fontsize": "10"},
                         edge_attr={"arrowsize": "0.6", "fontname": "Helvetica", "fontsize": "9"})
    cursor = {w.cursor for w in m.walkers if w.cursor}
    by_rank: dict[int, list[str]] = {}
    for n in m.tables:
        fill, style, width, _ = LIFE_STYLE[n.life]
        border = "1" if n.life == "live" else width
        head = f"{n.level} table #{n.tid}"
        # with several mms, the range the path of each maps (a page table has no address of its own)
        sub = "<br/>".join(escape(f"{w.mm}: [{w.lo:#x}, {w.hi:#x})" if w.live else f"{w.mm} (was): [{w.lo:#x}, {w.hi:#x})")
                           for w in n.where) if n.where else escape(f"[{n.lo:#x}, {n.hi:#x})")
        life = n.badge + (", deposited" if n.deposited else "")
        rows = [f'<tr><td colspan="2" bgcolor="{fill}"><b>{escape(head)}</b><br/>{sub}<br/><i>{escape(life)}</i>'
                + (f"<br/><b>{escape(n.owner)}</b>" if n.owner else "")
                + (f"<br/><b>{escape(n.foreign.upper())}</b>" if n.foreign else "")
                + "".join(f"<br/>{escape(x)}" for x in n.locks) + "</td></tr>"]
        for r in n.rows:
            # the next-read mark: the same pale green as the SVG tree's, in a blue cell border (no lifecycle's)
            bg = f' bgcolor="{CURSOR_FILL}" color="{CURSOR_EDGE}" border="2"' if (n.id, r.index) in cursor else ""
            mark = " ◀ walker" if (n.id, r.index) in cursor else (" (walker's path)" if r.on_path else "")
            rows.append(f'<tr><td port="e{r.index}" align="left"{bg}>[{r.index}] {_addr(r)}</td>'
                        f'<td align="left"{bg}>{escape(r.text)}{mark}</td></tr>')
        if n.more:
            rows.append(f'<tr><td colspan="2">… {n.more} more entries</td></tr>')
        label = f'<<table border="{border}" cellborder="1" cellspacing="0"{_DOT_STYLE.get(style, "")}>{"".join(rows)}</table>>'
        if n.foreign:  # another mm's table the walker read: a double outline round the box, not a lifecycle
            label = f'<<table border="3" cellborder="0" cellpadding="2" cellspacing="0"><tr><td>{label[1:-1]}</td></tr></table>>'
        g.node(n.id, label=label)
        by_rank.setdefault(n.rank, []).append(n.id)
    for n in m.leaves:
        g.node(n.id, label=f"{n.label}\n" + _addr(n, "\n"), shape="box", style="rounded,filled", fillcolor="#EEEEEE",
               penwidth="2.5" if n.on_path else "1")
        by_rank.setdefault(n.rank, []).append(n.id)
    ports = {(n.id, r.index) for n in m.tables for r in n.rows}
    for e in m.edges:
        attrs = {"label": e.label} if e.kind != "leaf" else {}
        if e.kind == "ghost":
            attrs.update(style="dashed", color="#555555", fontcolor="#333333")
        if e.on_path:
            attrs.update(color=OKABE_ITO["blue"], penwidth="2.5")
        if e.foreign:  # Graphviz's parallel-line edge: a colour list of two
            attrs.update(color=f'{OKABE_ITO["blue"]}:#ffffff:{OKABE_ITO["blue"]}', penwidth="1.5",
                         label=f"{e.label} · FOREIGN read")
        g.edge(f"{e.src}:e{e.index}" if (e.src, e.index) in ports else e.src, e.dst, **attrs)
    # rank labels: level and the address bits it indexes, one per rank, in order
    for i, rank in enumerate(m.ranks):
        if i in by_rank:
            g.node(f"rank{i}", label=f"{rank.level}\n{rank.bits}", shape="plaintext")
            with g.subgraph() as s:
                s.attr(rank="same")
                for nid in [f"rank{i}"] + by_rank[i]:
                    s.node(nid)
    ranks = [f"rank{i}" for i in sorted(by_rank)]
    for a, b in zip(ranks, ranks[1:]):
        g.edge(a, b, style="invis")
    vma_rows = []
    for v in m.vmas:
        vma_rows.append(f'<tr><td align="left">VMA {escape(v.name)} ({v.kind})</td><td align="left">[{v.lo:#x}, {v.hi:#x})</td>'
                        f'<td align="left">{escape(v.status)}</td></tr>')
    g.node("vmas", label=f'<<table border="0" cellborder="1" cellspacing="0"><tr><td colspan="3"><b>VMAs and locks</b></td></tr>'
                         f'{"".join(vma_rows)}<tr><td colspan="3" align="left">{escape(m.mm_lock)}</td></tr>'
                         f'<tr><td colspan="3" align="left">{escape("; ".join(m.cpus))}</td></tr></table>>')
    for w in m.walkers:
        what = "done" if w.next_step == "done" else f"next: {w.next_step}"
        wid = f"walker_{w.actor}"
        g.node(wid, label=f'<<table border="2" cellborder="0" bgcolor="{OKABE_ITO["sky"]}"><tr><td><b>CPU{w.cpu} {escape(w.actor)}</b>'
                          f'<br/>{escape(what)}<br/>reads {w.addr:#x}</td></tr></table>>')
        if w.cursor:
            g.edge(wid, f"{w.cursor[0]}:e{w.cursor[1]}", color=OKABE_ITO["blue"], penwidth="2", style="bold")
    if m.queued:
        rows = "".join(f'<tr><td align="left">{escape(q)}</td></tr>' for q in m.queued)
        g.node("queue", label=f'<<table border="1" cellborder="0"><tr><td><b>Queued for freeing</b></td></tr>{rows}</table>>')
    for i, u in enumerate(m.uaf):
        g.node(f"uaf{i}", label=f'<<table border="3" cellborder="0" bgcolor="{OKABE_ITO["vermillion"]}"><tr><td><b>'
                                f'{escape(u)}</b></td></tr></table>>')
    for i, f in enumerate(m.foreign):  # the second violation: boxed apart from a use-after-free (double border)
        g.node(f"foreign{i}", label=f'<<table border="1" cellborder="1" cellspacing="3"><tr><td><b>{escape(f)}</b></td>'
                                    f'</tr></table>>')
    if legend:
        with g.subgraph(name="cluster_legend", graph_attr={"label": "table lifecycle", "fontsize": "9", "style": "rounded"}) as lg:
            prev = None
            for life, (fill, style, width, meaning) in LIFE_STYLE.items():
                lg.node(f"legend_{life}", label=f'<<table border="{width}" cellborder="0"{_DOT_STYLE.get(style, "")}><tr>'
                                                f'<td bgcolor="{fill}"><b>{life}</b></td></tr></table>>')
                if prev:
                    lg.edge(prev, f"legend_{life}", style="invis")
                prev = f"legend_{life}"
    g.attr(label=m.alt.splitlines()[0], labelloc="t", fontsize="11")
    return g


def tree(ctx: Ctx, state: State, *, legend: bool = True, trace=None, index: int | None = None):
    """The tree of one state as a graphviz Digraph: `.source` and `.pipe()` give
    Graphviz's layout for export; a notebook shows it laid out in pure Python
    (the same picture as the Explorer's), so a lesson's `tree(...)` cell
    displays where no `dot` can run, as in the browser-only course."""
    from .svg.tree import tree_image as image

    _check(ctx, state)
    m = tree_model(ctx, state, trace=trace, index=index)
    g = dot_source(m, legend=legend)
    g.__class__ = _shown_tree_class()
    g.image = image(m, legend=legend)
    return g


@lru_cache(maxsize=None)
def _shown_tree_class():
    import graphviz

    class ShownTree(graphviz.Digraph):
        """A Digraph that Jupyter displays through its pure-Python image (image/svg+xml
        with the state's alt text) instead of running `dot`."""

        image = None

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            return self.image._repr_mimebundle_(include, exclude)

        def _repr_svg_(self) -> str:
            return self.image.svg

    return ShownTree


def tree_svg(ctx: Ctx, state: State, *, legend: bool = True, trace=None, index: int | None = None) -> str:
    """SVG text of the tree, laid out in pure Python (no `dot` needed)."""
    from .svg.tree import tree_svg_model

    _check(ctx, state)
    return tree_svg_model(tree_model(ctx, state, trace=trace, index=index), legend=legend)


def tree_image(ctx: Ctx, state: State, *, legend: bool = True, trace=None, index: int | None = None):
    """The tree as an image Jupyter shows (image/svg+xml with its alt text), laid
    out in pure Python: what lessons show where `dot` cannot run."""
    from .svg.tree import tree_image as image

    _check(ctx, state)
    return image(tree_model(ctx, state, trace=trace, index=index), legend=legend)


def dot_svg(ctx: Ctx, state: State, **kw) -> str:
    """SVG laid out by Graphviz's `dot` (export and docs), with <title>/<desc> alt text."""
    from .svg.base import esc

    m = tree_model(ctx, state, trace=kw.pop("trace", None), index=kw.pop("index", None))
    svg = dot_source(m, **kw).pipe(format="svg").decode("utf-8")
    start = svg.find("<svg")
    close = svg.find(">", start)
    head = svg[: close + 1].replace("<svg", '<svg role="img" aria-labelledby="pw-dot-title pw-dot-desc"', 1)
    return (head + f'<title id="pw-dot-title">{esc(m.alt.splitlines()[0])}</title><desc id="pw-dot-desc">{esc(m.alt)}</desc>'
            + svg[close + 1:])
