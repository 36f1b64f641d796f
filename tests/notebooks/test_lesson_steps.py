"""The step numbers and values lessons 00-04 quote from their traces are the
simulator's: each test reads the sentence in the lesson, then checks the trace
it talks about, so that a change to either shows here."""

import re

from lessons import ROOT, read

from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import KernelConfig, run
from pagewalk_edu.scenarios import named
from pagewalk_edu.tables import load_tables_scenario, parse_tables_scenario, predict
from pagewalk_edu.viz.text import state_text
from pagewalk_edu.viz.tree import tree


def prose(lesson: str) -> str:
    path = next((ROOT / "notebooks").glob(f"{lesson}-*.ipynb"))
    return "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")


def code(lesson: str) -> str:
    path = next((ROOT / "notebooks").glob(f"{lesson}-*.ipynb"))
    return "\n".join(c.source for c in read(path).cells if c.cell_type == "code")


def step(trace, n: int):
    return trace.events[n - 1]


def test_00_the_warning_it_explains_is_on_step_2():
    assert "Step 2 carries a `WARNING`" in prose("00")
    short = run(named("vma_lock+munmap").scenario, ["walker", "walker", "munmap"], then_default=False)
    assert step(short, 2).function == "pgd_offset" and "WARNING: mmap_assert_locked" in step(short, 2).text
    assert "next: pudp_get()" in prose("00")
    assert short.last.actor("walker").pc == "pudp_get", "the picture's next-step mark is on the PUD entry"


def test_00_safe_but_stale_is_first_said_in_plain_words_and_the_prediction_does_not_answer_itself():
    path = next((ROOT / "notebooks").glob("00-*.ipynb"))
    cells = [c for c in read(path).cells if c.cell_type == "markdown"]
    first = next(c.source for c in cells if "safe_but_stale" in c.source)
    assert "pte_offset_map_lock" not in first and "pmd_same" not in first, "no function the reader has not met yet"
    assert "[stale](glossary.ipynb#cell-id=stale)" in first and "lesson 02 shows both" in first
    predict = next(c.source for c in cells if c.source.startswith("## Predict, then reveal"))
    assert "**nothing**" not in predict and "no lock at all" not in predict
    assert "took neither of the two locks above" in predict
    assert verdict(named("none+munmap").scenario).verdict == "unsafe"
    # a walker that announced its reading (rcu_read_lock()) may read an unlinked table and still be right
    assert verdict(named("rcu+munmap").scenario).verdict == "safe_but_stale"


def test_01_khugepaged_runs_alone_to_the_end_and_the_picture_shows_what_the_lesson_says():
    alone = ["khugepaged"] * 9 + ["irq0"] + ["khugepaged"] * 3 + ["irq0"] + ["khugepaged"] * 5
    path = next((ROOT / "notebooks").glob("01-*.ipynb"))
    cell = next(c.source for c in read(path).cells if c.cell_type == "code" and "none+khugepaged_collapse" in c.source)
    assert 'alone = ["khugepaged"] * 9 + ["irq0"] + ["khugepaged"] * 3 + ["irq0"] + ["khugepaged"] * 5' in cell
    assert "print(" not in cell, "only the picture matters here: the cell prints no steps"
    text = " ".join(prose("01").split())
    assert "**Here only the picture matters:**" in text
    assert "PMD entry 1 is now a `2M THP` leaf" in text and "its corner says *detached, deposited*" in text
    tc = run(named("none+khugepaged_collapse").scenario, alone, then_default=False)
    assert tc.last.actor("khugepaged").done
    assert [e.actor for e in tc.events].count("irq0") == 2, "each irq0 answers one interrupt khugepaged sends"
    assert all(e.actor != "walker" for e in tc.events), "the walker has not started"
    assert "pgtable_trans_huge_deposit()" in next(e.text for e in tc.events if e.function == "set_pmd_at")
    pmd = tc.last.tables[2]
    assert pmd.level.name == "PMD" and pmd.get(1).is_leaf and pmd.get(1).target == 2 << 20, "PMD entry 1 maps the 2 MiB THP"
    old = tc.last.tables[4]
    assert old.deposited and old.life.value == "detached", "the old PTE table is deposited, not freed"
    assert [i for i, _ in old.entries] == [5, 6], "the box still holds the old entries of pages [5] and [6]"
    # the picture's text form (what a notebook without SVG shows) says the same
    shown = tree(tc.ctx, tc.last, legend=False)._repr_mimebundle_()["text/plain"].splitlines()
    at = shown.index("(unlinked) PTE table #4 [0x7f0000200000, 0x7f0000400000) detached deposited")
    assert shown[at + 1:at + 3] == ["  [5] 0x7f0000205000: 4K page", "  [6] 0x7f0000206000: 4K page"]


