"""Racing paths from scenario files: any number of them, one CPU each, actors
addressed by role, each path's program built from its layout
(kernel/programs.py)."""

import sys
from pathlib import Path

from pagewalk_edu.kernel.pgtable import Life
from pagewalk_edu.kernel.sim import enabled, initial, make_ctx, run, step
from pagewalk_edu.scenarios.files import loads

sys.path.insert(0, str(Path(__file__).parent.parent / "scenarios"))
from scenario_texts import HEAD, THREE_CPUS, VMAS, WALKER  # noqa: E402

FOUR_CPUS = THREE_CPUS + '\n[[path]]\nop = "madvise"\nstart = "A"\nsize = "2M"\n'


def _scenario(text):
    return loads(text, "t.toml").scenario


def test_each_path_runs_on_its_own_cpu_and_is_named_by_role():
    ctx = make_ctx(_scenario(FOUR_CPUS))
    assert ctx.ncpus == 4
    assert ctx.main_actors == ("walker", "munmap", "khugepaged", "madvise")
    assert ctx.actor_names == ("walker", "munmap", "khugepaged", "madvise", "irq0", "irq1", "irq2", "irq3", "rcu_gp", "rcu_cb")
    assert ctx.lanes() == ((0, "walker"), (1, "munmap"), (2, "khugepaged"), (3, "madvise"))
    # khugepaged is a kthread: its CPU is not in mm_cpumask(); the syscalls' are.
    assert ctx.cpumask == frozenset({0, 1, 3})
    s0 = initial(ctx)
    assert len(s0.cpus) == 4 and [a.cpu for a in s0.actors] == [0, 1, 2, 3]
    # cpuN in a schedule is the actor on CPU N.
    s1, e = step(ctx, s0, "cpu3")
    assert e.actor == "madvise" and e.function == "lock_vma_under_rcu"


def test_tlb_remove_table_sync_one_ipis_every_other_cpu():
    """mm/mmu_gather.c tlb_remove_table_sync_one(): smp_call_function() to every
    online CPU but the sender, in the mm or not; the TLB flush before it
    (pmdp_collapse_flush()) goes to mm_cpumask() only."""
    ctx = make_ctx(_scenario(FOUR_CPUS.replace('holds = ["vma_lock"]', "holds = []")))
    state, events = initial(ctx), []
    while not any(e.function == "tlb_remove_table_sync_one" for e in events):
        moves = enabled(ctx, state)
        name = "khugepaged" if "khugepaged" in moves else next(m for m in moves if m.startswith("irq"))
        state, e = step(ctx, state, name)
        events.append(e)
    flush = next(e for e in events if e.function == "pmdp_collapse_flush")
    sync = events[-1]
    assert sync.actor == "khugepaged" and sync.cpu == 2
    assert {c for c in flush.changes if c.startswith("ipi:")} == {"ipi:cpu0", "ipi:cpu1", "ipi:cpu3"}
    assert {c for c in sync.changes if c.startswith("ipi:")} == {"ipi:cpu0", "ipi:cpu1", "ipi:cpu3"}


def test_madvise_across_two_vmas_zaps_each_and_reclaims_no_pte_table():
    """mm/madvise.c madvise_walk_vmas(): a range past the first VMA falls back to
    the mmap read lock and zaps VMA by VMA; neither zap covers the PTE table's
    whole 2 MiB, so reclaim_pt_is_enabled() is false for both (mm/pt_reclaim.c)."""
    vmas = VMAS.replace('size = "4M"', 'size = "3M"').replace('start = "A.end+4M"\nsize = "2M"', 'start = "A.end"\nsize = "1M"')
    text = (HEAD.replace('"B+0x1000"]', '"B+0x1000", "A+2M+0x1000"]') + WALKER + vmas
            + '\n[[path]]\nop = "madvise"\nstart = "A+2M"\nend = "B.end"\n')
    trace = run(_scenario(text), ["madvise"] * 8, then_default=False)
    fns = [e.function for e in trace.events]
    assert fns[:2] == ["try_vma_read_lock", "mmap_read_lock"]
    assert fns.count("zap_page_range_single_batched") == 2
    pte = next(t for t in trace.last.tables if t.level.name == "PTE" and t.base == 0x7F00_0020_0000)
    assert pte.life == Life.LIVE and not pte.entries
    # One VMA over the same range: the zap covers it all and the table is reclaimed.
    one = HEAD.replace('"B+0x1000"]', '"B+0x1000", "A+2M+0x1000"]') + WALKER + VMAS + '\n[[path]]\nop = "madvise"\nstart = "A+2M"\nsize = "2M"\n'
    trace = run(_scenario(one), ["madvise"] * 4, then_default=False)
    assert any(c.startswith("detached:") for e in trace.events for c in e.changes)


