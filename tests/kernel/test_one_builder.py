"""One program builder per system call: `pagewalk-edu tables` (kernel/syscalls.py
→ kernel/sequential.py) and the explorer (kernel/sim.py) run the same programs
of kernel/programs.py.  Every munmap and madvise(MADV_DONTNEED) of a tables
scenario runs here through the explorer's step function too, as the one racing
path of a scenario whose walker never moves, from the state the sequential run
reached; both must leave the same page tables (entries, lifecycle, accounting,
who freed each) and VMAs, and unlink the same tables in the same order.
"""

from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagewalk_edu.kernel import sim
from pagewalk_edu.kernel.config import KernelConfig
from pagewalk_edu.kernel.ctx import make_ctx
from pagewalk_edu.kernel.geometry import Level
from pagewalk_edu.kernel.layout import Layout, PathSpec
from pagewalk_edu.kernel.pgtable import Life, pgtables_bytes
from pagewalk_edu.kernel.scenario import Scenario
from pagewalk_edu.kernel.syscalls import Mm
from pagewalk_edu.tables import load_tables_scenario, parse_tables_scenario
from pagewalk_edu.tables.predict import SIM_BASE
from pagewalk_edu.tables.spec import SLOT

K, M = 1 << 10, 1 << 20
SHIPPED = sorted(Path(str(resources.files("pagewalk_edu") / "scenarios" / "tables")).glob("*.json"))
CONFIGS = {
    "6.18": KernelConfig.for_kernel("6.18"),
    "6.18 PT_RECLAIM=n": KernelConfig.for_kernel("6.18", PT_RECLAIM=False),
    "6.18 PT_RECLAIM=n MMU_GATHER_RCU_TABLE_FREE=n": KernelConfig.for_kernel(
        "6.18", PT_RECLAIM=False, MMU_GATHER_RCU_TABLE_FREE=False),
    "6.18 PGTABLE_LEVELS=5": KernelConfig.for_kernel("6.18", PGTABLE_LEVELS=5),
    "7.1": KernelConfig.for_kernel("7.1"),
}
OPS = {"munmap": "munmap", "madvise": "madvise_dontneed"}


def explorer_run(mm: Mm, op: str, start: int, end: int):
    """Run `op` on [start, end) of `mm` through sim.py: a scenario whose layout
    is mm's VMAs and whose one racing path is the call; the walker (CPU0,
    remote, walking an outside VMA) never moves.  The path runs first; the IPI
    handlers and RCU run whenever it waits, until nothing but the walker can
    move.  Returns the final state and the events."""
    vmas = tuple(sorted(mm.vmas + mm.outside, key=lambda v: v.start))
    walked = mm.outside[0]
    layout = Layout("tables-step", "one system call of a tables scenario", vmas, (), walked.start, walked.name,
                    (PathSpec(op, start, end, op),))
    ctx = make_ctx(Scenario(config=mm.config, walker="remote", layout=layout))
    state = sim.initial(ctx).but(tables=tuple(mm.tables))  # the sequential run's tables, not the layout's faults
    events = []
    order = (op,) + tuple(n for n in ctx.actor_names if n not in (op, sim.WALKER))
    for _ in range(100_000):
        moves = {name for name, _ in sim.successors(ctx, state)}
        name = next((n for n in order if n in moves), None)
        if name is None:
            break
        state, event = sim.step(ctx, state, name)
        events.append(event)
    else:  # pragma: no cover - a run that never ends is the failure reported
        raise AssertionError(f"{op} [{start:#x}, {end:#x}) did not finish")
    assert state.actor(op).done, f"{op} is stuck: {sim.blocked(ctx, state)}"
    assert not state.rcu.callbacks and not state.ipis
    return state, events


def check_call(mm: Mm, op: str, start: int, end: int) -> Mm:
    """The call on both runners from `mm`; the sequential one's mm after it."""
    call = getattr(mm, OPS[op])(start, end)
    state, events = explorer_run(mm, op, start, end)
    geo = mm.geo
    assert tuple(state.tables) == tuple(call.mm.tables), f"{op} [{start:#x}, {end:#x}): the tables differ"
    assert pgtables_bytes(state.tables) == call.mm.pgtables_bytes
    spans = sorted((v.start, v.end) for v in state.vmas if not v.detached)
    assert spans == sorted((v.start, v.end) for v in call.mm.vmas + call.mm.outside)
    unlinked = [int(c.split(":")[1]) for e in events for c in e.changes if c.startswith("detached:")]
    freed = {int(c.split(":")[1]) for e in events for c in e.changes if c.startswith("freed:")}
    assert [(state.tables[t].level.name, *state.tables[t].span(geo)) for t in unlinked] == \
        [(c.level, c.start, c.end) for c in call.freed]
    assert freed == set(unlinked)
    return call.mm


def run_both(steps, config: KernelConfig) -> list[int]:
    """Every step sequentially, each munmap/madvise also through the explorer;
    the page-table bytes after each step."""
    mm = Mm.in_empty_slot(config, SIM_BASE, SLOT)
    sizes = []
    for s in steps:
        start, end = SIM_BASE + s.start, SIM_BASE + s.end
        if s.op == "mmap":
            mm = mm.mmap(start, end).mm
        elif s.op == "touch":
            mm = mm.touch(start, end, s.stride).mm
        else:
            mm = check_call(mm, s.op, start, end)
        sizes.append(mm.pgtables_bytes)
    return sizes


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_tables_scenario_gives_the_same_tables_through_the_explorer(path, config):
    scenario = load_tables_scenario(path)
    sizes = run_both(scenario.steps, config)
    if scenario.expected is not None and config is CONFIGS["6.18"]:
        assert sizes == list(scenario.expected)  # and both agree with what 6.18 measured