def test_01_the_running_totals_leave_out_the_pgd_and_a_walker_holding_nothing_starts_at_pgd_offset():
    text = prose("01")
    assert "three pages (12 KiB) after the first write, four (16 KiB) after the second" in text
    steps = parse_tables_scenario({"steps": [{"op": "mmap", "start": 0, "length": "4M"},
                                             {"op": "touch", "start": 0, "length": "4K"},
                                             {"op": "touch", "start": "2M", "length": "4K"}]})
    results = predict(steps, KernelConfig.for_kernel("6.18"))
    assert [r.page_table_bytes // 1024 for r in results[1:]] == [12, 16]
    assert [c.level for c in results[1].allocated] == ["PUD", "PMD", "PTE"], "the PGD is not among them"
    assert "`next: lock_vma_under_rcu()` means it has not started" in text and "says `next: pgd_offset()`" in text
    collapse = run(named("none+khugepaged_collapse").scenario, [], then_default=False)
    munmap = run(named("vma_lock+munmap").scenario, [], then_default=False)
    from pagewalk_edu.viz.model.tree import tree_model

    first = [tree_model(t.ctx, t.last).walkers[0].next_step for t in (collapse, munmap)]
    assert first == ["pgd_offset", "lock_vma_under_rcu"], "the picture's next: names the kernel function of the first step"
    assert "page [6] at 0x7f0000206000, next to the walked page [5]" in text
    assert "[6] 0x7f0000206000: 4K page" in state_text(collapse.last, collapse.ctx)
    assert "[6] 0x7f0000206000" not in state_text(munmap.last, munmap.ctx), "the earlier tree has no page [6]"


def test_02_the_step_table_is_the_traces_and_the_cpu_state_it_quotes_holds():
    rows = re.findall(r"^\| (\d+) \| `(\w+)\(\)` \|", prose("02"), flags=re.M)
    walk = run(named("vma_lock+munmap").scenario, ["walker"] * 10, then_default=False)
    assert [(int(n), f) for n, f in rows] == [(i, e.function) for i, e in enumerate(walk.events, 1)]
    assert "`CPU0: IRQs on, rcu_read_lock depth 1, preempt 1`" in prose("02")
    cpu = walk.states[8].cpus[0]
    assert (cpu.irqs_off, cpu.rcu, cpu.preempt) == (False, 1, 1)
    assert walk.states[9].cpus[0].preempt == 0, "preempt drops back to 0 at folio_walk_end()"
    text = " ".join(prose("02").split())
    assert "| 2 | `pgd_offset()` | finds the PGD entry; the check after it reads it |" in prose("02")
    assert "`pgd_offset()` itself reads nothing" in text and "`pgd_none_or_clear_bad()`, reads the entry" in text
    # the ptl counts among what keeps the table alive because it holds preemption off (no quiescent state)
    assert "a CPU that cannot be preempted passes none" in text and "(lesson 03, idea 4, says more)" in text
    assert all(walk.states[i].cpus[0].preempt == 1 and not walk.states[i].cpus[0].quiescent for i in (6, 7, 8))
    assert "**4. Freeing through [RCU]" in prose("03"), "the idea lesson 02 points to"


def test_02_the_quiz_asks_what_lesson_00_did_not_and_the_prediction_waits_at_the_split():
    names = re.findall(r'"([^"]+)"', re.search(r"quiz\(([^)]*)\)", code("02")).group(1))
    assert names == ["mmap_lock+khugepaged_collapse", "vma_lock+khugepaged_collapse"]
    assert not any(n in code("00") + prose("00") for n in names), "a quiz question repeats a case of lesson 00"
    assert not any(n in code("04") + prose("04") for n in names), "a quiz question gives away lesson 04's race"
    by_mmap, by_vma = verdict(named(names[0]).scenario), verdict(named(names[1]).scenario)
    assert by_mmap.verdict == "safe" and "mmap_write_lock" in " ".join(by_mmap.why)
    assert by_vma.verdict == "safe" and "vma_start_write()" in " ".join(by_vma.why)
    assert "spinlock" not in " ".join(by_mmap.why + by_vma.why), "the feedback needs nothing lesson 03 teaches"
    # question 2's claim: collapse_huge_page() write-locks the VMA before it unlinks the old PTE table
    assert "write-locks the walked VMA\n   (`vma_start_write()`) before it unlinks the old PTE table" in prose("02")
    alone = run(named(names[1]).scenario, ["khugepaged"] * 6, then_default=False)
    steps = [e.function for e in alone.events]
    assert steps.index("mmap_write_lock") < steps.index("vma_start_write"), steps
    assert "pmdp_collapse_flush" not in steps, "the VMA is write-locked before the PMD entry is cleared"
    assert 'reveal_verdict(my_prediction, "vma_lock+munmap_partial")' in code("02")
    assert "splitting A is where the prediction's `munmap()` waited" in prose("02")
    split = verdict(named("vma_lock+munmap_partial").scenario)
    assert split.verdict == "safe" and "vma_start_write()" in split.why[0]
    walk = run(named("vma_lock+munmap").scenario, ["walker"] * 10, then_default=False)
    assert [walk.states[i].cpus[0].rcu for i in (4, 5)] == [0, 1], "step 5 re-reads the PMD entry inside RCU"


def test_03_the_full_trace_has_its_floor_ceiling_unlinking_free_and_use_after_free_where_the_lesson_says():
    text = prose("03")
    for quoted in ("step 9 gives the values", "floor 0x555555575000", "ceiling\n0x7ffde0000000", "Step 13 says `p4d_clear()`",
                   "unlinking (steps 10 to 13)", "At step 21", "freed at step 20", "step 12's `pud_clear()`"):
        assert quoted in text, quoted
    bug = named("none+munmap").scenario
    t = run(bug, verdict(bug).schedule, then_default=False)
    assert step(t, 9).function == "free_pgtables"
    assert "floor 0x555555575000, ceiling 0x7ffde0000000" in step(t, 9).text
    assert [step(t, i).function for i in range(10, 14)] == ["free_pte_range"] * 2 + ["free_pmd_range", "free_pud_range"]
    assert "pud_clear()" in step(t, 12).text and "p4d_clear()" in step(t, 13).text
    assert step(t, 20).function == "rcu_do_batch" and "PUD table #1" in step(t, 20).text
    assert step(t, 21).function == "pudp_get" and "USE-AFTER-FREE" in step(t, 21).text and "returns NULL" in step(t, 21).text
    assert len(t.events) == 21


def test_03_unmapping_the_neighbour_frees_only_its_own_pte_table_above_floor():
    assert "Only B's own PTE table [4M, 6M)" in prose("03") and "floor is 3M" in prose("03")
    t = run(named("none+munmap_adjacent").scenario)
    frees = [e.text for e in t.events if e.function.startswith("free_p") and e.function != "free_pgtables"]
    assert len(frees) == 1 and "[0x7f0000400000, 0x7f0000600000)" in frees[0]
    assert "floor 0x7f0000300000" in next(e.text for e in t.events if e.function == "free_pgtables")


def test_03_and_04_vmpte_steps_the_lessons_explain_are_the_models():
    tables = ROOT / "pagewalk_edu" / "scenarios" / "tables"
    config = KernelConfig.for_kernel("6.18")
    example = [r.page_table_bytes // 1024 for r in predict(load_tables_scenario(tables / "public-example.json"), config)]
    assert example == [0, 12, 16, 16, 24, 16, 12, 0]
    whole = [r.page_table_bytes // 1024 for r in predict(load_tables_scenario(tables / "dontneed-whole.json"), config)]
    assert whole == [0, 16, 12, 8, 0]
    assert "that table is freed (12 KiB)" in prose("04") and "it goes too (8 KiB)" in prose("04")


def test_04_the_retry_happens_at_the_steps_the_lesson_names():
    text = prose("04")
    for quoted in ("step 8: the table is", "step 17: a", "(step 18)", "end there (step 19)", "freed (step 20)", "NULL (step 21)"):
        assert quoted in text, quoted
    t = run(named("vma_lock+madv_dontneed").scenario)
    assert "try_get_and_clear_pmd() clears the PMD entry" in step(t, 8).text
    assert step(t, 17).function == "spin_lock" and "stale" in step(t, 17).text
    assert step(t, 18).function == "pmd_same" and "fails" in step(t, 18).text
    assert step(t, 19).function == "rcu_gp_cleanup" and "CPU0 passes a quiescent state" in step(t, 19).text
    assert step(t, 20).function == "rcu_do_batch"
    assert step(t, 21).function == "__pte_offset_map" and "returns NULL" in step(t, 21).text
    assert t.states[18].cpus[0].rcu == 0, "between the two tries the walker is outside any RCU section"


def test_03_ticking_rcu_stops_the_replay_with_the_message_the_lesson_quotes():
    from pagewalk_edu.widgets import Explorer

    text = " ".join(prose("03").split())
    m = re.search(r"the message says \*step (\d+) cannot: (rcu_cb has nothing to do now: [^*]+)\*", text)
    assert m, "lesson 03 quotes the replay's message"
    e = Explorer(scenario="none+munmap", controls=("holds", "action"))
    e.do_bug()
    e.holds["rcu"].value = True
    msg = " ".join(re.sub(r"<[^>]+>", "", e.message.value).split())
    assert f"step {m.group(1)} cannot: {m.group(2)}" in msg, msg[:300]
    assert f"the free of step {m.group(1)} cannot happen" in text


def test_03_quiz_asks_the_partial_unmap_and_does_not_give_its_answers_away():
    path = next((ROOT / "notebooks").glob("03-*.ipynb"))
    cells = read(path).cells
    quiz_at = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "quiz(" in c.source)
    asked = re.findall(r'"([^"]+)"', cells[quiz_at].source)
    before = "\n".join(c.source for c in cells[:quiz_at])
    for name in asked:
        assert f"{name}`: **" not in before and f'"{name}"' not in before, f"{name}'s verdict is shown before the quiz"
    assert "mmap_lock+munmap" not in asked and "vma_lock+munmap_partial" not in asked, "an earlier lesson's case, not a new question"
    assert asked == ["none+munmap_partial", "rcu+munmap", "irqs_off+munmap"]
    partial = verdict(named("none+munmap_partial").scenario)
    assert partial.verdict == "unsafe" and "freed PMD table" in partial.why[0], "floor and ceiling free the PMD table it reads"
    after = "\n".join(c.source for c in cells[quiz_at + 1:])
    assert "`none+munmap_partial`: **unsafe**" in after
    assert "`vma_lock+munmap_partial`: **safe**" in after and "`rcu+munmap_partial`: **safe_but_stale**" in after
    assert verdict(named("vma_lock+munmap_partial").scenario).verdict == "safe"
    assert verdict(named("rcu+munmap_partial").scenario).verdict == "safe_but_stale"


def test_04_the_prediction_has_its_reasons_before_it_and_the_rule_after_and_the_vma_lock_holds_no_grace_period():
    path = next((ROOT / "notebooks").glob("04-*.ipynb"))
    cells = read(path).cells
    at = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "my_prediction = None" in c.source)
    before = " ".join(" ".join(c.source for c in cells[:at] if c.cell_type == "markdown").split())
    after = " ".join(" ".join(c.source for c in cells[at:] if c.cell_type == "markdown").split())
    # what a reader needs to reason it out comes first; the kernel's rule, which all but states it, after the reveal
    assert "reading and clearing only that part's entries" in before and "all 512 of the table's entries are none" in before
    assert "PMD_SIZE" not in before and "reclaim_pt_is_enabled" not in before and "whole 2 MiB" not in before
    assert "`reclaim_pt_is_enabled(start, end, details)`" in after and "at least `PMD_SIZE`, 2 MiB" in after
    # the rule the lesson states is the model's: two half zaps free nothing, one whole zap frees the table
    tables = ROOT / "pagewalk_edu" / "scenarios" / "tables"
    config = KernelConfig.for_kernel("6.18")
    halves = [r.page_table_bytes for r in predict(load_tables_scenario(tables / "dontneed-halves.json"), config)]
    assert halves[3] == halves[1], "two half-range zaps reclaim nothing"
    text = " ".join(prose("04").split())
    assert "does not hold a grace period open" in text
    t = run(named("vma_lock+madv_dontneed").scenario)
    walker = t.states[18].cpus[0]
    assert walker.quiescent, "holding the VMA read lock, CPU0 is quiescent between the two tries"


def test_04_the_halves_reveal_shows_the_kernel_column_where_this_machine_measures(kernel):
    from lessons import run_cell

    from pagewalk_edu.kernel.geometry import fmt_size
    from pagewalk_edu.tables.check import check

    path = next((ROOT / "notebooks").glob("04-*.ipynb"))
    cells = read(path).cells
    reveal = next(c.source for c in cells if c.cell_type == "code" and "reveal_answer(my_prediction" in c.source)
    run_cell(kernel, "%reset -f")
    shown = run_cell(kernel, "my_prediction = 'no'\n" + reveal)
    assert shown.startswith("You predicted 'no'. The answer is 'no'.  Right."), shown
    c = check(load_tables_scenario(ROOT / "pagewalk_edu" / "scenarios" / "tables" / "dontneed-halves.json"))
    if c.running is not None:
        assert f"measured on the kernel this notebook runs on (Linux {c.running.release})" in shown
        steps = [line for line in shown.splitlines() if line.startswith(" - step ")]
        assert len(steps) == len(c.results)
        for line, r in zip(steps, c.results):  # each step with the kernel's own figure beside the model's
            assert line.endswith(f", kernel {fmt_size(r.real_page_table_bytes) or 0}"), line
        assert ("Mismatch:" in shown) == bool(c.reasons), "a disagreement is printed, never hidden"
    else:
        assert f"not measured here ({c.unavailable})" in shown and ", kernel " not in shown



def test_02_the_explorer_says_so_when_munmap_leaves_the_next_menu():
    from pagewalk_edu.widgets import Explorer

    text = " ".join(prose("02").split())
    assert "a CPU that has to wait leaves the **next** menu; the message under the buttons says what it waits for" in text
    assert 'Explorer(scenario="vma_lock+munmap", controls=("holds",))' in code("02")
    e = Explorer(scenario="vma_lock+munmap", controls=("holds",), render=False)
    for pick in ("walker", "munmap"):
        e.next_actor.value = pick
        e.do_step()
    said = " ".join(re.sub(r"<[^>]+>", " ", e.message.value).split())
    assert "munmap" not in e.next_actor.options
    assert "CPU1 munmap is waiting (munmap waits in vma_start_write()" in said and "Step runs CPU0 walker" in said, said
