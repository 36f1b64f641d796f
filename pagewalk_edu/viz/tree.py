"""The page-table tree of one state as a graphviz Digraph: tables with their
populated entries, leaves, VMAs, the walker's cursor, locks, lifecycles and
what is queued for freeing."""

from __future__ import annotations

from html import escape

import graphviz

from ..kernel.geometry import fmt_size
from ..kernel.sim import Ctx
from ..kernel.state import State
from ..kernel.walker import walker_cursor
from .style import LIFE_STYLE, OKABE_ITO
from .text import vma_status


def _leaf_label(size: int) -> str:
    return {4096: "4K page", 1 << 21: "2M THP", 1 << 30: "1G page"}.get(size, f"{fmt_size(size)} page")


def _linked(state: State) -> set[int]:
    out = {0}
    for t in state.tables:
        if t.life.value == "live" or t.tid == 0:
            for _, e in t.entries:
                if e.is_table:
                    out.add(e.target)
    return out


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


def tree(ctx: Ctx, state: State, *, legend: bool = True) -> graphviz.Digraph:
    if not isinstance(ctx, Ctx):
        raise TypeError(f"tree(ctx, state): ctx must be a Ctx (make_ctx(scenario) or trace.ctx), got {type(ctx).__name__}")
    if not isinstance(state, State):
        raise TypeError(f"tree(ctx, state): state must be a State (initial(ctx) or trace.last), got {type(state).__name__}")
    geo = ctx.geo
    g = graphviz.Digraph("pagetables", graph_attr={"rankdir": "LR", "fontname": "Helvetica", "fontsize": "10", "nodesep": "0.15",
                                                   "ranksep": "0.4"},
                         node_attr={"shape": "plain", "fontname": "Helvetica", "fontsize": "9"},
                         edge_attr={"arrowsize": "0.6"})
    cursor = walker_cursor(ctx, state)
    holders = dict(state.spin)
    linked = _linked(state)
    span_of = {}
    for t in state.tables:
        if t.tid != 0 and t.life.value == "live" and t.tid not in linked:
            continue  # allocated then dropped (never happens with the shipped layouts)
        span_of[t.tid] = geo.entry_span(t.level)
        fill, style, width, _ = LIFE_STYLE[t.life.value]
        border = "1" if t.life.value == "live" else width
        locks = [f"{k.split(':')[0]} held by {v}" for k, v in holders.items() if k.endswith(f":{t.tid}")]
        head = f"{t.level.name} table #{t.tid}"
        sub = f"[{t.base:#x}, {t.base + geo.table_span(t.level):#x})"
        life = t.life.value + (", deposited" if t.deposited else "")
        rows = [f'<tr><td colspan="2" bgcolor="{fill}"><b>{escape(head)}</b><br/>{escape(sub)}<br/><i>{escape(life)}</i>'
                + "".join(f"<br/>{escape(x)}" for x in locks) + "</td></tr>"]
        for idx, e in t.entries:
            lo = t.base + idx * span_of[t.tid]
            mark = ""
            bg = ""
            if cursor and cursor[0] == t.tid and cursor[1] == idx:
                mark, bg = " ◀ walker", f' bgcolor="{OKABE_ITO["sky"]}"'
            target = f"→ #{e.target}" if e.is_table else _leaf_label(e.target)
            rows.append(f'<tr><td port="e{idx}" align="left"{bg}>[{idx}] {lo:#x}</td><td align="left"{bg}>{escape(target)}{mark}</td></tr>')
        if cursor and cursor[0] == t.tid and t.get(cursor[1]) is None:
            rows.append(f'<tr><td port="e{cursor[1]}" bgcolor="{OKABE_ITO["sky"]}">[{cursor[1]}]</td>'
                        f'<td bgcolor="{OKABE_ITO["sky"]}">none ◀ walker</td></tr>')
        table_style = {"filled,dashed": ' style="dashed"', "filled,dotted": ' style="dotted"'}.get(style, "")
        label = f'<<table border="{border}" cellborder="1" cellspacing="0"{table_style}>{"".join(rows)}</table>>'
        g.node(f"t{t.tid}", label=label)
        for idx, e in t.entries:
            if e.is_table:
                g.edge(f"t{t.tid}:e{idx}", f"t{e.target}")
    # VMAs, locks and the walker.
    vma_rows = []
    for v in state.vmas:
        state_txt = vma_status(v)
        vma_rows.append(f'<tr><td align="left">VMA {escape(v.name)} ({v.kind})</td><td align="left">[{v.start:#x}, {v.end:#x})</td>'
                        f'<td align="left">{escape(state_txt)}</td></tr>')
    mm = f"mmap_lock: writer {state.mmap_writer or '-'}; readers {', '.join(sorted(state.mmap_readers)) or '-'}"
    cpus = "; ".join(f"CPU{i}: IRQs {'off' if c.irqs_off else 'on'}, RCU depth {c.rcu}" for i, c in enumerate(state.cpus))
    g.node("vmas", label=f'<<table border="0" cellborder="1" cellspacing="0"><tr><td colspan="3"><b>VMAs and locks</b></td></tr>'
                         f'{"".join(vma_rows)}<tr><td colspan="3" align="left">{escape(mm)}</td></tr>'
                         f'<tr><td colspan="3" align="left">{escape(cpus)}</td></tr></table>>')
    a = state.actors[0]
    what = "done" if a.done else f"next: {a.pc}"
    g.node("walker", label=f'<<table border="2" cellborder="0" bgcolor="{OKABE_ITO["sky"]}"><tr><td><b>CPU0 walker</b><br/>'
                           f'{escape(what)}<br/>reads {ctx.walk_addr:#x}</td></tr></table>>')
    if cursor:
        g.edge("walker", f"t{cursor[0]}:e{cursor[1]}", color=OKABE_ITO["blue"], penwidth="2", style="bold")
    else:
        g.edge("walker", "t0", style="invis")
    q = queued(state)
    if q:
        rows = "".join(f'<tr><td align="left">#{tid}: {escape(why)}</td></tr>' for tid, why in q)
        g.node("queue", label=f'<<table border="1" cellborder="0"><tr><td><b>Queued for freeing</b></td></tr>{rows}</table>>')
    for u in state.uaf:
        g.node(f"uaf{u.tid}", label=f'<<table border="3" cellborder="0" bgcolor="{OKABE_ITO["vermillion"]}"><tr><td><b>USE-AFTER-FREE</b><br/>'
                                     f'{escape(u.actor)} read {u.level} table #{u.tid} in {escape(u.function)}()<br/>'
                                     f'freed by {escape(u.freed_by)}</td></tr></table>>')
        g.edge(f"uaf{u.tid}", f"t{u.tid}", color=OKABE_ITO["vermillion"], penwidth="2")
    if legend:
        with g.subgraph(name="cluster_legend", graph_attr={"label": "table lifecycle", "fontsize": "9", "style": "rounded"}) as lg:
            for life, (fill, style, width, meaning) in LIFE_STYLE.items():
                table_style = {"filled,dashed": ' style="dashed"', "filled,dotted": ' style="dotted"'}.get(style, "")
                lg.node(f"legend_{life}", label=f'<<table border="{width}" cellborder="0"{table_style}><tr><td bgcolor="{fill}">'
                                                f'<b>{life}</b><br/>{escape(meaning)}</td></tr></table>>')
    return g


def tree_svg(ctx: Ctx, state: State, **kw) -> str:
    return tree(ctx, state, **kw).pipe(format="svg").decode("utf-8")
