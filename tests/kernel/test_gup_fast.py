"""GUP-fast as a second walker (mm/gup.c): local_irq_save(), a lockless descent,
pte_offset_map() on the PMD value read, try_grab_folio_fast(), the PMD and PTE
rechecks, local_irq_restore(); no mmap, VMA or page-table lock."""

from __future__ import annotations

import json

import pytest

from pagewalk_edu.cli import main
from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.scenarios.files import loads

ACTIONS = ("munmap", "munmap_adjacent", "munmap_partial", "madv_dontneed", "khugepaged_collapse",
           "retract_page_tables", "mremap")


def _walker_functions(trace):
    return [e.function for e in trace.events if e.actor == "walker"]


def test_gup_fast_takes_no_lock_and_keeps_irqs_off_across_the_walk():
    """gup_fast(): local_irq_save() ... local_irq_restore() around gup_fast_pgd_range()."""
    t = run(make_scenario("none", "munmap_adjacent", walk="gup_fast"))
    fns = _walker_functions(t)
    assert fns[0] == "local_irq_save" and fns[-1] == "local_irq_restore"
    for lock in ("mmap_read_lock", "lock_vma_under_rcu", "spin_lock", "pmd_lock", "pud_lock"):
        assert lock not in fns
    assert fns.index("pmdp_get_lockless") < fns.index("__pte_offset_map") < fns.index("ptep_get_lockless") \
        < fns.index("try_grab_folio_fast") < fns.index("gup_fast_recheck")
    # Between save and restore CPU0 has IRQs off in every state.
    i_save, i_restore = fns.index("local_irq_save"), fns.index("local_irq_restore")
    walker_steps = [i for i, e in enumerate(t.events) if e.actor == "walker"]
    for k in range(walker_steps[i_save] + 1, walker_steps[i_restore] + 1):
        assert t.states[k].cpus[0].irqs_off


def test_gup_fast_pte_range_maps_the_pte_table_from_the_pmd_value_it_read():
    """pte_offset_map(&pmd, addr) reads the local copy: the PMD table is read at
    pmdp_get_lockless() and again only at the recheck."""
    t = run(make_scenario("none", "munmap_adjacent", walk="gup_fast"))
    step = next(e for e in t.events if e.function == "__pte_offset_map")
    assert not any(c.startswith("read:") for c in step.changes)
    assert "rcu:enter" in step.changes


def test_gup_fast_never_deadlocks_against_a_flush_under_the_ptl():
    """retract_page_tables() flushes with the ptl held; folio_walk_start() with IRQs
    off spins on that ptl and deadlocks; GUP-fast takes no ptl (kernel-facts §10)."""
    assert verdict(make_scenario("irqs_off", "retract_page_tables")).verdict == "deadlock"
    v = verdict(make_scenario("none", "retract_page_tables", walk="gup_fast"))
    assert v.verdict == "safe_but_stale"
    assert any("gup_fast_pte_range()'s recheck" in line for line in v.why)


@pytest.mark.parametrize("action", ACTIONS)
def test_gup_fast_answers_every_builtin_action_without_use_after_free(action):
    """IRQs off hold off both freeing schemes (mm/gup.c's design comment): RCU
    grace periods and the TLB-flush IPIs, on the default profiles."""
    for kernel in ("6.18", "7.1"):
        v = verdict(make_scenario("none", action, kernel=kernel, walk="gup_fast"))
        assert v.verdict in ("safe", "safe_but_stale"), (action, kernel, v.why)
        assert v.states > 10


def test_gup_fast_recheck_drops_the_page_when_the_pmd_changed():
    """After try_grab_folio_fast(), a PMD that no longer points to the PTE table
    read: gup_put_folio() and 0 pages."""
    s = make_scenario("none", "retract_page_tables", walk="gup_fast")
    # Walk to the folio grab, let khugepaged retract the table, then recheck.
    t = run(s, ["walker"] * 5, then_default=False)
    assert t.last.actors[0].pc == "ptep_get_lockless"
    t = run(make_scenario("none", "madv_dontneed", walk="gup_fast"), ["walker"] * 7, then_default=False)
    assert t.last.actors[0].pc == "gup_fast_recheck"
    for _ in range(6):
        t.push("madvise")
    t.push("walker")
    assert t.events[-1].function == "gup_fast_recheck"
    assert "finds a change" in t.events[-1].text
    assert t.last.actors[0].get("result") == "0 pages"


def test_gup_fast_is_always_a_local_walker():
    """gup_fast_pgd_range(): pgd_offset(current->mm, addr)."""
    with pytest.raises(ValueError, match="always runs on a CPU of the walked mm"):
        make_scenario("none", "munmap", walker="remote", walk="gup_fast")


def test_walk_option_and_scenario_key(capsys):
    assert main(["verdict", "--holds", "none", "--action", "retract_page_tables", "--walk", "gup_fast", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["verdict"] == "safe_but_stale" and d["scenario"]["walk"] == "gup_fast"
    assert main(["verdict", "--holds", "none", "--action", "munmap", "--walk", "nope"]) == 2
    assert "accepted: folio_walk_start, gup_fast" in capsys.readouterr().err
    f = loads('name = "g"\nlayout = "retract_page_tables"\n[walker]\nwalk = "gup_fast"\nholds = ["irqs_off"]\n', "g.toml")
    assert f.scenario.effective_walk == "gup_fast"
    assert verdict(f.scenario).verdict == "safe_but_stale"
    with pytest.raises(ValueError, match="g.toml: .*walker local"):
        loads('name = "g"\nlayout = "munmap"\n[walker]\nwalk = "gup_fast"\ncpu = "remote"\n', "g.toml")


def test_matrix_shows_both_walkers_side_by_side(capsys):
    assert main(["matrix", "--walk", "folio_walk_start,gup_fast"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("irqs_off"))
    assert "DEADLOCK/stale" in row  # retract_page_tables: folio_walk_start deadlocks, GUP-fast does not
    assert main(["matrix", "--walk", "gup_fast", "--walker", "remote"]) == 2
    assert main(["matrix", "--walk", "gup_fast", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["walk"] == "gup_fast"


def test_trace_text_names_the_walkers_own_function():
    """GUP-fast's outcome is gup_fast()'s: pages pinned, not a folio_walk_start() result."""
    from pagewalk_edu.viz.text import trace_text

    text = trace_text(run(make_scenario("none", "munmap_adjacent", walk="gup_fast")))
    assert text.rstrip().endswith("Finished: gup_fast() returned 1 page (PTE).")
    assert "folio_walk_start() returned" not in text
    assert trace_text(run(make_scenario("vma_lock", "munmap_adjacent"))).rstrip().endswith(
        "Finished: folio_walk_start() returned folio (PTE).")
