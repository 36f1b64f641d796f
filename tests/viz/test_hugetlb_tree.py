"""The tree of hugetlb PMD sharing (issues 12 and 13): two mms drawn as two
chains from their own PGDs meeting at the shared PMD table; after one mm's
huge_pmd_unshare() a ghost edge from its cleared PUD entry; at the violation
the table the walker read marked foreign, apart from a freed table."""

import xml.etree.ElementTree as ET

import pytest

from pagewalk_edu.explore.verdict import verdict
from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.scenarios import named, named_scenarios
from pagewalk_edu.viz.model import tree_model
from pagewalk_edu.viz.svg.tree import tree_svg_model
from pagewalk_edu.viz.tree import dot_source

NS = {"s": "http://www.w3.org/2000/svg"}
SCENARIOS = ("hugetlb/vma_lock+punch_hole-skip", "hugetlb/vma_lock+dontneed-skip")


@pytest.fixture(scope="module", params=SCENARIOS)
def cex(request):
    s = named(request.param).scenario
    v = verdict(s)
    assert v.violation == "foreign table" and v.schedule, (request.param, v.verdict, v.violation)
    return run(s, v.schedule, then_default=False)


def _shared(trace) -> int:
    """The PMD table both mms' PUD entries point at in the first state."""
    first = trace.states[0]
    return next(t.tid for t in first.tables if t.mm == "shared")


def _pud_entry(state, mm: str, tid: int) -> tuple[int, int]:
    """(PUD tid, entry index) of `mm`'s PUD table pointing at `tid`."""
    return next((t.tid, i) for t in state.tables if t.level.name == "PUD" and t.mm == mm
                for i, e in t.entries if e.is_table and e.target == tid)


def _svg(m):
    return ET.fromstring(tree_svg_model(m))


def test_each_mm_is_a_chain_from_its_own_pgd(cex):
    m = tree_model(cex.ctx, cex.states[0], trace=cex, index=0)
    roots = cex.ctx.setup.roots
    assert len(roots) == 2
    assert m.roots == tuple(f"t{tid}" for _, tid in roots)
    p, q = (m.node(r) for r in m.roots)
    assert (p.level, q.level) == ("PGD", "PGD")
    assert p.owner == "mm P (walked)" and q.owner == "mm Q"
    svg = _svg(m)
    owners = [g.get("data-owner") for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("data-node") in m.roots]
    assert owners == ["mm P (walked)", "mm Q"]
    assert "P's tree (walked) from PGD table #0" in m.alt and "Q's tree from PGD table #1" in m.alt


def test_the_shared_table_is_drawn_once_under_both_pud_entries(cex):
    t = _shared(cex)
    m = tree_model(cex.ctx, cex.states[0], trace=cex, index=0)
    nodes = [n for n in m.tables if n.tid == t]
    assert len(nodes) == 1 and nodes[0].shared_by == ("P", "Q") and nodes[0].owner == "shared by P and Q"
    into = [e for e in m.edges if e.dst == f"t{t}"]
    ppud, pidx = _pud_entry(cex.states[0], "", t)
    qpud, qidx = _pud_entry(cex.states[0], "Q", t)
    assert sorted((e.src, e.index, e.kind) for e in into) == sorted([(f"t{ppud}", pidx, "live"), (f"t{qpud}", qidx, "live")])
    # each PUD hangs off its own mm's PGD
    assert any(e.src == m.roots[0] and e.dst == f"t{ppud}" for e in m.edges)
    assert any(e.src == m.roots[1] and e.dst == f"t{qpud}" for e in m.edges)
    svg = _svg(m)
    assert len(svg.findall(f".//s:g[@data-node='t{t}']", NS)) == 1
    assert {g.get("data-src") for g in svg.findall(f".//s:g[@data-dst='t{t}']", NS)} == {f"t{ppud}", f"t{qpud}"}
    # where the chains meet, each edge's label names the entry and the PUD table it comes from
    meet = sorted("".join(x.itertext()) for x in svg.findall(".//s:text[@class='meet-label']", NS))
    assert meet == sorted([f"◀ entry {pidx} (PUD #{ppud})", f"◀ entry {qidx} (PUD #{qpud})"])


