"""Property tests over random scenarios and schedules: the simulator's invariants
hold in every state, a schedule is deterministic, and step-back-step is exact."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagewalk_edu.kernel import ACTIONS, HOLDS, make_scenario
from pagewalk_edu.kernel.pgtable import Life
from pagewalk_edu.kernel.sim import Trace, initial, make_ctx, successors

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw):
    holds = draw(st.lists(st.sampled_from(HOLDS), unique=True, max_size=4))
    action = draw(st.sampled_from(ACTIONS))
    kernel = draw(st.sampled_from(["6.18", "7.1"]))
    config = draw(st.sampled_from([None, "PT_RECLAIM=n", "MMU_GATHER_RCU_TABLE_FREE=n", "TLB_FLUSH=broadcast", "PGTABLE_LEVELS=5",
                                   "PT_RECLAIM=n,TABLE_FREE_FALLBACK=synchronize_rcu"]))
    fault = draw(st.sampled_from([None, "batch_alloc_fail"]))
    walker = draw(st.sampled_from(["local", "remote"]))
    return make_scenario(holds or "none", action, kernel, walker, config, fault)


def check_invariants(prev, state, action, event) -> None:
    linked = {e.target for t in state.tables if t.life == Life.LIVE for _, e in t.entries if e.is_table}
    for t in state.tables:
        if t.life.gone:
            assert t.tid not in linked, "a freed table is linked from no live table"
    for c in state.cpus:
        assert c.rcu >= 0 and c.preempt >= 0, "lock counts are never negative"
    locks = [name for name, _ in state.spin]
    assert len(locks) == len(set(locks)), "a spinlock has one holder"
    assert not (state.mmap_writer and (state.mmap_readers - {state.mmap_writer})), "an mmap writer excludes readers"
    for v in state.vmas:
        assert not (v.writer and v.readers - {v.writer}), "a VMA writer excludes VMA readers"
    if action and action.startswith("irq"):
        assert not prev.cpus[int(action[3:])].irqs_off, "a CPU with IRQs off never takes an IPI"
    if event is not None and "gp:end" in event.changes:
        # every CPU that was a holdout is quiescent now
        for c in prev.rcu.holdouts:
            assert state.cpus[c].quiescent, "a grace period never ends while a reader that predates it is inside"


@SETTINGS
@given(scenario=scenarios(), picks=st.lists(st.integers(0, 5), min_size=1, max_size=120))
def test_invariants_hold_in_every_state(scenario, picks):
    ctx = make_ctx(scenario)
    state = initial(ctx)
    check_invariants(state, state, None, None)
    for p in picks:
        succ = successors(ctx, state)
        if not succ:
            break
        action, moved = succ[p % len(succ)]
        check_invariants(state, moved.state, action, moved.event)
        state = moved.state


@SETTINGS
@given(scenario=scenarios(), picks=st.lists(st.integers(0, 5), min_size=1, max_size=80))
def test_same_schedule_same_trace_and_back_then_step_is_exact(scenario, picks):
    ctx = make_ctx(scenario)
    t = Trace(ctx, [initial(ctx)])
    for p in picks:
        succ = successors(ctx, t.last)
        if not succ:
            break
        t.push(succ[p % len(succ)][0])
    u = Trace(ctx, [initial(ctx)])
    for a in t.actions:
        u.push(a)
    assert u.events == t.events and u.states == t.states
    if t.actions:
        last_action, last_state = t.actions[-1], t.last
        t.pop()
        t.push(last_action)
        assert t.last == last_state and hash(t.last) == hash(last_state)
