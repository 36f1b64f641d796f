"""kernel/geometry.py: x86-64 page-table geometry against hand-computed values.

arch/x86/include/asm/pgtable_64_types.h (PGDIR_SHIFT, P4D_SHIFT, PUD_SHIFT,
PMD_SHIFT, PTRS_PER_*), arch/x86/include/asm/page_64_types.h (TASK_SIZE_MAX),
include/linux/pgtable.h (pgd_index(), p4d_index(), pud_index(), pmd_index(),
pte_index()).  Every expected number below was worked out by hand from the
address's bits, not by calling the code under test.
"""

import pytest

from pagewalk_edu.kernel import Geometry, Level
from pagewalk_edu.kernel.geometry import PAGE_SIZE, PMD_SIZE, PUD_SIZE, fmt_size

K, M, G, T = 1 << 10, 1 << 20, 1 << 30, 1 << 40
U64 = (1 << 64) - 1

FOUR = Geometry(4)
FIVE = Geometry(5)


# --- index helpers: include/linux/pgtable.h -------------------------------------------------


def test_pgd_index_of_the_simulator_base_is_254():
    """0x7f00_0000_0000 = 0x7f << 40 = 254 << 39: PGD entry 254 with four levels
    (the "PGD entry 254" the munmap trace prints)."""
    assert FOUR.pgd_index(0x7F00_0000_0000) == 254


def test_indices_four_level_hand_computed():
    """0x7f12_3456_7890, bit by bit:
    bits 47..39 = 0x7f12 >> 7              = 254
    bits 38..30 = (0x7f12 << 2 | 0) & 511  = 0x048 = 72
    bits 29..21 = 0x3456_7890 >> 21        = 0x1a2 = 418
    bits 20..12 = 0x34567 & 0x1ff          = 0x167 = 359
    bits 11..0                              = 0x890
    The P4D is folded (PTRS_PER_P4D == 1): p4d_index() is 0."""
    addr = 0x7F12_3456_7890
    assert FOUR.pgd_index(addr) == 254
    assert FOUR.p4d_index(addr) == 0
    assert FOUR.pud_index(addr) == 72
    assert FOUR.pmd_index(addr) == 418
    assert FOUR.pte_index(addr) == 359
    assert FOUR.indices(addr) == {"pgd": 254, "p4d": 0, "pud": 72, "pmd": 418, "pte": 359, "offset": 0x890}


def test_indices_five_level_hand_computed():
    """LA57: PGDIR_SHIFT 48, P4D_SHIFT 39.  0x00ab_cdef_0123_4567 in 9-bit groups
    from bit 55: 1010_1011 | 110011011 | 110111100 | 000001001 | 000110100 | 0x567
    = pgd 0xab (171), p4d 411, pud 444, pmd 9, pte 52, offset 0x567."""
    addr = 0x00AB_CDEF_0123_4567
    assert FIVE.indices(addr) == {"pgd": 171, "p4d": 411, "pud": 444, "pmd": 9, "pte": 52, "offset": 0x567}


def test_same_address_differs_only_in_pgd_and_p4d_between_four_and_five_levels():
    """Below 2^48 a 4-level pgd_index() is the 5-level p4d_index(); pgd_index() is 0."""
    addr = 0x7F12_3456_7890
    assert FIVE.pgd_index(addr) == 0
    assert FIVE.p4d_index(addr) == FOUR.pgd_index(addr) == 254
    for level in (Level.PUD, Level.PMD, Level.PTE):
        assert FIVE.index(level, addr) == FOUR.index(level, addr)


@pytest.mark.parametrize(
    "addr, pgd, pud, pmd, pte",
    [
        (0, 0, 0, 0, 0),
        (PAGE_SIZE - 1, 0, 0, 0, 0),
        (PAGE_SIZE, 0, 0, 0, 1),
        (PMD_SIZE - PAGE_SIZE, 0, 0, 0, 511),
        (PMD_SIZE, 0, 0, 1, 0),
        (PUD_SIZE, 0, 1, 0, 0),
        (512 * G, 1, 0, 0, 0),
        ((1 << 47) - PAGE_SIZE, 255, 511, 511, 511),  # the last user page
    ],
)
def test_index_boundaries_four_level(addr, pgd, pud, pmd, pte):
    """Each index wraps at 512: one more page, 2 MiB, 1 GiB, 512 GiB steps the next level."""
    assert (FOUR.pgd_index(addr), FOUR.pud_index(addr), FOUR.pmd_index(addr), FOUR.pte_index(addr)) == (pgd, pud, pmd, pte)


