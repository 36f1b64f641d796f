"""The Explorer keeps and shows the two hugetlb config keys (issue 12's sharing race):
a named scenario with TABLE_SYNC=elide_native opens with it, "Show me the bug" finds its
counterexample, and a learner can flip the key in the controls."""

from pagewalk_edu.explore import verdict
from pagewalk_edu.scenarios import named
from pagewalk_edu.widgets import Explorer, Matrix

ELIDE = "hugetlb/vma_lock+irqs_off-remote+punch_hole-skip-elide_native"
KEPT = "hugetlb/vma_lock+irqs_off-remote+punch_hole-skip"


def test_a_named_scenario_keeps_table_sync():
    ex = Explorer(scenario=ELIDE, render=False)
    assert ex.cfg.table_sync.value == "elide_native"
    assert ex.scenario().config.TABLE_SYNC == "elide_native"
    assert ex.scenario() == named(ELIDE).scenario
    ex.do_bug()
    assert ex.trace is not None and ex.trace.first_violation() is not None


def test_flipping_table_sync_in_the_controls_changes_the_verdict():
    ex = Explorer(scenario=KEPT, render=False)
    assert ex.cfg.table_sync.value == "ipi"
    assert verdict(ex.scenario()).verdict != "unsafe"
    ex.cfg.table_sync.value = "elide_native"
    assert ex.scenario().config.TABLE_SYNC == "elide_native"
    assert verdict(ex.scenario()).verdict == "unsafe"


def test_a_profile_change_puts_the_hugetlb_keys_back_to_its_defaults():
    ex = Explorer(scenario=ELIDE, render=False)
    ex.cfg.kernel.value = "6.18" if ex.cfg.kernel.value == "7.1" else "7.1"
    assert ex.cfg.table_sync.value == "ipi" and ex.cfg.unshare_sync.value == "after_flush"


def test_the_matrix_passes_the_hugetlb_keys_to_a_cell_it_opens():
    m = Matrix(render=False)
    m.cfg.table_sync.value = "elide_native"
    m.open_cell(("vma_lock",), "munmap")
    assert m.explorer.scenario().config.TABLE_SYNC == "elide_native"
