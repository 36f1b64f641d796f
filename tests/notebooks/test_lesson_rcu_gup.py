"""Lesson 06 (RCU, IRQs and IPIs): GUP-fast beside folio_walk_start(), who is
right in one sentence, what mainline 2026 guarantees; and, for every lesson, a
prediction is never answered by the prose above it."""

from __future__ import annotations

import re

import nbformat
import pytest

from pagewalk_edu.explore import verdict
from pagewalk_edu.explore.matrix import matrix
from pagewalk_edu.kernel.config import KernelConfig
from pagewalk_edu.scenarios import named

from lessons import NOTEBOOKS, ROOT, is_reveal

LESSON = ROOT / "notebooks" / "06-rcu-irqs-ipis.ipynb"
CLAIM = re.compile(r"`([^`\s]+)`:\s+\*\*(safe_but_stale|safe|unsafe|deadlock)\*\*")
REVEALED = re.compile(r'reveal_verdict\(\s*my_prediction\s*,\s*"([^"]+)"')


def _cells():
    return nbformat.read(LESSON, as_version=4).cells


def _prose() -> str:
    return "\n\n".join(c.source for c in _cells() if c.cell_type == "markdown")


def _claims() -> dict[str, str]:
    return dict(CLAIM.findall(_prose()))


def test_no_prediction_is_answered_above_its_reveal():
    """Nothing before a reveal cell states the verdict it reveals (as a claim, or
    the scenario's name next to its verdict in bold)."""
    for path in NOTEBOOKS:
        seen = ""
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                seen += cell.source + "\n"
            elif is_reveal(cell):
                for name in REVEALED.findall(cell.source):
                    stated = [n for n, _ in CLAIM.findall(seen)]
                    assert name not in stated, f"{path.name}: the verdict of {name} is stated above its reveal"


def test_gup_fast_pairs_each_folio_walk_deadlock_with_a_stale_gup_fast_walk():
    claims = _claims()
    pairs = {"irqs_off+retract_page_tables": "gup-fast/none+retract_page_tables",
             "force-flush/irqs_off+munmap": "gup-fast/none+munmap/gather_batch_full"}
    for folio_walk, gup in pairs.items():
        assert claims[folio_walk] == "deadlock" and claims[gup] == "safe_but_stale"
        assert named(gup).scenario.effective_walk == "gup_fast"
        # the same race apart from the walker: action, kernel, config and failure agree
        a, b = named(folio_walk).scenario, named(gup).scenario
        assert (a.action, a.config, a.fault) == (b.action, b.config, b.fault)
    # the prediction's scenario is GUP-fast against the race that deadlocks the patch's local walker
    p, d = named("gup-fast/none+madv_dontneed/gather_batch_full").scenario, named("force-flush/seed-patch-local+madv_dontneed").scenario
    assert (p.action, p.fault) == (d.action, d.fault) and p.effective_walk == "gup_fast"
    assert "gup-fast/none+madv_dontneed/gather_batch_full" in [n for c in _cells() if is_reveal(c) for n in REVEALED.findall(c.source)]


def test_the_matrix_the_lesson_prints_shows_the_irqs_off_row_it_describes():
    """'DEADLOCK/stale wherever a path flushes under the ptl, GUP-fast stale at worst'."""
    cfg = KernelConfig.for_kernel("6.18")
    fw, gf = (matrix(cfg, "local", "gather_batch_full", walk=w) for w in ("folio_walk_start", "gup_fast"))
    row = ("irqs_off",)
    assert {a for a in fw.actions if fw.get(row, a).verdict == "deadlock"} == {
        "munmap", "munmap_adjacent", "munmap_partial", "madv_dontneed", "retract_page_tables"}
    assert all(gf.get(row, a).verdict in ("safe", "safe_but_stale") for a in gf.actions)
    # the two actions the lesson leaves out of its table deadlock neither walker in any row
    for m in (fw, gf):
        assert all(m.get(h, a).verdict != "deadlock" for h in m.rows for a in ("khugepaged_collapse", "mremap"))
    code = "\n".join(c.source for c in _cells() if c.cell_type == "code")
    assert "side_by_side(" in code and '"gather_batch_full", actions=actions, walk=w' in code
    shown = re.search(r"actions = \(([^)]*)\)", code).group(1)
    assert set(re.findall(r'"(\w+)"', shown)) == set(fw.actions) - {"khugepaged_collapse", "mremap"}


