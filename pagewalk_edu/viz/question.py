"""A scenario in plain words, for a learner who has not read mm/ yet: what the
walker (mm/pagewalk.c folio_walk_start(), mm/gup.c gup_fast()) holds, on which
CPU it runs, which kernel path races with it (mm/vma.c, mm/madvise.c,
mm/khugepaged.c, mm/mremap.c, mm/hugetlb.c), the kernel release, and only the
settings that differ from that release's own, each what-if named as one.

Everything here is built from the Scenario, its Setup and its KernelConfig
(records, never the sentences other code prints); cli_command() gives the
`pagewalk-edu verdict` line that asks the same question."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..kernel.config import CONFIG_KEYS, PROFILES, KernelConfig
from ..kernel.layout import WALKS, builtin_layout
from ..kernel.scenario import Scenario, build_setup, layout_of

#: What the walker's caller holds (kernel/walkers/caller.py takes them in the
#: order the scenario lists them): mmap_read_lock(), lock_vma_under_rcu(),
#: rcu_read_lock(), local_irq_disable(), i_mmap_lock_read().
HOLD_WORDS = {
    "mmap_lock": "the mmap read lock",
    "vma_lock": "the VMA read lock",
    "rcu": "rcu_read_lock()",
    "irqs_off": "IRQs off",
    "i_mmap_lock": "the file's i_mmap read lock",
}

#: Each setting's value in words (mm/Kconfig, mm/mmu_gather.c, arch/x86/mm/tlb.c,
#: mm/hugetlb.c; kernel-facts §6, §13, §14).  The symbol follows in brackets.
SETTING_WORDS = {
    ("MMU_GATHER_RCU_TABLE_FREE", True): "page tables are freed through RCU",
    ("MMU_GATHER_RCU_TABLE_FREE", False): "page tables are freed right after the TLB flush, with no RCU grace period",
    ("PT_RECLAIM", True): "MADV_DONTNEED reclaims empty PTE tables, and a table the mmu_gather cannot batch is "
                          "still freed through RCU",
    ("PT_RECLAIM", False): "MADV_DONTNEED frees no page table, and a table the mmu_gather cannot batch takes "
                           "tlb_remove_table_one()'s fallback",
    ("TLB_FLUSH", "ipi"): "TLB flushes are IPIs to the CPUs of the mm",
    ("TLB_FLUSH", "broadcast"): "TLB flushes are a broadcast instruction, such as AMD INVLPGB, that sends no IPI",
    ("TABLE_FREE_FALLBACK", "ipi"): "that fallback frees the table after an IPI to every other CPU, "
                                    "tlb_remove_table_sync_one()",
    ("TABLE_FREE_FALLBACK", "synchronize_rcu"): "that fallback frees the table after "
                                                "tlb_remove_table_sync_rcu()'s synchronize_rcu()",
    ("PGTABLE_LEVELS", 4): "4-level page tables",
    ("PGTABLE_LEVELS", 5): "5-level page tables, with a P4D level under the PGD",
    ("TABLE_SYNC", "ipi"): "tlb_remove_table_sync_one() sends its IPI",
    ("TABLE_SYNC", "elide_native"): "tlb_remove_table_sync_one() skips its IPI on native x86",
    ("HUGETLB_UNSHARE_SYNC", "after_flush"): "huge_pmd_unshare()'s sync IPI is sent after the TLB flush",
    ("HUGETLB_UNSHARE_SYNC", "in_unshare"): "huge_pmd_unshare() sends its sync IPI itself, with the PMD table's "
                                            "lock held",
}

#: The injectable faults (kernel/scenario.py FAULTS) in words.
FAULT_WORDS = {
    "batch_alloc_fail": "the mmu_gather cannot allocate its batch page (__get_free_page(GFP_NOWAIT) fails), so "
                        "each table goes to tlb_remove_table_one()",
    "gather_batch_full": "the mmu_gather's page batch fills up while zap_pte_range() runs (force_flush), so the "
                         "TLB flush happens with the PTE table's lock held",
}

#: A racing path (kernel/layout.py PATH_OPS): who runs it, its kernel function,
#: and what it does to the range; {range} and {new} are filled in from the layout.
PATH_WORDS = {
    "munmap": ("a thread of the walked process", "munmap()", "unmaps {range}"),
    "madvise": ("a thread of the walked process", "madvise(MADV_DONTNEED)", "drops the pages of {range}"),
    "khugepaged_collapse": ("the khugepaged kernel thread", "collapse_huge_page()",
                            "collapses {range} into one huge page (THP)"),
    "retract_page_tables": ("the khugepaged kernel thread", "retract_page_tables()",
                            "removes the PTE table that maps {range}"),
    "mremap": ("a thread of the walked process", "mremap()", "moves {range} to {new}"),
    "hugetlb_punch_hole": ("another task", "fallocate(FALLOC_FL_PUNCH_HOLE)",
                           "punches a hole in the hugetlbfs file under {range}"),
    "hugetlb_dontneed": ("a thread of the walked process", "madvise(MADV_DONTNEED)", "drops the huge pages of {range}"),
    "hugetlb_reuse": ("process Q", "mmap(MAP_FIXED) then a page fault",
                      "maps anonymous memory over {range} and touches it"),
}

KIND_WORDS = {"anon": "anonymous memory", "file": "a file mapping", "hugetlb": "hugetlbfs memory"}

#: The verdicts (explore/verdict.py) in words.
VERDICT_WORDS = {
    "safe": "in every interleaving the walker reads only page tables that are still linked",
    "safe_but_stale": "the walker can read a table that was already unlinked (not yet freed), "
                      "and its own recheck catches it",
    "unsafe": "in some interleaving the walker reads a page table that was freed (a use-after-free)",
    "deadlock": "some interleaving gets stuck: no CPU can go on",
}
FOREIGN_WORDS = ("in some interleaving the walker goes on in a page table that is now another process's "
                 "(unshared from the walked process and reused by the other one)")


def _size(n: int) -> str:
    """2 MiB, 1 GiB + 2 MiB + 20 KiB, 0 (the units a learner reads, not hex)."""
    if n == 0:
        return "0"
    if n % 1024:
        return f"{n:#x}"
    parts = []
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >> shift:
            parts.append(f"{n >> shift} {unit}")
            n &= (1 << shift) - 1
    return " + ".join(parts)


def _series(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def holds_words(holds: tuple[str, ...]) -> str:
    """'holds nothing', 'holds the VMA read lock', 'holds the VMA read lock and
    rcu_read_lock() (taken in that order)'."""
    if not holds:
        return "holds nothing"
    text = "holds " + _series([HOLD_WORDS.get(h, h) for h in holds])
    return text + (" (taken in that order)" if len(holds) > 1 else "")


