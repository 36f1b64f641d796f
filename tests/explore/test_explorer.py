"""The explorer: counterexamples replay, it misses nothing random schedules find,
its answer does not depend on actor order, and `why` names kernel functions."""

import random

import pytest

from pagewalk_edu.explore import PROTECTIONS, matrix, verdict
from pagewalk_edu.kernel import ACTIONS, KernelConfig, make_scenario, run
from pagewalk_edu.kernel.sim import finished, initial, is_deadlock, make_ctx, step, successors


def test_unsafe_counterexample_replays_to_the_use_after_free():
    s = make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail")
    v = verdict(s)
    assert v.verdict == "unsafe"
    trace = run(s, v.schedule, then_default=False)
    assert trace.last.uaf, "the replayed schedule must end in the use-after-free"
    assert not any(st.uaf for st in trace.states[:-1]), "and only at its last step (shortest)"
    assert [e.function for e in trace.events] == [c.function for c in v.counterexample]
    uaf = trace.last.uaf[0]
    assert "tlb_remove_table_sync_one" in uaf.freed_by


def test_deadlock_counterexample_replays_to_a_stuck_state():
    s = make_scenario("irqs_off", "retract_page_tables")
    v = verdict(s)
    assert v.verdict == "deadlock"
    trace = run(s, v.schedule, then_default=False)
    assert is_deadlock(trace.ctx, trace.last)
    assert any("IRQs disabled" in w for w in v.why)


def test_counterexample_is_shortest():
    """BFS: no shorter schedule reaches a use-after-free (checked by depth-limited search)."""
    s = make_scenario("none", "munmap")
    v = verdict(s)
    ctx = make_ctx(s)
    frontier = {initial(ctx)}
    for _ in range(len(v.schedule) - 1):
        assert not any(st.uaf for st in frontier)
        frontier = {m.state for st in frontier for _, m in successors(ctx, st)}
    assert any(st.uaf for st in {m.state for st in frontier for _, m in successors(ctx, st)})


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("holds", ["none", "rcu", "irqs_off", "vma_lock"])
def test_explorer_finds_everything_random_schedules_find(holds, action):
    """Cross-check: 40 random schedules per cell; each outcome must be one the
    explorer says is reachable."""
    for config, fault in ((None, None), ("PT_RECLAIM=n", "batch_alloc_fail"), ("MMU_GATHER_RCU_TABLE_FREE=n", None)):
        s = make_scenario(holds, action, config=config, fault=fault)
        v = verdict(s)
        ctx = make_ctx(s)
        rng = random.Random(f"{holds}/{action}/{config}")
        for _ in range(40):
            st = initial(ctx)
            while True:
                succ = successors(ctx, st)
                if not succ or st.uaf:
                    break
                st = rng.choice(succ)[1].state
            if st.uaf:
                assert v.verdict == "unsafe", (s.describe(), v.verdict)
            elif is_deadlock(ctx, st):
                assert v.verdict in ("unsafe", "deadlock") or "deadlock" in v.also
            elif st.stale:
                assert v.verdict in ("unsafe", "deadlock", "safe_but_stale")
            assert finished(ctx, st) or st.uaf or is_deadlock(ctx, st)


@pytest.mark.parametrize("holds,action", [("none", "munmap"), ("rcu", "madv_dontneed"), ("irqs_off", "retract_page_tables"),
                                          ("vma_lock", "mremap")])
def test_verdict_does_not_depend_on_actor_order(holds, action):
    s = make_scenario(holds, action)
    base = verdict(s)
    names = list(make_ctx(s).actor_names)
    for seed in range(3):
        random.Random(seed).shuffle(names)
        v = verdict(s, tuple(names))
        assert (v.verdict, v.states) == (base.verdict, base.states)
        if base.schedule:
            assert len(v.schedule) == len(base.schedule)


def test_why_names_kernel_functions_in_every_cell():
    m = matrix(KernelConfig.for_kernel("6.18"))
    for (holds, action), v in m.cells.items():
        text = " ".join(v.why)
        assert "()" in text, (holds, action, v.why)


def test_matrix_covers_six_protection_sets_and_all_actions():
    m = matrix(KernelConfig.for_kernel("7.1"), "remote")
    assert len(m.cells) == len(PROTECTIONS) * len(ACTIONS)
    text = m.text()
    for label in ("UNSAFE", "safe", "stale"):
        assert label in text


def test_replaying_a_schedule_step_by_step_matches_the_counterexample_texts():
    s = make_scenario("none", "mremap")
    v = verdict(s)
    ctx = make_ctx(s)
    st = initial(ctx)
    for action, c in zip(v.schedule, v.counterexample):
        st, ev = step(ctx, st, action)
        assert ev.text == c.text
    assert st.uaf


def test_sleeping_lock_with_irqs_off_is_reported():
    v = verdict(make_scenario("irqs_off,mmap_lock", "munmap"))
    assert any("sleeping function called from invalid context" in b for b in v.bugs)
    v2 = verdict(make_scenario("mmap_lock,irqs_off", "munmap"))
    assert not v2.bugs
