"""Write notebooks/01..08 (run: python tools/make_lessons.py; then execute them
with `python tools/execute_notebooks.py` to store outputs and widget state)."""

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
META = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python"}}


def head(title, objectives, prereq, minutes):
    obj = "\n".join(f"- {o}" for o in objectives)
    return md(f"# {title}\n\n**You will learn to**\n{obj}\n\n**Prerequisites:** {prereq}\n\n**Time:** about {minutes} minutes.\n")


def recap(points, sources):
    p = "\n".join(f"- {x}" for x in points)
    s = "\n".join(f"- `{x}`" for x in sources)
    return md(f"## Recap\n\n{p}\n\n**Kernel source discussed**\n\n{s}\n")


ALT = {
    "tree(": "The page-table tree: tables as boxes listing their populated entries and the range each maps, the walker's cursor, VMAs and locks.",
    "tables_chart(": "Bar chart of page-table bytes after each step: the simulator's prediction beside the running kernel's VmPTE.",
    "matrix_figure(": "The verdict matrix: walker protections down, concurrent actions across, each cell labelled safe, stale, UNSAFE or DEADLOCK.",
}


def _alt(cells):
    for c in cells:
        if c.cell_type == "code":
            last = c.source.strip().splitlines()[-1] if c.source.strip() else ""
            for key, alt in ALT.items():
                if last.startswith(key) or key in last:
                    c.metadata["mystnb"] = {"image": {"alt": alt}}
    return cells


def write(name, cells):
    cells = _alt(cells)
    nbf.write(nbf.v4.new_notebook(cells=cells, metadata=META), f"notebooks/{name}")


write("01-the-tree.ipynb", [
    head("01 · The tree: PGD, P4D, PUD, PMD, PTE", [
        "split a virtual address into its table indices, with four and with five levels;",
        "say how much address space one entry of each table maps, and where huge leaves sit;",
        "read the simulator's tree view."], "lesson 00.", 15),
    md("""Each table is one 4 KiB page of 512 entries, so each level uses 9 bits of the address. With four levels
(x86-64 without LA57) the P4D is *folded*: the PGD entry plays its role and `p4d_index()` is always 0.
`pgd_index()`, `pud_index()`, `pmd_index()` and `pte_index()` in `include/linux/pgtable.h` do the splitting:"""),
    code("""from pagewalk_edu.kernel import Geometry, Level
from pagewalk_edu.kernel.geometry import fmt_size

for levels in (4, 5):
    geo = Geometry(levels)
    print(f"{levels} levels: user space ends at {geo.task_size:#x}")
    for level in geo.table_levels:
        print(f"   one {level.name} entry maps {fmt_size(geo.entry_span(level)):>5s}; the whole table maps {fmt_size(geo.table_span(level))}")"""),
    md("""## Predict, then reveal

A process maps 4 MiB in an empty 512 GiB region and writes one byte at its start. **How many page-table
pages does that first write allocate?** Write your guess, then run the next cell."""),
    code("""my_guess = 3   # how many tables does the first write allocate?"""),
    code("""from pagewalk_edu.tables import parse_tables_scenario, predict
from pagewalk_edu.kernel import KernelConfig

steps = parse_tables_scenario({"steps": [{"op": "mmap", "start": 0, "length": "4M"},
                                         {"op": "touch", "start": 0, "length": "4K"},
                                         {"op": "touch", "start": "2M", "length": "4K"}]})
for r in predict(steps, KernelConfig.for_kernel("6.18")):
    print(f"{r.description:24s} page tables: {r.page_table_bytes // 1024:3d} KiB", [f"{c.level} by {c.function}" for c in r.allocated])
print("your guess:", my_guess, "- the first write allocated", len(predict(steps, KernelConfig.for_kernel("6.18"))[1].allocated))"""),
    md("""The PGD always exists (`pgd_alloc()` at `mm_init()`); the first fault allocates a PUD, a PMD and a PTE table
(`__pud_alloc()`, `__pmd_alloc()`, `__pte_alloc()`). The second write, 2 MiB further, needs only a new PTE table.

## The tree view

The simulator draws the page-table tree of a state: only populated entries, with the range each maps, leaves,
the VMAs, and the walker's cursor."""),
    code("""from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.viz.tree import tree
from pagewalk_edu.viz.text import state_text

trace = run(make_scenario("none", "munmap"), ["walker"], then_default=False)
print(state_text(trace.last, trace.ctx))
tree(trace.ctx, trace.last, legend=False)"""),
    md("""With five levels a P4D table appears between the PGD and the PUD table:"""),
    code("""t5 = run(make_scenario("none", "munmap", config="PGTABLE_LEVELS=5"), ["walker"], then_default=False)
print(Geometry(5).indices(t5.ctx.walk_addr))
tree(t5.ctx, t5.last, legend=False)"""),
    md("""Leaves need not be at the PTE level: a PMD entry can map a 2 MiB THP and a PUD entry a 1 GiB page. After
khugepaged collapses a range, the PMD entry is a leaf:"""),
    code("""tc = run(make_scenario("none", "khugepaged_collapse"))
print([f"{e.function}" for e in tc.events if e.actor == "khugepaged"][-3:])
tree(tc.ctx, tc.last, legend=False)"""),
    recap(["Nine bits a level; a PMD entry maps 2 MiB, a PUD entry 1 GiB, a PGD entry 512 GiB (256 TiB with five levels).",
           "A first fault in an empty region allocates a PUD, a PMD and a PTE table.",
           "Huge leaves live in PMD and PUD entries."],
          ["include/linux/pgtable.h: pgd_index(), pud_index(), pmd_index(), pte_index()",
           "arch/x86/include/asm/pgtable_64_types.h: PGDIR_SHIFT, P4D_SHIFT", "mm/memory.c: __pud_alloc(), __pmd_alloc(), __pte_alloc()"]),
])