def test_top_user_page_five_level():
    """(1 << 56) - 4096: every index 511 but the PGD's, which is 255 (bits 55..48)."""
    addr = (1 << 56) - PAGE_SIZE
    assert FIVE.indices(addr) == {"pgd": 255, "p4d": 511, "pud": 511, "pmd": 511, "pte": 511, "offset": 0}


# --- shifts, spans and masks ----------------------------------------------------------------


def test_pgdir_shift_is_39_or_48():
    assert FOUR.pgdir_shift == 39
    assert FIVE.pgdir_shift == 48


def test_table_levels_fold_the_p4d_with_four_levels():
    assert FOUR.table_levels == (Level.PGD, Level.PUD, Level.PMD, Level.PTE)
    assert FIVE.table_levels == (Level.PGD, Level.P4D, Level.PUD, Level.PMD, Level.PTE)
    assert FOUR.child_level(Level.PGD) == Level.PUD
    assert FIVE.child_level(Level.PGD) == Level.P4D
    assert FOUR.parent_level(Level.PUD) == Level.PGD
    assert FIVE.parent_level(Level.PUD) == Level.P4D


def test_table_spans():
    """A PTE table maps 2 MiB, a PMD table 1 GiB, a PUD table 512 GiB; the PGD maps
    256 TiB with four levels.  With five, a P4D table maps 256 TiB and the PGD 128 PiB."""
    assert FOUR.table_span(Level.PTE) == 2 * M
    assert FOUR.table_span(Level.PMD) == 1 * G
    assert FOUR.table_span(Level.PUD) == 512 * G
    assert FOUR.table_span(Level.PGD) == 256 * T
    assert FIVE.table_span(Level.P4D) == 256 * T
    assert FIVE.table_span(Level.PGD) == 128 * 1024 * T
    assert FIVE.entry_span(Level.PGD) == 256 * T


def test_masks_are_the_kernels_level_masks():
    """PMD_MASK, PUD_MASK, PGDIR_MASK as unsigned 64-bit values."""
    assert FOUR.mask(Level.PMD) == 0xFFFF_FFFF_FFE0_0000
    assert FOUR.mask(Level.PUD) == 0xFFFF_FFFF_C000_0000
    assert FOUR.mask(Level.PGD) == 0xFFFF_FF80_0000_0000
    assert FIVE.mask(Level.PGD) == 0xFFFF_0000_0000_0000
    assert FIVE.mask(Level.P4D) == 0xFFFF_FF80_0000_0000


def test_geometry_refuses_other_level_counts():
    for bad in (2, 3, 6):
        with pytest.raises(ValueError, match="PGTABLE_LEVELS must be 4 or 5"):
            Geometry(bad)


# --- task_size and check_user_address ---------------------------------------------------------


def test_task_size_is_one_page_below_2_to_the_47_or_56():
    """TASK_SIZE_MAX = (1 << __VIRTUAL_MASK_SHIFT) - PAGE_SIZE (the guard page)."""
    assert FOUR.task_size == 0x7FFF_FFFF_F000
    assert FIVE.task_size == 0xFF_FFFF_FFFF_F000


@pytest.mark.parametrize("geo", [FOUR, FIVE], ids=["4-level", "5-level"])
def test_check_user_address_accepts_the_user_range(geo):
    for addr in (0, PAGE_SIZE, 0x7F00_0000_0000, geo.task_size - 1):
        geo.check_user_address(addr)


@pytest.mark.parametrize("geo", [FOUR, FIVE], ids=["4-level", "5-level"])
def test_check_user_address_refuses_task_size_and_above(geo):
    for addr in (geo.task_size, geo.task_size + PAGE_SIZE, U64):
        with pytest.raises(ValueError, match=f"outside user space for {geo.levels}-level paging"):
            geo.check_user_address(addr)


def test_check_user_address_refuses_negative():
    with pytest.raises(ValueError, match="outside user space"):
        FOUR.check_user_address(-1)


def test_check_user_address_five_level_reaches_above_128_tib():
    """1 << 47 is kernel space with four levels and user space with LA57."""
    with pytest.raises(ValueError):
        FOUR.check_user_address(1 << 47)
    FIVE.check_user_address(1 << 47)


@pytest.mark.parametrize("bad", [True, 1.5, "0x1000", None])
def test_check_user_address_refuses_non_integers(bad):
    with pytest.raises(TypeError, match="must be an integer"):
        FOUR.check_user_address(bad)


def test_check_user_address_names_what_was_checked():
    with pytest.raises(ValueError, match=r"^walk address 0x800000000000 is outside"):
        FOUR.check_user_address(1 << 47, "walk address")


def test_fmt_size():
    assert [fmt_size(n) for n in (4 * K, 2 * M, 1 * G, 512 * G, 256 * T, 4097)] == ["4K", "2M", "1G", "512G", "256T", "4097"]
