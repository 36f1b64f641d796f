"""hugetlb PMD sharing: reuse, not freeing (mm/hugetlb.c huge_pmd_share(),
huge_pmd_unshare(), huge_pmd_unshare_flush(); fs/hugetlbfs/inode.c
hugetlb_vmdelete_list(); include/asm-generic/tlb.h tlb_flush_unshared_tables()).
Two processes P and Q share one PMD table; P's walker races with an unshare of
P's PUD entry and Q's reuse of the table (pte_alloc() installs Q's PTE table)."""

from __future__ import annotations

import json

import pytest

from pagewalk_edu.cli import main
from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.kernel.ctx import make_ctx
from pagewalk_edu.kernel.geometry import Level
from pagewalk_edu.kernel.sim import initial
from pagewalk_edu.scenarios.files import loads

ACTIONS = ("hugetlb_punch_hole", "hugetlb_dontneed")


def v(holds, action="hugetlb_punch_hole", kernel="7.1", walker="local", config=None, lock="skip", **kw):
    return verdict(make_scenario(holds, action, kernel, walker, config, hugetlb_walk_lock=lock, **kw))


def test_huge_pmd_share_points_both_pud_entries_at_one_pmd_table():
    """huge_pmd_share(): Q's PUD entry points at P's PMD table, now shared."""
    ctx = make_ctx(make_scenario("none", "hugetlb_punch_hole"))
    s = initial(ctx)
    pmds = [t for t in s.tables if t.level == Level.PMD]
    assert len(pmds) == 1 and pmds[0].mm == "shared"
    pointing = [t for t in s.tables if t.level == Level.PUD for _, e in t.entries if e.is_table and e.target == pmds[0].tid]
    assert sorted(t.mm for t in pointing) == ["", "Q"]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("kernel", ["6.18", "7.1"])
@pytest.mark.parametrize("holds", ["vma_lock", "vma_lock,rcu"])
def test_huge_pmd_unshare_then_reuse_is_a_foreign_table_under_vma_lock_or_rcu(action, kernel, holds):
    """Neither P's VMA read lock nor rcu_read_lock() stops huge_pmd_unshare(); T is
    never freed, so nothing waits for a grace period: unsafe (foreign table)."""
    for walker in ("local", "remote"):
        r = v(holds, action, kernel, walker)
        assert (r.verdict, r.violation) == ("unsafe", "foreign table"), (walker, r.why)
        assert r.properties["no foreign table"] is False and r.properties["no use-after-free"] is True
        assert r.why[0].startswith("FOREIGN TABLE")


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("kernel", ["6.18", "7.1"])
def test_tlb_remove_table_sync_one_waits_for_an_irqs_off_walker_while_i_mmap_rwsem_keeps_q_out(action, kernel):
    """huge_pmd_unshare_flush() → tlb_flush_unshared_tables(): the sync IPI is sent
    before i_mmap_rwsem is dropped; a walker with IRQs off, local or remote, holds
    it back, and Q's split needs i_mmap_lock_write(): not unsafe."""
    for walker in ("local", "remote"):
        r = v("vma_lock,irqs_off", action, kernel, walker)
        assert r.verdict in ("safe", "safe_but_stale"), (walker, r.why)


def test_table_sync_elide_native_lets_q_reuse_the_table_under_a_remote_walker():
    """Lance Yang's elision assumes every lockless walker is in the mm's cpumask;
    a remote walker (__access_remote_vm()) is not (kernel-facts §14)."""
    r = v("vma_lock,irqs_off", walker="remote", config="TABLE_SYNC=elide_native")
    assert (r.verdict, r.violation) == ("unsafe", "foreign table")
    assert "elide_native" in r.why[1]
    # A local walker still takes P's TLB-flush IPI only after the walk.
    assert v("vma_lock,irqs_off", walker="local", config="TABLE_SYNC=elide_native").verdict != "unsafe"
    # The counterexample ends with the walker reading Q's PTE table through T.
    assert r.counterexample[-1].actor == "walker" and "FOREIGN TABLE" in r.counterexample[-1].text


def test_huge_pmd_unshare_in_v6_18_0_deadlocks_an_irqs_off_walker_on_the_pmd_lock():
    """1013af4f585f: tlb_remove_table_sync_one() inside huge_pmd_unshare(), under the
    PMD table's lock, which the walker spins on for the hugetlb leaf."""
    r = v("vma_lock,irqs_off", kernel="6.18", config="HUGETLB_UNSHARE_SYNC=in_unshare")
    assert r.verdict == "deadlock"
    assert any("spins in pmd_lock()" in line for line in r.why)