write("02-folio-walk-locks.ipynb", [
    head("02 · folio_walk_start() and its locks", [
        "follow folio_walk_start() down the tree, step by step;",
        "tell what mmap_lock and the per-VMA lock exclude, and what they do not;",
        "explain pte_offset_map_lock()'s own RCU section and its pmd_same() recheck."], "lessons 00 and 01.", 20),
    md("""`folio_walk_start()` (mm/pagewalk.c) reads the PGD, P4D, PUD and PMD entries with **no lock and no RCU**:
whatever keeps those tables alive is what its *caller* holds. Only the PTE level protects itself:
`pte_offset_map_lock()` takes `rcu_read_lock()`, reads the PMD entry again, takes the PTE table's lock (ptl) and
checks with `pmd_same()` that the PMD still points to the same table, retrying if not."""),
    code("""from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.viz.text import trace_text

walk_only = run(make_scenario("vma_lock", "munmap"), ["walker"] * 10, then_default=False)
for i, e in enumerate(walk_only.events, 1):
    print(f"{i:2d} {e.function:22s} {e.text}")"""),
    md("""## Predict, then reveal

The walker holds the **per-VMA read lock**. On another CPU, `madvise(MADV_DONTNEED)` drops the 2 MiB range the
walker reads. Does the VMA lock keep MADV_DONTNEED out? (`"yes"` or `"no"`)"""),
    code("""my_prediction = "yes"   # does the walker's VMA lock exclude MADV_DONTNEED?"""),
    code("""from pagewalk_edu.explore import verdict
v = verdict(make_scenario("vma_lock", "madv_dontneed"))
print("Excluded?", "no" if v.verdict != "safe" else "yes", "- you said", my_prediction)
print("Verdict:", v.verdict)
for w in v.why:
    print(" -", w)"""),
    md("""Since v6.17 MADV_DONTNEED runs under the VMA **read** lock (`madvise_lock()` → `try_vma_read_lock()`): two
readers do not exclude each other. With CONFIG_PT_RECLAIM it unlinks the empty PTE table and frees it through
RCU. The walker may then read the unlinked table — *stale but safe* — and `pmd_same()` catches it. Here is one
such interleaving; look for `pmd_same() fails`:"""),
    code("""t = run(make_scenario("vma_lock", "madv_dontneed"))
print(trace_text(t))"""),
    md("""## What each lock excludes

The explorer over every interleaving, for munmap (which write-locks the VMA) and MADV_DONTNEED (which reads it):"""),
    code("""for holds in ("none", "mmap_lock", "vma_lock", "rcu"):
    row = [verdict(make_scenario(holds, a)).verdict for a in ("munmap", "madv_dontneed")]
    print(f"{holds:10s} munmap: {row[0]:15s} madv_dontneed: {row[1]}")"""),
    recap(["The upper levels are read without lock or RCU: the caller's protection is all they have.",
           "mmap_lock (read) and the VMA lock (read) exclude writers: munmap, mremap, anon THP collapse.",
           "MADV_DONTNEED is a reader: PTE tables it reclaims are freed by RCU, and pte_offset_map_lock()'s RCU section and pmd_same() make the walk safe."],
          ["mm/pagewalk.c: folio_walk_start(), folio_walk_end()", "mm/pgtable-generic.c: __pte_offset_map(), __pte_offset_map_lock()",
           "mm/mmap_lock.c: lock_vma_under_rcu()", "include/linux/mmap_lock.h: vma_start_read(), vma_start_write()", "mm/madvise.c: madvise_lock()"]),
])

