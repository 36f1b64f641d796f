"""Whole system calls on one mm, one after another: mm/memory.c (handle_mm_fault,
unmap_vmas, free_pgtables, zap_pte_range), mm/vma.c (do_vmi_align_munmap,
vms_gather_munmap_vmas, vms_clear_ptes, vma_merge_new_range,
vma_merge_existing_range), mm/madvise.c (madvise_dontneed_single_vma),
mm/pt_reclaim.c, mm/rmap.c (find_mergeable_anon_vma).

No concurrency here: each call runs to completion, and a table that is
unlinked is counted out of mm->pgtables_bytes at once (the kernel's
mm_dec_nr_ptes()/pmds()/puds() run at unlink time; the page itself is freed
later by the mmu_gather, which does not change the count).  This is what
`pagewalk-edu tables` predicts and holds against the running kernel's VmPTE.

Every rule comes from the shared primitives: pgtable.populate() for faults,
pgtable.free_pgd_range() for munmap, vma.split_vma()/unmap_bounds() for the
VMA side, zap.zap_targets()/zap_ptes()/reclaim_pt_is_enabled()/
pte_table_empty() for zapping and PT_RECLAIM.  What this module adds is the
order in which the kernel calls them, which is where the kernel's own
functions are cited.

The mappings are anonymous, private, read-write and MADV_NOHUGEPAGE: faults
install 4 KiB PTEs only.  The model's mm may also hold *outside* VMAs: the rest
of a real process, which the scenario never touches but which gives munmap()
its floor and ceiling (see `Mm.in_empty_slot`).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from typing import Iterator, NamedTuple

from .config import KernelConfig
from .geometry import PAGE_SIZE, PMD_SHIFT, PMD_SIZE, Geometry, Level
from .pgtable import (
    LEAF_4K,
    Allocation,
    FreeOp,
    Life,
    Tables,
    ensure_table,
    free_pgd_range,
    new_tree,
    pgtables_bytes,
    populate,
    set_entry,
    set_table,
    walk_path,
)
from .vma import Vma, split_vma, unmap_bounds
from .zap import pte_table_empty, reclaim_pt_is_enabled, zap_ptes, zap_targets

_FAULT_PATH = {
    "__p4d_alloc": "handle_mm_fault → __handle_mm_fault → p4d_alloc → __p4d_alloc",
    "__pud_alloc": "handle_mm_fault → __handle_mm_fault → pud_alloc → __pud_alloc",
    "__pmd_alloc": "handle_mm_fault → __handle_mm_fault → pmd_alloc → __pmd_alloc",
    "__pte_alloc": "handle_mm_fault → do_anonymous_page → pte_alloc → __pte_alloc",
}
_RECLAIM_PATH = ("madvise_dontneed_single_vma → zap_page_range_single_batched → zap_pte_range → "
                 "try_get_and_clear_pmd → free_pte → pte_free_tlb")


class Change(NamedTuple):
    """One page table allocated or freed by a system call.

    `function` is the kernel function responsible (__pte_alloc, free_pgd_range,
    free_pte ...); `path` is the call chain that reached it.
    """

    level: str
    start: int
    end: int
    function: str
    path: str = ""

    def as_dict(self, base: int = 0) -> dict:
        return {"level": self.level, "start": self.start - base, "end": self.end - base,
                "function": self.function, "path": self.path}


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
        each missing table on the way down with pgtable.populate().

        Pages are handled one PTE table (2 MiB) at a time: populate() for the
        first page when a table is missing on its way down, then the leaves of
        the other pages of that table, which populate() would install the same
        way (LEAF_4K) with nothing left to allocate.
        """
        self._check_range("touch", start, end)
        if not isinstance(stride, int) or isinstance(stride, bool) or stride <= 0:
            raise ValueError(f"touch: stride must be a positive integer, got {stride!r}")
        hole = self.unmapped_part(start, end)
        if hole is not None:
            raise ValueError(f"touch [{start:#x}, {end:#x}): [{hole[0]:#x}, {hole[1]:#x}) is not mapped "
                             "(the write would get SIGSEGV)")
        pages = list(touched_pages(start, end, stride))
        starts = [v.start for v in self.vmas]
        written = {self.vmas[bisect_right(starts, p) - 1].name for p in pages}
        mm = self._anon_vma_prepare(written)
        tables = mm.tables
        allocated: list[Change] = []
        for chunk in _by_pte_table(iter(pages)):
            last = walk_path(tables, mm.geo, chunk[0])[-1]
            if last.table.level != Level.PTE:  # a table is missing on the way down
                tables, allocs = populate(tables, mm.geo, chunk[0], Level.PTE)
                allocated.extend(_alloc_change(a) for a in allocs)
                last = walk_path(tables, mm.geo, chunk[0])[-1]
            tables = _install_leaves(tables, mm.geo, last.table.tid, chunk)
        return Syscall(replace(mm, tables=tables), tuple(allocated), ())

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
        """mm/vma.c do_vmi_align_munmap().

        vms_gather_munmap_vmas(): split the VMAs that straddle start or end
        (__split_vma: vma.split_vma), detach every VMA inside [start, end), and
        note prev->vm_end as vms->unmap_start (floor) and next->vm_start as
        vms->unmap_end (ceiling): vma.unmap_bounds() over what remains, the
        outside VMAs included.  vms_clear_ptes(): unmap_vmas() zaps the PTEs
        of each detached VMA (no PT_RECLAIM here: unmap_vmas() does not set
        zap_details.reclaim_pt), then free_pgtables() frees the tables.
        """
        self._check_range("munmap", start, end)
        vmas = self.vmas
        anon = dict(self.anon)
        serial = self.serial
        for at in (start, end):
            v = next((v for v in vmas if v.start < at < v.end), None)
            if v is not None:
                serial += 1
                upper = f"vma{serial}"
                vmas = split_vma(vmas, v.name, at, upper)
                anon[upper] = anon.get(v.name, 0)  # anon_vma_clone(): both halves keep it
        detached = tuple(v for v in vmas if start <= v.start and v.end <= end)
        if not detached:
            return Syscall(self, (), ())  # nothing mapped there: munmap() returns 0
        remaining = tuple(v for v in vmas if v not in detached)
        floor, ceiling = unmap_bounds(remaining + self.outside, start, end)
        tables = self.tables
        for v in detached:  # unmap_vmas() → unmap_single_vma() → zap_pmd_range()
            for t in zap_targets(tables, self.geo, v.start, v.end):
                if t.pte_tid >= 0:
                    tables = zap_ptes(tables, self.geo, t.pte_tid, t.start, t.end)
        tables, freed = free_pgtables(tables, self.geo, detached, floor, ceiling)
        for v in detached:
            anon.pop(v.name, None)
        mm = replace(self, tables=tables, vmas=remaining, anon=tuple(sorted(anon.items())), serial=serial)
        return Syscall(mm, (), tuple(freed))

    # --- madvise(MADV_DONTNEED) ---------------------------------------------------------
    def madvise_dontneed(self, start: int, end: int) -> Syscall:
        """mm/madvise.c: madvise_walk_vmas() calls madvise_dontneed_single_vma()
        once per VMA, with the range clipped to that VMA; it zaps with
        zap_details.reclaim_pt = true.  In zap_pte_range() a PTE table is
        reclaimed only if that zap covered its whole 2 MiB
        (reclaim_pt_is_enabled(): CONFIG_PT_RECLAIM and end - start >=
        PMD_SIZE) and every entry is then none: try_get_and_clear_pmd() clears
        the PMD entry and free_pte() frees the table (the slow path,
        try_to_free_pte(), reaches the same result when the PMD lock is
        contended).  Two zaps of half a table each reclaim nothing.
        """
        self._check_range("madvise", start, end)
        hole = self.unmapped_part(start, end)
        if hole is not None:
            raise ValueError(f"madvise [{start:#x}, {end:#x}): [{hole[0]:#x}, {hole[1]:#x}) is not mapped "
                             "(madvise() would fail with ENOMEM)")
        tables = self.tables
        freed: list[Change] = []
        for v in self.overlapping(start, end):
            lo, hi = max(v.start, start), min(v.end, end)
            for t in zap_targets(tables, self.geo, lo, hi):
                if t.pte_tid < 0:
                    continue  # zap_huge_pmd(): no THP under MADV_NOHUGEPAGE
                tables = zap_ptes(tables, self.geo, t.pte_tid, t.start, t.end)
                if reclaim_pt_is_enabled(t.start, t.end, self.config.PT_RECLAIM) and pte_table_empty(tables, t.pte_tid):
                    pte = tables[t.pte_tid]
                    tables = set_entry(tables, t.pmd_tid, t.pmd_index, None)
                    tables = set_table(tables, replace(pte, life=Life.FREED, counted=False, freed_by="free_pte"))
                    freed.append(Change("PTE", *pte.span(self.geo), "free_pte", _RECLAIM_PATH))
        return Syscall(replace(self, tables=tables), (), tuple(freed))


