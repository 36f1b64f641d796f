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

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Iterable

from .config import DEFAULT_KERNEL, KernelConfig, parse_config_list
from .geometry import PAGE_SIZE, PMD_SIZE, Geometry, Level
from .layout import WALKS, Layout, PathSpec, builtin_layout
from .programs import build_program, in_mm
from .vma import Vma, by_name
from .roles import HOLDS

ACTIONS = (
    "munmap",
    "munmap_adjacent",
    "munmap_partial",
    "madv_dontneed",
    "khugepaged_collapse",
    "retract_page_tables",
    "mremap",
)
#: hugetlb PMD sharing (kernel/paths/hugetlb.py): two processes share one PMD table.
HUGETLB_ACTIONS = ("hugetlb_punch_hole", "hugetlb_dontneed")
ALL_ACTIONS = ACTIONS + HUGETLB_ACTIONS
WALKERS = ("local", "remote")
#: Injectable faults.  batch_alloc_fail: tlb_remove_table() cannot allocate its
#: batch page (__get_free_page(GFP_NOWAIT) fails), so tlb_remove_table_one()
#: runs.  gather_batch_full: the mmu_gather page batch fills up while
#: zap_pte_range() runs (force_flush), so the TLB flush happens under the ptl.
#: Not rare: tlb_next_batch() fails once MAX_GATHER_BATCH_COUNT batch pages are
#: full (include/asm-generic/tlb.h: 19 of 510 entries on x86-64 with 4 KiB pages,
#: about 9,700 small pages with the on-stack batch), so any bigger zap gets there.
FAULTS = ("batch_alloc_fail", "gather_batch_full")

