"""Write notebooks/00-start-here.ipynb (run: python tools/make_lesson00.py)."""

import nbformat as nbf

md = nbf.v4.new_markdown_cell
code = nbf.v4.new_code_cell

cells = [
    md("""# 00 · Start here: what a page-table walk is, and how this course works

**You will learn to**
- say what `folio_walk_start()` does and which page tables it reads on its way down;
- run the simulator: pick what the walker holds and what races with it, and read the trace it prints;
- ask the explorer whether *any* interleaving lets the walker touch a freed page table.

**Prerequisites:** C and Linux basics; what virtual memory and a page table are. No kernel hacking needed.

**Time:** about 15 minutes.

**The kernel this course follows:** Linux v6.18 (an LTS kernel) and the v7.1 era, x86-64. Where the two differ,
a *kernel profile* sets the defaults and you can override single config options.
"""),
    md("""## A page-table walk

A process's virtual address is translated through a tree of page tables: the PGD, (the P4D with five-level
paging), the PUD, the PMD and the PTE table. Each table is one 4 KiB page of 512 entries; each level uses 9 bits
of the address. `folio_walk_start()` (mm/pagewalk.c) walks this tree in software to find the page (folio)
mapped at an address.

The catch: while one CPU walks, another CPU may unmap memory (`munmap()`), drop it (`madvise(MADV_DONTNEED)`),
collapse it into a huge page (khugepaged) or move it (`mremap()`), and *free page tables*. Whether the walker can
then read a freed table depends on what it holds: the mmap lock, the per-VMA lock, `rcu_read_lock()`, or IRQs
disabled — and on the kernel's configuration.

First, the indices of an address:"""),
    code("""from pagewalk_edu.kernel import Geometry

addr = 0x7F00_0020_5000
for levels in (4, 5):
    print(f"{levels}-level:", Geometry(levels).indices(addr))"""),
    md("""## Predict, then reveal

The walker holds **nothing** while, on another CPU, `munmap()` removes the very VMA it walks.
Can the walker read a freed page table? Write your prediction (`"yes"` or `"no"`) in the next cell,
run it, then run the one after."""),
    code("""my_prediction = "yes"   # change me: "yes" or "no"
"""),
    code("""from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.viz.text import trace_text

trace = run(make_scenario(holds="none", action="munmap"))
print(trace_text(trace))
answer = "yes" if trace.last.uaf else "no"
print("\\nYou predicted", repr(my_prediction), "- in this interleaving the answer is", repr(answer))"""),
    md("""Each line is one atomic step, named after the kernel function it stands for. CPU0 runs the walker,
CPU1 runs `munmap()`; `irq0` is CPU0 taking an IPI, `rcu_gp` and `rcu_cb` are the RCU machinery.
The use-after-free happens because nothing the walker held kept the grace period open, so
`tlb_remove_table_rcu()` freed the PUD table it was about to read.

Now the walker takes the per-VMA read lock first:"""),
    code("""trace = run(make_scenario(holds="vma_lock", action="munmap"))
print(trace_text(trace))"""),
    md("""`munmap()` now *waits in `vma_start_write()`* until the walker drops its VMA lock.

## Is there ANY interleaving?

A trace shows one interleaving. The explorer tries them all (breadth-first, so the counterexample
it returns is a shortest one):"""),
    code("""from pagewalk_edu.explore import verdict
from pagewalk_edu.viz.text import verdict_text

for holds in ("none", "vma_lock", "rcu"):
    v = verdict(make_scenario(holds=holds, action="munmap"))
    print(f"{holds:9s} -> {v.verdict:15s} ({v.states} states)")
print()
print(verdict_text(verdict(make_scenario(holds="rcu", action="munmap"))))"""),
    md("""`safe_but_stale` means the walker can read a table after it was unlinked but before it is freed:
the walk's revalidation (`pmd_same()` in `pte_offset_map_lock()`) or the empty entry it then finds
saves it. The same question can have different answers on different kernels:"""),
    code("""for kernel in ("6.18", "7.1"):
    v = verdict(make_scenario("rcu", "munmap", kernel=kernel, config="PT_RECLAIM=n", fault="batch_alloc_fail"))
    print(kernel, v.verdict, "-", v.why[0])"""),
    md("""## Recap

- `folio_walk_start()` reads the PGD, (P4D), PUD and PMD tables with no lock; only the PTE level has its own
  RCU section and lock (`pte_offset_map_lock()`).
- What keeps the upper tables alive is what the *caller* holds.
- The explorer answers for every interleaving and names the mechanism.

**Kernel source discussed:** `mm/pagewalk.c: folio_walk_start()`, `mm/pgtable-generic.c: __pte_offset_map_lock()`,
`mm/vma.c: vms_gather_munmap_vmas()`, `include/linux/mmap_lock.h: vma_start_write()`,
`mm/memory.c: free_pgd_range()`, `mm/mmu_gather.c: tlb_remove_table()`, `tlb_remove_table_sync_one()`.
"""),
]

nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                                  "language_info": {"name": "python"}})
nbf.write(nb, "notebooks/00-start-here.ipynb")
