"""Adding a racing path touches one kernel module (its instruction types and
steps), one program builder and one scenario file: here all three live in this
test, and nothing in the package is edited.  The path is a small page-table
reclaimer: under the mmap read lock it finds the PTE table mapping an address,
pmd_clear()s it under pmd_lock() and hands it to pte_free_tlb() (the
mmu_gather rules of mm/mmu_gather.c, as the built-in paths use them), then
tlb_finish_mmu().  It models no released kernel function; it is a fixture."""

from __future__ import annotations

import json

import pytest

from pagewalk_edu.cli import main
from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import layout as layout_mod
from pagewalk_edu.kernel import paths, programs
from pagewalk_edu.kernel.pgtable import unlink_table
from pagewalk_edu.kernel.paths.base import go
from pagewalk_edu.kernel.paths.khugepaged import locate, saved_tables
from pagewalk_edu.kernel.paths.mmap_lock import MmapReadLock, MmapReadUnlock
from pagewalk_edu.kernel.paths.mmu_gather import TlbFinishMmu, tlb_remove_table
from pagewalk_edu.kernel.program import Label, Program, instruction
from pagewalk_edu.kernel.steps import Taken, pmd_lock, release_spin
from pagewalk_edu.scenarios.files import load

# --- the kernel module: instruction types and their steps ----------------------

FindPteTable = instruction("reclaim_find_pte_table", "addr")
UnlinkPteTable = instruction("reclaim_unlink_pte_table")
OUT = "out"  # the label FindPteTable jumps to when there is no PTE table


def _find(ctx, state, a, op):
    pmd, idx, pte = locate(ctx, state, a, op.addr)
    if pte < 0:
        return go(state, a, "reclaim_find_pte_table", f"no PTE table maps {op.addr:#x}", "test", goto=OUT)
    return go(state, a, "reclaim_find_pte_table", f"PTE table #{pte} at entry {idx} of PMD table #{pmd}", "test",
              pmd=pmd, pmd_index=idx, pte=pte)


def _unlink(ctx, state, a, op):
    pmd, idx, pte = saved_tables(a)
    got = pmd_lock(state, a, pmd, "reclaim_unlink_pte_table")
    if not isinstance(got, Taken):
        return got
    state, a, lock = got
    state = release_spin(state.but(tables=unlink_table(state.tables, pmd, idx, pte)), a, lock)
    state, a, call, tail, changes = tlb_remove_table(ctx, state, a, pte)
    return go(state, a, "reclaim_unlink_pte_table", f"pmd_clear() unlinks PTE table #{pte}; pte_free_tlb(){tail}", "test",
              f"detached:{pte}", *changes, call=call, flush=True)


OPS = {FindPteTable: _find, UnlinkPteTable: _unlink}

# --- the program builder ---------------------------------------------------------


def reclaim_program(spec, vmas, config) -> Program:
    return Program((MmapReadLock(), FindPteTable(spec.start), UnlinkPteTable(), TlbFinishMmu(), Label(OUT),
                    MmapReadUnlock()))


# --- the scenario file -----------------------------------------------------------

SCENARIO = """\
name = "reclaim-{holds}"
doc = "A page-table reclaimer frees the walked PTE table through tlb_remove_table() while the walker holds {holds}."
{expect}
kernel = "6.18"
config = {{ MMU_GATHER_RCU_TABLE_FREE = {rcu_free} }}
faulted = ["A+0x1000"]

[walker]
cpu = "local"
holds = [{held}]
address = "A+0x5000"

[[vma]]
name = "A"
start = 0x7f00_0000_0000
size = "4M"

[[path]]
op = "pte_table_reclaim"
start = "{start}"
size = "4K"
"""


@pytest.fixture()
def reclaim_path():
    """Register the path as its module and builder would, and take it away after."""
    saved = {id(d): (d, dict(d)) for d in (paths.OPS, programs.PATHS, layout_mod.PATH_OPS, layout_mod.PATH_CHECKS)}
    paths.register_ops(OPS)
    programs.register_path("pte_table_reclaim", reclaim_program, actor="reclaim", in_mm=True)
    yield
    for d, before in saved.values():
        d.clear()
        d.update(before)


def _file(tmp_path, holds: str, expect: str = "", start: str = "A", rcu_free: bool = True) -> str:
    held = ", ".join(f'"{h}"' for h in holds.split("+") if h != "none")
    path = tmp_path / f"reclaim-{holds}-{rcu_free}.toml"
    path.write_text(SCENARIO.format(holds=holds, held=held, expect=expect, start=start, rcu_free=str(rcu_free).lower()))
    return str(path)


def test_a_path_defined_outside_the_package_runs_in_the_explorer(reclaim_path, tmp_path):
    """The new path frees a PTE table by the model's own rules.  With
    MMU_GATHER_RCU_TABLE_FREE, tlb_remove_table() defers the free to
    tlb_remove_table_rcu(), and folio_walk_start() maps a PTE table under
    rcu_read_lock() (__pte_offset_map()), so the walker can only read it stale.
    Without it, tlb_remove_page() frees the table right after the TLB flush
    (tlb_batch_pages_flush()): a walker that holds nothing reads freed memory;
    one with IRQs disabled holds up the flush IPI until it is done."""
    deferred = verdict(load(_file(tmp_path, "none")).scenario)
    assert deferred.verdict == "safe_but_stale"
    bare = verdict(load(_file(tmp_path, "none", rcu_free=False)).scenario)
    assert bare.verdict == "unsafe" and bare.violation == "use-after-free"
    assert any(s.function == "reclaim_unlink_pte_table" and s.actor == "reclaim" for s in bare.counterexample)
    irqs_off = verdict(load(_file(tmp_path, "irqs_off", rcu_free=False)).scenario)
    assert irqs_off.verdict in ("safe", "safe_but_stale")


def test_a_label_in_the_new_program_skips_the_free(reclaim_path, tmp_path):
    """FindPteTable jumps to OUT when no PTE table maps the address: nothing is
    freed, so even a walker holding nothing is safe."""
    v = verdict(load(_file(tmp_path, "none", start="A+2M")).scenario)
    assert v.verdict == "safe"


def test_check_runs_the_new_paths_scenario_file_and_compares_expect(reclaim_path, tmp_path, capsys):
    """`pagewalk-edu check FILE`: exit 0 when the file's expect matches, 1 when not."""
    good = _file(tmp_path, "none", expect='expect = "unsafe"', rcu_free=False)
    assert main(["check", "--json", good]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[0])
    assert out["verdict"] == "unsafe" and out["name"] == "reclaim-none"
    bad = _file(tmp_path, "none", expect='expect = "unsafe"')
    assert main(["check", bad]) == 1


def test_a_registered_path_gets_the_default_range_check(reclaim_path, tmp_path):
    """A range outside every VMA is refused with a one-line error naming the key."""
    path = _file(tmp_path, "none", start="A+8M")
    with pytest.raises(ValueError, match=r"path\[0\].*not inside VMAs"):
        load(path)


def test_registering_a_second_step_for_an_instruction_type_is_refused(reclaim_path):
    with pytest.raises(ValueError, match="already has a step"):
        paths.register_ops({FindPteTable: _unlink})
    with pytest.raises(ValueError, match="already registered"):
        programs.register_path("pte_table_reclaim", lambda spec, vmas, config: Program(()))