#: The kernel path (actor) each built-in action runs; its layout file says
#: the rest (pagewalk_edu/scenarios/layouts/).
FREER = {
    "munmap": "munmap",
    "munmap_adjacent": "munmap",
    "munmap_partial": "munmap",
    "madv_dontneed": "madvise",
    "khugepaged_collapse": "khugepaged",
    "retract_page_tables": "khugepaged",
    "mremap": "mremap",
    "hugetlb_punch_hole": "fallocate",
    "hugetlb_dontneed": "madvise",
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
    layout: Layout | None = None  # a scenario file's own layout; None: the action's shipped one
    walk: str | None = None  # which walk (kernel/walkers/): None is the layout's (folio_walk_start)
    patch: str | None = None  # "fw_vma_locked": the June 2026 patch's folio_walk_start(FW_VMA_LOCKED)
    hugetlb_walk_lock: str = "take"  # vma_pgtable_walk_begin()'s hugetlb_vma_lock_read(), or the what-if "skip"

    def __post_init__(self) -> None:
        if not isinstance(self.holds, tuple):
            raise TypeError("holds must be a tuple of holder names")
        for h in self.holds:
            if h not in HOLDS:
                raise ValueError(f"unknown holder {h!r}; accepted: none or a comma-separated subset of {', '.join(HOLDS)}")
        if len(set(self.holds)) != len(self.holds):
            raise ValueError(f"holder repeated in {','.join(self.holds)}; name each at most once")
        if self.layout is not None:
            if not isinstance(self.layout, Layout):
                raise TypeError("layout must be a Layout (from a scenario file)")
            if self.vma_kind is not None:
                raise ValueError("vma_kind applies to the built-in layouts only; a scenario file sets kind in its [[vma]] tables")
        elif self.action not in ALL_ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; accepted: {', '.join(ALL_ACTIONS)}")
        if not isinstance(self.config, KernelConfig):
            raise TypeError("config must be a KernelConfig")
        if self.walker not in WALKERS:
            raise ValueError(f"unknown walker {self.walker!r}; accepted: local, remote")
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; accepted: {', '.join(FAULTS)}")
        if self.walk is not None and self.walk not in WALKS:
            raise ValueError(f"unknown walk {self.walk!r}; accepted: {', '.join(WALKS)}")
        if self.effective_walk == "gup_fast" and self.walker != "local":
            raise ValueError("gup_fast walks current->mm (mm/gup.c gup_fast_pgd_range(): pgd_offset(current->mm, ...)), "
                             "so it always runs on a CPU of the walked mm; accepted: walker local")
        if self.patch is not None:
            from .walkers.assertions import PATCHES
            if self.patch not in PATCHES:
                raise ValueError(f"unknown patch {self.patch!r}; accepted: none, {', '.join(PATCHES)}")
            if self.effective_walk != "folio_walk_start":
                raise ValueError(f"--patch {self.patch} is a flag of folio_walk_start(); the walk here is {self.effective_walk}")
        kind = self.effective_vma_kind
        if kind not in ("anon", "file", "hugetlb"):
            raise ValueError(f"unknown VMA kind {kind!r}; accepted: anon, file, hugetlb")
        if self.hugetlb_walk_lock not in ("take", "skip"):
            raise ValueError(f"unknown hugetlb walk lock {self.hugetlb_walk_lock!r}; accepted: take, skip")
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
        if self.layout is not None:
            return self.layout.vma(self.layout.walked).kind
        if self.action in HUGETLB_ACTIONS:
            return "hugetlb"
        return "file" if self.action == "retract_page_tables" else "anon"

    @property
    def effective_walk(self) -> str:
        if self.walk is not None:
            return self.walk
        return layout_of(self).walk

    @property
    def geometry(self) -> Geometry:
        return Geometry(self.config.PGTABLE_LEVELS)

    @property
    def holds_label(self) -> str:
        return ",".join(self.holds) if self.holds else "none"

    def describe(self) -> str:
        fault = f", fault {self.fault}" if self.fault else ""
        if self.effective_walk != WALKS[0]:
            fault += f", walk {self.effective_walk}"
        if self.patch:
            fault += f", patch {self.patch} (the June 2026 folio_walk_start() patch, not in a release)"
        if self.hugetlb_walk_lock == "skip":
            fault += (", hugetlb walk lock skipped (what-if: FW_VMA_LOCKED without its hugetlb refusal and without "
                      "the hugetlb_vma_lock_read() it cannot take)")
        if self.layout is not None:
            paths = "; ".join(p.describe() for p in self.layout.paths)
            return (f"walker ({self.walker}) holds {self.holds_label}; scenario {self.layout.name}: {paths}; "
                    f"{self.config.describe()}{fault}")
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
            **({"layout": self.layout.as_dict()} if self.layout is not None else {}),
            **({"walk": self.walk} if self.walk is not None else {}),
            **({"patch": self.patch} if self.patch is not None else {}),
            **({"hugetlb_walk_lock": self.hugetlb_walk_lock} if self.hugetlb_walk_lock != "take" else {}),
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
    layout: Layout | None = None,
    walk: str | None = None,
    patch: str | None = None,
    hugetlb_walk_lock: str | None = None,
) -> Scenario:
    """Build a validated Scenario from the CLI's vocabulary."""
    if not isinstance(kernel, str):
        raise TypeError(f"kernel must be a string such as '6.18', got {type(kernel).__name__}")
    if config is not None and not isinstance(config, (str, dict)):
        raise TypeError(f"config must be a string such as 'PT_RECLAIM=n,TLB_FLUSH=ipi' or a dict of keys to values, "
                        f"got {type(config).__name__}")
    overrides = parse_config_list(config) if (config is None or isinstance(config, str)) else dict(config)
    cfg = KernelConfig.for_kernel(kernel, **overrides)
    if fault in ("", "none"):
        fault = None
    if walk in ("", None):
        walk = None
    if patch in ("", "none"):
        patch = None
    return Scenario(parse_holds(holds), action, cfg, walker, fault, address, vma_kind, layout, walk, patch,
                    hugetlb_walk_lock or "take")


@dataclass(frozen=True)
class PathSetup:
    """One racing path as it runs: its actor (role) name, its CPU, whether that
    CPU is in mm_cpumask(), and its program (programs.py)."""

    name: str
    cpu: int
    in_mm: bool
    program: tuple[tuple, ...]
    spec: PathSpec