def test_khugepaged_gives_up_on_one_pmd_and_collapses_the_next():
    """khugepaged_scan_mm_slot(): hpage_collapse_scan_pmd() finding no PTE table
    (SCAN_PMD_NULL) moves on to the next PMD range of the same path."""
    text = (HEAD.replace('faulted = ["A+0x1000", "A+2M+0x6000", "B+0x1000"]', 'faulted = ["A+2M+0x6000"]') + WALKER + VMAS
            + '\n[[path]]\nop = "khugepaged_collapse"\nstart = "A"\nsize = "4M"\n')
    ctx = make_ctx(_scenario(text))
    state, fns = initial(ctx), []
    while not state.actors[1].done:
        moves = enabled(ctx, state)
        name = "khugepaged" if "khugepaged" in moves else next(m for m in moves if m.startswith("irq"))
        state, e = step(ctx, state, name)
        if e.actor == "khugepaged":
            fns.append(e.function)
    assert fns[:3] == ["mmap_read_lock", "hpage_collapse_scan_pmd", "mmap_read_unlock"]
    assert fns[3] == "khugepaged_scan_mm_slot"
    assert fns.count("set_pmd_at") == 1 and fns[-1] == "mmap_write_unlock"


def test_a_walker_is_one_module_registered_by_the_name_files_use():
    """kernel/walkers/: the walk names a scenario file accepts are the registered walkers."""
    from pagewalk_edu.kernel.layout import WALKS
    from pagewalk_edu.kernel.walkers import WALKERS

    assert tuple(WALKERS) == tuple(WALKS)
    fw = WALKERS["folio_walk_start"]
    assert fw.first == fw.labels[0] == "pgd_offset" and set(fw.labels) <= set(fw.steps)
    ctx = make_ctx(_scenario(THREE_CPUS))
    assert ctx.setup.walk == "folio_walk_start"


def test_every_instruction_is_typed_and_has_one_step():
    """kernel/program.py: a program is a tuple of typed instructions, one type per
    kernel function; kernel/paths/ runs each type with exactly one step."""
    from pagewalk_edu.kernel.paths import OPS
    from pagewalk_edu.kernel.paths.mmap_lock import VmaStartWrite
    from pagewalk_edu.kernel.scenario import ACTIONS, build_setup
    from pagewalk_edu.kernel import make_scenario

    op = VmaStartWrite("A")
    assert op.vma == "A" and op.function == "vma_start_write" and op == ("vma_start_write", "A")
    assert len({t.__name__ for t in OPS}) == len(OPS)
    for action in ACTIONS:
        for p in build_setup(make_scenario("none", action)).paths:
            assert all(type(i) in OPS for i in p.program), action
    for p in make_ctx(_scenario(FOUR_CPUS)).paths:
        assert all(type(i) in OPS for i in p.program)


def test_tlb_remove_table_sync_one_is_an_empty_stub_without_mmu_gather_rcu_table_free():
    """include/asm-generic/tlb.h: without CONFIG_MMU_GATHER_RCU_TABLE_FREE,
    `static inline void tlb_remove_table_sync_one(void) { }`: collapse_huge_page()
    sends no IPI after pmdp_collapse_flush()."""
    from pagewalk_edu.kernel import make_scenario

    for config, ipis in (("MMU_GATHER_RCU_TABLE_FREE=n", set()), (None, {"ipi:cpu0"})):
        trace = run(make_scenario("none", "khugepaged_collapse", config=config))
        sync = next(e for e in trace.events if e.function == "tlb_remove_table_sync_one")
        assert {c for c in sync.changes if c.startswith("ipi:")} == ipis


