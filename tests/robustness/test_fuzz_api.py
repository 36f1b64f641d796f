"""Random input to the public API raises nothing but the documented errors, and
random schedules replay without surprises."""

import json

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagewalk_edu.kernel import ACTIONS, HOLDS, make_scenario, run
from pagewalk_edu.saved import parse_json, scenario_from_dict

WORDS = st.sampled_from(list(HOLDS) + list(ACTIONS) + ["none", "", ",", "rcu,", "PT_RECLAIM=n", "y", "5", "7.1", "remote", "x"])
TEXT = st.one_of(WORDS, st.text(max_size=20), st.lists(WORDS, max_size=4).map(",".join))
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(holds=st.one_of(TEXT, st.lists(WORDS, max_size=4), st.integers(), st.none()),
       action=st.one_of(WORDS, st.text(max_size=10), st.integers()),
       kernel=st.one_of(st.sampled_from(["6.18", "7.1", "5.10", ""]), st.floats(allow_nan=False)),
       walker=st.one_of(st.sampled_from(["local", "remote", "x"]), st.integers()),
       config=st.one_of(st.none(), TEXT),
       fault=st.one_of(st.none(), st.sampled_from(["batch_alloc_fail", "none", "oom"])))
def test_make_scenario_raises_only_documented_errors(holds, action, kernel, walker, config, fault):
    try:
        s = make_scenario(holds, action, kernel, walker, config, fault)
    except (ValueError, TypeError) as err:
        assert str(err) and "\n" not in str(err)
        return
    assert s.action in ACTIONS


@SETTINGS
@given(doc=st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), WORDS),
                        lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.sampled_from(
                            ["schema", "kind", "holds", "action", "kernel", "config", "walker", "fault", "address", "schedule", "x"]), c, max_size=6)),
                        max_leaves=12))
def test_loading_arbitrary_json_raises_only_documented_errors(doc):
    try:
        scenario_from_dict(parse_json(json.dumps(doc)))
    except (ValueError, TypeError) as err:
        assert str(err) and "\n" not in str(err)


@SETTINGS
@given(holds=st.lists(st.sampled_from(HOLDS), unique=True, max_size=4), action=st.sampled_from(ACTIONS),
       schedule=st.lists(st.sampled_from(["walker", "cpu0", "cpu1", "irq0", "irq1", "rcu_gp", "rcu_cb", "munmap", "madvise",
                                          "khugepaged", "mremap", "nobody"]), max_size=40))
def test_random_schedules_fail_only_with_a_clear_message(holds, action, schedule):
    s = make_scenario(holds or "none", action)
    try:
        trace = run(s, schedule, then_default=False)
    except ValueError as err:
        assert str(err).startswith("schedule step ") and "\n" not in str(err)
        return
    assert len(trace) == len(schedule)


def test_run_takes_a_comma_separated_schedule():
    s = make_scenario("rcu", "munmap")
    assert run(s, "walker,munmap", then_default=False).actions == ["walker", "munmap"]
    with pytest.raises(TypeError, match=r"run\(\) takes a Scenario"):
        run("rcu")
    with pytest.raises(ValueError, match="schedule step 2: unknown actor 'nobody'"):
        run(s, "walker, nobody")


def test_choice_values_in_any_case():
    from pagewalk_edu.kernel.config import parse_config_list
    assert parse_config_list("TLB_FLUSH=IPI,TABLE_FREE_FALLBACK=SYNCHRONIZE_RCU") == {
        "TLB_FLUSH": "ipi", "TABLE_FREE_FALLBACK": "synchronize_rcu"}
    with pytest.raises(ValueError, match="TLB_FLUSH takes ipi or broadcast, got 'fast'"):
        parse_config_list("TLB_FLUSH=fast")


@pytest.mark.parametrize("config", [["PT_RECLAIM"], 5, ("PT_RECLAIM", "n")])
def test_make_scenario_refuses_a_config_that_is_neither_text_nor_a_dict(config):
    """make_scenario(config=...) names what it takes instead of Python's dict() error."""
    from pagewalk_edu.kernel.scenario import make_scenario

    with pytest.raises(TypeError, match=r"config must be a string .* or a dict"):
        make_scenario("vma_lock", "munmap", config=config)