def test_who_is_right_is_one_sentence_and_the_patch_warns_on_the_review():
    m = re.search(r"\*\*In one sentence:\*\*(.+?)\n\n", _prose(), re.S)
    assert m, "the lesson answers 'who is right' in one sentence"
    sentence = " ".join(m.group(1).split())
    assert sentence.endswith(".") and ". " not in sentence[:-1] and "reviewer is right" in sentence
    v = verdict(named("patch/vma_lock+rcu+munmap/remote").scenario)
    assert _claims()["patch/vma_lock+rcu+munmap/remote"] == v.verdict == "safe"
    assert v.warnings and v.warnings[0].startswith("WARNING: lockdep_assert_irqs_disabled() fails")
    # the reviewer's design itself is safe (stale at worst) for the remote walker on every seed case
    seed = [n for n in named_all() if n.name.startswith("seed-review/")]
    assert len(seed) == 28 and all(n.expected in ("safe", "safe_but_stale") for n in seed)


def named_all():
    from pagewalk_edu.scenarios import named_scenarios

    return named_scenarios()


def test_mainline_2026_states_the_guarantee_and_its_limits():
    prose = _prose()
    section = prose[prose.index("## What mainline 2026 guarantees"):]
    for fact in ("Lorenzo Stoakes", "Kiryl Shutsemau", "1fb3d8c20bfa", "a37259732a7d", "pmdp_get_lockless()",
                 "powerpc", "hugetlb"):
        assert fact in section, fact
    claims = dict(CLAIM.findall(section))
    g = named("rcu+munmap/7.1/batch_alloc_fail").scenario
    assert claims["rcu+munmap/7.1/batch_alloc_fail"] == "safe_but_stale"
    assert g.config.kernel == "7.1" and g.config.PT_RECLAIM and g.holds == ("rcu",) and g.fault == "batch_alloc_fail"
    h = verdict(named("hugetlb/vma_lock+rcu+punch_hole-skip-7.1").scenario)
    assert claims["hugetlb/vma_lock+rcu+punch_hole-skip-7.1"] == h.verdict == "unsafe" and h.violation == "foreign table"


def test_names_and_injected_failures_are_explained_before_use():
    prose = _prose()
    how = prose.index("### How to read a scenario's name")
    explained = prose[how:prose.index("## The table-free fallback")]
    # the Explorer's "fault" is an injected failure: said before any failure is named
    assert "not a page fault" in explained and prose.index("batch_alloc_fail") > how
    assert how < CLAIM.search(prose).start(), "the name grammar comes before the first named scenario's verdict"
    quoted = set(CLAIM.findall(prose)) | {(n, "") for c in _cells() if c.cell_type == "code"
                                          for n in re.findall(r'"([a-z_-]+/[^"]*)"', c.source)}
    for name, _ in quoted:
        family = name.split("/", 1)[0]
        if "+" not in family:  # a family prefix, not holds+action
            assert f"`{family}/`" in explained, f"the family {family}/ of {name} is not explained"


def test_time_is_the_measured_one():
    head = _cells()[0].source
    assert re.search(r"\*\*Time:\*\* about \d+ minutes\. Two first-time readers took 55 and 56 minutes", head)
    assert "not yet measured" in head, "the time of this version is an estimate and says so"


def _section(title: str) -> str:
    prose = _prose()
    start = prose.index(title)
    end = prose.find("\n## ", start + len(title))
    return prose[start:end if end > 0 else None]


def test_remote_is_a_cpu_outside_the_mask_and_the_x86_caveat_is_stated():
    """The model's remote walker is a CPU not in the walked mm's mm_cpumask (kernel/scenario.py WALKERS), not
    'a CPU reading another mm': on x86 since v6.14 a CPU that ran the mm keeps its bit until a flush clears it."""
    names = _section("### How to read a scenario's name")
    assert "*remote* when its CPU is not in that mask" in names
    assert "property of the CPU, not of whose memory is read" in names
    x86 = _section("## Tables freed right after the flush")
    for fact in ("209954cbc7d0", "switch_mm_irqs_off()", "flush_tlb_func()", "native_flush_tlb_multi()",
                 "freed_tables", "should_trim_cpumask()", "6db2526c1d69", "v6.14"):
        assert fact in x86, fact
    # the model's semantics: the remote walker gets no flush IPI, the local one does and is waited for
    claims = _claims()
    assert claims["irqs_off+munmap/no_rcu_table_free"] == "safe_but_stale"
    assert claims["irqs_off+munmap/no_rcu_table_free/remote"] == "unsafe"
    assert named("irqs_off+munmap/no_rcu_table_free/remote").scenario.walker == "remote"
    # a CPU still in the mask is local: the patch's design then deadlocks against file THP collapse
    local = named("seed-patch-local/retract_page_tables").scenario
    assert local.walker == "local" and set(local.holds) == {"vma_lock", "irqs_off"}
    assert claims["seed-patch-local/retract_page_tables"] == verdict(local).verdict == "deadlock"