@pytest.mark.parametrize("kernel", ["6.18", "7.1"])
def test_madvise_walk_vmas_zaps_two_vmas_sharing_a_pte_table_one_by_one_in_both_runners(kernel):
    """mm/madvise.c madvise_walk_vmas(): madvise_dontneed_single_vma() runs per
    VMA with the range clipped to it (range->end = min(vma->vm_end, last_end)),
    and unmap_single_vma() / __zap_vma_range() clip again; zap_pte_range() then
    sees less than PMD_SIZE, so reclaim_pt_is_enabled() (7.x:
    pte_table_reclaim_possible()) is false and the PTE table stays, in 6.18
    and in 7.x alike (measured on 6.18)."""
    mm = Mm.in_empty_slot(KernelConfig.for_kernel(kernel), SIM_BASE, SLOT)
    for op, a, b in (("mmap", 0, M), ("touch", 0, M), ("mmap", 3 * M // 2, 2 * M), ("touch", 3 * M // 2, 2 * M),
                     ("mmap", M, 3 * M // 2), ("touch", M, 3 * M // 2)):
        mm = getattr(mm, op)(SIM_BASE + a, SIM_BASE + b).mm
    assert len(mm.vmas) == 2  # different anon_vmas: the gap merged with the lower VMA only
    pte = next(t.tid for t in mm.tables if t.level == Level.PTE)
    after = check_call(mm, "madvise", SIM_BASE, SIM_BASE + 2 * M)
    assert after.tables[pte].life == Life.LIVE and not after.tables[pte].entries
    assert after.pgtables_bytes == 12 * K


def test_madvise_of_one_vma_covering_the_pte_table_reclaims_it_in_both_runners():
    """The same 2M in one VMA: one zap covers the PTE table; try_get_and_clear_pmd()
    unlinks it and free_pte() frees it through the mmu_gather (RCU)."""
    mm = Mm.in_empty_slot(CONFIGS["6.18"], SIM_BASE, SLOT).mmap(SIM_BASE, SIM_BASE + 2 * M).mm
    mm = mm.touch(SIM_BASE, SIM_BASE + 2 * M).mm
    pte = next(t.tid for t in mm.tables if t.level == Level.PTE)
    after = check_call(mm, "madvise", SIM_BASE, SIM_BASE + 2 * M)
    assert after.tables[pte].life == Life.FREED and after.tables[pte].freed_by == "tlb_remove_table_rcu"
    assert after.pgtables_bytes == 8 * K


def test_the_sequential_runner_refuses_an_instruction_it_does_not_model():
    """Only munmap's and MADV_DONTNEED's instructions run alone; anything else
    is refused by name instead of being skipped."""
    from pagewalk_edu.kernel.programs import collapse_program
    from pagewalk_edu.kernel.sequential import run_alone

    mm = Mm.in_empty_slot(CONFIGS["6.18"], SIM_BASE, SLOT).mmap(SIM_BASE, SIM_BASE + 2 * M).mm
    program = collapse_program(PathSpec("khugepaged_collapse", SIM_BASE, SIM_BASE + 2 * M, "khugepaged"),
                               mm.vmas, mm.config)
    with pytest.raises(ValueError, match=r"hpage_collapse_scan_pmd\(\) cannot run alone"):
        run_alone(program, mm.tables, mm.vmas, mm.geo, mm.config)


UNIT = st.sampled_from([4 * K, 512 * K, 2 * M])


@st.composite
def tables_files(draw):
    """What `pagewalk-edu tables` accepts, kept small: up to eight steps inside
    the first 24M of the slot; a sequence the file format refuses (a touch of
    unmapped memory, an mmap over a mapping) is drawn again."""
    unit = draw(UNIT)
    steps = []
    for _ in range(draw(st.integers(2, 8))):
        op = draw(st.sampled_from(["mmap", "mmap", "touch", "touch", "munmap", "madvise"]))
        start = draw(st.integers(0, (16 * M) // unit)) * unit
        step = {"op": op, "start": start, "length": draw(st.integers(1, (8 * M) // unit)) * unit}
        if op == "touch":
            step["stride"] = draw(st.sampled_from(["4K", "64K", "1M"]))
        if op == "madvise":
            step["advice"] = "dontneed"
        steps.append(step)
    try:
        return parse_tables_scenario({"steps": steps})
    except ValueError:
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(tables_files().filter(lambda s: s is not None), st.sampled_from(list(CONFIGS.values())))
def test_random_tables_files_give_the_same_tables_through_the_explorer(scenario, config):
    run_both(scenario.steps, config)


def test_a_munmap_across_far_apart_vmas_frees_as_free_pgtables_gathers_them():
    """mm/memory.c free_pgtables(): VMAs more than PMD_SIZE apart get their own
    free_pgd_range() call, whose ceiling is the next VMA's start; nearer ones
    share a call.  Both runners free the same tables."""
    mm = Mm.in_empty_slot(CONFIGS["6.18"], SIM_BASE, SLOT)
    for a, b in ((0, M), (5 * M, 6 * M), (6 * M + 4 * K, 7 * M)):
        mm = mm.mmap(SIM_BASE + a, SIM_BASE + b).mm
        mm = mm.touch(SIM_BASE + a, SIM_BASE + b).mm
    after = check_call(mm, "munmap", SIM_BASE, SIM_BASE + 8 * M)
    assert after.pgtables_bytes == 0
