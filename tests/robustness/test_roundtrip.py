"""What the API accepts, the files can hold: every scenario that can be
constructed is saved and loaded back equal, as a scenario file and inside a
trace file; what cannot be written back is refused at construction."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pagewalk_edu.kernel import KernelConfig, Scenario, run
from pagewalk_edu.kernel.config import PROFILES
from pagewalk_edu.kernel.scenario import ACTIONS, FAULTS, WALKERS, build_setup
from pagewalk_edu.kernel.walker import HOLDS
from pagewalk_edu.saved import load_scenario, load_trace, save_scenario, save_trace

LEVELS = st.sampled_from([4, 5]) | st.sampled_from([np.int64(4), np.int32(5), np.uint8(5)])


@st.composite
def configs(draw):
    rcu = draw(st.booleans())
    return KernelConfig(
        kernel=draw(st.sampled_from(list(PROFILES))),
        MMU_GATHER_RCU_TABLE_FREE=rcu,
        PT_RECLAIM=draw(st.booleans()) if rcu else False,
        TLB_FLUSH=draw(st.sampled_from(["ipi", "broadcast", np.str_("broadcast")])),
        TABLE_FREE_FALLBACK=draw(st.sampled_from(["ipi", "synchronize_rcu"])),
        PGTABLE_LEVELS=draw(LEVELS),
    )


@st.composite
def scenarios(draw):
    holds = tuple(draw(st.permutations(HOLDS))[: draw(st.integers(0, len(HOLDS)))])
    action = draw(st.sampled_from(ACTIONS))
    kind = draw(st.sampled_from([None, "anon", "file"]))
    config = draw(configs())
    fault = draw(st.sampled_from((None,) + FAULTS))
    walker = draw(st.sampled_from(WALKERS))
    try:
        base = Scenario(holds, action, config, walker, fault, None, kind)
    except (ValueError, TypeError):
        assume(False)
    address = None
    if draw(st.booleans()):  # another page of the walked VMA, or anywhere at all
        walk = build_setup(base).walk_addr
        address = draw(st.one_of(st.integers(-64, 64).map(lambda k: walk + k * 4096 + 8),
                                 st.integers(0, (1 << 57) - 1)))
    try:
        return Scenario(holds, action, config, walker, fault, address, kind)
    except (ValueError, TypeError):
        assume(False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.filter_too_much])
@given(scenarios())
def test_every_constructible_scenario_saves_and_loads_back_equal(tmp_path, scenario):
    path = tmp_path / "s.json"
    save_scenario(path, scenario, overwrite=True)
    loaded, schedule = load_scenario(path)
    assert loaded == scenario and schedule is None
    json.loads(path.read_text())  # plain JSON: no numpy type reached the file


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.filter_too_much])
@given(scenarios(), st.integers(0, 6))
def test_every_constructible_scenario_round_trips_inside_a_trace(tmp_path, scenario, steps):
    trace = run(scenario)
    schedule = list(trace.actions[:steps])
    path = tmp_path / "s.json"
    save_scenario(path, scenario, schedule, overwrite=True)
    assert load_scenario(path) == (scenario, schedule or None)
    short = run(scenario, schedule, then_default=False)
    save_trace(tmp_path / "t.json", short, overwrite=True)
    again = load_trace(tmp_path / "t.json")
    assert again.ctx.scenario == scenario and list(again.actions) == schedule


@pytest.mark.parametrize("value,error", [(5.0, TypeError), (True, TypeError), ("5", ValueError), (3, ValueError)])
def test_what_could_not_be_loaded_back_is_refused_at_construction(value, error):
    with pytest.raises(error, match="PGTABLE_LEVELS"):
        KernelConfig(PGTABLE_LEVELS=value)


def test_numpy_values_are_normalised_to_what_json_writes():
    c = KernelConfig(PGTABLE_LEVELS=np.int64(5), TLB_FLUSH=np.str_("broadcast"))
    assert type(c.PGTABLE_LEVELS) is int and type(c.TLB_FLUSH) is str
    assert c == KernelConfig(PGTABLE_LEVELS=5, TLB_FLUSH="broadcast") and hash(c) == hash(KernelConfig(PGTABLE_LEVELS=5, TLB_FLUSH="broadcast"))
    with pytest.raises(TypeError, match="kernel must be a string"):
        KernelConfig(kernel=["6.18"])