CHECK = """from importlib import resources
from pagewalk_edu.tables import load_tables_scenario
from pagewalk_edu.tables.check import check
from pagewalk_edu.viz.tables_chart import tables_chart, tables_text

scenario = load_tables_scenario(resources.files("pagewalk_edu") / "scenarios" / "tables" / "{name}")
c = check(scenario)   # the prediction, and the kernel's VmPTE where this platform allows
results = c.results
print(c.unavailable or "Measured on this kernel.", "Config:", c.resolved.config.describe())
print(tables_text(results))
for reason in c.reasons:   # a mismatch is explained, never hidden
    print("Mismatch:", reason)
tables_chart(results)"""

write("03-munmap-free-pgtables.ipynb", [
    head("03 · munmap() and free_pgtables(): floor and ceiling", [
        "say which page tables munmap() frees, using free_pgd_range()'s floor and ceiling;",
        "explain why unmapping a neighbour cannot free a table you are walking;",
        "check the model against your own kernel's VmPTE."], "lessons 00–02.", 25),
    md("""`munmap()` isolates the VMAs under the mmap write lock (`vms_gather_munmap_vmas()` write-locks each with
`vma_start_write()`), downgrades to read, zaps the PTEs and calls `free_pgtables()` → `free_pgd_range(addr, end,
floor, ceiling)`. *floor* is the end of the previous VMA, *ceiling* the start of the next. A table is freed only
if the whole span it maps lies inside [floor, ceiling)."""),
    md("""## Predict, then reveal

VMA A = [0, 3M) is walked at 2M+20K; its neighbour B = [3M, 6M) shares the PTE table of [2M, 4M) with it. The
walker holds **nothing** while B is unmapped. Can the walker touch a freed table? (`"yes"`/`"no"`)"""),
    code("""my_prediction = "yes"   # can munmap of the neighbour free the walker's tables?"""),
    code("""from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario, run
v = verdict(make_scenario("none", "munmap_adjacent"))
print("answer:", "yes" if v.verdict == "unsafe" else "no", "- you said", my_prediction, "- verdict:", v.verdict)
for w in v.why:
    print(" -", w)
t = run(make_scenario("none", "munmap_adjacent"))
print([e.text for e in t.events if e.function.startswith("free")])"""),
    md("""Now unmap part of the walked VMA itself: [1G, 2G) of A = [0, 2G). The PMD table of that GiB is freed — but
`__split_vma()` write-locks A first, so a walker holding A's VMA lock keeps munmap out:"""),
    code("""for holds in ("none", "vma_lock", "rcu"):
    print(f"{holds:9s}", verdict(make_scenario(holds, "munmap_partial")).verdict)"""),
    md("## Check the model against your kernel\n\nThe same rules predict the page-table bytes (VmPTE) after each step of a "
       "scenario. On Linux the cell below also runs it for real; a mismatch is shown, not hidden. Edit the scenario file "
       "or write your own and run `pagewalk-edu tables FILE --real`."),
    code(CHECK.replace("{name}", "public-example.json")),
    recap(["free_pgd_range() frees a table only if its whole span lies between the neighbours (floor, ceiling).",
           "Unmapping a neighbour never frees a table that maps part of your VMA.",
           "Unmapping your own VMA can free your upper tables, but write-locks your VMA first."],
          ["mm/vma.c: do_vmi_align_munmap(), vms_gather_munmap_vmas(), vms_complete_munmap_vmas()",
           "mm/memory.c: free_pgtables(), free_pgd_range(), free_pmd_range(), free_pud_range()", "fs/proc/task_mmu.c: VmPTE"]),
])

