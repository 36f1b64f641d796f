"""Views are pure functions of a state or trace: DOT content, timeline lanes and
markers, matrix labels, text forms; no leaked figures."""

import matplotlib
import pytest

from pagewalk_edu.explore import matrix
from pagewalk_edu.kernel import KernelConfig, make_scenario, run
from pagewalk_edu.viz.matrix import matrix_figure
from pagewalk_edu.viz.style import LIFE_STYLE
from pagewalk_edu.viz.text import state_text, trace_text
from pagewalk_edu.viz.timeline import timeline
from pagewalk_edu.viz.tree import tree

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def uaf_trace():
    return run(make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"))


def test_tree_dot_shows_tables_entries_cursor_and_lifecycle(uaf_trace):
    ctx = uaf_trace.ctx
    start = tree(ctx, uaf_trace.states[0]).source
    for name in ("PGD table #0", "PUD table #1", "PMD table #2", "PTE table #3", "PTE table #4"):
        assert name in start
    assert "[254] 0x7f0000000000" in start  # the populated PGD entry, with the range it maps
    assert "4K page" in start
    assert "VMA A (anon)" in start
    mid = next(s for s in uaf_trace.states if s.actors[0].pc == "pudp_get")
    dot = tree(ctx, mid).source
    assert "◀ walker" in dot and "CPU0 walker" in dot
    last = tree(ctx, uaf_trace.last).source
    fill, style, _, _ = LIFE_STYLE["freed"]
    assert fill in last and "freed" in last
    assert "USE-AFTER-FREE" in last


def test_next_read_mark_looks_like_no_lifecycle(uaf_trace):
    """The "◀ next" row must not be taken for an rcu_pending (or any) table: its
    fill is no lifecycle's colour, its frame is a double line no lifecycle border
    has, and the legend says what it is."""
    import re

    from pagewalk_edu.viz.model.tree import tree_model
    from pagewalk_edu.viz.style import CURSOR_FILL
    from pagewalk_edu.viz.svg.tree import tree_svg_model

    mid = next(s for s in uaf_trace.states if s.actors[0].pc == "pudp_get")
    svg = tree_svg_model(tree_model(uaf_trace.ctx, mid))
    marks = re.findall(r'<g class="cursor">(.*?)</g>', svg)
    assert len(marks) == 2, "one mark on the entry, one in the legend"
    fills = {v[0].lower() for v in LIFE_STYLE.values()}
    for mark in marks:
        rects = re.findall(r"<rect [^>]*>", mark)
        assert len(rects) == 2 and 'fill="none"' in rects[1], "a double frame"
        assert f'fill="{CURSOR_FILL}"' in rects[0] and CURSOR_FILL.lower() not in fills
        assert "stroke-dasharray" not in mark
    assert "◀ next: the entry the walker reads next" in svg and "[0]" in svg and "◀ next</text>" in svg
    dot = tree(uaf_trace.ctx, mid).source
    assert f'bgcolor="{CURSOR_FILL}"' in dot and all(f'bgcolor="{f}" color=' not in dot for f in fills)


def test_lifecycles_differ_by_line_style_as_well_as_colour():
    styles = {v[1] for v in LIFE_STYLE.values()}
    widths = {(v[1], v[2]) for v in LIFE_STYLE.values()}
    assert len(widths) == len(LIFE_STYLE), "every lifecycle must be told apart without colour"
    assert "filled,dotted" in styles and "filled,dashed" in styles


def test_tree_shows_p4d_with_five_levels():
    t = run(make_scenario("none", "munmap", config="PGTABLE_LEVELS=5"), [], then_default=False)
    assert "P4D table" in tree(t.ctx, t.last).source


def test_tree_shows_thp_leaf_and_queue():
    t = run(make_scenario("none", "khugepaged_collapse"))
    assert "2M THP" in tree(t.ctx, t.last).source
    t2 = run(make_scenario("rcu", "munmap"))
    queued = next(s for s in t2.states if s.rcu.callbacks)
    assert "Queued for freeing" in tree(t2.ctx, queued).source


def test_timeline_has_lanes_markers_and_highlight(uaf_trace):
    fig = timeline(uaf_trace, current=5)
    ax = fig.axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert {"CPU0 walker", "CPU1 munmap", "RCU"} <= texts
    assert "use-after-free" in texts
    assert any(t.startswith("free #") for t in texts)
    assert ax.collections, "spans and IPI arrows are drawn"
    assert any(abs(l.get_xdata()[0] - 5) < 1e-9 for l in ax.lines if len(l.get_xdata()) == 2 and l.get_xdata()[0] == l.get_xdata()[1])


def test_views_do_not_leak_figures(uaf_trace):
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    for i in range(5):
        timeline(uaf_trace, i)
        matrix_figure(matrix(KernelConfig.for_kernel("6.18"), rows=((), ("rcu",)), actions=("munmap",)))
    assert len(plt.get_fignums()) == before


def test_matrix_figure_labels_every_cell_with_a_word():
    m = matrix(KernelConfig.for_kernel("6.18"))
    fig = matrix_figure(m)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert len(labels) == len(m.cells)
    assert {"UNSAFE", "safe", "stale", "DEADLOCK"} <= set(labels)


def test_text_forms(uaf_trace):
    assert "USE-AFTER-FREE" in trace_text(uaf_trace)
    text = state_text(uaf_trace.last, uaf_trace.ctx)
    assert "freed by" in text and "CPU0" in text


def test_tree_displays_in_a_notebook_without_running_dot(monkeypatch, uaf_trace):
    """A lesson's `tree(...)` cell shows the pure-Python layout (image/svg+xml with the
    state's alt text), so it displays where no `dot` can run (the browser-only course);
    `.pipe()` still asks Graphviz for export."""
    import graphviz

    def no_dot(*a, **k):
        raise OSError("no dot here")

    monkeypatch.setattr(graphviz.Digraph, "pipe", no_dot)
    g = tree(uaf_trace.ctx, uaf_trace.last)
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<svg")
    assert "USE-AFTER-FREE" in bundle["text/plain"]
    assert "digraph" in g.source
