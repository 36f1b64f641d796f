"""Addresses in the views of hugetlb PMD sharing.  A page table has no address
of its own: what it maps depends on the path through which it is reached.  P
maps the hugetlbfs file at 0x40000000 and Q at 0x80000000, so every address
shown under one of Q's paths is in Q's GiB and every one under P's in P's; the
table both share is drawn once with both.  Checked at every step of each
counterexample (and of a safe run), in the tree model, the SVG, the DOT
source, the text view and the alt text."""

from __future__ import annotations

import re
from functools import lru_cache
import xml.etree.ElementTree as ET

import pytest

from pagewalk_edu.explore.verdict import verdict
from pagewalk_edu.kernel import run
from pagewalk_edu.scenarios import named
from pagewalk_edu.viz.model import tree_model
from pagewalk_edu.viz.svg.tree import tree_svg_model
from pagewalk_edu.viz.text import state_text
from pagewalk_edu.viz.tree import dot_source

SVG = "{http://www.w3.org/2000/svg}"
SCENARIOS = ("hugetlb/vma_lock+punch_hole-skip", "hugetlb/vma_lock+dontneed-skip",
             "hugetlb/vma_lock+irqs_off-remote+punch_hole-skip-elide_native",
             "hugetlb/vma_lock+irqs_off+punch_hole-skip-6.18.0", "hugetlb/vma_lock+punch_hole-take")
GIB = {"P": (0x4000_0000, 0x8000_0000), "Q": (0x8000_0000, 0xC000_0000)}


#: those where Q gets to touch its new anonymous memory (not the deadlock)
FAULTING = tuple(n for n in SCENARIOS if not n.endswith("6.18.0"))


@lru_cache(maxsize=None)
def _trace(name: str):
    s = named(name).scenario
    v = verdict(s)
    # a counterexample where there is one, else the default schedule to the end
    return run(s, v.schedule, then_default=False) if v.schedule else run(s, [])


@pytest.fixture(params=SCENARIOS)
def trace(request):
    return _trace(request.param)


def _in_gib(mm: str, lo: int, hi: int) -> bool:
    a, b = GIB[mm]
    return a <= lo and hi <= b


def test_the_layout_is_what_these_checks_assume(trace):
    got = {("P" if not v.mm else v.mm): (v.start, v.end) for v in trace.ctx.setup.vmas if v.kind == "hugetlb"}
    assert got == GIB


def test_every_address_under_an_mm_s_path_is_in_that_mm_s_range_at_every_step(trace):
    """PMD and PTE tables, their entries and their pages: each address a box
    shows (one line per mm whose path reaches it) lies in that mm's GiB."""
    for i, state in enumerate(trace.states):
        m = tree_model(trace.ctx, state, trace=trace, index=i)
        for n in m.tables:
            assert n.where, (i, n.title)  # several mms: every box says whose addresses it shows
            if n.level not in ("PMD", "PTE"):
                continue
            for w in n.where:
                assert _in_gib(w.mm, w.lo, w.hi), (i, n.title, w)
            for r in n.rows:
                assert [x.mm for x in r.where] == [x.mm for x in n.where]
                for x in r.where:
                    assert _in_gib(x.mm, x.lo, x.hi), (i, n.title, r.index, x)
        for leaf in m.leaves:
            for w in leaf.where:
                assert _in_gib(w.mm, w.lo, w.lo + leaf.size), (i, leaf.id, w)


def test_the_shared_table_shows_both_mms_addresses_where_it_is_drawn_once(trace):
    m = tree_model(trace.ctx, trace.states[0], trace=trace, index=0)
    shared = next(n for n in m.tables if n.shared_by == ("P", "Q"))
    assert [(w.mm, w.lo, w.live) for w in shared.where] == [("P", 0x4000_0000, True), ("Q", 0x8000_0000, True)]
    svg = ET.fromstring(tree_svg_model(m))
    box = next(g for g in svg.iter(f"{SVG}g") if g.get("data-node") == shared.id)
    head = [t.text for t in box.findall(f"{SVG}text[@class='span']")]
    assert head == ["P: 0x40000000 +1G", "Q: 0x80000000 +1G"]
    hugepage = next(n for n in m.leaves if n.parent == shared.id)
    assert [(w.mm, w.lo) for w in hugepage.where] == [("P", 0x4020_0000), ("Q", 0x8020_0000)]
    dot = dot_source(m).source
    assert "P: [0x40000000, 0x80000000)<br/>Q: [0x80000000, 0xc0000000)" in dot