def test_after_the_unshare_a_ghost_edge_joins_p_s_pud_entry_to_the_table(cex):
    t = _shared(cex)
    ppud, pidx = _pud_entry(cex.states[0], "", t)
    i = next(k + 1 for k, e in enumerate(cex.events) if f"unshared:{t}:P" in e.changes)
    m = tree_model(cex.ctx, cex.states[i], trace=cex, index=i)
    ghost = [e for e in m.edges if e.dst == f"t{t}" and e.kind == "ghost"]
    assert [(e.src, e.label) for e in ghost] == [(f"t{ppud}", f"was entry {pidx}")]
    live = [e for e in m.edges if e.dst == f"t{t}" and e.kind == "live"]
    assert len(live) == 1 and m.node(live[0].src).owner == "Q's"
    node = m.node(f"t{t}")
    assert node.shared_by == () and node.owner == "Q's alone (was shared)" and node.life == "live"
    assert not node.foreign  # unshared is not yet a foreign read
    assert f"no longer points at PMD #{t}" in m.alt
    svg = _svg(m)
    assert svg.find(f".//s:g[@data-src='t{ppud}'][@data-dst='t{t}']", NS).get("class").startswith("edge ghost")


def test_the_violation_marks_the_table_foreign_not_freed(cex):
    last = cex.states[-1]
    assert last.foreign and not last.uaf
    f = last.foreign[0]
    m = tree_model(cex.ctx, last, trace=cex, index=len(cex.states) - 1)
    node = m.node(f"t{f.tid}")
    assert node.foreign == f"foreign: {f.owner}'s" and node.life == "live" and node.badge == "live"
    way = [e for e in m.edges if e.dst == f"t{f.tid}" and e.on_path]
    assert way and all(e.foreign for e in way)
    assert m.foreign and m.foreign[0].startswith(f"FOREIGN TABLE: {f.actor} read {f.level} table #{f.tid}")
    assert "FOREIGN TABLE" in m.alt and "USE-AFTER-FREE" not in m.alt
    svg = _svg(m)
    box = svg.find(f".//s:g[@data-node='t{f.tid}']", NS)
    assert "foreign" in box.get("class").split() and box.get("data-life") == "live"
    words = ["".join(x.itertext()) for x in box.iter("{http://www.w3.org/2000/svg}text")]
    assert f"FOREIGN: {f.owner.upper()}'S" in words and "freed" not in words
    assert box.find("s:rect[@class='foreign-outline']", NS) is not None  # a line style, not only a colour
    assert any("foreign" in g.get("class").split() for g in svg.findall(f".//s:g[@data-dst='t{f.tid}']", NS))
    dot = dot_source(m, legend=False).source
    assert "FOREIGN READ" in dot.upper() and f"FOREIGN: {f.owner.upper()}" in dot