@dataclass(frozen=True)
class Setup:
    vmas: tuple[Vma, ...]
    pages: tuple[tuple[int, Level], ...]  # addresses faulted in before the race
    empty_pte_tables: tuple[int, ...]  # PTE tables present but with no PTE (retract)
    walk_addr: int
    paths: tuple[PathSetup, ...]  # CPU1, CPU2, ...: one racing kernel path each
    pause_before: str  # the default schedule lets the other CPUs run here
    summary: str
    walked: str  # the walked VMA's name
    walk: str = "folio_walk_start"  # which walker (kernel/walkers/)
    roots: tuple[tuple[str, int], ...] = (("", 0),)  # each mm's PGD: P's is table 0, Q's table 1

    # The first racing path, under the names a two-CPU scenario used.
    @property
    def freer(self) -> str:
        return self.paths[0].name

    @property
    def freer_in_mm(self) -> bool:
        return self.paths[0].in_mm

    @property
    def program(self) -> tuple[tuple, ...]:
        return self.paths[0].program


def layout_of(s: Scenario) -> Layout:
    return s.layout if s.layout is not None else builtin_layout(s.action)


def build_setup(s: Scenario) -> Setup:
    """The scenario's layout (its file, or the action's shipped one) with the
    scenario's overrides (walked address, walked VMA kind), and one program per
    racing path."""
    return _build_setup(s)


@lru_cache(maxsize=512)
def _build_setup(s: Scenario) -> Setup:
    geo = s.geometry
    layout = layout_of(s)
    vmas = layout.vmas
    if s.vma_kind is not None:
        vmas = tuple(replace(v, kind=s.vma_kind) if v.name == layout.walked else v for v in vmas)
    for v in vmas:
        geo.check_user_address(v.start, f"VMA {v.name} starts at")
        geo.check_user_address(v.end - 1, f"VMA {v.name} ends at")
    walk = layout.address
    if s.address is not None:
        geo.check_user_address(s.address)
        walked = by_name(vmas, layout.walked)
        if not walked.contains(s.address):
            raise ValueError(
                f"address {s.address:#x} is outside the walked VMA {walked.name} [{walked.start:#x}, {walked.end:#x}) of {s.action}"
            )
        walk = s.address
    # retract_page_tables() runs after collapse_file() has unmapped the range:
    # its PTE tables are there with every PTE none.
    empty = tuple(at for p in layout.paths if p.op == "retract_page_tables" for at in range(p.start, p.end, PMD_SIZE))
    pages = layout.faulted
    if not any(at <= walk < at + PMD_SIZE for at in empty):
        pages = pages + (walk & ~(PAGE_SIZE - 1),)
    paths = tuple(
        PathSetup(p.actor, i + 1, in_mm(p.op), build_program(p, vmas, s.config), p) for i, p in enumerate(layout.paths)
    )
    # hugetlb pages are 2 MiB PMD leaves; everything else is faulted in 4 KiB pages.
    hugetlb = [v for v in vmas if v.kind == "hugetlb" and v.mm == ""]
    levels = tuple((p & ~(PMD_SIZE - 1), Level.PMD) if any(v.contains(p) for v in hugetlb) else (p, Level.PTE)
                   for p in dict.fromkeys(pages))
    return Setup(
        vmas=vmas,
        pages=tuple(dict.fromkeys(levels)),
        empty_pte_tables=empty,
        walk_addr=walk,
        paths=paths,
        pause_before=_pause(s.effective_walk, layout.pause_before),
        summary=layout.doc,
        walked=layout.walked,
        walk=s.effective_walk,
        roots=(("", 0), ("Q", 1)) if any(v.mm for v in vmas) else (("", 0),),
    )


def _pause(walk: str, label: str) -> str:
    """The layout's pause label (a folio_walk_start() step) for `walk`: the step
    of that walker that makes the same read."""
    from .walkers.gup_fast import PAUSES

    return PAUSES.get(label, label) if walk == "gup_fast" else label