@pytest.mark.parametrize("action", ACTIONS)
def test_vma_pgtable_walk_begin_takes_hugetlb_vma_lock_read_so_the_walk_is_safe(action):
    """folio_walk_start() → vma_pgtable_walk_begin() → hugetlb_vma_lock_read():
    hugetlb_vmdelete_list()'s trylock skips P's VMA; __hugetlb_zap_begin() waits."""
    for kernel in ("6.18", "7.1"):
        assert v("vma_lock", action, kernel, lock="take").verdict == "safe"
        assert v("none", action, kernel, lock="take").verdict == "safe"


def test_hugetlb_vma_lock_read_with_irqs_off_is_the_sleeping_in_atomic_bug():
    r = v("vma_lock,rcu", lock="take")
    assert any("hugetlb_vma_lock_read() on CPU0" in b and "sleeping function" in b for b in r.bugs)


def test_i_mmap_lock_read_held_by_the_walker_keeps_huge_pmd_unshare_out():
    """i_mmap_rwsem for read: huge_pmd_unshare() needs it for write (every version)."""
    for cfg in (None, "HUGETLB_UNSHARE_SYNC=in_unshare", "TABLE_SYNC=elide_native"):
        assert v("i_mmap_lock,vma_lock,irqs_off", walker="remote", config=cfg).verdict == "safe"


def test_fw_vma_locked_refuses_a_hugetlb_vma():
    """VM_WARN_ON_ONCE(is_vm_hugetlb_page(vma)): the walk returns NULL."""
    r = v("vma_lock,irqs_off", lock="take", patch="fw_vma_locked")
    assert r.verdict == "safe"
    assert any("VM_WARN_ON_ONCE(is_vm_hugetlb_page(vma)) fails" in w for w in r.warnings)
    t = run(make_scenario("vma_lock,irqs_off", "hugetlb_punch_hole", patch="fw_vma_locked"))
    assert t.last.actors[0].get("result") == "NULL"
    # With the refusal removed (skip), the race it is there for.
    r = v("vma_lock,irqs_off", walker="remote", config="TABLE_SYNC=elide_native", patch="fw_vma_locked")
    assert r.violation == "foreign table" and not any("hugetlb_page" in w for w in r.warnings)


def test_a_normal_walk_has_no_foreign_table():
    """The second violation exists only with a second mm: no existing scenario changes."""
    r = verdict(make_scenario("none", "munmap"))
    assert r.violation == "use-after-free" and r.properties["no foreign table"] is True


