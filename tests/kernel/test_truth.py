"""Kernel-truth rules per release: what tlb_remove_table_sync_one() does without
MMU_GATHER_RCU_TABLE_FREE, the 7.x names of the same steps, TABLE_SYNC (Lance
Yang's series), and the what-if settings that no released x86 kernel has."""

from __future__ import annotations

import json

from pagewalk_edu.cli import main
from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import KernelConfig, make_scenario, run
from pagewalk_edu.kernel.names import rename


def _events(trace, actor):
    return [e for e in trace.events if e.actor == actor]


def test_tlb_remove_table_sync_one_is_an_empty_stub_without_rcu_table_free():
    """include/asm-generic/tlb.h: without CONFIG_MMU_GATHER_RCU_TABLE_FREE,
    `static inline void tlb_remove_table_sync_one(void) { }`: collapse_huge_page()
    sends no IPI after pmdp_collapse_flush()."""
    t = run(make_scenario("none", "khugepaged_collapse", config="MMU_GATHER_RCU_TABLE_FREE=n"))
    sync = [e for e in _events(t, "khugepaged") if e.function == "tlb_remove_table_sync_one"]
    assert len(sync) == 1
    assert sync[0].source == "include/asm-generic/tlb.h: tlb_remove_table_sync_one"
    assert not any(c.startswith("ipi:") for c in sync[0].changes)
    # With RCU table freeing it IPIs every other CPU (mm/mmu_gather.c).
    t = run(make_scenario("none", "khugepaged_collapse"))
    sync = [e for e in _events(t, "khugepaged") if e.function == "tlb_remove_table_sync_one"]
    assert sync and "ipi:cpu0" in sync[0].changes


def test_tlb_remove_table_sync_one_stub_changes_no_verdict_of_anon_collapse():
    """The sync IPI never protected a walker that the TLB flush before it did not
    (pmdp_collapse_flush() IPIs mm_cpumask()); only the state counts change."""
    for holds in ("none", "rcu", "irqs_off", "vma_lock"):
        v = verdict(make_scenario(holds, "khugepaged_collapse", config="MMU_GATHER_RCU_TABLE_FREE=n"))
        assert v.verdict == ("safe" if holds == "vma_lock" else "safe_but_stale"), holds


def test_table_sync_elide_native_skips_the_sync_ipi_of_the_batch_fallback():
    """Lance Yang's series: tlb_table_flush_implies_ipi_broadcast() makes
    tlb_remove_table_sync_one() return at once on native x86, so the v6.18
    fallback without PT_RECLAIM frees right after tlb_table_invalidate()'s flush,
    whose IPIs reach mm_cpumask() only: a remote IRQs-off walker is then unsafe."""
    base = dict(holds="irqs_off", action="munmap", walker="remote", fault="batch_alloc_fail")
    assert verdict(make_scenario(config="PT_RECLAIM=n", **base)).verdict != "unsafe"
    v = verdict(make_scenario(config="PT_RECLAIM=n,TABLE_SYNC=elide_native", **base))
    assert v.verdict == "unsafe"
    assert any("TABLE_SYNC=elide_native" in line for line in v.why)
    # A local IRQs-off walker takes the flush IPI only after the walk: still not unsafe.
    local = dict(base, walker="local")
    assert verdict(make_scenario(config="PT_RECLAIM=n,TABLE_SYNC=elide_native", **local)).verdict != "unsafe"


def test_table_sync_elision_needs_a_native_ipi_flush():
    """x86 sets tlb_table_flush_implies_ipi_broadcast() only without INVLPGB: with
    a broadcast flush the sync IPI stays."""
    t = run(make_scenario("none", "khugepaged_collapse", config="TABLE_SYNC=elide_native,TLB_FLUSH=broadcast"))
    sync = [e for e in _events(t, "khugepaged") if e.function == "tlb_remove_table_sync_one"]
    assert "ipi:cpu0" in sync[0].changes
    t = run(make_scenario("none", "khugepaged_collapse", config="TABLE_SYNC=elide_native"))
    sync = [e for e in _events(t, "khugepaged") if e.function == "tlb_remove_table_sync_one"]
    assert not any(c.startswith("ipi:") for c in sync[0].changes)