def test_a_use_after_free_is_not_drawn_foreign_and_one_mm_gets_no_owner_lines():
    t = run(make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"))
    m = tree_model(t.ctx, t.last, trace=t, index=len(t.states) - 1)
    assert m.uaf and not m.foreign and m.roots == ()
    assert all(n.owner == "" and n.foreign == "" for n in m.tables)
    assert not any(e.foreign for e in m.edges)
    svg = tree_svg_model(m)
    assert "foreign" not in svg and "data-owner" not in svg


def test_when_q_is_unshared_the_ghost_is_q_s_and_off_the_walker_s_path():
    # with the hugetlb VMA lock taken by P's walker, hugetlb_vmdelete_list()
    # skips P's VMA and unshares Q's: T stays P's, no violation
    t = run(named("hugetlb/vma_lock+punch_hole-take").scenario)
    shared = _shared(t)
    qpud, qidx = _pud_entry(t.states[0], "Q", shared)
    i = next(k + 1 for k, e in enumerate(t.events) if f"unshared:{shared}:Q" in e.changes)
    m = tree_model(t.ctx, t.states[i], trace=t, index=i)
    ghost = [e for e in m.edges if e.kind == "ghost"]
    assert [(e.src, e.dst, e.label, e.on_path) for e in ghost] == [(f"t{qpud}", f"t{shared}", f"was entry {qidx}", False)]
    assert m.node(f"t{shared}").owner == "P's alone (was shared)" and m.node(f"t{shared}").on_path
    assert not m.foreign and not any(e.foreign for e in m.edges)


def _box(svg, node: str) -> tuple[float, float, float, float]:
    """x, y, width, height of a node's box (the outline drawn first for a foreign table skipped)."""
    g = svg.find(f".//s:g[@data-node='{node}']", NS)
    r = next(r for r in g.findall("s:rect", NS) if r.get("class") != "foreign-outline")
    return float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height"))


def _rank_of(svg, y: float) -> str:
    """The rank row a y coordinate falls in (rank labels are drawn at the top of their row)."""
    tops = sorted((float(g.find("s:text", NS).get("y")), g.get("data-level")) for g in svg.findall(".//s:g[@class='rank']", NS))
    return [lv for top, lv in tops if top - 30 <= y][-1]


@pytest.mark.parametrize("at", ["first", "last"])
def test_the_shared_table_stands_under_both_parents_not_the_first_alone(cex, at):
    t = _shared(cex)
    i = 0 if at == "first" else len(cex.states) - 1
    m = tree_model(cex.ctx, cex.states[i], trace=cex, index=i)
    parents = sorted({e.src for e in m.edges if e.dst == f"t{t}" and e.kind != "leaf"})
    assert len(parents) == 2  # P's PUD entry (live, or ghost after the unshare) and Q's
    svg = _svg(m)
    x, _, w, _ = _box(svg, f"t{t}")
    centres = sorted(_box(svg, p)[0] + _box(svg, p)[2] / 2 for p in parents)
    assert centres[0] < x + w / 2 < centres[1], (centres, x + w / 2)


def test_the_hugetlb_leaf_is_drawn_in_the_pmd_rank_beside_its_table(cex):
    t = _shared(cex)
    m = tree_model(cex.ctx, cex.states[0], trace=cex, index=0)
    leaf = next(n for n in m.leaves if n.parent == f"t{t}")
    assert leaf.label == "2M hugetlb" and leaf.level == "PMD" and m.ranks[leaf.rank].level == "PMD"
    svg = _svg(m)
    tx, ty, tw, th = _box(svg, f"t{t}")
    lx, ly, _, lh = _box(svg, leaf.id)
    assert _rank_of(svg, ly) == "PMD" and _rank_of(svg, ty) == "PMD"
    assert lx >= tx + tw and ty <= ly + lh / 2 <= ty + th  # beside the table, level with it
    assert "PTE" not in {g.get("data-level") for g in svg.findall(".//s:g[@class='rank']", NS)}


def test_a_thp_leaf_is_drawn_in_the_pmd_rank_too():
    t = run(make_scenario("none", "khugepaged_collapse"))
    i, m = next((i, m) for i, m in ((i, tree_model(t.ctx, s, trace=t, index=i)) for i, s in enumerate(t.states))
                if any(n.label == "2M THP" for n in m.leaves))
    leaf = next(n for n in m.leaves if n.label == "2M THP")
    assert m.ranks[leaf.rank].level == "PMD"
    svg = _svg(m)
    tx, ty, tw, _ = _box(svg, leaf.parent)
    lx, ly, _, _ = _box(svg, leaf.id)
    assert _rank_of(svg, ly) == "PMD" and lx >= tx + tw


def test_each_mm_has_its_own_vma_band_on_its_own_axis(cex):
    m = tree_model(cex.ctx, cex.states[0], trace=cex, index=0)
    assert [a.mm for a in m.axes] == ["P", "Q"]
    t = _shared(cex)
    # T maps one range in P and another in Q: each axis is its own mm's address of T
    ppud, pidx = _pud_entry(cex.states[0], "", t)
    qpud, qidx = _pud_entry(cex.states[0], "Q", t)
    span = cex.ctx.geo.table_span(cex.states[0].tables[t].level)
    assert (m.axes[0].lo, m.axes[1].lo) == (pidx * span, qidx * span) and m.axes[0].hi - m.axes[0].lo == span
    assert all(v.visible for v in m.vmas) and {v.mm for v in m.vmas} == {"P", "Q"}
    svg = _svg(m)
    bands = {g.get("data-mm"): [v.get("data-vma") for v in g.findall("s:g[@class='vma']", NS)]
             for g in svg.findall(".//s:g[@class='vma-band']", NS)}
    assert bands == {"P": [v.name for v in m.vmas if v.mm == "P"], "Q": [v.name for v in m.vmas if v.mm == "Q"]}
    assert "outside the drawn tables" not in tree_svg_model(m)


#: the tree's width in the Explorer at 1280x800 in JupyterLab (file browser open):
#: the notebook's output is 848 px wide, the event log beside the tree takes at
#: least 290 px (its flex basis, widgets.css) and the gap 8 px
EXPLORER_TREE_W = 848 - 290 - 8
LESSON_10 = ("hugetlb/vma_lock+irqs_off-remote+punch_hole-skip-elide_native", "hugetlb/vma_lock+punch_hole-skip",
             "hugetlb/vma_lock+dontneed-skip", "hugetlb/vma_lock+rcu+punch_hole-skip-7.1",
             "hugetlb/patch-vma_lock+irqs_off-remote+punch_hole-skip-elide_native")


def _boxes(svg) -> list[tuple[str, float, float, float, float]]:
    """(what, x, y, w, h) of every table and leaf box (a foreign table by its
    outer outline) and every label where entries meet at a shared table."""
    from pagewalk_edu.viz.svg.base import text_width
    from pagewalk_edu.viz.svg.tree_layout import LINE
    out = []
    for g in svg.iter("{http://www.w3.org/2000/svg}g"):
        if g.get("class", "").split()[0:1] in (["table"], ["leaf"]):
            r = g.find("s:rect", NS)
            out.append((g.get("data-node"), float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height"))))
    for t in svg.findall(".//s:text[@class='meet-label']", NS):
        parts = [t.text or ""] + [s.text or "" for s in t.findall("s:tspan", NS)]
        dx = [0.0] + [float(s.get("x")) - float(t.get("x")) for s in t.findall("s:tspan", NS)]
        w = max(d + text_width(p) for d, p in zip(dx, parts))
        out.append(("label " + parts[0], float(t.get("x")), float(t.get("y")) - LINE + 4, w, len(parts) * LINE))
    return out


def _meeting_edges(m) -> int:
    """How many edges arrive at a table several entries point at (each gets a label in the list beside it)."""
    ids = {n.id for n in m.tables} | {n.id for n in m.leaves}
    into: dict[str, int] = {}
    for e in m.edges:
        if e.kind != "leaf" and e.src in ids and e.dst in ids:
            into[e.dst] = into.get(e.dst, 0) + 1
    return sum(k for k in into.values() if k > 1)


def _assert_each_step_fits(name, t) -> None:
    """Every state of run `t` fits the Explorer's tree pane, in text no
    smaller than 12 px, with no box or meeting label over another, and with
    all the model holds drawn: every table and leaf, every edge (ghosts too),
    every meeting label."""
    for i, state in enumerate(t.states):
        m = tree_model(t.ctx, state, trace=t, index=i)
        svg = _svg(m)
        width = float(svg.get("width"))
        assert width <= EXPLORER_TREE_W, (name, i, width)
        assert min(float(x.get("font-size")) for x in svg.iter("{http://www.w3.org/2000/svg}text")) >= 12
        boxes = _boxes(svg)
        drawn = {b[0] for b in boxes}
        assert {n.id for n in m.tables} | {n.id for n in m.leaves} <= drawn, (name, i)
        edges = {(g.get("data-src"), g.get("data-dst"), g.get("class").split()[1])
                 for g in svg.findall(".//s:g[@data-src]", NS)}
        assert {(e.src, e.dst, e.kind) for e in m.edges if e.src in drawn and e.dst in drawn} <= edges, (name, i)
        assert len(svg.findall(".//s:text[@class='meet-label']", NS)) == _meeting_edges(m), (name, i)
        for a in range(len(boxes)):
            na, ax, ay, aw, ah = boxes[a]
            assert ax >= 0 and ax + aw <= width, (name, i, na, ax + aw, width)
            for b in range(a + 1, len(boxes)):
                nb, bx, by, bw, bh = boxes[b]
                assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (name, i, boxes[a], boxes[b])


@pytest.mark.parametrize("name", LESSON_10)
def test_every_step_of_the_counterexample_fits_beside_the_event_log_and_nothing_overlaps(name):
    s = named(name).scenario
    v = verdict(s)
    assert v.violation == "foreign table" and v.schedule, (name, v.verdict)
    t = run(s, v.schedule, then_default=False)
    _assert_each_step_fits(name, t)
    for i, state in enumerate(t.states):
        m = tree_model(t.ctx, state, trace=t, index=i)
        svg = _svg(m)
        # both PGDs, the shared table under two edges
        assert len(m.roots) == 2 and all(svg.find(f".//s:g[@data-node='{r}']", NS) is not None for r in m.roots)
        assert len(svg.findall(".//s:text[@class='meet-label']", NS)) == 2, (name, i)
    last = _svg(tree_model(t.ctx, t.states[-1], trace=t, index=len(t.states) - 1))
    assert last.findall(".//s:g[@class='edge ghost path foreign']", NS), "the walker's way in by the ghost edge"
    assert last.find(".//s:g[@class='cursor']/s:rect", NS) is not None
    # the wrapped label keeps its whole text on one line in its <title>
    titles = ["".join(g.find("s:title", NS).itertext()) for g in last.findall(".//s:g[@class='meet']", NS)]
    assert any(x.endswith("· FOREIGN read") and x.startswith("◀ was entry") for x in titles), titles


HUGETLB = tuple(n.name for n in named_scenarios() if n.name.startswith("hugetlb/"))


def test_the_hugetlb_scenarios_are_found():
    assert set(LESSON_10) <= set(HUGETLB) and "hugetlb/vma_lock+punch_hole-take" in HUGETLB


@pytest.mark.parametrize("name", HUGETLB)
def test_every_step_of_each_hugetlb_scenario_s_run_fits_and_nothing_overlaps(name):
    """Its counterexample, or its default run when it has none (the -take
    scenarios, where Q's unshare leaves P's table with its huge leaf and two
    meeting labels beside Q's new PMD table)."""
    s = named(name).scenario
    v = verdict(s)
    t = run(s, v.schedule, then_default=False) if v.schedule else run(s, [], then_default=True)
    _assert_each_step_fits(name, t)