write("04-madv-dontneed-pt-reclaim.ipynb", [
    head("04 · MADV_DONTNEED and PT_RECLAIM", [
        "say when MADV_DONTNEED reclaims a PTE table (CONFIG_PT_RECLAIM) and when it does not;",
        "explain why a walker holding the VMA lock still sees it happen, safely;",
        "check both cases on your kernel."], "lessons 00–03.", 15),
    md("""With CONFIG_PT_RECLAIM, `zap_pte_range()` reclaims a PTE table when the zap covered its whole 2 MiB range
(`reclaim_pt_is_enabled()`) and every entry is then none: `try_get_and_clear_pmd()` clears the PMD entry and
`free_pte()` → `pte_free_tlb()` frees it through the mmu_gather, i.e. after an RCU grace period."""),
    md("## Predict, then reveal\n\nTwo MADV_DONTNEEDs of 1 MiB each cover one 2 MiB range. Is its PTE table reclaimed?"),
    code("""my_prediction = "yes"   # do two half-range DONTNEEDs reclaim the PTE table?"""),
    code(CHECK.replace("{name}", "dontneed-halves.json") + """
print("reclaimed?", "yes" if results[3].page_table_bytes < results[1].page_table_bytes else "no", "- you said", my_prediction)"""),
    code(CHECK.replace("{name}", "dontneed-whole.json")),
    md("""And the race: MADV_DONTNEED under the VMA *read* lock frees the walked PTE table by RCU. Every
protection gives at worst a stale read; without PT_RECLAIM nothing is freed at all:"""),
    code("""from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario
for config in (None, "PT_RECLAIM=n"):
    print(config or "PT_RECLAIM=y", {h: verdict(make_scenario(h, "madv_dontneed", config=config)).verdict for h in ("none", "vma_lock", "rcu")})"""),
    recap(["PT_RECLAIM reclaims a PTE table only when one zap covers its whole 2 MiB and leaves it empty.",
           "The freed PTE table goes through RCU; pte_offset_map_lock()'s own RCU section keeps it allocated while the walker looks.",
           "Without PT_RECLAIM MADV_DONTNEED frees no page table."],
          ["mm/madvise.c: madvise_dontneed_single_vma()", "mm/memory.c: zap_pte_range()",
           "mm/pt_reclaim.c: reclaim_pt_is_enabled(), try_get_and_clear_pmd(), try_to_free_pte(), free_pte()"]),
])

