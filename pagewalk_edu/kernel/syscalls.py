"""Whole system calls on one mm, one after another: what `pagewalk-edu tables`
predicts and holds against the running kernel's VmPTE.

munmap() and madvise(MADV_DONTNEED) run the programs kernel/programs.py builds
for the explorer (munmap_program(), madvise_program()), executed alone by
kernel/sequential.py: the order of kernel functions is written once.  What
this module adds is the part of the mm the explorer does not model: mmap()
with VMA merging (mm/vma.c vma_merge_new_range, vma_merge_existing_range),
anon_vmas (mm/rmap.c __anon_vma_prepare, find_mergeable_anon_vma,
anon_vma_clone) and page faults over whole ranges (mm/memory.c
handle_mm_fault → do_anonymous_page, through pgtable.ensure_table()).

No concurrency here: each call runs to completion, and a table that is
unlinked is counted out of mm->pgtables_bytes at once (the kernel's
mm_dec_nr_ptes()/pmds()/puds() run at unlink time; the page itself is freed
by the mmu_gather, which does not change the count).

The mappings are anonymous, private, read-write and MADV_NOHUGEPAGE: faults
install 4 KiB PTEs only.  The model's mm may also hold *outside* VMAs: the rest
of a real process, which the scenario never touches but which gives munmap()
its floor and ceiling (see `Mm.in_empty_slot`).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, replace
from typing import Callable, Iterator, NamedTuple

from .config import KernelConfig
from .geometry import PAGE_SIZE, PMD_SHIFT, Geometry, Level
from .layout import PathSpec
from .pgtable import LEAF_4K, Allocation, Tables, ensure_table, new_tree, pgtables_bytes, set_table
from .programs import madvise_program, munmap_program
from .sequential import Change, run_alone
from .tablestore import TableStore
from .vma import Vma

_FAULT_PATH = {
    "__p4d_alloc": "handle_mm_fault → __handle_mm_fault → p4d_alloc → __p4d_alloc",
    "__pud_alloc": "handle_mm_fault → __handle_mm_fault → pud_alloc → __pud_alloc",
    "__pmd_alloc": "handle_mm_fault → __handle_mm_fault → pmd_alloc → __pmd_alloc",
    "__pte_alloc": "handle_mm_fault → do_anonymous_page → pte_alloc → __pte_alloc",
}
__all__ = ["Change", "Mm", "Syscall", "touched_pages"]


class Syscall(NamedTuple):
    """The mm after one call, and the tables it allocated and freed, in order."""

    mm: "Mm"
    allocated: tuple[Change, ...]
    freed: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class Mm:
    """One mm: its page tables, its VMAs (sorted, not overlapping) and the
    anon_vma each VMA has (0 until its first fault: anon_vma_prepare())."""

    geo: Geometry
    config: KernelConfig
    tables: Tables
    vmas: tuple[Vma, ...] = ()
    outside: tuple[Vma, ...] = ()  # the rest of the process: floor and ceiling only
    anon: tuple[tuple[str, int], ...] = ()  # (VMA name, anon_vma id), id 0 = none yet
    serial: int = 0  # names new VMAs and anon_vmas

    # --- construction -----------------------------------------------------------
    @classmethod
    def new(cls, config: KernelConfig, outside: tuple[Vma, ...] = ()) -> "Mm":
        """An mm with only its PGD (mm_init() → pgd_alloc())."""
        geo = Geometry(config.PGTABLE_LEVELS)
        return cls(geo, config, new_tree(geo), (), tuple(sorted(outside, key=lambda v: v.start)))

    @classmethod
    def in_empty_slot(cls, config: KernelConfig, base: int, size: int) -> "Mm":
        """An mm whose other mappings all lie outside [base, base + size).

        A real process has mappings elsewhere: the nearest one below the slot
        sets free_pgtables()'s floor, the nearest one above its ceiling.  All
        that free_pgd_range() can see of them is floor <= base and
        ceiling >= base + size, so one page-sized VMA a page below the slot and
        one a page above it stand for them (not adjacent, so nothing merges).
        """
        below = Vma("outside-below", base - 2 * PAGE_SIZE, base - PAGE_SIZE, kind="file")
        above = Vma("outside-above", base + size + PAGE_SIZE, base + size + 2 * PAGE_SIZE, kind="file")
        mm = cls.new(config, (below, above))
        if Level.P4D in mm.geo.table_levels:
            # With five levels one PGD entry maps 256 TiB: the rest of the process
            # lives under the same entry, so its P4D table is already there (and,
            # with floor and ceiling inside that entry, free_p4d_range() never
            # frees it).  Only the slot's own P4D entry is empty.
            tables, _, _ = ensure_table(mm.tables, mm.geo, base, Level.P4D)
            mm = replace(mm, tables=tables)
        return mm

    # --- queries ------------------------------------------------------------------
    @property
    def pgtables_bytes(self) -> int:
        """mm->pgtables_bytes, which /proc/PID/status shows as VmPTE."""
        return pgtables_bytes(self.tables)

    def anon_vma(self, name: str) -> int:
        return dict(self.anon).get(name, 0)

    def overlapping(self, start: int, end: int) -> list[Vma]:
        return [v for v in self.vmas if v.start < end and start < v.end]

    def unmapped_part(self, start: int, end: int) -> tuple[int, int] | None:
        """The first sub-range of [start, end) that no VMA covers, if any."""
        at = start
        for v in self.overlapping(start, end):
            if v.start > at:
                return at, v.start
            at = max(at, v.end)
        return (at, end) if at < end else None

    def _check_range(self, what: str, start: int, end: int) -> None:
        for name, value in (("start", start), ("end", end)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{what}: {name} must be an integer, got {type(value).__name__}")
            if value % PAGE_SIZE:
                raise ValueError(f"{what}: {name} {value:#x} is not page aligned (4K)")
        if start >= end:
            raise ValueError(f"{what}: empty or inverted range [{start:#x}, {end:#x})")
        self.geo.check_user_address(start, f"{what}: start")
        self.geo.check_user_address(end - 1, f"{what}: end")

    # --- mmap(MAP_ANONYMOUS|MAP_PRIVATE|MAP_FIXED_NOREPLACE) + MADV_NOHUGEPAGE ------------
    def mmap(self, start: int, end: int) -> Syscall:
        """A new anonymous VMA; no page table is allocated until a fault.

        Overlap is refused (MAP_FIXED_NOREPLACE: -EEXIST), so a scenario never
        silently replaces a mapping.  The new VMA then merges with an adjacent
        one as mm/vma.c does: the madvise(MADV_NOHUGEPAGE) right after mmap()
        makes its flags equal to its neighbours' (vma_modify_flags() →
        vma_merge_existing_range(); without THP, vma_merge_new_range() at
        mmap() time gives the same result).  Merging matters to MADV_DONTNEED,
        which zaps one VMA at a time.
        """
        self._check_range("mmap", start, end)
        for v in self.overlapping(start, end) + [v for v in self.outside if v.start < end and start < v.end]:
            raise ValueError(f"mmap [{start:#x}, {end:#x}) overlaps VMA {v.name} [{v.start:#x}, {v.end:#x}): "
                             "MAP_FIXED_NOREPLACE fails with EEXIST")
        serial = self.serial + 1
        new = Vma(f"vma{serial}", start, end)
        vmas, anon = _merge_new_vma(self.vmas, dict(self.anon), new)
        return Syscall(replace(self, vmas=vmas, anon=tuple(sorted(anon.items())), serial=serial), (), ())

    # --- page faults ----------------------------------------------------------------
    def touch(self, start: int, end: int, stride: int = PAGE_SIZE) -> Syscall:
        """Write one byte every `stride` bytes of [start, end): one write fault per
        page not yet mapped (handle_mm_fault → do_anonymous_page), allocating
        each missing table on the way down (__pud_alloc, __pmd_alloc, __pte_alloc).

        Pages are handled one PTE table (2 MiB) at a time: ensure_table()
        allocates what is missing on the way down to it (pgtable.populate()
        without the leaf), then the leaves of every page of that table are
        installed (LEAF_4K) at once.
        """
        self._check_range("touch", start, end)
        if not isinstance(stride, int) or isinstance(stride, bool) or stride <= 0:
            raise ValueError(f"touch: stride must be a positive integer, got {stride!r}")
        hole = self.unmapped_part(start, end)
        if hole is not None:
            raise ValueError(f"touch [{start:#x}, {end:#x}): [{hole[0]:#x}, {hole[1]:#x}) is not mapped "
                             "(the write would get SIGSEGV)")
        pages = list(touched_pages(start, end, stride))  # in increasing order
        written = set()
        for v in self.overlapping(start, end):
            i = bisect_left(pages, v.start)
            if i < len(pages) and pages[i] < v.end:
                written.add(v.name)
        mm = self._anon_vma_prepare(written)
        geo = mm.geo
        # a TableStore is edited in place for the length of the call (tablestore.Transient)
        session = mm.tables.transient() if isinstance(mm.tables, TableStore) else None
        tables = mm.tables if session is None else session
        allocated: list[Change] = []
        pmd_span = geo.table_span(Level.PMD)
        pmd = None
        try:
            for chunk in _by_pte_table(iter(pages)):
                addr = chunk[0]
                if pmd is None or not pmd.base <= addr < pmd.base + pmd_span:
                    tables, allocs, pmd = ensure_table(tables, geo, addr, Level.PMD)
                    allocated.extend(_alloc_change(a) for a in allocs)
                # the rest of the way down from the PMD table, which the last chunk reached too
                tables, allocs, pte = ensure_table(tables, geo, addr, Level.PTE, root=pmd.tid)
                allocated.extend(_alloc_change(a) for a in allocs)
                tables = _install_leaves(tables, geo, pte.tid, chunk)
        except BaseException:
            if session is not None:
                session.abandon()
            raise
        return Syscall(replace(mm, tables=tables if session is None else session.persistent()), tuple(allocated), ())

    def _anon_vma_prepare(self, written: set[str]) -> "Mm":
        """mm/rmap.c __anon_vma_prepare(): a VMA's first write fault gives it an
        anon_vma, reusing an adjacent compatible VMA's (find_mergeable_anon_vma():
        next, then prev) or allocating a new one.  A VMA no write lands in keeps
        none."""
        anon = dict(self.anon)
        serial = self.serial
        for v in self.vmas:
            if v.name not in written or anon.get(v.name, 0):
                continue
            reuse = 0
            i = self.vmas.index(v)
            nxt = self.vmas[i + 1] if i + 1 < len(self.vmas) else None
            prv = self.vmas[i - 1] if i > 0 else None
            for other in (nxt, prv):
                if other is not None and (other.end == v.start or other.start == v.end) and anon.get(other.name, 0):
                    reuse = anon[other.name]
                    break
            if not reuse:
                serial += 1
                reuse = serial
            anon[v.name] = reuse
        return replace(self, anon=tuple(sorted(anon.items())), serial=serial)

    # --- munmap() -------------------------------------------------------------------
    def munmap(self, start: int, end: int) -> Syscall:
        """munmap(): the explorer's program (programs.munmap_program(): split the
        edges, detach, unmap_vmas(), free_pgtables() with prev->vm_end as
        floor and next->vm_start as ceiling, the outside VMAs included), run
        alone.  No PT_RECLAIM here: unmap_vmas() does not set
        zap_details.reclaim_pt (free_pgtables() frees the tables)."""
        self._check_range("munmap", start, end)
        return self._run(munmap_program, PathSpec("munmap", start, end, "munmap"))

    # --- madvise(MADV_DONTNEED) ---------------------------------------------------------
    def madvise_dontneed(self, start: int, end: int) -> Syscall:
        """madvise(MADV_DONTNEED): the explorer's program
        (programs.madvise_program()), run alone.  madvise_walk_vmas() calls
        madvise_dontneed_single_vma() once per VMA, with the range clipped to
        that VMA (mm/madvise.c), and zaps with zap_details.reclaim_pt = true.
        In zap_pte_range() a PTE table is reclaimed only if that zap covered its
        whole 2 MiB (reclaim_pt_is_enabled(): CONFIG_PT_RECLAIM and end - start
        >= PMD_SIZE, the end clipped to the VMA by unmap_single_vma()) and
        every entry is then none.  Two zaps of half a table each reclaim
        nothing, and neither do two VMAs sharing one PTE table."""
        self._check_range("madvise", start, end)
        hole = self.unmapped_part(start, end)
        if hole is not None:
            raise ValueError(f"madvise [{start:#x}, {end:#x}): [{hole[0]:#x}, {hole[1]:#x}) is not mapped "
                             "(madvise() would fail with ENOMEM)")
        return self._run(madvise_program, PathSpec("madvise", start, end, "madvise"))

    def _run(self, builder: Callable, spec: PathSpec) -> Syscall:
        """Build the call's program for this mm's VMAs (the outside ones too:
        they set floor and ceiling) and run it alone (sequential.run_alone())."""
        vmas = tuple(sorted(self.vmas + self.outside, key=lambda v: v.start))
        done = run_alone(builder(spec, vmas, self.config), self.tables, vmas, self.geo, self.config)
        if done.tables is self.tables and done.vmas is vmas:
            return Syscall(self, (), ())  # nothing there: munmap() returns 0
        anon = dict(self.anon)
        for old, new in done.splits:
            anon[new] = anon.get(old, 0)  # __split_vma() → anon_vma_clone(): both halves keep it
        outside = {v.name for v in self.outside}
        kept = [v for v in done.vmas if not v.detached and v.name not in outside]
        for v in done.vmas:
            if v.detached:
                anon.pop(v.name, None)  # remove_vma()
        # The builders name a split part after the VMA it came from ("A.hi");
        # give it an mm-wide name so that later splits cannot collide.
        serial = self.serial
        vmas = []
        for v in kept:
            if v.name in dict(done.splits).values():
                serial += 1
                anon[f"vma{serial}"] = anon.pop(v.name, 0)
                v = replace(v, name=f"vma{serial}")
            vmas.append(v)
        mm = replace(self, tables=done.tables, vmas=tuple(vmas), anon=tuple(sorted(anon.items())), serial=serial)
        return Syscall(mm, (), done.freed)


# --- VMA merging: mm/vma.c ---------------------------------------------------------------


def _merge_new_vma(vmas: tuple[Vma, ...], anon: dict[str, int], new: Vma) -> tuple[tuple[Vma, ...], dict[str, int]]:
    """Insert `new` (no anon_vma yet) and merge it as vma_merge_existing_range()
    does for the whole-VMA flag change of MADV_NOHUGEPAGE.

    can_vma_merge_left()/right(): an adjacent VMA with the same flags, file and
    contiguous pgoff (always so for these anonymous mappings) whose anon_vma is
    compatible (is_mergeable_anon_vma(): one of the two has none, or they are
    the same).  The new VMA has none, so each side alone always merges; both
    at once only if prev's and next's anon_vmas are compatible with each other
    (are_anon_vmas_compatible()), otherwise only prev is merged.
    """
    prev = next((v for v in vmas if v.end == new.start), None)
    nxt = next((v for v in vmas if v.start == new.end), None)
    left = prev is not None
    right = nxt is not None
    if left and right:
        a, b = anon.get(prev.name, 0), anon.get(nxt.name, 0)
        right = not a or not b or a == b
    rest = [v for v in vmas if v is not prev and not (right and v is nxt)]
    if left:
        merged = replace(prev, end=nxt.end if right else new.end)
        # dup_anon_vma(prev, next->anon_vma ? next : vma)
        anon[prev.name] = anon.get(prev.name, 0) or (anon.get(nxt.name, 0) if right else 0)
        if right:
            anon.pop(nxt.name, None)
    elif right:
        merged = replace(nxt, start=new.start)
    else:
        merged = new
        anon[new.name] = 0
    return tuple(sorted(rest + [merged], key=lambda v: v.start)), anon


# --- touched pages -----------------------------------------------------------------------


def touched_pages(start: int, end: int, stride: int) -> Iterator[int]:
    """The pages written by one byte every `stride` bytes of [start, end), in order.

    With a stride of at least a page each write lands on its own page; with a
    smaller one every page of the (page-aligned) range is written.
    """
    mask = ~(PAGE_SIZE - 1)
    if stride < PAGE_SIZE:
        yield from range(start & mask, end, PAGE_SIZE)
    else:
        for addr in range(start, end, stride):
            yield addr & mask


def _by_pte_table(pages: Iterator[int]) -> Iterator[list[int]]:
    chunk: list[int] = []
    for page in pages:
        if chunk and page >> PMD_SHIFT != chunk[0] >> PMD_SHIFT:
            yield chunk
            chunk = []
        chunk.append(page)
    if chunk:
        yield chunk


def _install_leaves(tables: Tables, geo: Geometry, pte_tid: int, pages: list[int]) -> Tables:
    """do_anonymous_page() → set_pte_at() for each page of one PTE table (a page
    already mapped keeps its PTE: the write does not fault)."""
    table = tables[pte_tid]
    if not table.entries:  # a new table: the pages, in increasing order, each once
        return set_table(tables, table.with_entries(tuple((geo.pte_index(page), LEAF_4K) for page in pages)))
    entries = dict(table.entries)
    for page in pages:
        entries.setdefault(geo.pte_index(page), LEAF_4K)
    if len(entries) == len(table.entries):
        return tables
    return set_table(tables, table.with_entries(tuple(sorted(entries.items()))))


def _alloc_change(a: Allocation) -> Change:
    return Change(a.level.name, a.start, a.end, a.function, _FAULT_PATH.get(a.function, a.function))
