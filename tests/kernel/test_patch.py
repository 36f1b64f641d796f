"""The June 2026 patch: folio_walk_start(FW_VMA_LOCKED) (mm/pagewalk.c).  Today the
function asserts mmap_assert_locked(); with the flag vma_assert_locked(),
lockdep_assert_irqs_disabled(), VM_WARN_ON_ONCE(!IS_ENABLED(
CONFIG_MMU_GATHER_RCU_TABLE_FREE)) and VM_WARN_ON_ONCE(is_vm_hugetlb_page(vma)).
A failed assertion is a warning reported beside the sleeping-in-atomic bug."""

from __future__ import annotations

import json

import pytest

from pagewalk_edu.cli import main
from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.scenarios.files import loads


def _failed(v):
    return [w.split(" fails ")[0].removeprefix("WARNING: ") for w in v.warnings]


def test_mmap_assert_locked_fails_for_a_vma_locked_caller_of_todays_folio_walk_start():
    """Today's folio_walk_start(): mmap_assert_locked(vma->vm_mm)."""
    assert _failed(verdict(make_scenario("vma_lock", "munmap"))) == ["mmap_assert_locked(vma->vm_mm)"]
    v = verdict(make_scenario("mmap_lock", "munmap"))
    assert v.warnings == [] and v.properties["no failed assertion"] is True


def test_vma_assert_locked_and_lockdep_assert_irqs_disabled_under_fw_vma_locked():
    """The reviewer's VMA lock + RCU under the patch breaks lockdep_assert_irqs_disabled()."""
    v = verdict(make_scenario("vma_lock,rcu", "munmap", patch="fw_vma_locked"))
    assert _failed(v) == ["lockdep_assert_irqs_disabled()"]
    assert v.properties["no failed assertion"] is False
    assert v.verdict == "safe"  # the assertion is a splat, not a use-after-free
    # The patch's intended caller: VMA lock and IRQs off.
    assert verdict(make_scenario("vma_lock,irqs_off", "munmap", patch="fw_vma_locked")).warnings == []
    # The mmap lock alone does not satisfy vma_assert_locked().
    v = verdict(make_scenario("mmap_lock,irqs_off", "munmap", patch="fw_vma_locked"))
    assert _failed(v) == ["vma_assert_locked(vma)"]
    assert "the mmap lock alone does not count" in v.warnings[0]


def test_fw_vma_locked_requires_mmu_gather_rcu_table_free():
    """VM_WARN_ON_ONCE(!IS_ENABLED(CONFIG_MMU_GATHER_RCU_TABLE_FREE))."""
    v = verdict(make_scenario("vma_lock,irqs_off", "munmap", patch="fw_vma_locked",
                              config="MMU_GATHER_RCU_TABLE_FREE=n"))
    assert _failed(v) == ["VM_WARN_ON_ONCE(!IS_ENABLED(CONFIG_MMU_GATHER_RCU_TABLE_FREE))"]


def test_assertions_change_no_state_count():
    """The assertions run in the walk's first step and change no table."""
    for holds in ("vma_lock", "vma_lock,rcu", "irqs_off"):
        a = verdict(make_scenario(holds, "munmap"))
        b = verdict(make_scenario(holds, "munmap", patch="fw_vma_locked"))
        assert (a.verdict, a.states) == (b.verdict, b.states)


def test_patch_is_a_flag_of_folio_walk_start_only():
    with pytest.raises(ValueError, match="flag of folio_walk_start"):
        make_scenario("none", "munmap", walk="gup_fast", patch="fw_vma_locked")
    with pytest.raises(ValueError, match="accepted: none, fw_vma_locked"):
        make_scenario("none", "munmap", patch="fw_vma_lock")


def test_trace_shows_the_failed_assertion():
    t = run(make_scenario("vma_lock,rcu", "munmap", patch="fw_vma_locked"))
    first = next(e for e in t.events if e.actor == "walker" and e.function == "pgd_offset")
    assert "lockdep_assert_irqs_disabled() fails" in first.text
    assert t.last.warnings


def test_cli_and_scenario_file_name_the_assertion(capsys):
    args = ["verdict", "--walk", "folio_walk_start", "--patch", "fw_vma_locked", "--holds", "vma_lock,rcu", "--action", "munmap"]
    assert main(args) == 0
    assert "lockdep_assert_irqs_disabled() fails" in capsys.readouterr().out
    assert main(args + ["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["scenario"]["patch"] == "fw_vma_locked" and d["properties"]["no failed assertion"] is False
    assert main(["verdict", "--holds", "none", "--action", "munmap", "--patch", "nope"]) == 2
    assert "fw_vma_locked" in capsys.readouterr().err
    f = loads('name = "p"\nlayout = "munmap"\n[walker]\npatch = "fw_vma_locked"\nholds = ["vma_lock", "rcu"]\n', "p.toml")
    assert f.scenario.patch == "fw_vma_locked"
    assert _failed(verdict(f.scenario)) == ["lockdep_assert_irqs_disabled()"]