def _walker_words(s: Scenario) -> list[str]:
    walk = s.effective_walk
    if walk == "gup_fast":
        name = "GUP-fast's gup_fast(), which turns IRQs off itself and takes no mmap or VMA lock"
    elif s.patch == "fw_vma_locked":
        name = "folio_walk_start(FW_VMA_LOCKED) of the June 2026 patch (not in a release)"
    elif walk == WALKS[0]:
        name = "folio_walk_start()"
    else:
        name = f"{walk}()"
    where = ("It is a local walker: it runs on a CPU of the walked process." if s.walker == "local"
             else "It is a remote walker: it runs on a CPU of another process, as __access_remote_vm() does, "
                  "not on one of the walked process's CPUs.")
    return [f"The walker, {name}, {holds_words(s.holds)}.", where]


def _vma_words(v, walked: str) -> str:
    if v.name == walked:  # the sentence before says its size and kind
        return f"the walked VMA {v.name}"
    role = f"process {v.mm}'s VMA " if v.mm else "VMA "
    return f"{role}{v.name} ({_size(v.end - v.start)} of {KIND_WORDS.get(v.kind, v.kind)})"


def _range_words(start: int, end: int, vmas, walked: str) -> str:
    """A range as the VMA it lies in sees it: 'all of VMA B', '[2 MiB, 4 MiB) of
    the walked VMA A'; a range across VMAs in addresses."""
    home = next((v for v in vmas if v.start <= start and end <= v.end), None)
    if home is None:
        return f"[{start:#x}, {end:#x})"
    w = next(v for v in vmas if v.name == walked)
    where = _vma_words(home, walked)
    if home.name != walked and not home.mm and (home.start == w.end or home.end == w.start):
        where += ", the walked VMA's neighbour"
    if (start, end) == (home.start, home.end):
        return f"all of {where}"
    return f"[{_size(start - home.start)}, {_size(end - home.start)}) of {where}"