def test_zap_empty_pte_table_is_the_7x_name_of_try_get_and_clear_pmd():
    """v7.0 folded mm/pt_reclaim.c into mm/memory.c: try_get_and_clear_pmd() is
    zap_empty_pte_table(), free_pte() is open-coded in zap_pte_range(); by 7.1
    zap_page_range_single_batched() is zap_vma_range_batched()."""
    t71 = run(make_scenario("vma_lock", "madv_dontneed", kernel="7.1"))
    text = " ".join(e.text + " " + e.source + " " + e.function for e in t71.events)
    for old in ("try_get_and_clear_pmd", "zap_page_range_single_batched", "mm/pt_reclaim.c", "free_pte("):
        assert old not in text, old
    assert "zap_empty_pte_table()" in text and "zap_vma_range_batched" in {e.function for e in t71.events}
    t618 = run(make_scenario("vma_lock", "madv_dontneed", kernel="6.18"))
    assert "try_get_and_clear_pmd()" in " ".join(e.text for e in t618.events)
    assert "zap_page_range_single_batched" in {e.function for e in t618.events}
    # Same behaviour: the same steps by the same actors.
    assert [e.actor for e in t71.events] == [e.actor for e in t618.events]


def test_map_anon_folio_pmd_nopf_is_the_7x_name_of_set_pmd_at_in_collapse_huge_page():
    """v7.0: collapse_huge_page() installs the huge PMD with map_anon_folio_pmd_nopf()."""
    t = run(make_scenario("none", "khugepaged_collapse", kernel="7.1"))
    assert "map_anon_folio_pmd_nopf" in {e.function for e in t.events}
    assert "set_pmd_at" not in " ".join(e.text for e in t.events)
    t = run(make_scenario("none", "khugepaged_collapse", kernel="6.18"))
    assert "set_pmd_at" in {e.function for e in t.events}


def test_zap_pte_table_if_empty_names_the_7x_wait_of_try_to_free_pte():
    """A wait is named with the release's function too (Blocked.function)."""
    assert rename("7.1", "madvise spins in try_to_free_pte() on x") == "madvise spins in zap_pte_table_if_empty() on x"
    assert rename("6.18", "try_to_free_pte()") == "try_to_free_pte()"
    assert rename("7.1", "mm/pt_reclaim.c: free_pte") == "mm/memory.c: zap_pte_range"


def test_what_ifs_name_settings_no_released_x86_kernel_has():
    """kernel-facts §6/§14: MMU_GATHER_RCU_TABLE_FREE is unconditional on x86
    since v6.15 (a37259732a7d); PT_RECLAIM is def_bool y on x86 7.x; TABLE_SYNC
    elision is not in a release.  PT_RECLAIM=n on 6.18 is a real x86 option."""
    assert KernelConfig.for_kernel("6.18").what_ifs() == ()
    assert KernelConfig.for_kernel("7.1").what_ifs() == ()
    assert KernelConfig.for_kernel("6.18", PT_RECLAIM=False).what_ifs() == ()
    (w,) = KernelConfig.for_kernel("7.1", PT_RECLAIM=False).what_ifs()
    assert "powerpc/sparc" in w
    (w,) = KernelConfig.for_kernel("6.18", MMU_GATHER_RCU_TABLE_FREE=False).what_ifs()
    assert "no x86 kernel since v6.15" in w
    (w,) = KernelConfig.for_kernel("7.1", TABLE_SYNC="elide_native").what_ifs()
    assert "not in a release" in w
    assert "not in a release" in KernelConfig.for_kernel("7.1", TABLE_SYNC="elide_native").describe()


def test_verdict_text_and_json_label_the_what_if(capsys):
    args = ["verdict", "--holds", "rcu", "--action", "munmap", "--config", "MMU_GATHER_RCU_TABLE_FREE=n"]
    assert main(args) == 0
    assert "no x86 kernel since v6.15" in capsys.readouterr().out
    assert main(args + ["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert any("no x86 kernel since v6.15" in w for w in d["what_if"])
    assert main(["verdict", "--holds", "rcu", "--action", "munmap", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["what_if"] == []
    assert main(["matrix", "--kernel", "7.1", "--config", "PT_RECLAIM=n", "--json"]) == 0
    assert any("powerpc/sparc" in w for w in json.loads(capsys.readouterr().out)["what_if"])
    assert main(["trace", "--holds", "rcu", "--action", "munmap", "--config", "TABLE_SYNC=elide_native", "--json"]) == 0
    assert any("not in a release" in w for w in json.loads(capsys.readouterr().out)["what_if"])
