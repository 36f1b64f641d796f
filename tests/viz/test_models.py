"""The view models and the pure-Python SVG renderers: what a learner must be
able to read off the tree and the timeline at each step."""

import re
import xml.etree.ElementTree as ET

import pytest

from pagewalk_edu.explore import matrix
from pagewalk_edu.kernel import KernelConfig, make_scenario, run
from pagewalk_edu.kernel.scenario import ACTIONS
from pagewalk_edu.viz.model import matrix_model, timeline_model, tree_model
from pagewalk_edu.viz.svg.charts import matrix_svg
from pagewalk_edu.viz.svg.timeline import place_labels, timeline_svg_model
from pagewalk_edu.viz.svg.tree import tree_svg_model

NS = {"s": "http://www.w3.org/2000/svg"}


@pytest.fixture(scope="module")
def uaf_trace():
    return run(make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"))


def test_ranks_run_pgd_to_pte_with_the_bits_each_indexes():
    t = run(make_scenario("none", "munmap"), [], then_default=False)
    m = tree_model(t.ctx, t.last)
    assert [r.level for r in m.ranks] == ["PGD", "PUD", "PMD", "PTE", "page"]
    assert m.ranks[0].bits == "bits 47-39" and m.ranks[3].bits == "bits 20-12"
    t5 = run(make_scenario("none", "munmap", config="PGTABLE_LEVELS=5"), [], then_default=False)
    m5 = tree_model(t5.ctx, t5.last)
    assert [r.level for r in m5.ranks][:2] == ["PGD", "P4D"] and m5.ranks[0].bits == "bits 56-48"


def test_unlinked_table_keeps_a_ghost_edge_to_the_entry_it_occupied(uaf_trace):
    t = uaf_trace
    i = next(k for k, s in enumerate(t.states) if s.tables[1].life.value != "live")
    m = tree_model(t.ctx, t.states[i], trace=t, index=i)
    ghost = [e for e in m.edges if e.kind == "ghost" and e.dst == "t1"]
    assert ghost and ghost[0].src == "t0" and ghost[0].label == "was entry 254"
    node = m.node("t1")
    assert node.badge == node.life and node.life in ("detached", "rcu_pending", "ipi_pending", "freed")


def test_walker_path_and_cursor(uaf_trace):
    t = uaf_trace
    i = next(k for k, s in enumerate(t.states) if s.actors[0].pc == "pudp_get")
    m = tree_model(t.ctx, t.states[i], trace=t, index=i)
    w = m.walkers[0]
    assert w.path == ("t0", "t1") and w.cursor == ("t1", 0) and w.next_step == "pudp_get"
    assert dict(w.indices)["PGD"] == 254
    rows = {r.index: r for r in m.node("t1").rows}
    assert rows[0].cursor and rows[0].on_path
    # the use-after-free state: the walker's path goes through the freed PUD table
    last = tree_model(t.ctx, t.last, trace=t, index=len(t.states) - 1)
    assert "t1" in last.walkers[0].path and last.node("t1").life == "freed"
    assert any(e.on_path and e.kind == "ghost" for e in last.edges)
    assert last.uaf and "PUD table #1" in last.uaf[0]


def test_only_the_entries_that_matter_and_leaves_differ():
    t = run(make_scenario("none", "khugepaged_collapse"))
    m = tree_model(t.ctx, t.last, trace=t, index=len(t.states) - 1)
    thp = [l for l in m.leaves if l.label == "2M THP"]
    assert thp and thp[0].level == "PMD"
    for n in m.tables:
        assert len(n.rows) <= 7, "a table shows its populated entries and the walker's, not 512"


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)


def test_tree_svg_is_ranked_top_down_and_accessible(uaf_trace):
    t = uaf_trace
    i = len(t.states) - 1
    svg = tree_svg_model(tree_model(t.ctx, t.states[i], trace=t, index=i))
    root = _svg(svg)
    assert root.get("role") == "img"
    assert "USE-AFTER-FREE" in root.find("s:desc", NS).text
    ys = {}
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if "rank" == g.get("class"):
            ys[g.get("data-level")] = float(g.find("s:text", NS).get("y"))
    assert list(sorted(ys, key=ys.get)) == ["PGD", "PUD", "PMD", "PTE"]
    assert 'class="edge ghost path"' in svg and "was entry 254" in svg
    for life in ("live", "detached", "rcu_pending", "ipi_pending", "freed", "reused"):
        assert f">{life}</text>" in svg, f"the legend names {life}"
    sizes = [float(x) for x in re.findall(r'font-size="([0-9.]+)"', svg)]
    assert min(sizes) >= 12


