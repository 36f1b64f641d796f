"""Every named scenario (pagewalk_edu/scenarios/named/*.toml) gets its expected
verdict and visits exactly the number of states its file pins (as
tlaplus/Examples' manifest.json pins distinctStates)."""

import pytest

from pagewalk_edu.explore import verdict
from pagewalk_edu.scenarios import named, named_scenarios

NAMED = named_scenarios()


@pytest.mark.parametrize("item", NAMED, ids=[n.name for n in NAMED])
def test_named_scenario_verdict(item):
    v = verdict(item.scenario)
    assert v.verdict == item.expected, f"{item.name}: {item.reason}\nwhy: {v.why}"
    assert v.why, "every verdict explains itself"
    assert item.states is not None, f"{item.name}: its file pins no state count"
    assert v.states == item.states, f"{item.name}: {v.states} states explored, the file pins {item.states}"


def test_issue_examples_are_named():
    """The answers the course promises are all shipped as named scenario files."""
    for name in ("vma_lock+munmap_adjacent", "vma_lock+munmap", "vma_lock+madv_dontneed", "none+munmap",
                 "mmap_lock+retract_page_tables", "rcu+munmap/PT_RECLAIM=n/batch_alloc_fail",
                 "irqs_off+munmap/PT_RECLAIM=n/batch_alloc_fail"):
        assert named(name)


def test_seed_presets_cover_every_action_and_both_kernels():
    seed = [n for n in NAMED if n.group == "seed" and n.scenario.walker == "remote"]
    from pagewalk_edu.kernel import ACTIONS
    for design in ("vma_lock,irqs_off", "vma_lock,rcu"):
        for kernel in ("6.18", "7.1"):
            got = {n.scenario.action for n in seed if n.scenario.holds_label == design and n.scenario.config.kernel == kernel}
            assert got == set(ACTIONS)


def test_unknown_named_scenario_is_a_clear_error():
    with pytest.raises(ValueError, match="no named scenario"):
        named("nope")
