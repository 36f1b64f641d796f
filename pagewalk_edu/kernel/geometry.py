"""x86-64 page-table geometry: arch/x86/include/asm/pgtable_64_types.h, include/linux/pgtable.h.

Four levels (PGD → PUD → PMD → PTE, the P4D folded into the PGD) or five
(CONFIG_X86_5LEVEL with LA57: PGD → P4D → PUD → PMD → PTE).  Every table is one
4 KiB page of 512 eight-byte entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PTRS_PER_TABLE = 512
TABLE_BYTES = PAGE_SIZE  # one page per table (PTRS_PER_PTE * sizeof(pte_t))

PMD_SHIFT = 21
PUD_SHIFT = 30
P4D_SHIFT = 39
PMD_SIZE = 1 << PMD_SHIFT
PUD_SIZE = 1 << PUD_SHIFT
P4D_SIZE = 1 << P4D_SHIFT


class Level(IntEnum):
    """A page-table level, named as the kernel names the *table* at that level."""

    PGD = 0
    P4D = 1
    PUD = 2
    PMD = 3
    PTE = 4

    @property
    def label(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Geometry:
    """Address-space geometry for CONFIG_PGTABLE_LEVELS = 4 or 5."""

    levels: int = 4

    def __post_init__(self) -> None:
        if self.levels not in (4, 5):
            raise ValueError(f"PGTABLE_LEVELS must be 4 or 5, got {self.levels!r}")

    # --- shifts and sizes -------------------------------------------------
    @property
    def pgdir_shift(self) -> int:
        """PGDIR_SHIFT: 39 with four levels, 48 with five (LA57)."""
        return 48 if self.levels == 5 else 39

    @property
    def task_size(self) -> int:
        """TASK_SIZE_MAX: the top of user space (one page below 2^47 or 2^56)."""
        return (1 << (56 if self.levels == 5 else 47)) - PAGE_SIZE

    @property
    def table_levels(self) -> tuple[Level, ...]:
        """The levels that have tables of their own (P4D is folded with four levels)."""
        if self.levels == 5:
            return (Level.PGD, Level.P4D, Level.PUD, Level.PMD, Level.PTE)
        return (Level.PGD, Level.PUD, Level.PMD, Level.PTE)

    def entry_shift(self, level: Level) -> int:
        """log2 of the span one entry of a table at `level` maps."""
        return (48 if self.levels == 5 else 39, P4D_SHIFT, PUD_SHIFT, PMD_SHIFT, PAGE_SHIFT)[level]

    def entry_span(self, level: Level) -> int:
        return 1 << self.entry_shift(level)

    def table_span(self, level: Level) -> int:
        """The span one whole table at `level` maps (512 entries)."""
        return self.entry_span(level) * PTRS_PER_TABLE

    def mask(self, level: Level) -> int:
        """PMD_MASK, PUD_MASK, P4D_MASK, PGDIR_MASK for the *entry* span of `level`."""
        return ~(self.entry_span(level) - 1) & ((1 << 64) - 1)

    def child_level(self, level: Level) -> Level:
        levels = self.table_levels
        return levels[levels.index(level) + 1]

    def parent_level(self, level: Level) -> Level:
        levels = self.table_levels
        return levels[levels.index(level) - 1]

    # --- index helpers: include/linux/pgtable.h ---------------------------
    def index(self, level: Level, addr: int) -> int:
        """The entry of a table at `level` that maps `addr`."""
        if level == Level.P4D and self.levels == 4:
            return 0  # folded: PTRS_PER_P4D == 1
        return (addr >> self.entry_shift(level)) & (PTRS_PER_TABLE - 1)

    def pgd_index(self, addr: int) -> int:
        return self.index(Level.PGD, addr)

    def p4d_index(self, addr: int) -> int:
        return self.index(Level.P4D, addr)

    def pud_index(self, addr: int) -> int:
        return self.index(Level.PUD, addr)

    def pmd_index(self, addr: int) -> int:
        return self.index(Level.PMD, addr)

    def pte_index(self, addr: int) -> int:
        return self.index(Level.PTE, addr)

    def indices(self, addr: int) -> dict[str, int]:
        """Every index of `addr`, as the walk uses them (p4d is 0 when folded)."""
        return {
            "pgd": self.pgd_index(addr),
            "p4d": self.p4d_index(addr),
            "pud": self.pud_index(addr),
            "pmd": self.pmd_index(addr),
            "pte": self.pte_index(addr),
            "offset": addr & (PAGE_SIZE - 1),
        }

    def check_user_address(self, addr: int, what: str = "address") -> None:
        """Refuse an address outside user space for this geometry."""
        if not isinstance(addr, int) or isinstance(addr, bool):
            raise TypeError(f"{what} must be an integer, got {type(addr).__name__}")
        if addr < 0 or addr >= self.task_size:
            raise ValueError(
                f"{what} {addr:#x} is outside user space for {self.levels}-level paging "
                f"(0 to {self.task_size:#x})"
            )


def fmt_size(n: int) -> str:
    """4096 -> '4K', 2 MiB -> '2M', 1 GiB -> '1G' (exact multiples only)."""
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)