write("05-thp-collapse.ipynb", [
    head("05 · THP collapse: collapse_huge_page() versus retract_page_tables()", [
        "contrast anonymous collapse (excluded by the VMA lock, table deposited) with file collapse (no mm lock at all, table freed by RCU);",
        "see why a local walker that disables IRQs and spins on the ptl can deadlock against retract_page_tables()."],
        "lessons 00–04.", 20),
    md("""`collapse_huge_page()` (anonymous memory) takes `mmap_write_lock()` and `vma_start_write()`, clears the PMD with
`pmdp_collapse_flush()`, sends `tlb_remove_table_sync_one()` for GUP-fast, and *deposits* the old PTE table under
the new THP. `retract_page_tables()` (file memory) walks `mapping->i_mmap` with **no** mmap or VMA lock, takes the PMD
lock and the ptl, flushes the TLB *while holding both*, and frees the table with `pte_free_defer()` (RCU)."""),
    code("""from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario
for action in ("khugepaged_collapse", "retract_page_tables"):
    print(action, {h: verdict(make_scenario(h, action)).verdict for h in ("none", "mmap_lock", "vma_lock", "rcu")})"""),
    md("""## Predict, then reveal

A **local** walker disables IRQs (as the June 2026 folio_walk_start() patch of lesson 06 asked) and walks a file VMA while khugepaged retracts its PTE
table. What can happen? Choose: `"safe"`, `"safe_but_stale"`, `"unsafe"` or `"deadlock"`."""),
    code("""my_prediction = "safe_but_stale\""""),
    code("""from pagewalk_edu.viz.text import verdict_text
v = verdict(make_scenario("irqs_off", "retract_page_tables"))
print("you said", my_prediction, "- the explorer says", v.verdict)
print(verdict_text(v))"""),
    code("""remote = verdict(make_scenario("irqs_off", "retract_page_tables", walker="remote"))
print("remote walker:", remote.verdict, "-", remote.why[-1])"""),
    recap(["Anonymous collapse is excluded by mmap_lock or the VMA lock; its old PTE table is deposited, never freed.",
           "retract_page_tables() takes no mm lock; pte_free_defer() frees by RCU, so RCU or IRQs off suffice — stale but safe.",
           "It flushes under the ptl: a local walker spinning on that ptl with IRQs off never takes the flush IPI: deadlock."],
          ["mm/khugepaged.c: collapse_huge_page(), retract_page_tables()", "mm/pgtable-generic.c: pmdp_collapse_flush(), pte_free_defer()",
           "mm/mmu_gather.c: tlb_remove_table_sync_one()"]),
])