@pytest.mark.parametrize("name", FAULTING)
def test_q_s_new_pte_table_and_page_are_labelled_with_q_s_addresses(name):
    """The table Q's fault put in the shared PMD table maps 0x80200000, and
    its page is the page of 0x80205000 that the trace says Q touched."""
    trace = _trace(name)
    touch = next((k for k, e in enumerate(trace.events) if e.actor == "Q" and e.function == "__pte_alloc"), None)
    assert touch is not None, "every run of these scenarios ends with Q's touch before the walker's last read"
    addr = int(re.search(r"touches (0x[0-9a-f]+)", trace.events[touch].text).group(1), 16)
    assert addr == 0x8020_5000
    for i in range(touch + 1, len(trace.states)):
        m = tree_model(trace.ctx, trace.states[i], trace=trace, index=i)
        pte = [n for n in m.tables if n.level == "PTE"]
        assert [(w.mm, w.lo, w.live) for n in pte for w in n.where] == [("Q", 0x8020_0000, True)]
        page = [x for x in m.leaves if x.level == "PTE"]
        assert [(w.mm, w.lo) for x in page for w in x.where] == [("Q", addr)]
        svg = ET.fromstring(tree_svg_model(m))
        texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
        assert "Q: 0x80205000" in texts and "0x40205000" not in " ".join(t for t in texts if t.startswith(("P:", "Q:")))
        assert "PTE table #" in dot_source(m).source and "Q: [0x80200000, 0x80400000)" in dot_source(m).source


def test_the_text_view_lists_each_mm_s_tree_in_that_mm_s_addresses(trace):
    """state_text() (the text view, and the alt text that ends with it): each
    PMD/PTE table line and page line under "mm Q:" is in Q's GiB, under
    "mm P (walked):" in P's."""
    for i, state in enumerate(trace.states):
        text = state_text(state, trace.ctx)
        mm = None
        for line in text.splitlines():
            if line.startswith("mm "):
                mm = line.split()[1].rstrip(":")
                continue
            if line.startswith(("VMA", "(unlinked)")):
                mm = None
            hit = re.search(r"(PMD|PTE) table #\d+ \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", line)
            if mm and hit:
                assert _in_gib(mm, int(hit.group(2), 16), int(hit.group(3), 16)), (i, line)
            page = re.search(r"\] (0x[0-9a-f]+): ", line)
            if mm and page and "PUD" not in line:
                assert GIB[mm][0] <= int(page.group(1), 16) < GIB[mm][1], (i, line)
        m = tree_model(trace.ctx, state, trace=trace, index=i)
        assert m.alt.endswith(text)


def test_every_address_line_fits_its_box_and_a_narrow_vma_is_named_under_its_band(trace):
    """The address lines (one per mm) stay inside the box or page they label,
    at every step; a VMA too narrow on its mm's axis for its label (QH.lo, 2
    MiB of Q's GiB, once Q has split QH) is named under the band instead of
    drawn over its neighbour."""
    from pagewalk_edu.viz.svg.base import text_width
    from pagewalk_edu.viz.svg.tree_layout import BOX_W, LEAF_W

    narrow_seen = False
    for i, state in enumerate(trace.states):
        m = tree_model(trace.ctx, state, trace=trace, index=i)
        svg = ET.fromstring(tree_svg_model(m))
        for g in svg.iter(f"{SVG}g"):
            cls = g.get("class") or ""
            limit = BOX_W - 12 if cls.startswith("table") else LEAF_W - 4 if cls == "leaf" else None
            if limit is None:
                continue
            for t in g.iter(f"{SVG}text"):
                if t.get("class") == "span":
                    assert text_width(t.text) <= limit, (i, g.get("data-node"), t.text)
        for band in svg.iter(f"{SVG}g"):
            if band.get("class") != "vma-band":
                continue
            labelled = {"".join(t.itertext()).split(" (")[0] for v in band.findall(f"{SVG}g[@class='vma']")
                        for t in v.findall(f"{SVG}text")}
            note = " ".join("".join(t.itertext()) for t in band.findall(f"{SVG}text[@class='vma-narrow']"))
            for v in band.findall(f"{SVG}g[@class='vma']"):
                name = v.get("data-vma")
                assert name in labelled or f"{name} (" in note, (i, name)
            if "QH.lo (hugetlb)" in note:
                narrow_seen = True
                assert "QH.lo" not in labelled
    split = any(e.actor == "Q" and e.function == "__split_vma" for e in trace.events)
    assert narrow_seen == split
