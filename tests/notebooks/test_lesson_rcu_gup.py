"""Lesson 06 (RCU, IRQs and IPIs): GUP-fast beside folio_walk_start(), who is
right in one sentence, what mainline 2026 guarantees; and, for every lesson, a
prediction is never answered by the prose above it."""

from __future__ import annotations

import re

import nbformat

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
    assert re.search(r"\*\*Time:\*\* about \d+ minutes\. A reader new to the course took 40 minutes", head)
