"""VMAs and the per-VMA lock: include/linux/mm_types.h, include/linux/mmap_lock.h,
mm/mmap_lock.c (lock_vma_under_rcu, vma_start_read, vma_start_write), mm/vma.c
(__split_vma, vms_gather_munmap_vmas, vms_clear_ptes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

VMA_KINDS = ("anon", "file", "hugetlb")


@dataclass(frozen=True, slots=True)
class Vma:
    name: str
    start: int
    end: int
    kind: str = "anon"  # "anon" or "file" (shmem/page cache)
    readers: frozenset[str] = frozenset()  # vma_start_read() holders
    writer: str = ""  # vma_start_write() holder, until vma_end_write_all()
    detached: bool = False  # removed from the mm's VMA tree
    mm: str = ""  # the process whose VMA it is: "" the walked mm (P), or another one ("Q")

    def __post_init__(self) -> None:
        if self.kind not in VMA_KINDS:
            raise ValueError(f"VMA kind must be one of {', '.join(VMA_KINDS)}, got {self.kind!r}")
        if self.start >= self.end:
            raise ValueError(f"VMA {self.name} is empty or inverted: {self.start:#x}-{self.end:#x}")

    def contains(self, addr: int) -> bool:
        return self.start <= addr < self.end

    @property
    def size(self) -> int:
        return self.end - self.start


Vmas = tuple[Vma, ...]


def attached(vmas: Vmas) -> list[Vma]:
    return [v for v in vmas if not v.detached]


def find_vma(vmas: Vmas, addr: int, mm: str = "") -> Vma | None:
    """vma_lookup(): the attached VMA of mm `mm` containing `addr`."""
    for v in vmas:
        if not v.detached and v.mm == mm and v.contains(addr):
            return v
    return None


def by_name(vmas: Vmas, name: str) -> Vma:
    for v in vmas:
        if v.name == name:
            return v
    raise KeyError(name)


def replace_vma(vmas: Vmas, name: str, **changes: object) -> Vmas:
    return tuple(replace(v, **changes) if v.name == name else v for v in vmas)


def check_no_overlap(vmas: Vmas) -> None:
    live = sorted(attached(vmas), key=lambda v: v.start)
    for a, b in zip(live, live[1:]):
        if b.start < a.end:
            raise ValueError(f"VMAs {a.name} and {b.name} overlap")


def unmap_bounds(vmas: Vmas, start: int, end: int) -> tuple[int, int]:
    """floor and ceiling for free_pgtables() after [start, end) is unmapped:
    vms->unmap_start = prev ? prev->vm_end : FIRST_USER_ADDRESS (0 on x86),
    vms->unmap_end = next ? next->vm_start : USER_PGTABLES_CEILING (0: the top).
    prev and next are the attached VMAs around the hole, however far away."""
    floor = 0
    ceiling = 0
    for v in attached(vmas):
        if v.end <= start:
            floor = max(floor, v.end)
        elif v.start >= end:
            if not ceiling or v.start < ceiling:
                ceiling = v.start
    return floor, ceiling


def split_vma(vmas: Vmas, name: str, at: int, new_name: str, new_below: bool = False) -> Vmas:
    """__split_vma(): cut `name` at `at`; the new VMA `new_name` is the upper
    part, or with `new_below` the lower one (__split_vma()'s new_below), and
    inherits the lock state (the kernel write-locks both)."""
    v = by_name(vmas, name)
    if not v.start < at < v.end:
        raise ValueError(f"cannot split {name} at {at:#x}: outside ({v.start:#x}, {v.end:#x})")
    if new_below:
        lower, upper = replace(v, name=new_name, end=at), replace(v, start=at)
    else:
        lower, upper = replace(v, end=at), replace(v, name=new_name, start=at)
    out: list[Vma] = []
    for x in vmas:
        if x.name == name:
            out.extend((lower, upper))
        else:
            out.append(x)
    return tuple(out)
