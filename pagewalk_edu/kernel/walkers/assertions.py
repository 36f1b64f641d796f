"""What folio_walk_start() (mm/pagewalk.c) asserts on entry, today and with the
June 2026 patch's FW_VMA_LOCKED flag (kernel-facts §1; the patch text is as the
seed gives it).

Today: mmap_assert_locked(vma->vm_mm) (include/linux/mmap_lock.h: lockdep's
lockdep_assert_held() on mmap_lock; rwsem_assert_held() without lockdep).  With
FW_VMA_LOCKED instead: vma_assert_locked() (a VMA read or write lock; the mmap
lock alone does not do), lockdep_assert_irqs_disabled(),
VM_WARN_ON_ONCE(!IS_ENABLED(CONFIG_MMU_GATHER_RCU_TABLE_FREE)) and
VM_WARN_ON_ONCE(is_vm_hugetlb_page(vma)), the last one refusing the walk.

A failed assertion is a warning in State.warnings (the splat a debug kernel
prints), reported beside the sleeping-in-atomic bug; the walk goes on, except
that the patch refuses a hugetlb VMA (folio_walk_start() returns NULL).
"""

from __future__ import annotations

from typing import NamedTuple

from ..state import Actor, State

PATCHES = ("fw_vma_locked",)
SRC = "mm/pagewalk.c: folio_walk_start"


class Assertion(NamedTuple):
    function: str  # the assertion as the source writes it
    holds: bool
    why: str  # what the walker lacked, when it fails


def entry_assertions(ctx, state: State, a: Actor) -> tuple[Assertion, ...]:
    """The assertions folio_walk_start() makes on entry, judged now."""
    held = a.get("held") or ()
    if ctx.scenario.patch != "fw_vma_locked":
        return (Assertion("mmap_assert_locked(vma->vm_mm)", "mmap_lock" in held,
                          "the caller does not hold the mmap lock"),)
    kind = _walked_kind(ctx)
    # --hugetlb-walk-lock skip is the what-if "FW_VMA_LOCKED without its hugetlb
    # refusal": the refusal is what it removes.
    refusal = () if ctx.scenario.hugetlb_walk_lock == "skip" else (
        Assertion("VM_WARN_ON_ONCE(is_vm_hugetlb_page(vma))", kind != "hugetlb",
                  "the VMA is a hugetlb VMA: PMD sharing maps page tables this VMA's lock does not cover"),)
    return (
        Assertion("vma_assert_locked(vma)", "vma_lock" in held,
                  "the caller holds no read or write lock of the VMA" + (" (the mmap lock alone does not count)"
                                                                          if "mmap_lock" in held else "")),
        Assertion("lockdep_assert_irqs_disabled()", state.cpus[a.cpu].irqs_off,
                  f"IRQs are enabled on CPU{a.cpu}"),
        Assertion("VM_WARN_ON_ONCE(!IS_ENABLED(CONFIG_MMU_GATHER_RCU_TABLE_FREE))", ctx.config.MMU_GATHER_RCU_TABLE_FREE,
                  "this kernel has MMU_GATHER_RCU_TABLE_FREE=n"),
    ) + refusal


def refused(ctx, asserts: tuple[Assertion, ...]) -> bool:
    """FW_VMA_LOCKED refuses a hugetlb VMA."""
    return any(not x.holds and x.function.startswith("VM_WARN_ON_ONCE(is_vm_hugetlb_page") for x in asserts)


def warn(state: State, a: Actor, failed: tuple[Assertion, ...]) -> State:
    if not failed:
        return state
    new = tuple(f"WARNING: {x.function} fails in folio_walk_start() on CPU{a.cpu} ({a.name}): {x.why}" for x in failed)
    new = tuple(w for w in new if w not in state.warnings)
    return state.but(warnings=state.warnings + new) if new else state


def _walked_kind(ctx) -> str:
    from ..vma import by_name

    return by_name(ctx.setup.vmas, ctx.setup.walked).kind