def test_munmap_of_the_middle_of_a_vma_splits_both_edges_and_frees_only_the_hole():
    """mm/vma.c vms_gather_munmap_vmas(): __split_vma() at the start and at the
    end of the range (both write-locked); mm/memory.c free_pgd_range() then frees
    the PTE table wholly inside the hole and keeps the ones that map what stays."""
    from pagewalk_edu.kernel.pgtable import Life

    vmas = VMAS.replace('size = "4M"', 'size = "6M"').replace('start = "A.end+4M"', 'start = "A.end+2M"')
    text = (HEAD.replace('faulted = ["A+0x1000", "A+2M+0x6000", "B+0x1000"]', 'faulted = ["A+0x1000", "A+2M+0x1000", "A+4M+0x1000"]')
            + WALKER.replace('address = "A+2M+0x5000"', 'address = "A+0x5000"') + vmas
            + '\n[[path]]\nop = "munmap"\nstart = "A+2M"\nend = "A+4M"\n')
    ctx = make_ctx(_scenario(text))
    fns = [(i.function, tuple(i)[1:]) for i in ctx.paths[0].program[:4]]
    base = 0x7F00_0000_0000
    assert fns == [("mmap_write_lock", ("mmap_write_lock_killable",)), ("vma_start_write", ("A",)),
                   ("__split_vma", ("A", base + (2 << 20), "A.hi", False)),
                   ("__split_vma", ("A.hi", base + (4 << 20), "A.hi.hi", False))]  # new_below=False: the new VMA is above
    state = initial(ctx)
    while not state.actors[1].done:
        moves = enabled(ctx, state)
        state, _ = step(ctx, state, next(m for m in ("munmap", "rcu_gp", "rcu_cb", "irq0") if m in moves))
    while "rcu_gp" in enabled(ctx, state) or "rcu_cb" in enabled(ctx, state):
        state, _ = step(ctx, state, "rcu_gp" if "rcu_gp" in enabled(ctx, state) else "rcu_cb")
    live = {v.name: (v.start - base, v.end - base) for v in state.vmas if not v.detached}
    assert live["A"] == (0, 2 << 20) and live["A.hi.hi"] == (4 << 20, 6 << 20) and "A.hi" not in live
    ptes = {t.base - base: t.life for t in state.tables if t.level.name == "PTE"}
    assert ptes[0] == Life.LIVE and ptes[4 << 20] == Life.LIVE and ptes[2 << 20] == Life.FREED


# --- the program model (kernel/program.py, kernel/paths/base.py) ---------------------

MADVISE_AND_MUNMAP = HEAD.replace('expect = "safe"\n', "") + WALKER + VMAS + '''
[[path]]
op = "madvise"
start = "A"
size = "2M"

[[path]]
op = "munmap"
vma = "A"
'''


def _frames_seen(ctx, schedule):
    trace = run(ctx.scenario, schedule, then_default=True)
    return trace, [s.actors[i].frames for s in trace.states for i in range(1, len(s.actors))]


def test_a_program_never_changes_while_it_runs():
    """A racing path runs the very program its builder made, its pc only moving
    forward, until that frame ends; expansions are frames above it."""
    from pagewalk_edu.kernel import make_scenario
    from pagewalk_edu.kernel.scenario import ACTIONS

    for scenario in [make_scenario("none", a) for a in ACTIONS] + [_scenario(FOUR_CPUS)]:
        ctx = make_ctx(scenario)
        trace = run(scenario)
        for i, p in enumerate(ctx.paths, 1):
            pcs = []
            for state in trace.states:
                frames = state.actors[i].frames
                assert all(0 <= pc < len(prog) for prog, pc in frames)
                assert all(prog is not p.program for prog, _ in frames[1:])
                if frames and frames[0][0] is p.program:
                    pcs.append(frames[0][1])
                else:
                    pcs.append(None)
            ran = [pc for pc in pcs if pc is not None]
            assert ran == sorted(ran) and ran and ran[0] == 0, p.name
            # once the builder's frame is gone it never comes back
            first_gone = pcs.index(None) if None in pcs else len(pcs)
            assert all(pc is None for pc in pcs[first_gone:]), p.name


def test_goto_lands_on_the_next_label_and_call_runs_before_the_caller_goes_on():
    from pagewalk_edu.kernel.paths.base import advance
    from pagewalk_edu.kernel.paths.mmap_lock import MmapReadLock, MmapReadUnlock, VmaEndRead
    from pagewalk_edu.kernel.program import Label, Program, Return

    prog = Program((MmapReadLock(), Label("next"), VmaEndRead(), Label("next"), MmapReadUnlock(), Return(), VmaEndRead()))
    assert len(prog) == 4 and prog.target("next", 0) == 1 and prog.target("next", 1) == 2
    assert advance(((prog, 0),), goto="next") == ((prog, 1),)
    frames = advance(((prog, 0),), call=(VmaEndRead(), VmaEndRead()))
    assert frames[0] == (prog, 1) and frames[1][1] == 0 and len(frames[1][0]) == 2
    # The last instruction before Return() ends the program: the frame is gone, so
    # a call made there leaves only the callee (a tail call: equal work left,
    # equal frames).
    assert advance(((prog, 2),)) == ()
    # A label just after a Return() is still where a goto lands (the fall-back arm
    # of a program that has two).
    arms = Program((MmapReadLock(), Return(), Label("fallback"), VmaEndRead()))
    assert advance(((arms, 0),)) == () and advance(((arms, 0),), goto="fallback") == ((arms, 1),)
    assert advance(((prog, 2),), call=(VmaEndRead(),)) == advance(((Program((VmaEndRead(), VmaEndRead())), 1),),
                                                                  call=(VmaEndRead(),))
    import copy
    assert copy.deepcopy(arms) == arms and repr(copy.deepcopy(arms)) == repr(arms)


