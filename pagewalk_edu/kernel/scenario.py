"""A scenario: what the walker holds, which kernel path races with it, on which
kernel and config, and the memory layout that path works on.

The layouts are data, one per action, chosen so that each action exercises
its kernel rule (mm/vma.c, mm/memory.c, mm/madvise.c, mm/khugepaged.c,
mm/mremap.c): the walked VMA alone in its 512 GiB PGD slot for munmap (so
free_pgd_range() may free every table above the walked page), a neighbour
sharing the walked PTE table for munmap_adjacent, and so on.  The process's
other mappings (its executable and stack) are VMAs too, so floor and ceiling
are realistic; their own page tables are outside the drawn region and not
modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .config import DEFAULT_KERNEL, KernelConfig, parse_config_list
from .geometry import PMD_SIZE, PUD_SIZE, Geometry, Level
from .vma import Vma
from .walker import HOLDS

ACTIONS = (
    "munmap",
    "munmap_adjacent",
    "munmap_partial",
    "madv_dontneed",
    "khugepaged_collapse",
    "retract_page_tables",
    "mremap",
)
WALKERS = ("local", "remote")
#: Injectable faults.  batch_alloc_fail: tlb_remove_table() cannot allocate its
#: batch page (__get_free_page(GFP_NOWAIT) fails), so tlb_remove_table_one()
#: runs.  gather_batch_full: the mmu_gather page batch fills up while
#: zap_pte_range() runs (force_flush), so the TLB flush happens under the ptl.
FAULTS = ("batch_alloc_fail", "gather_batch_full")

BASE = 0x7F00_0000_0000  # 512 GiB aligned: PGD entry 254 with four levels
M = 1 << 20
EXE = Vma("exe", 0x5555_5555_4000, 0x5555_5557_5000, "file")
STACK = Vma("stack", 0x7FFD_E000_0000, 0x7FFD_E002_1000, "anon")

#: Which kernel path (actor) each action runs, and whether it is a thread of
#: the walked mm (then its CPU is in mm_cpumask) or khugepaged (a kthread).
FREER = {
    "munmap": ("munmap", True),
    "munmap_adjacent": ("munmap", True),
    "munmap_partial": ("munmap", True),
    "madv_dontneed": ("madvise", True),
    "khugepaged_collapse": ("khugepaged", False),
    "retract_page_tables": ("khugepaged", False),
    "mremap": ("mremap", True),
}


@dataclass(frozen=True)
class Scenario:
    """Walker protections × concurrent action × kernel config × fault."""

    holds: tuple[str, ...] = ()
    action: str = "munmap"
    config: KernelConfig = field(default_factory=KernelConfig)
    walker: str = "local"
    fault: str | None = None
    address: int | None = None
    vma_kind: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.holds, tuple):
            raise TypeError("holds must be a tuple of holder names")
        for h in self.holds:
            if h not in HOLDS:
                raise ValueError(f"unknown holder {h!r}; accepted: none or a comma-separated subset of {', '.join(HOLDS)}")
        if len(set(self.holds)) != len(self.holds):
            raise ValueError(f"holder repeated in {','.join(self.holds)}; name each at most once")
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; accepted: {', '.join(ACTIONS)}")
        if not isinstance(self.config, KernelConfig):
            raise TypeError("config must be a KernelConfig")
        if self.walker not in WALKERS:
            raise ValueError(f"unknown walker {self.walker!r}; accepted: local, remote")
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; accepted: {', '.join(FAULTS)}")
        kind = self.effective_vma_kind
        if kind not in ("anon", "file"):
            raise ValueError(f"unknown VMA kind {kind!r}; accepted: anon, file")
        if self.action == "retract_page_tables" and kind != "file":
            raise ValueError("retract_page_tables needs a file-backed VMA (it walks mapping->i_mmap); got an anonymous one")
        if self.action == "khugepaged_collapse" and kind != "anon":
            raise ValueError("khugepaged_collapse is collapse_huge_page() for anonymous memory; file memory is retract_page_tables")
        setup = build_setup(self)  # validates the address too
        del setup

    @property
    def effective_vma_kind(self) -> str:
        if self.vma_kind is not None:
            return self.vma_kind
        return "file" if self.action == "retract_page_tables" else "anon"

    @property
    def geometry(self) -> Geometry:
        return Geometry(self.config.PGTABLE_LEVELS)

    @property
    def holds_label(self) -> str:
        return ",".join(self.holds) if self.holds else "none"

    def describe(self) -> str:
        fault = f", fault {self.fault}" if self.fault else ""
        return (f"walker ({self.walker}) holds {self.holds_label}; action {self.action}; "
                f"{self.config.describe()}{fault}")

    def as_dict(self) -> dict:
        return {
            "holds": list(self.holds),
            "action": self.action,
            "kernel": self.config.kernel,
            "config": {k: v for k, v in self.config.as_dict().items() if k != "kernel"},
            "walker": self.walker,
            "fault": self.fault,
            "address": self.address,
            "vma_kind": self.vma_kind,
        }


def parse_holds(text: str | Iterable[str]) -> tuple[str, ...]:
    """`none` or a comma-separated subset of mmap_lock,vma_lock,rcu,irqs_off.

    The order given is the order the caller takes them in."""
    if not isinstance(text, (str, list, tuple)):
        raise TypeError(f"holds must be a string such as 'vma_lock,rcu' or a list of names, got {type(text).__name__}")
    if isinstance(text, str):
        raw = text.strip()
        if not raw:
            raise ValueError("empty holder list; use none or a comma-separated subset of " + ", ".join(HOLDS))
        items = [x.strip() for x in raw.split(",")]
    else:
        items = [str(x).strip() for x in text]
        if not items:
            return ()
    if any(not x for x in items):
        raise ValueError(f"empty item in holder list {','.join(items)!r}")
    if "none" in items:
        if len(items) > 1:
            raise ValueError("'none' cannot be combined with other holders")
        return ()
    for h in items:
        if h not in HOLDS:
            raise ValueError(f"unknown holder {h!r}; accepted: none or a comma-separated subset of {', '.join(HOLDS)}")
    if len(set(items)) != len(items):
        dup = next(h for h in items if items.count(h) > 1)
        raise ValueError(f"holder {dup!r} given twice")
    return tuple(items)


def make_scenario(
    holds: str | Iterable[str] = "none",
    action: str = "munmap",
    kernel: str = DEFAULT_KERNEL,
    walker: str = "local",
    config: str | dict | None = None,
    fault: str | None = None,
    address: int | None = None,
    vma_kind: str | None = None,
) -> Scenario:
    """Build a validated Scenario from the CLI's vocabulary."""
    if not isinstance(kernel, str):
        raise TypeError(f"kernel must be a string such as '6.18', got {type(kernel).__name__}")
    overrides = parse_config_list(config) if (config is None or isinstance(config, str)) else dict(config)
    cfg = KernelConfig.for_kernel(kernel, **overrides)
    if fault in ("", "none"):
        fault = None
    return Scenario(parse_holds(holds), action, cfg, walker, fault, address, vma_kind)