def test_the_package_defines_remote_by_the_cpumask_everywhere():
    import argparse

    from pagewalk_edu.cli import _add_scenario_options
    from pagewalk_edu.scenarios.files import loads
    from pagewalk_edu.widgets.common import ConfigControls

    tips = ConfigControls().walker.tooltips
    assert "in the walked mm's mm_cpumask" in tips[0] and "not in the walked mm's mm_cpumask" in tips[1]
    parser = argparse.ArgumentParser()
    _add_scenario_options(parser)
    walker_help = next(a.help for a in parser._actions if "--walker" in a.option_strings)
    assert "not in the walked mm's mm_cpumask" in walker_help
    with pytest.raises(ValueError, match="not in the walked mm's mm_cpumask"):
        loads('name = "x"\nlayout = "munmap"\n[walker]\ncpu = "far"\n', "x.toml")


def test_the_full_gather_batch_is_a_big_zap_not_a_rare_fault():
    """MAX_GATHER_BATCH = (PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(void *) and
    MAX_GATHER_BATCH_COUNT = 10000UL / MAX_GATHER_BATCH (include/asm-generic/tlb.h); tlb_next_batch() fails once
    that many batch pages are full, and __tlb_remove_folio_pages_size() asks for the next one at nr >= max - 1."""
    page, batch_header, pointer, bundle = 4096, 8 + 4 + 4, 8, 8   # x86-64: next, nr, max; MMU_GATHER_BUNDLE
    per_batch = (page - batch_header) // pointer
    count = 10000 // per_batch
    entries = (bundle - 1) + count * (per_batch - 1)
    assert (per_batch, count) == (510, 19) and 9600 < entries < 9800
    text = _section("## IRQs off and a flush under the ptl")
    assert f"= {per_batch} entries" in text and f"10000 / {per_batch} = {count}" in text
    assert "about 9,700 entries" in text and f"about {round(entries * 4 / 1024)} MiB" in text
    for fact in ("tlb_next_batch()", "__tlb_remove_folio_pages_size()", "zap_present_folio_ptes()",
                 "need no fault injection"):
        assert fact in text, fact


def test_the_quiz_asks_what_the_prose_does_not_state():
    quiz_cell = next(c.source for c in _cells() if c.cell_type == "code" and "quiz(" in c.source)
    asked = re.findall(r'"([^"]+)"', quiz_cell.split("quiz(", 1)[1])
    assert len(asked) >= 4
    elsewhere = "\n".join(c.source for c in _cells() if c.source != quiz_cell)
    for name in asked:
        assert name not in _claims(), f"the lesson states the verdict of {name} before its quiz"
        assert f"`{name}`" not in elsewhere and f'"{name}"' not in elsewhere, f"{name} is shown above its quiz"
        assert named(name).expected == verdict(named(name).scenario).verdict


def test_the_seed_table_shows_every_seed_scenario():
    code = next(c.source for c in _cells() if c.cell_type == "code" and "COLUMNS" in c.source)
    actions = re.findall(r'"(\w+)"', re.search(r"ACTIONS = \(([^)]*)\)", code, re.S).group(1))
    kernels = re.findall(r'"([\d.]+)"', re.search(r"for k in \(([^)]*)\)", code).group(1))
    configs = re.findall(r'"([^"]+)"', re.search(r"for c in \(([^)]*)\)", code).group(1))
    shown = {f"{d}/{k}/{c}/{a}" for d in ("seed-patch", "seed-review") for k in kernels for c in configs for a in actions}
    seed = {n.name for n in named_all() if n.name.startswith(("seed-patch/", "seed-review/"))}
    assert shown == seed and len(seed) == 56


def test_the_reviewers_design_is_stale_at_worst_for_every_walker_kernel_and_config():
    """'rcu_read_lock() is enough for the patch's walker, remote or local, on every kernel and config this course
    models' (under the VMA lock; hugetlb sharing, which the patch refuses, is lesson 10's)."""
    from pagewalk_edu.kernel.scenario import ACTIONS, make_scenario

    configs = (None, "PT_RECLAIM=n", "MMU_GATHER_RCU_TABLE_FREE=n,PT_RECLAIM=n", "TLB_FLUSH=broadcast",
               "TABLE_SYNC=elide_native", "PGTABLE_LEVELS=5")
    for walker in ("local", "remote"):
        for kernel in ("6.18", "7.1"):
            for config in configs:
                for fault in (None, "batch_alloc_fail", "gather_batch_full"):
                    for action in ACTIONS:
                        v = verdict(make_scenario("vma_lock,rcu", action, kernel=kernel, walker=walker, config=config,
                                                  fault=fault))
                        assert v.verdict in ("safe", "safe_but_stale"), (walker, kernel, config, fault, action, v.verdict)