write("06-rcu-irqs-ipis.ipynb", [
    head("06 · RCU, IRQs and IPIs: the per-VMA-lock debate", [
        "explain why GUP-fast disables IRQs, and what tlb_remove_table_sync_one() does;",
        "find the configurations where rcu_read_lock() is not enough;",
        "say which answer holds on which kernel."], "lessons 00–05.", 30),
    md("""The debate (June 2026, the patch "mm/pagewalk: let folio_walk_start() run under the per-VMA lock" and its
review): may `folio_walk_start()` run under the per-VMA lock, for a remote walker like `__access_remote_vm()`? One side: the caller must keep IRQs disabled like GUP-fast, because page-table freeing
synchronises by IPI. The other: munmap takes the VMA locks, upper tables are freed only when the whole range is
spanned, and PTE tables are freed under RCU. Both are right under some configurations.

An IPI is taken only while the target CPU has IRQs on; `rcu_read_lock()` does not block it. A grace period waits
for `rcu_read_lock()` sections *and* for IRQ-disabled regions."""),
    md("## Predict, then reveal\n\nv6.18 without PT_RECLAIM, and the mmu_gather cannot allocate its batch page. The walker "
       "holds only `rcu_read_lock()` while munmap runs. Safe?"),
    code("""my_prediction = "safe_but_stale\""""),
    code("""from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario
v = verdict(make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"))
print("you said", my_prediction, "- the explorer says", v.verdict)
print(v.why[0])"""),
    md("""Step through it yourself: press **Show me the bug**, then step back and forth. Then tick **irqs_off**: the
same schedule replays under the new setting and stops at the step that can no longer run, because CPU0 cannot take
the IPI with IRQs disabled (the message and the event log say so). Press **Step** to go on from there."""),
    code("""from pagewalk_edu.widgets import Explorer
explorer = Explorer(("rcu",), "munmap", config={"PT_RECLAIM": False}, fault="batch_alloc_fail")
explorer"""),
    md("## Which answer holds on which kernel\n\nThe same walker (rcu only) across kernels and configurations:"),
    code("""cases = [("6.18, default", "6.18", None, None, "local"),
         ("6.18, PT_RECLAIM=n + failed batch", "6.18", "PT_RECLAIM=n", "batch_alloc_fail", "local"),
         ("7.1,  PT_RECLAIM=n + failed batch", "7.1", "PT_RECLAIM=n", "batch_alloc_fail", "local"),
         ("no RCU table free", "6.18", "MMU_GATHER_RCU_TABLE_FREE=n", None, "local"),
         ("no RCU table free, remote walker", "6.18", "MMU_GATHER_RCU_TABLE_FREE=n", None, "remote"),
         ("no RCU table free, broadcast flush", "6.18", "MMU_GATHER_RCU_TABLE_FREE=n,TLB_FLUSH=broadcast", None, "local")]
for label, kernel, config, fault, walker in cases:
    row = {h: verdict(make_scenario(h, "munmap", kernel, walker, config, fault)).verdict for h in ("rcu", "irqs_off", "vma_lock")}
    print(f"{label:38s}", row)"""),
    md("""The two designs of that debate, as presets (the named scenarios of group `seed`: the patch as posted, VMA lock + IRQs off; the reviewer's VMA lock + RCU; remote walker, every action, both kernels):"""),
    code("""from pagewalk_edu.scenarios import named_scenarios
seed = [n for n in named_scenarios() if n.group == "seed"]
bad = [n.name for n in seed if n.expected not in ("safe", "safe_but_stale")]
print(len(seed), "seed presets; not safe:", bad)"""),
    md("""The patch as posted keeps IRQs off across the walk. Run by a *local* walker, that walk spins on the PTE
table's ptl with IRQs off, and any path that flushes the TLB while holding that ptl waits for an IPI the walker's
CPU cannot take. `retract_page_tables()` always flushes under the ptl; `zap_pte_range()` does so when its mmu_gather
batch fills up (`force_flush`, the `gather_batch_full` fault), which munmap and MADV_DONTNEED both reach:"""),
    code("""for action in ("retract_page_tables", "madv_dontneed", "munmap_adjacent"):
    fault = None if action == "retract_page_tables" else "gather_batch_full"
    for walker in ("local", "remote"):
        v = verdict(make_scenario("vma_lock,irqs_off", action, walker=walker, fault=fault))
        print(f"{action:20s} {walker:6s} fault={str(fault):17s} {v.verdict}")"""),
    recap(["rcu_read_lock() holds off grace periods, not IPIs; IRQs off holds off both.",
           "With RCU table freeing everywhere (PT_RECLAIM, or v7.1's synchronize_rcu() fallback), RCU is enough.",
           "v6.18 without PT_RECLAIM and a failed batch allocation, or no RCU table free at all, breaks RCU-only walkers; a remote walker or a broadcast flush also breaks IRQs-off walkers there.",
           "Under the VMA lock, both designs of the debate are safe for a remote walker; IRQs off adds a deadlock risk for a local one (a flush under the ptl: retract_page_tables(), or zap_pte_range()'s force_flush)."],
          ["mm/gup.c: gup_fast()", "mm/mmu_gather.c: tlb_remove_table(), tlb_remove_table_one(), tlb_remove_table_sync_one()",
           "arch/x86/mm/tlb.c: flush_tlb_mm_range(), native_flush_tlb_multi()", "Documentation/RCU/whatisRCU.rst"]),
])