def _address_words(addr: int, vmas, walked: str) -> str:
    home = next((v for v in vmas if v.contains(addr)), None)
    if home is not None:
        return f"{_size(addr - home.start)} into VMA {home.name}"
    w = next(v for v in vmas if v.name == walked)
    return f"{_size(addr - w.start)} above the start of VMA {w.name}" if addr > w.start else f"{addr:#x}"


def path_words(s: Scenario) -> list[str]:
    """One sentence per racing path: its CPU, who runs it, its kernel function
    and what it does to which range."""
    setup = build_setup(s)
    out = []
    for p in setup.paths:
        who, function, does = PATH_WORDS.get(p.spec.op, (p.name, p.spec.op.replace("_", " "), "works on {range}"))
        rng = _range_words(p.spec.start, p.spec.end, setup.vmas, setup.walked)
        new = _address_words(p.spec.new, setup.vmas, setup.walked) if p.spec.new is not None else ""
        out.append(f"On CPU{p.cpu}, {who} runs {function}: it {does.format(range=rng, new=new)}.")
    return out


def config_changes(cfg: KernelConfig) -> list[str]:
    """The keys whose value differs from the profile of cfg.kernel, in CONFIG_KEYS order."""
    base = PROFILES[cfg.kernel]
    return [k for k in CONFIG_KEYS if getattr(cfg, k) != base[k]]


def what_if_of(cfg: KernelConfig, key: str) -> tuple[str, ...]:
    """The what-if sentences (KernelConfig.what_ifs()) that `key`'s value brings
    in: those that go away when only that key is put back to the profile's."""
    try:
        back = replace(cfg, **{key: PROFILES[cfg.kernel][key]})
    except (ValueError, TypeError):  # the key cannot change alone (PT_RECLAIM=y needs RCU table free)
        return ()
    return tuple(w for w in cfg.what_ifs() if w not in back.what_ifs())


def _symbol(key: str, value) -> str:
    if isinstance(value, bool):
        value = "y" if value else "n"
    return f"CONFIG_{key}={value}" if key in ("MMU_GATHER_RCU_TABLE_FREE", "PT_RECLAIM", "PGTABLE_LEVELS") \
        else f"{key}={value}"


def setting_words(cfg: KernelConfig, key: str) -> str:
    value = getattr(cfg, key)
    text = SETTING_WORDS.get((key, value), f"{key} is {value}")
    if key == "PT_RECLAIM" and not value and not cfg.MMU_GATHER_RCU_TABLE_FREE:
        # mm/Kconfig: PT_RECLAIM depends on MMU_GATHER_RCU_TABLE_FREE; without it no
        # table is batched for RCU, and tlb_remove_table_sync_one() is an empty stub
        text = "MADV_DONTNEED frees no page table, since PT_RECLAIM needs RCU table freeing"
    elif key == "PT_RECLAIM" and not value and "TABLE_FREE_FALLBACK" not in config_changes(cfg):
        text += ", which " + SETTING_WORDS[("TABLE_FREE_FALLBACK", cfg.TABLE_FREE_FALLBACK)].removeprefix(
            "that fallback ")
    if key == "TABLE_FREE_FALLBACK" and not ("PT_RECLAIM" in config_changes(cfg) and not cfg.PT_RECLAIM):
        # no PT_RECLAIM clause before it to say which fallback (mm/mmu_gather.c __tlb_remove_table_one())
        text = text.replace("that fallback", "without PT_RECLAIM, tlb_remove_table_one()'s fallback", 1)
        if cfg.PT_RECLAIM:
            text += ", which this config does not reach while PT_RECLAIM is on"
    text += f" ({_symbol(key, value)}"
    if what_if_of(cfg, key):
        text += f", a what-if: no released x86 {cfg.kernel} kernel has it"
    return text + ")"