def test_tree_boxes_never_overlap():
    for action in ACTIONS:
        t = run(make_scenario("rcu", action))
        for i in range(0, len(t.states), 4):
            root = _svg(tree_svg_model(tree_model(t.ctx, t.states[i], trace=t, index=i)))
            boxes = []
            for g in root.iter("{http://www.w3.org/2000/svg}g"):
                if g.get("class", "").split()[0:1] in (["table"], ["leaf"]):
                    r = g.find("s:rect", NS)
                    boxes.append((float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height"))))
            for a in range(len(boxes)):
                for b in range(a + 1, len(boxes)):
                    ax, ay, aw, ah = boxes[a]
                    bx, by, bw, bh = boxes[b]
                    assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (action, i, boxes[a], boxes[b])


def test_timeline_one_lane_per_cpu_and_step_zero_says_what_each_cpu_will_do(uaf_trace):
    m = timeline_model(uaf_trace, 0)
    cpu_lanes = [l for l in m.lanes if l.cpu is not None]
    assert len(cpu_lanes) == len(uaf_trace.states[0].cpus)
    assert all(l.next.startswith(("next:", "waits:")) for l in cpu_lanes)
    svg = timeline_svg_model(m)
    assert "CPU0 walker" in svg and "next: " in svg and 'class="current" data-step="0"' in svg


def test_timeline_labels_never_overlap():
    for action in ACTIONS:
        for fault in (None, "batch_alloc_fail"):
            t = run(make_scenario("rcu", action, config="PT_RECLAIM=n", fault=fault))
            model = timeline_model(t, len(t.states) - 1)
            root = _svg(timeline_svg_model(model))
            per_lane = {}
            for lane in root.iter("{http://www.w3.org/2000/svg}g"):
                if lane.get("class") != "lane":
                    continue
                boxes = [(int(g.get("data-row")), float(g.get("data-x0")), float(g.get("data-x1")))
                         for g in lane.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "tl-label"]
                per_lane[lane.get("data-lane")] = boxes
                for a in range(len(boxes)):
                    for b in range(a + 1, len(boxes)):
                        ra, a0, a1 = boxes[a]
                        rb, b0, b1 = boxes[b]
                        assert ra != rb or a1 <= b0 or b1 <= a0, (action, fault, boxes[a], boxes[b])
            labelled = sum(len(v) for v in per_lane.values())
            assert labelled == sum(1 for mk in model.markers if mk.label and mk.kind != "ipi"), "every unlink and free is labelled"


def test_label_placement_stacks_crowded_labels():
    placed = place_labels([(100, "free #4"), (104, "free #2"), (108, "unlink #3")], 0, 800)
    assert len({r for r, *_ in placed}) == 3


def test_matrix_svg_has_every_word_and_alt_text():
    m = matrix(KernelConfig.for_kernel("6.18"), rows=((), ("rcu",)))
    mm = matrix_model(m)
    svg = matrix_svg(mm)
    root = _svg(svg)
    assert root.get("role") == "img" and "Verdict matrix" in root.find("s:desc", NS).text
    for c in mm.cells:
        assert f">{c.word}</text>" in svg
    assert int(root.get("width")) <= 1100, "fits a 1280-pixel screen"


def test_exported_svgs_carry_the_states_text_alternative(tmp_path, uaf_trace):
    import shutil

    from pagewalk_edu.viz.export import write_views

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed: --svg export needs it")
    tree_path, timeline_path = write_views(uaf_trace, str(tmp_path / "bug"), "svg")
    for path, words in ((tree_path, "USE-AFTER-FREE"), (timeline_path, "use-after-free")):
        root = ET.parse(path).getroot()
        desc = root.find("s:desc", NS)
        assert root.get("role") == "img" and desc is not None and words.lower() in desc.text.lower(), path
    assert "was entry 254" in open(tree_path).read()


def test_a_scenario_with_three_cpus_gets_three_cpu_lanes():
    from pathlib import Path

    from pagewalk_edu.scenarios.files import load

    root = Path(__file__).resolve().parents[2]
    sf = load(root / "pagewalk_edu" / "scenarios" / "examples" / "vma_lock+munmap-neighbour+collapse.toml")
    t = run(sf.scenario)
    m = timeline_model(t, 0)
    assert [l.label for l in m.lanes] == ["CPU0 walker", "CPU1 munmap", "CPU2 khugepaged", "RCU"]
    svg = timeline_svg_model(m)
    assert svg.count('class="lane"') == 4 and "CPU2 khugepaged" in svg
    tm = tree_model(t.ctx, t.last, trace=t, index=len(t.states) - 1)
    assert any(e.kind == "ghost" for e in tm.edges), "the table munmap freed keeps its ghost edge"


def test_kernel_free_stepper_pages_draw_svg_with_alt_text(tmp_path, uaf_trace):
    from pagewalk_edu.viz.stepper import write_stepper

    index = write_stepper(uaf_trace, tmp_path / "bug", "bug")
    page = index.read_text()
    assert 'src="timeline.svg"' in page and 'tabindex="0"' in page and "<main>" in page
    timeline_svg = (tmp_path / "bug" / "timeline.svg").read_text()
    assert "CPU1 munmap" in timeline_svg and "<desc" in timeline_svg
    last = (tmp_path / "bug" / f"tree-{len(uaf_trace.states) - 1:03d}.svg").read_text()
    assert "was entry" in last and "USE-AFTER-FREE" in last