write("07-any-interleaving.ipynb", [
    head("07 · Is there any interleaving? The explorer and the verdict matrix", [
        "say what the explorer searches and why its answer is exhaustive;",
        "read the verdict matrix and open a cell;",
        "replay a shortest counterexample."], "lessons 00–06.", 15),
    md("""The explorer does a breadth-first search over every interleaving of the walker, the racing kernel path, the IPI
handlers and the RCU machinery, merging equal states. The first path to a violation is a shortest one."""),
    md("## Predict, then reveal\n\nHow many of the 42 cells of the default matrix are UNSAFE? Guess a number."),
    code("""my_guess = 5"""),
    code("""from pagewalk_edu.explore import matrix
from pagewalk_edu.kernel import KernelConfig
from pagewalk_edu.viz.matrix import matrix_figure
m = matrix(KernelConfig.for_kernel("6.18"))
unsafe = sum(v.verdict == "unsafe" for v in m.cells.values())
print("you guessed", my_guess, "- UNSAFE cells:", unsafe)
print(m.text())
matrix_figure(m)"""),
    md("Click a cell to open it in an Explorer:"),
    code("""from pagewalk_edu.widgets import Matrix
Matrix(kernel="7.1")"""),
    md("A counterexample is a schedule: replay it in the CLI (`pagewalk-edu trace ... --schedule ...`) or here:"),
    code("""from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario, run
s = make_scenario("none", "mremap")
v = verdict(s)
print(v.verdict, len(v.schedule), "steps:", ",".join(v.schedule))
print(run(s, v.schedule, then_default=False).last.uaf)"""),
    recap(["Breadth-first search with visited-state merging: exhaustive, and shortest counterexamples.",
           "Each verdict names the mechanism that kept each freeing path away, or failed to."],
          ["mm/pagewalk.c: folio_walk_start()", "mm/memory.c: free_pgd_range()", "mm/mmu_gather.c: tlb_remove_table()"]),
])

write("08-exercises.ipynb", [
    head("08 · Exercises: protect a new walker", [
        "propose a protection for a new walker and check it against every interleaving;",
        "use the hints when a check fails."], "lessons 00–07.", 20),
    md("""Predict, then check: each exercise checks your answer with the explorer over all the cases it names. Edit the `answer` and run the
cell; `hint(...)` gives a hint."""),
    code("""from pagewalk_edu.course import EXERCISES, check, hint
for key, ex in EXERCISES.items():
    print(f"[{key}] {ex.prompt}\\n")"""),
    md("## Exercise 1: a remote walker"),
    code("""answer = "rcu"   # try other sets, e.g. "vma_lock,rcu"
print(check("remote-walker", answer))"""),
    md("## Exercise 2: a walker that may not sleep"),
    code("""answer = "rcu"
print(check("atomic-walker", answer))
print("hint:", hint("atomic-walker", 1))"""),
    md("## Exercise 3: never a stale read"),
    code("""answer = "irqs_off"
print(check("no-stale", answer))"""),
    md("## Reference answers\n\nRun this only after trying:"),
    code("""for key, holds in (("remote-walker", "vma_lock,rcu"), ("atomic-walker", "irqs_off"), ("no-stale", "vma_lock")):
    print(key, holds, "->", "passed" if check(key, holds).passed else "failed")"""),
    recap(["A protection is only as good as the worst kernel configuration you must support.",
           "The VMA lock excludes every path that frees your upper tables; RCU or IRQs off must cover the rest."],
          ["mm/pagewalk.c: folio_walk_start()", "mm/mmu_gather.c", "mm/khugepaged.c: retract_page_tables()"]),
])