def kernel_words(cfg: KernelConfig) -> str:
    changed = config_changes(cfg)
    if not changed:
        return f"Kernel {cfg.kernel}, with its default settings."
    return (f"Kernel {cfg.kernel}, with {'this setting' if len(changed) == 1 else 'these settings'} changed from "
            f"its defaults: " + "; ".join(setting_words(cfg, k) for k in changed) + ".")


@dataclass(frozen=True)
class Question:
    """A scenario in words, in three parts a view may lay out apart."""

    walker: tuple[str, ...]  # what the walker is and holds, where it runs, what it walks
    paths: tuple[str, ...]  # one sentence per racing kernel path
    kernel: tuple[str, ...]  # the release, the changed settings, an injected fault

    @property
    def sentences(self) -> tuple[str, ...]:
        return self.walker + self.paths + self.kernel


def question(s: Scenario) -> Question:
    setup = build_setup(s)
    walked = next(v for v in setup.vmas if v.name == setup.walked)
    out = _walker_words(s)
    where = _address_words(setup.walk_addr, setup.vmas, setup.walked)
    out.append(f"It walks an address {where} ({_size(walked.end - walked.start)} of "
               f"{KIND_WORDS.get(walked.kind, walked.kind)}).")
    if s.hugetlb_walk_lock == "skip":
        out.append("It skips hugetlb_vma_lock_read() (a what-if: FW_VMA_LOCKED without its hugetlb refusal, "
                   "and without the hugetlb VMA lock it cannot take).")
    elif s.effective_vma_kind == "hugetlb":
        out.append("Before the walk, vma_pgtable_walk_begin() takes the hugetlb VMA lock (hugetlb_vma_lock_read()).")
    shared = [v for v in setup.vmas if v.mm and v.kind == "hugetlb"]
    if shared and walked.kind == "hugetlb":
        out.append(f"Process {shared[0].mm} maps the same hugetlbfs file at its VMA {shared[0].name}, and the two "
                   "processes share one PMD table (huge_pmd_share()).")
    kernel = [kernel_words(s.config)]
    if s.fault is not None:
        kernel.append("Injected fault: " + FAULT_WORDS.get(s.fault, s.fault) + ".")
    return Question(tuple(out), tuple(path_words(s)), tuple(kernel))


def question_sentences(s: Scenario) -> tuple[str, ...]:
    """The scenario as a few plain sentences: walker, walked VMA, racing paths,
    kernel and changed settings, injected fault."""
    return question(s).sentences


def question_text(s: Scenario) -> str:
    return " ".join(question_sentences(s))


def cli_command(s: Scenario) -> str | None:
    """The `pagewalk-edu verdict` command that asks the same question, or None
    when the CLI's options cannot say it (a scenario file's own layout, or a
    walked-VMA kind the action's layout does not have): then --scenario FILE."""
    if s.layout is not None:
        return None
    layout = builtin_layout(s.action)
    if s.vma_kind is not None and s.vma_kind != layout.vma(layout.walked).kind:
        return None
    parts = ["pagewalk-edu verdict", f"--holds {s.holds_label}", f"--action {s.action}", f"--kernel {s.config.kernel}"]
    if s.walker != "local":
        parts.append(f"--walker {s.walker}")
    changed = config_changes(s.config)
    if changed:
        parts.append("--config " + ",".join(_symbol(k, getattr(s.config, k)).removeprefix("CONFIG_") for k in changed))
    if s.fault is not None:
        parts.append(f"--fault {s.fault}")
    if s.address is not None:
        parts.append(f"--address {s.address:#x}")
    if s.walk is not None and s.walk != layout_of(s).walk:
        parts.append(f"--walk {s.walk}")
    if s.patch is not None:
        parts.append(f"--patch {s.patch}")
    if s.hugetlb_walk_lock != "take":
        parts.append(f"--hugetlb-walk-lock {s.hugetlb_walk_lock}")
    return " ".join(parts)


def verdict_words(verdict: str, violation: str | None = None) -> str:
    if verdict == "unsafe" and violation == "foreign table":
        return FOREIGN_WORDS
    return VERDICT_WORDS.get(verdict, verdict)