def test_cli_trace_verdict_matrix_and_scenario_file(capsys):
    assert main(["verdict", "--holds", "vma_lock,irqs_off", "--walker", "remote", "--action", "hugetlb_punch_hole",
                 "--hugetlb-walk-lock", "skip", "--kernel", "7.1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["verdict"] == "safe_but_stale" and d["violation"] is None
    assert main(["verdict", "--holds", "vma_lock", "--action", "hugetlb_dontneed", "--hugetlb-walk-lock", "skip",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["verdict"], d["violation"]) == ("unsafe", "foreign table")
    assert main(["trace", "--holds", "vma_lock", "--action", "hugetlb_dontneed", "--hugetlb-walk-lock", "skip",
                 "--schedule", ",".join(d["schedule"]), "--no-continue", "--json"]) == 0
    t = json.loads(capsys.readouterr().out)
    assert t["foreign_table"] and t["foreign_table"][0]["owner"] == "Q"
    # the violation step is the walker's foreign read: the last step of the counterexample
    assert t["violation"] == {"kind": "foreign table", "step": len(t["steps"])} and t["steps"][-1]["actor"] == "walker"
    assert main(["verdict", "--holds", "vma_lock", "--action", "hugetlb_punch_hole", "--hugetlb-walk-lock", "maybe"]) == 2
    assert "take or skip" in capsys.readouterr().err
    assert main(["matrix", "--hugetlb", "--walker", "remote"]) == 0
    out = capsys.readouterr().out
    assert "vma_lock+irqs_off [skip]" in out and "i_mmap_lock+vma_lock+irqs_off [skip]" in out and "foreign table" in out
    f = loads('name = "h"\nlayout = "hugetlb_punch_hole"\nexpect = "unsafe"\n[walker]\nholds = ["vma_lock"]\n'
              'hugetlb_walk_lock = "skip"\n', "h.toml")
    assert verdict(f.scenario).violation == "foreign table"
    with pytest.raises(ValueError, match="h.toml: walker.hugetlb_walk_lock"):
        loads('name = "h"\nlayout = "hugetlb_punch_hole"\n[walker]\nhugetlb_walk_lock = "no"\n', "h.toml")


def _counterexample(name="hugetlb/vma_lock+punch_hole-skip"):
    from pagewalk_edu.scenarios import named

    s = named(name).scenario
    return run(s, verdict(s).schedule, then_default=False)


def test_first_violation_is_the_walkers_foreign_read_in_the_trace_text_timeline_and_cli(capsys):
    """Trace.first_violation() finds State.foreign as it finds State.uaf; every
    view that marks the violation names the step of the foreign read."""
    from pagewalk_edu.viz.model.timeline import timeline_model
    from pagewalk_edu.viz.text import trace_text

    t = _counterexample()
    i = t.first_violation()
    assert i is not None and t.states[i].foreign and not t.states[i - 1].foreign
    assert t.events[i - 1].actor == "walker" and "FOREIGN TABLE" in t.events[i - 1].text
    assert t.violation_kind() == "foreign table" and not any(s.uaf for s in t.states)
    marks = [m for m in timeline_model(t, len(t)).markers if m.kind == "uaf"]
    assert [(m.step, m.label) for m in marks] == [(i, "foreign table")]
    text = trace_text(t)
    assert f"in pmdp_get_lockless() at step {i}," in text and "Stale read" not in text
    # The CLI trace prints it once, through the same outcome lines.
    sched = ",".join(verdict(make_scenario("vma_lock", "hugetlb_punch_hole", hugetlb_walk_lock="skip")).schedule)
    assert main(["trace", "--holds", "vma_lock", "--action", "hugetlb_punch_hole", "--hugetlb-walk-lock", "skip",
                 "--schedule", sched, "--no-continue"]) == 0
    out = capsys.readouterr().out
    assert out.count("FOREIGN TABLE: walker read") == 1 and f"at step {i}," in out
    # Continued to its end, the walk returns Q's page, and the text says whose.
    s = make_scenario("vma_lock", "hugetlb_punch_hole", hugetlb_walk_lock="skip")
    assert "Finished: folio_walk_start() returned folio (PTE) (Q's page, not P's)." in trace_text(run(s, sched.split(",")))


def test_first_violation_of_a_use_after_free_is_unchanged():
    t = run(make_scenario("none", "munmap"), verdict(make_scenario("none", "munmap")).schedule, then_default=False)
    i = t.first_violation()
    assert t.states[i].uaf and not t.states[i - 1].uaf and t.violation_kind() == "use-after-free"
    assert run(make_scenario("vma_lock", "munmap")).first_violation() is None


def test_q_munmap_takes_its_hugetlb_vma_lock_in_unmap_vmas():
    """mm/memory.c unmap_vmas() → hugetlb_zap_begin() → mm/hugetlb.c
    __hugetlb_zap_begin(): hugetlb_vma_lock_write(), then i_mmap_lock_write(),
    around the zap; __hugetlb_zap_end() drops both (the VMA lock first).  Each
    split before it (vma_prepare()/vma_complete()) holds i_mmap_rwsem alone;
    P's entry was unshared first, so Q's hugetlb_split() unshares nothing and
    has nothing to flush."""
    t = _counterexample()
    q = [e.function for e in t.events if e.actor == "Q"]
    zap = q.index("hugetlb_vma_lock_write")
    split = ["i_mmap_lock_write", "hugetlb_split", "__split_vma", "i_mmap_unlock_write"]
    assert q[:zap] == ["mmap_write_lock", *split, *split, "vms_gather_munmap_vmas"]
    assert q[zap:zap + 3] == ["hugetlb_vma_lock_write", "i_mmap_lock_write", "__unmap_hugepage_range"]
    assert q.index("hugetlb_vma_unlock_write") < q.index("i_mmap_unlock_write", zap) < q.index("__pte_alloc")
    lock = next(e for e in t.events if e.actor == "Q" and e.function == "hugetlb_vma_lock_write")
    assert "VMA QH" in lock.text and "__hugetlb_zap_begin" in lock.source


def test_punch_hole_skips_qs_vma_while_q_zaps_under_its_hugetlb_vma_lock():
    """hugetlb_vmdelete_list()'s trylock fails on the VMA whose hugetlb lock Q's
    mmap(MAP_FIXED) holds: the hole punch leaves that VMA to Q's own zap."""
    s = make_scenario("vma_lock", "hugetlb_punch_hole", hugetlb_walk_lock="take")
    from pagewalk_edu.kernel.sim import enabled

    t = run(s, ["walker"] * 3, then_default=False)
    while not (t.events[-1].actor == "Q" and t.events[-1].function == "hugetlb_vma_lock_write"):
        moves = enabled(t.ctx, t.last)  # Q first; an IPI handler when Q waits for one
        t.push("Q" if "Q" in moves else next(m for m in moves if m.startswith("irq")))
    for _ in range(30):
        if t.events[-1].actor == "fallocate" and t.events[-1].function == "hugetlb_vma_trylock_write" \
                and "QH" in t.events[-1].text:
            break
        t.push("fallocate")
    assert "fails" in t.events[-1].text and "skipped" in t.events[-1].text