@dataclass(frozen=True)
class Setup:
    vmas: tuple[Vma, ...]
    pages: tuple[tuple[int, Level], ...]  # addresses faulted in before the race
    empty_pte_tables: tuple[int, ...]  # PTE tables present but with no PTE (retract)
    walk_addr: int
    freer: str
    freer_in_mm: bool
    program: tuple[tuple, ...]
    pause_before: str  # the default schedule lets the other CPU run here
    summary: str


def _munmap_program(vma_names, start, end, split=None):
    prog = [("mmap_write_lock", "mmap_write_lock_killable")]
    if split:
        name, at, new = split
        prog += [("vma_start_write", name), ("__split_vma", name, at, new)]
    prog += [("vma_start_write", n) for n in vma_names if not (split and n == split[2])]
    prog += [
        ("vms_gather_munmap_vmas", tuple(vma_names)),
        ("mmap_write_downgrade",),
        ("unmap_vmas", start, end, False),
        ("free_pgtables", start, end),
        ("tlb_finish_mmu",),
        ("mmap_read_unlock",),
    ]
    return tuple(prog)


def build_setup(s: Scenario) -> Setup:
    geo = s.geometry
    kind = s.effective_vma_kind
    b = BASE
    action = s.action
    freer, in_mm = FREER[action]
    if action == "munmap":
        a = Vma("A", b, b + 4 * M, kind)
        vmas, walk, pages = (a,), b + 2 * M + 0x5000, (b + 0x1000,)
        program = _munmap_program(("A",), a.start, a.end)
        pause, summary = "pudp_get", "munmap() of the walked VMA A [0, 4M), alone in its 512 GiB PGD slot"
    elif action == "munmap_adjacent":
        a = Vma("A", b, b + 3 * M, kind)
        n = Vma("B", b + 3 * M, b + 6 * M, "anon")
        vmas, walk, pages = (a, n), b + 2 * M + 0x5000, (b + 0x1000, b + 3 * M + 0x1000, b + 4 * M + 0x1000)
        program = _munmap_program(("B",), n.start, n.end)
        pause, summary = "pmdp_get_lockless", "munmap() of VMA B [3M, 6M), the neighbour of the walked VMA A [0, 3M); they share a PTE table"
    elif action == "munmap_partial":
        a = Vma("A", b, b + 2 * PUD_SIZE, kind)
        vmas, walk, pages = (a,), b + PUD_SIZE + 2 * M + 0x5000, (b + 0x1000,)
        program = _munmap_program(("A.hi",), b + PUD_SIZE, b + 2 * PUD_SIZE, split=("A", b + PUD_SIZE, "A.hi"))
        pause, summary = "pmdp_get_lockless", "munmap() of [1G, 2G), the upper half of the walked VMA A [0, 2G)"
    elif action == "madv_dontneed":
        a = Vma("A", b, b + 4 * M, kind)
        vmas, walk, pages = (a,), b + 2 * M + 0x5000, (b + 0x1000, b + 2 * M + 0x6000)
        program = (
            ("lock_vma_under_rcu", b + 2 * M),
            ("zap_page_range_single_batched", b + 2 * M, b + 4 * M, s.config.PT_RECLAIM),
            # madvise_walk_vmas() drops the VMA read lock right after the zap;
            # do_madvise() then runs madvise_finish_tlb() → tlb_finish_mmu().
            ("vma_end_read",),
            ("tlb_finish_mmu",),
        )
        pause, summary = "spin_lock", "madvise(MADV_DONTNEED) of [2M, 4M): the walked PTE table's whole range"
    elif action == "khugepaged_collapse":
        a = Vma("A", b, b + 4 * M, kind)
        vmas, walk, pages = (a,), b + 2 * M + 0x5000, (b + 0x1000, b + 2 * M + 0x6000)
        at = b + 2 * M
        program = (
            ("mmap_read_lock",),
            ("hpage_collapse_scan_pmd", at),
            ("mmap_read_unlock",),
            ("mmap_write_lock", "mmap_write_lock"),
            ("hugepage_vma_revalidate", at),
            ("vma_start_write", "A"),
            ("anon_vma_lock_write",),
            ("spin_lock", "pmd", "pmd_lock"),
            ("pmdp_collapse_flush", "anon"),
            ("spin_unlock", "pmd"),
            ("tlb_remove_table_sync_one",),
            ("__collapse_huge_page_isolate",),
            ("anon_vma_unlock_write",),
            ("set_pmd_at",),
            ("mmap_write_unlock",),
        )
        pause, summary = "spin_lock", "khugepaged collapse_huge_page() of [2M, 4M) of anonymous VMA A into a THP"
    elif action == "retract_page_tables":
        a = Vma("A", b, b + 4 * M, kind)
        vmas, walk, pages = (a,), b + 2 * M + 0x5000, (b + 0x1000,)
        at = b + 2 * M
        program = (
            ("i_mmap_lock_read",),
            ("find_pmd_or_thp_or_none", at),
            ("spin_lock", "pmd", "pmd_lock"),
            ("check_pmd_state",),
            ("spin_lock", "ptl", "spin_lock_nested"),
            ("pmdp_collapse_flush", "retract"),
            ("spin_unlock", "ptl", "pmd"),
            ("pte_free_defer",),
            ("i_mmap_unlock_read",),
        )
        pause, summary = "spin_lock", "khugepaged retract_page_tables() of [2M, 4M) of file VMA A (its PTEs are already none)"
    else:  # mremap
        a = Vma("A", b, b + 2 * M, kind)
        vmas, walk, pages = (a,), b + 0x5000, (b + 0x1000,)
        new = b + PUD_SIZE
        program = (
            ("mmap_write_lock", "mmap_write_lock_killable"),
            ("vma_start_write", "A"),
            ("copy_vma", "A", new, "A.new"),
            ("move_page_tables", "A", b, new, 2 * M),
            ("vms_gather_munmap_vmas", ("A",)),
            ("unmap_vmas", b, b + 2 * M, False),
            ("free_pgtables", b, b + 2 * M),
            ("tlb_finish_mmu",),
            ("mmap_write_unlock",),
        )
        pause, summary = "pmdp_get_lockless", "mremap() of the walked VMA A [0, 2M) to [1G, 1G+2M): move_normal_pmd()"

    if s.address is not None:
        geo.check_user_address(s.address)
        walked = vmas[0]
        if not walked.contains(s.address):
            raise ValueError(
                f"address {s.address:#x} is outside the walked VMA {walked.name} [{walked.start:#x}, {walked.end:#x}) of {action}"
            )
        walk = s.address
    empty = ()
    if action == "retract_page_tables":
        empty = (b + 2 * M,)
        if not (b + 2 * M <= walk < b + 4 * M):
            pages = pages + (walk & ~0xFFF,)
    else:
        pages = pages + (walk & ~0xFFF,)
    return Setup(
        vmas=(EXE,) + vmas + (STACK,),
        pages=tuple((p, Level.PTE) for p in dict.fromkeys(pages)),
        empty_pte_tables=empty,
        walk_addr=walk,
        freer=freer,
        freer_in_mm=in_mm,
        program=program,
        pause_before=pause,
        summary=summary,
    )