def test_equal_work_left_in_a_called_sub_program_is_one_state():
    """zap_pmd_range() chose two PMD entries and one is done, or it chose only the
    second (the first PTE table was gone when it ran): the same future, so the
    same frames, and the explorer counts one state (as it did when an actor kept
    only its remaining instructions)."""
    from pagewalk_edu.kernel.paths.base import advance
    from pagewalk_edu.kernel.paths.memory import Zap
    from pagewalk_edu.kernel.paths.mmap_lock import MmapReadUnlock
    from pagewalk_edu.kernel.program import Program

    main = Program((MmapReadUnlock(), MmapReadUnlock()))
    z6, z7 = Zap("zap_pte_range", 6, 2, 4, 0, 1 << 21, False), Zap("zap_pte_range", 7, 2, 5, 1 << 21, 2 << 21, False)
    both = advance(((main, 0),), call=(z6, z7))
    only7 = advance(((main, 0),), call=(z7,))
    assert advance(both) == only7 and hash(advance(both)) == hash(only7)
    assert advance(only7) == ((main, 1),)


def test_madvise_falls_back_to_the_mmap_lock_arm_of_its_program():
    """mm/madvise.c try_vma_read_lock(): lock_vma_under_rcu() fails on the VMA
    munmap() write-locked, so madvise jumps to its program's mmap_read_lock()
    arm; the VMA is gone by then, so it jumps on to mmap_read_unlock()."""
    ctx = make_ctx(_scenario(MADVISE_AND_MUNMAP))
    # munmap write-locks A and finishes; then madvise runs.
    state = initial(ctx)
    while not state.actors[2].done:
        moves = enabled(ctx, state)
        state, _ = step(ctx, state, next(m for m in ("munmap", "irq0", "irq1", "rcu_gp", "rcu_cb") if m in moves))
    events = []
    while not state.actors[1].done:
        state, e = step(ctx, state, "madvise")
        events.append(e.function)
    assert events == ["lock_vma_under_rcu", "mmap_read_lock", "mmap_read_unlock"]
    assert state.mmap_readers == frozenset()


#: retract_page_tables() of F's first PMD range races MADV_DONTNEED of all of F:
#: zap_pmd_range() finds two PTE tables or, after the retract, only the second.
RETRACT_AND_MADVISE = (HEAD.replace('expect = "safe"\n', "").replace('"A+2M+0x6000", "B+0x1000"', '"F+2M+0x1000"')
                       + WALKER.replace("A+2M+0x5000", "A+0x5000") + VMAS + """
[[vma]]
name = "F"
start = "B.end+2M"
size = "4M"
kind = "file"

[[path]]
op = "retract_page_tables"
start = "F"
size = "2M"

[[path]]
op = "madvise"
start = "F"
size = "4M"
""")


def _work_left(frames) -> tuple:
    """An actor's remaining instructions, innermost frame first (what the model
    kept before programs had a pc), up to each program's next Return()."""
    out: list = []
    for program, pc in reversed(frames):
        end = min([r for r in program.returns if r > pc], default=len(program))
        out += program[pc:end]
    return tuple(out)


def test_no_two_explored_states_differ_only_in_how_their_work_left_is_framed():
    """Equal futures give equal states: over every state the explorer visits, two
    states whose actors have the same instructions left (and all else equal) are
    the same state, so the frame stack inflates no state count."""
    from dataclasses import replace

    from pagewalk_edu.explore.properties import stops
    from pagewalk_edu.explore.search import bfs
    from pagewalk_edu.kernel import make_scenario
    from pagewalk_edu.kernel.scenario import ACTIONS

    scenarios = [make_scenario("none", a) for a in ACTIONS] + [_scenario(RETRACT_AND_MADVISE)]
    for scenario in scenarios:
        ctx = make_ctx(scenario)
        g = bfs(ctx, initial(ctx), stop=stops(ctx))
        keys = {s.but(actors=tuple(replace(a, frames=_work_left(a.frames)) for a in s.actors)) for s in g.order}
        assert len(keys) == len(g.order), scenario.describe()