# --- free_pgtables(): mm/memory.c --------------------------------------------------------


def free_pgtables_calls(detached: tuple[Vma, ...], ceiling: int) -> list[tuple[int, int, int]]:
    """The (addr, end, ceiling) of each free_pgd_range() call that mm/memory.c
    free_pgtables() makes for the detached VMAs, in address order.

    "Optimization: gather nearby vmas into one call down": while the next
    detached VMA starts at most PMD_SIZE past the end of the current one
    (next->vm_start <= vma->vm_end + PMD_SIZE), they share one call.  A call's
    ceiling is the start of the next detached VMA (`next ? next->vm_start :
    ceiling`), or vms->unmap_end after the last one.
    """
    calls = []
    i = 0
    while i < len(detached):
        first = last = detached[i]
        i += 1
        while i < len(detached) and detached[i].start <= last.end + PMD_SIZE:
            last = detached[i]
            i += 1
        calls.append((first.start, last.end, detached[i].start if i < len(detached) else ceiling))
    return calls


def free_pgtables(tables: Tables, geo: Geometry, detached: tuple[Vma, ...], floor: int,
                  ceiling: int) -> tuple[Tables, list[Change]]:
    """mm/memory.c free_pgtables(): free_pgd_range() for each gathered group of
    detached VMAs (free_pgtables_calls()).  Every call gets the same floor,
    vms->unmap_start: the kernel does not raise it between groups."""
    freed: list[Change] = []
    for addr, end, top in free_pgtables_calls(detached, ceiling):
        for op in free_pgd_range(tables, geo, addr, end, floor, top):
            tables = _unlink(tables, op)
            freed.append(Change(op.level.name, op.start, op.end, "free_pgd_range",
                                f"free_pgtables → free_pgd_range → {op.function} → {op.free_function}"))
    return tables, freed


def _unlink(tables: Tables, op: FreeOp) -> Tables:
    """Clear the parent entry (pmd_clear/pud_clear/p4d_clear) and hand the table
    to the mmu_gather; mm_dec_nr_*() takes it out of pgtables_bytes now."""
    tables = set_entry(tables, op.parent, op.index, None)
    return set_table(tables, replace(tables[op.tid], life=Life.FREED, counted=False, freed_by=op.free_function))


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
    table = tables[pte_tid]
    entries = dict(table.entries)
    for page in pages:
        entries.setdefault(geo.pte_index(page), LEAF_4K)
    if len(entries) == len(table.entries):
        return tables
    return set_table(tables, replace(table, entries=tuple(sorted(entries.items()))))


def _alloc_change(a: Allocation) -> Change:
    return Change(a.level.name, a.start, a.end, a.function, _FAULT_PATH.get(a.function, a.function))
